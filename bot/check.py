"""`python -m bot check`: is this configuration ready to go live? Discord-free.

One line per check, ✓ or ✗ with the fix. The Discord side comes through
`DiscordProbe` (REST only, no gateway), which the composition root implements with
discord.py; the RunComfy side through the bot's own client. Nothing is changed:
the database is read, not migrated; no job is submitted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel

from bot.config import Settings
from bot.models.estimate import first_estimate
from bot.models.model import ModelUnusable, VideoModel, read_model
from bot.models.options import OptionKind, OptionSpec
from bot.runcomfy import RunComfyClient, RunComfyError
from bot.store import LATEST_MIGRATION, postgres, postgres_url, sqlite, sqlite_path

log = logging.getLogger(__name__)

# Discord permission bits the bot needs in a guild (see the README's invite steps).
REQUIRED_PERMISSIONS: dict[str, int] = {
    "Send Messages": 1 << 11,
    "Embed Links": 1 << 14,
    "Attach Files": 1 << 15,
    "Add Reactions": 1 << 6,
    "Read Message History": 1 << 16,
}
# Lets the bot remove ❌ reactions of people who may not cancel; it works without.
OPTIONAL_PERMISSIONS: dict[str, int] = {"Manage Messages": 1 << 13}
ADMINISTRATOR = 1 << 3
ALL_PERMISSIONS = (1 << 53) - 1
CHECK_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    # An optional check that fails is shown but does not fail the run.
    required: bool = True

    def line(self) -> str:
        mark = "✓" if self.ok else ("✗" if self.required else "!")
        text = f"{mark} {self.name}: {self.detail}"
        if not self.ok and self.fix:
            text += f" → {self.fix}"
        return text


def passed(checks: list[Check]) -> bool:
    return all(check.ok for check in checks if check.required)


class GuildFacts(BaseModel):
    """What Discord's REST API says about one guild and the bot's member there."""

    guild_id: int
    name: str
    owner_id: int
    role_permissions: dict[int, int]  # role id -> permission bits; the guild id is @everyone
    member_roles: list[int]


class DiscordLoginFailed(Exception):
    """Discord refused the token (401)."""


class DiscordProbe(Protocol):
    async def login(self) -> tuple[int, str]:
        """The bot user's id and name; raises DiscordLoginFailed."""

    async def guild(self, guild_id: int, bot_id: int) -> GuildFacts | None:
        """The guild as the bot sees it; None when the bot is not in it (or it is unknown)."""


def guild_permissions(facts: GuildFacts, bot_id: int) -> int:
    """The bot's guild-wide permissions, as Discord computes them (before channel overwrites)."""
    if facts.owner_id == bot_id:
        return ALL_PERMISSIONS
    bits = facts.role_permissions.get(facts.guild_id, 0)
    for role in facts.member_roles:
        bits |= facts.role_permissions.get(role, 0)
    return ALL_PERMISSIONS if bits & ADMINISTRATOR else bits


async def run_checks(
    settings: Settings, *, discord: DiscordProbe, runcomfy: RunComfyClient
) -> list[Check]:
    checks = [Check("settings", True, "valid")]
    url = postgres_url(settings)
    if url is not None:
        checks.append(await check_postgres(url))
    else:
        checks.append(await check_database(sqlite_path(settings)))
    checks.extend(await check_discord(settings, discord))
    checks.extend(await check_models(settings.model_ids, runcomfy))
    return checks


# -- database ------------------------------------------------------------------


async def check_postgres(url: str) -> Check:
    """DATABASE_URL reachable, and at a migration this bot knows (nothing is changed)."""
    name, latest = "database", LATEST_MIGRATION
    try:
        version = await postgres.peek_version(url)
    except Exception as exc:  # asyncpg's and the socket's errors alike
        # The exception's type only: its text may quote the URL, password included.
        return Check(
            name,
            False,
            f"PostgreSQL cannot be reached ({type(exc).__name__})",
            "check DATABASE_URL and that the server accepts this host",
        )
    if version > latest:
        return Check(
            name,
            False,
            f"PostgreSQL is at migration {version}, newer than this bot knows ({latest})",
            "run the newer version of the bot",
        )
    return Check(name, True, f"PostgreSQL at migration {version}; the bot runs to {latest}")


async def check_database(path: Path) -> Check:
    name = "database"
    latest = LATEST_MIGRATION
    fix = "set DATABASE_PATH to a file in a folder the bot's user can write"
    if not path.exists():
        folder = _nearest_existing(path.parent)
        if not _can_write_in(folder):
            return Check(name, False, f"{path} cannot be created ({folder} is not writable)", fix)
        return Check(name, True, f"{path} will be created at start (migration {latest})")
    # SQLite in WAL mode also creates `-wal` and `-shm` files beside the database.
    if not os.access(path, os.R_OK | os.W_OK) or not _can_write_in(path.parent):
        return Check(name, False, f"{path} or its folder is not writable", fix)
    try:
        version = await sqlite.peek_version(path)
    except (sqlite3.Error, OSError) as exc:
        return Check(name, False, f"{path} cannot be opened ({exc})", fix)
    if version > latest:
        return Check(
            name,
            False,
            f"{path} is at migration {version}, newer than this bot knows ({latest})",
            "run the newer version of the bot, or restore a backup made for this one",
        )
    if version < latest:
        return Check(
            name,
            True,
            f"{path} is at migration {version}; {latest - version} more will run at start "
            "(back it up first: python -m bot backup PATH)",
        )
    return Check(name, True, f"{path} is at migration {version} (the latest)")


def _can_write_in(folder: Path) -> bool:
    """Try it (a temporary folder, removed at once): permission bits lie to root."""
    if not folder.is_dir():
        return False
    try:
        with tempfile.TemporaryDirectory(dir=folder, prefix=".animate-check-"):
            return True
    except OSError:
        return False


