"""Sync chaos across the four channels (issue 15): every fault the sandboxes inject, at high
rates, orders changing between and during the runs, and `orderhub sync` processes SIGKILLed at
random points; then one clean sync, and the store must hold every sandbox order exactly once,
at its latest state, as the hand-written oracle reads the sandbox's raw payload.

How it works, the faults and the sizes: tests/chaos_support.py and docs/testing.md ("Sync
chaos"). By default each channel runs on one database (MALL and Dexero on PostgreSQL, CS-Cart
and CDON on SQLite), to stay within CI's time; `ORDERHUB_CHAOS_DATABASES=both` runs every
channel on both, `ORDERHUB_CHAOS_ROUNDS=500 ORDERHUB_CHAOS_SEED=7` longer and on another seed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import Engine

from chaos_support import CHANNELS, chaos_rounds, chaos_seed, run_chaos

#: Each channel's default seed (its rounds and the sandbox's orders and fault draws).
SEEDS = {"mall": 20261207, "cscart": 20261208, "dexero": 20261209, "cdon": 20261210}
#: The database each channel runs on unless ORDERHUB_CHAOS_DATABASES=both.
DATABASE = {"mall": "postgresql", "cscart": "sqlite", "dexero": "postgresql", "cdon": "sqlite"}


def _cases() -> list[tuple[str, str]]:
    if os.environ.get("ORDERHUB_CHAOS_DATABASES") == "both":
        return [(kind, db) for kind in CHANNELS for db in ("sqlite", "postgresql")]
    return list(DATABASE.items())


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "database_url"), _cases(), indirect=["database_url"])
def test_chaos_loses_duplicates_and_leaves_stale_nothing(
    kind: str, engine: Engine, database_url: str, tmp_path: Path
) -> None:
    channel = CHANNELS[kind]
    rounds = chaos_rounds()
    chaos = run_chaos(channel, engine, database_url, tmp_path, rounds, chaos_seed(SEEDS[kind]))
    print("\n".join(chaos.log))
    endings = [line.rsplit("-> ", 1)[1].split()[0] for line in chaos.log]
    # The chaos happened: a good part of the runs were killed, and the sandbox injected every
    # fault kind.
    assert endings.count("killed") >= rounds // 3, chaos.context()
    injected = {record.fault for record in chaos.state.fault_log}
    assert injected >= {"429", "500", "502", "503", "504", "truncate", "reset"}, injected
