"""Settings: the only place that reads the environment (and `.env`)."""

from __future__ import annotations

import os
import re
import secrets
import socket
from pathlib import Path
from typing import Annotated, Self
from urllib.parse import urlsplit

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.ids import parse_ids, parse_snowflake

DEFAULT_MODEL_ID = "bytedance/seedance-v1.5-pro/image-to-video"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_RUNCOMFY_CONNECTIONS = 64  # RUNCOMFY_CONNECTIONS' default
# What DATABASE_URL may name: an SQLite file or a PostgreSQL server (asyncpg's schemes).
DATABASE_URL_SCHEMES = ("sqlite", "postgresql", "postgres")
_MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")
# What each id list holds, for its error message.
ID_LISTS = {
    "discord_guild_ids": "expected comma-separated numeric server ids, e.g. 123,456",
    "owner_ids": "expected comma-separated numeric user ids, e.g. 123,456",
    "shard_ids": "expected comma-separated shard numbers, e.g. 0,1",
}
DEFAULT_QUEUE_TIMEOUT = 30 * 60.0
# A video download stalls below this many bytes in this many seconds (the defaults).
VIDEO_STALL_SECONDS = 10.0
VIDEO_STALL_BYTES = 256 * 1024
# A count the quotas compare in SQL must fit a 64-bit integer; no bot needs more than this.
MAX_QUOTA = 1_000_000
# The database file and the files beside it that SQLite and the bot use.
DATABASE_COMPANIONS = ("", "-wal", "-shm", "-journal", ".lock")
# What a token is made of: printable ASCII, no spaces (an HTTP header carries nothing else).
_TOKEN = re.compile(r"[\x21-\x7e]+")


