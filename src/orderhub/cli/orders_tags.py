"""`orderhub orders tag ID TAG...` and `untag`: an order's tags, as POST /v1/orders/{id}/tags
and DELETE /v1/orders/{id}/tags/{tag} change them (docs/tags.md)."""

from __future__ import annotations

import typer

from orderhub.api.orders import parse_id
from orderhub.cli.common import migrated_engine
from orderhub.cli.orders import app, cli_actor, print_update
from orderhub.services.update_request import OrderUpdate, parse_tags
from orderhub.services.updates import update_order

_TAGS = typer.Argument(..., metavar="TAG...", help="Tags: a-z, 0-9, _ - : . (at most 50 each).")


@app.command("tag")
def tag_command(
    order_id: str = typer.Argument(..., metavar="ID", help="The order's id."),
    tags: list[str] = _TAGS,
) -> None:
    """Put tags on an order (those it has already stay once)."""
    _change(order_id, OrderUpdate({}, add_tags=tuple(parse_tags("TAG", tags))))


@app.command("untag")
def untag_command(
    order_id: str = typer.Argument(..., metavar="ID", help="The order's id."),
    tags: list[str] = _TAGS,
) -> None:
    """Take tags off an order (one it does not carry changes nothing)."""
    _change(order_id, OrderUpdate({}, remove_tags=tuple(parse_tags("TAG", tags))))


def _change(order_id: str, update: OrderUpdate) -> None:
    number = parse_id("ID", order_id)
    print_update(number, update_order(migrated_engine(), number, update, cli_actor()))
