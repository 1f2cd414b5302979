"""A hypothesis state machine drives PUT /v1/orders/{id} against a plain-Python model.

The model is this file's reading of docs/writes-and-mail.md (ETags, If-Match, what a change
records), docs/push-back.md (which changes queue a `push` row, Dexero's `unsupported`), the
webhook fan-out of docs/webhooks.md (one `order.updated` row per change, one more
`order.status_changed` when the status moved) and the merchant transition table of design
section 3 and docs/channels-mall.md, written out below by hand: nothing is imported from
`orderhub.domain.status`. After every step each order is read back over HTTP and the outbox
from the database; any difference from the model is a divergence (the test fails).

Bounded: a fixed number of examples and steps (settings below), derandomized by the `ci`
profile of tests/conftest.py, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, select

from helpers import api_key, auth_header, make_order, store
from orderhub.api.app import create_app
from orderhub.domain import ChannelType, Status
from orderhub.store.outbox import outbox
from orderhub.store.tables import orders
from webhook_support import ALL_TYPES, allow_private  # noqa: F401

pytestmark = pytest.mark.usefixtures("allow_private")

#: The merchant transition table, by hand (design section 3 for MALL's part; the rest as
#: docs/writes-and-mail.md and docs/shipments.md describe it). partially_shipped is reached
#: by shipping lines only: a PUT asking for it is a 400.
ALLOWED: dict[str, set[str]] = {
    "pending": {"cancelled"},
    "open": {"shipping", "partially_shipped", "shipped", "cancelled", "backordered"},
    "backordered": {"open", "shipping", "partially_shipped", "shipped", "cancelled"},
    "shipping": {"partially_shipped", "shipped", "cancelled"},
    "partially_shipped": {"shipped", "returning", "returned"},
    "shipped": {"delivered", "returning", "returned", "lost"},
    "delivered": {"returning", "returned"},
    "returning": {"returned"},
    "returned": set(),
    "cancelled": set(),
    "failed": set(),
    "lost": set(),
}
STATUSES = sorted(ALLOWED)
#: What an order must hold to be in a status (docs/writes-and-mail.md "Requirements").
REQUIRED = {"shipped": ("tracking_number", "tracking_url"), "delivered": ("delivered_at",)}
PLACED = datetime(2024, 1, 10, 8, 30, tzinfo=UTC)
#: delivered_at values as the body spells them -> the instant the order then holds.
DELIVERED_AT = {
    "2024-05-01T14:30:00Z": "2024-05-01T14:30:00Z",
    "2024-05-01T16:30:00+02:00": "2024-05-01T14:30:00Z",  # the same instant
    "2024-05-02 09:00:00": "2024-05-02T09:00:00Z",  # MALL's spelling, UTC
}
TRACKING = ["Z-1", "Z.2_b", "TRK0003"]
URLS = ["https://track.example/1", "http://t.example/2"]
EDITABLE = ("status", "confirmed", "tracking_number", "tracking_url", "carrier",
            "delivered_at", "vendor_ref")  # fmt: skip


@dataclass
class Model:
    """What the hub should hold for one order, and what its outbox should hold."""

    id: int
    channel_type: str
    email: str | None
    version: int
    fields: dict[str, Any]
    push_status: str | None = None
    outbox: Counter[str] = field(default_factory=Counter)
    history: int = 0


bodies = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(STATUSES),
        "confirmed": st.sampled_from([True, False, "1", "0", 1, 0]),
        "tracking_number": st.sampled_from([*TRACKING, None]),
        "tracking_url": st.sampled_from([*URLS, None]),
        "carrier": st.sampled_from(["PPL", "DHL", None]),
        "delivered_at": st.sampled_from([*DELIVERED_AT, None]),
        "vendor_ref": st.sampled_from(["REF-1", "REF-2", None]),
        "notify_user": st.sampled_from([True, False, "1", 0]),
    },
)
#: How the request's If-Match relates to the order's version.
PRECONDITIONS = st.sampled_from(["none", "current", "stale", "star", "list", "weak"])


def _truth(value: Any) -> bool:
    return value in (True, 1, "1", "true")


def expected_answer(model: Model, body: dict[str, Any], precondition: str) -> tuple[int, dict]:
    """The status code the docs promise, and the order's fields after the request."""
    if not set(body) - {"notify_user"} or body.get("status") == "partially_shipped":
        return 400, model.fields
    if precondition in ("stale", "weak"):
        return 412, model.fields
    now = model.fields
    wanted = body.get("status", now["status"])
    if wanted != now["status"] and wanted not in ALLOWED[now["status"]]:
        return 409, now
    after = dict(now)
    for name in EDITABLE:
        if name in body:
            value = body[name]
            if name == "confirmed":
                value = _truth(value)
            elif name == "delivered_at" and value is not None:
                value = DELIVERED_AT[value]
            after[name] = value
    if any(after[need] is None for need in REQUIRED.get(after["status"], ())):
        return 400, now
    return 200, after


