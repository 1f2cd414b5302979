"""`orderhub orders export`: every matching order as CSV or NDJSON, as GET /v1/orders.csv and
/v1/orders.ndjson give it (the same service, the same bytes), to stdout or a file."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine

from orderhub.cli.common import migrated_engine
from orderhub.cli.errors import err_console
from orderhub.cli.orders import app, split_filter
from orderhub.services.exports import ExportFormat, ExportSpec, parse_export, start_export


@app.command("export")
def export_command(
    fmt: ExportFormat = typer.Option(ExportFormat.CSV, "--format", help="csv or ndjson."),
    fields: str | None = typer.Option(
        None, "--fields", help="Comma-separated columns; default: the set docs/exports.md lists."
    ),
    lines: str | None = typer.Option(
        None, "--lines", help="rows: one row per order line (default flat: one per order)."
    ),
    filters: list[str] = typer.Option(
        [], "--filter", "-f", help="field=value or field=modifier:value; repeatable."
    ),
    sort: str | None = typer.Option(None, "--sort", help="field:asc,other:desc"),
    basic: bool = typer.Option(False, "--basic", help="The basic view's fields (filter=basic)."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write to this file (default: stdout)."
    ),
) -> None:
    """Export every order matching the filters, streamed in batches (docs/exports.md)."""
    params = [split_filter(item) for item in filters]
    params += [("_sort", sort)] if sort else []
    params += [("filter", "basic")] if basic else []
    params += [("fields", fields)] if fields is not None else []
    params += [("lines", lines)] if lines is not None else []
    spec = parse_export(params, fmt)
    engine = migrated_engine()
    if output is None:
        for chunk in start_export(engine, spec).chunks():
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        return
    _export_to_file(engine, spec, output)


def _export_to_file(engine: Engine, spec: ExportSpec, output: Path) -> None:
    """Write `output.part`, then rename it: a failed export leaves no half file behind."""
    part = output.with_name(output.name + ".part")
    columns = (
        TextColumn("exporting"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("orders"),
        TimeElapsedColumn(),
    )
    written = 0
    try:
        with (
            Progress(*columns, console=err_console, transient=True) as progress,
            part.open("wb") as out,
        ):
            task = progress.add_task("export", total=None)
            export = start_export(engine, spec, lambda done, _: progress.advance(task, done))
            progress.update(task, total=export.total)
            for chunk in export.chunks():
                out.write(chunk)
                written += len(chunk)
        os.replace(part, output)
    finally:
        part.unlink(missing_ok=True)
    err_console.print(
        f"wrote {export.total:,} orders ({written / 1e6:,.1f} MB) to {output}",
        markup=False,
    )
