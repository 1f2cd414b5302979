"""The Dexero REST v2 order API over HTTP: OAuth2 client credentials, then the GET calls.

Retries, Retry-After and pacing come from `channels/http.py`; `DexeroHttp` only changes how an
answer is read (JSON with exact decimals, or XML through defusedxml) and tells a refused token
apart from other 4xx answers. Which calls a sync makes is `connector.py`'s business.
"""

from __future__ import annotations

import json
import time
from base64 import b64encode
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx
from defusedxml.common import DefusedXmlException

from orderhub.channels.base import Account, Fatal, Retriable
from orderhub.channels.dexero.xmlcodec import MalformedXml, UnreadableOrder, read_order, read_page
from orderhub.channels.http import ChannelHttp

#: Dexero's largest `count`.
MAX_COUNT = 500
FORMATS = ("json", "xml")
TOKEN_PATH = "oauth/token.action"
#: A token is renewed this many seconds before the expiry the server gave.
EXPIRY_MARGIN = 30.0
Params = Sequence[tuple[str, str]]


class TokenRefused(Fatal):
    """HTTP 401: the bearer token (or, at the token endpoint, the client credentials) refused."""


@dataclass(frozen=True, slots=True)
class DexeroPage:
    """One answer of a list call: the orders (objects, or unreadable XML ones) and the paging."""

    orders: list[Any]
    total: int
    start: int
    per_page: int
    page_count: int


class DexeroHttp(ChannelHttp):
    """ChannelHttp that reads JSON with exact decimals or hardened XML, and raises TokenRefused
    for a 401 (so the client can renew its token once)."""

    def __init__(self, base_url: str, *, fmt: str = "json", **options: Any) -> None:
        super().__init__(base_url, **options)
        self.fmt = fmt

    def _check(self, method: str, path: str, response: httpx.Response) -> None:
        if response.status_code == 401:
            raise TokenRefused(f"{method} {path}: HTTP 401 {self.error_message(response)}")
        super()._check(method, path, response)

    def _read(self, where: str, content: bytes) -> Any:
        if self.fmt == "xml":
            return _read_xml(where, content)
        try:
            return json.loads(content, parse_float=Decimal)
        except ValueError as exc:
            # A body cut short (a dropped connection mid-answer) is worth another try.
            raise Retriable(f"{where}: the response is not complete JSON ({exc})") from exc
        except RecursionError as exc:
            # Hostile nesting (thousands of levels) exhausts the stdlib parser's stack.
            raise Fatal(f"{where}: the response JSON nests too deep to read") from exc


def _read_xml(where: str, content: bytes) -> Any:
    try:
        if content.lstrip().startswith((b"<order>", b"<order ")):
            return read_order(content)
        return read_page(content)
    except DefusedXmlException as exc:
        raise Fatal(f"{where}: refused XML with a DTD or entities ({exc!r})") from exc
    except MalformedXml as exc:
        raise Retriable(f"{where}: the response is not complete XML ({exc})") from exc
    except ValueError as exc:
        raise Fatal(f"{where}: not a Dexero XML answer ({exc})") from exc


class TokenSource:
    """An OAuth2 client-credentials token, cached until shortly before it expires."""

    def __init__(
        self, http: ChannelHttp, client_id: str, secret: str, clock: Callable[[], float]
    ) -> None:
        self.http = http
        self.basic = "Basic " + b64encode(f"{client_id}:{secret}".encode()).decode()
        self.clock = clock
        self.token: str | None = None
        self.expires = 0.0
        self.issued = 0

    def bearer(self) -> str:
        if self.token is None or self.clock() >= self.expires:
            self._fetch()
        assert self.token is not None
        return f"Bearer {self.token}"

    def forget(self) -> None:
        self.token = None

    def _fetch(self) -> None:
        # ChannelHttp sends no form bodies: the grant type goes in the query, the client
        # credentials in HTTP Basic (RFC 6749 2.3.1). The sandbox also takes a form body.
        self.http.client.headers["Authorization"] = self.basic
        try:
            body = self.http.request(
                "POST", TOKEN_PATH, params={"grant_type": "client_credentials"}
            )
        except TokenRefused as exc:
            raise Fatal(f"Dexero refused the client credentials ({exc})") from exc
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise Fatal(f"Dexero token endpoint: expected an access_token, got {body!r}")
        lifetime = body.get("expires_in")
        seconds = float(lifetime) if isinstance(lifetime, int | float | Decimal) else 3600.0
        self.token = token
        self.expires = self.clock() + max(0.0, seconds - EXPIRY_MARGIN)
        self.issued += 1


