"""The `orderhub` command line (Typer + rich). Commands call services, never SQL."""

from orderhub.cli.main import app, main

__all__ = ["app", "main"]
