"""Settings: the only place that reads the environment (and `.env`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_MODEL_ID = "bytedance/seedance-v1.5-pro/image-to-video"


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
    # Commands sync to these guilds at start (instant); empty means a global sync.
    discord_guild_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    # Where operator alerts (balance empty, bad token) go besides the log.
    admin_channel_id: int | None = None

    # Polling RunComfy: sparse far from the expected end, dense near it.
    poll_min_seconds: float = Field(default=2.0, gt=0)
    poll_max_seconds: float = Field(default=15.0, gt=0)
    job_timeout_seconds: float = Field(default=30 * 60, gt=0)
    http_timeout_seconds: float = Field(default=30.0, gt=0)
    # One budget for every RunComfy request of the bot (RunComfy publishes no limit;
    # 1,000 live jobs polled ETA-aware need about 100/s at their densest).
    runcomfy_requests_per_second: float = Field(default=100.0, gt=0)
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
    # Re-encoding (to play inline, to fit the upload limit) is CPU work in worker processes.
    video_workers: int = Field(default=1, ge=1)
    video_fit_timeout_seconds: float = Field(default=300.0, gt=0)
    # Rows older than this many days are purged at start and daily; None keeps all.
    history_retention_days: int | None = Field(default=None, ge=1)

    log_level: str = "INFO"

    @field_validator("discord_guild_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(part) for part in value.replace(" ", "").split(",") if part]
        return value

    @field_validator("log_level")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        return value.upper()


class SettingsError(Exception):
    """Settings are missing or invalid; `str()` is a message for the operator."""


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning validation errors into one readable message."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    missing: list[str] = []
    invalid: list[str] = []
    for error in exc.errors():
        name = str(error["loc"][0]).upper() if error["loc"] else "?"
        if error["type"] == "missing":
            missing.append(name)
        else:
            # Never echo the input: it may be a token.
            invalid.append(f"{name}: {error['msg']}")
    lines = ["The bot cannot start because its settings are incomplete."]
    if missing:
        lines.append("Missing: " + ", ".join(missing))
    if invalid:
        lines.append("Invalid: " + "; ".join(invalid))
    lines.append(
        "Set them in the environment or in a .env file in the working directory "
        "(copy .env.example to .env and fill it in)."
    )
    return "\n".join(lines)
