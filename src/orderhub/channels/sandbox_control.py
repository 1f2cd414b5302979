"""The control endpoint every sandbox serves under `/_sandbox/` (not the channel's API: never
faulted, counted, throttled or authenticated), to drive it while it runs:

- `POST /_sandbox/life`: order life by count: `?steps=N` (whole steps, as `--life-interval`
  runs them), or moves by name in the query or a JSON body (`{"create_orders": 100,
  "pay": 5}`); answers the ids changed and, per name, how much was done;
- `GET|PUT|DELETE /_sandbox/faults`: the faults in force; PUT takes a spec as `--faults` does
  (text body, or `?spec=`) or a JSON object (`{"spec": "429=1"}` or `{"429": 1,
  "retry_after": 5}`), with `for` seconds (JSON key or query) after which the faults before
  come back; DELETE clears every fault;
- `GET /_sandbox/stats`: traffic, faults injected, orders, life done.

A bad parameter raises the channel's own 400 (`invalid(message)`), the message naming it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from orderhub.channels.sandbox_faults import FaultSpec, duration, faults_from_mapping
from orderhub.channels.sandbox_state import STEPS, SandboxState
from orderhub.domain.jsonfmt import dumps

#: The most steps, or orders moved, one name of one request asks for.
MAX_COUNT = 10_000
#: Builds the channel's own 400 error for a message that names the bad parameter.
Invalid = Callable[[str], Exception]
_SPEC_EXAMPLE = "a fault spec such as 429=1,retry_after=5 or a JSON object"


def control_routes(sandbox: SandboxState, invalid: Invalid) -> list[Route]:
    """The shared control routes, for a channel's app to list beside its own."""

    async def life(request: Request) -> Response:
        counts = life_counts(request.query_params, await request.body(), sandbox, invalid)
        return _json(sandbox.run_life(counts).json())

    async def stats(request: Request) -> Response:
        return _json(sandbox.stats())

    async def faults(request: Request) -> Response:
        return _json(sandbox.live_faults.state())

    async def set_faults(request: Request) -> Response:
        spec, seconds = fault_request(request.query_params, await request.body(), invalid)
        sandbox.live_faults.set(spec, seconds)
        return _json(sandbox.live_faults.state())

    async def clear_faults(request: Request) -> Response:
        sandbox.live_faults.clear()
        return _json(sandbox.live_faults.state())

    return [
        Route("/_sandbox/life", life, methods=["POST"]),
        Route("/_sandbox/stats", stats, methods=["GET"]),
        Route("/_sandbox/faults", faults, methods=["GET"]),
        Route("/_sandbox/faults", set_faults, methods=["PUT"]),
        Route("/_sandbox/faults", clear_faults, methods=["DELETE"]),
    ]


def life_counts(
    query: QueryParams, body: bytes, sandbox: SandboxState, invalid: Invalid
) -> list[tuple[str, int]]:
    """(name, count) pairs from the query then the JSON body; one step when neither has any."""
    pairs: list[tuple[str, Any]] = list(query.multi_items())
    if body.strip():
        document = _json_object(body, invalid, '{"create_orders": 10}')
        pairs += list(document.items())
    if not pairs:
        return [(STEPS, 1)]
    known = sandbox.life_actions()
    seen: set[str] = set()
    counts: list[tuple[str, int]] = []
    for name, raw in pairs:
        if name not in known:
            raise invalid(f"{name}: not a life action of this sandbox (known: {', '.join(known)})")
        if name in seen:
            raise invalid(f"{name}: given twice")
        seen.add(name)
        counts.append((name, _count(name, raw, invalid)))
    return counts


def _count(name: str, raw: object, invalid: Invalid) -> int:
    text = raw if isinstance(raw, str) else None
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif text is not None and text.isascii() and text.isdigit() and len(text) <= 6:
        value = int(text)
    else:
        value = 0
    if not 1 <= value <= MAX_COUNT:
        raise invalid(f"{name}: expected a whole number from 1 to {MAX_COUNT}, got {raw!r}")
    return value


def fault_request(
    query: QueryParams, body: bytes, invalid: Invalid
) -> tuple[FaultSpec, float | None]:
    """The spec and `for` of `PUT /_sandbox/faults`: a JSON object, or a spec as text (in the
    body or `?spec=`) with `?for=`."""
    try:
        if body.lstrip().startswith(b"{"):
            if "for" in query or "spec" in query:
                raise ValueError("for: give spec and for in the JSON body, not in the query")
            return faults_from_mapping(_json_object(body, invalid, '{"spec": "429=1"}'))
        text = _text(body, invalid) if body.strip() else query.get("spec", "")
        if not text.strip():
            raise ValueError(f"spec: expected {_SPEC_EXAMPLE}, got nothing")
        seconds = duration(query["for"]) if "for" in query else None
        return FaultSpec.parse(text), seconds
    except ValueError as exc:
        raise invalid(str(exc)) from None


def _json_object(body: bytes, invalid: Invalid, example: str) -> dict[str, Any]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        document = None
    if not isinstance(document, dict):
        raise invalid(f"body: expected a JSON object such as {example}")
    return document


def _text(body: bytes, invalid: Invalid) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid(f"body: expected {_SPEC_EXAMPLE} in UTF-8") from None


def _json(body: Any) -> Response:
    return Response(dumps(body), media_type="application/json")
