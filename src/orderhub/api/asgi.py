"""What the API's pure ASGI middlewares share: they act on http requests alone, and some of
them note the status of the answer they pass on."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HttpMiddleware:
    """Pure ASGI middleware: `handle` sees every http request; other scopes pass straight on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.handle(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class StatusNotingSend:
    """A `send` that notes the answer's status on its way out."""

    def __init__(self, send: Send) -> None:
        self._send = send
        # What the client gets when the app raises before answering: the server's 500.
        self.status = 500

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        await self._send(message)
