"""bench/read.py's figures: one load run, one query's results, and the targets they meet.

A run of several rounds (`--rounds N`) keeps, per query, the round whose figure is the median
of the rounds' (`median_of`): one busy moment on a shared machine moves one round, not the
result.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from statistics import median
from typing import Any

from sqlalchemy import Engine

TARGET_VS_DATASETTE = 5.0
TARGET_VS_BARE = 1.5
#: Under load (8 connections) never fewer requests per second than with one connection.
TARGET_VS_SINGLE = 1.0
TARGET_GENERATE = 20_000
#: Above this (in cores), other processes are said to disturb the figures.
OTHER_CPU_WARNING = 0.25
#: "As fast at depth 5,000 as at page 1", allowing for run-to-run noise.
CURSOR_TOLERANCE = 0.9

Statements = list[tuple[str, tuple[Any, ...]]]
BareCall = Callable[[Engine], object]


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Load:
    """One load run: successful requests, failures, wall time and latency percentiles."""

    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    generator: str

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "rps": round(self.rps, 1)}


@dataclass(frozen=True, slots=True)
class Generated:
    orders: int
    wall_seconds: float
    cli_line: str
    other_cpu: float

    @property
    def rate(self) -> float:
        return self.orders / self.wall_seconds


@dataclass(frozen=True, slots=True)
class Query:
    key: str
    title: str
    orderhub: list[str]
    #: None where Datasette cannot express the query.
    datasette: list[str] | None
    #: Calls into orderhub's service layer whose SQL is captured and replayed as "bare SQL".
    bare: list[BareCall]


@dataclass(slots=True)
class QueryResult:
    query: Query
    bare_p50_ms: float
    orderhub: Load
    orderhub_single: Load
    datasette: Load | None = None
    mismatch: str | None = None
    other_cpu: float = math.nan

    @property
    def vs_datasette(self) -> float | None:
        if self.datasette is None or self.datasette.rps == 0:
            return None
        return self.orderhub.rps / self.datasette.rps

    @property
    def vs_bare(self) -> float:
        """The 1-connection p50 against bare SQL's (NaN when no request finished in time)."""
        if not self.orderhub_single.requests:
            return math.nan
        return self.orderhub_single.p50_ms / self.bare_p50_ms

    @property
    def vs_single(self) -> float:
        """Requests per second under load against one connection's (target: never fewer)."""
        single = self.orderhub_single.rps
        return self.orderhub.rps / single if single else math.nan

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query.key,
            "title": self.query.title,
            "orderhub_url": self.query.orderhub[0],
            "datasette_url": self.query.datasette[0] if self.query.datasette else None,
            "orderhub": self.orderhub.to_json(),
            "orderhub_1_connection": self.orderhub_single.to_json(),
            "datasette": self.datasette.to_json() if self.datasette else None,
            "bare_sql_json_p50_ms": round(self.bare_p50_ms, 3),
            "rps_vs_datasette": _round(self.vs_datasette),
            "p50_1_connection_vs_bare": round(self.vs_bare, 2),
            "rps_vs_1_connection": round(self.vs_single, 2),
            "mismatch": self.mismatch,
            "other_cpu_cores": round(self.other_cpu, 2),
        }


def median_of(rounds: Sequence[QueryResult]) -> QueryResult:
    """One query's rounds as one result: each figure the median round's (of an odd number of
    rounds, a figure some round measured; of an even one, the upper middle round's)."""
    first = rounds[0]
    if len(rounds) == 1:
        return first

    def middle(loads: Sequence[Load]) -> Load:
        return sorted(loads, key=lambda load: load.rps)[len(loads) // 2]

    datasettes = [r.datasette for r in rounds if r.datasette is not None]
    return replace(
        first,
        bare_p50_ms=median(r.bare_p50_ms for r in rounds),
        orderhub=middle([r.orderhub for r in rounds]),
        orderhub_single=middle([r.orderhub_single for r in rounds]),
        datasette=middle(datasettes) if datasettes else None,
        mismatch=next((r.mismatch for r in rounds if r.mismatch), None),
        other_cpu=max(r.other_cpu for r in rounds),
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
