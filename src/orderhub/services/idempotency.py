"""Idempotent writes (docs/idempotency.md): the rules of an `Idempotency-Key`.

A key names one request of one API key for 24 hours. The first request with it claims it and
runs; its answer is stored and every later request with the same key and the same method, path,
query string and body gets that answer again without running. The same key with another
request is a `KeyTaken` conflict, and so is any while the first request still runs.
A claim whose request died (its process was killed) lapses after `RUNNING_LEASE`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from sqlalchemy import Engine

from orderhub.domain import Conflict, InvalidInput
from orderhub.store.idempotency import IdempotencyRepository, NewClaim, StoredRequest

HEADER = "Idempotency-Key"
#: How long an answer is replayed (and a key kept): from the key's first use.
REPLAY_FOR = timedelta(hours=24)
#: How long a running request holds its key: after that its claim lapses (a killed process) and
#: the next request with the same key and body runs again. Longer than any request may take.
RUNNING_LEASE = timedelta(minutes=2)
#: 1 to 255 visible ASCII characters: a UUID, a ULID, a client's own request number.
KEY_PATTERN = "^[!-~]{1,255}$"
KEY_EXPECTED = "one value of 1 to 255 visible ASCII characters (! to ~), e.g. a UUID"
_KEY = re.compile(KEY_PATTERN)
#: Answers that say the request was refused before it ran (bad input, no key or scope, a cap,
#: the quota): nothing changed, so they are not kept and a retry with the same key runs.
REFUSED_BEFORE_RUNNING = frozenset({400, 401, 403, 405, 413, 414, 415, 429, 431})


class KeyTaken(Conflict):
    """The key is held: by another request (`running` False: it needs a new key), or by its
    own first request, still running (retry in a moment)."""

    def __init__(self, key: str, *, running: bool) -> None:
        self.running = running
        if running:
            self.title = "Idempotency-Key in use"
            self.expected = "the first request with this key to finish: retry in a moment"
            super().__init__(f"the first request with {HEADER} {key!r} is still running")
        else:
            self.title = "Idempotency-Key reused"
            self.expected = "a new key for a new request (this one was used for another one)"
            super().__init__(f"{HEADER} {key!r} was used for another request")


@dataclass(frozen=True, slots=True)
class Claimed:
    """The request holds its key and runs; `owner` names the claim."""

    owner: str


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer as stored and replayed: status, the headers worth replaying, the body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def kept(status: int) -> bool:
    """Whether an answer is stored and replayed: every answer of a request that ran, but not
    a 5xx (an error rolls its transaction back, so nothing changed: the retry runs again)."""
    return status < 500 and status not in REFUSED_BEFORE_RUNNING


def parse_key(values: Sequence[str]) -> str:
    """The request's key from its `Idempotency-Key` header values (one, well formed)."""
    if len(values) != 1:
        raise InvalidInput(HEADER, KEY_EXPECTED, f"{len(values)} values")
    if _KEY.fullmatch(values[0]) is None:
        shown = values[0] if len(values[0]) <= 64 else values[0][:64] + "..."
        raise InvalidInput(HEADER, KEY_EXPECTED, shown)
    return values[0]


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    """What makes two requests the same one: sha256 of method, path, query string and body."""
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def claim(
    engine: Engine, api_key_id: int, key: str, fingerprint: str, at: datetime
) -> Claimed | Answer:
    """Claim `key` for a request of `api_key_id` at `at`: `Claimed` (run it) or the stored
    `Answer` (replay it); `KeyTaken` when neither may happen."""
    claim = NewClaim(fingerprint, secrets.token_hex(16), at, at + RUNNING_LEASE)
    # SQLite: the INSERT begins the transaction as the writer (IMMEDIATE), so claims take turns.
    with IdempotencyRepository.transaction(engine) as repository:
        while True:
            if repository.insert(api_key_id, key, claim):
                return Claimed(claim.owner)
            seen = repository.get(api_key_id, key)
            if seen is None:  # released between the two statements: claim it again
                continue
            if _reusable(seen, fingerprint, at):
                if repository.take_over(api_key_id, key, seen, claim):
                    return Claimed(claim.owner)
                continue
            if seen.fingerprint != fingerprint:
                raise KeyTaken(key, running=False)
            if seen.status is None or seen.body is None:
                raise KeyTaken(key, running=True)
            headers = tuple((name, value) for name, value in orjson.loads(seen.headers or "[]"))
            return Answer(seen.status, headers, seen.body)


def _reusable(seen: StoredRequest, fingerprint: str, at: datetime) -> bool:
    """A row that counts as absent: its 24 hours are over, or it is the same request's claim
    whose process died (the lease ran out) and never stored an answer."""
    if seen.created_at <= at - REPLAY_FOR:
        return True
    lapsed = seen.status is None and seen.lease_until is not None and seen.lease_until <= at
    return lapsed and seen.fingerprint == fingerprint


def finish(engine: Engine, api_key_id: int, key: str, owner: str, answer: Answer) -> bool:
    """Store the answer of the request that holds `key`; False if its claim lapsed meanwhile."""
    with IdempotencyRepository.transaction(engine) as repository:
        return repository.finish(
            api_key_id,
            key,
            owner,
            status=answer.status,
            headers=orjson.dumps(answer.headers).decode(),
            body=answer.body,
        )


def release(engine: Engine, api_key_id: int, key: str, owner: str) -> bool:
    """Give the key up without an answer: the next request with it runs."""
    with IdempotencyRepository.transaction(engine) as repository:
        return repository.release(api_key_id, key, owner)


def purge_expired(engine: Engine, at: datetime) -> int:
    """Delete the keys whose 24 hours are over at `at` (they already count as absent)."""
    with IdempotencyRepository.transaction(engine) as repository:
        return repository.purge(at - REPLAY_FOR)
