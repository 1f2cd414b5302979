"""`orderhub keys ...`: create, list and revoke API keys."""

from __future__ import annotations

import json
from datetime import datetime

import typer
from rich.table import Table

from orderhub.cli.common import console, engine_from_settings, migrated_engine
from orderhub.services import keys as service
from orderhub.store import KeyWithUsage, upgrade

app = typer.Typer(help="API keys: every /v1 request needs one.", no_args_is_help=True)


@app.command("create")
def create_command(
    name: str = typer.Option(..., "--name", help="A unique name: who or what uses the key."),
    scopes: str = typer.Option(
        ..., "--scopes", help=f"Comma-separated, of: {', '.join(service.SCOPES)}."
    ),
    daily_limit: int | None = typer.Option(
        None, "--daily-limit", help="Requests per UTC day; none means unlimited (still counted)."
    ),
    replace: bool = typer.Option(
        False, "--replace", help="Delete a key of the same name first (it stops working)."
    ),
) -> None:
    """Create a key and print it, alone, on the last line: it is shown only this once."""
    scope_set = service.parse_scopes(scopes)
    engine = engine_from_settings()
    upgrade(engine)
    new = service.create_key(engine, name, scope_set, daily_limit, replace=replace)
    limit = "unlimited" if new.daily_limit is None else f"{new.daily_limit:,} requests a day"
    console.print(f"created API key [bold]{new.name}[/] ({', '.join(new.scopes)}; {limit})")
    console.print("it is shown only now; only its hash is stored:")
    typer.echo(new.token)


@app.command("list")
def list_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Every key (never the key itself), with today's request count (every key's: a running
    server writes its unlimited keys' counts once a second)."""
    rows = service.list_keys(migrated_engine())
    if as_json:
        typer.echo(json.dumps([_as_dict(row) for row in rows], indent=2))
        return
    table = Table("name", "key", "scopes", "daily limit", "used today", "created", "revoked")
    for row in rows:
        key = row.key
        table.add_row(
            key.name,
            f"{service.KEY_PREFIX}{key.prefix}",
            ", ".join(sorted(key.scopes)),
            "unlimited" if key.daily_limit is None else f"{key.daily_limit:,}",
            f"{row.used_today:,}",
            _when(key.created_at),
            _when(key.revoked_at),
        )
    console.print(table)


@app.command("revoke")
def revoke_command(name: str = typer.Argument(..., help="The key's name.")) -> None:
    """Revoke a key: from the next request on, it is refused (401)."""
    changed = service.revoke_key(migrated_engine(), name)
    console.print(f"revoked {name}" if changed else f"{name} was already revoked")


def _as_dict(row: KeyWithUsage) -> dict[str, object]:
    key = row.key
    return {
        "name": key.name,
        "prefix": f"{service.KEY_PREFIX}{key.prefix}",
        "scopes": sorted(key.scopes),
        "daily_limit": key.daily_limit,
        "used_today": row.used_today,
        "created_at": key.created_at.isoformat(),
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")
