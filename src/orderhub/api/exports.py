"""Thin export routes: `GET /v1/orders.csv` and `GET /v1/orders.ndjson` (docs/exports.md).

Every parameter is checked before the answer starts (a bad one is a 400 problem, nothing
streamed); the body is then streamed batch by batch from `services/exports.py`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import StreamingResponse

from orderhub.api.auth import READ, require
from orderhub.api.query_params import query_parameters
from orderhub.api.schemas import problems
from orderhub.services.exports import (
    FIELDS,
    LINE_MODES,
    LINES,
    PAGING,
    ExportFormat,
    all_field_names,
    parse_export,
    start_export,
)
from orderhub.services.views import expand

router = APIRouter(prefix="/v1", tags=["exports"])

_EXAMPLES = {
    ExportFormat.CSV: (
        "id,channel,external_id,status,total,currency,lines\r\n"
        "1,mall-cz,1001,open,677.95,CZK,KB-1 x 2; MUG x 1\r\n"
    ),
    ExportFormat.NDJSON: (
        '{"id":1,"channel":"mall-cz","external_id":"1001","status":"open","total":677.95}\n'
        '{"id":2,"channel":"cdon-se","external_id":"A-7","status":"shipped","total":99.00}\n'
    ),
}
_DISPOSITION = {
    "Content-Disposition": {
        "description": "`attachment; filename=orders-<UTC time>.csv` (or `.ndjson`).",
        "required": True,
        "schema": {"type": "string"},
    }
}


def _parameters(fmt: ExportFormat) -> list[dict[str, Any]]:
    names = "|".join(all_field_names(fmt))
    line_names = "the `line_*` columns" if fmt is ExportFormat.CSV else "`line`"
    own = [
        {
            "name": FIELDS,
            "in": "query",
            "required": False,
            "description": "Comma-separated columns, in this order (docs/exports.md lists "
            f"them); {line_names} only with lines=rows. Default: the documented set.",
            "schema": {"type": "string", "pattern": f"^({names})(,({names}))*$"},
        },
        {
            "name": LINES,
            "in": "query",
            "required": False,
            "description": "flat (default): one row per order, lines summed up in one cell; "
            "rows: one row per order line, the order's columns repeated.",
            "schema": {"type": "string", "enum": list(LINE_MODES)},
        },
    ]
    return [p for p in query_parameters() if p["name"] not in (*PAGING, FIELDS)] + own


def _responses(fmt: ExportFormat) -> dict[int | str, dict[str, Any]]:
    media = fmt.media_type.partition(";")[0]
    return {
        200: {
            "description": f"Every matching order as {fmt.value.upper()}, streamed "
            "(docs/exports.md).",
            "content": {media: {"schema": {"type": "string"}, "example": _EXAMPLES[fmt]}},
            "headers": _DISPOSITION,
        },
        **problems(),
    }


def _export(request: Request, fmt: ExportFormat) -> StreamingResponse:
    engine = request.app.state.engine
    spec = parse_export(expand(engine, request.query_params.multi_items()), fmt)
    export = start_export(engine, spec)
    name = spec.filename(request.app.state.clock.now())
    return StreamingResponse(
        export.chunks(),
        media_type=fmt.media_type,
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )


def _route(fmt: ExportFormat, summary: str) -> None:
    def export(request: Request) -> StreamingResponse:
        return _export(request, fmt)

    router.add_api_route(
        f"/orders.{fmt.value}",
        export,
        methods=["GET"],
        name=f"export_{fmt.value}",
        dependencies=[require(READ)],
        response_class=StreamingResponse,
        responses=_responses(fmt),
        openapi_extra={"parameters": _parameters(fmt)},
        summary=summary,
    )


_route(ExportFormat.CSV, "Export every matching order as CSV (the list's filters, sort and view)")
_route(ExportFormat.NDJSON, "Export every matching order as NDJSON, one order detail a line")
