"""API keys: create, list, revoke, and admit a request (authenticate it and count it)."""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine

from orderhub.domain import Conflict, InvalidInput, NotFound, OrderhubError
from orderhub.domain.clock import SYSTEM_CLOCK, Clock
from orderhub.store import KeyRepository, KeyWithUsage, StoredKey
from orderhub.store.count_cache import quiet_writes

READ = "orders:read"
WRITE = "orders:write"
METRICS = "metrics"
ADMIN = "admin"
#: Every scope a key can hold; `admin` implies the others.
SCOPES = (READ, WRITE, METRICS, ADMIN)
KEY_PREFIX = "ohk_"
MAX_DAILY_LIMIT = 10**12

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_NAME_EXPECTED = "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
_PUBLIC_ID = re.compile(r"[0-9a-f]{12}")


class InvalidApiKey(OrderhubError):
    """No key, or a key that is unknown, malformed or revoked (401)."""

    status_code = 401
    title = "Unauthorized"

    def __init__(self, detail: str, *, presented: bool) -> None:
        #: Whether the request carried a bearer token at all (RFC 6750's `invalid_token`).
        self.presented = presented
        super().__init__(detail)


class MissingScope(OrderhubError):
    status_code = 403
    title = "Forbidden"

    def __init__(self, needed: frozenset[str], held: frozenset[str]) -> None:
        self.needed = needed
        self.held = held
        super().__init__(
            f"this request needs the scope {', '.join(sorted(needed))}; "
            f"the key has {', '.join(sorted(held)) or 'none'}"
        )


class QuotaExceeded(OrderhubError):
    status_code = 429
    title = "Too many requests"

    def __init__(self, quota: Quota) -> None:
        self.quota = quota
        super().__init__(
            f"the key's daily quota of {quota.limit} requests is used up; "
            f"it renews at 00:00 UTC, in {quota.reset_seconds} s"
        )


class KeyNotFound(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"there is no API key named {name!r}")


@dataclass(frozen=True, slots=True)
class ApiKey:
    """The key a request was admitted with (never its secret)."""

    id: int
    name: str
    scopes: frozenset[str]
    #: The key's public id: with `id`, names this key even where SQLite reuses a deleted id.
    public_id: str

    def allows(self, needed: frozenset[str]) -> bool:
        return ADMIN in self.scopes or needed <= self.scopes


@dataclass(frozen=True, slots=True)
class Quota:
    """A key's daily quota as of one request: its limit, requests counted today, time to reset."""

    limit: int
    used: int
    reset_seconds: int

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    @property
    def exceeded(self) -> bool:
        return self.used > self.limit


@dataclass(frozen=True, slots=True)
class Admission:
    key: ApiKey
    #: None for a key with no daily limit (counted in batches by a `UsageTally`, never refused).
    quota: Quota | None


@dataclass(frozen=True, slots=True)
class NewKey:
    name: str
    #: The key itself: shown once, never stored.
    token: str
    scopes: tuple[str, ...]
    daily_limit: int | None


def parse_scopes(text: str) -> tuple[str, ...]:
    """`orders:read,admin` -> ("orders:read", "admin"); unknown or no scopes are a 400."""
    scopes = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    _check_scopes(scopes, text)
    return scopes


def create_key(
    engine: Engine,
    name: str,
    scopes: tuple[str, ...],
    daily_limit: int | None = None,
    *,
    replace: bool = False,
    now: datetime | None = None,
) -> NewKey:
    """A new key; with `replace`, a key of the same name (and its usage) is deleted first."""
    _check_new_key(name, scopes, daily_limit)
    public_id = secrets.token_hex(6)
    token = f"{KEY_PREFIX}{public_id}_{secrets.token_urlsafe(32)}"
    with engine.begin() as conn:
        keys = KeyRepository(conn)
        if replace:
            _recently_admitted.clear()
            keys.delete_named(name)
        elif keys.name_taken(name):
            raise Conflict(f"an API key named {name!r} exists; revoke it or choose another name")
        keys.insert(
            name=name,
            prefix=public_id,
            hash=_digest(token),
            scopes=scopes,
            daily_limit=daily_limit,
            created_at=now or SYSTEM_CLOCK.now(),
        )
    return NewKey(name, token, scopes, daily_limit)


def list_keys(engine: Engine, now: datetime | None = None) -> list[KeyWithUsage]:
    """Every key (revoked ones too), by name, with the requests counted today."""
    with engine.connect() as conn:
        return KeyRepository(conn).list_with_usage(_today(now))


#: How long a server process trusts an unlimited key it has just checked, without asking the
#: database again (a revocation made by another process takes effect within this time).
ADMISSION_CACHE_SECONDS = 1.0
_ADMISSION_CACHE_SIZE = 10_000
_recently_admitted: dict[str, tuple[float, ApiKey]] = {}


def recently_admitted(token: str, clock: Clock = SYSTEM_CLOCK) -> Admission | None:
    """An unlimited key this process admitted less than a second ago: no database round trip.

    Keys with a daily quota are never cached: every request must be counted.
    """
    hit = _recently_admitted.get(token)
    if hit is None or hit[0] <= clock.monotonic():
        return None
    return Admission(hit[1], None)


