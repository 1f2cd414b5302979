"""The MALL order API over HTTP (`/v1`, `client_id` query parameter): the calls, nothing more.

Retries, Retry-After and the `X-RateLimit-*` pacing come from `channels/http.py`. Which calls a
sync makes, and in which order, is `channels/mall/connector.py`'s business.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from orderhub.channels.base import Account, Fatal
from orderhub.channels.http import ChannelClient, ChannelHttp, require_credentials
from orderhub.channels.mall.codec import MALL_ZONE, TIME_FORMAT

#: MALL's largest page; the official client's default is 100, which is what we send by default.
MAX_PAGE_SIZE = 100
Params = Sequence[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class MallPage:
    """One answer of a MALL list call: the items (objects or ids) and its paging block."""

    data: list[Any]
    page: int
    pages: int
    size: int
    total: int | None

    @property
    def last(self) -> bool:
        return self.page >= self.pages


class MallClient(ChannelClient):
    """MALL's order calls; every answer is checked to be MALL's `data`/`paging` envelope."""

    @classmethod
    def for_account(cls, account: Account, **http_options: Any) -> MallClient:
        require_credentials(account, ("client_id",))
        client_id = account.credentials["client_id"]
        return cls(
            ChannelHttp.for_account(
                account,
                params={"client_id": client_id},
                headers={"X-Application-Name": "orderhub"},
                error_message=error_message,
                **http_options,
            )
        )

    def list_orders(self, params: Params) -> MallPage:
        """`GET /orders` with MALL filters, `_sort`, `page` and `page_size`."""
        return _page(self.http.request("GET", "orders", params=list(params)))

    def unconfirmed(
        self, page: int = 1, page_size: int = MAX_PAGE_SIZE, params: Params = ()
    ) -> MallPage:
        """`GET /orders/unconfirmed`: ids of orders MALL waits to have confirmed."""
        paging = [("page", str(page)), ("page_size", str(page_size))]
        return _page(self.http.request("GET", "orders/unconfirmed", params=[*params, *paging]))

    def get_order(self, order_id: int | str) -> dict[str, Any]:
        """`GET /orders/{id}`: the full order object."""
        body = self.http.request("GET", f"orders/{order_id}")
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise Fatal(f"GET orders/{order_id}: expected MALL's {{'data': {{...}}}}, got {body!r}")
        return data

    def confirm(self, order_id: int | str) -> None:
        """`PUT /orders/{id}` `{"confirmed": true}`: the merchant has the order."""
        self.http.request("PUT", f"orders/{order_id}", json_body={"confirmed": True})

    def set_status(
        self,
        order_id: int | str,
        status: str,
        *,
        tracking_number: str | None = None,
        tracking_url: str | None = None,
        delivered_at: datetime | None = None,
        first_delivery_attempt: datetime | None = None,
    ) -> None:
        """`PUT /orders/{id}` with a status, in the official client's form (v5 `StatusRequest`):
        `confirmed: true` with it (MALL changes no status of an unconfirmed order), tracking
        with shipping or shipped, `delivered_at` and `first_delivery_attempt` with delivered."""
        body: dict[str, Any] = {"status": status, "confirmed": True}
        if tracking_url is not None:
            body["tracking_url"] = tracking_url
        if tracking_number is not None:
            body["tracking_number"] = tracking_number
        if delivered_at is not None:
            body["delivered_at"] = mall_time(delivered_at)
        if first_delivery_attempt is not None:
            body["first_delivery_attempt"] = mall_time(first_delivery_attempt)
        self.http.request("PUT", f"orders/{order_id}", json_body=body)

    def set_tracking(
        self, order_id: int | str, tracking_number: str | None, tracking_url: str | None
    ) -> None:
        """`PUT /orders/{id}/tracking` with the number and/or URL known: only for shipped
        orders."""
        body = {"tracking_number": tracking_number, "tracking_url": tracking_url}
        body = {key: value for key, value in body.items() if value is not None}
        self.http.request("PUT", f"orders/{order_id}/tracking", json_body=body)


def mall_time(at: datetime) -> str:
    """An instant as MALL takes times: Prague wall time, `YYYY-MM-DD HH:MM:SS`."""
    return at.astimezone(MALL_ZONE).strftime(TIME_FORMAT)


def error_message(response: httpx.Response) -> str:
    """MALL's `result.message` and `errorCodes[].message`, else the start of the body."""
    try:
        body = response.json()
        messages = [body["result"]["message"]]
        messages += [item["message"] for item in body.get("errorCodes") or []]
        return "; ".join(dict.fromkeys(str(m) for m in messages if m))  # said once when repeated
    except (ValueError, KeyError, TypeError):
        return response.text[:200]


def _page(body: object) -> MallPage:
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise Fatal(f"expected MALL's {{'data': [...], 'paging': {{...}}}}, got {str(body)[:200]}")
    paging = body.get("paging") or {}
    if not isinstance(paging, dict):
        raise Fatal(f"expected MALL's paging object, got {paging!r}")
    return MallPage(
        data=body["data"],
        page=_int(paging.get("page"), 1),
        pages=_int(paging.get("pages"), 1),
        size=_int(paging.get("size"), len(body["data"])),
        total=_int(paging.get("total"), None) if "total" in paging else None,
    )


def _int(value: object, default: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return default


def _order_id(item: object) -> int:
    if isinstance(item, dict):
        item = item.get("id")
    value = _int(item, None)
    if value is None:
        raise Fatal(f"expected a MALL order id, got {item!r}")
    return int(value)


def ids_param(ids: Sequence[int | str]) -> str:
    """The value of an `id=in:...` filter."""
    return "in:" + ",".join(str(i) for i in ids)
