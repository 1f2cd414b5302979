"""The overlap cases every connector must pass (docs/sync.md, "Overlap"), written once.

Each channel's test module (`test_sync_overlap_<channel>.py`) subclasses `OverlapCases` with a
`Channel`: how that channel spells an order's id, change timestamp and e-mail, and its cursor's
watermark, written from the channel's docs (docs/channels-*.md), not taken from the hub's codec.
New and changed orders are copies of the sandbox's own payloads with those fields changed, so
the cases work with any order generator. The expected values (the e-mail, the timestamp, how
many events) are the ones the test chose; the hub must store them, once.

After a first sync, the watermark W is a timestamp chosen later than every sandbox order (the
channel's own "now" in the clock skew case; an "anchor" order carries it); each case commits
orders around W at the sandbox (`SandboxState.put_order`) and runs the next incremental sync
over real HTTP.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, ClassVar

import pytest
from sqlalchemy import Engine

from orderhub.channels.base import Account, Connector, Cursor
from orderhub.services.sync import SyncResult, sync_account
from orderhub.store import SyncRepository, UnitOfWork
from sync_support import served, stored_orders

Payload = dict[str, Any]
#: The account's default overlap (Account.overlap), in seconds.
DEFAULT_OVERLAP = 60
SECOND = timedelta(seconds=1)


class Channel:
    """One channel as the overlap cases see it; each test module writes its own."""

    #: The account name (and so the hub's `channel` column).
    name: str
    #: The hub's clock may set the first watermark (MALL: when the channel's runs ahead).
    hub_clock: bool = False

    def create_app(self, **options: Any) -> Any:
        raise NotImplementedError

    def account(self, base_url: str, **overrides: Any) -> Account:
        raise NotImplementedError

    def connector(self, account: Account, hub_now: datetime | None) -> Connector | None:
        """The connector to sync with (None: the registry's), its clock at `hub_now` if given."""
        return None

    def id_of(self, payload: Payload) -> int:
        raise NotImplementedError

    def stamp_of(self, payload: Payload) -> datetime:
        """When the channel last changed the order: the field its incremental list filters on."""
        raise NotImplementedError

    def synced(self, payload: Payload) -> bool:
        """The account syncs this order at all (CDON: an account reads one country)."""
        return True

    def listed(self, payload: Payload) -> bool:
        """The order is one the cases may copy or change: read by the window `watermark` names."""
        raise NotImplementedError

    def changed(self, payload: Payload, at: datetime, email: str) -> Payload:
        """The order as the channel holds it after a change at `at` that set its e-mail."""
        raise NotImplementedError

    def renumbered(self, payload: Payload, order_id: int) -> Payload:
        """A copy of the order as another, new order with this id."""
        raise NotImplementedError

    def watermark(self, cursor: Cursor, payload: Payload) -> datetime:
        """The cursor's watermark for the window that reads `payload`."""
        raise NotImplementedError


@dataclass
class Hub:
    """One channel sandbox and the hub syncing it, after a first sync."""

    channel: Channel
    state: Any
    engine: Engine
    account: Account
    #: W, the watermark after the first sync: later than every order the sandbox started with.
    watermark: datetime
    #: A listed order to copy new orders from.
    template: Payload
    hub_now: datetime | None
    _next_id: int

    def sync(self, **overrides: Any) -> SyncResult:
        account = replace(self.account, **overrides)
        connector = self.channel.connector(account, self.hub_now)
        result = sync_account(self.engine, account, connector=connector)
        assert result.ok, result.error
        return result

    def cursor(self) -> Cursor:
        with self.engine.connect() as conn:
            state = SyncRepository(conn).state(self.channel.name)
        assert state is not None and state.cursor
        return dict(state.cursor)

    def old_orders(self, count: int) -> list[Payload]:
        """Listed orders last changed long before the watermark (outside any overlap)."""
        limit = self.watermark - timedelta(hours=1)
        found = [p for p in self.state.orders_json()
                 if self.channel.listed(p) and self.channel.stamp_of(p) < limit]  # fmt: skip
        found = [p for p in found if self.channel.synced(p)]
        assert len(found) >= count, "the sandbox has too few old listed orders"
        return found[:count]

    def commit_new(self, at: datetime, email: str) -> str:
        """A new order, stamped `at`, committed at the channel now; its external id."""
        self._next_id += 1
        fresh = self.channel.renumbered(self.template, self._next_id)
        return self.commit(self.channel.changed(fresh, at, email))

    def commit_change(self, payload: Payload, at: datetime, email: str) -> str:
        return self.commit(self.channel.changed(payload, at, email))

    def commit(self, payload: Payload) -> str:
        return str(self.state.put_order(payload))

    def events(self) -> dict[str, Counter[str]]:
        """The event types recorded per stored order, by external id."""
        found: dict[str, Counter[str]] = {}
        with UnitOfWork(self.engine) as uow:
            for external_id, order in stored_orders(self.engine, self.channel.name).items():
                types = Counter(e["type"] for e in uow.events.for_order(order.id or 0))
                found[external_id] = types
        return found

    def email_history(self, external_id: str) -> list[Any]:
        """The values the order's e-mail was changed to, oldest first."""
        order = stored_orders(self.engine, self.channel.name)[external_id]
        with UnitOfWork(self.engine) as uow:
            history = uow.events.history(order.id or 0)
        return [change["new"] for change in history if change["field"] == "email"]

    def assert_once(
        self,
        before: dict[str, Counter[str]],
        created: dict[str, tuple[str, datetime]],
        changed: dict[str, tuple[str, datetime]],
    ) -> None:
        """Every sandbox order stored once; the created and changed ones (external id ->
        (e-mail, timestamp)) with the channel's values and exactly one event each: order.created
        for a new one, order.updated (one e-mail history entry) for a changed one; no other
        order has a new event. Another sync then changes nothing."""
        hub = stored_orders(self.engine, self.channel.name)  # fails on a duplicate row
        truth = [p for p in self.state.orders_json() if self.channel.synced(p)]
        assert sorted(hub) == sorted(str(self.channel.id_of(p)) for p in truth)
        for external_id, (email, at) in (created | changed).items():
            assert (hub[external_id].email, hub[external_id].updated_at) == (email, at)
        after = self.events()
        new_events = {k: after[k] - before.get(k, Counter()) for k in after}
        expected = {k: Counter({"order.created": 1}) for k in created}
        expected |= {k: Counter({"order.updated": 1}) for k in changed}
        assert {k: v for k, v in new_events.items() if v} == expected
        for external_id, (email, _) in changed.items():
            history = self.email_history(external_id)
            assert history[-1:] == [email] and history.count(email) == 1
        again = self.sync()
        assert (again.counts.orders_new, again.counts.orders_changed) == (0, 0)
        assert self.events() == after


class OverlapCases:
    """The cases; a subclass named Test<Channel>Overlap sets `channel`."""

    channel: ClassVar[Channel]
    ORDERS: ClassVar[int] = 30
    SEED: ClassVar[int] = 5

    @contextmanager
    def first_sync(
        self,
        engine: Engine,
        *,
        anchors: int = 1,
        hub_now: bool = True,
        skew: int = 0,
        **account: Any,
    ) -> Iterator[Hub]:
        """A sandbox (its clock `skew` seconds off the hub's from the start), `anchors` orders
        stamped W committed at it, and the hub's first sync (its clock at W if `hub_now`)."""
        channel = self.channel
        with served(channel.create_app, orders=self.ORDERS, seed=self.SEED) as (app, base_url):
            state = app.state.sandbox
            state.set_clock_skew(skew)
            payloads = state.orders_json()
            latest = max(channel.stamp_of(p) for p in payloads)
            watermark = (latest + timedelta(hours=2)).replace(microsecond=0)
            if skew:  # the channel's own (skewed) clock stamps the anchors: its "now"
                watermark = state.clock.now()
            template = next(p for p in payloads if channel.listed(p) and channel.synced(p))
            hub = Hub(
                channel,
                state,
                engine,
                channel.account(base_url, **account),
                watermark,
                copy.deepcopy(template),
                watermark if hub_now else None,
                max(channel.id_of(p) for p in payloads) + 1000,
            )
            for number in range(anchors):
                hub.commit_new(watermark, f"anchor-{number}@overlap.example")
            hub.sync()
            if hub_now or not channel.hub_clock:  # the cases' premise
                assert channel.watermark(hub.cursor(), template) == watermark
            yield hub

    # --- (a) a change inside the overlap window ------------------------------------------------

    def test_change_inside_the_overlap_is_read_once(self, engine: Engine) -> None:
        with self.first_sync(engine) as hub:
            before = hub.events()
            inside, at_mark = hub.old_orders(2)
            changed = {
                hub.commit_change(inside, hub.watermark - 20 * SECOND, "inside@overlap.example"):
                    ("inside@overlap.example", hub.watermark - 20 * SECOND),
                hub.commit_change(at_mark, hub.watermark, "at-mark@overlap.example"):
                    ("at-mark@overlap.example", hub.watermark),
            }  # fmt: skip
            result = hub.sync()
            assert (result.counts.orders_new, result.counts.orders_changed) == (0, 2)
            hub.assert_once(before, {}, changed)

    # --- (b) a late commit: stamped before the watermark, visible after the last run -----------

    def test_late_commit_within_the_overlap_is_read_once(self, engine: Engine) -> None:
        with self.first_sync(engine) as hub:
            before = hub.events()
            created = {}
            for lateness in (45, DEFAULT_OVERLAP):  # inside, and at the window's first second
                at, email = hub.watermark - lateness * SECOND, f"late-{lateness}@overlap.example"
                created[hub.commit_new(at, email)] = (email, at)
            result = hub.sync()
            assert (result.counts.orders_new, result.counts.orders_changed) == (2, 0)
            hub.assert_once(before, created, {})

    # --- (c) ties with the cursor's timestamp, and page boundaries inside a tie ----------------

    def test_orders_sharing_a_timestamp_are_read_once_across_pages(self, engine: Engine) -> None:
        # Page size 3; 4 anchors at W: the first sync's pages end inside that tie.
        with self.first_sync(engine, anchors=4, page_size=3) as hub:
            before = hub.events()
            # One more at W (the tie with the cursor), five at W+10, one at W+20. Read by 3
            # from W - overlap: A A A | (from W) A A A, A N W+10 | (from W+10) 3 at W+10, whole
            # (so page 2 of W+10), 2 at W+10 and W+20 | (from W+20) W+20.
            seconds = [0, 10, 10, 10, 10, 10, 20]
            created = {}
            for number, offset in enumerate(seconds):
                moment, email = hub.watermark + offset * SECOND, f"tie-{number}@overlap.example"
                created[hub.commit_new(moment, email)] = (email, moment)
            result = hub.sync()
            assert (result.counts.orders_new, result.counts.orders_changed) == (7, 0)
            hub.assert_once(before, created, {})

    # --- (d) the channel's clock is skewed against the hub's -----------------------------------

    @pytest.mark.parametrize(
        "skew", [-30, 30, -600], ids=["channel-behind", "channel-ahead", "channel-far-behind"]
    )
    def test_change_under_clock_skew_is_read_once(self, engine: Engine, skew: int) -> None:
        # The hub syncs with its own clock; the channel's runs `skew` seconds off it (10 min
        # behind: more than the overlap) and stamps the newest order and the change.
        with self.first_sync(engine, hub_now=False, skew=skew) as hub:
            before = hub.events()
            (order,) = hub.old_orders(1)
            at = hub.state.clock.now()
            external_id = hub.commit_change(order, at, "skewed@overlap.example")
            result = hub.sync()
            assert (result.counts.orders_new, result.counts.orders_changed) == (0, 1)
            hub.assert_once(before, {}, {external_id: ("skewed@overlap.example", at)})

    # --- a second change stamped in the same second as the one already read ------------------

    def test_second_change_in_the_same_second_is_read(self, engine: Engine) -> None:
        with self.first_sync(engine) as hub:
            (order,) = hub.old_orders(1)
            at = hub.watermark - 10 * SECOND
            external_id = hub.commit_change(order, at, "first@overlap.example")
            assert hub.sync().counts.orders_changed == 1
            before = hub.events()
            # The channel changes the order again within that second (its clock has seconds
            # only): same timestamp, other values. The hub must not keep the first ones.
            hub.commit_change(order, at, "second@overlap.example")
            result = hub.sync()
            assert (result.counts.orders_new, result.counts.orders_changed) == (0, 1)
            hub.assert_once(before, {}, {external_id: ("second@overlap.example", at)})

    # --- the account's own overlap ------------------------------------------------------------

    def test_the_accounts_overlap_is_the_reach_of_a_late_commit(self, engine: Engine) -> None:
        with self.first_sync(engine, overlap=300) as hub:
            before = hub.events()
            at, email = hub.watermark - 200 * SECOND, "late-200@overlap.example"
            external_id = hub.commit_new(at, email)
            # The default overlap (60 s) does not reach back 200 s: that commit is not read...
            assert hub.sync(overlap=DEFAULT_OVERLAP).counts.orders_new == 0
            assert external_id not in stored_orders(engine, self.channel.name)
            # ...the account's 300 s does.
            assert hub.sync().counts.orders_new == 1
            hub.assert_once(before, {external_id: (email, at)}, {})
