"""The faults a sandbox injects: their spec (from `--faults`, the control endpoint's body or a
scenario step) and the spec in force while the sandbox runs. Re-exported by `sandbox_kit`."""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orderhub.domain.clock import SYSTEM_CLOCK, Clock

#: The fault kinds, in the order one random draw is matched against their rates (new kinds go
#: last, so an existing spec draws the same faults as before).
FAULT_KINDS = ("429", "500", "timeout", "truncate", "reset", "502", "503", "504")
#: The kinds answered with an HTTP status of their own name (429 and 503 with Retry-After).
STATUS_KINDS = ("429", "500", "502", "503", "504")
OPTIONS = ("seed", "retry_after", "delay")


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """Per-request fault rates, e.g. parsed from `429=0.2,500=0.05,timeout=0.01,seed=7`.

    `retry_after` is the Retry-After (seconds) of an injected 429 or 503; `delay` how long a
    `timeout` fault holds the request before answering.
    """

    rates: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    retry_after: int = 1
    delay: float = 5.0

    @property
    def active(self) -> bool:
        return any(rate > 0 for rate in self.rates.values())

    @classmethod
    def parse(cls, text: str | None) -> FaultSpec:
        """Parse `kind=rate,...,seed=S[,retry_after=SECONDS][,delay=SECONDS]`; ValueError if bad."""
        if text is None or text.strip() == "":
            return cls()
        values: dict[str, str] = {}
        for item in text.split(","):
            key, sep, raw = (part.strip() for part in item.partition("="))
            if not sep:
                raise ValueError(f"fault spec: expected key=value, got {item.strip()!r}")
            values[key] = raw
        return cls.from_mapping(values)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> FaultSpec:
        """The spec from `{kind: rate, option: value}` (text or numbers, as in JSON or TOML)."""
        rates: dict[str, float] = {}
        options: dict[str, Any] = {}
        for key, raw in values.items():
            if key in FAULT_KINDS:
                rates[key] = _rate(key, raw)
            elif key in ("seed", "retry_after"):
                options[key] = _number(key, raw, int)
            elif key == "delay":
                options[key] = _number(key, raw, float)
            else:
                known = ", ".join((*FAULT_KINDS, *OPTIONS))
                raise ValueError(f"fault spec: unknown key {key!r} (known: {known})")
        if sum(rates.values()) > 1:
            raise ValueError("fault spec: the rates add up to more than 1")
        return cls(rates, **options)

    def pick(self, draw: float) -> str | None:
        """The fault kind a uniform draw in [0, 1) falls on, or None for no fault."""
        bound = 0.0
        for kind in FAULT_KINDS:
            bound += self.rates.get(kind, 0.0)
            if draw < bound:
                return kind
        return None

    def text(self) -> str:
        """The spec as `--faults` takes it (the rates above 0, then every option)."""
        rates = [f"{k}={self.rates[k]:g}" for k in FAULT_KINDS if self.rates.get(k, 0) > 0]
        options = [f"seed={self.seed}", f"retry_after={self.retry_after}"]
        return ",".join([*rates, *options, f"delay={self.delay:g}"])

    def json(self) -> dict[str, Any]:
        rates = {k: self.rates[k] for k in FAULT_KINDS if self.rates.get(k, 0) > 0}
        return {"spec": self.text(), "rates": rates, "seed": self.seed,
                "retry_after": self.retry_after, "delay": self.delay}  # fmt: skip


def _rate(key: str, raw: object) -> float:
    rate = _number(key, raw, float)
    if not 0 <= rate <= 1:
        raise ValueError(f"fault spec: {key} must be a rate from 0 to 1, got {raw!r}")
    return float(rate)


def _number(key: str, raw: object, kind: type[int] | type[float]) -> Any:
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise ValueError(f"fault spec: {key} expects a number, got {raw!r}")
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"fault spec: {key} expects a number, got {raw!r}") from None
    if kind is int and isinstance(raw, float) and raw != value:
        raise ValueError(f"fault spec: {key} expects a whole number, got {raw!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"fault spec: {key} must be a number from 0 up, got {raw!r}")
    return value


def duration(raw: object, name: str = "for") -> float:
    """Seconds a fault episode lasts: a number above 0 (ValueError naming `name` if not)."""
    try:
        seconds = float(raw) if isinstance(raw, (str, int, float)) else math.nan
    except ValueError:
        seconds = math.nan
    if isinstance(raw, bool) or not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{name}: expected seconds above 0, got {raw!r}")
    return seconds


def faults_from_mapping(values: Mapping[str, Any]) -> tuple[FaultSpec, float | None]:
    """A spec and how long it lasts, from `{"spec": "429=1", "for": 30}` or the spec's own keys
    (`{"429": 1, "retry_after": 5, "for": 30}`): a JSON body, or a scenario step's keys."""
    rest = dict(values)
    lasting = duration(rest.pop("for")) if "for" in rest else None
    if "spec" not in rest:
        return FaultSpec.from_mapping(rest), lasting
    text = rest.pop("spec")
    if rest:
        raise ValueError(f"spec: give the spec or its keys, not both (also got {sorted(rest)})")
    if not isinstance(text, str):
        raise ValueError(f"spec: expected a fault spec such as '429=1,retry_after=5', got {text!r}")
    return FaultSpec.parse(text), lasting


class LiveFaults:
    """The faults in force while a sandbox runs: the start's spec until the control endpoint or
    a scenario sets another, for good or for a while (then the one before comes back).

    The draws come from one seeded stream in arrival order, reseeded whenever the spec changes,
    so a sequential client sees the same faults on every run. Episodes are timed on `clock`.
    """

    def __init__(self, spec: FaultSpec, clock: Clock = SYSTEM_CLOCK) -> None:
        self.clock = clock
        self._spec = spec
        self._after: FaultSpec | None = None  # what comes back when the episode ends
        self._until: float | None = None  # clock.monotonic() when it ends
        self._random = random.Random(spec.seed)
        self._lock = threading.Lock()

    @property
    def spec(self) -> FaultSpec:
        """The spec in force now."""
        with self._lock:
            self._expire()
            return self._spec

    def draw(self) -> tuple[str | None, FaultSpec]:
        """The fault for the next request (None: none) and the spec it was drawn from."""
        with self._lock:
            self._expire()
            spec = self._spec
            return (spec.pick(self._random.random()) if spec.active else None), spec

    def set(self, spec: FaultSpec, seconds: float | None = None) -> None:
        """Put `spec` in force: for good, or for `seconds` and then back to the spec before."""
        with self._lock:
            self._expire()
            if seconds is None:
                self._after = self._until = None
            else:
                self._after = self._spec if self._after is None else self._after
                self._until = self.clock.monotonic() + seconds
            self._use(spec)

    def clear(self) -> None:
        """No faults from now on (an episode in course ends too)."""
        self.set(FaultSpec())

    def state(self) -> dict[str, Any]:
        """The spec in force, whether it is an episode, and what comes after it."""
        with self._lock:
            self._expire()
            left = None if self._until is None else self._until - self.clock.monotonic()
            after = None if self._after is None else self._after.text()
            return {**self._spec.json(), "active": self._spec.active,
                    "expires_in": left, "then": after}  # fmt: skip

    def _expire(self) -> None:
        if self._until is not None and self.clock.monotonic() >= self._until:
            assert self._after is not None  # set with the episode
            after, self._after, self._until = self._after, None, None
            self._use(after)

    def _use(self, spec: FaultSpec) -> None:
        self._spec = spec
        self._random = random.Random(spec.seed)
