<?php declare(strict_types=1);

use MPAPI\Entity\Order;
use MPAPI\Services\Client;
use MPAPI\Services\Orders;

/**
 * Every order call of v3's Orders service (MPAPI\Services\Orders: get() reads, put() writes), in
 * the order its Example/OrdersExample.php makes them. v3 has no shipping-label call (its Labels
 * service is the product-label catalogue, GET /v1/labels, not an order call).
 */
function run_v3(Harness $h, string $baseUrl, string $clientId, string $outDir): void
{
    // the one change: the base URL (third constructor argument); false: no global exception handler
    $client = new Client($clientId, false, $baseUrl . '/v1/');
    $client->setApplicationTag('orderhub-php-check');
    $orders = new Orders($client);
    $raw = new RawMall($baseUrl, $clientId);

    $byStatus = v3_reads($h, $orders, $raw);
    v3_details($h, $orders, $byStatus);
    v3_writes($h, $orders, $byStatus, $raw);
}

/** @return array<string, list<int>> order ids per status (per-status lists) and 'unconfirmed' */
function v3_reads(Harness $h, Orders $orders, RawMall $raw): array
{
    $byStatus = [];
    foreach (['open', 'blocked', 'shipping', 'shipped', 'delivered', 'returned', 'cancelled', 'unconfirmed'] as $status) {
        $ids = $h->call("get()->$status() [ids]", fn() => $orders->get()->$status(), fn($ids) => v3_ids_problems($ids));
        $byStatus[$status] = is_array($ids) ? array_values(array_filter($ids, 'is_int')) : array_column($raw->ids($status), 0);
    }
    foreach (['open', 'unconfirmed', 'shipped'] as $status) {
        $h->call("setFilter(basic)->get()->$status()", fn() => $orders->setFilter(Orders::FILTER_TYPE_BASIC)->get()->$status(),
            fn($rows) => v3_basic_problems($rows, $status));
        $orders->removeFilter();
    }
    // all() hands over `data.ids` when the answer has it, else `data` as is (ids or basic orders)
    $h->call('get()->all()', fn() => $orders->get()->all(), fn($rows) => v3_rows_problems($rows));
    $h->call('get()->includeTestOrders(true)->all()', fn() => $orders->get()->includeTestOrders(true)->all(), fn($rows) => v3_rows_problems($rows));
    $h->call('get()->getAllPaginated(2, 10)', fn() => $orders->get()->getAllPaginated(2, 10), fn($ids) => array_merge(
        v3_rows_problems($ids), count((array) $ids) === 10 ? [] : ['expected 10 ids on page 2, got ' . count((array) $ids)],
        $orders->getPaging()->getPage() === 2 ? [] : ['paging.page is ' . $orders->getPaging()->getPage()]));

    // stats() sets `days` as a client-wide argument: every later request of this client sends it
    $h->call('get()->stats()', fn() => $orders->get()->stats(), fn($s) => v3_stats_problems($s));
    $h->call('get()->stats(7)', fn() => $orders->get()->stats(7), fn($s) => v3_stats_problems($s));
    $h->call('get()->open() after stats() (the client now sends days=7)', fn() => $orders->get()->open(), fn($ids) => v3_ids_problems($ids));
    $h->call('get()->all() after stats() (the client now sends days=7)', fn() => $orders->get()->all(), fn($rows) => v3_rows_problems($rows));
    return $byStatus;
}

/**
 * The statuses a per-status list holds: `open` is every order not yet closed, blocked to
 * shipped (the client's doc/ORDERS.md); every other list holds its own status.
 *
 * @return list<string>
 */
function v3_listed(string $status): array
{
    return $status === 'open' ? ['blocked', 'open', 'shipping', 'shipped'] : [$status];
}

/** @param array<string, list<int>> $byStatus */
function v3_details(Harness $h, Orders $orders, array $byStatus): void
{
    foreach ($byStatus as $status => $ids) {
        foreach (array_slice($ids, 0, 2) as $id) {
            $h->call("get()->detail($id) [$status]", fn() => $orders->get()->detail($id), function ($o) use ($id, $status) {
                if (!$o instanceof Order) {
                    return ['detail() returned ' . json_encode($o) . ', not an Order'];
                }
                $problems = (int) $o->getOrderId() === $id ? [] : ['id is ' . $o->getOrderId()];
                if ($status !== 'unconfirmed' && !in_array($o->getStatus(), v3_listed($status), true)) {
                    $problems[] = "status is {$o->getStatus()}, expected $status";
                }
                if ($status === 'unconfirmed' && $o->getConfirmed() !== false) {
                    $problems[] = 'an unconfirmed order has confirmed=' . json_encode($o->getConfirmed());
                }
                return $problems;
            });
        }
    }
    $h->expectError('get()->detail(unknown 999999999) -> 404', fn() => $orders->get()->detail(999999999), 404);
}

