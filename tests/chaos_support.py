"""Sync chaos (tests/test_sync_chaos.py): a channel sandbox on loopback with every fault it
injects turned on at high rates, its orders living between and during the runs, and real
`orderhub sync` processes SIGKILLed at random points; then one clean sync, and the store
compared with the sandbox's own raw payloads through the hand-written oracles (tests/oracles).

Everything a round does is drawn from one seeded `random.Random`, printed with every failure
(`ORDERHUB_CHAOS_SEED` replays or varies it, `ORDERHUB_CHAOS_ROUNDS` makes the run longer).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, func, select

from oracles import cdon as cdon_oracle
from oracles import cscart as cscart_oracle
from oracles import dexero as dexero_oracle
from oracles import differences as field_differences
from oracles import mall as mall_oracle
from oracles import order_view
from orderhub.channels.cdon.sandbox import create_app as cdon_app
from orderhub.channels.cscart.sandbox import ADMIN_EMAIL, API_KEY
from orderhub.channels.cscart.sandbox import create_app as cscart_app
from orderhub.channels.dexero.sandbox import PREFIX as DEXERO_PREFIX
from orderhub.channels.dexero.sandbox import create_app as dexero_app
from orderhub.channels.mall.sandbox import create_app as mall_app
from orderhub.domain import Order
from orderhub.store import SyncRepository
from orderhub.store.tables import orders
from sync_support import served, stored_orders

#: Every fault `channels/sandbox_faults.py` offers, at high rates: 40 % of the API requests
#: fail. 429 and 503 carry Retry-After: 1 (the client honours it, so each costs a second: they
#: are kept lower than the instant ones); a `timeout` holds the answer 1 s against the hub's
#: 0.75 s timeout; `truncate` sends half the body with the full length; `reset` drops the
#: connection with an RST.
FAULTS = {
    "429": 0.02, "503": 0.01, "500": 0.09, "502": 0.06, "504": 0.07,
    "timeout": 0.02, "truncate": 0.07, "reset": 0.06,
    "retry_after": 1, "delay": 1.0,
}  # fmt: skip
#: The hub's side: a 0.75 s timeout, and enough attempts that a run gets through 40 % failures
#: (10 failures in a row: 1 request in 10,000). An overlap of 5 s, not 60: each run re-reads
#: the orders of the last 5 s (still every run re-reads some), not of the whole last minute.
ACCOUNT = "page_size = {page_size}\ntimeout = 0.75\nmax_attempts = 10\noverlap = 5\n"
#: How long a run left to finish may take before it is killed all the same.
LONGEST_RUN = 60.0
#: How often the test looks at the sandbox's request count (it shares the GIL with the sandbox).
TICK = 0.02
FORKER = Path(__file__).with_name("sync_forker.py")
ORDERHUB = str(Path(sys.executable).with_name("orderhub"))


Payload = Mapping[str, Any]


@dataclass(frozen=True)
class Channel:
    """One channel under chaos: its sandbox, its account in orderhub.toml, and its oracle."""

    type: str
    name: str
    create_app: Callable[..., Any]
    #: The account's base URL after the sandbox's (its API prefix).
    prefix: str
    #: The account's `<credential>_env` keys and the variables they name.
    credentials: dict[str, tuple[str, str]]
    external_id: Callable[[Payload], str]
    #: The fields where the hub's order differs from what the oracle reads in the payload.
    differences: Callable[[Order, Payload, str], list[str]]
    orders: int
    page_size: int
    #: Kill points by count are drawn from 1 to this many requests (about a run's length).
    kill_span: int
    #: A fault of the channel's own, made in the sandbox at a random point of a run.
    own_fault: Callable[[Any], object] | None = None


def _mall_differences(order: Order, payload: Payload, channel: str) -> list[str]:
    return field_differences(order, mall_oracle.expected(payload, channel))


def _cscart_differences(order: Order, payload: Payload, channel: str) -> list[str]:
    return field_differences(order, cscart_oracle.expected(payload, channel))


def _dexero_differences(order: Order, payload: Payload, channel: str) -> list[str]:
    return order_view.differences(order, dexero_oracle.expected(dict(payload)))


def _cdon_differences(order: Order, payload: Payload, channel: str) -> list[str]:
    return order_view.differences(order, cdon_oracle.expected(dict(payload)))


def _revoke_tokens(state: Any) -> None:
    """Dexero forgets every OAuth token it issued: the run's next request gets a 401."""
    state.tokens.revoke_all()


def _cdon_id(payload: Payload) -> str:
    return str(payload["OrderDetails"]["OrderId"])


