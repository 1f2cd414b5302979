"""The CDON order API over HTTP (`/api`, `Authorization: api <key>`): the calls, nothing more.

Retries and Retry-After come from `channels/http.py`. Which calls a sync or a push makes is
`channels/cdon/connector.py`'s business.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from orderhub.channels.base import Account, ChannelNotFound, Fatal
from orderhub.channels.http import ChannelClient, ChannelHttp, require_credentials

#: The largest `take` we ask for (the sandbox's limit; CDON documents none).
MAX_TAKE = 1000
Params = Sequence[tuple[str, str]]


class CdonClient(ChannelClient):
    """CDON's order calls; every answer is checked to be CDON's shape."""

    @classmethod
    def for_account(cls, account: Account, **http_options: Any) -> CdonClient:
        require_credentials(account, ("api_key",))
        key = account.credentials["api_key"]
        headers = {"Authorization": f"api {key}", "Accept": "application/json"}
        return cls(
            ChannelHttp.for_account(
                account, headers=headers, error_message=error_message, **http_options
            )
        )

    def list_orders(self, params: Params) -> list[Any]:
        """`GET api/order/`: a JSON array of `{OrderDetails, Invoices}`; CDON's 404 (no more
        orders) is an empty list."""
        try:
            body = self.http.request("GET", "order/", params=list(params))
        except ChannelNotFound:
            return []
        if not isinstance(body, list):
            raise Fatal(f"GET order/: expected CDON's JSON array of orders, got {str(body)[:200]}")
        return body

    def get_order(self, order_id: int | str) -> dict[str, Any]:
        """`GET api/order/{id}`: one `{OrderDetails, Invoices}`; ChannelNotFound when absent."""
        body = self.http.request("GET", f"order/{order_id}")
        if not isinstance(body, dict) or not isinstance(body.get("OrderDetails"), dict):
            raise Fatal(f"GET order/{order_id}: expected {{'OrderDetails': ...}}, got {body!r}")
        return body

    def deliver(self, order_id: int, products: list[dict[str, Any]]) -> None:
        """`POST api/orderdelivery` `{OrderId, Products: [{OrderRowId, QuantityToDeliver,
        PackageId, PackageCarrierId}]}`."""
        self.http.request("POST", "orderdelivery", json_body={"OrderId": order_id,
                                                              "Products": products})  # fmt: skip

    def cancel(self, order_id: int, rows: list[dict[str, Any]]) -> None:
        """`POST api/ordercancel` `{OrderId, Rows: [{OrderRowId, QuantityToCancel}]}`."""
        self.http.request("POST", "ordercancel", json_body={"OrderId": order_id, "Rows": rows})

    def return_rows(self, order_id: int, rows: list[dict[str, Any]]) -> None:
        """`POST api/orderreturn` `{OrderId, Rows: [{OrderRowId, QuantityToReturn}]}`."""
        self.http.request("POST", "orderreturn", json_body={"OrderId": order_id, "Rows": rows})


def error_message(response: httpx.Response) -> str:
    """CDON's `Message` (with its `ErrorCode`), else the start of the body."""
    try:
        body = response.json()
        return f"{body['Message']} (ErrorCode {body.get('ErrorCode')})"
    except (ValueError, KeyError, TypeError):
        return response.text[:200]
