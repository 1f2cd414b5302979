"""`orderhub demo`: sandboxes, a first sync, the worker and the API, all stopped by Ctrl-C."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import typer

from orderhub.cli.common import console, engine_from_settings
from orderhub.cli.sync import _progress, _report, _SyncBar
from orderhub.services.demo import (
    WEBHOOK_SECRET,
    Background,
    RunningChannel,
    credential_env,
    demo_channels,
    inbound_webhook_url,
    start_sandboxes,
    write_config,
)
from orderhub.services.keys import SCOPES, create_key
from orderhub.services.sync import sync_account
from orderhub.services.worker import plan_worker
from orderhub.settings import get_settings
from orderhub.store import upgrade

DEMO_DIR = Path(".demo")
LIFE_INTERVAL = 20.0
SYNC_EVERY = 30.0


def demo(
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port of the API."),
    orders: int = typer.Option(4_000, "--orders", "-n", min=1, help="Orders across the sandboxes."),
) -> None:
    """Start every channel's sandbox, sync them, and serve the API on http://127.0.0.1:PORT."""
    import uvicorn

    from orderhub.api.app import create_app
    from orderhub.api.limits import server_options

    os.environ.setdefault("ORDERHUB_WEBHOOKS_ALLOW_PRIVATE", "1")
    engine = engine_from_settings()
    upgrade(engine)
    secret = secrets.token_urlsafe(16)
    hub = f"http://127.0.0.1:{port}"
    with console.status("starting the channel sandboxes"):
        running = start_sandboxes(
            demo_channels(),
            orders,
            LIFE_INTERVAL,
            lambda name: inbound_webhook_url(hub, name, secret),
        )
    background = None
    try:
        _configure(running, secret)
        _first_sync(engine, running)
        key = create_key(engine, "demo", SCOPES, replace=True).token
        _print_welcome(port, key, running)
        topics = plan_worker(engine, get_settings()).topics
        accounts = [item.account for item in running]
        background = Background(engine, accounts, SYNC_EVERY, topics).start()
        uvicorn.run(
            create_app(engine),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            **server_options(),
        )
    finally:
        console.print("stopping the worker, the periodic sync and the sandboxes")
        if background is not None:
            background.close()
        for item in running:
            item.server.stop()
            item.server.app.state.sandbox.close()


def _configure(running: list[RunningChannel], webhook_secret: str) -> None:
    """Write .demo/orderhub.toml and point this process (and `orderhub ...` hints) at it."""
    path = DEMO_DIR / "orderhub.toml"
    write_config(path, running, int(SYNC_EVERY))
    for item in running:
        for name, value in item.channel.credentials.items():
            os.environ[credential_env(item.channel.name, name)] = value
        if item.channel.webhooks:
            os.environ[credential_env(item.channel.name, WEBHOOK_SECRET)] = webhook_secret
    os.environ["ORDERHUB_CONFIG_FILE"] = str(path)
    get_settings.cache_clear()


def _first_sync(engine: object, running: list[RunningChannel]) -> None:
    results = []
    with _progress() as progress:
        for item in running:
            bar = _SyncBar(progress, item.channel.name)
            results.append(sync_account(engine, item.account, progress=bar.update))  # type: ignore[arg-type]
            bar.done()
    for result in results:
        _report(result)


def _print_welcome(port: int, key: str, running: list[RunningChannel]) -> None:
    base = f"http://127.0.0.1:{port}"
    console.print(f"\n[bold green]orderhub is serving[/] at {base}  (Ctrl-C stops everything)\n")
    for item in running:
        console.print(f"  sandbox {item.channel.name:<10} {item.account.base_url}")
    console.print("\nAPI key [bold]demo[/] (every scope; re-created on each demo run):")
    console.print(f"  {key}\n", soft_wrap=True, markup=False, highlight=False)
    auth = f'-H "Authorization: Bearer {key}"'
    for example in (
        f"curl {auth} '{base}/v1/orders?status=open&_sort=total:desc&page_size=5'",
        f"curl {auth} '{base}/v1/orders?channel=mall-sk&filter=basic&page_size=3'",
        f"curl {auth} '{base}/v1/orders/unconfirmed'",
        f"curl {auth} '{base}/v1/channels'",
        f"curl {auth} '{base}/v1/orders/1.xml'",
        f"open {base}/docs  (Authorize with the key)",
    ):
        console.print(f"  {example}", soft_wrap=True, markup=False, highlight=False)
    console.print(
        f"\nOrders keep arriving: the sandboxes live (every {LIFE_INTERVAL:.0f} s) and the hub "
        f"syncs every {SYNC_EVERY:.0f} s; MALL's webhooks bring changes in at once. The worker "
        "delivers webhooks and pushes your changes back to the channels; e-mail waits in the "
        "outbox unless ORDERHUB_SMTP_URL is set.\n"
    )
