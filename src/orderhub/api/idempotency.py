"""`Idempotency-Key` on every POST, PUT and PATCH under /v1 that an API key guards
(docs/idempotency.md; the rules are services/idempotency.py's).

`IdempotencyMiddleware` is pure ASGI and sits inside the API key check (api/auth.py), so it
knows the key, and outside the routes, so it sees each answer whole. For a request with the
header it reads the body, claims the key in the database (shared by every process) and then
either replays the stored answer, with `Idempotent-Replayed: true`, without running anything;
or answers a 409 problem naming the header; or runs the request and stores its answer before
sending it, so a client that has the answer finds it stored when it retries. `declare` adds
the header, the 409 and `Idempotent-Replayed` to those operations in the OpenAPI document.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import anyio
from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderhub.api.asgi import HttpMiddleware
from orderhub.api.auth import current_key, guarded
from orderhub.api.problems import orderhub_problem, problem
from orderhub.domain import OrderhubError
from orderhub.domain.clock import Clock
from orderhub.services import idempotency as service
from orderhub.services.idempotency import HEADER, Answer, KeyTaken

log = logging.getLogger(__name__)

METHODS = frozenset({"POST", "PUT", "PATCH"})
REPLAYED = "Idempotent-Replayed"
#: The headers stored with an answer's body; the others (X-Request-ID, RateLimit, ...) are
#: the retry's own, added around this middleware.
STORED_HEADERS = frozenset({b"content-type", b"etag", b"location"})
#: How often (seconds, per process) the keys whose 24 hours are over are deleted.
PURGE_EVERY = 600.0
_HEADER = HEADER.lower().encode()
#: What names a claim: the engine, the API key's id, the Idempotency-Key, the claim's owner.
_Claim = tuple[Any, int, str, str]
_PATHS = "idempotency_paths"  # app.state: the operations that take a key

PARAMETER = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": "Makes the request safe to retry: for 24 hours the same key with the same "
    "method, path, query string and body gets the first answer again (with "
    "`Idempotent-Replayed: true`) and nothing runs twice. Scoped to the API key; "
    "docs/idempotency.md.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}
_REPLAYED_DOC = {
    "description": "`true` when this is the stored answer of an earlier request with the same "
    "Idempotency-Key (nothing ran again).",
    "schema": {"type": "string", "enum": ["true"]},
}
_CONFLICT = (
    "The Idempotency-Key is in use: by a request still running "
    "(`idempotency-key-in-use`: retry in a moment), or by another request "
    "(`idempotency-key-reused`: use a new key). The problem names the header."
)


def takes_key(method: str, path: str) -> bool:
    """Whether an operation honours Idempotency-Key (the inbound channel webhook has no API
    key to scope one to, and is not a client's write)."""
    return method.upper() in METHODS and guarded(path) and path.startswith("/v1/")


def declare(method: str, path: str, operation: dict[str, Any]) -> None:
    """Document Idempotency-Key on an operation that takes one (api/openapi.py calls this)."""
    if not takes_key(method, path):
        return
    operation.setdefault("parameters", []).append(PARAMETER)
    responses = operation["responses"]
    if "409" in responses:
        responses["409"]["description"] += " Or: " + _CONFLICT
    else:
        responses["409"] = {"description": _CONFLICT}
    for code, response in responses.items():
        if code.isdigit() and service.kept(int(code)):
            response.setdefault("headers", {})[REPLAYED] = _REPLAYED_DOC


def install(app: FastAPI) -> None:
    """Add the middleware; call before `auth.install`, whose key check must run first."""
    app.add_middleware(IdempotencyMiddleware)


class IdempotencyMiddleware(HttpMiddleware):
    """A write sent with an Idempotency-Key runs once (docs/idempotency.md)."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app)
        self._purge_due: float | None = None

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        values = [v.decode("latin-1") for k, v in scope["headers"] if k == _HEADER]
        if (
            not values
            or not takes_key(scope["method"], scope["path"])
            or not _documented_route(scope)
        ):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            api_key_id = current_key(request).id
            key = service.parse_key(values)
            body = await _read_body(receive)  # a body over the cap raises (api/limits.py)
        except OrderhubError as exc:
            await orderhub_problem(request, exc)(scope, receive, send)
            return
        if body is None:
            return  # the client left before it sent its body
        engine, clock = request.app.state.engine, request.app.state.clock
        await self._purge_now_and_then(engine, clock)
        fingerprint = service.fingerprint(
            scope["method"], scope["path"], scope["query_string"], body
        )
        try:
            outcome = await run_in_threadpool(
                service.claim, engine, api_key_id, key, fingerprint, clock.now()
            )
        except KeyTaken as exc:
            errors = [{"parameter": HEADER, "expected": exc.expected}]
            kind = "idempotency-key-in-use" if exc.running else "idempotency-key-reused"
            refusal = problem(request, 409, exc.title, str(exc), kind, errors=errors)
            await refusal(scope, receive, send)
            return
        if isinstance(outcome, Answer):
            await _replay(outcome)(scope, receive, send)
            return
        claim = (engine, api_key_id, key, outcome.owner)
        await self._run(scope, _body_then(body, receive), send, claim)

    async def _run(self, scope: Scope, receive: Receive, send: Send, claim: _Claim) -> None:
        """Run the claimed request; store its answer (or free the key), then send it."""
        messages: list[Message] = []

        async def keep(message: Message) -> None:
            messages.append(message)

        try:
            await self.app(scope, receive, keep)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await _quietly(service.release, *claim)
            raise
        answer = _answer(messages)
        if answer is not None and service.kept(answer.status):
            await _quietly(service.finish, *claim, answer)
        else:
            await _quietly(service.release, *claim)
        for message in messages:
            await send(message)

    async def _purge_now_and_then(self, engine: Any, clock: Clock) -> None:
        now = clock.monotonic()
        if self._purge_due is not None and now < self._purge_due:
            return
        self._purge_due = now + PURGE_EVERY
        await _quietly(service.purge_expired, engine, clock.now())


def _documented_route(scope: Scope) -> bool:
    """Whether the request is one of the operations the OpenAPI document gives the header (a
    path the router sends elsewhere, such as PUT /v1/orders/search, answers a 405: not kept)."""
    app = scope["app"]
    paths: dict[str, list[re.Pattern[str]]] | None = getattr(app.state, _PATHS, None)
    if paths is None:
        paths = {}
        for template, item in app.openapi()["paths"].items():
            pattern = re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)))
            for method in item:
                if takes_key(method, template):
                    paths.setdefault(method.upper(), []).append(pattern)
        setattr(app.state, _PATHS, paths)
    return any(p.fullmatch(scope["path"]) for p in paths.get(scope["method"], ()))


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _body_then(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the body read already, then whatever the client sends next."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _answer(messages: list[Message]) -> Answer | None:
    starts = [m for m in messages if m["type"] == "http.response.start"]
    if not starts:
        return None
    headers = tuple(
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, value in starts[0].get("headers", ())
        if name.lower() in STORED_HEADERS
    )
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return Answer(starts[0]["status"], headers, body)


def _replay(answer: Answer) -> Response:
    headers = {**dict(answer.headers), REPLAYED: "true"}
    return Response(answer.body, answer.status, headers)


async def _quietly(call: Callable[..., object], *args: Any) -> None:
    """Run a write of the key's row; if the database fails, the answer still goes out (a
    claim that was not released lapses after its lease, docs/idempotency.md)."""
    try:
        await run_in_threadpool(call, *args)
    except Exception:
        log.exception("Idempotency-Key: %s failed", getattr(call, "__name__", call))
