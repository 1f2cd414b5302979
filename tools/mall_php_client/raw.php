<?php declare(strict_types=1);

/**
 * The harness's own plain GET of an order's JSON (not the client's): checks what a write did even
 * when the client cannot parse the order, so a write's failure is told apart from a read's.
 */
final class RawMall
{
    private string $baseUrl;
    private string $clientId;

    public function __construct(string $baseUrl, string $clientId)
    {
        $this->baseUrl = $baseUrl;
        $this->clientId = $clientId;
    }

    /** @return array<string, mixed> the order's `data`, or [] */
    public function order(int $id): array
    {
        $url = sprintf('%s/v1/orders/%d?client_id=%s', $this->baseUrl, $id, rawurlencode($this->clientId));
        $body = @file_get_contents($url);
        $json = $body === false ? null : json_decode($body, true);
        return is_array($json['data'] ?? null) ? $json['data'] : [];
    }

    /**
     * Up to 100 `[id, confirmed]` of orders in `$status` ('unconfirmed': the unconfirmed list),
     * for the writes when the client's own lists fail.
     *
     * @return list<array{int, bool}>
     */
    public function ids(string $status): array
    {
        $path = $status === 'unconfirmed' ? '/v1/orders/unconfirmed?' : '/v1/orders?status=' . $status . '&';
        $body = @file_get_contents(sprintf('%s%spage_size=100&filter=basic&client_id=%s', $this->baseUrl, $path, rawurlencode($this->clientId)));
        $rows = $body === false ? [] : (json_decode($body, true)['data'] ?? []);
        return array_map(fn($row) => [(int) $row['id'], (bool) ($row['confirmed'] ?? false)], is_array($rows) ? $rows : []);
    }

    public function expectState(Harness $h, int $id, string $status, ?bool $confirmed, ?string $tracking = null): void
    {
        $h->call("state after write: $id is $status" . ($tracking ? " with tracking $tracking" : '') . ' (raw JSON)',
            fn() => $this->order($id), function (array $o) use ($status, $confirmed, $tracking) {
                $problems = [];
                if (($o['status'] ?? null) !== $status) {
                    $problems[] = sprintf('status is %s, expected %s', json_encode($o['status'] ?? null), $status);
                }
                if ($confirmed !== null && ($o['confirmed'] ?? null) !== $confirmed) {
                    $problems[] = 'confirmed is ' . json_encode($o['confirmed'] ?? null);
                }
                if ($tracking !== null && ($o['tracking_number'] ?? null) !== $tracking) {
                    $problems[] = sprintf('tracking_number is %s, expected %s', json_encode($o['tracking_number'] ?? null), $tracking);
                }
                return $problems;
            });
    }
}
