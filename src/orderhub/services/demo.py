"""The demo: channel sandboxes on free loopback ports, a config that points at them, and the
background work (worker, scheduled syncs) that makes the hub feel alive. Stopped as one."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import Engine

from orderhub.channels.base import Account
from orderhub.services.outbox import Topic, Worker
from orderhub.services.scheduler import FixedAccount, Scheduler


@dataclass(frozen=True, slots=True)
class DemoChannel:
    """One demo account: which sandbox serves it and how the hub reaches it."""

    name: str
    type: str
    seed: int
    #: The sandbox app factory, `factory(orders=..., seed=..., life=True, ...)`.
    factory: Callable[..., Any]
    #: Path of the channel's API below the sandbox's root, e.g. "/v1".
    api_path: str
    credentials: dict[str, str]
    #: The sandbox posts changed ids to the hub's inbound webhook (MALL does).
    webhooks: bool = False


def demo_channels() -> list[DemoChannel]:
    """Two MALL accounts (multi-account use) and one account of every other channel."""
    from orderhub.channels.cdon import sandbox as cdon
    from orderhub.channels.cscart import sandbox as cscart
    from orderhub.channels.dexero import sandbox as dexero
    from orderhub.channels.mall import sandbox as mall

    mall_creds = {"client_id": mall.CLIENT_ID}
    return [
        DemoChannel("mall-cz", "mall", 1, mall.create_app, "/v1", mall_creds, webhooks=True),
        DemoChannel("mall-sk", "mall", 2, mall.create_app, "/v1", mall_creds, webhooks=True),
        DemoChannel("shop-de", "cscart", 3, cscart.create_app, "/api",
                    {"email": cscart.ADMIN_EMAIL, "api_key": cscart.API_KEY}),
        DemoChannel("dexero-dk", "dexero", 4, dexero.create_app, dexero.PREFIX,
                    {"client_id": dexero.CLIENT_ID, "client_secret": dexero.CLIENT_SECRET}),
        DemoChannel("cdon-se", "cdon", 5, cdon.create_app, "/api", {"api_key": cdon.API_KEY}),
    ]  # fmt: skip


class ThreadedServer:
    """An ASGI app served by uvicorn on a free 127.0.0.1 port, in a daemon thread."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.app = app
        self.port = port or free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="off")  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"the server on port {self.port} did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class RunningChannel:
    channel: DemoChannel
    server: ThreadedServer

    @property
    def account(self) -> Account:
        return Account(
            name=self.channel.name,
            type=self.channel.type,
            base_url=self.server.base_url + self.channel.api_path,
            credentials=self.channel.credentials,
        )


def start_sandboxes(
    channels: Sequence[DemoChannel],
    orders: int,
    life_interval: float,
    webhook_url: Callable[[str], str] | None = None,
    anchor: datetime | None = None,
) -> list[RunningChannel]:
    """Build and serve each channel's sandbox with its share of `orders`, placed in the year
    before `anchor` (default: now, so the dashboard's last 30 days hold every channel's
    orders); sandboxes that send webhooks post to `webhook_url(account name)` when given."""
    anchor = anchor or datetime.now(UTC)
    share = max(1, orders // max(1, len(channels)))
    running = []
    for channel in channels:
        hooks = (
            {"webhook_url": webhook_url(channel.name)} if webhook_url and channel.webhooks else {}
        )
        app = channel.factory(orders=share, seed=channel.seed, life=life_interval > 0,
                              life_interval=life_interval or 10.0, anchor=anchor,
                              **hooks)  # fmt: skip
        running.append(RunningChannel(channel, ThreadedServer(app).start()))
    return running


def write_config(path: Path, running: Sequence[RunningChannel], sync_interval: int) -> None:
    """An orderhub.toml for the running sandboxes; credentials come from DEMO_* variables."""
    blocks = []
    for item in running:
        account = item.account
        creds = "".join(
            f'{name}_env = "{credential_env(account.name, name)}"\n' for name in account.credentials
        )
        if item.channel.webhooks:
            creds += f'webhook_secret_env = "{credential_env(account.name, WEBHOOK_SECRET)}"\n'
        blocks.append(
            f'[[channels]]\nname = "{account.name}"\ntype = "{account.type}"\n'
            f'base_url = "{account.base_url}"\n{creds}sync_interval = {sync_interval}\n'
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# written by `orderhub demo`\n\n" + "\n".join(blocks), encoding="utf-8")


#: The name of the demo's inbound webhook secret among an account's DEMO_* variables.
WEBHOOK_SECRET = "webhook_secret"


def inbound_webhook_url(hub_url: str, account: str, secret: str) -> str:
    """Where a channel posts its webhooks: the secret rides in the URL (MALL sends no header)."""
    return f"{hub_url}/v1/channels/{account}/webhook?secret={secret}"


def credential_env(account: str, credential: str) -> str:
    return f"DEMO_{account}_{credential}".upper().replace("-", "_")


@dataclass
class Background:
    """The worker and the scheduled syncs (every `sync_every` seconds), in daemon threads,
    stopped together."""

    engine: Engine
    accounts: Sequence[Account]
    sync_every: float
    topics: dict[str, Topic]
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Background:
        worker = Worker(self.engine, self.topics)
        self._spawn(lambda: worker.run_forever(self.stop, poll=1.0))
        if self.sync_every > 0:
            jobs = [FixedAccount(account, self.sync_every) for account in self.accounts]
            scheduler = Scheduler(self.engine, jobs)
            self._spawn(lambda: scheduler.run_forever(self.stop, poll=1.0))
        return self

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=15)

    def _spawn(self, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        self.threads.append(thread)
