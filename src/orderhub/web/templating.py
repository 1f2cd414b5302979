"""Jinja2 pages: the environment, the filters every page uses, and `page()` to answer one."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.responses import HTMLResponse

TEMPLATES_DIR = Path(__file__).parent / "templates"

#: Digits after the point per currency (ISO 4217); two for the rest.
_MINOR_DIGITS = {"HUF": 2, "JPY": 0, "KRW": 0, "ISK": 0}


def money(amount: Decimal | int | float | None, currency: str | None = None) -> str:
    """`1234.5, "CZK"` -> `1 234.50 CZK`: the order's currency, its digits, thin grouping."""
    if amount is None:
        return ""
    digits = _MINOR_DIGITS.get((currency or "").upper(), 2)
    text = f"{Decimal(amount):,.{digits}f}".replace(",", "\u202f")
    return f"{text} {currency}" if currency else text


def when(value: datetime | None) -> Markup:
    """A `<time>` the browser shows in its own zone (static/app.js); UTC text until then."""
    if value is None:
        return Markup("")
    iso = value.isoformat()
    text = value.strftime("%Y-%m-%d %H:%M %Z").strip()
    return Markup(f'<time datetime="{escape(iso)}" data-local>{escape(text)}</time>')


ENV = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(["html", "svg"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters["money"] = money
ENV.filters["when"] = when


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render `template` with the signed-in user and the CSRF token every form needs."""
    from orderhub.web.session import csrf_token, optional_user

    user = optional_user(request)
    body = ENV.get_template(template).render(
        request=request,
        user=user,
        csrf_token=csrf_token(request) if user is not None else "",
        **context,
    )
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})