def expected_rows(model: Model, before: dict, after: dict, notify: bool) -> Counter[str]:
    """The outbox rows one change queues (docs/webhooks.md, push-back.md, writes-and-mail.md)."""
    changed = {name for name in EDITABLE if before[name] != after[name]}
    rows: Counter[str] = Counter({"webhook": 1})  # order.updated
    status_moved = "status" in changed
    if status_moved:
        rows["webhook"] += 1  # order.status_changed
    if _pushable(changed, after) and model.channel_type != "dexero":
        rows["push"] += 1
    hub_mails = model.channel_type != "cscart" and model.email is not None
    if notify and status_moved and hub_mails:
        rows["mail"] += 1
    return rows


def _pushable(changed: set[str], after: dict) -> bool:
    """docs/push-back.md: a status, `confirmed: true`, a `vendor_ref` set; tracking while the
    order ships or is shipped; `delivered_at` with `delivered`. Nothing for `confirmed: false`,
    removing `vendor_ref`, or what no channel call carries."""
    if "status" in changed:
        return True
    if "confirmed" in changed and after["confirmed"]:
        return True
    if "vendor_ref" in changed and after["vendor_ref"] is not None:
        return True
    tracking = {"tracking_number", "tracking_url", "carrier"} & changed
    return bool(tracking) and after["status"] == "shipped"


