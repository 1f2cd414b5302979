"""The CS-Cart shop's order API over HTTP (`/api`, HTTP Basic: admin e-mail + API key): the
calls, nothing more.

Retries, Retry-After and rate-limit pacing come from `channels/http.py`. Which calls a sync
makes, and in which order, is `channels/cscart/connector.py`'s business.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from orderhub.channels.base import Account, Fatal
from orderhub.channels.fields import whole_number
from orderhub.channels.http import ChannelClient, ChannelHttp, require_credentials

Params = Sequence[tuple[str, str]]
#: The credentials an account needs (orderhub.toml: `email_env`, `api_key_env`).
CREDENTIALS = ("email", "api_key")


@dataclass(frozen=True, slots=True)
class CsCartList:
    """One answer of `GET /orders`: the order summaries and the shop's count of all matches."""

    orders: list[Any]
    total_items: int | None


class CsCartClient(ChannelClient):
    """CS-Cart's order calls; every answer is checked to be the shop's shape."""

    @classmethod
    def for_account(cls, account: Account, **http_options: Any) -> CsCartClient:
        require_credentials(account, CREDENTIALS, "orderhub.toml: email_env and api_key_env")
        credentials = f"{account.credentials['email']}:{account.credentials['api_key']}"
        basic = "Basic " + base64.b64encode(credentials.encode()).decode("ascii")
        headers = {"Authorization": basic, "Accept": "application/json"}
        return cls(
            ChannelHttp.for_account(
                account, headers=headers, error_message=error_message, **http_options
            )
        )

    def list_orders(self, params: Params) -> CsCartList:
        """`GET /orders` with seed 002's parameters: order summaries (details: `get_order`)."""
        body = self.http.request("GET", "orders", params=list(params))
        if not isinstance(body, dict) or not isinstance(body.get("orders"), list):
            raise Fatal(f"GET orders: expected CS-Cart's {{'orders': [...]}}, got {_start(body)}")
        params_back = body.get("params")
        total = params_back.get("total_items") if isinstance(params_back, dict) else None
        return CsCartList(body["orders"], whole_number(total))

    def get_order(self, order_id: int | str) -> dict[str, Any]:
        """`GET /orders/{id}`: the order details (ChannelNotFound when there is no such order)."""
        body = self.http.request("GET", f"orders/{order_id}")
        if not isinstance(body, dict):
            raise Fatal(f"GET orders/{order_id}: expected the order details, got {_start(body)}")
        return body

    def update_order(self, order_id: int | str, fields: dict[str, str]) -> None:
        """`PUT /orders/{id}` with `status` (+ `notify_user`) and/or `vendor_ref`."""
        body = self.http.request("PUT", f"orders/{order_id}", json_body=fields)
        if not isinstance(body, dict) or str(body.get("order_id")) != str(order_id):
            raise Fatal(f"PUT orders/{order_id}: expected {{'order_id': ...}}, got {_start(body)}")

    def shipments(self, order_id: int | str) -> list[dict[str, Any]]:
        """`GET /shipments?order_id=`: every shipment of the order, page by page."""
        found: list[dict[str, Any]] = []
        for page in range(1, 1000):
            params = {"order_id": str(order_id), "page": str(page), "items_per_page": "100"}
            body = self.http.request("GET", "shipments", params=params)
            items = body.get("shipments") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise Fatal(f"GET shipments: expected {{'shipments': [...]}}, got {_start(body)}")
            found += items
            if len(items) < 100:
                break
        return found

    def create_shipment(self, fields: dict[str, Any]) -> None:
        """`POST /shipments` `{order_id, products: {item_id: quantity}, carrier,
        tracking_number, status, [order_status]}`: answers `{"shipment_id": ...}`."""
        body = self.http.request("POST", "shipments", json_body=fields)
        if not isinstance(body, dict) or "shipment_id" not in body:
            raise Fatal(f"POST shipments: expected {{'shipment_id': ...}}, got {_start(body)}")

    def search(self, vendor_ref: str) -> list[dict[str, Any]]:
        """`GET /orders/search/?vendor_ref=`: the details of the orders with that reference
        (ChannelNotFound when none has it)."""
        body = self.http.request("GET", "orders/search/", params={"vendor_ref": vendor_ref})
        found = body.get("orders") if isinstance(body, dict) else body
        if not isinstance(found, list):
            raise Fatal(f"GET orders/search: expected a list of orders, got {_start(body)}")
        return found


def error_message(response: httpx.Response) -> str:
    """CS-Cart's `message`, else the start of the body."""
    try:
        message = response.json()["message"]
    except (ValueError, KeyError, TypeError):
        return response.text[:200]
    return str(message)


def _start(body: object) -> str:
    return str(body)[:200]
