"""Exports: every order matching a list query, as CSV or NDJSON, streamed in keyset batches.

`parse_export` reads the list endpoint's parameters (filters, `_sort`, `filter=basic`, through
the same `parse_query`) plus the export's own `fields` and `lines`, and refuses paging: an export
holds every matching order. `start_export` reads the first batch (so a database error is an
error, not a cut stream) and `Export.chunks()` yields the body, one chunk per batch of
`BATCH_SIZE` orders read by keyset (`OrderRepository.find` with the previous batch's last sort
values), each batch on a connection of its own: memory stays flat in the number of orders.
docs/exports.md says what the columns hold.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Engine

from orderhub.domain import InvalidInput
from orderhub.domain.jsonfmt import dumps
from orderhub.query import OrderQuery, View, parse_query
from orderhub.query.parser import RESERVED, parse_picked
from orderhub.services.export_rows import (
    CSV_ORDER_COLUMNS,
    JSON_ORDER_KEYS,
    csv_rows,
    default_columns,
    json_objects,
    line_columns,
    needs_full_row,
)
from orderhub.store import OrderPage, OrderRepository
from orderhub.store.engine import streaming

#: Orders read per keyset batch (and written per chunk of the body).
BATCH_SIZE = 1000
#: The list endpoint's paging parameters (and how its page counts), which an export refuses.
PAGING = ("page", "page_size", "cursor", "count")
FIELDS = "fields"
LINES = "lines"
LINE_MODES = ("flat", "rows")
#: The parameters an export takes besides the fields (an unknown name's error lists them).
TAKEN = (*(n for n in RESERVED if n not in PAGING), LINES, "view")
NO_PAGING = "no paging parameter: an export holds every matching order (filter to narrow it)"


class ExportFormat(StrEnum):
    CSV = "csv"
    NDJSON = "ndjson"

    @property
    def media_type(self) -> str:
        return "text/csv; charset=utf-8" if self is ExportFormat.CSV else "application/x-ndjson"


@dataclass(frozen=True, slots=True)
class ExportSpec:
    """What to export: the list query (filters, sort, view), the columns and the line mode."""

    format: ExportFormat
    query: OrderQuery
    columns: tuple[str, ...]
    line_rows: bool

    def filename(self, at: datetime) -> str:
        return f"orders-{at.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}.{self.format.value}"


def allowed_columns(fmt: ExportFormat, line_rows: bool) -> tuple[str, ...]:
    """The names `fields=` may pick for this format and line mode."""
    csv_ = fmt is ExportFormat.CSV
    base = CSV_ORDER_COLUMNS if csv_ else JSON_ORDER_KEYS
    return (*base, *line_columns(line_rows, csv=csv_))


def all_field_names(fmt: ExportFormat) -> tuple[str, ...]:
    """Every name `fields=` can take for the format (line ones only with lines=rows)."""
    return allowed_columns(fmt, True)


def parse_export(params: Iterable[tuple[str, str]], fmt: ExportFormat) -> ExportSpec:
    """The export's parameters, or InvalidInput naming the first bad one (nothing is read)."""
    rest: list[tuple[str, str]] = []
    own: dict[str, str] = {}
    for name, value in params:
        if name in PAGING:
            raise InvalidInput(name, NO_PAGING, value)
        if name in (FIELDS, LINES):
            if name in own:
                raise InvalidInput(name, "at most one value")
            own[name] = value
        else:
            rest.append((name, value))
    query = parse_query(rest, listed=TAKEN)
    line_rows = _line_mode(own.get(LINES))
    basic = query.view is View.BASIC
    if FIELDS in own:
        columns = _fields(own[FIELDS], fmt, line_rows)
    else:
        columns = default_columns(csv=fmt is ExportFormat.CSV, basic=basic, rows=line_rows)
    # The store reads the basic view's columns alone when they are all that is written.
    view = View.FULL if line_rows or needs_full_row(columns) else View.BASIC
    query = replace(query, view=view, page=1, page_size=BATCH_SIZE, after=None)
    return ExportSpec(fmt, query, columns, line_rows)


def _line_mode(raw: str | None) -> bool:
    if raw is None:
        return False
    if raw not in LINE_MODES:
        raise InvalidInput(LINES, " or ".join(LINE_MODES), raw)
    return raw == "rows"


def _fields(raw: str, fmt: ExportFormat, line_rows: bool) -> tuple[str, ...]:
    """The columns named (each once, in order): the list's `fields=` over this vocabulary."""
    try:
        return parse_picked(raw, allowed_columns(fmt, line_rows))
    except InvalidInput as exc:
        if exc.value not in all_field_names(fmt):
            raise
        why = " (a line's field: only with lines=rows)"
        raise InvalidInput(FIELDS, exc.expected + why, exc.value) from None


Progress = Callable[[int, int], None]


@dataclass(slots=True)
class Export:
    """A started export: `total` orders matched when it started; `chunks()` is the body."""

    engine: Engine
    spec: ExportSpec
    first: OrderPage
    progress: Progress | None = None

    @property
    def total(self) -> int:
        return self.first.total or 0  # counted exactly: an export refuses count=

    def chunks(self) -> Iterator[bytes]:
        """The body: the CSV header row, then one chunk per batch of orders."""
        encode = _csv_chunk if self.spec.format is ExportFormat.CSV else _ndjson_chunk
        if self.spec.format is ExportFormat.CSV:
            yield _csv_text([list(self.spec.columns)])
        for page in self.batches():
            yield encode(page, self.spec)
            if self.progress is not None:
                self.progress(len(page.rows), page.total or 0)

    def batches(self) -> Iterator[OrderPage]:
        page = self.first
        while True:
            yield page
            if page.next_after is None:
                return
            page = _read(self.engine, replace(self.spec.query, after=page.next_after))


def start_export(engine: Engine, spec: ExportSpec, progress: Progress | None = None) -> Export:
    """Read the first batch (and count the matches), ready to stream the rest."""
    return Export(engine, spec, _read(engine, spec.query), progress)


def _read(engine: Engine, query: OrderQuery) -> OrderPage:
    with streaming(engine) as conn:  # a read: no write lock, one short transaction per batch
        return OrderRepository(conn).find(query)


def _csv_chunk(page: OrderPage, spec: ExportSpec) -> bytes:
    return _csv_text(
        cells for row in page.rows for cells in csv_rows(row, spec.columns, spec.line_rows)
    )


def _csv_text(rows: Iterable[list[str]]) -> bytes:
    """RFC 4180: CRLF line ends, a cell quoted when it holds a comma, quote or line break."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode()


def _ndjson_chunk(page: OrderPage, spec: ExportSpec) -> bytes:
    return b"".join(
        dumps(obj) + b"\n"
        for row in page.rows
        for obj in json_objects(row, spec.columns, spec.line_rows)
    )