def _nearest_existing(path: Path) -> Path:
    path = path.resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


# -- Discord -------------------------------------------------------------------


async def check_discord(settings: Settings, probe: DiscordProbe) -> list[Check]:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            bot_id, bot_name = await probe.login()
    except DiscordLoginFailed:
        return [
            Check(
                "discord login",
                False,
                "Discord refused DISCORD_TOKEN",
                "copy the token again from the developer portal (Bot → Reset Token)",
            )
        ]
    except (OSError, TimeoutError) as exc:
        return [
            Check(
                "discord login",
                False,
                f"cannot reach Discord ({type(exc).__name__})",
                "check this machine's network",
            )
        ]
    checks = [Check("discord login", True, f"logged in as {bot_name} ({bot_id})")]
    if not settings.discord_guild_ids:
        checks.append(
            Check("guilds", True, "DISCORD_GUILD_IDS is empty: commands sync globally (≤ 1 h)")
        )
    for guild_id in settings.discord_guild_ids:
        checks.extend(await _check_guild(probe, guild_id, bot_id))
    return checks


async def _check_guild(probe: DiscordProbe, guild_id: int, bot_id: int) -> list[Check]:
    name = f"guild {guild_id}"
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            facts = await probe.guild(guild_id, bot_id)
    except (OSError, TimeoutError) as exc:
        return [Check(name, False, f"cannot ask Discord ({type(exc).__name__})", "try again")]
    if facts is None:
        return [
            Check(
                name,
                False,
                "the bot is not in this guild (or the id is wrong)",
                "invite the bot with the README's OAuth2 URL, or fix DISCORD_GUILD_IDS",
            )
        ]
    bits = guild_permissions(facts, bot_id)
    missing = [perm for perm, bit in REQUIRED_PERMISSIONS.items() if not bits & bit]
    label = f"guild {facts.name} ({guild_id})"
    checks = [
        Check(
            label,
            not missing,
            "has every permission it needs" if not missing else "missing " + ", ".join(missing),
            "give the bot's role these permissions in Server Settings → Roles",
        )
    ]
    for perm, bit in OPTIONAL_PERMISSIONS.items():
        checks.append(
            Check(
                f"{label} (optional)",
                bool(bits & bit),
                f"{perm}: {'yes' if bits & bit else 'no'}",
                "without it the bot cannot remove ❌ reactions of people who may not cancel",
                required=False,
            )
        )
    return checks


# -- RunComfy --------------------------------------------------------------------


async def check_models(model_ids: Iterable[str], runcomfy: RunComfyClient) -> list[Check]:
    """Each model of RUNCOMFY_MODEL_IDS, read from RunComfy now: usable (what it offers) or
    not (✗, why, and what to change: the bot would run on the others, never on it).
    Asked all at once: a stalling RunComfy costs one timeout, not one per model."""
    return list(await asyncio.gather(*(check_model(m, runcomfy) for m in model_ids)))


async def check_model(model_id: str, runcomfy: RunComfyClient) -> Check:
    name = f"model {model_id}"
    fix_id = "fix or remove it in RUNCOMFY_MODEL_IDS"
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            info = await runcomfy.model(model_id)
    except TimeoutError:
        return Check(name, False, "RunComfy did not answer in time", "check RUNCOMFY_BASE_URL")
    except RunComfyError as exc:
        if exc.error_code in (400004, 401001) or exc.status_code == 401:
            return Check(
                name,
                False,
                "RunComfy refused RUNCOMFY_API_TOKEN",
                "copy a valid token from the RunComfy dashboard (Profile → API token)",
            )
        if exc.error_code == 400001 or exc.status_code == 404:
            return Check(name, False, "RunComfy does not offer it (retired or misspelt)", fix_id)
        return Check(name, False, f"RunComfy answered: {exc}", "check RUNCOMFY_BASE_URL")
    try:
        model = read_model(info)
    except ModelUnusable as exc:
        return Check(
            name,
            False,
            "its schema cannot be used: " + "; ".join(exc.reasons),
            "remove it from RUNCOMFY_MODEL_IDS (the bot needs a prompt, one input image "
            "and options it can offer)",
        )
    return Check(name, True, describe_model(model))


def describe_model(model: VideoModel) -> str:
    """What `check` says of a usable model: its name, image field, options and price."""
    options = ", ".join(f"{o.name} ({_offer(o)})" for o in model.options) or "none"
    price = "no price given"
    estimate = first_estimate(model, model.defaults())
    if estimate is not None:
        price = f"a default video ≈ ${estimate:.2f} (until its first videos, erring high)"
    elif model.base_price_usd is not None:
        price = f"${model.base_price_usd:g} per {model.price_unit or 'unknown unit'}"
    notes = "".join(f"; {note}" for note in model.notes)
    return (
        f"{model.name}: the image goes in `{model.image_field}`{_prompt_length(model)}; "
        f"options: {options}; {price}{notes}"
    )


def _prompt_length(model: VideoModel) -> str:
    """The schema's bounds on the prompt, when it has any (else the bot's own apply)."""
    if model.prompt_max is None and model.prompt_min <= 1:
        return ""
    if model.prompt_max is None:
        return f", prompts of {model.prompt_min} characters or more"
    return f", prompts of {max(model.prompt_min, 1)} to {model.prompt_max} characters"


def _offer(option: OptionSpec) -> str:
    if option.kind is OptionKind.SWITCH:
        return "on or off"
    values = option.values()
    if values:
        return ", ".join(str(v) for v in values)
    return f"{option.minimum:g} to {option.maximum:g}"
