"""`orderhub mail ...`: customer e-mail waiting in, or delivered from, the outbox."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from orderhub.cli.common import console, migrated_engine
from orderhub.cli.errors import CliError
from orderhub.services import mail as service
from orderhub.store.outbox import OutboxItem, OutboxStatus

app = typer.Typer(help="Customer e-mail in the outbox.", no_args_is_help=True)


@app.command("list")
def list_command(
    status: OutboxStatus | None = typer.Option(None, "--status", help="Only this status."),
    limit: int = typer.Option(100, "--limit", min=1, max=10_000, help="At most this many."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Mail in the outbox, newest first (pending mail waits for `orderhub worker` and SMTP)."""
    items = service.list_mail(migrated_engine(), status.value if status else None, limit)
    if as_json:
        typer.echo(json.dumps([_as_dict(item) for item in items], indent=2, ensure_ascii=False))
        return
    table = Table("id", "order", "status", "to", "subject", "attempts", "last error", "queued")
    for item in items:
        table.add_row(
            str(item.id),
            str(item.order_id or ""),
            item.status,
            item.payload.get("to", ""),
            item.payload.get("subject", ""),
            str(item.attempts),
            item.last_error or "",
            item.created_at.strftime("%Y-%m-%d %H:%M UTC"),
        )
    console.print(table)
    console.print(f"{len(items)} message(s)")


@app.command("retry")
def retry_command(mail_id: int = typer.Argument(..., help="The id `mail list` shows.")) -> None:
    """Send a failed message again (the worker picks it up on its next round)."""
    if not service.retry_mail(migrated_engine(), mail_id):
        raise CliError(f"there is no mail with id {mail_id}")
    console.print(f"mail {mail_id} is queued again")


def _as_dict(item: OutboxItem) -> dict[str, object]:
    return {
        "id": item.id,
        "order_id": item.order_id,
        "status": item.status,
        "to": item.payload.get("to"),
        "subject": item.payload.get("subject"),
        "language": item.payload.get("language"),
        "attempts": item.attempts,
        "last_error": item.last_error,
        "created_at": item.created_at.isoformat(),
    }
