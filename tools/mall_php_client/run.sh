#!/usr/bin/env bash
# Runs MALL's official PHP client (v5 and v3, unchanged but for the base URL) against a fresh
# `orderhub sandbox mall` per version and prints each version's summary.
#   MALL_PHP_CLIENT_V5 / MALL_PHP_CLIENT_V3: checkouts of mallgroup/mpapi-client-php (tags v5.0.0, v3.14.0)
#   ORDERHUB: the orderhub command (default: .venv/bin/orderhub of the repository, else `orderhub`)
#   OUT: where the JSON lines (check-v5.jsonl, check-v3.jsonl) and label PDFs go (default a temp dir)
# Exit status 0 only if every call of both versions is ok.
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || pwd)"
orderhub="${ORDERHUB:-}"
if [ -z "$orderhub" ]; then
    for candidate in "$repo/.venv/bin/orderhub" "$PWD/.venv/bin/orderhub" "$(command -v orderhub || true)"; do
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then orderhub="$candidate"; break; fi
    done
fi
[ -n "$orderhub" ] || { echo "orderhub not found: set ORDERHUB=/path/to/orderhub" >&2; exit 2; }
php -m | grep -qx curl || { echo "PHP's curl extension is missing (Debian: apt-get install php-curl)" >&2; exit 2; }
out="${OUT:-$(mktemp -d)}"
mkdir -p "$out"
status=0

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

run_version() {  # $1: v5|v3  $2: client dir
    local version="$1" client="$2" port pid
    if [ ! -d "$client/src" ]; then
        echo "$version: no client at $client (git clone --branch ${version/v5/v5.0.0} ...; see README.md)" >&2
        status=1; return
    fi
    port="$(free_port)"
    "$orderhub" sandbox mall --port "$port" >"$out/sandbox-$version.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "http://127.0.0.1:$port/v1/orders?client_id=sandbox&page_size=1" && break
        sleep 0.2
    done
    mkdir -p "$out/$version"
    php "$here/check.php" --client "$client" --base-url "http://127.0.0.1:$port" --client-id sandbox \
        --out "$out/$version" >"$out/check-$version.jsonl" 2>"$out/check-$version.stderr" || status=1
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    python3 "$here/summary.py" "$version" "$out/check-$version.jsonl"
}

run_version v5 "${MALL_PHP_CLIENT_V5:-/work/php-client/v5.0.0}"
run_version v3 "${MALL_PHP_CLIENT_V3:-/work/php-client/v3.14.0}"
python3 "$here/failures.py" "$out" >"$out/FAILURES.md"
echo "JSON lines: $out/check-v5.jsonl $out/check-v3.jsonl; grouped failures: $out/FAILURES.md"
exit $status
