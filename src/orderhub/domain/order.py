"""The canonical order: the one shape every channel's orders are normalised into."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from orderhub.domain.money import Money
from orderhub.domain.status import ChannelType, PaymentStatus, Status


@dataclass(slots=True)
class Address:
    name: str | None = None
    company: str | None = None
    street: str | None = None
    street2: str | None = None
    city: str | None = None
    zip: str | None = None
    region: str | None = None
    country: str | None = None
    phone: str | None = None
    email: str | None = None


class LineType(StrEnum):
    ARTICLE = "article"
    SERVICE = "service"
    POSTAGE = "postage"
    FEE = "fee"


@dataclass(slots=True)
class OrderLine:
    line_id: str
    sku: str | None
    name: str
    type: LineType
    quantity: int
    unit_price: Decimal
    tax_rate: Decimal
    tax_amount: Decimal
    total: Decimal
    delivered_quantity: int = 0
    cancelled_quantity: int = 0
    returned_quantity: int = 0


class StatusSource(StrEnum):
    CHANNEL = "channel"
    API = "api"
    SYSTEM = "system"


@dataclass(slots=True)
class StatusChange:
    status: Status
    at: datetime
    source: StatusSource


class PushStatus(StrEnum):
    """Where the merchant's last change stands with the channel (None: nothing to push)."""

    PENDING = "pending"
    PUSHED = "pushed"
    REFUSED = "refused"
    UNSUPPORTED = "unsupported"
    FAILED = "failed"  # transient failures until the retries ran out


@dataclass(slots=True)
class Order:
    """A canonical order. `id` is None until the store assigns one."""

    channel: str
    channel_type: ChannelType
    external_id: str
    status: Status
    channel_status: str
    payment_status: PaymentStatus
    created_at: datetime
    updated_at: datetime
    currency: str
    total: Decimal
    id: int | None = None
    confirmed: bool = False
    test: bool = False
    ship_date: date | None = None
    delivered_at: datetime | None = None
    customer_id: int | None = None
    customer: str | None = None
    email: str | None = None
    phone: str | None = None
    country: str | None = None
    subtotal: Decimal | None = None
    shipping_cost: Decimal | None = None
    discount: Decimal | None = None
    tax_total: Decimal | None = None
    cod: Decimal | None = None
    payment_method: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    carrier: str | None = None
    vendor_ref: str | None = None
    language: str | None = None
    #: Hub-owned, like vendor_ref: a PushStatus value, and the channel's refusal or last error.
    push_status: str | None = None
    push_error: str | None = None
    shipping_address: Address | None = None
    billing_address: Address | None = None
    lines: list[OrderLine] = field(default_factory=list)
    status_history: list[StatusChange] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    #: Hub-owned labels, sorted, each once (domain/tags.py); kept in the order_tags table.
    tags: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in ("created_at", "updated_at", "delivered_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} must carry a time zone")

    def money(self, amount: Decimal) -> Money:
        return Money(amount, self.currency)


@dataclass(frozen=True, slots=True)
class ScalarField:
    name: str
    kind: FieldKind
    nullable: bool
    description: str
    choices: tuple[str, ...] = ()


class FieldKind(StrEnum):
    """How a top-level scalar field is typed, which decides how it is parsed and compared."""

    INT = "int"
    STR = "str"
    DECIMAL = "decimal"
    BOOL = "bool"
    DATE = "date"
    DATETIME = "datetime"
    ENUM = "enum"
    #: A set of short strings (tags): filtered by membership, never sorted.
    SET = "set"


def _enum(name: str, enum: type[StrEnum], description: str) -> ScalarField:
    return ScalarField(name, FieldKind.ENUM, False, description, tuple(e.value for e in enum))


#: Every top-level scalar field of the canonical order, in the order the API renders them.
SCALAR_FIELDS: dict[str, ScalarField] = {
    f.name: f
    for f in (
        ScalarField("id", FieldKind.INT, False, "Hub order id (64-bit)."),
        ScalarField("channel", FieldKind.STR, False, "Channel account name, e.g. mall-cz."),
        _enum("channel_type", ChannelType, "Kind of channel the order came from."),
        ScalarField("external_id", FieldKind.STR, False, "The channel's own order id."),
        _enum("status", Status, "Canonical fulfilment status."),
        ScalarField("channel_status", FieldKind.STR, False, "The channel's own status value."),
        _enum("payment_status", PaymentStatus, "Canonical payment status."),
        ScalarField("confirmed", FieldKind.BOOL, False, "The merchant acknowledged the order."),
        ScalarField("test", FieldKind.BOOL, False, "A test order."),
        ScalarField("created_at", FieldKind.DATETIME, False, "When the order was placed (UTC)."),
        ScalarField("updated_at", FieldKind.DATETIME, False, "Last change (UTC)."),
        ScalarField("ship_date", FieldKind.DATE, True, "Date the order is due to ship."),
        ScalarField("delivered_at", FieldKind.DATETIME, True, "When it was delivered (UTC)."),
        ScalarField("customer_id", FieldKind.INT, True, "The channel's customer id."),
        ScalarField("customer", FieldKind.STR, True, "Customer name."),
        ScalarField("email", FieldKind.STR, True, "Customer e-mail address."),
        ScalarField("phone", FieldKind.STR, True, "Customer phone number."),
        ScalarField("country", FieldKind.STR, True, "Shipping country, ISO 3166 alpha-2."),
        ScalarField("currency", FieldKind.STR, False, "ISO 4217 currency of every amount."),
        ScalarField("total", FieldKind.DECIMAL, False, "Amount the customer pays."),
        ScalarField("subtotal", FieldKind.DECIMAL, True, "Sum of the lines before shipping."),
        ScalarField("shipping_cost", FieldKind.DECIMAL, True, "Shipping charged."),
        ScalarField("discount", FieldKind.DECIMAL, True, "Discount given."),
        ScalarField("tax_total", FieldKind.DECIMAL, True, "Tax included in the total."),
        ScalarField("cod", FieldKind.DECIMAL, True, "Cash-on-delivery amount to collect."),
        ScalarField("payment_method", FieldKind.STR, True, "How the customer pays."),
        ScalarField("tracking_number", FieldKind.STR, True, "Carrier tracking number."),
        ScalarField("tracking_url", FieldKind.STR, True, "Carrier tracking URL."),
        ScalarField("carrier", FieldKind.STR, True, "Carrier that ships the order."),
        ScalarField("vendor_ref", FieldKind.STR, True, "The merchant's own reference."),
        ScalarField("language", FieldKind.STR, True, "Customer language, e.g. cs or en."),
        ScalarField(
            "push_status",
            FieldKind.ENUM,
            True,
            "The merchant's last change at the channel (null: nothing to push).",
            tuple(p.value for p in PushStatus),
        ),
        ScalarField("push_error", FieldKind.STR, True, "Why the channel refused the change."),
    )
}
