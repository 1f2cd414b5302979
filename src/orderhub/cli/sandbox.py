"""`orderhub sandbox <channel>`: serve a channel's local sandbox API on 127.0.0.1.

One command per channel, all made by `_sandbox_command` from a `_Channel`: its port, help,
banner and example calls; a later channel adds one `_Channel`. `--script FILE` plays a scenario
(`channels/sandbox_script.py`) on the sandbox's timeline from when it starts serving.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from orderhub.cli.common import console
from orderhub.cli.errors import UsageError

app = typer.Typer(help="Local sandboxes of the channels' APIs.", no_args_is_help=True)

HOST = "127.0.0.1"
FAULTS_HELP = "Fault rates, e.g. 429=0.2,500=0.05,timeout=0.01,truncate=0.01,reset=0.01,seed=7"
LIFE_HELP = "Run a step of order life every SECONDS (0: off; POST /_sandbox/life steps it)."
SCRIPT_HELP = "Play a scenario (TOML [[step]]s: at, action, ...) from the start; docs/channels.md."


@dataclass(frozen=True)
class _Channel:
    name: str
    label: str
    port: int
    help: str
    #: The API's path under the root, the banner after it and the example calls of the API
    #: (order life's follow): templates of the sandbox module's names and `root`.
    path: str
    banner: str
    examples: tuple[str, ...]
    #: Options of this channel only, after --faults: (name, type, typer.Option).
    extra: tuple[tuple[str, Any, Any], ...] = field(default=())


def _options(channel: _Channel) -> list[tuple[str, Any, Any]]:
    """The command's options, in the order its help lists them."""
    port = typer.Option(channel.port, "--port", min=1, max=65535, help="TCP port.")
    return [
        ("port", int, port),
        ("orders", int, typer.Option(1000, "--orders", "-n", min=0, help="Orders to generate.")),
        ("seed", int, typer.Option(1, "--seed", "-s", help="Same seed, same orders.")),
        ("faults", str | None, typer.Option(None, "--faults", help=FAULTS_HELP)),
        *channel.extra,
        ("life_interval", float, typer.Option(0.0, "--life-interval", min=0, help=LIFE_HELP)),
        ("script", Path | None, typer.Option(None, "--script", dir_okay=False, help=SCRIPT_HELP)),
    ]


def _sandbox_command(channel: _Channel) -> None:
    """Add `orderhub sandbox <channel.name>`."""

    def command(**options: Any) -> None:
        _run(channel, **options)

    parameters = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=kind)
        for name, kind, option in _options(channel)
    ]
    command.__signature__ = inspect.Signature(parameters, return_annotation=None)  # type: ignore[attr-defined]
    command.__doc__ = channel.help
    command.__name__ = command.__qualname__ = channel.name
    app.command(channel.name)(command)


def _run(
    channel: _Channel,
    *,
    port: int,
    orders: int,
    seed: int,
    faults: str | None,
    life_interval: float,
    script: Path | None,
    **extra: Any,
) -> None:
    module = importlib.import_module(f"orderhub.channels.{channel.name}.sandbox")
    scenario = _scenario(script)
    sandbox_app = _generate(
        channel.label, module.create_app, orders, seed, faults, life_interval, **extra
    )
    root = f"http://{HOST}:{port}"
    names = {"root": root, **vars(module)}
    path, banner = channel.path.format_map(names), channel.banner.format_map(names)
    console.print(
        f"\n[bold green]{channel.label} sandbox[/] at {root}{path}{banner}  (Ctrl-C stops)"
    )
    examples = tuple(example.format_map(names) for example in channel.examples)
    _serve(sandbox_app, port, scenario, (*examples, *_life_examples(root)))


def _life_examples(root: str) -> tuple[str, ...]:
    return (f"curl -X POST '{root}/_sandbox/life?steps=5'", f"curl '{root}/_sandbox/stats'")


