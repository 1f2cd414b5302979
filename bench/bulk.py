"""Bulk job benchmark: confirm every order of a SQLite database in one job (docs/bulk-jobs.md).

For each size it generates the orders (`orderhub generate`, a subprocess), marks them all
unconfirmed, then in a fresh process makes the job (`POST /v1/orders/bulk`'s service) and runs it
with one outbox worker, as `orderhub worker` does. It prints orders per second and that
process's peak RSS, so two sizes side by side show whether memory grows with the orders.

    .venv/bin/python bench/bulk.py                  # 10,000 and 100,000 orders
    .venv/bin/python bench/bulk.py --sizes 1000     # a quick run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDERHUB = Path(sys.executable).with_name("orderhub")


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_one(url: str) -> dict[str, float]:
    """In this process: make the job, run it to the end, report."""
    from orderhub.services import jobs
    from orderhub.services.outbox import Backoff, Topic, Worker
    from orderhub.store import make_engine

    engine = make_engine(url)
    request = jobs.parse_bulk({"query": "confirmed=0&test=in:0,1", "action": "confirm"})
    started = time.perf_counter()
    job = jobs.submit(engine, request, "bench")
    made = time.perf_counter() - started
    worker = Worker(engine, {jobs.TOPIC: Topic(jobs.JobRunner(engine), Backoff())})
    seen = []
    while worker.run_once(limit=1):
        seen.append(jobs.get_job(engine, job.id).processed)
    seconds = time.perf_counter() - started
    done = jobs.get_job(engine, job.id)
    return {
        "matched": done.matched,
        "changed": done.changed,
        "failed": done.failed,
        "status_finished": done.status == "finished",
        "make_seconds": round(made, 3),
        "seconds": round(seconds, 2),
        "orders_per_second": round(done.processed / seconds),
        "progress_steps": len(set(seen)),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def measure(size: int, data_dir: Path) -> dict[str, float]:
    db = data_dir / f"bulk-{size}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{db}"
    env = {**os.environ, "ORDERHUB_DATABASE_URL": url}
    subprocess.run(
        [str(ORDERHUB), "generate", "--orders", str(size)], env=env, check=True, capture_output=True
    )
    import sqlite3

    # Closed before the job's process starts: no connection of this process stays open on the
    # database it measures (closing the last one checkpoints the update's WAL, 190 MB at 100,000).
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("UPDATE orders SET confirmed = 0")
    out = subprocess.run(
        [sys.executable, __file__, "--one", url], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one)))
        return
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="orderhub-bulk-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    print(
        f"{'orders':>9} {'matched':>9} {'changed':>9} {'seconds':>8} {'orders/s':>9} "
        f"{'steps':>6} {'peak RSS MB':>12}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        r = measure(size, data_dir)
        print(
            f"{size:>9,} {r['matched']:>9,} {r['changed']:>9,} {r['seconds']:>8} "
            f"{r['orders_per_second']:>9,} {r['progress_steps']:>6} {r['peak_rss_mb']:>12}"
        )


if __name__ == "__main__":
    main()
