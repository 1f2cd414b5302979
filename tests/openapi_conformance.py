"""Every answer a test gets from the API is checked against the app's own OpenAPI document.

`conftest.py` wraps `TestClient.request` (autouse): after each request to an operation the
document describes, schemathesis' response checks run on the answer: the status is one the
operation documents, the media type is documented for it, the body matches that response's
schema, and its documented headers are there and valid. A request to a path or method the
document does not have (an unknown route, a 405) has nothing to be checked against.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import schemathesis
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.types import Message, Receive, Scope, Send

CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
_SCHEMAS: dict[tuple[object, ...], Any] = {}


ROUTE_HEADER = "x-test-openapi-route"


class RouteRecorder:
    """Wraps an app for a TestClient: each answer says (in ROUTE_HEADER, which the client
    removes again) whether the route that took the request is in the OpenAPI document."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = scope.get("route")
                mark = "none" if route is None else str(getattr(route, "include_in_schema", 0))
                extra = (ROUTE_HEADER.encode(), mark.encode())
                message["headers"] = [*message.get("headers", ()), extra]
            await send(message)

        await self.app(scope, receive, send_marked)


def check_response(app: Any, response: httpx.Response) -> None:
    """Raise (a schemathesis failure naming what differs) unless the answer is documented."""
    if response.headers.pop(ROUTE_HEADER, "none") == "False":
        return  # a route the document leaves out, e.g. the alias /v1/orders.xml
    request = response.request
    path = request.url.path
    schema = _schema(app)
    operation = schema.find_operation_by_path(request.method, path)
    if operation is None or (operation.path != path and path in schema.raw_schema["paths"]):
        return  # no such operation: a 404 or a 405 (PUT /v1/orders/search is not an order id)
    query = parse_qs(request.url.query.decode(), keep_blank_values=True)
    case = operation.Case(
        path_parameters=_path_parameters(operation.path, path),
        query={name: values if len(values) > 1 else values[0] for name, values in query.items()},
        headers=dict(request.headers),
    )
    case.validate_response(response, checks=CHECKS)


def _schema(app: Any) -> Any:
    """The app's document, loaded once per set of routers: loading takes a second, and each
    test makes its own app from the same routers."""
    key = tuple(
        id(route.original_router) if hasattr(route, "original_router") else route.path
        for route in app.routes
    )
    if key not in _SCHEMAS:
        _SCHEMAS[key] = schemathesis.openapi.from_dict(app.openapi())
    return _SCHEMAS[key]


def _path_parameters(template: str, path: str) -> dict[str, str]:
    names = template.strip("/").split("/")
    values = urlsplit(path).path.strip("/").split("/")
    return {
        name[1:-1]: value
        for name, value in zip(names, values, strict=False)
        if name.startswith("{") and name.endswith("}")
    }
