"""Channel accounts: read from orderhub.toml, shown with their sync state and quarantine.

```toml
[[channels]]
name = "mall-cz"                       # the account name orders carry as `channel`
type = "mall"                          # mall | cscart | dexero | cdon
base_url = "http://127.0.0.1:9001/v1"
client_id_env = "MALL_CZ_CLIENT_ID"    # any `<credential>_env` names the variable holding it
sync_interval = 300                    # seconds between scheduled syncs
# optional: page_size = 100, overlap = 60, timeout = 30, max_attempts = 8, max_pause = 120,
#           confirm = true (MALL: confirm orders back once stored),
#           webhook_secret_env = "MALL_CZ_WEBHOOK_SECRET" (POST /v1/channels/NAME/webhook)
```
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import Engine

from orderhub.channels.base import Account
from orderhub.domain import InvalidInput, NotFound, OrderhubError
from orderhub.domain.clock import SYSTEM_CLOCK, Clock
from orderhub.domain.jsonfmt import fields_document
from orderhub.services.cursor_zones import zoned_cursor
from orderhub.services.sync_health import (
    AccountRecord,
    SyncHealth,
    account_records,
    run_document,
    sync_health,
)
from orderhub.settings import expected_text
from orderhub.store import (
    ChannelState,
    QuarantinedRecord,
    ScheduleRepository,
    SyncRepository,
    SyncRun,
)

_ENV_SUFFIX = "_env"
_NOT_CREDENTIALS = frozenset({"webhook_secret_env"})


class ConfigError(OrderhubError):
    """orderhub.toml (or the environment it points at) is not as expected."""

    title = "Configuration error"


class ChannelNotConfigured(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"no channel account named {name!r} is configured or has synced")


class ChannelConfig(BaseModel):
    """One `[[channels]]` entry of orderhub.toml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    type: Literal["mall", "cscart", "dexero", "cdon"]
    base_url: str = Field(pattern=r"^https?://\S+$")
    sync_interval: int = Field(300, ge=10)
    page_size: int = Field(100, ge=1, le=1000)
    overlap: float = Field(60.0, ge=0)
    timeout: float = Field(30.0, gt=0)
    max_attempts: int = Field(8, ge=1, le=50)
    max_pause: float = Field(120.0, ge=0)
    confirm: bool = True
    #: The variable holding the secret the channel's webhooks carry (`?secret=`); not a
    #: credential of the channel's API, so not collected into credentials_env.
    webhook_secret_env: str | None = None
    #: credential name -> the environment variable holding it (from the `<name>_env` keys).
    credentials_env: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _collect_credentials(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data

        def credential(key: str) -> bool:
            return key.endswith(_ENV_SUFFIX) and key not in _NOT_CREDENTIALS

        rest = {k: v for k, v in data.items() if not credential(k)}
        names = {k.removesuffix(_ENV_SUFFIX): v for k, v in data.items() if credential(k)}
        return {**rest, "credentials_env": {**rest.get("credentials_env", {}), **names}}

    def missing_credentials(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """The environment variables this account needs that are not set."""
        env = os.environ if environ is None else environ
        return [var for var in self.credentials_env.values() if not env.get(var)]

    def webhook_secret(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The secret inbound webhooks must carry; None: this account takes no webhooks."""
        if self.webhook_secret_env is None:
            return None
        env = os.environ if environ is None else environ
        return env.get(self.webhook_secret_env) or None

    def account(self, environ: Mapping[str, str] | None = None) -> Account:
        """The account as a connector needs it, credentials read from the environment."""
        env = os.environ if environ is None else environ
        missing = self.missing_credentials(env)
        if missing:
            raise ConfigError(f"channel {self.name!r}: set the environment variable {missing[0]}")
        return Account(
            name=self.name,
            type=self.type,
            base_url=self.base_url,
            credentials={name: env[var] for name, var in self.credentials_env.items()},
            page_size=self.page_size,
            timeout=self.timeout,
            max_attempts=self.max_attempts,
            overlap=self.overlap,
            max_pause=self.max_pause,
            # sync_interval: not the connector's, the run's (its health events carry it).
            options={"confirm": self.confirm, "sync_interval": self.sync_interval},
        )


def load_config(path: str | Path) -> list[ChannelConfig]:
    """The channel accounts of an orderhub.toml; none when the file does not exist."""
    file = Path(path)
    if not file.exists():
        return []
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML ({exc})") from exc
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(f"{file}: cannot be read ({reason}): expected a TOML file") from exc
    entries = data.get("channels", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{file}: `channels` must be an array of tables ([[channels]])")
    configs = [_entry(file, number, entry) for number, entry in enumerate(entries, start=1)]
    names = [c.name for c in configs]
    if duplicates := sorted({n for n in names if names.count(n) > 1}):
        raise ConfigError(f"{file}: channel names must be unique, repeated: {duplicates}")
    return configs


def _entry(file: Path, number: int, entry: object) -> ChannelConfig:
    try:
        return ChannelConfig.model_validate(entry)
    except ValidationError as exc:
        name = entry.get("name") if isinstance(entry, dict) else None
        where = f"[[channels]] entry {number}" + (f" ({name})" if isinstance(name, str) else "")
        problems = "; ".join(_problem(e) for e in exc.errors())
        raise ConfigError(f"{file}: {where}: {problems}") from None


def _problem(error: Any) -> str:
    """`key = value`: what was expected, one pydantic error as the file's author reads it."""
    loc = [str(part) for part in error["loc"]]
    key = (
        f"{loc[1]}{_ENV_SUFFIX}"
        if loc[:1] == ["credentials_env"] and len(loc) > 1
        else ".".join(loc)
    )
    if error["type"] == "extra_forbidden":
        known = ", ".join(k for k in ChannelConfig.model_fields if k != "credentials_env")
        return f"unknown key `{key}` (known: {known}, and <credential>_env)"
    if error["type"] == "missing":
        return f"`{key}` is missing: it is required"
    expected = _EXPECTED.get(key) if error["type"] == "string_pattern_mismatch" else None
    return f"`{key} = {error['input']!r}`: {expected or expected_text(error)}"


_EXPECTED = {
    "name": "expected letters, digits, '_', '.' or '-' (up to 64, not starting with '_.-')",
    "base_url": "expected an http:// or https:// URL",
}


def select_configs(configs: Sequence[ChannelConfig], name: str | None) -> list[ChannelConfig]:
    """All accounts, or the one named (ConfigError naming the known ones if it is not there)."""
    if name is None:
        return list(configs)
    chosen = [c for c in configs if c.name == name]
    if not chosen:
        known = ", ".join(c.name for c in configs) or "none"
        raise InvalidInput("channel", f"a configured channel name (known: {known})", name)
    return chosen


@dataclass(frozen=True, slots=True)
class ChannelOverview:
    """One account for `GET /v1/channels` and `orderhub channels list`."""

    name: str
    type: str
    configured: bool
    base_url: str | None
    sync_interval: int | None
    missing_credentials: list[str]
    state: ChannelState | None
    last_run: SyncRun | None
    health: SyncHealth


def overview(
    engine: Engine,
    configs: Sequence[ChannelConfig],
    clock: Clock = SYSTEM_CLOCK,
    scheduled: Mapping[str, datetime] | None = None,
) -> list[ChannelOverview]:
    """Configured accounts, then accounts known only from earlier syncs, with their state and
    health at the clock's time (`scheduled`: the scheduler's due times, by account)."""
    with engine.connect() as conn:
        records = account_records(conn)
        due = ScheduleRepository(conn).due_times() if scheduled is None else scheduled
    now = clock.now()

    def view(name: str, config: ChannelConfig | None) -> ChannelOverview:
        record = records.get(name, AccountRecord())
        interval = config.sync_interval if config else None
        kind = config.type if config else (record.state.channel_type if record.state else "?")
        return ChannelOverview(
            name=name,
            type=kind,
            configured=config is not None,
            base_url=config.base_url if config else None,
            sync_interval=interval,
            missing_credentials=config.missing_credentials() if config else [],
            state=record.state,
            last_run=record.last_run,
            health=sync_health(record, interval, now, due.get(name)),
        )

    configured = {c.name for c in configs}
    return [view(c.name, c) for c in configs] + [
        view(name, None) for name in sorted(records.keys() - configured)
    ]


def channel(
    engine: Engine,
    configs: Sequence[ChannelConfig],
    name: str,
    clock: Clock = SYSTEM_CLOCK,
    scheduled: Mapping[str, datetime] | None = None,
) -> ChannelOverview:
    """One account's overview; ChannelNotConfigured unless configured or synced before."""
    found = [v for v in overview(engine, configs, clock, scheduled) if v.name == name]
    if not found:
        raise ChannelNotConfigured(name)
    return found[0]


def channel_document(view: ChannelOverview) -> dict[str, Any]:
    """An account as `GET /v1/channels` and `orderhub channels list --json` show it."""
    state = view.state
    nested = ("state", "last_run", "health")
    return {
        **{name: value for name, value in fields_document(view).items() if name not in nested},
        "cursor": zoned_cursor(view.type, state.cursor) if state else None,
        **fields_document(view.health),
        "last_run": run_document(view.last_run) if view.last_run else None,
    }


def quarantined(
    engine: Engine, channel: str | None, page: int = 1, page_size: int = 50
) -> tuple[list[QuarantinedRecord], int]:
    """A page of quarantined records (newest first) and their count."""
    with engine.connect() as conn:
        return SyncRepository(conn).quarantined(channel, (page - 1) * page_size, page_size)


def quarantine_counts(engine: Engine) -> dict[str, int]:
    """How many records each account has in quarantine (accounts with none left out)."""
    with engine.connect() as conn:
        return SyncRepository(conn).quarantine_counts()


def known_channel(engine: Engine, configs: Sequence[ChannelConfig], name: str) -> None:
    """ChannelNotConfigured unless the name is configured or has synced before."""
    if any(c.name == name for c in configs):
        return
    with engine.connect() as conn:
        repo = SyncRepository(conn)
        if repo.state(name) is None and name not in repo.last_runs():
            raise ChannelNotConfigured(name)
