"""The inbound channel webhook: `POST /v1/channels/{name}/webhook?secret=...`.

Authenticated by the channel account's own secret (`webhook_secret_env` in orderhub.toml), not
by an API key (api/auth.py leaves this path to it): a channel posts to a URL it was given and
sends nothing else. Answers 202 as soon as the ids are queued; the fetch runs right after, in
a background task (services/inbound.py).
"""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from orderhub.api.limits import one_value
from orderhub.api.problems import request_format
from orderhub.api.render import render
from orderhub.api.schemas import Accepted, answer, problems
from orderhub.services import inbound
from orderhub.services.channels import ChannelConfig, load_config
from orderhub.settings import get_settings

router = APIRouter(prefix="/v1", tags=["channels"])
#: The header a channel may carry the secret in instead of `?secret=`.
SECRET_HEADER = "x-orderhub-webhook-secret"
_OPENAPI = {
    "parameters": [
        {
            "name": "secret",
            "in": "query",
            "required": False,
            "description": f"The account's webhook secret (or in the {SECRET_HEADER} header).",
            "schema": {"type": "string"},
        }
    ],
    "requestBody": {
        "required": False,
        "content": {
            "application/json": {
                "schema": {
                    "description": "The channel's own notification; MALL: a JSON array of ids.",
                    "type": "array",
                    "items": {"type": ["integer", "string"]},
                }
            }
        },
    },
}


@router.post(
    "/channels/{name}/webhook",
    status_code=202,
    response_model=None,
    responses={**answer(Accepted, "Queued", status=202, xml=True), **problems(401, 404)},
    openapi_extra=_OPENAPI,
    summary="A channel announces changed orders (MALL: a JSON array of ids); needs ?secret=",
)
async def channel_webhook(name: str, request: Request, background: BackgroundTasks) -> Response:
    secret = one_value(request, "secret") or request.headers.get(SECRET_HEADER)
    body = await request.body()
    engine = request.app.state.engine
    configs = _configs(request)
    ids = await run_in_threadpool(
        inbound.accept, engine, configs, name, secret, body, dict(request.headers)
    )
    if ids:
        background.add_task(inbound.deliver_now, engine, inbound.accounts_from(configs))
    document = {"accepted": len(ids), "result": {"code": 202, "status": "Accepted"}}
    content, media_type = render(document, request_format(request))
    return Response(content, status_code=202, media_type=media_type)


def _configs(request: Request) -> list[ChannelConfig]:
    path = getattr(request.app.state, "config_file", None) or get_settings().config_file
    return load_config(path)
