"""The served app: the API with the staff web UI mounted at `/`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import Engine
from starlette.staticfiles import StaticFiles

from orderhub.api.app import create_app as create_api_app
from orderhub.api.logs import LogOptions, configure_logging
from orderhub.domain.clock import SYSTEM_CLOCK, Clock
from orderhub.web import (
    admin,
    admin_channels,
    admin_keys,
    admin_ops,
    admin_users,
    admin_webhooks,
    bulk,
    dashboard,
    errors,
    login,
    order_page,
    orders_list,
    packing,
    session,
)

STATIC_DIR = Path(__file__).parent / "static"


def create_app(engine: Engine | None = None, clock: Clock = SYSTEM_CLOCK) -> FastAPI:
    """The API over `engine` with the web UI's pages, assets and HTML error pages."""
    app = create_api_app(engine, clock)
    install(app)
    return app


def create_served_app() -> FastAPI:
    """The app of `orderhub serve`'s server processes (logging from the environment first)."""
    configure_logging(LogOptions.from_env())
    return create_app()


def install(app: FastAPI) -> None:
    """Mount the assets, add the pages' routers, and answer web paths' errors in HTML."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    session.install(app)
    errors.install(app)
    # Fixed paths before /orders/{id}: bulk and packing's pick list come before the order page.
    for module in (
        login,
        dashboard,
        bulk,
        orders_list,
        packing,
        order_page,
        admin_users,
        admin_keys,
        admin_webhooks,
        admin_ops,
        admin_channels,
        admin,
    ):
        app.include_router(module.router)
