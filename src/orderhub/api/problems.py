"""One error handler: every orderhub error and every bad request becomes an RFC 9457 problem."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Match

from orderhub.api.render import Format, to_json, to_xml
from orderhub.api.request_id import current_request_id
from orderhub.domain import InvalidInput, OrderhubError, TransitionRefused

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_XML = "application/problem+xml"
TYPE_BASE = "https://orderhub.dev/problems/"


def problem(
    request: Request,
    status: int,
    title: str,
    detail: str,
    kind: str,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    body = {
        "type": TYPE_BASE + kind,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    if (request_id := current_request_id()) is not None:
        body["request_id"] = request_id
    if status < 500:  # a 5xx is logged with its traceback where it is caught
        log.info("problem %s %s: %s", status, title, detail)
    if wants_xml(request):
        return Response(to_xml("problem", body), status, headers, PROBLEM_XML)
    return Response(to_json(body), status, headers, PROBLEM_JSON)


def wants_xml(request: Request) -> bool:
    path: str = request.scope["path"]
    if "?" in path or "#" in path:  # decoded from %3F / %23: the URL's path ends before them
        path = request.url.path
    if path.endswith(".xml"):  # the scope's path, not the URL: parsing it cost ~10 % of a lookup
        return True
    accept = request.headers.get("accept", "")
    return ("application/xml" in accept or "text/xml" in accept) and "json" not in accept


def request_format(request: Request) -> Format:
    return Format.XML if wants_xml(request) else Format.JSON


async def _orderhub_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OrderhubError)
    return orderhub_problem(request, exc)


def orderhub_problem(
    request: Request, exc: OrderhubError, headers: Mapping[str, str] | None = None
) -> Response:
    """The problem for one of orderhub's errors (also for middleware, outside the handlers)."""
    extra: dict[str, Any] = {}
    if isinstance(exc, InvalidInput):
        extra["errors"] = [{"parameter": exc.parameter, "expected": exc.expected}]
    if isinstance(exc, TransitionRefused):
        extra["allowed"] = [str(s) for s in exc.allowed]
    kind = type(exc).__name__.lower()
    return problem(request, exc.status_code, exc.title, str(exc), kind, headers, **extra)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ())]
        if location[:1] and location[0] in ("query", "path", "body"):
            location = location[1:]  # where it was; a field of the body may be named `query`
        if error.get("type") == "json_invalid":
            location = []  # the location is a character offset, not a field
        errors.append({"parameter": ".".join(location) or "body", "expected": error.get("msg", "")})
    detail = "; ".join(f"{e['parameter']}: {e['expected']}" for e in errors)
    return problem(request, 400, "Invalid parameter", detail, "invalidinput", errors=errors)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    extra: dict[str, Any] = {}
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    if exc.status_code == 400:  # FastAPI's only 400: a body it could not read
        extra["errors"] = [{"parameter": "body", "expected": "a JSON body in UTF-8"}]
    return problem(
        request,
        exc.status_code,
        str(exc.detail),
        str(exc.detail),
        "http",
        headers=headers,
        **extra,
    )


def allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at this path (starlette names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
        if "GET" in methods:
            methods.add("HEAD")
    return sorted(methods)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s", request.url.path, exc_info=exc)
    return problem(
        request, 500, "Internal error", "The server failed; it has been logged.", "internal"
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(OrderhubError, _orderhub_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
