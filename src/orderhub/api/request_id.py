"""X-Request-ID: taken from the client when it is a sensible token, made otherwise, returned on
every answer and written into every problem body of that request (and available to log lines
through `current_request_id`)."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from starlette.types import Message, Receive, Scope, Send

from orderhub.api.asgi import HttpMiddleware

HEADER = b"x-request-id"
#: A client's id is kept when it is 1 to 128 characters of letters, digits and `._:-`.
_ACCEPTED = re.compile(rb"[A-Za-z0-9._:-]{1,128}")
_CURRENT: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being served (None outside a request)."""
    return _CURRENT.get()


def _chosen(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == HEADER and _ACCEPTED.fullmatch(value):
            return value.decode("ascii")
    return uuid.uuid4().hex


class RequestId(HttpMiddleware):
    """Pure ASGI middleware, outermost: every http answer carries the request's id."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = _chosen(scope)
        token = _CURRENT.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != HEADER]
                message["headers"] = [*headers, (HEADER, request_id.encode("ascii"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _CURRENT.reset(token)
