"""bench/read.py's report: the table of every query's figures against the targets, and the
summary lines under it (cursor paging, the machine's other load)."""

from __future__ import annotations

import math
import shutil
from typing import Any

from rich.console import Console
from rich.table import Table

from read_results import (
    CURSOR_TOLERANCE,
    OTHER_CPU_WARNING,
    TARGET_GENERATE,
    TARGET_VS_BARE,
    TARGET_VS_DATASETTE,
    TARGET_VS_SINGLE,
    QueryResult,
)


def report(summary: dict[str, Any], results: list[QueryResult], console: Console) -> None:
    table = Table(title=_title(summary), title_justify="left")
    for name in ("query", "orderhub req/s", "p50 ms", "p99 ms", "p50 ms 1 conn",
                 "Datasette req/s", "DS p50 ms", "bare SQL+JSON p50 ms",
                 f"req/s vs DS (>={TARGET_VS_DATASETTE:g}x)",
                 f"p50 1 conn / bare (<={TARGET_VS_BARE:g}x)", "req/s 1 conn",
                 f"req/s vs 1 conn (>={TARGET_VS_SINGLE:g}x)", "other CPU"):  # fmt: skip
        table.add_column(name, justify="left" if name == "query" else "right")
    for r in results:
        table.add_row(*_cells(r))
    console.print(table)
    for line in _summary_lines(summary, results):
        console.print(line)


def _title(summary: dict[str, Any]) -> str:
    stats = "with" if summary["planner_statistics"] else "without"
    return (
        f"read benchmark: {summary['orders']:,} orders, SQLite {summary['sqlite_version']} "
        f"({stats} ANALYZE statistics), {summary['connections']} connections, "
        f"{summary['duration_s']:g} s per query, {_rounds(summary['rounds'])}"
        f"load: {summary['load_generator']}"
    )


def _rounds(rounds: int) -> str:
    return "" if rounds == 1 else f"median of {rounds} rounds, "


def _cells(r: QueryResult) -> list[str]:
    oh, ds = r.orderhub, r.datasette
    errors = f" ({oh.errors} errors)" if oh.errors else ""
    ds_rps = "n/a"
    if ds is not None:
        ds_rps = f"{ds.rps:,.1f}" + (f" ({ds.errors} errors)" if ds.errors else "")
    ratio = r.vs_datasette
    return [
        r.query.title + (" [red](results differ)[/]" if r.mismatch else ""),
        f"{oh.rps:,.1f}{errors}",
        _ms(oh.p50_ms),
        _ms(oh.p99_ms),
        _ms(r.orderhub_single.p50_ms),
        ds_rps,
        "n/a" if ds is None else _ms(ds.p50_ms),
        _ms(r.bare_p50_ms),
        "n/a" if ratio is None else f"{ratio:.2f}x {_mark(ratio >= TARGET_VS_DATASETTE)}",
        _ratio(r.vs_bare, r.vs_bare <= TARGET_VS_BARE),
        f"{r.orderhub_single.rps:,.1f}",
        _ratio(r.vs_single, r.vs_single >= TARGET_VS_SINGLE),
        "-" if math.isnan(r.other_cpu) else f"{r.other_cpu:.2f}",
    ]


def _summary_lines(summary: dict[str, Any], results: list[QueryResult]) -> list[str]:
    lines = []
    generated = summary["generate"]
    if generated is None:
        lines.append("orderhub generate: not run (--reuse of an existing database)")
    else:
        lines.append(
            f"orderhub generate: {generated['orders']:,} orders in {generated['wall_seconds']} s "
            f"wall = {generated['orders_per_second']:,} orders/s (target >= {TARGET_GENERATE:,}) "
            f"{_mark(generated['target_met'])}   [dim]CLI: {generated['cli']}; other CPU "
            f"{generated['other_cpu_cores']:.2f}[/]"
        )
    by_key = {r.query.key: r for r in results}
    first, deep = by_key["page_1"].orderhub, by_key["cursor_deep"].orderhub
    ratio = deep.rps / first.rps if first.rps else math.nan
    lines.append(
        f"cursor paging: depth {summary['sample']['depth']:,} {deep.rps:,.1f} req/s vs page 1 "
        f"{first.rps:,.1f} req/s = {ratio:.2f}x (target: as fast, >= {CURSOR_TOLERANCE:g}x) "
        f"{_mark(ratio >= CURSOR_TOLERANCE)}"
    )
    lines.append(
        f"note: {summary['cpus']} CPUs; the load generator, orderhub (one uvicorn worker) and "
        "Datasette share them, so req/s is lower than on a dedicated server. p50 under "
        f"{summary['connections']} connections includes queueing; the bare-SQL target uses the "
        "1-connection p50. 'other CPU': cores busy with other processes meanwhile."
    )
    return lines + _warnings(results)


def _warnings(results: list[QueryResult]) -> list[str]:
    lines = []
    busy = max((r.other_cpu for r in results if not math.isnan(r.other_cpu)), default=0.0)
    if busy > OTHER_CPU_WARNING:
        lines.append(
            f"[yellow]warning: other processes kept up to {busy:.2f} cores busy during the run: "
            "the affected rows are disturbed; run again on a quiet machine[/]"
        )
    loads = [(r.query.title, load) for r in results for load in (r.orderhub, r.datasette) if load]
    if shutil.which("wrk") and any(load.generator != "wrk" for _, load in loads):
        slow = sorted({title for title, load in loads if load.generator != "wrk"})
        lines.append(f"slow queries measured by the Python generator (it waits): {', '.join(slow)}")
    return lines


def _ms(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"


def _ratio(value: float, met: bool) -> str:
    """A ratio and whether it meets its target; "-" when it could not be measured (no request
    of the 1-connection run finished inside its window)."""
    return "-" if math.isnan(value) else f"{value:.2f}x {_mark(met)}"


def _mark(ok: bool) -> str:
    return "[green]yes[/]" if ok else "[red]NO[/]"
