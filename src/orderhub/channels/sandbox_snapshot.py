"""A SQL-backed sandbox's starting orders kept on disk (issue 15: a million orders in seconds).

Started with a snapshot directory, a sandbox looks there for its starting orders under a key of
everything they depend on: the channel, seed, order count, anchor and a hash of the code that
generates and stores them. Found: its list table is copied into memory (SQLite's backup, a page
copy) and its JSON texts stay in their files, read as pages need them (`FileTexts`; the texts
of orders changed since are kept in memory). Missing: the orders are generated in worker
processes, whole generator chunks a part (each chunk has its own random stream, so they are the
same orders whatever the number of workers), a contiguous run of parts a worker, each writing
its own texts file (kept) and rows file (copied into the snapshot's table in order), then
opened as above.
Each channel gives a `PartMaker` (MALL's, CS-Cart's and Dexero's `sandbox_rows`, CDON's
`sandbox_drawn`): a part's rows and texts made straight from the random stream, the same bytes
without `Order` objects or payload dicts (a third of the CPU).

Without a directory nothing changes: the orders are generated in the process, as before.
docs/performance.md, "Sandboxes", has the figures.
"""

from __future__ import annotations

import gc
import hashlib
import json
import multiprocessing
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator, MutableMapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from orderhub.channels.sandbox_life import SampleOrders
from orderhub.domain.samples import CHUNK

T = TypeVar("T")

if TYPE_CHECKING:
    from orderhub.channels.sandbox_store import SqlOrderStore

#: A part's stored orders made straight from the seed, without `Order` objects or payloads
#: (`part(count, seed, start, anchor)`: the latest time and what `SqlOrderStore.stored` gives
#: of each order), or None where it cannot (the part is then built the plain way).
PartMaker = Callable[
    [int, int, int, datetime | None], tuple[datetime | None, list[tuple[Any, ...]]] | None
]

#: Bumped when the snapshot's layout changes (its files, their tables).
LAYOUT = 2
#: Orders a worker builds at a time: whole generator chunks.
PART = 10 * CHUNK
ROWS = "rows.db"
#: A building worker's texts file (`meta.json` lists them: the snapshot's texts).
TEXTS = "texts-{}.db"
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
    texts = FileTexts([path / name for name in meta["texts"]], meta["count"])
    store.open_snapshot(path / ROWS, texts)
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
    snapshot at `path` (written beside it, then renamed: never seen half written). Each worker
    writes a contiguous share of the parts into files of its own: its texts file is kept as
    it is (`FileTexts` reads them all), its rows are copied into `rows.db` in order (SQLite to
    SQLite); nothing is pickled back."""
    building = path.with_name(f"{path.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    parts = [(start, min(PART, count - start)) for start in range(0, count, PART)]
    common = (store.table_ddl, store.bulk_sql, source, type(store), seed, anchor, part)
    shares = _shares(parts, workers or os.cpu_count() or 1)
    jobs = [_Share(building, index, share, *common) for index, share in enumerate(shares)]
    latest: datetime | None = None
    for share_latest in _run(jobs):
        if share_latest is not None and (latest is None or share_latest > latest):
            latest = share_latest
    _merge_rows(building, store, len(jobs))
    stamp = None if latest is None else latest.isoformat()
    texts = [TEXTS.format(job.number) for job in jobs]
    meta = {"count": count, "latest": stamp, "texts": texts}
    (building / META).write_text(json.dumps(meta))
    try:
        building.rename(path)
    except OSError:  # another process built the same snapshot first: theirs is the same
        shutil.rmtree(building, ignore_errors=True)


def _shares(parts: list[T], workers: int) -> list[list[T]]:
    """`parts` cut into at most `workers` contiguous runs as even as can be (one, empty, when
    there is no part)."""
    workers = max(1, min(workers, len(parts)))
    n = len(parts)
    return [parts[n * i // workers : n * (i + 1) // workers] for i in range(workers)]


def _run(jobs: list[_Share]) -> list[datetime | None]:
    """Each share built in a process of its own (in this one when there is one share)."""
    if len(jobs) == 1:
        return [_build_share(jobs[0])]
    with multiprocessing.get_context("fork").Pool(len(jobs)) as pool:
        return pool.map(_build_share, jobs, chunksize=1)


_INSERT_TEXT = "INSERT INTO texts (id, text, summary) VALUES (?, ?, ?)"


class _Share(NamedTuple):
    """What a worker builds: `parts` (start, count) into `rows-<number>.db` (copied into
    `rows.db`, then removed) and `texts-<number>.db` (kept) under `directory`."""

    directory: Path
    number: int
    parts: list[tuple[int, int]]
    table_ddl: str
    bulk_sql: str
    source: SampleOrders
    store_class: type
    seed: int
    anchor: datetime | None
    maker: PartMaker | None


def _build_share(share: _Share) -> datetime | None:
    """In a worker: the share's parts written to its own files; the latest time they carry."""
    rows = _connect(share.directory / _ROWS_OF.format(share.number))
    texts = _connect(share.directory / TEXTS.format(share.number), TEXT_PAGE)
    rows.execute(share.table_ddl)
    texts.execute("CREATE TABLE texts (id INTEGER PRIMARY KEY, text TEXT NOT NULL, summary TEXT)")
    latest: datetime | None = None
    # The rows are tuples and strings, freed by their counts; the collector's passes over the
    # parts cost 4 % of the build.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for start, count in share.parts:
            part = (share.source, share.store_class, start, count, share.seed, share.anchor)
            part_latest, part_rows = _build_part((*part, share.maker))
            rows.executemany(share.bulk_sql, (r[:-2] for r in part_rows))
            texts.executemany(_INSERT_TEXT, ((r[0], r[-2], r[-1]) for r in part_rows))
            if part_latest is not None and (latest is None or part_latest > latest):
                latest = part_latest
        rows.commit()
        texts.commit()
    finally:
        rows.close()
        texts.close()
        if collecting:
            gc.enable()
    return latest


