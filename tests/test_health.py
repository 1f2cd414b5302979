"""Liveness and readiness without a key: /readyz says whether the database is reachable and
migrated to the head revision, and why not (503, a problem naming the revisions)."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from orderhub.api.app import create_app
from orderhub.store import make_engine, upgrade
from orderhub.store.migrate import MIGRATIONS

#: The migration history as Alembic reads it from the files (not through the hub's code).
SCRIPTS = ScriptDirectory(str(MIGRATIONS))
HEAD = SCRIPTS.get_current_head()


def test_a_migrated_database_is_ready(engine: Engine) -> None:
    answer = TestClient(create_app(engine)).get("/readyz")  # no Authorization header
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "ready", "revision": HEAD}


def test_a_database_one_revision_behind_is_not_ready_and_says_what_to_run(tmp_path: Path) -> None:
    parents = SCRIPTS.get_revision(HEAD).down_revision
    # The head may be a merge revision: a database at any one of its parents is behind.
    previous = parents if isinstance(parents, str) else sorted(parents)[-1]
    engine = make_engine(f"sqlite:///{tmp_path / 'behind.db'}")
    upgrade(engine, previous)
    answer = TestClient(create_app(engine)).get("/readyz")
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["detail"] == (
        f"database not migrated: at revision {previous}, the code needs {HEAD}; "
        "run `orderhub db upgrade`"
    )
    assert (body["status"], body["head"]) == (503, HEAD)


def test_an_empty_database_is_not_ready(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    answer = TestClient(create_app(engine)).get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["detail"].startswith("database not migrated: empty (no revision)")


def test_an_unreachable_database_is_not_ready_and_the_password_stays_secret() -> None:
    url = "postgresql+psycopg://hub:s3cret-pw@127.0.0.1:1/orderhub"
    engine = make_engine(url, connect_args={"connect_timeout": 2})
    answer = TestClient(create_app(engine)).get("/readyz")
    assert answer.status_code == 503
    detail = answer.json()["detail"]
    assert detail.startswith("database unreachable (OperationalError)")
    assert "s3cret-pw" not in answer.text
    assert TestClient(create_app(engine)).get("/healthz").status_code == 200  # alive all the same
