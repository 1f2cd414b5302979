"""/docs (Swagger UI) and /redoc with every asset served by the hub itself: they work offline.

The JavaScript, CSS and favicon come from the `fastapi-offline` package (its `static/` folder:
Swagger UI 5 and ReDoc 2 bundles), mounted at /docs/assets. FastAPI's own pages load them from
a CDN, so the app is made with `docs_url=None, redoc_url=None` and these take their place.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

ASSETS_URL = "/docs/assets"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
#: Swagger UI would show a badge fetched from validator.swagger.io: no request leaves the hub.
SWAGGER_PARAMETERS = {"validatorUrl": None, "persistAuthorization": True}


def install(app: FastAPI) -> None:
    """Serve /docs, /redoc and their assets (call with the app made without its own docs)."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=_rooted(request, _openapi_url(app)),
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=_rooted(request, OAUTH2_REDIRECT_URL),
            swagger_js_url=_rooted(request, f"{ASSETS_URL}/swagger-ui-bundle.js"),
            swagger_css_url=_rooted(request, f"{ASSETS_URL}/swagger-ui.css"),
            swagger_favicon_url=_rooted(request, f"{ASSETS_URL}/favicon.png"),
            swagger_ui_parameters=SWAGGER_PARAMETERS,
        )

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        return get_redoc_html(
            title=f"{app.title} - ReDoc",
            openapi_url=_rooted(request, _openapi_url(app)),
            redoc_js_url=_rooted(request, f"{ASSETS_URL}/redoc.standalone.js"),
            redoc_favicon_url=_rooted(request, f"{ASSETS_URL}/favicon.png"),
            with_google_fonts=False,
        )


def _rooted(request: Request, path: str) -> str:
    """The path as the browser must ask for it when the hub is served under a root path."""
    return request.scope.get("root_path", "") + path


def _openapi_url(app: FastAPI) -> str:
    return app.openapi_url or "/openapi.json"
