"""HTTP for channel clients: retries with backoff and jitter, Retry-After, rate-limit pacing.

Every channel client sends its requests through one `ChannelHttp`. It turns transport failures
and answers into the errors of `channels/base.py`, retries the Retriable ones (tenacity), never
sends a request before a `Retry-After` has passed, and slows down as the channel's
`X-RateLimit-Remaining` runs low instead of running into 429s.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Self

import httpx
import orjson
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from orderhub.channels.base import (
    Account,
    ChannelNotFound,
    Fatal,
    QuotaExhausted,
    RequestStats,
    Retriable,
)
from orderhub.channels.http_lean import LeanAnswer, LeanRequests
from orderhub.channels.http_transport import KeepAliveTransport, lean_transport

#: Start pacing when fewer than this share of the quota is left.
LOW_WATER = 0.1
#: Larger values of X-RateLimit-Reset are a Unix time, smaller ones seconds from now.
_EPOCH_THRESHOLD = 1_000_000_000
#: The largest answer a channel client reads (docs/sync.md "Hostile answers"): the largest
#: page any channel is asked for (1,000 CDON orders) is a few MB; past this the answer is
#: refused while it streams in, so a hostile or broken channel cannot fill the memory.
MAX_BODY_BYTES = 32 * 1024 * 1024

ErrorMessage = Callable[[httpx.Response], str]


@dataclass(slots=True)
class Backoff:
    """Exponential backoff with full jitter: a random wait in [0, min(cap, base * 2**n)]."""

    base: float = 0.2
    cap: float = 10.0

    def __call__(self, attempt: int) -> float:
        return random.uniform(0, min(self.cap, self.base * 2 ** (attempt - 1)))


class Pacer:
    """When the next request may go: after any Retry-After, spread over a low quota."""

    def __init__(self, clock: Callable[[], float], max_pause: float) -> None:
        self.clock = clock
        self.max_pause = max_pause
        self.not_before = 0.0
        self._exhausted: QuotaExhausted | None = None

    def delay(self) -> float:
        """Seconds to wait before the next request; QuotaExhausted if that is longer than a run
        waits (raised before the request, so the answer that told us was still used)."""
        wait = max(0.0, self.not_before - self.clock())
        if self._exhausted is not None and wait > self.max_pause:
            raise self._exhausted
        return wait

    def hold(self, seconds: float) -> None:
        """No request before `seconds` from now (a Retry-After, a reset)."""
        self.not_before = max(self.not_before, self.clock() + seconds)

    def observe(self, headers: httpx.Headers) -> None:
        """Read X-RateLimit-Limit/Remaining/Reset and pace the requests that follow."""
        limit = _number(headers.get("x-ratelimit-limit"))
        remaining = _number(headers.get("x-ratelimit-remaining"))
        reset = _reset_in(headers.get("x-ratelimit-reset"))
        if limit is None or remaining is None or reset is None or limit <= 0:
            return
        if remaining > limit * LOW_WATER:
            self._exhausted = None
            return
        spacing = reset if remaining <= 0 else reset / remaining
        self._exhausted = QuotaExhausted(
            f"rate limit: {remaining:.0f} of {limit:.0f} requests left, resets in {reset:.0f} s",
            retry_after=reset,
        )
        self.hold(spacing)


class ChannelHttp:
    """An httpx client that retries, paces and counts; answers are decoded JSON."""

    def __init__(
        self,
        base_url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        max_attempts: int = 8,
        max_pause: float = 120.0,
        backoff: Backoff | None = None,
        error_message: ErrorMessage | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        own = lean_transport(timeout) if transport is None else None
        self.client = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            params=dict(params or {}),
            headers=dict(headers or {}),
            timeout=timeout,
            transport=transport if transport is not None else own,
        )
        self.lean = LeanRequests(self.client, own) if isinstance(own, KeepAliveTransport) else None
        self.stats = RequestStats()
        self.pacer = Pacer(clock, max_pause)
        self.max_attempts = max_attempts
        self.max_pause = max_pause
        self.backoff = backoff or Backoff()
        self.error_message = error_message or (lambda response: response.text[:200])
        self.sleep = sleep
        self.max_body_bytes = max_body_bytes

    @classmethod
    def for_account(
        cls,
        account: Account,
        *,
        error_message: ErrorMessage,
        base_url: str | None = None,
        **options: Any,
    ) -> Self:
        """A client with the account's timeout, attempts and longest pause; `options` add the
        channel's parameters, headers and format, and let tests inject a transport or a clock."""
        return cls(
            account.base_url if base_url is None else base_url,
            timeout=account.timeout,
            max_attempts=account.max_attempts,
            max_pause=account.max_pause,
            error_message=error_message,
            **options,
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        json_body: Any = None,
    ) -> Any:
        """Send with retries; the decoded JSON body (None for an empty one)."""
        path = path.lstrip("/")
        try:
            # Most requests succeed at once: tenacity (~65 us a call) only once one has failed.
            return self._attempt(method, path, params, json_body)
        except Exception as exc:
            if not _worth_repeating(exc) or self.max_attempts < 2:
                raise
        self._count_retry(None)
        self._sleep(self.backoff(1))
        retrying = Retrying(
            retry=retry_if_exception(_worth_repeating),
            stop=stop_after_attempt(self.max_attempts - 1),
            wait=self._wait_after_first,
            sleep=self._sleep,
            before_sleep=self._count_retry,
            reraise=True,
        )
        return retrying(self._attempt, method, path, params, json_body)

    def close(self) -> None:
        self.client.close()

    def _attempt(self, method: str, path: str, params: Any, json_body: Any) -> Any:
        response = self._send(method, path, params, json_body)
        if isinstance(response, httpx.Response):  # a LeanAnswer is a success (below 400)
            self._check(method, path, response)
        return self._read(f"{method} {path}", response.content)

    def _send(
        self, method: str, path: str, params: Any, json_body: Any
    ) -> httpx.Response | LeanAnswer:
        """One request, paced and counted; transport failures are Retriable."""
        self._sleep(self.pacer.delay())
        self.stats.requests += 1
        where = f"{method} {path}"
        try:
            response: httpx.Response | LeanAnswer
            if self.lean is not None and self.lean.takes(method, path, json_body):
                response = self.lean.send(method, path, params, json_body, where, self._capped)
            else:
                request = self.client.build_request(method, path, params=params, json=json_body)
                response = self.client.send(request, stream=True)
            if isinstance(response, httpx.Response):
                try:
                    self._read_capped(where, response)
                finally:
                    response.close()
        except httpx.TimeoutException as exc:
            raise Retriable(f"{method} {path}: timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise Retriable(f"{method} {path}: connection failed ({exc!r})") from exc
        self.pacer.observe(response.headers)
        return response

    def _read_capped(self, where: str, response: httpx.Response) -> None:
        """Read the body into `response` (so `.content`/`.text` work), refusing it as it
        streams in once it passes `max_body_bytes`: a Fatal, not retried (the same request
        would bring the same answer)."""
        # Where httpx keeps a read body (`Response.read()` sets the same); read() itself has
        # no limit, so the capped read fills it.
        response._content = self._capped(where, response.headers, response.iter_bytes())

    def _capped(self, where: str, headers: httpx.Headers, body: Iterable[bytes]) -> bytes:
        declared = _number(headers.get("content-length"))
        if declared is not None and declared > self.max_body_bytes:
            raise BodyTooLarge(where, self.max_body_bytes, f"{declared:.0f} bytes declared")
        chunks: list[bytes] = []
        size = 0
        for chunk in body:
            size += len(chunk)
            if size > self.max_body_bytes:
                raise BodyTooLarge(where, self.max_body_bytes, f"over {size} bytes read")
            chunks.append(chunk)
        return b"".join(chunks)

    def _read(self, where: str, content: bytes) -> Any:
        """The decoded JSON body (None for an empty one); channels with other formats override."""
        if not content:
            return None
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError as exc:
            # A body cut short (a dropped connection mid-answer) is worth another try.
            raise Retriable(f"{where}: the response is not complete JSON ({exc})") from exc

    def _check(self, method: str, path: str, response: httpx.Response) -> None:
        code = response.status_code
        if code < 400:
            return
        where = f"{method} {path}: HTTP {code}"
        if code == 429 or code >= 500:
            retry_after = retry_after_seconds(response.headers.get("retry-after"))
            if retry_after is not None:
                self._hold_for(retry_after, where)
            raise Retriable(f"{where} {self.error_message(response)}", retry_after)
        if code == 404:
            raise ChannelNotFound(f"{where} {self.error_message(response)}")
        raise Fatal(f"{where} {self.error_message(response)}")

    def _hold_for(self, retry_after: float, where: str) -> None:
        if retry_after > self.max_pause:
            raise QuotaExhausted(f"{where}: Retry-After {retry_after:.0f} s", retry_after)
        self.pacer.hold(retry_after)

    def _wait_after_first(self, state: RetryCallState) -> float:
        # The pacer holds each attempt until any Retry-After has passed; this adds the jitter.
        # Tenacity's attempt 1 is the request's second.
        return self.backoff(state.attempt_number + 1)

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.stats.waited += seconds
            self.sleep(seconds)

    def _count_retry(self, _state: RetryCallState | None) -> None:
        self.stats.retries += 1


class BodyTooLarge(Fatal):
    """The channel's answer is larger than a client reads (`MAX_BODY_BYTES`)."""

    def __init__(self, where: str, limit: int, seen: str) -> None:
        super().__init__(
            f"{where}: the answer is larger than {limit // (1024 * 1024)} MiB ({seen}); "
            "refused unread (ask for smaller pages: page_size in orderhub.toml)"
        )


class ChannelClient:
    """A channel's calls over one `ChannelHttp` (subclasses: `channels/<name>/client.py`)."""

    def __init__(self, http: ChannelHttp) -> None:
        self.http = http

    def close(self) -> None:
        self.http.close()


def require_credentials(
    account: Account, names: tuple[str, ...], where: str = "see orderhub.toml"
) -> None:
    """Fatal naming the first of `names` the account has no value for."""
    missing = [name for name in names if not account.credentials.get(name)]
    if missing:
        raise Fatal(f"channel {account.name!r}: no {missing[0]} credential ({where})")


def _worth_repeating(exc: BaseException) -> bool:
    return isinstance(exc, Retriable) and not isinstance(exc, QuotaExhausted)


def _number(value: str | None) -> float | None:
    try:
        return None if value is None else float(value)
    except ValueError:
        return None


def _reset_in(value: str | None) -> float | None:
    seconds = _number(value)
    if seconds is None:
        return None
    if seconds > _EPOCH_THRESHOLD:
        seconds -= time.time()
    return max(0.0, seconds)


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as delta seconds or an HTTP date; None when absent or unreadable."""
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return max(0.0, seconds)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