def _merge_rows(directory: Path, store: SqlOrderStore, shares: int) -> None:
    """The shares' rows into `rows.db`, in order (the table's rowids as one process would have
    inserted them), each share's file removed."""
    rows = _connect(directory / ROWS)
    try:
        rows.execute(store.table_ddl)
        table = store.table.name
        for index in range(shares):
            share = directory / _ROWS_OF.format(index)
            rows.execute("ATTACH DATABASE ? AS share", (str(share),))
            rows.execute(f"INSERT INTO main.{table} SELECT * FROM share.{table} ORDER BY rowid")
            rows.commit()
            rows.execute("DETACH DATABASE share")
            share.unlink()
    finally:
        rows.close()


#: A worker's rows, before `_merge_rows`.
_ROWS_OF = "rows-{}.db"


def _connect(path: Path, page_size: int | None = None) -> sqlite3.Connection:
    """A new file written once, without a journal (a failed build is thrown away whole)."""
    db = sqlite3.connect(path)
    if page_size is not None:
        # A 2 kB text a row leaves half of each 4 kB page empty: 16 kB pages make the file a
        # quarter smaller and its inserts 40 % cheaper, and read the same (`rows` stays at the
        # default: the backup into the in-memory table needs its page size).
        db.execute(f"PRAGMA page_size = {page_size}")
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    return db


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
    """Texts by order id read from a snapshot's texts files (never written; one a worker that
    built it, each a contiguous run of the orders), those set since kept in memory over them.
    Thread-safe."""

    def __init__(
        self,
        paths: list[Path],
        count: int,
        column: str = "text",
        derive: Callable[[str], str] | None = None,
    ) -> None:
        """`derive`, when given, makes what is read of a file's `column` the text asked for
        (a part of it: Dexero keeps no summary, cuts it from the full text)."""
        self.paths = paths
        #: A connection to each file (not one with the others attached: SQLite attaches ten at
        #: most, a machine may build with more workers) and the lowest and highest id in it;
        #: empty files left out.
        self._files: list[tuple[sqlite3.Connection, int, int]] = []
        for path in paths:
            db = sqlite3.connect(
                f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False
            )
            # Mapped, a page's texts are read without a system call each (the pages the OS
            # caches count in RSS as shared, reclaimable file pages).
            db.execute(f"PRAGMA mmap_size = {MAPPED}")
            # Apart, each is one look at the index (together: a scan of the file).
            ends = "SELECT (SELECT min(id) FROM texts), (SELECT max(id) FROM texts)"
            low, high = db.execute(ends).fetchone()
            if low is None:
                db.close()
            else:
                self._files.append((db, low, high))
        self._lock = threading.Lock()
        self._changed: dict[int, str] = {}
        self._count = count
        self._column = column
        self._derive = derive

    def column(self, column: str, derive: Callable[[str], str] | None = None) -> FileTexts:
        """The same snapshot's other text column (the list summaries), or what `derive` makes
        of one."""
        return FileTexts(self.paths, self._count, column, derive)

    def __getitem__(self, order_id: int) -> str:
        changed = self._changed.get(order_id)
        if changed is not None:
            return changed
        with self._lock:
            found = self._read(order_id, self._column)
        if found is None:
            raise KeyError(order_id)
        return found if self._derive is None else self._derive(found)

    def _read(self, order_id: object, column: str) -> Any:
        """The column of `order_id` in the file that holds it; None when none does."""
        if not isinstance(order_id, int):
            return None
        for db, low, high in self._files:
            if low <= order_id <= high:
                found = db.execute(
                    f"SELECT {column} FROM texts WHERE id = ?", (order_id,)
                ).fetchone()
                if found is not None:
                    return found[0]
        return None

    def many(self, order_ids: list[int]) -> list[str]:
        """The texts of `order_ids`, in their order, in one query a file and a MANY of them."""
        found: dict[int, str] = {}
        with self._lock:
            for at in range(0, len(order_ids), MANY):
                for db, low, high in self._files:
                    some = [i for i in order_ids[at : at + MANY] if low <= i <= high]
                    if some:
                        marks = ",".join("?" * len(some))
                        sql = f"SELECT id, {self._column} FROM texts WHERE id IN ({marks})"
                        found.update(db.execute(sql, some).fetchall())
            if self._derive is not None:
                derive = self._derive
                found = {i: derive(text) for i, text in found.items()}
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
        return self._read(order_id, "1") is not None

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[int]:
        with self._lock:
            ids = [i for db, _, _ in self._files for (i,) in db.execute("SELECT id FROM texts")]
            ids += [i for i in self._changed if not self._in_file(i)]
        return iter(ids)
