"""`orderhub sandbox <channel>`: serve a channel's local sandbox API on 127.0.0.1.

One command per channel, each building its app and handing it to `_serve`; a later channel
(`cscart`, `dexero`, `cdon`) adds one function the same way. `--script FILE` plays a scenario
(`channels/sandbox_script.py`) on the sandbox's timeline from when it starts serving.
"""

from __future__ import annotations

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


@app.command("mall")
def mall(
    port: int = typer.Option(8101, "--port", min=1, max=65535, help="TCP port."),
    orders: int = typer.Option(1000, "--orders", "-n", min=0, help="Orders to generate."),
    seed: int = typer.Option(1, "--seed", "-s", help="Same seed, same orders."),
    faults: str | None = typer.Option(None, "--faults", help=FAULTS_HELP),
    webhook_url: str | None = typer.Option(
        None, "--webhook-url", help="POST changed order ids here (at most once a minute)."
    ),
    life_interval: float = typer.Option(0.0, "--life-interval", min=0, help=LIFE_HELP),
    script: Path | None = typer.Option(None, "--script", dir_okay=False, help=SCRIPT_HELP),
) -> None:
    """Serve the MALL API (/v1, client_id=sandbox) with generated orders."""
    from orderhub.channels.mall.sandbox import CLIENT_ID, create_app

    scenario = _scenario(script)
    sandbox_app = _generate(
        "MALL", create_app, orders, seed, faults, life_interval, webhook_url=webhook_url
    )
    base = f"http://{HOST}:{port}/v1"
    console.print(f"\n[bold green]MALL sandbox[/] at {base}  client_id={CLIENT_ID}  (Ctrl-C stops)")
    _serve(
        sandbox_app,
        port,
        scenario,
        (
            f"curl '{base}/orders?client_id={CLIENT_ID}&page_size=5'",
            f"curl '{base}/orders/unconfirmed?client_id={CLIENT_ID}&filter=basic'",
            f"curl -X POST 'http://{HOST}:{port}/_sandbox/life?steps=5'",
            f"curl 'http://{HOST}:{port}/_sandbox/stats'",
        ),
    )


@app.command("cscart")
def cscart(
    port: int = typer.Option(8102, "--port", min=1, max=65535, help="TCP port."),
    orders: int = typer.Option(1000, "--orders", "-n", min=0, help="Orders to generate."),
    seed: int = typer.Option(1, "--seed", "-s", help="Same seed, same orders."),
    faults: str | None = typer.Option(None, "--faults", help=FAULTS_HELP),
    life_interval: float = typer.Option(0.0, "--life-interval", min=0, help=LIFE_HELP),
    script: Path | None = typer.Option(None, "--script", dir_okay=False, help=SCRIPT_HELP),
) -> None:
    """Serve the CS-Cart shop API (/api, HTTP Basic admin@example.com:sandbox)."""
    from orderhub.channels.cscart.sandbox import ADMIN_EMAIL, API_KEY, create_app

    scenario = _scenario(script)
    sandbox_app = _generate("CS-Cart", create_app, orders, seed, faults, life_interval)
    base = f"http://{HOST}:{port}/api"
    user = f"{ADMIN_EMAIL}:{API_KEY}"
    console.print(f"\n[bold green]CS-Cart sandbox[/] at {base}  user {user}  (Ctrl-C stops)")
    _serve(
        sandbox_app,
        port,
        scenario,
        (
            f"curl -u {user} '{base}/orders?items_per_page=5'",
            f"curl -u {user} '{base}/orders?status=N&sort_by=updated_at&sort_order=asc'",
            f"curl -X POST 'http://{HOST}:{port}/_sandbox/life?steps=5'",
            f"curl 'http://{HOST}:{port}/_sandbox/stats'",
        ),
    )


@app.command("dexero")
def dexero(
    port: int = typer.Option(8103, "--port", min=1, max=65535, help="TCP port."),
    orders: int = typer.Option(1000, "--orders", "-n", min=0, help="Orders to generate."),
    seed: int = typer.Option(1, "--seed", "-s", help="Same seed, same orders."),
    faults: str | None = typer.Option(None, "--faults", help=FAULTS_HELP),
    life_interval: float = typer.Option(0.0, "--life-interval", min=0, help=LIFE_HELP),
    script: Path | None = typer.Option(None, "--script", dir_okay=False, help=SCRIPT_HELP),
) -> None:
    """Serve the Dexero REST v2 API (OAuth2 client credentials sandbox:sandbox, then Bearer)."""
    from orderhub.channels.dexero.sandbox import CLIENT_ID, CLIENT_SECRET, PREFIX, create_app

    scenario = _scenario(script)
    sandbox_app = _generate("Dexero", create_app, orders, seed, faults, life_interval)
    root = f"http://{HOST}:{port}"
    base = root + PREFIX
    console.print(f"\n[bold green]Dexero sandbox[/] at {base}  (Ctrl-C stops)")
    token = f"TOKEN=$(curl -s -u {CLIENT_ID}:{CLIENT_SECRET} -d grant_type=client_credentials "
    token += f"'{root}/oauth/token.action' | python3 -c 'import json,sys; "
    token += 'print(json.load(sys.stdin)["access_token"])\')'
    bearer = '-H "Authorization: Bearer $TOKEN"'
    _serve(
        sandbox_app,
        port,
        scenario,
        (
            token,
            f"curl {bearer} '{base}/orders/pending.json?count=5'",
            f"curl {bearer} '{base}/orders/all.xml?count=2&sort_dir=desc'",
            f"curl -X POST '{root}/_sandbox/life?steps=5'",
            f"curl '{root}/_sandbox/stats'",
        ),
    )


@app.command("cdon")
def cdon(
    port: int = typer.Option(8104, "--port", min=1, max=65535, help="TCP port."),
    orders: int = typer.Option(1000, "--orders", "-n", min=0, help="Orders to generate."),
    seed: int = typer.Option(1, "--seed", "-s", help="Same seed, same orders."),
    faults: str | None = typer.Option(None, "--faults", help=FAULTS_HELP),
    life_interval: float = typer.Option(0.0, "--life-interval", min=0, help=LIFE_HELP),
    script: Path | None = typer.Option(None, "--script", dir_okay=False, help=SCRIPT_HELP),
) -> None:
    """Serve the CDON marketplace API (/api, Authorization: api sandbox)."""
    from orderhub.channels.cdon.sandbox import API_KEY, create_app

    scenario = _scenario(script)
    sandbox_app = _generate("CDON", create_app, orders, seed, faults, life_interval)
    base = f"http://{HOST}:{port}/api"
    auth = f"-H 'Authorization: api {API_KEY}'"
    console.print(f"\n[bold green]CDON sandbox[/] at {base}  Authorization: api {API_KEY}  "
                  "(Ctrl-C stops)")  # fmt: skip
    _serve(
        sandbox_app,
        port,
        scenario,
        (
            f"curl {auth} '{base}/order/?CountryCode=Sweden&DateTimeRangeMin=2026-01-01&take=5'",
            f"curl {auth} '{base}/order/?CountryCode=Sweden&skip=100&take=50'",
            f"curl -X POST 'http://{HOST}:{port}/_sandbox/life?steps=5'",
            f"curl 'http://{HOST}:{port}/_sandbox/stats'",
        ),
    )


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
