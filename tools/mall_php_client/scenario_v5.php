<?php declare(strict_types=1);

use MpApiClient\Common\Authenticators\ClientIdAuthenticator;
use MpApiClient\Common\Interfaces\OrderClientInterface;
use MpApiClient\Filter\Filter;
use MpApiClient\Filter\FilterItem;
use MpApiClient\Filter\FilterOperatorEnum;
use MpApiClient\MpApiClient;
use MpApiClient\MpApiClientOptions;
use MpApiClient\Order\DTO\ShippingLabelRequest;
use MpApiClient\Order\DTO\StatusRequest;
use MpApiClient\Order\Entity\BasicOrderList;
use MpApiClient\Order\Entity\Labels;
use MpApiClient\Order\Entity\Order;
use MpApiClient\Order\Entity\StatusEnum;
use MpApiClient\Order\Entity\Tracking;

/** Every call of v5's OrderClient, in the order a merchant's integration makes them. */
function run_v5(Harness $h, string $baseUrl, string $clientId, string $outDir): void
{
    $options = new MpApiClientOptions(new ClientIdAuthenticator($clientId));
    $options->setBaseUri($baseUrl);  // the one change: the sandbox instead of https://mpapi.mallgroup.com
    $orders = MpApiClient::createFromOptions('orderhub-php-check', $options)->orders();

    $raw = new RawMall($baseUrl, $clientId);
    v5_reads($h, $orders);
    $byStatus = v5_ids_by_status($h, $orders, $raw);
    v5_details($h, $orders, $byStatus);
    v5_writes($h, $orders, $byStatus, $outDir, $raw);
}

function v5_reads(Harness $h, OrderClientInterface $orders): void
{
    $h->call('list()', fn() => $orders->list(null), fn(BasicOrderList $l) => v5_expect(
        $l->getPaging()->getTotal() > 0, 'list(): expected orders, paging.total is ' . $l->getPaging()->getTotal()));

    // README example: status = open, cod between 100 and 10000, sorted by id descending
    $filter = new Filter();
    $filter->addFilterItem(FilterItem::create('status', StatusEnum::OPEN()->getValue(), FilterOperatorEnum::EQUAL()));
    $filter->addFilterItem(FilterItem::createInterval('cod', '100', '10000'));
    $filter->addSortColumn('id', Filter::DIRECTION_DESC);
    $h->call('list(status=eq:open, cod=bt:100,10000, _sort=id:desc)', fn() => $orders->list($filter), function (BasicOrderList $l) {
        $rows = $l->jsonSerialize()['data'];
        $problems = [];
        foreach ($rows as $row) {
            if ($row['status'] !== 'open' || $row['cod'] < 100 || $row['cod'] > 10000) {
                $problems[] = sprintf('order %d (status %s, cod %s) does not match the filter', $row['id'], $row['status'], $row['cod']);
            }
        }
        $ids = array_column($rows, 'id');
        $sorted = $ids;
        rsort($sorted);
        return array_merge(array_slice($problems, 0, 3), v5_expect($ids === $sorted, 'ids are not sorted descending'));
    });

    $in = new Filter();
    $in->addFilterItem(FilterItem::createInclusion('status', 'open', 'shipping'));
    $in->addSortColumn('cod', Filter::DIRECTION_ASC);
    $h->call('list(status=in:open,shipping, _sort=cod:asc)', fn() => $orders->list($in), function (BasicOrderList $l) {
        $rows = $l->jsonSerialize()['data'];
        $bad = array_filter($rows, fn(array $row) => !in_array($row['status'], ['open', 'shipping'], true));
        $cods = array_column($rows, 'cod');
        $sorted = $cods;
        sort($sorted);
        return array_merge(
            v5_expect($rows !== [], 'no order listed'),
            v5_expect($bad === [], count($bad) . ' orders neither open nor shipping'),
            v5_expect($cods === $sorted, 'cod is not sorted ascending'),
        );
    });

    $page = new Filter();
    $page->setLimit(5);
    $page->setOffset(10);
    $h->call('list(page=3, page_size=5)', fn() => $orders->list($page), fn(BasicOrderList $l) => array_merge(
        v5_expect(count($l->jsonSerialize()['data']) === 5, 'expected 5 orders, got ' . count($l->jsonSerialize()['data'])),
        v5_expect($l->getPaging()->getPage() === 3, 'expected paging.page 3, got ' . $l->getPaging()->getPage()),
        v5_expect($l->getPaging()->getSize() === 5, 'expected paging.size 5, got ' . $l->getPaging()->getSize()),
    ));

    $all = new Filter();
    $all->setLimit(100);
    $h->call('list() with autoload over every page', function () use ($orders, $all) {
        $list = $orders->list($all);
        $list->enableAutoload();
        $count = 0;
        foreach ($list as $order) {
            $order->jsonSerialize();
            $count++;
        }
        return ['count' => $count, 'total' => $list->getPaging()->getTotal()];
    }, fn(array $r) => v5_expect($r['count'] === $r['total'], sprintf('iterated %d orders, paging.total is %d', $r['count'], $r['total'])));

    $h->call('stats(30)', fn() => $orders->stats(30));
    $h->call('stats(7)', fn() => $orders->stats(7));
}

