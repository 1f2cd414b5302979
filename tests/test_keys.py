"""API keys: creation (only a hash stored), revocation, 401 / 403 on /v1, the CLI."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from typer.testing import CliRunner

from helpers import api_key, auth_header, make_order, store
from orderhub.api.app import create_app
from orderhub.api.auth import ADMIN, READ, WRITE, require
from orderhub.cli.main import app as cli
from orderhub.domain import Conflict, InvalidInput, ManualClock
from orderhub.services import keys as service
from orderhub.services.keys import ApiKey, KeyNotFound
from orderhub.settings import get_settings
from orderhub.store.keys import api_keys

REALM = 'Bearer realm="orderhub"'


def test_a_new_key_is_stored_only_as_its_hash(engine: Engine) -> None:
    new = service.create_key(engine, "shop", (READ, WRITE), 500)
    assert new.token.startswith("ohk_")
    with engine.connect() as conn:
        row = conn.execute(select(api_keys)).one()._mapping
    assert row["hash"] == hashlib.sha256(new.token.encode()).hexdigest()
    assert not any(new.token in str(value) for value in row.values())
    assert new.token.split("_")[1] == row["prefix"]
    assert (row["name"], row["scopes"], row["daily_limit"]) == ("shop", f"{READ},{WRITE}", 500)
    assert row["created_at"].tzinfo is not None


def test_two_keys_each_authenticate_as_themselves(engine: Engine) -> None:
    one = service.create_key(engine, "one", (READ,))
    two = service.create_key(engine, "two", (WRITE,))
    assert service.admit(engine, one.token).key.name == "one"
    assert service.admit(engine, two.token).key.name == "two"
    with engine.connect() as conn:
        rows = {r.name: r for r in conn.execute(select(api_keys))}
    assert rows["one"].hash == hashlib.sha256(one.token.encode()).hexdigest()
    assert rows["two"].hash == hashlib.sha256(two.token.encode()).hexdigest()
    assert rows["one"].prefix != rows["two"].prefix  # the public ids that find them differ
    # One key's secret with the other's public id is no key at all.
    one_id, two_id = one.token.split("_")[1], two.token.split("_")[1]
    with pytest.raises(service.InvalidApiKey):
        service.admit(engine, one.token.replace(one_id, two_id))


def test_a_taken_name_is_a_conflict_unless_replaced(engine: Engine) -> None:
    first = service.create_key(engine, "ci", (READ,))
    with pytest.raises(Conflict):
        service.create_key(engine, "ci", (ADMIN,))
    second = service.create_key(engine, "ci", (ADMIN,), replace=True)
    with pytest.raises(service.InvalidApiKey):
        service.admit(engine, first.token)
    assert service.admit(engine, second.token).key.scopes == {ADMIN}
    assert [row.key.name for row in service.list_keys(engine)] == ["ci"]


@pytest.mark.parametrize(
    ("name", "scopes", "limit", "parameter"),
    [
        ("", (READ,), None, "name"),
        ("has space", (READ,), None, "name"),
        ("x" * 65, (READ,), None, "name"),
        ("ok", (), None, "scopes"),
        ("ok", ("orders:delete",), None, "scopes"),
        ("ok", (READ,), 0, "daily_limit"),
        ("ok", (READ,), -5, "daily_limit"),
    ],
)
def test_bad_key_settings_are_refused_and_nothing_is_stored(
    engine: Engine, name: str, scopes: tuple[str, ...], limit: int | None, parameter: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        service.create_key(engine, name, scopes, limit)
    assert refused.value.parameter == parameter
    assert service.list_keys(engine) == []


def test_parse_scopes() -> None:
    assert service.parse_scopes(" orders:read, admin,orders:read ") == (READ, ADMIN)
    for bad in ("", ",", "orders:read,root"):
        with pytest.raises(InvalidInput):
            service.parse_scopes(bad)


def test_revoke(engine: Engine) -> None:
    new = service.create_key(engine, "old", (READ,))
    assert service.revoke_key(engine, "old") is True
    assert service.revoke_key(engine, "old") is False
    with pytest.raises(KeyNotFound):
        service.revoke_key(engine, "never")
    (listed,) = service.list_keys(engine)
    assert listed.key.revoked_at is not None
    with pytest.raises(service.InvalidApiKey, match="revoked"):
        service.admit(engine, new.token)


# --- over HTTP -----------------------------------------------------------------------------


@pytest.fixture
def http(engine: Engine) -> TestClient:
    """A client sending no key by default."""
    store(engine, [make_order("1")])
    return TestClient(create_app(engine))


def test_healthz_and_the_docs_need_no_key(http: TestClient) -> None:
    assert http.get("/healthz").status_code == 200
    assert http.get("/openapi.json").status_code == 200


@pytest.mark.parametrize(
    "path", ["/v1/orders", "/v1/orders/1", "/v1/orders/unconfirmed", "/v1/orders.xml", "/v1/x"]
)
def test_no_key_is_a_401_with_a_bearer_challenge(http: TestClient, path: str) -> None:
    response = http.get(path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == REALM
    assert response.headers["content-type"].startswith("application/problem+")
    assert "ratelimit" not in response.headers


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer ",
        "ohk_0123456789ab_secret",
    ],
)
def test_no_bearer_token_is_a_401_without_an_error_code(
    http: TestClient, authorization: str
) -> None:
    response = http.get("/v1/orders", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == REALM
    assert response.json()["status"] == 401


@pytest.mark.parametrize(
    "token",
    ["nonsense", "ohk_", "ohk_zz_secret", "ohk_0123456789ab_wrong", "ohk_0123456789ab"],
)
def test_a_wrong_key_is_a_401_invalid_token(http: TestClient, engine: Engine, token: str) -> None:
    api_key(engine)  # a real key exists; these are not it
    response = http.get("/v1/orders", headers=auth_header(token))
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith(REALM + ", ") and 'error="invalid_token"' in challenge
    assert response.json()["type"].endswith("/invalidapikey")


def test_a_key_with_a_changed_secret_is_refused(http: TestClient, engine: Engine) -> None:
    key = api_key(engine)
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    assert http.get("/v1/orders", headers=auth_header(forged)).status_code == 401
    assert http.get("/v1/orders", headers=auth_header(key)).status_code == 200


def test_a_revoked_key_is_refused_at_once(http: TestClient, engine: Engine) -> None:
    key = service.create_key(engine, "gone", (READ,)).token
    assert http.get("/v1/orders/1", headers=auth_header(key)).status_code == 200
    service.revoke_key(engine, "gone")
    response = http.get("/v1/orders/1", headers=auth_header(key))
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_a_key_revoked_by_another_process_is_refused_within_a_second(engine: Engine) -> None:
    """docs/keys-and-quotas.md: a server trusts an unlimited key it checked for one second."""
    clock = ManualClock(datetime(2026, 3, 1, 12, tzinfo=UTC))
    http = TestClient(create_app(engine, clock=clock))
    key = service.create_key(engine, "elsewhere", (READ,)).token
    assert http.get("/v1/orders", headers=auth_header(key)).status_code == 200
    with engine.begin() as conn:  # as `orderhub keys revoke` in another process does
        conn.execute(update(api_keys).values(revoked_at=clock.now()))
    clock.advance(0.5)
    assert http.get("/v1/orders", headers=auth_header(key)).status_code == 200  # trusted still
    clock.advance(0.5)
    response = http.get("/v1/orders", headers=auth_header(key))
    assert response.status_code == 401 and "revoked" in response.json()["detail"]


@pytest.mark.parametrize(
    ("scopes", "expected"),
    [(READ, 200), (ADMIN, 200), (f"{READ},{WRITE}", 200), (WRITE, 403)],
)
def test_reading_orders_needs_orders_read(
    http: TestClient, engine: Engine, scopes: str, expected: int
) -> None:
    headers = auth_header(api_key(engine, scopes))
    for path in ("/v1/orders", "/v1/orders/1", "/v1/orders/unconfirmed", "/v1/orders/1.xml"):
        assert http.get(path, headers=headers).status_code == expected, path


def test_a_403_is_a_problem_naming_the_missing_scope(http: TestClient, engine: Engine) -> None:
    response = http.get("/v1/orders.xml", headers=auth_header(api_key(engine, WRITE)))
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+xml")
    assert "orders:read" in response.text
    json_response = http.get("/v1/orders", headers=auth_header(api_key(engine, WRITE)))
    assert json_response.json()["type"].endswith("/missingscope")


def _app_with_routes(engine: Engine) -> FastAPI:
    """The real app plus routes declared the ways other modules declare theirs."""
    app = create_app(engine)

    @app.put("/v1/things/{number}", dependencies=[require(WRITE)])
    def write_thing(number: int) -> dict[str, int]:
        return {"number": number}

    @app.get("/v1/whoami")
    def whoami(key: ApiKey = require(READ)) -> dict[str, str]:
        return {"name": key.name}

    @app.post("/v1/undeclared")
    def undeclared() -> dict[str, bool]:
        return {"ran": True}

    return app


@pytest.mark.parametrize(
    ("scopes", "write", "whoami", "undeclared"),
    [
        (READ, 403, 200, 403),
        (WRITE, 200, 403, 403),
        (ADMIN, 200, 200, 200),
    ],
)
def test_routes_declare_their_scope_and_undeclared_ones_need_admin(
    engine: Engine, scopes: str, write: int, whoami: int, undeclared: int
) -> None:
    http = TestClient(_app_with_routes(engine), headers=auth_header(api_key(engine, scopes)))
    assert http.put("/v1/things/7").status_code == write
    assert http.get("/v1/whoami").status_code == whoami
    assert http.post("/v1/undeclared").status_code == undeclared


def test_a_route_can_receive_the_admitted_key(engine: Engine) -> None:
    token = service.create_key(engine, "me", (READ,)).token
    http = TestClient(_app_with_routes(engine), headers=auth_header(token))
    assert http.get("/v1/whoami").json() == {"name": "me"}


def test_bad_input_without_a_key_is_a_401_not_a_400(http: TestClient) -> None:
    assert http.get("/v1/orders?total=gt:abc").status_code == 401


def test_require_refuses_unknown_scopes() -> None:
    with pytest.raises(ValueError, match="scopes"):
        require("orders:delete")


def test_openapi_documents_the_bearer_scheme(http: TestClient) -> None:
    document = http.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    assert document["paths"]["/v1/orders"]["get"]["security"] == [{"ApiKey": []}]


# --- the command line ----------------------------------------------------------------------


@pytest.fixture
def cli_database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("ORDERHUB_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield database_url
    get_settings.cache_clear()


def test_cli_create_list_revoke(cli_database: str, engine: Engine) -> None:
    runner = CliRunner()
    created = runner.invoke(
        cli, ["keys", "create", "--name", "ci", "--scopes", "orders:read", "--daily-limit", "9"]
    )
    assert created.exit_code == 0, created.output
    key = created.output.strip().splitlines()[-1]
    assert key.startswith("ohk_") and " " not in key
    http = TestClient(create_app(engine), headers=auth_header(key))
    assert http.get("/v1/orders").status_code == 200

    listed = runner.invoke(cli, ["keys", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert '"name": "ci"' in listed.output and '"used_today": 1' in listed.output
    assert key not in listed.output

    assert runner.invoke(cli, ["keys", "revoke", "ci"]).exit_code == 0
    assert http.get("/v1/orders").status_code == 401
    assert runner.invoke(cli, ["keys", "revoke", "missing"]).exit_code == 1


@pytest.mark.parametrize(
    "arguments",
    [
        ["--name", "x", "--scopes", "root"],
        ["--name", "x y", "--scopes", "admin"],
        ["--name", "x", "--scopes", "admin", "--daily-limit", "0"],
    ],
)
def test_cli_refuses_bad_settings(cli_database: str, engine: Engine, arguments: list[str]) -> None:
    result = CliRunner().invoke(cli, ["keys", "create", *arguments])
    assert result.exit_code == 2
    assert "error" in result.output
    assert service.list_keys(engine) == []
