"""The pages the browser checks run over are found from the app's routes: a page added to a web
router is in the list, API routes and posts are not, and path parameters are filled from the
seed by what the path is about (or the page is reported as not fillable)."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, FastAPI

from web_pages import ERROR_PAGES, Seed, expected_statuses, fill, page_cases, page_templates


def _page() -> None:
    return None


def _app() -> FastAPI:
    web = APIRouter()
    for path in ("/", "/orders", "/orders/{raw_id}", "/orders/bulk/{job_id}", "/orders/pick-list",
                 "/admin/webhooks/{subscription_id}", "/admin/widgets/{widget}"):  # fmt: skip
        endpoint = lambda: None  # noqa: E731
        endpoint.__module__ = "orderhub.web.somewhere"
        web.add_api_route(path, endpoint, methods=["GET"])
    web.add_api_route("/orders/{raw_id}/ship", _web_post(), methods=["POST"])
    app = FastAPI()
    app.include_router(web)
    app.add_api_route("/v1/orders", _page, methods=["GET"])  # the API: not a page
    return app


def _web_post() -> object:
    def post() -> None:
        return None

    post.__module__ = "orderhub.web.somewhere"
    return post


def test_every_get_route_of_the_web_routers_is_a_page() -> None:
    assert page_templates(_app()) == [
        "/",
        "/orders",
        "/orders/{raw_id}",
        "/orders/bulk/{job_id}",
        "/orders/pick-list",
        "/admin/webhooks/{subscription_id}",
        "/admin/widgets/{widget}",
    ]


def test_cases_add_a_filtered_list_and_the_error_pages() -> None:
    cases = page_cases(_app())
    assert "/orders?status=open&_sort=created_at:desc" in cases
    assert [c for c in cases if c in ERROR_PAGES] == list(ERROR_PAGES)
    assert expected_statuses("/orders/999999999") == (404,)
    assert expected_statuses("/orders") == (200,)


def test_parameters_are_filled_by_what_the_path_is_about() -> None:
    seed = Seed(orders=(7, 8, 9), job=3, webhook=5)
    assert fill("/orders/{raw_id}", seed) == "/orders/7"
    assert fill("/orders/{id}/packing-slip", seed) == "/orders/7/packing-slip"
    assert fill("/orders/bulk/{job_id}", seed) == "/orders/bulk/3"
    assert fill("/admin/webhooks/{subscription_id}", seed) == "/admin/webhooks/5"
    assert fill("/orders/pick-list", seed) == "/orders/pick-list?id=7&id=9"
    assert fill("/admin/widgets/{widget}", Seed(extra={"widget": "w1"})) == "/admin/widgets/w1"


def test_a_parameter_nothing_fills_is_named() -> None:
    with pytest.raises(ValueError, match=r"\{widget\} of /admin/widgets/\{widget\}"):
        fill("/admin/widgets/{widget}", Seed())
    with pytest.raises(ValueError, match="job_id"):
        fill("/orders/bulk/{job_id}", Seed(orders=(1,)))


def test_the_served_app_s_pages_are_found() -> None:
    """Discovery works on the real app (a FastAPI change to how routers are kept would
    otherwise leave the checks with nothing but the error pages)."""
    from orderhub.store import make_engine
    from orderhub.web.app import create_app

    templates = page_templates(create_app(make_engine("sqlite://")))
    assert "/" in templates
    assert not [t for t in templates if t.startswith(("/v1", "/static", "/docs"))]