class DexeroClient:
    """Dexero's order calls, each with a bearer token that is renewed once on a 401."""

    def __init__(self, http: DexeroHttp, tokens: TokenSource) -> None:
        self.http = http
        self.tokens = tokens

    @classmethod
    def for_account(cls, account: Account, **http_options: Any) -> DexeroClient:
        client_id = account.credentials.get("client_id")
        secret = account.credentials.get("client_secret")
        if not client_id or not secret:
            raise Fatal(
                f"channel {account.name!r}: needs client_id and client_secret credentials "
                "(client_id_env, client_secret_env in orderhub.toml)"
            )
        fmt = str(account.options.get("format", "json"))
        if fmt not in FORMATS:
            raise Fatal(f"channel {account.name!r}: format must be json or xml, got {fmt!r}")
        api = DexeroHttp.for_account(account, fmt=fmt, error_message=error_message, **http_options)
        token_http = DexeroHttp.for_account(
            account, base_url=_token_base(account), error_message=error_message, **http_options
        )
        token_http.stats = api.stats  # one count of requests for the sync metrics
        token_http.pacer = api.pacer  # and one Retry-After for the host
        clock = http_options.get("clock", time.monotonic)
        return cls(api, TokenSource(token_http, client_id, secret, clock))

    @property
    def fmt(self) -> str:
        return self.http.fmt

    def list_orders(self, name: str, params: Params) -> DexeroPage:
        """`GET orders/{name}.{format}` (pending, untreated, treated, all)."""
        return _page(self._get(f"orders/{name}.{self.fmt}", params))

    def get_order(self, order_id: int | str, params: Params = ()) -> dict[str, Any] | Any:
        """`GET orders/{id}.{format}`: one Order object (an UnreadableOrder from bad XML)."""
        body = self._get(f"orders/{order_id}.{self.fmt}", params)
        if not isinstance(body, dict | UnreadableOrder):
            raise Fatal(f"GET orders/{order_id}: expected an Order object, got {str(body)[:200]}")
        return body

    def close(self) -> None:
        self.http.close()
        self.tokens.http.close()

    def _get(self, path: str, params: Params) -> Any:
        self.http.client.headers["Authorization"] = self.tokens.bearer()
        try:
            return self.http.request("GET", path, params=list(params))
        except TokenRefused:
            self.tokens.forget()  # revoked or expired early: one new token, one more try
            self.http.client.headers["Authorization"] = self.tokens.bearer()
            return self.http.request("GET", path, params=list(params))


def _token_base(account: Account) -> str:
    """`token_url` from the options, else `/oauth/token.action` on the API's host."""
    explicit = account.options.get("token_url")
    if explicit:
        return str(explicit).removesuffix(TOKEN_PATH)
    parts = urlsplit(account.base_url)
    return f"{parts.scheme}://{parts.netloc}/"


def error_message(response: httpx.Response) -> str:
    """Dexero's `error.message` (JSON or XML), OAuth's `error_description`, else the body."""
    text = response.text
    try:
        body = json.loads(text)
        error = body.get("error")
        if isinstance(error, dict):
            return str(error.get("message") or error)
        return str(body.get("error_description") or error or text[:200])
    except (ValueError, AttributeError):
        start, end = text.find("<message>"), text.find("</message>")
        return text[start + 9 : end] if 0 <= start < end else text[:200]


def _page(body: object) -> DexeroPage:
    if not isinstance(body, dict) or not isinstance(body.get("orders"), list):
        raise Fatal(f"expected Dexero's page {{'totalResults', ..., 'orders'}}, got {body!r:.200}")
    numbers = [body.get(k) for k in ("totalResults", "startIndex", "itemsPerPage", "pageCount")]
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):
        raise Fatal(f"expected Dexero's pagination info as integers, got {numbers!r}")
    total, start, per_page, page_count = (int(n) for n in numbers)  # type: ignore[arg-type]
    return DexeroPage(body["orders"], total, start, per_page, page_count)