/** @return array<string, list<int>> a few order ids per status, and 'unconfirmed' open ones */
function v5_ids_by_status(Harness $h, OrderClientInterface $orders, RawMall $raw): array
{
    $byStatus = [];
    foreach (StatusEnum::TYPES as $status) {
        $filter = new Filter();
        $filter->addFilterItem(FilterItem::create('status', $status, FilterOperatorEnum::EQUAL()));
        $filter->setLimit(40);
        $list = $h->call("list(status=eq:$status)", fn() => $orders->list($filter), function (BasicOrderList $l) use ($status) {
            $bad = array_filter($l->jsonSerialize()['data'], fn(array $row) => $row['status'] !== $status);
            return v5_expect($bad === [], sprintf('%d orders not in status %s', count($bad), $status));
        });
        $byStatus[$status] = [];
        $byStatus[$status . ':unconfirmed'] = [];
        $rows = $list === null ? $raw->ids($status)
            : array_map(fn($row) => [(int) $row['id'], (bool) $row['confirmed']], $list->jsonSerialize()['data']);
        foreach ($rows as [$id, $confirmed]) {
            $byStatus[$status . ($confirmed ? '' : ':unconfirmed')][] = $id;
        }
    }
    return $byStatus;
}

/** @param array<string, list<int>> $byStatus */
function v5_details(Harness $h, OrderClientInterface $orders, array $byStatus): void
{
    foreach ($byStatus as $status => $ids) {
        foreach (array_slice($ids, 0, 2) as $id) {
            $h->call("get($id) [$status]", fn() => $orders->get($id), fn(Order $o) => v5_expect(
                $o->getId() === $id && $o->getStatus()->getValue() === explode(':', $status)[0],
                sprintf('expected order %d in %s, got %d in %s', $id, $status, $o->getId(), $o->getStatus()->getValue())));
        }
    }
    $h->expectError('get(unknown order 999999999) -> 404', fn() => $orders->get(999999999), 404);
}

