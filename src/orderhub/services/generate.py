"""Write sample orders into the store, in parallel processes when asked."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed

from sqlalchemy import Engine

from orderhub.domain.samples import CHUNK, generate_orders
from orderhub.store import UnitOfWork

__all__ = ["generate_orders", "write_orders"]


def write_orders(
    engine: Engine,
    count: int,
    seed: int,
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
) -> int:
    """Generate and store `count` orders, in parallel processes when workers > 1.

    Orders are upserted on (channel, external_id): the same seed twice gives the same orders.
    """
    chunks = [(seed, start, min(CHUNK * 5, count - start)) for start in range(0, count, CHUNK * 5)]
    if workers <= 1 or engine.url.database in (None, "", ":memory:"):
        for task in chunks:
            _progress(progress, _write_chunk(engine, *task))
        return count
    url = engine.url.render_as_string(hide_password=False)
    with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(url,)) as pool:
        for done in as_completed([pool.submit(_write_in_worker, *task) for task in chunks]):
            _progress(progress, done.result())
    return count


_worker_engine: Engine | None = None


def _init_worker(url: str) -> None:
    global _worker_engine
    from orderhub.store import make_engine

    _worker_engine = make_engine(url)


def _write_in_worker(seed: int, start: int, count: int) -> int:
    assert _worker_engine is not None
    return _write_chunk(_worker_engine, seed, start, count)


def _write_chunk(engine: Engine, seed: int, start: int, count: int) -> int:
    batch = list(generate_orders(count, seed, start))
    with UnitOfWork(engine) as uow:
        uow.orders.upsert_many(batch)
    return len(batch)


def _progress(progress: Callable[[int], None] | None, done: int) -> None:
    if progress is not None:
        progress(done)
