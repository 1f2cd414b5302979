"""Thin routes for saved views: `/v1/views` (docs/views.md). `?view=name` on the lists and
exports is read by `services.views.expand` before their own parameters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from orderhub.api.auth import READ, WRITE, require
from orderhub.api.content_type import JSON_BODY
from orderhub.api.render import json_response
from orderhub.api.schemas import _Closed, answer, problems
from orderhub.services import views as service
from orderhub.store.views import SavedView

router = APIRouter(
    prefix="/v1",
    tags=["views"],
    strict_content_type=False,  # a body without a Content-Type is read as JSON, as PUT does
)
#: The schema names a small part of the language; the service checks all of it.
_QUERY_SCHEMA: dict[str, Any] = {
    "pattern": "^(status=(open|shipped|delivered)(&channel=[a-z0-9-]{1,20})?(&q=[a-z0-9]{1,20})?)?$"
}
_QUERY_TEXT = (
    "The list's query string it stands for: filters, q, _sort, filter=basic "
    "(docs/query-language.md); checked when saved, a bad one is a 400 naming the parameter. "
    "No paging: page, page_size and cursor are the request's."
)
_NAME = {
    "name": "name",
    "in": "path",
    "required": True,
    "description": "The view's name.",
    "schema": {"type": "string", "pattern": service.NAME_PATTERN},
}


_VIEW_EXAMPLE = {
    "name": "open-cz",
    "query": "status=open&channel=mall-cz&q=novak",
    "created_at": "2026-12-06T10:00:00Z",
    "updated_at": "2026-12-06T10:00:00Z",
}


class View(_Closed):
    name: str = Field(examples=["open-cz"])
    query: str = Field(examples=["status=open&channel=mall-cz&_sort=created_at:desc"])
    created_at: datetime
    updated_at: datetime


class ViewList(_Closed):
    data: list[View]


class ViewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        description=service.NAME_EXPECTED + ".",
        json_schema_extra={"pattern": service.NAME_PATTERN},
        examples=["open-cz"],
    )
    query: str = Field(
        description=_QUERY_TEXT,
        json_schema_extra=_QUERY_SCHEMA,
        examples=["status=open&channel=mall-cz&q=novak"],
    )


class ViewQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(
        description=_QUERY_TEXT, json_schema_extra=_QUERY_SCHEMA, examples=["status=shipped"]
    )


def view_document(view: SavedView) -> dict[str, Any]:
    return {
        "name": view.name,
        "query": view.query,
        "created_at": view.created_at,
        "updated_at": view.updated_at,
    }


@router.post(
    "/views",
    status_code=201,
    dependencies=[require(WRITE), JSON_BODY],
    response_model=None,
    responses={**answer(View, "Saved", status=201, example=_VIEW_EXAMPLE), **problems(409, 415)},
    summary="Save a view: a name for a list query",
)
def create_view(body: ViewIn, request: Request) -> Response:
    clock = request.app.state.clock
    created = service.create_view(request.app.state.engine, body.name, body.query, clock)
    headers = {"Location": f"/v1/views/{created.name}"}
    return json_response(view_document(created), 201, headers)


@router.get(
    "/views",
    dependencies=[require(READ)],
    response_model=None,
    responses={
        **answer(ViewList, "Every saved view, by name", example={"data": [_VIEW_EXAMPLE]}),
        **problems(),
    },
    summary="Saved views",
)
def list_views(request: Request) -> Response:
    found = service.list_views(request.app.state.engine)
    return json_response({"data": [view_document(v) for v in found]})


@router.get(
    "/views/{name}",
    dependencies=[require(READ)],
    response_model=None,
    responses={**answer(View, "The view", example=_VIEW_EXAMPLE), **problems(404)},
    openapi_extra={"parameters": [_NAME]},
    summary="One saved view",
)
def get_view(name: str, request: Request) -> Response:
    found = service.get_view(request.app.state.engine, service.check_name(name))
    return json_response(view_document(found))


@router.put(
    "/views/{name}",
    dependencies=[require(WRITE), JSON_BODY],
    response_model=None,
    responses={
        **answer(View, "Changed", example=_VIEW_EXAMPLE | {"query": "status=shipped"}),
        **problems(404, 415),
    },
    openapi_extra={"parameters": [_NAME]},
    summary="Change a view's query",
)
def replace_view(name: str, body: ViewQuery, request: Request) -> Response:
    clock = request.app.state.clock
    engine = request.app.state.engine
    changed = service.replace_view(engine, service.check_name(name), body.query, clock)
    return json_response(view_document(changed))


@router.delete(
    "/views/{name}",
    status_code=204,
    dependencies=[require(WRITE)],
    response_model=None,
    responses={204: {"description": "Deleted"}, **problems(404)},
    openapi_extra={"parameters": [_NAME]},
    summary="Delete a view",
)
def delete_view(name: str, request: Request) -> Response:
    service.delete_view(request.app.state.engine, service.check_name(name))
    return Response(status_code=204)
