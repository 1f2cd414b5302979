"""The MALL sandbox's starting orders as the store keeps them, straight from the random stream.

A snapshot's cold start (`sandbox_snapshot`) needs, for each order, its list-table row and its
JSON text; the plain path builds an `Order` (`domain.samples`), reshapes it (`as_mall`), writes
its payload dict (`mall_payload`), then the row and the text from that (~150 us an order). This
makes the same row and the same text from the same draws in a third of it: the sample order's
draws (`domain.sample_draws`), MALL's own two streams per order called exactly as
`mall_payload` calls them, money in whole cents, times as epoch seconds written through a cached
Prague offset per UTC hour (Prague's offset changes on whole UTC hours). `_stored` is one long
function on purpose: it runs a million times a cold start.
tests/channels/test_sandbox_rows.py compares both paths byte for byte; keep them in step.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from orderhub.channels.mall.sandbox_delivery import ULOZENKA_STEPS, delivery_draws
from orderhub.channels.mall.sandbox_orders import SHIP_DAYS
from orderhub.channels.mall.sandbox_payload import (
    COMMISSIONS,
    DELIVERY_DAYS,
    MDP_CLASSIC_SHARE,
    MDP_SHARE,
    NO_BILLING_SHARE,
    OTHER_BILLING_SHARE,
    PRAGUE,
    SOURCE,
    TIMESTAMPS,
    WORDS,
    _percent,
)
from orderhub.domain.jsonfmt import dumps
from orderhub.domain.sample_draws import Sample, drawn_rows
from orderhub.domain.sample_rows import _clock, _day, _money_text
from orderhub.domain.samples import _PATH_TABLE, _VAT, ACCOUNTS
from orderhub.domain.status import Status

_DAY = 86_400
_HOUR = 3_600
_ACCOUNT = next(account for account in ACCOUNTS if account.name == "mall-cz")
#: What the JSON writer makes of a commission and of the account's VAT rate.
_COMMISSIONS = tuple(dumps(_percent(c)).decode() for c in COMMISSIONS)
_VAT_TEXT = dumps(_percent(_VAT[_ACCOUNT.country])).decode()
_B = ("false", "true")
_FLAGS = ("[]", '["lost"]')
_DROPPED = frozenset({Status.BACKORDERED, Status.RETURNING})


@dataclass(frozen=True, slots=True)
class _MallPath:
    """A generated status path as MALL shows it (`as_mall`), for orders that start open (COD,
    test) or not: which of the generated times each kept change carries, worked out once."""

    #: For each MALL timestamp field (TIMESTAMPS): the index of its time, or -1 (null).
    stamps: tuple[int, ...]
    #: Those fields as JSON, a %s for each time (the indexes in `stamped`).
    stamps_json: str
    stamped: tuple[int, ...]
    #: The index of the first and the last kept change's time.
    first: int
    last: int
    word: str
    blocked: bool
    delivered: bool
    shipped: bool
    #: The carrier's steps: (code, index of its time, index of the time it is halfway from, or
    #: -1 when it is that time itself).
    steps: tuple[tuple[str, int, int], ...]

    @classmethod
    def of(cls, path: tuple[Status, ...], starts_open: bool) -> _MallPath:
        kept = [
            (i, Status.CANCELLED if s is Status.FAILED else s)
            for i, s in enumerate(path)
            if s not in _DROPPED
        ]
        if starts_open and kept[0][1] is Status.PENDING:
            if len(kept) > 1 and kept[1][1] is Status.OPEN:
                kept = kept[1:]
            else:
                kept = [(kept[0][0], Status.OPEN), *kept[1:]]
        at: dict[Status, int] = {status: index for index, status in kept}
        by_word = {WORDS[status]: index for index, status in kept}
        last = kept[-1][1]
        stamps = tuple(by_word.get(word, -1) for word in TIMESTAMPS)
        return cls(
            stamps,
            ",".join(
                f'"{w}":"%s"' if i >= 0 else f'"{w}":null'
                for w, i in zip(TIMESTAMPS, stamps, strict=True)
            ),
            tuple(i for i in stamps if i >= 0),
            kept[0][0],
            kept[-1][0],
            WORDS[last],
            last is Status.PENDING,
            last is Status.DELIVERED,
            Status.SHIPPED in path,
            _steps(at) if Status.SHIPPED in path else (),
        )


def _steps(at: dict[Status, int]) -> tuple[tuple[str, int, int], ...]:
    """`sandbox_delivery.consignment_steps` over time indexes."""
    shipped = at[Status.SHIPPED]
    steps = [("CREATED", at.get(Status.SHIPPING, shipped), -1), ("RECEIVED", shipped, -1)]
    last = shipped
    if (delivered := at.get(Status.DELIVERED)) is not None:
        steps += [("DELIVERING", delivered, last), ("DELIVERED", delivered, -1)]
        last = delivered
    if (returned := at.get(Status.RETURNED)) is not None:
        steps += [("RETURNING", returned, last), ("RETURNED", returned, -1)]
    if (lost := at.get(Status.LOST)) is not None:
        steps.append(("LOST", lost, -1))
    return tuple(steps)


#: Each path of `samples._PATH_TABLE` as MALL shows it: (as generated, for orders that start open).
_PATHS = tuple((_MallPath.of(path, False), _MallPath.of(path, True)) for path in _PATH_TABLE)
_ULOZENKA = {
    code: f'{{"id":{n},"name":"{name}","date":"' for code, (n, name) in ULOZENKA_STEPS.items()
}


def mall_rows(
    count: int, seed: int, start: int = 0, anchor: datetime | None = None
) -> tuple[datetime | None, list[tuple[Any, ...]]] | None:
    """Orders start..start+count-1 of the MALL sandbox as `SqlOrderStore.stored` keeps them
    (row values, JSON text, no summary), and the latest time any of them carries; None for an
    anchor this does not model (`sample_draws.anchor_seconds`)."""
    return drawn_rows(count, seed, start, _ACCOUNT, anchor, lambda sample: _stored(sample, seed))


def _stored(sample: Sample, seed: int) -> tuple[tuple[Any, ...], int]:
    """The stored tuple of one order (`as_mall`, `mall_payload`, then the store's row and
    text) and the last time it carries."""
    number, times, name, customer_id = sample.number, sample.times, sample.name, sample.customer_id
    closed, opened = _PATHS[sample.path_index]
    mall = opened if sample.cod or sample.test else closed
    ship_day = sample.ship_day
    if mall.blocked:
        ship_day = None
    elif ship_day is None:  # as_mall: two days after it opened, in Prague
        ship_day = _local(times[mall.first]) // _DAY + SHIP_DAYS
    confirmed = sample.confirmed and not mall.blocked
    cod, test, total, payment = sample.cod, sample.test, sample.total, sample.payment
    phone, email = sample.phone, sample.email or ""
    street, city, zip_code = sample.street, sample.city, sample.zip_code
    rng = random.Random(f"mall:{seed}:{number}")
    mdp = rng.random() < MDP_SHARE
    classic = mdp and rng.random() < MDP_CLASSIC_SHARE
    uuid = _uuid4(rng.getrandbits(128))
    walls = [_wall(t) for t in times]
    columns: list[str | None] = [f"{wall}.000000" for wall in walls]  # as the columns store them
    columns.append(None)  # what index -1 (no time) reads
    delivered = walls[mall.last] if mall.delivered else None
    ship_date = None if ship_day is None else _date(ship_day)
    delivery_date = None if ship_day is None else _date(ship_day + DELIVERY_DAYS)
    tracking = f"TRK{number}" if mall.shipped else None
    tracking_url = f"https://track.example.com/TRK{number}" if mall.shipped else None
    cod_text = _money_text(total) if cod else "0"
    address = (
        f'"name":"{name}","company":null,"street":"{street}","city":"{city}",'
        f'"zip":"{zip_code}","country":"CZ","phone":"{phone}","email":"{email}"}}'
    )
    billing = _billing(rng, name, street, city, zip_code, phone, email, address)
    more = random.Random(f"mall-more:{seed}:{number}")
    items = ",".join(_item(line, more.choice(_COMMISSIONS)) for line in sample.lines)
    method, method_id, branch, secondary = delivery_draws(more, mdp)
    changed = walls[mall.first] if secondary is not None else None
    consignments, ulozenka = _consignments(mall, times, walls, tracking, method == "ulozenka")
    text = (
        f'{{"id":{number},"external_id":"{uuid}","purchase_id":{number + 1},'
        f'"source":"{SOURCE}","mdp":{_B[mdp]},"mdp_classic":{_B[classic]},'
        f'"mdp_spectrum":{_B[mdp and not classic]},"customer_id":{customer_id},'
        f'"customer":"{name}","status":"{mall.word}","confirmed":{_B[confirmed]},'
        f'"test":{_B[test]},"ship_date":{_q(ship_date)},"delivered_at":{_q(delivered)},'
        f'"currency":"{_ACCOUNT.currency}","cod":{cod_text},"cod_price":0,'
        f'"price":{_money_text(total)},"delivery_price":{_money_text(sample.shipping)},'
        f'"discount":{_money_text(sample.discount)},"payment_type":"{payment}",'
        f'"tracking_number":{_q(tracking)},"tracking_url":{_q(tracking_url)},'
        '"external_order_id":null,"ready_to_return":false,'
        + mall.stamps_json
        % tuple([walls[i] for i in mall.stamped])
        + f',"address":{{"customer_id":{customer_id},{address},"billing_address":{billing},'
        f'"items":[{items}],"delivery_method":"{method}","delivery_method_id":"{method_id}",'
        f'"branch_id":{_n(branch)},"branches":{{"branch_id":{_n(branch)},'
        f'"secondary_branch_id":{_n(secondary)},"overridden":{_B[secondary is not None]},'
        f'"last_change":{_q(changed)}}},"delivery_date":{_q(delivery_date)},'
        f'"delivery_position":null,"first_delivery_attempt":{_q(delivered)},'
        f'"consignment_status_history":[{consignments}],'
        f'"ulozenka_status_history":[{ulozenka}]}}'
    )
    row = (
        number,
        uuid,
        number + 1,
        SOURCE,
        customer_id,
        name,
        total * 100 if cod else 0,
        0,
        _ACCOUNT.currency,
        total * 100,
        sample.shipping * 100,
        sample.discount * 100,
        payment,
        method,
        method_id,
        branch,
        delivery_date,
        columns[mall.last] if mall.delivered else None,
        None,
        0,
        ship_date,
        columns[mall.last] if mall.delivered else None,
        mall.word,
        int(confirmed),
        int(test),
        int(mdp),
        int(classic),
        int(mdp and not classic),
        tracking,
        tracking_url,
        *[columns[i] for i in mall.stamps],
    )
    return (*row, text, None), times[mall.last]


def _billing(
    rng: random.Random,
    name: str,
    street: str,
    city: str,
    zip_code: int,
    phone: str,
    email: str,
    address: str,
) -> str:
    """`sandbox_payload._billing`: the delivery address, a company's, or none."""
    draw = rng.random()
    if draw < NO_BILLING_SHARE:
        return "null"
    if draw >= NO_BILLING_SHARE + OTHER_BILLING_SHARE:
        return "{" + address
    company = f"{name.split()[-1]} s.r.o."
    street = f"Namesti {rng.randrange(1, 90)}"
    zip_text = f"{rng.randrange(10000, 80000)}"
    return (
        f'{{"name":"{name}","company":"{company}","street":"{street}","city":"{city}",'
        f'"zip":"{zip_text}","country":"CZ","phone":"{phone}","email":"{email}"}}'
    )


