"""The media type of a request body: a body in a type the route does not read is a 415.

Without this check a `curl -X PUT -d '{...}'` (curl's default type is a form) was read as JSON
anyway; now it is refused with a problem naming the type sent and the types the route reads.
A body sent with no Content-Type at all is read as JSON, as before.
"""

from __future__ import annotations

import orjson
from fastapi import Depends, Request

from orderhub.domain import InvalidInput

JSON = "application/json"


class UnsupportedMediaType(InvalidInput):
    status_code = 415
    title = "Unsupported media type"

    def __init__(self, sent: str, accepted: tuple[str, ...]) -> None:
        super().__init__("Content-Type", " or ".join(accepted), sent)


def media_type(header: str) -> str:
    """`Application/JSON; charset=utf-8` -> `application/json`."""
    return header.partition(";")[0].strip().lower()


def is_json(kind: str) -> bool:
    return kind == JSON or (kind.startswith("application/") and kind.endswith("+json"))


def json_body(raw: bytes, example: str) -> object:
    """The body parsed as JSON; a 400 naming `body`, with an example, when it is not JSON."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidInput("body", f"a JSON object, e.g. {example}") from None


def check_json_body(request: Request) -> None:
    """Refuse a body whose Content-Type is not JSON (`application/json` or `...+json`)."""
    header = request.headers.get("content-type")
    if header is not None and not is_json(media_type(header)):
        raise UnsupportedMediaType(header[:100], (JSON,))


#: `dependencies=[JSON_BODY]` on a route that reads a JSON body.
JSON_BODY = Depends(check_json_body)
