"""`GET /api/statuses` of the CS-Cart sandbox: the shop's order statuses, so that an
integration can learn the letters instead of hard-coding them.

Fields and the example of CS-Cart's guide (API entities, "Statuses": `status_id`, `status`,
`type` "O", `is_default`, `description`, `email_subj`, `email_header`, `lang_code`, `params`);
the letters and their meanings are seed 002's. N (Incomplete) is hidden, as the seed says, and
CS-Cart's `Y` (awaiting call) is not one of this shop's letters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from orderhub.channels.cscart.sandbox_listing import MAX_ITEMS_PER_PAGE, CsCartError, bad_request

#: (letter, description, e-mail subject, e-mail header, stock: D decreases, I increases)
_TABLE = (
    ("P", "Processed", "has been processed", "Your order has been processed successfully.", "D"),
    ("C", "Complete", "has been completed",
     "Your order has been completed. Thank you for choosing us.", "D"),
    ("O", "Open", "has been placed", "Your order has been placed. It awaits your payment.", "D"),
    ("F", "Failed", "has failed", "The payment for your order has failed.", "I"),
    ("D", "Declined", "has been declined", "Your order has been declined by the shop.", "I"),
    ("B", "Backordered", "has been backordered",
     "Your order has been backordered: some items are out of stock.", "D"),
    ("I", "Cancelled", "has been cancelled", "Your order has been cancelled.", "I"),
    ("H", "Return complete", "has been returned",
     "Your return has been processed and repaid.", "I"),
    ("G", "Return in progress", "return in progress",
     "Your return request is being processed.", "D"),
    ("E", "Unpaid", "awaits payment",
     "Your order awaits payment: see the instructions below.", "D"),
)  # fmt: skip
#: The statuses CS-Cart ships and that cannot be deleted (the guide's list, less Y).
_DEFAULT = frozenset("PCOFDBI")


def statuses() -> list[dict[str, Any]]:
    """Every visible status of the shop, by `status_id`."""
    return [
        {
            "status_id": str(number),
            "status": letter,
            "type": "O",
            "is_default": "Y" if letter in _DEFAULT else "N",
            "description": description,
            "email_subj": subject,
            "email_header": header,
            "lang_code": "en",
            "params": {
                "notify": "Y",
                "inventory": stock,
                "allow_return": "Y" if letter == "C" else "N",
                "repay": "Y" if letter in "OEF" else "N",
            },
        }
        for number, (letter, description, subject, header, stock) in enumerate(_TABLE, 1)
    ]


def status_page(params: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """`GET /api/statuses?page=&items_per_page=` (default 10 a page, as the guide says)."""
    given = {"page": "1", "items_per_page": "10"}
    for name, value in params:
        if name not in given:
            raise bad_request(f"unknown parameter {name!r} (known: page, items_per_page)")
        given[name] = value
    page = _whole(given["page"], "page", 10**9)
    size = _whole(given["items_per_page"], "items_per_page", MAX_ITEMS_PER_PAGE)
    return statuses()[(page - 1) * size : page * size]


def status(status_id: int) -> dict[str, Any]:
    for found in statuses():
        if found["status_id"] == str(status_id):
            return found
    raise CsCartError(404, f"Not Found: status {status_id} does not exist")


def _whole(value: str, name: str, high: int) -> int:
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= high:
        raise bad_request(f"{name}: expected an integer from 1 to {high}, got {value!r}")
    return int(value)