/** @param array<string, list<int>> $byStatus */
function v3_writes(Harness $h, Orders $orders, array $byStatus, RawMall $raw): void
{
    // open() lists every order not yet closed (blocked to shipped, as the client's doc says):
    // the writes below start from orders whose status is `open` itself.
    $isOpen = fn(int $id) => ($raw->order($id)['status'] ?? null) === 'open';
    $openOnly = array_values(array_filter($byStatus['open'], $isOpen));
    $unconfirmed = array_values(array_intersect($byStatus['unconfirmed'], $openOnly));
    $open = array_values(array_unique(array_merge($unconfirmed, $openOnly)));
    if (count($open) < 4 || $unconfirmed === []) {
        $h->call('writes: need 4 open orders, one unconfirmed', fn() => throw new RuntimeException(
            sprintf('the sandbox lists %d open orders, %d of them unconfirmed', count($open), count($unconfirmed))));
        return;
    }
    [$a, $b, $c, $d] = $open;
    $put = fn() => $orders->put();

    // A: confirm as v3 does (status=open, confirmed=true), shipping, shipped with a tracking number
    // only, tracking number, tracking URL, serial numbers, delivered with first delivery attempt
    $h->call("put()->status($a, open, confirmed) [confirm]", fn() => v3_true($put()->status($a, Order::STATUS_OPEN, true)));
    v3_expect_order($h, $orders, $raw, $a, 'open', true);
    $h->call("put()->status($a, shipping)", fn() => v3_true($put()->status($a, Order::STATUS_SHIPPING)));
    v3_expect_order($h, $orders, $raw, $a, 'shipping', true);
    $h->call("put()->status($a, shipped, tracking number T123)", fn() => v3_true($put()->status($a, Order::STATUS_SHIPPED, true, 'T123')));
    v3_expect_order($h, $orders, $raw, $a, 'shipped', true, 'T123');
    $h->call("put()->trackingNumber($a, T9999999999)", fn() => v3_true($put()->trackingNumber($a, 'T9999999999')));
    v3_expect_order($h, $orders, $raw, $a, 'shipped', true, 'T9999999999');
    $h->call("put()->trackingUrl($a, http://example.example)", fn() => v3_true($put()->trackingUrl($a, 'http://example.example')));
    v3_serial_numbers($h, $orders, $raw, $a);
    $h->call("put()->status($a, delivered, delivered_at, first_delivery_attempt)", fn() => v3_true($put()->status(
        $a, Order::STATUS_DELIVERED, true, '', new DateTime('-1 hour'), new DateTime('-2 hours'))));
    v3_expect_order($h, $orders, $raw, $a, 'delivered', true);

    // B: shipped without shipping first (tracking number only), then returned
    $h->call("put()->status($b, shipped, tracking number B123)", fn() => v3_true($put()->status($b, Order::STATUS_SHIPPED, true, 'B123')));
    $h->call("put()->status($b, returned)", fn() => v3_true($put()->status($b, Order::STATUS_RETURNED)));
    v3_expect_order($h, $orders, $raw, $b, 'returned', true);
    // C: cancelled from open
    $h->call("put()->status($c, cancelled)", fn() => v3_true($put()->status($c, Order::STATUS_CANCELLED)));
    v3_expect_order($h, $orders, $raw, $c, 'cancelled', true);

    // errors MALL gives
    $delivered = $byStatus['delivered'][0] ?? 999999998;
    $h->expectError("put()->status($delivered delivered -> open) -> 4xx naming the transition",
        fn() => $put()->status($delivered, Order::STATUS_OPEN), null, ['delivered', 'open']);
    $h->expectError("put()->trackingNumber($d open) -> 4xx", fn() => $put()->trackingNumber($d, 'D1'), null);
    $h->expectError('put()->status(unknown 999999999) -> 404', fn() => $put()->status(999999999, Order::STATUS_SHIPPING), 404);
}

