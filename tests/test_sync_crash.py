"""Crash safety: `orderhub sync` killed with SIGKILL at random points, then left to finish.

Marked slow (~40 s per database: each of the 12+ runs is a fresh `orderhub` process).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from orderhub.store import SyncRepository
from sync_support import (
    CHANNEL,
    Sandbox,
    assert_same_orders,
    hub_orders,
    mall_sandbox,
    sync_killed_after,
)

KILLS = 12


@pytest.mark.slow
def test_sigkill_at_random_points_loses_and_duplicates_nothing(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    rng = random.Random(20261123)
    with mall_sandbox(orders=1500, seed=9) as sandbox:
        env = _environment(sandbox, database_url, tmp_path)
        killed = 0
        while killed < KILLS:
            if _run_until(env, sandbox, after_requests=rng.randint(1, 25)):
                break  # the sync finished before the kill point: nothing left to interrupt
            killed += 1
            _assert_cursor_covers_what_is_stored(engine, sandbox)
        assert killed >= 10, f"only {killed} kills landed before the sync finished"
        finished = subprocess.run(_command(), env=env, capture_output=True, timeout=120)
        assert finished.returncode == 0, finished.stdout.decode() + finished.stderr.decode()
        assert_same_orders(engine, sandbox)
        assert all(p["confirmed"] for p in sandbox.state.orders_json())
        with engine.connect() as conn:
            state = SyncRepository(conn).state(CHANNEL)
            last = SyncRepository(conn).last_runs()[CHANNEL]
        assert state is not None and state.cursor is not None and state.cursor["full"] is None
        assert last.status == "ok"


def _run_until(env: dict[str, str], sandbox: Sandbox, after_requests: int) -> bool:
    """Start a sync and SIGKILL it after `after_requests` more sandbox requests; True when it
    finished first."""
    return sync_killed_after(_command(), env, sandbox.state, after_requests)


def _assert_cursor_covers_what_is_stored(engine: Engine, sandbox: Sandbox) -> None:
    """The committed cursor never runs ahead of the committed orders."""
    with engine.connect() as conn:
        state = SyncRepository(conn).state(CHANNEL)
    if state is None or state.cursor is None:
        return
    stored = hub_orders(engine).keys()
    payloads = sandbox.state.orders_json()
    full = state.cursor["full"]
    listed_done = full is None or full["phase"] != "listed"
    listed_upto = float("inf") if listed_done else full["after_id"]
    blocked_upto = 0 if not listed_done else (full or {}).get("after_id", float("inf"))
    if full is None:
        blocked_upto = float("inf")
    for p in payloads:
        limit = blocked_upto if p["status"] == "blocked" else listed_upto
        if p["id"] <= limit:
            assert str(p["id"]) in stored, f"cursor passed order {p['id']}, not stored"


def _environment(sandbox: Sandbox, database_url: str, tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "orderhub.toml"
    config.write_text(
        "[[channels]]\n"
        f'name = "{CHANNEL}"\ntype = "mall"\nbase_url = "{sandbox.base_url}/v1"\n'
        'client_id_env = "MALL_CZ_CLIENT_ID"\npage_size = 50\n'
    )
    return os.environ | {
        "ORDERHUB_DATABASE_URL": database_url,
        "ORDERHUB_CONFIG_FILE": str(config),
        "MALL_CZ_CLIENT_ID": "sandbox",
    }


def _command() -> list[str]:
    return [sys.executable, "-c", "from orderhub.cli import main; main()", "sync"]
