"""A simulation, not a measurement: how the read API's capacity would grow with read replicas.

One primary and R replicas, each a PostgreSQL server with `--cores` CPUs, modelled as a queue
with that many servers (a statement holds one core for its service time, exponentially
distributed). Requests arrive at random (Poisson). Writes (and reads that must see them: a
client's read after its own write) go to the primary; other reads go to whichever database has
the fewest statements in hand (what a pool in front of the replicas does). Every replica also
replays the primary's writes: `--replay` of each write's service time, on one core.

For each R it finds, by bisection, the highest arrival rate at which the 99th percentile of
the response time stays under `--slo-ms`, and prints it beside the primary's utilisation
there. Service times default to the figures measured by bench/pg.py (docs/scaling.md); pass
your own. Seeded: the same arguments give the same table.

    .venv/bin/python bench/replicas.py --replicas 0,1,2,4
"""

from __future__ import annotations

import argparse
import heapq
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Database:
    cores: int
    busy: int = 0
    queue: list[tuple[float, float, bool]] = field(default_factory=list)
    busy_time: float = 0.0

    @property
    def in_hand(self) -> int:
        return self.busy + len(self.queue)


@dataclass(frozen=True)
class Model:
    cores: int
    read_ms: float
    write_ms: float
    write_share: float
    sticky_share: float
    replay: float


def simulate(
    model: Model, replicas: int, rate: float, requests: int, seed: int
) -> tuple[float, float]:
    """The p99 response time (ms) and the primary's utilisation at `rate` requests/s."""
    rng = random.Random(seed)
    dbs = [Database(model.cores) for _ in range(replicas + 1)]
    events: list[tuple[float, int, str, int, float, bool]] = []
    seq = 0
    now = 0.0
    for _ in range(requests):
        now += rng.expovariate(rate)
        seq += 1
        heapq.heappush(events, (now, seq, "arrive", -1, now, False))
    latencies: list[float] = []

    def start(db_index: int, at: float, arrived: float, measured: bool, ms: float) -> None:
        nonlocal seq
        db = dbs[db_index]
        if db.busy < db.cores:
            db.busy += 1
            took = rng.expovariate(1000.0 / ms)
            db.busy_time += took
            seq += 1
            heapq.heappush(events, (at + took, seq, "done", db_index, arrived, measured))
        else:
            db.queue.append((arrived, ms, measured))

    while events:
        at, _, kind, db_index, arrived, measured = heapq.heappop(events)
        if kind == "arrive":
            write = rng.random() < model.write_share
            if write or rng.random() < model.sticky_share or replicas == 0:
                target = 0
            else:
                target = min(range(len(dbs)), key=lambda i: (dbs[i].in_hand, i))
            ms = model.write_ms if write else model.read_ms
            start(target, at, at, True, ms)
            if write:
                for replica in range(1, len(dbs)):  # replay, off the client's path
                    start(replica, at, at, False, model.write_ms * model.replay)
            continue
        db = dbs[db_index]
        db.busy -= 1
        if measured:
            latencies.append((at - arrived) * 1000)
        if db.queue:
            queued_arrival, ms, queued_measured = db.queue.pop(0)
            start(db_index, at, queued_arrival, queued_measured, ms)
    latencies.sort()
    p99 = latencies[int(0.99 * (len(latencies) - 1))]
    return p99, dbs[0].busy_time / (at * model.cores)  # `at`: the last statement's end


def capacity(
    model: Model, replicas: int, slo_ms: float, requests: int, seed: int
) -> tuple[float, float]:
    """The highest rate (requests/s) whose p99 is under the SLO, and the primary's load then."""
    per_core = 1000.0 / (
        model.read_ms * (1 - model.write_share) + model.write_ms * model.write_share
    )
    low, high = 0.0, per_core * model.cores * (replicas + 1) * 1.2
    utilisation = 0.0
    for _ in range(14):
        mid = (low + high) / 2
        p99, used = simulate(model, replicas, mid, requests, seed)
        if p99 <= slo_ms:
            low, utilisation = mid, used
        else:
            high = mid
    return low, utilisation


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", default="0,1,2,4", help="replica counts, comma-separated")
    parser.add_argument("--cores", type=int, default=2, help="CPUs per database server")
    parser.add_argument("--read-ms", type=float, default=1.2, help="CPU time of a read request")
    parser.add_argument("--write-ms", type=float, default=3.0, help="CPU time of a write request")
    parser.add_argument("--write-share", type=float, default=0.05, help="writes among requests")
    parser.add_argument("--sticky-share", type=float, default=0.05,
                        help="reads that must see the client's own write: primary")  # fmt: skip
    parser.add_argument("--replay", type=float, default=0.3,
                        help="replaying a write on a replica, as a share of it")  # fmt: skip
    parser.add_argument("--slo-ms", type=float, default=50.0, help="p99 response time bound")
    parser.add_argument("--requests", type=int, default=60_000, help="requests per simulation")
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    model = Model(args.cores, args.read_ms, args.write_ms, args.write_share, args.sticky_share,
                  args.replay)  # fmt: skip
    print(f"model: {model}, p99 <= {args.slo_ms:g} ms")
    print(f"{'replicas':>8} {'req/s at the SLO':>17} {'x one database':>15} {'primary busy':>13}")
    base = None
    for replicas in (int(r) for r in args.replicas.split(",")):
        rate, used = capacity(model, replicas, args.slo_ms, args.requests, args.seed)
        base = base or rate
        print(f"{replicas:>8} {rate:>17,.0f} {rate / base:>15.2f} {used:>12.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
