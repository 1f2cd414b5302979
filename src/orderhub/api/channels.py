"""Thin routes for channel accounts: their sync state and health, last run metrics, quarantine."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from orderhub.api.auth import READ, require
from orderhub.api.limits import one_value
from orderhub.api.paging import LINK_HEADER_DOC, link_header, offset_links
from orderhub.api.problems import request_format
from orderhub.api.render import OK, render
from orderhub.api.schemas import ChannelList, OneChannel, QuarantinePage, answer, problems
from orderhub.domain import InvalidInput
from orderhub.domain.clock import SYSTEM_CLOCK, Clock
from orderhub.domain.jsonfmt import fields_document
from orderhub.services import channels as service
from orderhub.settings import get_settings

router = APIRouter(prefix="/v1", tags=["channels"])
MAX_PAGE_SIZE = 1000
MAX_PAGE = 10_000_000
_QUARANTINE_QUERY = [
    {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "integer", "minimum": 1, "maximum": largest},
    }
    for name, description, largest in (
        ("page", "1-based page number.", MAX_PAGE),
        ("page_size", "Records per page (default 50).", MAX_PAGE_SIZE),
    )
]


@router.get(
    "/channels",
    response_model=None,
    responses={**answer(ChannelList, "Every account", xml=True), **problems()},
    dependencies=[require(READ)],
    summary="Channel accounts with their sync state, health and last run's metrics",
)
def list_channels(request: Request) -> Response:
    views = service.overview(request.app.state.engine, _configs(request), _clock(request))
    data = [service.channel_document(view) for view in views]
    body, media_type = render({"data": data, "result": OK}, request_format(request), "channels")
    return Response(body, media_type=media_type)


@router.get(
    "/channels/{name}",
    response_model=None,
    responses={**answer(OneChannel, "The account", xml=True), **problems(404)},
    dependencies=[require(READ)],
    summary="One channel account with its sync state, health and last run's metrics",
)
def get_channel(name: str, request: Request) -> Response:
    engine = request.app.state.engine
    view = service.channel(engine, _configs(request), name, _clock(request))
    document = {"data": service.channel_document(view), "result": OK}
    body, media_type = render(document, request_format(request), "channel")
    return Response(body, media_type=media_type)


@router.get(
    "/channels/{name}/quarantine",
    response_model=None,
    responses={
        **answer(QuarantinePage, "Records, newest first", xml=True, headers=LINK_HEADER_DOC),
        **problems(404),
    },
    openapi_extra={"parameters": _QUARANTINE_QUERY},
    dependencies=[require(READ)],
    summary="Records of a channel that could not be decoded, with their raw payloads",
)
def list_quarantine(name: str, request: Request) -> Response:
    page = _positive(request, "page", 1, MAX_PAGE)
    page_size = _positive(request, "page_size", 50, MAX_PAGE_SIZE)
    engine = request.app.state.engine
    service.known_channel(engine, _configs(request), name)
    records, total = service.quarantined(engine, name, page, page_size)
    pages = -(-total // page_size)
    document = {
        "data": [fields_document(r) for r in records],
        "result": OK,
        "paging": {
            "total": total,
            "pages": pages,
            "size": page_size,
            "page": page,
            "has_next": page < pages,
        },
    }
    body, media_type = render(document, request_format(request), "quarantine")
    links = offset_links(request, page, pages)
    return Response(body, media_type=media_type, headers=link_header(links))


def _clock(request: Request) -> Clock:
    return getattr(request.app.state, "clock", SYSTEM_CLOCK)


def _configs(request: Request) -> list[service.ChannelConfig]:
    path = getattr(request.app.state, "config_file", None) or get_settings().config_file
    return service.load_config(path)


def _positive(request: Request, name: str, default: int, largest: int) -> int:
    raw = one_value(request, name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9 or not 1 <= int(raw) <= largest:
        raise InvalidInput(name, f"an integer from 1 to {largest}", raw[:40])
    return int(raw)
