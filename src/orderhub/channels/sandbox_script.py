"""Scenarios: a sandbox's bad day, scripted (`orderhub sandbox <channel> --script FILE`).

A TOML file of `[[step]]` tables, each at a time in seconds from the sandbox's start, run on
the sandbox's own clock (`SandboxState.control_clock`, a `ManualClock` in tests):

    [[step]]
    at = 5
    action = "create_orders"
    count = 100

    [[step]]
    at = 10
    action = "faults"
    spec = "429=1,retry_after=5"
    for = 30

Actions: `faults` (`spec`, or the spec's own keys such as `"429" = 1.0`; `for` seconds, after
which the faults before come back), `clear_faults`, `life` (`steps` whole steps), and each
move of the channel's order life (`create_orders`, `pay`, `cancel`, `deliver`, and the
channel's own) with `count` orders. A file is checked whole before the sandbox starts; an error
is one line naming the step and the key.
"""

from __future__ import annotations

import math
import threading
import tomllib
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orderhub.channels.sandbox_control import MAX_COUNT
from orderhub.channels.sandbox_faults import (
    FAULT_KINDS,
    OPTIONS,
    FaultSpec,
    LiveFaults,
    faults_from_mapping,
)
from orderhub.channels.sandbox_kit import Ticker
from orderhub.channels.sandbox_state import STEPS, SandboxState

FAULTS = "faults"
CLEAR_FAULTS = "clear_faults"
LIFE = "life"
#: The keys each kind of step takes beside `at` and `action`.
_FAULT_KEYS = ("spec", "for", *FAULT_KINDS, *OPTIONS)
_KEYS = {FAULTS: _FAULT_KEYS, CLEAR_FAULTS: (), LIFE: (STEPS,)}
_MOVE_KEYS = ("count",)


class ScenarioError(ValueError):
    """A scenario file that cannot run: one line naming the file, the step and the key."""


@dataclass(frozen=True, slots=True)
class Step:
    #: Its place in the file (1: the first [[step]]).
    number: int
    at: float
    action: str
    #: Whole steps (`life`) or orders (a move).
    count: int = 1
    faults: FaultSpec | None = None
    #: How long the faults last (None: until changed).
    lasting: float | None = None

    def describe(self) -> str:
        if self.action == FAULTS:
            assert self.faults is not None
            how_long = "" if self.lasting is None else f" for {self.lasting:g} s"
            return f"faults {self.faults.text()}{how_long}"
        if self.action == CLEAR_FAULTS:
            return CLEAR_FAULTS
        return f"{self.action} {self.count}"


def load_scenario(path: Path, life_actions: Collection[str] | None = None) -> list[Step]:
    """The steps of a scenario file, by time (file order within a time); ScenarioError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: expected a TOML file in UTF-8") from None
    return parse_scenario(text, str(path), life_actions)


def parse_scenario(
    text: str, source: str, life_actions: Collection[str] | None = None
) -> list[Step]:
    """The steps of a scenario's text. `life_actions`: the sandbox's moves (None: any name,
    for `check_actions` to check once the sandbox is built)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
    for key in document:
        if key != "step":
            raise ScenarioError(f"{source}: key {key!r}: unknown (a scenario holds [[step]]s)")
    tables = document.get("step")
    if not isinstance(tables, list) or not tables:
        raise ScenarioError(f"{source}: no [[step]] tables (each has `at` and `action`)")
    steps = [_step(number, table, source) for number, table in enumerate(tables, 1)]
    if life_actions is not None:
        check_actions(steps, life_actions, source)
    return sorted(steps, key=lambda step: step.at)


def check_actions(steps: Iterable[Step], life_actions: Collection[str], source: str) -> None:
    """Every move a step names is one of the sandbox's (`SandboxState.life_actions()`)."""
    moves = [name for name in life_actions if name != STEPS]
    for step in steps:
        if step.action not in _KEYS and step.action not in moves:
            known = ", ".join([*_KEYS, *moves])
            raise ScenarioError(f"{source}: step {step.number}: key 'action': {step.action!r} "
                                f"is not an action of this sandbox (known: {known})")  # fmt: skip


def _step(number: int, table: object, source: str) -> Step:
    where = f"{source}: step {number}"
    if not isinstance(table, dict):
        raise ScenarioError(f"{where}: expected a [[step]] table")
    try:
        return _parse_step(number, table)
    except _KeyProblem as problem:
        raise ScenarioError(f"{where}: key {problem.key!r}: {problem.message}") from None


class _KeyProblem(Exception):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(key, message)
        self.key = key
        self.message = message