function v3_serial_numbers(Harness $h, Orders $orders, RawMall $raw, int $id): void
{
    $items = $raw->order($id)['items'] ?? [];
    $itemId = $items[0]['id'] ?? null;
    if ($itemId === null) {
        $h->call("put()->serialNumbers($id, ...)", fn() => throw new RuntimeException('no item on the order to set serial numbers on'));
        return;
    }
    $h->call("put()->serialNumbers($id, $itemId, [289981984885])", fn() => v3_true($orders->put()->serialNumbers($id, $itemId, [289981984885])));
    $h->call("get()->detail($id) has the serial numbers", fn() => $orders->get()->detail($id), function ($o) use ($itemId) {
        foreach ($o instanceof Order ? $o->getItems() : [] as $item) {
            if (($item['id'] ?? null) === $itemId) {
                return array_map('strval', $item['serial_numbers'] ?? []) === ['289981984885'] ? []
                    : ['serial_numbers is ' . json_encode($item['serial_numbers'] ?? null)];
            }
        }
        return ["item $itemId not found on the detail"];
    });
}

function v3_expect_order(Harness $h, Orders $orders, RawMall $raw, int $id, string $status, bool $confirmed, ?string $tracking = null): void
{
    $order = $h->call("get()->detail($id) is $status" . ($tracking ? " with tracking $tracking" : ''), fn() => $orders->get()->detail($id),
        function ($o) use ($status, $confirmed, $tracking) {
            if (!$o instanceof Order) {
                return ['detail() returned ' . json_encode($o)];
            }
            $problems = $o->getStatus() === $status ? [] : ["status is {$o->getStatus()}, expected $status"];
            if ($o->getConfirmed() !== $confirmed) {
                $problems[] = 'confirmed is ' . json_encode($o->getConfirmed());
            }
            if ($tracking !== null && $o->getTrackingNumber() !== $tracking) {
                $problems[] = "tracking number is {$o->getTrackingNumber()}, expected $tracking";
            }
            return $problems;
        });
    if ($order === null) {
        $raw->expectState($h, $id, $status, $confirmed, $tracking);
    }
}

/** The v3 write calls answer true on HTTP 200; anything else is a failure. */
function v3_true(bool $answer): bool
{
    if (!$answer) {
        throw new RuntimeException('the call answered false (HTTP status other than 200)');
    }
    return $answer;
}

/** @param mixed $ids @return list<string> */
function v3_ids_problems($ids): array
{
    if (!is_array($ids)) {
        return ['expected a list of order ids, got ' . json_encode($ids)];
    }
    $bad = array_filter($ids, fn($id) => !is_int($id));
    return $bad === [] ? [] : ['not an order id: ' . json_encode(array_slice($bad, 0, 2))];
}

/** @param mixed $rows @return list<string> order ids, or basic orders with an integer id */
function v3_rows_problems($rows): array
{
    if (!is_array($rows) || $rows === []) {
        return ['expected a list of order ids or basic orders, got ' . json_encode($rows)];
    }
    $bad = array_filter($rows, fn($row) => !is_int($row) && !is_int($row['id'] ?? null));
    return $bad === [] ? [] : ['neither an order id nor a basic order: ' . json_encode(array_slice($bad, 0, 1))];
}

/** @param mixed $rows @return list<string> */
function v3_basic_problems($rows, string $status): array
{
    if (!is_array($rows) || $rows === []) {
        return ['expected a list of basic orders, got ' . json_encode($rows)];
    }
    $problems = [];
    foreach (array_slice($rows, 0, 50) as $row) {
        if (!is_array($row) || !isset($row['id'])) {
            return ['not a basic order: ' . json_encode($row)];
        }
        if ($status !== 'unconfirmed' && !in_array($row['status'] ?? null, v3_listed($status), true)) {
            $problems[] = sprintf('order %s has status %s in the %s list', $row['id'], json_encode($row['status'] ?? null), $status);
        }
    }
    return array_slice($problems, 0, 3);
}

/** @param mixed $stats @return list<string> */
function v3_stats_problems($stats): array
{
    $keys = ['blocked', 'open', 'shipping', 'shipped', 'cancelled', 'delivered', 'lost', 'returned'];
    if (!is_array($stats)) {
        return ['expected the stats object, got ' . json_encode($stats)];
    }
    $missing = array_diff($keys, array_keys(array_filter($stats, 'is_int')));
    return $missing === [] ? [] : ['stats lack integer ' . implode(', ', $missing) . ': ' . json_encode($stats)];
}
