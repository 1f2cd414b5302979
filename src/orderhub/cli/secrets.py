"""`orderhub secrets ...`: the key of the secrets kept in the database (docs/secrets.md)."""

from __future__ import annotations

import typer

from orderhub.cli.common import console, migrated_engine
from orderhub.services import secrets as service

app = typer.Typer(help="The key encrypting the secrets kept in the database.", no_args_is_help=True)


@app.command("generate-key")
def generate_key_command() -> None:
    """Print a new key, for ORDERHUB_SECRET_KEYS (put it first to encrypt with it)."""
    typer.echo(service.new_key())


@app.command("rotate")
def rotate_command() -> None:
    """Encrypt every stored secret again with the first key of ORDERHUB_SECRET_KEYS (or of
    the key file), so the others can then be removed."""
    engine = migrated_engine()
    service.check_key(engine)
    count = service.rotate(engine)
    console.print(f"{count} secret(s) encrypted again with the first key", markup=False)
