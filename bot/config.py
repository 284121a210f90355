"""Settings: the only place that reads the environment (and `.env`)."""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_MODEL_ID = "bytedance/seedance-v1.5-pro/image-to-video"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MAX_RUNCOMFY_CONNECTIONS = 64  # RUNCOMFY_CONNECTIONS' default
# A video download stalls below this many bytes in this many seconds (the defaults).
VIDEO_STALL_SECONDS = 10.0
VIDEO_STALL_BYTES = 256 * 1024


class Settings(BaseSettings):
    """Every knob of the bot. Tokens are `SecretStr` so they never print."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        # `KEY=` lines in .env mean "not set", so the defaults (or "missing") apply.
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
    )

    discord_token: SecretStr
    runcomfy_api_token: SecretStr
    runcomfy_base_url: str = "https://model-api.runcomfy.net"
    runcomfy_model_id: str = DEFAULT_MODEL_ID
    database_path: Path = Path("data/bot.db")
    # postgresql://user:password@host/db selects the shared PostgreSQL store (several
    # processes); sqlite:///path is the same as DATABASE_PATH. Secret: it may hold a password.
    database_url: SecretStr | None = None
    # This process's name on leased jobs; must differ between processes sharing a database.
    process_id: str = Field(default_factory=lambda: _default_process_id(), min_length=1)
    # With PostgreSQL: a process that dies has its jobs taken over within this many seconds.
    lease_seconds: float = Field(default=30.0, gt=0)
    # Sharding (discord.py AutoShardedBot): the total, and the shards this process runs.
    shard_count: int | None = Field(default=None, ge=1)
    shard_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    # Commands sync to these guilds at start (instant); empty means a global sync.
    discord_guild_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    # Where operator alerts (balance empty, bad token) go besides the log.
    admin_channel_id: int | None = None
    # The bot's operators: they may use /admin on every server (user ids).
    owner_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    # The operator's kill switch: no new job anywhere while set (running jobs finish).
    global_pause: bool = False
    # How often the model's price is read again from RunComfy.
    price_refresh_seconds: float = Field(default=60 * 60, gt=0)

    # Polling RunComfy: sparse far from the expected end, dense near it.
    poll_min_seconds: float = Field(default=2.0, gt=0)
    poll_max_seconds: float = Field(default=15.0, gt=0)
    job_timeout_seconds: float = Field(default=30 * 60, gt=0)
    http_timeout_seconds: float = Field(default=30.0, gt=0)
    # One budget for every RunComfy request of the bot: a guard against a runaway, set
    # above what 1,000 live jobs ask at their busiest (RunComfy publishes no limit).
    runcomfy_requests_per_second: float = Field(default=400.0, gt=0)
    # The most connections to RunComfy; the bot uses what the round trip needs to
    # carry the budget (bot/inflight.py).
    runcomfy_connections: int = Field(default=MAX_RUNCOMFY_CONNECTIONS, ge=1, le=256)
    # Seconds assumed for a render when no past job of the same kind is known.
    default_eta_seconds: float = Field(default=120.0, gt=0)

    # Discord etiquette.
    status_edit_interval_seconds: float = Field(default=5.0, ge=0)
    interaction_token_ttl_seconds: float = Field(default=14 * 60, gt=0)

    # Quotas: every job costs the operator money.
    quota_user_concurrent: int = Field(default=2, ge=1)
    quota_user_daily: int = Field(default=20, ge=1)
    quota_global_concurrent: int = Field(default=50, ge=1)

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
    video_workers: int = Field(default=1, ge=1)
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

    @field_validator("discord_guild_ids", "owner_ids", "shard_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",") if part.strip()]
            if not all(part.isdigit() for part in parts):
                # Never echo the value back: the message is the same for any input.
                raise PydanticCustomError(
                    "guild_ids", "expected comma-separated numeric server ids, e.g. 123,456"
                )
            return [int(part) for part in parts]
        return value

    @model_validator(mode="after")
    def _shards_within_count(self) -> Settings:
        if self.shard_ids and self.shard_count is None:
            raise ValueError("SHARD_IDS needs SHARD_COUNT")
        if self.shard_count is not None and any(
            not 0 <= i < self.shard_count for i in self.shard_ids
        ):
            raise ValueError("every SHARD_IDS entry must be from 0 to SHARD_COUNT - 1")
        return self

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise PydanticCustomError("log_level", "must be one of " + ", ".join(LOG_LEVELS))
        return level

    @model_validator(mode="after")
    def _poll_range(self) -> Self:
        if self.poll_min_seconds > self.poll_max_seconds:
            raise PydanticCustomError(
                "poll_range",
                "POLL_MIN_SECONDS ({low}) must not be above POLL_MAX_SECONDS ({high})",
                {"low": self.poll_min_seconds, "high": self.poll_max_seconds},
            )
        return self


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
