"""Errors on web paths as pages in words (404, 403, 500), never a stack trace; /v1 and the
API's other paths keep their problem documents."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from orderhub.domain import NotFound, OrderhubError
from orderhub.web.templating import page

#: Paths answered as the API answers (problem documents), whatever the client accepts.
_API_PREFIXES = ("/v1", "/metrics", "/healthz", "/readyz", "/openapi.json", "/docs", "/redoc")


def is_web_path(path: str) -> bool:
    """Whether a path belongs to the web UI rather than to the API."""
    return not any(path == p or path.startswith(p + "/") for p in _API_PREFIXES)


def install(app: FastAPI) -> None:
    """Wrap the API's handlers: on a web path the same error becomes a page."""
    handlers: dict[Any, Any] = dict(app.exception_handlers)
    for kind in (HTTPException, RequestValidationError, NotFound, OrderhubError, Exception):
        app.add_exception_handler(kind, _web_or(handlers[_nearest(handlers, kind)]))


def _nearest(handlers: dict[Any, Any], kind: type) -> type:
    for base in kind.__mro__:
        if base in handlers:
            return base
    return Exception


def _web_or(api_handler: Any) -> Any:
    async def handle(request: Request, exc: Exception) -> Response:
        if not is_web_path(request.url.path):
            return await api_handler(request, exc)
        return error_page(request, exc)

    return handle


def error_page(request: Request, exc: Exception) -> Response:
    """The page for an error on a web path: what happened, in words, and where to go."""
    if isinstance(exc, HTTPException) and exc.status_code in (302, 303, 307):
        return Response(status_code=exc.status_code, headers=exc.headers)
    if isinstance(exc, HTTPException):
        status, title = exc.status_code, _TITLES.get(exc.status_code, "Something went wrong")
        detail = str(exc.detail) if exc.status_code != 404 else _NOT_FOUND
    elif isinstance(exc, RequestValidationError):
        status, title, detail = 400, "That did not work", _bad_values(exc)
    elif isinstance(exc, NotFound):
        status, title, detail = 404, "Not found", str(exc)
    elif isinstance(exc, OrderhubError):
        status, title, detail = 400, "That did not work", str(exc)
    else:
        status, title = 500, "Something went wrong"
        detail = "The server failed; the error has been logged. Try again, or go back."
    return page(request, "error.html", status=status, title=title, detail=detail)


def _bad_values(exc: RequestValidationError) -> str:
    """A value in the address or form the page cannot use, named with what it expected."""
    named = [
        f"{'.'.join(str(p) for p in error.get('loc', ())[1:]) or 'value'}: {error.get('msg', '')}"
        for error in exc.errors()
    ]
    return "This address or form has a value the page cannot use (" + "; ".join(named) + ")."


_NOT_FOUND = "There is no page at this address. Check the link, or start from the dashboard."
_TITLES = {
    400: "That did not work",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed here",
}