def _item(line: tuple[int, int, int, str, int], commission: str) -> str:
    quantity, unit, sku, product, _ = line
    return (
        f'{{"id":"SKU-{sku:05d}","article_id":{100_000 + sku},"title":"{product}",'
        f'"quantity":{quantity},"price":{_money_text(unit)},"vat":{_VAT_TEXT},'
        f'"commission":{commission},"serial_numbers":[]}}'
    )


def _consignments(
    mall: _MallPath, times: list[int], walls: list[str], number: str | None, ulozenka: bool
) -> tuple[str, str]:
    """The carrier's history and Uloženka's (`sandbox_payload._consignments`), as JSON items."""
    if number is None:
        return "", ""
    steps = [
        (code, walls[i] if since < 0 else _wall(_halfway(times[since], times[i])))
        for code, i, since in mall.steps
    ]
    carrier = ",".join(
        f'{{"status":"{code}","date":"{at}","flags":{_FLAGS[code == "LOST"]},'
        f'"tracking_number":"{number}"}}'
        for code, at in steps
    )
    return carrier, ",".join(f'{_ULOZENKA[c]}{at}"}}' for c, at in steps) if ulozenka else ""


def _halfway(start: int, end: int) -> int:
    """`sandbox_delivery._between` in whole seconds (it drops the half second)."""
    return start + (end - start) // 2 if end > start else end


