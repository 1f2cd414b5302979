"""The sandboxes' control endpoint and scenarios (docs/channels.md, "Scripting a sandbox"), over
real HTTP against each of the four sandboxes: faults set and cleared while a sandbox runs, order
life by count seen in the channel's own listing, scenarios on a ManualClock, bad input."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers import free_port, serve_in_thread
from orderhub.channels.cdon.sandbox import create_app as cdon_app
from orderhub.channels.cscart.sandbox import create_app as cscart_app
from orderhub.channels.dexero.sandbox import PREFIX as DEXERO
from orderhub.channels.dexero.sandbox import create_app as dexero_app
from orderhub.channels.mall.sandbox import create_app as mall_app
from orderhub.channels.sandbox_script import (
    ScenarioError,
    ScenarioRunner,
    load_scenario,
    parse_scenario,
)
from orderhub.channels.sandbox_state import SandboxState
from orderhub.domain.clock import ManualClock

EXAMPLE = Path(__file__).parent.parent / "examples" / "bad-day.toml"
MALL_STATUSES = "in:blocked,open,shipping,shipped,delivered,returned,cancelled,lost"


@dataclass(frozen=True)
class Channel:
    """How a test reaches a channel's own order list, every order of it, as a client would."""

    name: str
    factory: Callable[..., Any]
    path: str
    #: The list's parameters that show every order (test, blocked, incomplete ones included).
    everything: dict[str, str]
    #: How many orders the list's answer says there are.
    total: Callable[[Any], int]
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    auth: tuple[str, str] | None = None
    #: The channel's own life moves, beside the four every sandbox has.
    own_moves: tuple[str, ...] = ()


CHANNELS = [
    Channel("mall", mall_app, "/v1/orders", {"test": "in:true,false", "status": MALL_STATUSES},
            lambda body: body["paging"]["total"], params={"client_id": "sandbox"},
            own_moves=("expire", "ship")),
    Channel("cscart", cscart_app, "/api/orders", {"status": "N,O,P,B,C,G,H,D,I,F,E"},
            lambda body: int(body["params"]["total_items"]), auth=("admin@example.com", "sandbox"),
            own_moves=("return", "repay")),
    Channel("dexero", dexero_app, f"{DEXERO}/orders/all.json",
            {"include_tests": "1", "include_forms": "1", "count": "1"},
            lambda body: body["totalResults"], own_moves=("treat",)),
    Channel("cdon", cdon_app, "/api/order/", {"take": "1000"}, len,
            headers={"Authorization": "api sandbox"}, own_moves=("cancel_row",)),
]  # fmt: skip


@dataclass
class Served:
    channel: Channel
    base: str
    sandbox: SandboxState
    headers: dict[str, str]

    def order_request(self) -> httpx.Response:
        """One request a client makes for the channel's orders."""
        channel = self.channel
        params = {**channel.params, **channel.everything}
        return httpx.get(f"{self.base}{channel.path}", params=params, headers=self.headers,
                         auth=channel.auth)  # fmt: skip

    def listed(self) -> int:
        answer = self.order_request()
        assert answer.status_code == 200, answer.text
        return self.channel.total(answer.json())

    def control(self, method: str, path: str, **options: Any) -> httpx.Response:
        return httpx.request(method, f"{self.base}/_sandbox/{path}", **options)


@pytest.fixture(params=CHANNELS, ids=lambda channel: channel.name)
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    channel: Channel = request.param
    app = channel.factory(orders=20, seed=3)
    with serve_in_thread(app) as base:
        headers = dict(channel.headers)
        if channel.name == "dexero":  # a token first: the token endpoint is faulted too
            grant, client = {"grant_type": "client_credentials"}, ("sandbox", "sandbox")
            token = httpx.post(f"{base}/oauth/token.action", data=grant, auth=client)
            headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield Served(channel, base, app.state.sandbox, headers)
        app.state.sandbox.close()