/** @param array<string, list<int>> $byStatus */
function v5_writes(Harness $h, OrderClientInterface $orders, array $byStatus, string $outDir, RawMall $raw): void
{
    $open = array_merge($byStatus['open:unconfirmed'], $byStatus['open']);
    $unconfirmed = $byStatus['open:unconfirmed'];
    if (count($open) < 6 || $unconfirmed === []) {
        $h->call('writes: need 6 open orders, one unconfirmed', fn() => throw new RuntimeException(
            sprintf('the sandbox lists %d open orders, %d unconfirmed', count($open), count($unconfirmed))));
        return;
    }
    [$a, $b, $c, $d, $e, $f] = array_slice(array_values(array_unique(array_merge($unconfirmed, $open))), 0, 6);
    $now = new DateTimeImmutable('now', new DateTimeZone('Europe/Prague'));

    // A: confirm, shipping with tracking (README), shipped, tracking, serial numbers, delivered
    $h->call("confirmOrder($a)", fn() => $orders->confirmOrder($a));
    v5_expect_order($h, $raw, $orders, $a, 'open', true);
    $shipping = new StatusRequest(StatusEnum::SHIPPING());
    $shipping->setConfirmed(true);
    $shipping->setTracking('ABC123456', 'https://tracking.company.com/id/ABC123456');
    $h->call("setStatus($a, shipping + confirmed + tracking)", fn() => $orders->setStatus($a, $shipping));
    v5_expect_order($h, $raw, $orders, $a, 'shipping', true, 'ABC123456');
    $shipped = new StatusRequest(StatusEnum::SHIPPED());
    $shipped->setTracking('ABC123457', 'https://tracking.company.com/id/ABC123457');
    $h->call("setStatus($a, shipped + tracking)", fn() => $orders->setStatus($a, $shipped));
    v5_expect_order($h, $raw, $orders, $a, 'shipped', true, 'ABC123457');
    $h->call("setTracking($a, number + url)", fn() => $orders->setTracking($a, new Tracking('XYZ987', 'https://tracking.company.com/id/XYZ987')));
    $detail = v5_expect_order($h, $raw, $orders, $a, 'shipped', true, 'XYZ987');
    v5_serial_numbers($h, $orders, $a, $detail, $raw);
    $delivered = new StatusRequest(StatusEnum::DELIVERED());
    $delivered->setDelivery($now, $now->modify('-1 hour'));
    $h->call("setStatus($a, delivered + delivered_at + first_delivery_attempt)", fn() => $orders->setStatus($a, $delivered));
    v5_expect_order($h, $raw, $orders, $a, 'delivered', true);

    // B: shipping without tracking, then cancelled
    $h->call("setStatus($b, shipping + confirmed)", fn() => $orders->setStatus($b, v5_status(StatusEnum::SHIPPING(), true)));
    v5_expect_order($h, $raw, $orders, $b, 'shipping', true);
    $h->call("setStatus($b, cancelled)", fn() => $orders->setStatus($b, v5_status(StatusEnum::CANCELLED(), null)));
    v5_expect_order($h, $raw, $orders, $b, 'cancelled', true);

    // C: shipped straight from open, then returned
    $shippedC = v5_status(StatusEnum::SHIPPED(), true);
    $shippedC->setTracking('C123', 'https://tracking.company.com/id/C123');
    $h->call("setStatus($c, shipped + confirmed + tracking)", fn() => $orders->setStatus($c, $shippedC));
    $h->call("setStatus($c, returned)", fn() => $orders->setStatus($c, v5_status(StatusEnum::RETURNED(), null)));
    v5_expect_order($h, $raw, $orders, $c, 'returned', true);

    // labels for D (2 parcels) and E (1 parcel)
    v5_labels($h, $orders, $d, $e, $outDir);

    // errors MALL gives
    $delivered = array_merge($byStatus['delivered'], $byStatus['delivered:unconfirmed'])[0] ?? 999999998;
    $h->expectError("setStatus($delivered delivered -> open) -> 4xx naming the transition",
        fn() => $orders->setStatus($delivered, v5_status(StatusEnum::OPEN(), null)), null, ['delivered', 'open']);
    $cancelled = array_merge($byStatus['cancelled'], $byStatus['cancelled:unconfirmed'])[0] ?? 999999998;
    $h->expectError("setStatus($cancelled cancelled -> shipped) -> 4xx naming the transition", function () use ($orders, $cancelled) {
        $request = v5_status(StatusEnum::SHIPPED(), null);
        $request->setTracking('B1', 'https://tracking.company.com/id/B1');
        $orders->setStatus($cancelled, $request);
    }, null, ['cancelled', 'shipped']);
    $h->expectError("setTracking($f open) -> 4xx", fn() => $orders->setTracking($f, new Tracking('F1', 'https://t.example/F1')), null);
    $h->expectError('setStatus(unknown 999999999) -> 404', fn() => $orders->setStatus(999999999, v5_status(StatusEnum::SHIPPING(), true)), 404);
    $h->expectError('confirmOrder(unknown 999999999) -> 404', fn() => $orders->confirmOrder(999999999), 404);
}

