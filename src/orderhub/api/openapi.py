"""What FastAPI cannot say about the API by itself, added to the generated OpenAPI document.

- ids in paths are 64-bit integers, channel names have a grammar;
- every error is an RFC 9457 problem (`application/problem+json`, or `+xml` when XML was
  asked for), and bad input is a 400, never FastAPI's 422 (its schemas are dropped too);
- the answers any route can give: 400, 413, 414, 431 (api/limits.py), and under /v1 401, 403
  and 429 (api/auth.py), with their headers (WWW-Authenticate, Retry-After, RateLimit);
- every answer's X-Request-ID;
- Idempotency-Key on the writes (api/idempotency.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from orderhub.api import idempotency
from orderhub.api.schemas import EXAMPLE_TEXT
from orderhub.domain.tags import TAG_INPUT
from orderhub.query.values import INT64_MAX

#: Path parameters that are 64-bit ids (the routes read them as text: `42.xml` works too).
PATH_IDS = ("order_id", "subscription_id", "delivery_id", "job_id")
#: A channel account's name as orderhub.toml may give it (an unknown one is a 404).
CHANNEL_NAME = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
#: A tag in a path, as a client may write it (upper case is lowered; docs/tags.md).
TAG = f"^{TAG_INPUT}$"
_PROBLEM = {"schema": {"$ref": "#/components/schemas/Problem"}}
PROBLEM_CONTENT = {"application/problem+json": _PROBLEM, "application/problem+xml": _PROBLEM}
_TEXT = {"type": "string"}
_RATE_LIMIT = {
    "RateLimit-Policy": {"description": 'The key\'s daily quota: `"daily";q=N;w=86400`.'},
    "RateLimit": {"description": 'What is left of it: `"daily";r=N;t=SECONDS`.'},
}
_REQUEST_ID = {
    "X-Request-ID": {
        "description": "The client's X-Request-ID (1-128 of letters, digits, `._:-`) or one the "
        "hub made; also in every log line and problem body of the request.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 128},
    }
}
_EVERY_ROUTE: dict[str, dict[str, Any]] = {
    "400": {"description": "A parameter is not what was expected (the problem names it)."},
    "413": {"description": "The body is larger than the cap (docs/api.md, Limits)."},
    "414": {"description": "The path and query string are longer than the cap."},
    "431": {"description": "Too many headers, or too large."},
}
_KEYED_ROUTE: dict[str, dict[str, Any]] = {
    "401": {
        "description": "No valid API key.",
        "headers": {
            "WWW-Authenticate": {
                "description": 'RFC 6750: `Bearer realm="orderhub"`, with an error when a key '
                "was sent.",
                "required": True,
                "schema": _TEXT,
            }
        },
    },
    "403": {"description": "The key lacks a scope this route needs (the problem names it)."},
    "429": {
        "description": "The key's daily quota is spent.",
        "headers": {
            "Retry-After": {
                "description": "Seconds until the quota's day starts again (UTC).",
                "required": True,
                "schema": {"type": "integer", "minimum": 0},
            },
            **{name: {**d, "required": True, "schema": _TEXT} for name, d in _RATE_LIMIT.items()},
        },
    },
}
#: FastAPI's validation error schemas: never answered (a validation error is a 400 problem).
_UNUSED_SCHEMAS = ("HTTPValidationError", "ValidationError")


def finish_openapi(document: dict[str, Any], guarded: Callable[[str], bool]) -> dict[str, Any]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            _typed_path_parameters(operation)
            idempotency.declare(method, path, operation)
            _finish_responses(operation["responses"], keyed=guarded(path))
    schemas = document.get("components", {}).get("schemas", {})
    for name in _UNUSED_SCHEMAS:
        schemas.pop(name, None)
    return document


def _typed_path_parameters(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        if parameter["in"] != "path":
            continue
        if parameter["name"] == "name":
            parameter["schema"] = {"type": "string", "pattern": CHANNEL_NAME}
        if parameter["name"] == "tag":
            parameter["schema"] = {"type": "string", "pattern": TAG}
        if parameter["name"] in PATH_IDS:
            parameter["schema"] = {
                "type": "integer",
                "format": "int64",
                "minimum": 1,
                "maximum": INT64_MAX,
            }


def _finish_responses(responses: dict[str, Any], *, keyed: bool) -> None:
    responses.pop("422", None)
    common = _EVERY_ROUTE | (_KEYED_ROUTE if keyed else {})
    for code, response in common.items():
        responses.setdefault(code, {}).update(
            {k: v for k, v in response.items() if k not in responses[code]}
        )
    for code, response in responses.items():
        for media in response.get("content", {}).values():
            if EXAMPLE_TEXT in media:
                media["example"] = json.loads(media.pop(EXAMPLE_TEXT))
        headers = response.setdefault("headers", {})
        headers.update(_REQUEST_ID)
        if keyed and code.startswith("2"):
            headers.update({name: {**doc, "schema": _TEXT} for name, doc in _RATE_LIMIT.items()})
        if code.startswith(("4", "5")):
            response["content"] = PROBLEM_CONTENT
