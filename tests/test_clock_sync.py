"""A sync run stamps its times from the clock it is given."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from orderhub.domain import ManualClock
from orderhub.services.sync import sync_account
from orderhub.store import SyncRepository, UnitOfWork
from sync_support import mall_sandbox


def test_a_run_is_stamped_with_the_clocks_time(engine: Engine) -> None:
    at = datetime(2031, 7, 4, 9, 30, tzinfo=UTC)
    with mall_sandbox(orders=5, seed=41) as sandbox:
        result = sync_account(engine, sandbox.account(), clock=ManualClock(at))
    assert result.ok, result.error
    with UnitOfWork(engine) as uow:
        run = SyncRepository(uow.conn).run(result.run_id)
        state = SyncRepository(uow.conn).state(sandbox.account().name)
    assert run is not None and state is not None
    assert (run.started_at, run.finished_at) == (at, at)
    assert run.counts.seconds == 0  # the clock did not move while it ran
    assert (state.last_success_at, state.updated_at) == (at, at)
