"""Fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ORDERHUB_TEST_POSTGRES_URL (default: the local server, database `test`);
each test session creates its own database there and drops it at the end. When PostgreSQL
cannot be reached the PostgreSQL half is skipped and the summary says so plainly, unless
ORDERHUB_REQUIRE_POSTGRES=1 (as .ci/run sets), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import Phase, settings
from sqlalchemy import Engine, text

from orderhub.store import make_engine, upgrade
from orderhub.store.tables import metadata

PG_ADMIN_URL = os.environ.get(
    "ORDERHUB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_PG = os.environ.get("ORDERHUB_REQUIRE_POSTGRES") == "1"
#: The key sealing the secrets kept in the test databases (docs/secrets.md): PostgreSQL needs
#: one set (the processes the tests start inherit it); tests/test_secrets.py unsets it to check
#: SQLite's key file.
TEST_SECRET_KEY = "p8_hvPpiEu3fhCxUSELIuOYT0ONFV3w0ZtaV5rq3-Yw="
os.environ.setdefault("ORDERHUB_SECRET_KEYS", TEST_SECRET_KEY)

# Hypothesis profiles (docs/testing.md): `ci`, the default, draws the same examples on every run
# and keeps no example database, so a CI failure replays locally; `thorough` (set
# HYPOTHESIS_PROFILE=thorough) draws ten times as many, fresh ones on each run.
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile(
    "thorough", max_examples=1000, derandomize=False, deadline=None, print_blob=True
)
# `make mutation` runs the tests once per mutant: fewer examples, the same derandomized ones,
# and no shrinking (a mutant needs one failure, not the smallest).
settings.register_profile(
    "mutation",
    parent=settings.get_profile("ci"),
    max_examples=30,
    phases=(Phase.explicit, Phase.generate),
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _pg_reason() -> str | None:
    try:
        engine = make_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:  # any failure to connect means "no PostgreSQL here"
        return f"PostgreSQL unreachable at {PG_ADMIN_URL}: {type(exc).__name__}"
    return None


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (one per xdist worker)."""
    reason = _pg_reason()
    if reason is not None:
        if REQUIRE_PG:
            pytest.fail(reason + " (ORDERHUB_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)
    name = f"orderhub_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_engine(PG_ADMIN_URL).url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database URL: a SQLite file, or the session's PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'orderhub.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        return url
    url = request.getfixturevalue("pg_database")
    _truncate(url)
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _truncate(url: str) -> None:
    engine = make_engine(url)
    names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # Read the skip reports (not module state) so this also works under pytest-xdist.
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if "PostgreSQL unreachable" in str(getattr(report, "longrepr", ""))
    ]
    _report_postgresql_count(terminalreporter)
    if skipped:
        terminalreporter.write_sep("!", "PostgreSQL half SKIPPED", yellow=True, bold=True)
        terminalreporter.write_line(
            f"{len(skipped)} PostgreSQL tests were skipped: no PostgreSQL at {PG_ADMIN_URL}. "
            "Only the SQLite half ran. Start PostgreSQL (or set ORDERHUB_TEST_POSTGRES_URL)."
        )
    _report_schemathesis_cases(terminalreporter)


def _report_schemathesis_cases(terminalreporter: pytest.TerminalReporter) -> None:
    """CI's log shows how many cases schemathesis ran (tests/test_schemathesis.py records it;
    user properties travel with the reports, so this works under pytest-xdist too)."""
    cases = [
        value
        for outcome in ("passed", "failed")
        for report in terminalreporter.stats.get(outcome, [])
        for name, value in getattr(report, "user_properties", [])
        if name == "schemathesis_cases" and getattr(report, "when", "call") == "call"
    ]
    if cases:
        terminalreporter.write_sep("-", f"schemathesis ran {sum(cases)} cases")


def _report_postgresql_count(terminalreporter: pytest.TerminalReporter) -> None:
    """How many tests ran on PostgreSQL (a `postgresql` parameter in the test id), by outcome."""
    counts = {
        outcome: sum(
            1
            for report in terminalreporter.stats.get(outcome, [])
            if getattr(report, "when", "call") == "call"
            and "postgresql" in getattr(report, "nodeid", "").rpartition("[")[2]
        )
        for outcome in ("passed", "failed", "xfailed")
    }
    ran = counts["passed"] + counts["failed"] + counts["xfailed"]
    detail = ", ".join(f"{n} {outcome}" for outcome, n in counts.items() if n)
    terminalreporter.write_sep("-", f"PostgreSQL: {ran} tests ran ({detail or 'none'})")


@pytest.fixture(autouse=True)
def _answers_match_the_openapi(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every TestClient answer of every test is checked against the app's OpenAPI document
    (tests/openapi_conformance.py): the document describes what the API really does."""
    from starlette.testclient import TestClient

    from openapi_conformance import RouteRecorder, check_response

    init, request = TestClient.__init__, TestClient.request

    def recording(self: TestClient, app: Any, *args: Any, **kwargs: Any) -> None:
        init(self, RouteRecorder(app), *args, **kwargs)
        self.app = app  # tests see their own app; the transport calls the recorder

    def checked(self: TestClient, *args: Any, **kwargs: Any) -> Any:
        response = request(self, *args, **kwargs)
        check_response(self.app, response)
        return response

    monkeypatch.setattr(TestClient, "__init__", recording)
    monkeypatch.setattr(TestClient, "request", checked)