CHANNELS = {
    "mall": Channel(
        "mall", "mall-cz", mall_app, "/v1", {"client_id_env": ("MALL_CZ_CLIENT_ID", "sandbox")},
        mall_oracle.external_id, _mall_differences, orders=40, page_size=10, kill_span=20,
    ),
    "cscart": Channel(
        "cscart", "shop-de", cscart_app, "/api",
        {"email_env": ("SHOP_DE_EMAIL", ADMIN_EMAIL), "api_key_env": ("SHOP_DE_API_KEY", API_KEY)},
        cscart_oracle.external_id, _cscart_differences, orders=30, page_size=10, kill_span=15,
    ),
    "dexero": Channel(
        "dexero", "dexero-dk", dexero_app, DEXERO_PREFIX,
        {"client_id_env": ("DEXERO_CLIENT_ID", "sandbox"),
         "client_secret_env": ("DEXERO_SECRET", "sandbox")},
        lambda p: str(p["id"]), _dexero_differences, orders=80, page_size=5, kill_span=10,
        own_fault=_revoke_tokens,
    ),
    "cdon": Channel(
        "cdon", "cdon-se", cdon_app, "/api", {"api_key_env": ("CDON_SE_API_KEY", "sandbox")},
        _cdon_id, _cdon_differences, orders=80, page_size=5, kill_span=10,
    ),
}  # fmt: skip


def chaos_rounds() -> int:
    return int(os.environ.get("ORDERHUB_CHAOS_ROUNDS", "50"))


def chaos_seed(default: int) -> int:
    return int(os.environ.get("ORDERHUB_CHAOS_SEED", str(default)))


@dataclass
class Plan:
    """What one round does, drawn from the seeded random stream before it starts."""

    #: Whole steps of order life before the run starts.
    life_before: int
    #: SIGKILL once the sandbox saw this many requests of the run (None: not by count).
    kill_after_requests: int | None
    #: SIGKILL this many seconds after the start (None: not by time).
    kill_after_seconds: float | None
    #: Order life (steps) once the run made this many requests: orders change mid-pull.
    life_during: tuple[int, int] | None
    #: The channel's own fault once the run made this many requests.
    own_fault_after: int | None

    @classmethod
    def draw(cls, rng: random.Random, channel: Channel) -> Plan:
        how = rng.random()
        by_count = rng.randint(1, channel.kill_span) if how < 0.55 else None
        by_time = round(rng.uniform(0.05, 1.5), 3) if 0.55 <= how < 0.85 else None
        span = channel.kill_span
        during = (rng.randint(1, span), rng.randint(1, 2)) if rng.random() < 0.5 else None
        own = rng.randint(1, span) if channel.own_fault and rng.random() < 0.5 else None
        return cls(rng.randint(0, 2), by_count, by_time, during, own)


class Forker:
    """`tests/sync_forker.py` as a process: `orderhub sync` children started in milliseconds;
    the test kills a child by its pid, the forker reports how each ended."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(FORKER)], env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )  # fmt: skip
        self.started: list[int] = []
        self.codes: dict[int, int] = {}
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def start(self, log: Path) -> int:
        assert self.process.stdin is not None
        count = len(self.started)
        self.process.stdin.write(f"run {log}\n")
        self.process.stdin.flush()
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.started) > count, timeout=60)
            return self.started[-1]

    def kill(self, pid: int) -> int:
        """SIGKILL the child (unless it ended just before); how it ended."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"kill {pid}\n")
        self.process.stdin.flush()
        return self.wait(pid)

    def ended(self, pid: int) -> int | None:
        with self.changed:
            return self.codes.get(pid)

    def wait(self, pid: int) -> int:
        with self.changed:
            assert self.changed.wait_for(lambda: pid in self.codes, timeout=60), pid
            return self.codes[pid]

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=60)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            word, pid, *code = line.split()
            with self.changed:
                if word == "started":
                    self.started.append(int(pid))
                elif word == "ended":
                    self.codes[int(pid)] = int(code[0])
                self.changed.notify_all()


@dataclass
class Chaos:
    """One channel's sandbox under chaos and the `orderhub sync` runs against it."""

    channel: Channel
    state: Any
    base_url: str
    env: dict[str, str]
    seed: int
    forker: Forker
    logs: Path
    log: list[str] = field(default_factory=list)

    def context(self) -> str:
        """What a failure prints: the seed and the last rounds."""
        return f"seed {self.seed} ({self.channel.type}); last rounds:\n" + "\n".join(self.log[-8:])

    def life(self, steps: int) -> None:
        """Order life through the sandbox's control endpoint (never faulted)."""
        if steps:
            answer = httpx.post(f"{self.base_url}/_sandbox/life", params={"steps": steps})
            assert answer.status_code == 200, answer.text

    def clear_faults(self) -> None:
        answer = httpx.delete(f"{self.base_url}/_sandbox/faults")
        assert answer.status_code == 200 and answer.json()["active"] is False, answer.text

    def round(self, number: int, plan: Plan) -> str:
        """Run one `orderhub sync` as the plan says; how it ended ("killed", "ok", "exit 1")."""
        self.life(plan.life_before)
        log = self.logs / f"round-{number}.log"
        start, begun = self.state.request_count, time.monotonic()
        pid = self.forker.start(log)
        pending = {"life": plan.life_during, "own": plan.own_fault_after}
        while (code := self.forker.ended(pid)) is None:
            made, elapsed = self.state.request_count - start, time.monotonic() - begun
            self._meanwhile(pending, made)
            if _due(plan, made, elapsed):
                code = self.forker.kill(pid)
                break
            time.sleep(TICK)
        ended = {0: "ok", -signal.SIGKILL: "killed"}.get(code, f"exit {code}")
        made, took = self.state.request_count - start, time.monotonic() - begun
        output = log.read_text(errors="replace")
        why = "" if code != 1 else f" ({' '.join(output.split())[-300:]})"
        self.log.append(
            f"round {number}: {plan} -> {ended} after {made} requests, {took:.1f} s{why}"
        )
        assert code in (0, 1, -signal.SIGKILL), f"{self.context()}\n{output[-3000:]}"
        assert "Traceback" not in output, f"{self.context()}\n{output[-3000:]}"
        return ended

    def _meanwhile(self, pending: dict[str, Any], made: int) -> None:
        """Order life and the channel's own fault, once the run has made enough requests."""
        life = pending["life"]
        if life is not None and made >= life[0]:
            pending["life"] = None
            self.life(life[1])
        own = pending["own"]
        if own is not None and made >= own and self.channel.own_fault is not None:
            pending["own"] = None
            self.channel.own_fault(self.state)


