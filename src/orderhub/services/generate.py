"""Write sample orders into the store: generated and encoded by producer processes, written by
this one (docs/performance.md, "Ingest")."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor

from sqlalchemy import Engine

from orderhub.domain.samples import CHUNK, generate_orders
from orderhub.store.ingest import BulkWriter, EncodedBatch, encode_samples

__all__ = ["BATCH", "default_workers", "generate_orders", "write_orders"]

#: Orders a batch: one task of a producer, one transaction of the writer.
BATCH = CHUNK * 5

Task = tuple[str, int, int, int, int | None]


def write_orders(
    engine: Engine,
    count: int,
    seed: int,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
    batch: int = BATCH,
    empty_load: bool = True,
) -> int:
    """Generate and store `count` orders; `workers` processes generate them meanwhile
    (None: `default_workers`).

    Orders are upserted on (channel, external_id): the same seed twice gives the same orders.
    Batches are written in the order of the sequence, so a fresh store gives them the same ids
    whatever `workers` is. At most `workers + 1` batches are held at once: memory is flat in
    `count`. `batch`: orders a batch (one transaction). `empty_load`: into an empty table,
    build the secondary indexes at the end (and on PostgreSQL COPY over two connections); the
    same rows as without, with the same ids (on PostgreSQL, the same set within each batch).
    """
    dialect = engine.dialect.name
    workers = workers or default_workers(dialect)
    with BulkWriter(engine, count, progress, empty_load=empty_load) as writer:
        tasks = [
            (dialect, seed, start, min(batch, count - start), writer.ids_from(start))
            for start in range(0, count, batch)
        ]
        for encoded in _batches(tasks, workers):
            writer.write(encoded)
    return count


def default_workers(dialect: str) -> int:
    """Producer processes for a database: on SQLite one, as its single writer is the
    bottleneck (a producer makes a batch faster than the writer stores it, and a second
    one only takes CPU from the writer: docs/performance.md, "Ingest"); on PostgreSQL one a
    CPU (the server's COPY backends do the writing)."""
    return 1 if dialect == "sqlite" else os.cpu_count() or 1


def _batches(tasks: list[Task], workers: int) -> Iterator[EncodedBatch]:
    """The tasks' batches in order; made in `workers` processes unless there is only one."""
    if len(tasks) <= 1:
        yield from (_encode(*task) for task in tasks)
        return
    with ProcessPoolExecutor(workers) as pool:
        pending: deque[Future[EncodedBatch]] = deque()
        queued = iter(tasks)
        for task in queued:
            pending.append(pool.submit(_encode, *task))
            if len(pending) > workers:
                break
        while pending:
            batch = pending.popleft().result()
            following = next(queued, None)
            if following is not None:
                pending.append(pool.submit(_encode, *following))
            yield batch


def _encode(dialect: str, seed: int, start: int, count: int, first_id: int | None) -> EncodedBatch:
    return encode_samples(dialect, seed, start, count, first_id)
