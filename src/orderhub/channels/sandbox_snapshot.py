"""A SQL-backed sandbox's starting orders kept on disk (issue 15: a million orders in seconds).

Started with a snapshot directory, a sandbox looks there for its starting orders under a key of
everything they depend on: the channel, seed, order count, anchor and a hash of the code that
generates and stores them. Found: its list table is copied into memory (SQLite's backup, a page
copy) and its JSON texts stay in the file, read as pages need them (`FileTexts`; the texts of
orders changed since are kept in memory). Missing: the orders are generated in worker
processes, whole generator chunks a part (each chunk has its own random stream, so they are the
same orders whatever the number of workers), written to a new snapshot, then opened as above.
A channel that has one gives a `PartMaker` (MALL's and CS-Cart's `sandbox_rows`): a part's rows
and texts made straight from the random stream, the same bytes without `Order` objects or
payload dicts (a third of the CPU).

Without a directory nothing changes: the orders are generated in the process, as before.
docs/performance.md, "Sandboxes", has the figures.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterator, MutableMapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orderhub.channels.sandbox_life import SampleOrders
from orderhub.domain.samples import CHUNK

if TYPE_CHECKING:
    from orderhub.channels.sandbox_store import SqlOrderStore

#: A part's stored orders made straight from the seed, without `Order` objects or payloads
#: (`part(count, seed, start, anchor)`: the latest time and what `SqlOrderStore.stored` gives
#: of each order), or None where it cannot (the part is then built the plain way).
PartMaker = Callable[
    [int, int, int, datetime | None], tuple[datetime | None, list[tuple[Any, ...]]] | None
]

#: Bumped when the snapshot's layout changes (its files, their tables).
LAYOUT = 1
#: Orders a worker builds at a time: whole generator chunks.
PART = 10 * CHUNK
ROWS = "rows.db"
TEXTS = "texts.db"
META = "meta.json"
#: The page size of a snapshot's texts file.
TEXT_PAGE = 16_384
#: Texts `FileTexts.many` reads a query.
MANY = 500
#: How much of a snapshot's texts file SQLite maps into memory (all of a million orders').
MAPPED = 1 << 34
#: The code a snapshot's orders depend on (under src/orderhub), besides the channel's package:
#: any change, a new key. (A change of this module's files is a new LAYOUT.)
_CODE = ("domain", "channels/sandbox_life.py", "channels/sandbox_store.py", "store/types.py")


@cache
def code_hash(channel: str) -> str:
    """A hash of the source that generates, shapes and stores a channel's sandbox orders."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for part in (*_CODE, f"channels/{channel}"):
        path = root / part
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(str(file.relative_to(root)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def snapshot_key(channel: str, seed: int, count: int, anchor: datetime | None) -> str:
    """The directory name of a channel's starting orders for (seed, count, anchor, code)."""
    stamp = anchor.isoformat() if anchor is not None else "-"
    facts = f"{LAYOUT}:{channel}:{seed}:{count}:{stamp}:{code_hash(channel)}"
    return f"{channel}-{seed}-{count}-{hashlib.sha256(facts.encode()).hexdigest()[:16]}"


def fill_from_snapshot(
    store: SqlOrderStore,
    source: SampleOrders,
    channel: str,
    count: int,
    seed: int,
    anchor: datetime | None,
    directory: Path | None,
    workers: int | None = None,
    *,
    part: PartMaker | None = None,
) -> datetime | None:
    """Fill `store` with the starting orders `source.fill` would insert, from the snapshot in
    `directory` (built first when missing; generated in the process when `directory` is None);
    the latest time any of them carries. `part`, when given, makes a cold start's parts
    (the same orders, sooner)."""
    if directory is None:
        return source.fill(store.insert, count, seed, anchor)
    path = Path(directory) / snapshot_key(channel, seed, count, anchor)
    if not (path / META).exists():
        build_snapshot(path, store, source, count, seed, anchor, workers, part=part)
    meta = json.loads((path / META).read_text())
    store.open_snapshot(path / ROWS, FileTexts(path / TEXTS, meta["count"]))
    return None if meta["latest"] is None else datetime.fromisoformat(meta["latest"])


def build_snapshot(
    path: Path,
    store: SqlOrderStore,
    source: SampleOrders,
    count: int,
    seed: int,
    anchor: datetime | None,
    workers: int | None = None,
    *,
    part: PartMaker | None = None,
) -> None:
    """Generate the starting orders in `workers` processes (default: one a CPU) into a new
    snapshot at `path` (written beside it, then renamed: never seen half written)."""
    building = path.with_name(f"{path.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    parts = [(source, type(store), start, min(PART, count - start), seed, anchor, part)
             for start in range(0, count, PART)]  # fmt: skip
    latest: datetime | None = None
    rows, texts = _new_files(building, store)
    try:
        for part_latest, part_rows in _built(parts, workers or os.cpu_count() or 1):
            rows.executemany(store.bulk_sql, (r[:-2] for r in part_rows))
            texts.executemany(_INSERT_TEXT, ((r[0], r[-2], r[-1]) for r in part_rows))
            if part_latest is not None and (latest is None or part_latest > latest):
                latest = part_latest
        rows.commit()
        texts.commit()
    finally:
        rows.close()
        texts.close()
    stamp = None if latest is None else latest.isoformat()
    (building / META).write_text(json.dumps({"count": count, "latest": stamp}))
    try:
        building.rename(path)
    except OSError:  # another process built the same snapshot first: theirs is the same
        shutil.rmtree(building, ignore_errors=True)


def _built(parts: list[Any], workers: int) -> Iterator[tuple[datetime | None, list[Any]]]:
    """The parts built in `workers` processes, in order, at most `workers` + 1 of them waiting
    at a time: when the parent writes slower than the workers build (stream-made parts),
    `Pool.imap` would queue every finished part (about 25 MB of MALL orders each) in memory."""
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        waiting: deque[Any] = deque()
        for part in parts:
            waiting.append(pool.apply_async(_build_part, (part,)))
            if len(waiting) > workers:
                yield waiting.popleft().get()
        while waiting:
            yield waiting.popleft().get()


_INSERT_TEXT = "INSERT INTO texts (id, text, summary) VALUES (?, ?, ?)"


def _new_files(directory: Path, store: SqlOrderStore) -> tuple[sqlite3.Connection, ...]:
    rows = sqlite3.connect(directory / ROWS)
    texts = sqlite3.connect(directory / TEXTS)
    # A 2 kB text a row leaves half of each 4 kB page empty: 16 kB pages make the file a quarter
    # smaller and its inserts 40 % cheaper, and read the same (`rows` stays at the default: the
    # backup into the in-memory table needs its page size).
    texts.execute(f"PRAGMA page_size = {TEXT_PAGE}")
    for db in (rows, texts):
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
    rows.execute(store.table_ddl)
    texts.execute("CREATE TABLE texts (id INTEGER PRIMARY KEY, text TEXT NOT NULL, summary TEXT)")
    return rows, texts


#: A worker's store of each class (what turns a payload into its row and texts).
_STORES: dict[type, Any] = {}


def _build_part(
    part: tuple[SampleOrders, type, int, int, int, datetime | None, PartMaker | None],
) -> tuple[datetime | None, list[tuple[Any, ...]]]:
    """In a worker: orders start..start+count as the store keeps them (row values, then JSON
    text and summary text), and the latest time any of them carries."""
    source, store_class, start, count, seed, anchor, maker = part
    made = None if maker is None else maker(count, seed, start, anchor)
    if made is not None:
        return made
    store = _STORES.get(store_class) or _STORES.setdefault(store_class, store_class())
    latest: datetime | None = None
    payloads = []
    for order in source.generated(count, seed, start=start, anchor=anchor):
        if latest is None or order.updated_at > latest:
            latest = order.updated_at
        payloads.append(source.to_payload(order, seed))
    return latest, [store.stored(payload) for payload in payloads]


class FileTexts(MutableMapping[int, str]):
    """Texts by order id read from a snapshot's `texts` table (never written), those set since
    kept in memory over them. Thread-safe."""

    def __init__(self, path: Path, count: int, column: str = "text") -> None:
        self.path = path
        self._db = sqlite3.connect(
            f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False
        )
        # Mapped, a page's texts are read without a system call each (the pages the OS caches
        # count in RSS as shared, reclaimable file pages).
        self._db.execute(f"PRAGMA mmap_size = {MAPPED}")
        self._read = f"SELECT {column} FROM texts WHERE id = ?"
        self._lock = threading.Lock()
        self._changed: dict[int, str] = {}
        self._count = count
        self._column = column

    def column(self, column: str) -> FileTexts:
        """The same snapshot's other text column (the list summaries)."""
        return FileTexts(self.path, self._count, column)

    def __getitem__(self, order_id: int) -> str:
        changed = self._changed.get(order_id)
        if changed is not None:
            return changed
        with self._lock:
            found = self._db.execute(self._read, (order_id,)).fetchone()
        if found is None or found[0] is None:
            raise KeyError(order_id)
        text: str = found[0]
        return text

    def many(self, order_ids: list[int]) -> list[str]:
        """The texts of `order_ids`, in their order, in one query a MANY of them."""
        found: dict[int, str] = {}
        with self._lock:
            for at in range(0, len(order_ids), MANY):
                some = order_ids[at : at + MANY]
                marks = ",".join("?" * len(some))
                sql = f"SELECT id, {self._column} FROM texts WHERE id IN ({marks})"
                found.update(self._db.execute(sql, some).fetchall())
            found.update((i, self._changed[i]) for i in order_ids if i in self._changed)
        return [found[i] for i in order_ids]

    def __setitem__(self, order_id: int, text: str) -> None:
        with self._lock:
            if order_id not in self._changed and not self._in_file(order_id):
                self._count += 1
            self._changed[order_id] = text

    def __delitem__(self, order_id: int) -> None:
        raise TypeError("a sandbox never forgets an order")

    def __contains__(self, order_id: object) -> bool:
        with self._lock:
            return order_id in self._changed or self._in_file(order_id)

    def _in_file(self, order_id: object) -> bool:
        if not isinstance(order_id, int):
            return False
        found = self._db.execute("SELECT 1 FROM texts WHERE id = ?", (order_id,))
        return found.fetchone() is not None

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[int]:
        with self._lock:
            ids = [i for (i,) in self._db.execute("SELECT id FROM texts")]
            ids += [i for i in self._changed if not self._in_file(i)]
        return iter(ids)