def _parse_step(number: int, table: dict[str, Any]) -> Step:
    at = _at(table.get("at"))
    action = table.get("action")
    if not isinstance(action, str) or not action.isidentifier():
        raise _KeyProblem("action", f"expected an action name, got {action!r}")
    allowed = _KEYS.get(action, _MOVE_KEYS)
    for key in table:
        if key not in ("at", "action", *allowed):
            known = ", ".join(("at", "action", *allowed))
            raise _KeyProblem(key, f"not a key of a {action!r} step (known: {known})")
    if action == FAULTS:
        faults, lasting = _faults({k: v for k, v in table.items() if k in _FAULT_KEYS})
        return Step(number, at, action, faults=faults, lasting=lasting)
    if action == CLEAR_FAULTS:
        return Step(number, at, action)
    key = allowed[0]
    return Step(number, at, action, count=_count(key, table.get(key, 1)))


def _at(raw: object) -> float:
    if raw is None:
        raise _KeyProblem("at", "missing: seconds from the sandbox's start, such as 5")
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
        raise _KeyProblem("at", f"expected seconds from the sandbox's start, got {raw!r}")
    if raw < 0:
        raise _KeyProblem("at", f"expected seconds from 0 up, got {raw!r}")
    return float(raw)


def _count(key: str, raw: object) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= MAX_COUNT:
        raise _KeyProblem(key, f"expected a whole number from 1 to {MAX_COUNT}, got {raw!r}")
    return raw


def _faults(values: dict[str, Any]) -> tuple[FaultSpec, float | None]:
    if not values.keys() - {"for"}:
        raise _KeyProblem("spec", "missing: a fault spec such as '429=1,retry_after=5'")
    for key, value in values.items():  # each key alone first, so the error names it
        _check(key, {key: value})
    return _check("spec", values)


def _check(key: str, values: dict[str, Any]) -> tuple[FaultSpec, float | None]:
    try:
        return faults_from_mapping(values)
    except ValueError as exc:
        message = str(exc).removeprefix("fault spec: ").removeprefix(f"{key}: ")
        raise _KeyProblem(key, message) from None


# --- running ----------------------------------------------------------------------------------


class ScenarioRunner:
    """Applies a scenario's steps to a sandbox when their time comes on the sandbox's clock,
    counted from `start()`. `run_due()` applies what is due (tests call it after moving a
    ManualClock); `play()` calls it in the background (the command line)."""

    def __init__(
        self,
        steps: Iterable[Step],
        sandbox: SandboxState,
        report: Callable[[Step, str], object] = lambda step, outcome: None,
    ) -> None:
        self.steps = sorted(steps, key=lambda step: step.at)
        self.sandbox = sandbox
        self.clock = sandbox.control_clock
        self._report = report
        self._next = 0
        self._start: float | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """t=0 of the scenario is now."""
        self._start = self.clock.monotonic()

    @property
    def elapsed(self) -> float:
        """Seconds since `start()`."""
        if self._start is None:
            raise RuntimeError("the scenario has not started")
        return self.clock.monotonic() - self._start

    @property
    def finished(self) -> bool:
        return self._next >= len(self.steps)

    def run_due(self) -> list[tuple[Step, str]]:
        """Apply every step whose time has come, in order; each with what it did."""
        done: list[tuple[Step, str]] = []
        with self._lock:
            elapsed = self.elapsed
            while not self.finished and self.steps[self._next].at <= elapsed:
                step = self.steps[self._next]
                self._next += 1
                outcome = self._apply(step, elapsed)
                self._report(step, outcome)
                done.append((step, outcome))
        return done

    def play(self, interval: float = 0.05) -> Ticker:
        """Start, and apply the steps in the background as they come due (stop the Ticker)."""
        self.start()
        self.run_due()
        return Ticker(interval, self.run_due).start()

    def _apply(self, step: Step, elapsed: float) -> str:
        live: LiveFaults = self.sandbox.live_faults
        if step.action == FAULTS:
            assert step.faults is not None
            if step.lasting is None:
                live.set(step.faults)
                return "in force until changed"
            left = step.at + step.lasting - elapsed  # its end is on the timeline too
            if left <= 0:
                return "skipped: already over"
            live.set(step.faults, left)
            return f"in force for {left:.1f} s"
        if step.action == CLEAR_FAULTS:
            live.clear()
            return "no faults"
        name = STEPS if step.action == LIFE else step.action
        run = self.sandbox.run_life([(name, step.count)])
        return f"{run.done.get(name, 0)} done, {len(run.changed)} orders changed"