def _uuid4(bits: int) -> str:
    """str(uuid.UUID(int=bits, version=4)), without building the object."""
    bits = (bits & ~(0xC000 << 48)) | 0x8000 << 48
    bits = (bits & ~(0xF000 << 64)) | 4 << 76
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_OFFSETS: dict[int, int] = {}


def _local(seconds: int) -> int:
    """A UTC time (epoch seconds) as Prague's wall clock reads it, in seconds (Prague's offset
    changes on whole UTC hours: one lookup an hour)."""
    hour = seconds // _HOUR
    offset = _OFFSETS.get(hour)
    if offset is None:
        delta = datetime.fromtimestamp(hour * _HOUR, PRAGUE).utcoffset()
        offset = _OFFSETS[hour] = 0 if delta is None else int(delta.total_seconds())
    return seconds + offset


def _wall(seconds: int) -> str:
    """`sandbox_payload.mall_time` of a UTC time in epoch seconds: its UTC hour's Prague date
    and hour, then the minutes and seconds into that hour (the same in Prague: its offset is a
    whole number of hours; `_hour_text` gives "" for one that is not)."""
    hour, into = divmod(seconds, _HOUR)
    head = _HOUR_TEXTS.get(hour)
    if head is None:
        head = _HOUR_TEXTS[hour] = _hour_text(hour)
    if head:
        return head + _INTO_HOUR[into]
    local = _local(seconds)
    return f"{_day(local)} {_clock(local)}"


def _hour_text(hour: int) -> str:
    """Prague's "date hh:" of a UTC hour, or "" when its offset is not whole hours."""
    local = _local(hour * _HOUR)
    if local % _HOUR:
        return ""
    return f"{_day(local)} {local % _DAY // _HOUR:02d}:"


_HOUR_TEXTS: dict[int, str] = {}
#: "mm:ss" of each second into an hour.
_INTO_HOUR = tuple(f"{m:02d}:{s:02d}" for m in range(60) for s in range(60))


def _date(day: int) -> str:
    """The ISO date of a day number (days since the epoch)."""
    return _day(day * _DAY)


def _q(text: str | None) -> str:
    return "null" if text is None else f'"{text}"'


def _n(number: int | None) -> str:
    return "null" if number is None else str(number)
