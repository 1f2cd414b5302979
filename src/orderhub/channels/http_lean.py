"""A channel request sent past httpx.Client's request and response objects, the same bytes.

`httpx.Client` builds a `Request` (three URL parses, header and parameter merges) and a
`Response` for every request: about 280 us of CPU a request on the benchmark machine, where
the exchange itself (`http.client`, the body, orjson) costs about 110 us. A MALL sync sends some
190 detail calls and confirming PUTs per 1,000 orders (docs/performance.md "Sync").

`LeanRequests` sends what httpx would send for the requests channel clients make (a relative
path of plain segments, the client's parameters with the request's, a JSON body or none) over
`KeepAliveTransport` directly: the request line and headers as httpx writes them (taken from
one request httpx builds at the start), the JSON as httpx encodes it. A successful plain answer
comes back as a `LeanAnswer` (status, httpx `Headers`, body); an error status, a compressed
body or a cookie makes it httpx's `Response` to httpx's request, as the client would have, so
error messages, decoding and the cookie jar stay httpx's. Anything else (another path, a
cookie to send, a body-less PUT) is not taken: `ChannelHttp` sends it through httpx.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from orderhub.channels.http_transport import Body, KeepAliveTransport, as_response, origin_of

#: A path of plain segments: httpx writes it unchanged (nothing to quote or normalise).
_PLAIN_PATH = re.compile(r"[A-Za-z0-9_~-]+(?:/[A-Za-z0-9_~-]+)*")
#: Methods httpx gives a `Content-Length: 0` when they carry no body.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_JSON_HEADERS = ("content-length", "content-type")
_JSON = "application/json"
_HTTPX_LOG = logging.getLogger("httpx")

#: Reads an answer's body whole from its headers and chunks (`ChannelHttp`'s capped read);
#: the first argument names the request in its errors.
BodyReader = Callable[[str, httpx.Headers, Iterable[bytes]], bytes]


@dataclass(frozen=True, slots=True)
class LeanAnswer:
    """A successful answer read whole: what `ChannelHttp` reads of it."""

    status_code: int
    headers: httpx.Headers
    content: bytes


class LeanRequests:
    """Requests of one httpx client sent over its `KeepAliveTransport` (see the module)."""

    def __init__(self, client: httpx.Client, transport: KeepAliveTransport) -> None:
        self.client = client
        self.transport = transport
        template = client.build_request("GET", "")
        self.origin = origin_of(template.url)
        self.base_path = client.base_url.raw_path.decode("ascii")
        self.head = list(template.headers.multi_items())
        self.query = str(client.params)
        self.usable = not client.base_url.query and not client.auth

    def takes(self, method: str, path: str, json_body: Any) -> bool:
        """Whether this sends the request as httpx would (else httpx sends it)."""
        return (
            self.usable
            and (json_body is not None or method not in _BODY_METHODS)
            and _PLAIN_PATH.fullmatch(path) is not None
            and not self.client.cookies
            and not self.client.is_closed
        )

    def send(
        self, method: str, path: str, params: Any, json_body: Any, where: str, read: BodyReader
    ) -> LeanAnswer | httpx.Response:
        """Send; a successful plain answer read whole with `read`, else httpx's response
        (its body still to read)."""
        query = self.query if params is None else str(self.client.params.merge(params))
        target = f"{self.base_path}{path}?{query}" if query else f"{self.base_path}{path}"
        headers, body = self.head, None
        if json_body is not None:
            body = _json_bytes(json_body)
            headers = [*headers, (_JSON_HEADERS[0], str(len(body))), (_JSON_HEADERS[1], _JSON)]
        answer, stream = self.transport.exchange(self.origin, method, target, body, headers, None)
        received = httpx.Headers(answer.getheaders())
        if answer.status >= 400 or "content-encoding" in received or "set-cookie" in received:
            return self._as_httpx(answer, stream, method, path, params, json_body)
        if _HTTPX_LOG.isEnabledFor(logging.INFO):
            url = self.client.base_url.copy_with(raw_path=target.encode("ascii"))
            _log(method, url, answer.status, answer.reason)
        try:
            content = read(where, received, stream)
        finally:
            stream.close()
        return LeanAnswer(answer.status, received, content)

    def _as_httpx(
        self, answer: Any, stream: Body, method: str, path: str, params: Any, json_body: Any
    ) -> httpx.Response:
        """What `Client.send` makes of the answer: httpx's response to httpx's request."""
        request = self.client.build_request(method, path, params=params, json=json_body)
        response = as_response(answer, stream, request)
        self.client.cookies.extract_cookies(response)
        response.default_encoding = "utf-8"  # httpx.Client's default, not changed here
        _log(method, request.url, answer.status, answer.reason)
        return response


def _json_bytes(value: Any) -> bytes:
    # httpx's `encode_json` (httpx 0.28), byte for byte.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _log(method: str, url: httpx.URL, status: int, reason: str) -> None:
    # The line httpx.Client logs at INFO for each request.
    _HTTPX_LOG.info('HTTP Request: %s %s "%s %d %s"', method, url, "HTTP/1.1", status, reason)