def manual_clock(served: Served) -> ManualClock:
    clock = ManualClock(datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    served.sandbox.use_clock(clock)
    return clock


# --- faults ---------------------------------------------------------------------------------


def test_a_429_set_while_running_answers_the_next_order_request_and_clears(served: Served) -> None:
    assert served.order_request().status_code == 200
    answer = served.control("PUT", "faults", json={"429": 1, "retry_after": 7})
    assert answer.status_code == 200
    assert answer.json()["rates"] == {"429": 1.0} and answer.json()["active"] is True

    throttled = served.order_request()
    assert throttled.status_code == 429 and throttled.headers["retry-after"] == "7"
    assert served.control("GET", "faults").json()["spec"].startswith("429=1,")
    assert served.control("GET", "stats").json()["faults"] == {"429": 1}

    cleared = served.control("DELETE", "faults")
    assert cleared.status_code == 200 and cleared.json()["active"] is False
    assert served.order_request().status_code == 200


def test_faults_given_as_text_last_for_their_seconds_then_the_ones_before_return(
    served: Served,
) -> None:
    clock = manual_clock(served)
    assert served.control("PUT", "faults", content=b"503=1,retry_after=2").status_code == 200
    answer = served.control("PUT", "faults", content=b"500=1", params={"for": "30"})
    assert answer.json()["expires_in"] == 30 and answer.json()["then"].startswith("503=1,")

    assert served.order_request().status_code == 500
    clock.advance(29.5)
    assert served.order_request().status_code == 500
    clock.advance(0.5)
    back = served.order_request()
    assert back.status_code == 503 and back.headers["retry-after"] == "2"
    state = served.control("GET", "faults").json()
    assert (state["rates"], state["expires_in"], state["then"]) == ({"503": 1.0}, None, None)


# --- order life -----------------------------------------------------------------------------


def test_created_orders_show_in_the_channels_own_listing(served: Served) -> None:
    before = served.listed()
    answer = served.control("POST", "life", json={"create_orders": 7})
    assert answer.status_code == 200
    assert answer.json()["done"] == {"create_orders": 7} and len(answer.json()["changed"]) == 7
    assert served.listed() == before + 7

    by_query = served.control("POST", "life", params={"create_orders": "3"})
    assert by_query.json()["done"] == {"create_orders": 3}
    assert served.listed() == before + 10
    assert served.control("GET", "stats").json()["life_done"] == {"create_orders": 10}


def test_every_sandbox_names_the_same_moves_and_each_changes_only_what_it_reports(
    served: Served,
) -> None:
    own = served.channel.own_moves
    assert served.sandbox.life_actions() == [
        "steps", "create_orders", *sorted_as(served, "pay", "cancel", "deliver", *own)
    ]  # fmt: skip
    served.control("POST", "life", params={"steps": "10", "create_orders": "10"})
    for move in ("pay", "cancel", *own[:1]):  # orders in these states are there by now
        assert served.control("POST", "life", json={move: 1}).json()["done"] == {move: 1}
    for move in ("pay", "cancel", "deliver", *own):
        before = payloads(served.sandbox)
        answer = served.control("POST", "life", json={move: 2}).json()
        after = payloads(served.sandbox)
        changed = {key for key, payload in after.items() if before.get(key) != payload}
        done = answer["done"][move]  # moves made: one order may take two (CDON's rows)
        assert set(answer["changed"]) == changed and len(changed) <= done <= 2
        assert (done > 0) == bool(changed), move


def sorted_as(served: Served, *moves: str) -> list[str]:
    """The moves, in the order the sandbox lists them."""
    names = served.sandbox.life_actions()
    return sorted(moves, key=names.index)


def payloads(sandbox: Any) -> dict[int, Any]:
    """Every order of the sandbox by its id, as the channel writes it."""
    found: dict[int, Any] = {}
    for payload in sandbox.orders_json():
        key = payload.get("OrderDetails", payload)
        found[int(key.get("OrderId") or key.get("order_id") or key["id"])] = payload
    return found


# --- scenarios ------------------------------------------------------------------------------

SCENARIO = """
[[step]]
at = 10
action = "faults"
spec = "429=1,retry_after=4"
for = 30

[[step]]
at = 5
action = "create_orders"
count = 10

[[step]]
at = 60
action = "life"
steps = 2
"""


def test_a_scenario_applies_its_steps_at_their_times_on_the_sandboxs_clock(
    served: Served,
) -> None:
    clock = manual_clock(served)
    steps = parse_scenario(SCENARIO, "day.toml", served.sandbox.life_actions())
    runner = ScenarioRunner(steps, served.sandbox)
    before = served.listed()
    runner.start()
    assert runner.run_due() == []
    clock.advance(4.9)
    assert runner.run_due() == [] and served.listed() == before
    clock.advance(0.1)
    assert [step.number for step, _ in runner.run_due()] == [2]
    assert served.listed() == before + 10

    clock.advance(5)
    assert [step.number for step, _ in runner.run_due()] == [1]
    assert served.order_request().headers["retry-after"] == "4"
    clock.advance(29.9)
    assert served.order_request().status_code == 429
    clock.advance(0.1)  # t=40: the 30 seconds are over
    assert served.listed() == before + 10
    clock.advance(20)
    ((step, outcome),) = runner.run_due()
    assert step.number == 3 and runner.finished and outcome.startswith("2 done")
    assert served.control("GET", "stats").json()["life_steps"] == 2


def test_a_runner_that_wakes_late_skips_an_episode_already_over(served: Served) -> None:
    clock = manual_clock(served)
    runner = ScenarioRunner(parse_scenario(SCENARIO, "day.toml"), served.sandbox)
    runner.start()
    clock.advance(45)
    outcomes = dict((step.number, outcome) for step, outcome in runner.run_due())
    assert outcomes[1] == "skipped: already over" and served.order_request().status_code == 200


def test_the_example_scenario_runs_on_every_sandbox(served: Served) -> None:
    clock = manual_clock(served)
    steps = load_scenario(EXAMPLE, served.sandbox.life_actions())
    runner = ScenarioRunner(steps, served.sandbox)
    runner.start()
    clock.advance(12)
    runner.run_due()
    assert served.order_request().status_code == 429
    clock.advance(200)
    assert len(runner.run_due()) == len(steps) - 2 and runner.finished
    assert served.control("GET", "faults").json()["active"] is False


BAD_SCENARIOS = [
    ("[[step]]\nat = 1\naction = 'create_orders'\ncount = 0\n",
     "step 1: key 'count': expected a whole number from 1 to 10000, got 0"),
    ("[[step]]\nat = 1\naction = 'pay'\n[[step]]\naction = 'pay'\n",
     "step 2: key 'at': missing"),
    ("[[step]]\nat = -1\naction = 'pay'\n", "step 1: key 'at': expected seconds from 0 up"),
    ("[[step]]\nat = 'soon'\naction = 'pay'\n", "step 1: key 'at': expected seconds"),
    ("[[step]]\nat = 1\n", "step 1: key 'action': expected an action name, got None"),
    ("[[step]]\nat = 1\naction = 'pay'\ncout = 3\n",
     "step 1: key 'cout': not a key of a 'pay' step (known: at, action, count)"),
    ("[[step]]\nat = 1\naction = 'faults'\nspec = '429=2'\n",
     "step 1: key 'spec': 429 must be a rate from 0 to 1"),
    ("[[step]]\nat = 1\naction = 'faults'\n'429' = 'lots'\n", "step 1: key '429': 429 expects"),
    ("[[step]]\nat = 1\naction = 'faults'\nspec = '429=1'\nfor = 0\n",
     "step 1: key 'for': expected seconds above 0, got 0"),
    ("[[step]]\nat = 1\naction = 'faults'\nfor = 5\n", "step 1: key 'spec': missing"),
    ("[[step]]\nat = 1\naction = 'fly'\n", "step 1: key 'action': 'fly' is not an action"),
    ("[[step]]\nat = 1\naction = 'life'\nsteps = 1.5\n", "step 1: key 'steps': expected a whole"),
    ("at = 1\n", "key 'at': unknown (a scenario holds [[step]]s)"),
    ("", "no [[step]] tables"),
    ("[[step]\n", "not valid TOML"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), BAD_SCENARIOS)
def test_bad_scenarios_say_which_step_and_key(text: str, message: str) -> None:
    actions = ["steps", "create_orders", "pay", "cancel", "deliver"]
    with pytest.raises(ScenarioError) as raised:
        parse_scenario(text, "bad.toml", actions)
    assert str(raised.value).startswith("bad.toml: ") and message in str(raised.value)
    assert "\n" not in str(raised.value)


# --- bad control input ----------------------------------------------------------------------

BAD_CONTROL = [
    ("PUT", "faults", {"content": b"429=2"}, "429"),
    ("PUT", "faults", {"content": b"bogus=1"}, "bogus"),
    ("PUT", "faults", {"content": b""}, "spec"),
    ("PUT", "faults", {"content": b"429=1", "params": {"for": "-3"}}, "for"),
    ("PUT", "faults", {"json": {"429": "x"}}, "429"),
    ("PUT", "faults", {"json": {"spec": "429=1", "500": 1}}, "spec"),
    ("PUT", "faults", {"json": {"spec": "429=1", "for": "later"}}, "for"),
    ("PUT", "faults", {"content": b"{not json"}, "body"),
    ("POST", "life", {"json": {"create_orders": 0}}, "create_orders"),
    ("POST", "life", {"json": {"pay": True}}, "pay"),
    ("POST", "life", {"json": {"fly": 1}}, "fly"),
    ("POST", "life", {"json": [1, 2]}, "body"),
    ("POST", "life", {"params": {"steps": "x"}}, "steps"),
    ("POST", "life", {"params": {"steps": "1"}, "json": {"steps": 1}}, "steps"),
]


def test_bad_control_input_is_a_400_naming_the_parameter(served: Served) -> None:
    for method, path, options, parameter in BAD_CONTROL:
        answer = served.control(method, path, **options)
        assert answer.status_code == 400, (method, path, options, answer.text)
        assert parameter in answer.text and answer.headers["content-type"] == "application/json"
    assert served.control("GET", "faults").json()["active"] is False
    assert served.control("GET", "stats").json()["life_steps"] == 0


# --- the command line -----------------------------------------------------------------------

ORDERHUB = str(Path(sys.executable).parent / "orderhub")


def test_the_command_line_plays_a_script_from_the_start(tmp_path: Path) -> None:
    script = tmp_path / "start.toml"
    script.write_text('[[step]]\nat = 0\naction = "create_orders"\ncount = 5\n')
    port = free_port()
    args = [ORDERHUB, "sandbox", "cdon", "--port", str(port), "--orders", "20", "--script",
            str(script)]  # fmt: skip
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        stats = wait_for(f"http://127.0.0.1:{port}/_sandbox/stats", process)
        assert stats["orders"] == 25 and stats["life_done"] == {"create_orders": 5}
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert "step 1: create_orders 5: 5 done" in output


def wait_for(url: str, process: subprocess.Popen[str]) -> Any:
    """The JSON at url once the server answers (it is starting, not scheduled)."""
    import time

    deadline = time.monotonic() + 30
    while True:
        try:
            return httpx.get(url).json()
        except httpx.TransportError:
            assert process.poll() is None and time.monotonic() < deadline, "did not start"
            time.sleep(0.1)


@pytest.mark.parametrize(
    ("channel", "text", "message"),
    [
        ("mall", "[[step]]\nat = 5\naction = 'create_orders'\ncount = -5\n",
         "step 1: key 'count': expected a whole number from 1 to 10000, got -5"),
        ("cdon", "[[step]]\nat = 5\naction = 'ship'\n",
         "step 1: key 'action': 'ship' is not an action of this sandbox"),
    ],
)  # fmt: skip
def test_a_bad_script_stops_the_command_with_one_line_and_exit_2(
    tmp_path: Path, channel: str, text: str, message: str
) -> None:
    script = tmp_path / "bad.toml"
    script.write_text(text)
    args = [ORDERHUB, "sandbox", channel, "--port", str(free_port()), "--orders", "3"]
    done = subprocess.run([*args, "--script", str(script)], capture_output=True, text=True)
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"error: --script {script}: ") and message in line