def _due(plan: Plan, made: int, elapsed: float) -> bool:
    if plan.kill_after_requests is not None and made >= plan.kill_after_requests:
        return True
    if plan.kill_after_seconds is not None and elapsed >= plan.kill_after_seconds:
        return True
    return elapsed >= LONGEST_RUN


def environment(channel: Channel, base_url: str, database_url: str, tmp: Path) -> dict[str, str]:
    config = tmp / "orderhub.toml"
    credentials = "".join(f'{key} = "{var}"\n' for key, (var, _) in channel.credentials.items())
    config.write_text(
        "[[channels]]\n"
        f'name = "{channel.name}"\ntype = "{channel.type}"\n'
        f'base_url = "{base_url}{channel.prefix}"\n'
        + credentials
        + ACCOUNT.format(page_size=channel.page_size)
    )
    values = {var: value for var, value in channel.credentials.values()}
    return (
        os.environ
        | values
        | {
            "ORDERHUB_DATABASE_URL": database_url,
            "ORDERHUB_CONFIG_FILE": str(config),
        }
    )


def run_chaos(
    channel: Channel, engine: Engine, database_url: str, tmp: Path, rounds: int, seed: int
) -> Chaos:
    """`rounds` rounds of chaos, then a clean sync; the store checked against the sandbox."""
    rng = random.Random(seed)
    faults = ",".join(f"{key}={value}" for key, value in (FAULTS | {"seed": seed}).items())
    options = {"orders": channel.orders, "seed": seed % 1000, "faults": faults}
    with served(channel.create_app, **options) as (app, base_url):
        env = environment(channel, base_url, database_url, tmp)
        forker = Forker(env)
        chaos = Chaos(channel, app.state.sandbox, base_url, env, seed, forker, tmp)
        try:
            for number in range(1, rounds + 1):
                chaos.round(number, Plan.draw(rng, channel))
                assert_no_duplicates(engine, channel, chaos)
        finally:
            forker.close()
        chaos.clear_faults()
        chaos.life(rng.randint(1, 3))
        # The last run is the console script itself, from the interpreter's start.
        clean = subprocess.run([ORDERHUB, "sync"], env=env, capture_output=True, timeout=300)
        assert clean.returncode == 0, f"{chaos.context()}\n{clean.stderr.decode()[-3000:]}"
        assert_store_is_the_sandbox(engine, channel, chaos)
        return chaos


def assert_no_duplicates(engine: Engine, channel: Channel, chaos: Chaos) -> None:
    """No (channel, external_id) is stored twice (counted in SQL, not through the codec)."""
    query = (
        select(orders.c.external_id, func.count())
        .where(orders.c.channel == channel.name)
        .group_by(orders.c.external_id)
        .having(func.count() > 1)
    )
    with engine.connect() as conn:
        twice = conn.execute(query).all()
    assert twice == [], f"{chaos.context()}\nstored twice: {twice[:5]}"


def assert_store_is_the_sandbox(engine: Engine, channel: Channel, chaos: Chaos) -> None:
    """Every sandbox order stored once (none lost, none extra), each at the sandbox's latest
    state as the oracle reads its raw payload (none stale), and nothing left in quarantine."""
    payloads = {channel.external_id(p): p for p in chaos.state.orders_json()}
    hub = stored_orders(engine, channel.name)
    lost, extra = sorted(payloads.keys() - hub.keys()), sorted(hub.keys() - payloads.keys())
    assert not lost and not extra, f"{chaos.context()}\nlost {lost[:5]}, extra {extra[:5]}"
    stale = [
        line
        for key, payload in sorted(payloads.items())
        for line in channel.differences(hub[key], payload, channel.name)
    ]
    assert stale == [], f"{chaos.context()}\n{len(stale)} stale fields:\n" + "\n".join(stale[:10])
    with engine.connect() as conn:
        held, total = SyncRepository(conn).quarantined(channel.name, 0, 5)
        last = SyncRepository(conn).last_runs()[channel.name]
    assert total == 0, (
        f"{chaos.context()}\nquarantined: {[(r.external_id, r.reason) for r in held]}"
    )
    assert last.status == "ok", f"{chaos.context()}\nlast run: {last}"