function v5_serial_numbers(Harness $h, OrderClientInterface $orders, int $id, ?Order $detail, RawMall $raw): void
{
    // the item to number: from the client's detail, or (when that fails) from the raw JSON
    $items = $detail === null ? $raw->order($id)['items'] ?? [] : array_map(
        fn($it) => ['id' => $it->getId(), 'article_id' => $it->getArticleId()], iterator_to_array($detail->getItems()));
    if ($items === []) {
        $h->call("setItemSerialNumbers($id, ...)", fn() => throw new RuntimeException('no item on the order detail to set serial numbers on'));
        return;
    }
    $item = reset($items);
    // v5 types the item id as int in the call, as string in the entity: numeric ids are passed as is
    $itemId = ctype_digit((string) $item['id']) ? (int) $item['id'] : (int) ($item['article_id'] ?? 0);
    $h->call("setItemSerialNumbers($id, $itemId, SN12345, SN23456)", fn() => $orders->setItemSerialNumbers($id, $itemId, 'SN12345', 'SN23456'));
    $h->call("get($id) has the serial numbers", fn() => $orders->get($id), function (Order $o) use ($item) {
        foreach ($o->getItems() as $it) {
            if ($it->getId() === (string) $item['id']) {
                return v5_expect($it->getSerialNumbers() === ['SN12345', 'SN23456'], 'serial numbers are ' . json_encode($it->getSerialNumbers()));
            }
        }
        return ['item ' . $item['id'] . ' is gone'];
    });
}

function v5_labels(Harness $h, OrderClientInterface $orders, int $d, int $e, string $outDir): void
{
    $request = new ShippingLabelRequest(ShippingLabelRequest::TYPE_PDF, 1, 4);
    $request->addLabel($d, 2);
    $request->addLabel($e, 1);
    $h->call("createShippingLabels(pdf, [$d x2, $e x1])", fn() => $orders->createShippingLabels($request), function (Labels $labels) use ($d, $e, $outDir) {
        $pdf = base64_decode($labels->getLabelsRaw(), true);
        $file = "$outDir/mall-labels-v5.pdf";
        file_put_contents($file, (string) $pdf);
        $barcodes = [];
        foreach ($labels->getOrders() as $order) {
            $barcodes[$order->getOrderId()] = count($order->getBarcodes());
        }
        return array_merge(
            v5_expect($pdf !== false && strncmp($pdf, '%PDF', 4) === 0, "labelsRaw is not a base64 PDF (saved to $file)"),
            v5_expect(($barcodes[$d] ?? 0) === 2 && ($barcodes[$e] ?? 0) === 1, 'barcodes per order: ' . json_encode($barcodes)),
        );
    });
    $zpl = new ShippingLabelRequest(ShippingLabelRequest::TYPE_ZPL, 1, 1);
    $zpl->addLabel($d, 1);
    $h->call("createShippingLabels(zpl, [$d x1])", fn() => $orders->createShippingLabels($zpl), function (Labels $labels) {
        $raw = base64_decode($labels->getLabelsRaw(), true);
        return v5_expect($raw !== false && strncmp(ltrim($raw), '^XA', 3) === 0, 'labelsRaw is not a base64 ZPL document (^XA...)');
    });
}

function v5_status(StatusEnum $status, ?bool $confirmed): StatusRequest
{
    $request = new StatusRequest($status);
    if ($confirmed !== null) {
        $request->setConfirmed($confirmed);
    }
    return $request;
}

function v5_expect_order(Harness $h, RawMall $raw, OrderClientInterface $orders, int $id, string $status, bool $confirmed, ?string $tracking = null): ?Order
{
    $order = $h->call("get($id) is $status" . ($tracking ? " with tracking $tracking" : ''), fn() => $orders->get($id), fn(Order $o) => array_merge(
        v5_expect($o->getStatus()->getValue() === $status, "status is {$o->getStatus()->getValue()}, expected $status"),
        v5_expect($o->isConfirmed() === $confirmed, 'confirmed is ' . var_export($o->isConfirmed(), true)),
        v5_expect($tracking === null || $o->getTrackingNumber() === $tracking, "tracking number is {$o->getTrackingNumber()}, expected $tracking"),
    ));
    if ($order === null) {
        $raw->expectState($h, $id, $status, $confirmed, $tracking);
    }
    return $order;
}

/** @return list<string> */
function v5_expect(bool $holds, string $problem): array
{
    return $holds ? [] : [$problem];
}