class OrdersMachine(RuleBasedStateMachine):
    """Orders of three channels, changed by PUTs with every kind of If-Match."""

    http: ClassVar[TestClient]
    engine: ClassVar[Engine]
    serial: ClassVar[itertools.count[int]] = itertools.count(1)
    #: Answers and outbox topics over the whole run: the run must have reached each kind.
    seen: ClassVar[Counter[str]]

    handles = Bundle("orders")

    def __init__(self) -> None:
        super().__init__()
        self.models: dict[int, Model] = {}

    @initialize(
        target=handles,
        placed=st.lists(
            st.tuples(
                st.sampled_from(["mall", "cscart", "dexero"]),
                st.sampled_from(["open", "pending", "shipped", "backordered"]),
                st.booleans(),
                st.booleans(),
            ),
            min_size=1,
            max_size=3,
        ),
    )
    def place_orders(self, placed: list[tuple[str, str, bool, bool]]) -> Any:
        made = []
        for kind, status, confirmed, has_email in placed:
            external_id = f"sm-{next(self.serial)}"
            tracking = {"tracking_number": "CH-1", "tracking_url": URLS[0]}
            made.append(
                make_order(
                    external_id,
                    channel=f"{kind}-x",
                    channel_type=ChannelType(kind),
                    status=Status(status),
                    confirmed=confirmed,
                    email="jana@example.cz" if has_email else None,
                    **(tracking if status == "shipped" else {}),
                )
            )
        store(self.engine, made)
        ids = []
        for order in made:
            with self.engine.connect() as conn:
                (hub_id,) = conn.execute(
                    select(orders.c.id).where(orders.c.external_id == order.external_id)
                ).one()
            document = self.http.get(f"/v1/orders/{hub_id}").json()
            model = Model(
                id=document["id"],
                channel_type=order.channel_type.value,
                email=order.email,
                version=_version(self.http.get(f"/v1/orders/{document['id']}").headers["etag"]),
                fields={name: document[name] for name in EDITABLE},
            )
            # The channel's own values, by hand from what was placed (not from the answer).
            assert model.fields["status"] == order.status.value
            assert model.fields["confirmed"] is order.confirmed
            self.models[model.id] = model
            ids.append(model.id)
        return multiple(*ids)

    @rule(order_id=handles, body=bodies, precondition=PRECONDITIONS)
    def put(self, order_id: int, body: dict[str, Any], precondition: str) -> None:
        self._put(self.models[order_id], body, precondition)

    def _put(self, model: Model, body: dict[str, Any], precondition: str) -> None:
        headers = _if_match(model.version, precondition)
        answer = self.http.put(f"/v1/orders/{model.id}", json=body, headers=headers)
        code, after = expected_answer(model, body, precondition)
        event(f"PUT answered {answer.status_code}")
        self.seen[str(answer.status_code)] += 1
        assert answer.status_code == code, (body, precondition, model.fields, answer.text)
        if code != 200:
            return
        before = model.fields
        changed = [name for name in EDITABLE if before[name] != after[name]]
        if changed:
            notify = _truth(body.get("notify_user", False))
            rows = expected_rows(model, before, after, notify)
            model.outbox += rows
            if rows["push"]:
                model.push_status = "pending"
            elif model.channel_type == "dexero" and _pushable(set(changed), after):
                model.push_status = "unsupported"
            model.version += 1
            event(f"outbox rows queued: {sorted(rows.elements())}")
            self.seen.update(rows)
            model.history += len(changed)
        model.fields = after
        assert _version(answer.headers["etag"]) == model.version, (body, changed)

    @invariant()
    def hub_matches_the_model(self) -> None:
        for model in self.models.values():
            got = self.http.get(f"/v1/orders/{model.id}")
            assert got.status_code == 200
            assert _version(got.headers["etag"]) == model.version
            document = got.json()
            held = {name: document[name] for name in EDITABLE}
            assert held == model.fields
            assert document["push_status"] == model.push_status
        self._outbox_matches()
        self._unconfirmed_queue_matches()

    def _outbox_matches(self) -> None:
        ids = list(self.models)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(outbox.c.order_id, outbox.c.topic).where(outbox.c.order_id.in_(ids))
            ).all()
        held = {order_id: Counter[str]() for order_id in ids}
        for order_id, topic in rows:
            held[order_id][topic] += 1
        assert held == {order_id: +m.outbox for order_id, m in self.models.items()}

    def _unconfirmed_queue_matches(self) -> None:
        # Pending orders are listed only when a status filter asks (docs/query-language.md).
        every_status = {"status": "in:" + ",".join(STATUSES), "page_size": "1000"}
        queue = self.http.get("/v1/orders/unconfirmed", params=every_status).json()
        waiting = set(queue["data"]) & set(self.models)
        assert waiting == {i for i, m in self.models.items() if not m.fields["confirmed"]}

    def teardown(self) -> None:
        for model in self.models.values():
            history = self.http.get(f"/v1/orders/{model.id}/history").json()["history"]
            api = [entry for entry in history if entry["source"] == "api"]
            fields = [entry for entry in api if entry["field"] in EDITABLE]
            assert len(fields) == model.history, (model, api)


def _version(etag: str) -> int:
    assert etag.startswith('"') and etag.endswith('"'), etag
    return int(etag.strip('"'))


def _if_match(version: int, precondition: str) -> dict[str, str]:
    return {
        "none": {},
        "current": {"If-Match": f'"{version}"'},
        "stale": {"If-Match": f'"{version - 1}"'},
        "star": {"If-Match": "*"},
        "list": {"If-Match": f'"{version + 7}", "{version}"'},
        "weak": {"If-Match": f'W/"{version}"'},
    }[precondition]


def test_the_api_never_diverges_from_the_model(engine: Engine) -> None:
    http = TestClient(create_app(engine), headers=auth_header(api_key(engine)))
    answer = http.post(
        "/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "event_types": ALL_TYPES}
    )
    assert answer.status_code == 201, answer.text
    OrdersMachine.http = http
    OrdersMachine.engine = engine
    OrdersMachine.seen = Counter()
    run_state_machine_as_test(
        OrdersMachine,
        settings=settings(
            settings.default,
            max_examples=25,
            stateful_step_count=12,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    print(dict(OrdersMachine.seen))
    for kind in ("200", "400", "409", "412", "webhook", "push", "mail"):
        assert OrdersMachine.seen[kind] >= 3, (kind, OrdersMachine.seen)
