"""Commands whose modules are imported only when they run (or when help lists them).

`orderhub sync` must not pay for importing the web app, FastAPI and every other command:
the root group knows each lazy command by name and where it lives, and builds it with Typer
(as `app.add_typer` / `app.command` would have) the first time it is asked for it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import typer
import typer.main

from orderhub.cli.errors import ReportingGroup


@dataclass(frozen=True, slots=True)
class LazyCommand:
    """A command's `module:attribute` (a Typer app, a group; else a function, a command), and
    modules that add commands to it when imported (`orders bulk` ...)."""

    target: str
    extras: tuple[str, ...] = ()

    def build(self, name: str) -> Any:
        """The click command, as the root Typer app would have built it under `name`."""
        module_name, _, attribute = self.target.partition(":")
        found = getattr(importlib.import_module(module_name), attribute)
        for extra in self.extras:
            importlib.import_module(extra)
        holder = typer.Typer(rich_markup_mode=None)  # the root's: plain help
        if isinstance(found, typer.Typer):
            holder.add_typer(found, name=name)
        else:
            holder.command(name)(found)
        return typer.main.get_group(holder).commands[name]


class LazyGroup(ReportingGroup):
    """The root group: its own commands and the `lazy` ones, listed in `order` (then any
    other of its own)."""

    lazy: dict[str, LazyCommand] = {}
    order: tuple[str, ...] = ()

    def list_commands(self, ctx: Any) -> list[str]:
        own = [name for name in super().list_commands(ctx) if name not in self.order]
        return [*self.order, *own]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self.lazy:
            command = self.lazy[cmd_name].build(cmd_name)
            self.commands[cmd_name] = command
        return command
