"""`orderhub orders bulk`: the API's bulk job (POST /v1/orders/bulk) from the shell.

The job is made exactly as the API makes it; this command then runs it here, batch after batch,
with a progress bar (a running `orderhub worker` may take batches too: each batch is taken under
the job's lock, so none is done twice). With --detach it leaves the job to the worker.
"""

from __future__ import annotations

from urllib.parse import urlencode

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from sqlalchemy import Engine

from orderhub.cli.common import console, migrated_engine
from orderhub.cli.errors import EXIT_FAILED
from orderhub.cli.orders import agreed, app, cli_actor, split_filter
from orderhub.domain import InvalidInput
from orderhub.services import jobs
from orderhub.store.jobs import Job

_SHOWN_FAILURES = 20


@app.command("bulk")
def bulk_command(
    action: str = typer.Argument(..., help="confirm, status, vendor_ref, tag or untag."),
    value: str = typer.Argument(
        None, help="The status or vendor_ref to set, the tag to put or take off."
    ),
    order_ids: list[int] = typer.Option([], "--id", help="An order to act on (repeatable)."),
    filters: list[str] = typer.Option(
        [],
        "--filter",
        "-f",
        help="Instead of ids: every order matching field=value or field=modifier:value now "
        "(as GET /v1/orders).",
    ),
    notify: bool = typer.Option(False, "--notify", help="E-mail each customer, as PUT does."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count the orders; change nothing."),
    detach: bool = typer.Option(False, "--detach", help="Leave the job to `orderhub worker`."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before starting."),
) -> None:
    """One action on many orders, as a job (POST /v1/orders/bulk), with a progress bar."""
    if bool(order_ids) == bool(filters):
        raise InvalidInput("--id/--filter", "order ids or --filter, one of the two")
    body: dict[str, object] = {"action": action, "notify_user": notify}
    if value is not None:
        body["value"] = value
    if order_ids:
        body["ids"] = order_ids
    else:
        body["query"] = urlencode([split_filter(item) for item in filters])
    request = jobs.parse_bulk(body)
    engine = migrated_engine()
    matched = jobs.preview(engine, request)
    console.print(f"{matched:,} order(s) to {action}" + (f" {value}" if value else ""))
    if dry_run or matched == 0:
        return
    if not yes and not agreed("Start the job?"):
        console.print("nothing changed")
        raise typer.Exit(EXIT_FAILED)
    job = jobs.submit(engine, request, cli_actor())
    if detach:
        console.print(f"job {job.id} queued: `orderhub worker` runs it (GET /v1/jobs/{job.id})")
        return
    _report(engine, _run_here(engine, job))


def _run_here(engine: Engine, job: Job) -> Job:
    columns = (*Progress.get_default_columns()[:1], BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task(f"job {job.id}", total=job.matched, completed=job.processed)
        while job.finished_at is None:
            job = jobs.run_batch(engine, job.id)
            progress.update(task, completed=job.processed)
    return job


def _report(engine: Engine, job: Job) -> None:
    for failure in jobs.failures(engine, job.id, _SHOWN_FAILURES):
        line = f"order {failure.order_id}: {failure.reason}"
        console.print(f"[red]refused[/] {escape(line)}", soft_wrap=True, highlight=False)
    if job.failed > _SHOWN_FAILURES:
        more = job.failed - _SHOWN_FAILURES
        console.print(f"... and {more:,} more (GET /v1/jobs/{job.id}/failures)")
    console.print(
        f"job {job.id} {job.status}: changed {job.changed:,}, unchanged {job.unchanged:,}, "
        f"failed {job.failed:,}"
    )
    if job.failed or job.status != "finished":
        raise typer.Exit(EXIT_FAILED)
