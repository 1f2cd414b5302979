"""`orderhub webhooks ...`: subscriptions and their delivery log, as /v1/webhooks offers them."""

from __future__ import annotations

import typer
from rich.table import Table

from orderhub.api.render import to_json
from orderhub.api.webhooks import delivery_page
from orderhub.cli.common import console, migrated_engine
from orderhub.cli.order_view import cell
from orderhub.domain import InvalidInput
from orderhub.domain.xmltext import XML_SAFE, has_non_xml_char
from orderhub.services import webhooks as service
from orderhub.services.webhook_health import subscription_document

app = typer.Typer(
    help="Webhook subscriptions: who hears about order changes.", no_args_is_help=True
)


@app.command("list")
def list_command(
    as_json: bool = typer.Option(False, "--json", help="The API's JSON (GET /v1/webhooks)."),
) -> None:
    """Every subscription (never its secret)."""
    found = service.list_subscriptions(migrated_engine())
    if as_json:
        typer.echo(to_json({"data": [subscription_document(s) for s in found]}).decode())
        return
    table = Table("id", "url", "events", "filter", "active", "created")
    for sub in found:
        active = "yes" if sub.active else f"no: {sub.disabled_reason or 'disabled'}"
        values = (sub.id, sub.url, ", ".join(sub.event_types), sub.filter, active, sub.created_at)
        table.add_row(*(cell(value) for value in values))
    console.print(table)


@app.command("create")
def create_command(
    url: str = typer.Option(..., "--url", help="Where to POST each event (http or https)."),
    events: list[str] = typer.Option(
        ..., "--event", "-e", help=f"Repeatable; of: {', '.join(service.EVENT_TYPES)}."
    ),
    order_filter: str | None = typer.Option(
        None, "--filter", help="Only orders matching it, e.g. 'channel=mall-cz&status=shipped'."
    ),
    rate: int = typer.Option(
        service.DEFAULT_PER_SECOND, "--max-per-second", help="At most this many a second."
    ),
) -> None:
    """Subscribe, and print the signing secret, alone on the last line: it is shown only once."""
    fields = {"url": url, "filter": order_filter or ""}
    fields |= {f"event_types.{i}": name for i, name in enumerate(events)}
    for name, value in fields.items():
        if has_non_xml_char(value):
            raise InvalidInput(name, XML_SAFE, value[:80])
    created = service.create_subscription(
        migrated_engine(), url, events, order_filter, max_per_second=rate
    )
    what = f"created webhook subscription {created.id} for {', '.join(created.event_types)}"
    _show_secret(f"{what} to {created.url}", created.secret)


@app.command("update")
def update_command(
    subscription_id: int = typer.Argument(..., metavar="SUBSCRIPTION_ID", min=1),
    rate: int | None = typer.Option(
        None, "--max-per-second", help="At most this many deliveries a second (1 to 1000)."
    ),
    active: bool | None = typer.Option(
        None, "--on/--off", help="Switch it on again after it was disabled, or off."
    ),
) -> None:
    """Change a subscription's rate, or switch it on (or off), as PATCH /v1/webhooks/{id}."""
    found = service.update_subscription(
        migrated_engine(), subscription_id, max_per_second=rate, active=active
    )
    state = "on" if found.active else f"off ({found.disabled_reason or 'disabled'})"
    console.print(
        f"webhook subscription {found.id}: {state}, at most {found.max_per_second} a second",
        soft_wrap=True,
        markup=False,
    )


@app.command("rotate-secret")
def rotate_secret_command(
    subscription_id: int = typer.Argument(..., metavar="SUBSCRIPTION_ID", min=1),
    grace: int = typer.Option(
        service.DEFAULT_GRACE_SECONDS,
        "--grace",
        help="Seconds the old secret keeps signing too (at most a week).",
    ),
) -> None:
    """A new signing secret, printed alone on the last line; the old one signs too meanwhile."""
    rotated = service.rotate_secret(migrated_engine(), subscription_id, grace)
    until = rotated.previous_secret_until
    after = f"the old one signs too until {until.isoformat()}" if until else "the old one is void"
    what = f"rotated the secret of webhook subscription {rotated.id}; {after}"
    _show_secret(what, rotated.secret)


def _show_secret(what: str, secret: str) -> None:
    """What was done, then the signing secret alone on the last line (shown only this once)."""
    console.print(what, soft_wrap=True, markup=False)
    console.print("its signing secret is shown only now:")
    typer.echo(secret)


@app.command("deliveries")
def deliveries_command(
    subscription_id: int = typer.Argument(..., metavar="SUBSCRIPTION_ID", min=1),
    status: str | None = typer.Option(
        None, "--status", help=f"Only these: {', '.join(service.DELIVERY_STATUSES)}."
    ),
    limit: int = typer.Option(100, "--limit", min=1, max=service.MAX_DELIVERIES),
    as_json: bool = typer.Option(False, "--json", help="The API's JSON."),
) -> None:
    """The delivery log of one subscription, newest first."""
    if status is not None and status not in service.DELIVERY_STATUSES:
        raise InvalidInput("--status", f"one of {', '.join(service.DELIVERY_STATUSES)}", status)
    found = service.list_deliveries(migrated_engine(), subscription_id, status, limit + 1)
    if as_json:
        typer.echo(to_json(delivery_page(found, limit)).decode())
        return
    table = Table("id", "event", "type", "status", "attempts", "last error", "created", "next try")
    for delivery in found[:limit]:
        next_try = delivery.next_attempt_at if delivery.status == "pending" else None
        values = (
            delivery.id,
            delivery.event_id,
            delivery.type,
            delivery.status,
            delivery.attempts,
            delivery.last_error,
            delivery.created_at,
            next_try,
        )
        table.add_row(*(cell(value) for value in values))
    console.print(table)


@app.command("replay")
def replay_command(
    subscription_id: int = typer.Argument(..., metavar="SUBSCRIPTION_ID", min=1),
    since: str = typer.Option(
        ..., "--since", help="An RFC 3339 time with its zone, e.g. 2026-12-06T10:00:00Z."
    ),
) -> None:
    """Send every delivery since a time again, in order, with the same webhook-ids."""
    when = service.check_since(since, "--since")
    queued = service.replay(migrated_engine(), subscription_id, when)
    console.print(
        f"{queued} deliveries since {when.isoformat()} are queued again, in order; "
        "`orderhub worker` sends them",
        soft_wrap=True,
        markup=False,
    )


@app.command("resend")
def resend_command(
    subscription_id: int = typer.Argument(..., metavar="SUBSCRIPTION_ID", min=1),
    delivery_id: int = typer.Argument(..., metavar="DELIVERY_ID", min=1),
) -> None:
    """Send a failed (or delivered) delivery again, with the same webhook-id."""
    queued = service.resend_delivery(migrated_engine(), subscription_id, delivery_id)
    console.print(
        f"delivery {queued.id} ({queued.type}) is queued again; `orderhub worker` sends it"
    )