class Settings(BaseSettings):
    """Every knob of the bot. Tokens are `SecretStr` so they never print."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        # `KEY=` lines in .env mean "not set", so the defaults (or "missing") apply.
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
        # An infinite timeout, rate or amount is a typo: it failed later, in the middle of a job.
        allow_inf_nan=False,
    )

    discord_token: SecretStr
    runcomfy_api_token: SecretStr
    runcomfy_base_url: str = "https://model-api.runcomfy.net"
    # The models users may choose, the first the default (comma-separated RunComfy ids).
    runcomfy_model_ids: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # One model alone, as before RUNCOMFY_MODEL_IDS existed; read when that one is empty.
    runcomfy_model_id: str | None = None
    database_path: Path = Path("data/bot.db")
    # postgresql://user:password@host/db selects the shared PostgreSQL store (several
    # processes); sqlite:///path is the same as DATABASE_PATH; other schemes are refused.
    # Secret: it may hold a password.
    database_url: SecretStr | None = None
    # This process's name on leased jobs; must differ between processes sharing a database.
    process_id: str = Field(default_factory=lambda: _default_process_id(), min_length=1)
    # With PostgreSQL: a process that dies has its jobs taken over within this many seconds.
    lease_seconds: float = Field(default=30.0, gt=0)
    # Sharding (discord.py AutoShardedBot): the total, and the shards this process runs.
    shard_count: int | None = Field(default=None, ge=1)
    shard_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    # Commands sync globally and, at start, to these guilds too (instant there).
    discord_guild_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    # Where operator alerts (balance empty, bad token) go besides the log.
    admin_channel_id: int | None = None
    # The bot's operators: they may use /admin on every server (user ids).
    owner_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    # The operator's kill switch: no new job anywhere while set (running jobs finish).
    global_pause: bool = False
    # How often every model's price and schema are read again from RunComfy.
    price_refresh_seconds: float = Field(default=60 * 60, gt=0)
    # The operator's own cap on what every job of a day (rolling 24 h) may cost, DMs
    # included, in US dollars; None: no cap.
    daily_spend_usd: float | None = Field(default=None, gt=0)

    # Polling RunComfy: sparse far from the expected end, dense near it.
    poll_min_seconds: float = Field(default=2.0, gt=0)
    poll_max_seconds: float = Field(default=15.0, gt=0)
    # Time in RunComfy's queue, from submit: then the job is cancelled there (unbilled).
    # Unset: JOB_TIMEOUT_SECONDS, else 30 minutes (`queue_timeout`).
    queue_timeout_seconds: float | None = Field(default=None, gt=0)
    # Once rendering (billed anyway), how long the bot keeps waiting for the video.
    render_hard_cap_seconds: float = Field(default=3 * 60 * 60, gt=0)
    # The old name of QUEUE_TIMEOUT_SECONDS: it counted from submit, so it cut renders short.
    job_timeout_seconds: float | None = Field(default=None, gt=0)
    http_timeout_seconds: float = Field(default=30.0, gt=0)
    # One budget for every RunComfy request of the bot: a guard against a runaway, set
    # above what 1,000 live jobs ask at their busiest (RunComfy publishes no limit).
    runcomfy_requests_per_second: float = Field(default=400.0, ge=1)
    # The most connections to RunComfy; the bot uses what the round trip needs to
    # carry the budget (bot/inflight.py).
    runcomfy_connections: int = Field(default=DEFAULT_RUNCOMFY_CONNECTIONS, ge=1, le=256)
    # Seconds assumed for a render when no past job of the same kind is known.
    default_eta_seconds: float = Field(default=120.0, gt=0)

    # Discord etiquette.
    status_edit_interval_seconds: float = Field(default=5.0, ge=0)
    interaction_token_ttl_seconds: float = Field(default=14 * 60, gt=0)

    # Quotas: every job costs the operator money.
    quota_user_concurrent: int = Field(default=2, ge=1, le=MAX_QUOTA)
    quota_user_daily: int = Field(default=20, ge=1, le=MAX_QUOTA)
    quota_global_concurrent: int = Field(default=50, ge=1, le=MAX_QUOTA)

    # Videos larger than this are never downloaded (a link is posted instead).
    max_video_bytes: int = Field(default=500 * 1024 * 1024, gt=0)
    # The whole video download (all tries) ends by then: a trickling CDN cannot hold it.
    video_download_timeout_seconds: float = Field(default=300.0, gt=0)
    # A try that gets fewer than STALL_BYTES in STALL_SECONDS has stalled: the next try,
    # then the link, in seconds rather than at the deadline.
    video_download_stall_seconds: float = Field(default=VIDEO_STALL_SECONDS, gt=0)
    video_download_stall_bytes: int = Field(default=VIDEO_STALL_BYTES, ge=1)
    # Fetch result videos from private, loopback and link-local addresses (tests only).
    allow_private_urls: bool = False
    # Re-encoding (to play inline, to fit the upload limit) is CPU work in worker processes.
    # At most 1,024: far past any machine's cores, and a pool of 2**31 cannot be made.
    video_workers: int = Field(default=1, ge=1, le=1024)
    video_fit_timeout_seconds: float = Field(default=300.0, gt=0)
    # Rows older than this many days are purged at start and daily; None keeps all.
    history_retention_days: int | None = Field(default=None, ge=1)

    # On SIGTERM/SIGINT, commands under way get this long to send their job (one already
    # sending gets up to 6 s); Docker kills 10 s after its SIGTERM, so this stays below.
    shutdown_grace_seconds: float = Field(default=5.0, ge=0, le=6)

    log_level: str = "INFO"

    # Prometheus metrics on http://METRICS_HOST:METRICS_PORT/metrics; None serves none.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    # Loopback by default: the numbers are the operator's, not the internet's.
    metrics_host: str = "127.0.0.1"
    # Touched every few seconds while the gateway is connected; `python -m bot health`
    # reads its age (the Docker HEALTHCHECK). None writes none.
    heartbeat_path: Path | None = None

    @property
    def queue_timeout(self) -> float:
        """Seconds a job may wait in RunComfy's queue (QUEUE_TIMEOUT_SECONDS, or the old name)."""
        return self.queue_timeout_seconds or self.job_timeout_seconds or DEFAULT_QUEUE_TIMEOUT

    @field_validator("discord_guild_ids", "owner_ids", "shard_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str):
            ids = parse_ids(value)
            if ids is None:
                # Never echo the value back: the message is the same for any input.
                raise PydanticCustomError("ids", ID_LISTS[info.field_name or ""])
            return ids
        return value

    @field_validator("admin_channel_id", mode="before")
    @classmethod
    def _channel_id(cls, value: object) -> object:
        text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
        if isinstance(text, str):
            if not text.strip():
                return None
            channel = parse_snowflake(text)
            if channel is None:
                raise PydanticCustomError("id", "expected a numeric channel id, e.g. 123456")
            return channel
        return value

    @field_validator("discord_token", "runcomfy_api_token")
    @classmethod
    def _token_as_pasted(cls, value: SecretStr) -> SecretStr:
        # Never echo the value back: the messages are the same for any input.
        token = value.get_secret_value().strip()
        if not token:
            raise PydanticCustomError("token", "is blank")
        if not _TOKEN.fullmatch(token):
            raise PydanticCustomError(
                "token",
                "holds a character no token has, such as a space or an accent: copy it "
                "again from where it was made",
            )
        return SecretStr(token)

    @field_validator("runcomfy_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        url = value.strip()
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise PydanticCustomError(
                "url",
                "expected an http:// or https:// address, e.g. https://model-api.runcomfy.net",
            )
        return url

    @field_validator("runcomfy_model_ids", mode="before")
    @classmethod
    def _split_model_ids(cls, value: object) -> object:
        if isinstance(value, str):
            ids = [part.strip() for part in value.split(",") if part.strip()]
            if not ids and value.strip():
                _check_model_id("")  # commas alone: a list that lost its ids, not "the default"
            return ids
        return value

    @field_validator("runcomfy_model_ids")
    @classmethod
    def _valid_model_ids(cls, value: list[str]) -> list[str]:
        for model_id in value:
            _check_model_id(model_id)
        return list(dict.fromkeys(value))

    @field_validator("runcomfy_model_id")
    @classmethod
    def _valid_model_id(cls, value: str | None) -> str | None:
        if value is not None:
            _check_model_id(value.strip())
        return value.strip() if value is not None else None

    @property
    def model_ids(self) -> tuple[str, ...]:
        """The operator's models, in order: RUNCOMFY_MODEL_IDS, else RUNCOMFY_MODEL_ID alone."""
        if self.runcomfy_model_ids:
            return tuple(self.runcomfy_model_ids)
        return (self.runcomfy_model_id or DEFAULT_MODEL_ID,)

    @model_validator(mode="after")
    def _shards_within_count(self) -> Settings:
        if self.shard_ids and self.shard_count is None:
            raise ValueError("SHARD_IDS needs SHARD_COUNT")
        if self.shard_count is not None and any(
            not 0 <= i < self.shard_count for i in self.shard_ids
        ):
            raise ValueError("every SHARD_IDS entry must be from 0 to SHARD_COUNT - 1")
        return self

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return value
        if url_scheme(value.get_secret_value()) not in DATABASE_URL_SCHEMES:
            # Never echo the value back: it may hold a password.
            raise PydanticCustomError(
                "database_url",
                "must start with sqlite:, postgresql: or postgres: (other schemes, such as "
                "postgresql+asyncpg: or mysql:, are not supported)",
            )
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise PydanticCustomError("log_level", "must be one of " + ", ".join(LOG_LEVELS))
        return level

    @model_validator(mode="after")
    def _heartbeat_apart_from_the_database(self) -> Self:
        # The heartbeat replaces its file every 2 s and removes it at a stop.
        if self.heartbeat_path is None:
            return self
        database = self.database_path.resolve()
        companions = {database.with_name(database.name + end) for end in DATABASE_COMPANIONS}
        if self.heartbeat_path.resolve() in companions:
            raise PydanticCustomError(
                "heartbeat_path",
                "HEARTBEAT_PATH ({heartbeat}) must not be DATABASE_PATH's file or one beside "
                "it that SQLite uses: the heartbeat replaces its file and removes it at a stop",
                {"heartbeat": str(self.heartbeat_path)},
            )
        return self

    @model_validator(mode="after")
    def _poll_range(self) -> Self:
        if self.poll_min_seconds > self.poll_max_seconds:
            raise PydanticCustomError(
                "poll_range",
                "POLL_MIN_SECONDS ({low}) must not be above POLL_MAX_SECONDS ({high})",
                {"low": self.poll_min_seconds, "high": self.poll_max_seconds},
            )
        return self


def url_scheme(url: str) -> str:
    """The scheme of a URL, lower case ("" for a plain path)."""
    scheme, colon, _ = url.partition(":")
    return scheme.lower() if colon else ""


def _check_model_id(model_id: str) -> None:
    if not _MODEL_ID.match(model_id) or ".." in model_id:
        raise PydanticCustomError(
            "model_id", "expected RunComfy model ids (comma-separated), e.g. owner/model/task"
        )


def _default_process_id() -> str:
    # Host and pid say where it runs; the random part keeps a reused pid apart.
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class SettingsError(Exception):
    """Settings are missing or invalid; `str()` is a message for the operator."""


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning validation errors into one readable message."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    """Two lines: what is missing or invalid, by variable name; then where to set it."""
    missing: list[str] = []
    invalid: list[str] = []
    for error in exc.errors():
        if error["type"] == "missing":
            missing.append(str(error["loc"][0]).upper())
        elif error["loc"]:
            # Never echo the input: it may be a token.
            invalid.append(f"{str(error['loc'][0]).upper()} ({error['msg']})")
        else:  # a rule across fields names its variables itself
            invalid.append(error["msg"])
    parts = []
    if missing:
        parts.append(_plural("missing setting", missing) + " " + ", ".join(missing))
    if invalid:
        parts.append(_plural("invalid setting", invalid) + " " + "; ".join(invalid))
    return (
        "The bot cannot start: " + "; ".join(parts) + ".\n"
        "Set them in the environment or in a .env file in the working directory "
        "(copy .env.example to .env and fill it in)."
    )


def _plural(noun: str, items: list[str]) -> str:
    return noun if len(items) == 1 else noun + "s"
