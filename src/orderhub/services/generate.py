"""Write sample orders into the store: generated and encoded by producer processes, written by
this one (docs/performance.md, "Ingest")."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor

from sqlalchemy import Engine

from orderhub.domain.samples import CHUNK, generate_orders
from orderhub.store.ingest import BulkWriter, EncodedBatch, encode_samples

__all__ = ["BATCH", "generate_orders", "write_orders"]

#: Orders a batch: one task of a producer, one transaction of the writer.
BATCH = CHUNK * 5

Task = tuple[str, int, int, int, int | None]


def write_orders(
    engine: Engine,
    count: int,
    seed: int,
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
    batch: int = BATCH,
    empty_load: bool = True,
) -> int:
    """Generate and store `count` orders; `workers` processes generate them meanwhile.

    Orders are upserted on (channel, external_id): the same seed twice gives the same orders.
    Batches are written in the order of the sequence, so a fresh store gives them the same ids
    whatever `workers` is. At most `workers + 1` batches are held at once: memory is flat in
    `count`. `batch`: orders a batch (one transaction). `empty_load`: into an empty table,
    build the secondary indexes at the end (and on PostgreSQL COPY over two connections); the
    same rows as without, with the same ids (on PostgreSQL, the same set within each batch).
    """
    dialect = engine.dialect.name
    with BulkWriter(engine, count, progress, empty_load=empty_load) as writer:
        tasks = [
            (dialect, seed, start, min(batch, count - start), writer.ids_from(start))
            for start in range(0, count, batch)
        ]
        for encoded in _batches(tasks, workers):
            writer.write(encoded)
    return count


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
