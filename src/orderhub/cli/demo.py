"""`orderhub demo`: sandboxes, a first sync, the worker and the API, all stopped by Ctrl-C."""

from __future__ import annotations

import os
import secrets
import shlex
import signal
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import typer
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from orderhub.cli.common import console, engine_from_settings
from orderhub.cli.ports import check_port_free
from orderhub.cli.sync import _progress, _report, _SyncBar
from orderhub.domain import Conflict
from orderhub.services import users
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
from orderhub.store.engine import sqlite_path

HOST = "127.0.0.1"
DEMO_DIR = Path(".demo")
LIFE_INTERVAL = 20.0
SYNC_EVERY = 30.0


def demo(
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port of the API."),
    orders: int = typer.Option(4_000, "--orders", "-n", min=1, help="Orders across the sandboxes."),
) -> None:
    """Start every channel's sandbox, sync them, and serve the API on http://127.0.0.1:PORT."""
    signal.signal(signal.SIGTERM, _interrupt)
    check_port_free(HOST, port)
    os.environ.setdefault("ORDERHUB_WEBHOOKS_ALLOW_PRIVATE", "1")
    engine = engine_from_settings()
    upgrade(engine)
    started = _Started()
    try:
        _run(engine, port, orders, started)
    except KeyboardInterrupt:
        pass  # Ctrl-C or SIGTERM: stop everything below, and exit 0
    finally:
        console.print("stopping the worker, the periodic sync and the sandboxes")
        started.stop()
    console.print("stopped")


@dataclass
class _Started:
    """What the demo has started so far, stopped together however the demo ends."""

    running: list[RunningChannel] = field(default_factory=list)
    background: Background | None = None

    def stop(self) -> None:
        if self.background is not None:
            self.background.close()
        for item in self.running:
            item.server.stop()
            item.server.app.state.sandbox.close()


def _run(engine: Engine, port: int, orders: int, started: _Started) -> None:
    """Start the sandboxes, sync, start the worker, then serve the API until it stops."""
    import uvicorn

    from orderhub.api.limits import server_options
    from orderhub.web.app import create_app

    secret = secrets.token_urlsafe(16)
    hub = f"http://{HOST}:{port}"
    with console.status("starting the channel sandboxes"):
        started.running = start_sandboxes(
            demo_channels(),
            orders,
            LIFE_INTERVAL,
            lambda name: inbound_webhook_url(hub, name, secret),
        )
    running = started.running
    _configure(running, secret)
    _first_sync(engine, running)
    key = create_key(engine, "demo", SCOPES, replace=True).token
    password = _demo_admin(engine)
    _print_welcome(port, key, running)
    _print_dashboard(port, password)
    topics = plan_worker(engine, get_settings()).topics
    accounts = [item.account for item in running]
    started.background = Background(engine, accounts, SYNC_EVERY, topics).start()
    uvicorn.run(create_app(engine), host=HOST, port=port, log_level="warning",
                **server_options())  # fmt: skip


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    """SIGTERM stops the demo as Ctrl-C does (uvicorn hands the signal on once it has stopped)."""
    raise KeyboardInterrupt


def _configure(running: list[RunningChannel], webhook_secret: str) -> None:
    """Write .demo/orderhub.toml and .demo/env, and point this process at them."""
    path = DEMO_DIR / "orderhub.toml"
    write_config(path, running, int(SYNC_EVERY))
    for item in running:
        for name, value in item.channel.credentials.items():
            os.environ[credential_env(item.channel.name, name)] = value
        if item.channel.webhooks:
            os.environ[credential_env(item.channel.name, WEBHOOK_SECRET)] = webhook_secret
    os.environ["ORDERHUB_CONFIG_FILE"] = str(path.resolve())
    get_settings.cache_clear()
    _write_env(DEMO_DIR / "env", running)


def _write_env(path: Path, running: list[RunningChannel]) -> None:
    """`source .demo/env`: the demo's database, config and credentials for any other shell."""
    names = ["ORDERHUB_CONFIG_FILE", "ORDERHUB_WEBHOOKS_ALLOW_PRIVATE"]
    for item in running:
        names += [credential_env(item.channel.name, n) for n in item.channel.credentials]
        if item.channel.webhooks:
            names.append(credential_env(item.channel.name, WEBHOOK_SECRET))
    values = {"ORDERHUB_DATABASE_URL": _absolute(get_settings().database_url)}
    values |= {name: os.environ[name] for name in names}
    lines = [f"export {name}={shlex.quote(value)}\n" for name, value in values.items()]
    path.write_text(_ENV_HEADER + "".join(lines), encoding="utf-8")
    path.chmod(0o600)  # it may hold the database password


_ENV_HEADER = "# written by `orderhub demo`: `source .demo/env` points the CLI at the demo\n"


def _absolute(database_url: str) -> str:
    """The URL with a relative SQLite path made absolute, so it holds from any directory."""
    url = make_url(database_url)
    path = sqlite_path(url)
    if path is None or path.is_absolute():
        return database_url
    return url.set(database=str(path.resolve())).render_as_string(hide_password=False)


def _first_sync(engine: object, running: list[RunningChannel]) -> None:
    results = []
    with _progress() as progress:
        for item in running:
            bar = _SyncBar(progress, item.channel.name)
            results.append(sync_account(engine, item.account, progress=bar.update))  # type: ignore[arg-type]
            bar.done()
    for result in results:
        _report(result)


DEMO_ADMIN = "admin@demo.orderhub.local"


def _demo_admin(engine: Engine) -> str:
    """The demo admin's password: a new one each run (the account is made the first time)."""
    password = secrets.token_urlsafe(12)
    try:
        users.create_user(engine, DEMO_ADMIN, "admin", password)
    except Conflict:
        users.reset_password(engine, DEMO_ADMIN, password)
        users.enable_user(engine, DEMO_ADMIN)
        users.change_role(engine, DEMO_ADMIN, "admin")
    return password


def _print_dashboard(port: int, password: str) -> None:
    console.print(f"Dashboard: [bold]http://{HOST}:{port}/[/] (a new password on each demo run)")
    console.print(f"  e-mail    {DEMO_ADMIN}\n  password  {password}\n", markup=False)


def _print_welcome(port: int, key: str, running: list[RunningChannel]) -> None:
    base = f"http://{HOST}:{port}"
    console.print(f"\n[bold green]orderhub is serving[/] at {base}  (Ctrl-C stops everything)\n")
    for item in running:
        console.print(f"  sandbox {item.channel.name:<10} {item.account.base_url}")
    console.print("\nAPI key [bold]demo[/] (every scope; re-created on each demo run):")
    console.print(f"  {key}\n", soft_wrap=True, markup=False, highlight=False)
    auth = f'-H "Authorization: Bearer {key}"'
    for example in (
        f"curl {auth} '{base}/v1/orders?status=open&currency=EUR&_sort=total:desc&page_size=5'",
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
    console.print(
        "run `source .demo/env` in another shell to use the CLI against this demo "
        "(orderhub channels list, orderhub sync, orderhub orders list ...)\n",
        markup=False,
    )