def _remember(token: str, key: ApiKey, clock: Clock) -> None:
    if len(_recently_admitted) >= _ADMISSION_CACHE_SIZE:
        _recently_admitted.clear()
    _recently_admitted[token] = (clock.monotonic() + ADMISSION_CACHE_SECONDS, key)


def revoke_key(engine: Engine, name: str, now: datetime | None = None) -> bool:
    """Revoke the named key; False when it was already revoked."""
    _recently_admitted.clear()
    with engine.begin() as conn:
        keys = KeyRepository(conn)
        found = keys.by_name(name)
        if found is None:
            raise KeyNotFound(name)
        if found.revoked_at is not None:
            return False
        keys.revoke(found.id, now or SYSTEM_CLOCK.now())
    return True


def admit(
    engine: Engine, token: str, now: datetime | None = None, clock: Clock = SYSTEM_CLOCK
) -> Admission:
    """Authenticate a presented key and count the request against its daily quota (the UTC
    day of `now`, by default the clock's time).

    One indexed lookup, plus one atomic upsert for a key with a daily limit. The caller refuses
    the request when `quota.exceeded`; nothing else has changed by then. An unlimited key's
    request is the caller's to count (`UsageTally`): it is never refused.
    """
    public_id = _public_id(token)
    now = now or clock.now()
    with engine.connect() as conn:
        keys = KeyRepository(conn)
        stored = keys.by_prefix(public_id)
        _verify(stored, token)
        assert stored is not None
        key = ApiKey(stored.id, stored.name, stored.scopes, stored.prefix)
        if stored.daily_limit is None:
            _remember(token, key, clock)
            return Admission(key, None)
        used = keys.count_request(stored.id, _today(now))
        conn.commit()
    return Admission(key, Quota(stored.daily_limit, used, seconds_until_reset(now)))


#: How often a server process writes the requests of its unlimited keys to the database.
USAGE_FLUSH_SECONDS = 1.0


class UsageTally:
    """The requests a server process admitted with unlimited keys, counted in memory and added
    to `key_usage` in batches (`flush`): every key's use is counted, and reading with an
    unlimited key still writes nothing per request (no write lock on the read path)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: Counter[tuple[int, str, date]] = Counter()

    def add(self, key: ApiKey, now: datetime) -> None:
        """Count one request of the key on the UTC day of `now`."""
        with self._lock:
            self._pending[(key.id, key.public_id, _today(now))] += 1

    @property
    def pending(self) -> int:
        """Requests counted and not yet written."""
        with self._lock:
            return sum(self._pending.values())

    def flush(self, engine: Engine) -> int:
        """Write what was counted; how many requests. On a failure the batch waits for the
        next flush (nothing is lost or counted twice) and the error is raised."""
        with self._lock:
            batch, self._pending = self._pending, Counter()
        if not batch:
            return 0
        try:
            with quiet_writes(engine) as conn:  # no list reads them: cached totals stay
                KeyRepository(conn).add_requests(batch)
        except BaseException:
            with self._lock:
                self._pending.update(batch)
            raise
        return sum(batch.values())


def seconds_until_reset(now: datetime) -> int:
    """Whole seconds (at least 1) until the next 00:00 UTC, when every daily quota renews."""
    now = now.astimezone(UTC)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    return max(1, math.ceil((midnight - now).total_seconds()))


def _check_new_key(name: str, scopes: tuple[str, ...], daily_limit: int | None) -> None:
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            "name", "1 to 64 letters, digits, '.', '_' or '-', a letter or digit first", name
        )
    _check_scopes(scopes, ",".join(scopes))
    if daily_limit is not None and not 1 <= daily_limit <= MAX_DAILY_LIMIT:
        raise InvalidInput("daily_limit", f"an integer from 1 to {MAX_DAILY_LIMIT}", daily_limit)


def _check_scopes(scopes: tuple[str, ...], given: str) -> None:
    if not scopes or any(scope not in SCOPES for scope in scopes):
        raise InvalidInput("scopes", f"a comma-separated list of {', '.join(SCOPES)}", given)


def _public_id(token: str) -> str:
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] + "_" != KEY_PREFIX or not _PUBLIC_ID.fullmatch(parts[1]):
        raise InvalidApiKey("the API key is malformed", presented=True)
    return parts[1]


def _verify(stored: StoredKey | None, token: str) -> None:
    if stored is None or not hmac.compare_digest(stored.hash, _digest(token)):
        raise InvalidApiKey("the API key is not valid", presented=True)
    if stored.revoked_at is not None:
        raise InvalidApiKey("the API key has been revoked", presented=True)


def _digest(token: str) -> str:
    # Keys carry 256 random bits: a fast hash is right (no stretching needed).
    return hashlib.sha256(token.encode()).hexdigest()


def _today(now: datetime | None) -> date:
    return (now or SYSTEM_CLOCK.now()).astimezone(UTC).date()