WEBHOOK_URL = typer.Option(
    None, "--webhook-url", help="POST changed order ids here (at most once a minute)."
)
SNAPSHOTS = typer.Option(
    None,
    "--snapshots",
    envvar="ORDERHUB_SANDBOX_SNAPSHOTS",
    file_okay=False,
    help="Keep the starting orders here and start from them the next time (same seed, "
    "--orders and code): a million orders in seconds instead of minutes.",
)
#: The Dexero token call: client credentials in, the access token out into $TOKEN.
_DEXERO_TOKEN = (
    "TOKEN=$(curl -s -u {CLIENT_ID}:{CLIENT_SECRET} -d grant_type=client_credentials "
    "'{root}/oauth/token.action' | python3 -c "
    "'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')"
)
_BEARER = '-H "Authorization: Bearer $TOKEN"'
CHANNELS = (
    _Channel(
        "mall", "MALL", 8101, "Serve the MALL API (/v1, client_id=sandbox) with generated orders.",
        "/v1", "  client_id={CLIENT_ID}",
        ("curl '{root}/v1/orders?client_id={CLIENT_ID}&page_size=5'",
         "curl '{root}/v1/orders/unconfirmed?client_id={CLIENT_ID}&filter=basic'"),
        extra=(("webhook_url", str | None, WEBHOOK_URL), ("snapshots", Path | None, SNAPSHOTS)),
    ),
    _Channel(
        "cscart", "CS-Cart", 8102,
        "Serve the CS-Cart shop API (/api, HTTP Basic admin@example.com:sandbox).",
        "/api", "  user {ADMIN_EMAIL}:{API_KEY}",
        ("curl -u {ADMIN_EMAIL}:{API_KEY} '{root}/api/orders?items_per_page=5'",
         "curl -u {ADMIN_EMAIL}:{API_KEY} "
         "'{root}/api/orders?status=N&sort_by=updated_at&sort_order=asc'"),
        extra=(("snapshots", Path | None, SNAPSHOTS),),
    ),
    _Channel(
        "dexero", "Dexero", 8103,
        "Serve the Dexero REST v2 API (OAuth2 client credentials sandbox:sandbox, then Bearer).",
        "{PREFIX}", "",
        (_DEXERO_TOKEN, f"curl {_BEARER} '{{root}}{{PREFIX}}/orders/pending.json?count=5'",
         f"curl {_BEARER} '{{root}}{{PREFIX}}/orders/all.xml?count=2&sort_dir=desc'"),
        extra=(("snapshots", Path | None, SNAPSHOTS),),
    ),
    _Channel(
        "cdon", "CDON", 8104, "Serve the CDON marketplace API (/api, Authorization: api sandbox).",
        "/api", "  Authorization: api {API_KEY}",
        ("curl -H 'Authorization: api {API_KEY}' "
         "'{root}/api/order/?CountryCode=Sweden&DateTimeRangeMin=2026-01-01&take=5'",
         "curl -H 'Authorization: api {API_KEY}' "
         "'{root}/api/order/?CountryCode=Sweden&skip=100&take=50'"),
        extra=(("snapshots", Path | None, SNAPSHOTS),),
    ),
)  # fmt: skip
for _channel in CHANNELS:
    _sandbox_command(_channel)


def _generate(
    label: str,
    factory: Any,
    orders: int,
    seed: int,
    faults: str | None,
    life_interval: float,
    **options: Any,
) -> Any:
    """Build a sandbox app (with a spinner while its orders are generated)."""
    with console.status(f"generating {orders:,} {label} orders"):
        return _build(
            factory,
            orders=orders,
            seed=seed,
            faults=faults,
            life=life_interval > 0,
            life_interval=life_interval or 10.0,
            **options,
        )


def _build(factory: Any, **options: Any) -> Any:
    """The sandbox app, or a clean usage error when an option (e.g. --faults) is malformed."""
    try:
        return factory(**options)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _scenario(script: Path | None) -> tuple[str, list[Any]] | None:
    """The scenario's file and steps (checked whole before the sandbox is built), or None."""
    from orderhub.channels.sandbox_script import ScenarioError, load_scenario

    if script is None:
        return None
    try:
        return str(script), load_scenario(script)
    except ScenarioError as exc:
        raise UsageError(f"--script {exc}") from None


def _serve(
    sandbox_app: Any,
    port: int,
    scenario: tuple[str, list[Any]] | None,
    examples: tuple[str, ...] = (),
) -> None:
    """Print the example commands, then serve until Ctrl-C (playing the scenario, if any)."""
    import uvicorn

    from orderhub.channels.sandbox_script import ScenarioError, ScenarioRunner, check_actions

    sandbox = sandbox_app.state.sandbox
    if scenario is not None:
        try:
            check_actions(scenario[1], sandbox.life_actions(), scenario[0])
        except ScenarioError as exc:
            sandbox.close()
            raise UsageError(f"--script {exc}") from None
    control = f"http://{HOST}:{port}/_sandbox/faults"
    for example in (*examples, f"curl -X PUT -d '429=1,retry_after=5' '{control}?for=30'"):
        console.print(f"  {example}", soft_wrap=True)
    player = None if scenario is None else ScenarioRunner(scenario[1], sandbox, _report).play()
    try:
        uvicorn.run(sandbox_app, host=HOST, port=port, log_level="warning")
    finally:
        if player is not None:
            player.stop()
        sandbox.close()


def _report(step: Any, outcome: str) -> None:
    console.print(f"  [dim]t={step.at:g}s[/] step {step.number}: {step.describe()}: {outcome}",
                  soft_wrap=True, highlight=False)  # fmt: skip
