"""Commands sync when they change: at start only the scopes whose payload changed,
every scope on `python -m bot sync`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from app import cli
from app.client import AnimateBot
from app.command_sync import Scope, payload_hash
from cogs.common.translator import CatalogTranslator
from tests.app.cli_helpers import run_child
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import BotRunner
from tests.fakes.process import settings_env
from tests.fakes.runcomfy import FakeRunComfy


def command_puts(fake: FakeDiscord) -> list[str]:
    return [r.path for r in fake.requests if r.method == "PUT" and r.path.endswith("/commands")]


def guild_route(fake: FakeDiscord) -> str:
    return f"/applications/{fake.application_id}/guilds/{fake.guild_id}/commands"


def global_route(fake: FakeDiscord) -> str:
    return f"/applications/{fake.application_id}/commands"


def both_scopes(fake: FakeDiscord) -> list[str]:
    """Globally (where user installs and DMs find the commands), then the test guild."""
    return [f"/api/v10{global_route(fake)}", f"/api/v10{guild_route(fake)}"]


async def restart_quietly(runner: BotRunner, fake: FakeDiscord) -> AnimateBot:
    await runner.stop()
    fake.requests.clear()
    return await runner.start()


async def test_a_second_start_with_the_same_commands_syncs_nothing(
    runner: BotRunner, discord_fake: FakeDiscord
) -> None:
    await runner.start()
    assert command_puts(discord_fake) == both_scopes(discord_fake)
    await restart_quietly(runner, discord_fake)
    assert command_puts(discord_fake) == []
    assert discord_fake.command("animate")  # still there from the first sync


async def test_a_changed_translation_is_synced_at_the_next_start(
    runner: BotRunner, discord_fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    await runner.start()
    translate = CatalogTranslator.translate

    async def reworded(self: CatalogTranslator, string: Any, locale: Any, context: Any) -> Any:
        text = await translate(self, string, locale, context)
        return (
            "Tout sur ce bot" if string.extras.get("key") == "about.command.description" else text
        )

    monkeypatch.setattr(CatalogTranslator, "translate", reworded)
    await restart_quietly(runner, discord_fake)
    assert command_puts(discord_fake) == both_scopes(discord_fake)
    assert discord_fake.command("about")["description_localizations"]["fr"] == "Tout sur ce bot"
    await restart_quietly(runner, discord_fake)
    assert command_puts(discord_fake) == []


class Dice(commands.Cog):
    @app_commands.command(name="dice", description="Roll a die")
    async def dice(
        self, interaction: discord.Interaction, sides: app_commands.Range[int, 2, 6]
    ) -> None:
        pass


class BiggerDice(commands.Cog):
    @app_commands.command(name="dice", description="Roll a die")
    async def dice(
        self, interaction: discord.Interaction, sides: app_commands.Range[int, 2, 20]
    ) -> None:
        pass


async def test_a_changed_option_is_synced_at_the_next_start(
    runner: BotRunner, discord_fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_cogs = AnimateBot.build_cogs

    def with_cog(cog: type[commands.Cog]) -> None:
        monkeypatch.setattr(AnimateBot, "build_cogs", lambda bot: [*build_cogs(bot), cog()])

    with_cog(Dice)
    await runner.start()
    with_cog(BiggerDice)
    await restart_quietly(runner, discord_fake)
    assert command_puts(discord_fake) == both_scopes(discord_fake)
    (sides,) = discord_fake.command("dice")["options"]
    assert sides["max_value"] == 20


async def test_python_m_bot_sync_syncs_every_scope_without_the_gateway(
    runner: BotRunner, discord_fake: FakeDiscord, capsys: pytest.CaptureFixture[str]
) -> None:
    await runner.start()
    await runner.stop()
    discord_fake.requests.clear()
    assert await cli.sync(runner.settings) == 0
    assert command_puts(discord_fake) == both_scopes(discord_fake)
    assert not discord_fake.identified.is_set()  # REST only: no gateway session
    synced = len(discord_fake.commands[discord_fake.guild_id])
    assert capsys.readouterr().out.splitlines() == [
        f"✓ synced {synced} commands globally",
        f"✓ synced {synced} commands to guild {discord_fake.guild_id}",
    ]
    # What it synced is stored: the next start has nothing to send.
    discord_fake.requests.clear()
    await runner.start()
    assert command_puts(discord_fake) == []


async def test_python_m_bot_sync_names_a_guild_it_could_not_sync_and_fails(
    runner: BotRunner, discord_fake: FakeDiscord, tmp_path: Path
) -> None:
    stray = 4242
    settings = runner.settings.model_copy(
        update={"discord_guild_ids": [stray, discord_fake.guild_id]}
    )
    code, out, err = await run_child(
        "sync", env=settings_env(settings), cwd=tmp_path, discord_url=discord_fake.base_url
    )
    assert code == 1, out + err
    assert f"✓ synced {len(discord_fake.commands[discord_fake.guild_id])} commands" in out
    assert f"✗ could not sync to guild {stray}" in out


async def test_python_m_bot_sync_with_no_usable_model_says_so_in_one_line(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy, tmp_path: Path
) -> None:
    # A schema that names no input: nothing to read a model from.
    runcomfy_fake.host(runcomfy_fake.model_id, {"type": "object"})
    code, out, err = await run_child(
        "sync", env=settings_env(runner.settings), cwd=tmp_path, discord_url=discord_fake.base_url
    )
    assert code == 2, out + err
    assert "Traceback" not in err
    *logged, said = err.strip().splitlines()
    assert len(logged) <= 1  # the registry's own warning, if logging is on
    assert said.startswith("✗ no model in RUNCOMFY_MODEL_IDS can be used: ")
    assert runcomfy_fake.model_id in said and "no usable input schema" in said
    assert "python -m bot check" in err
    assert command_puts(discord_fake) == []


async def test_the_hash_covers_translations_options_and_nothing_else() -> None:
    async def hashed(cog: commands.Cog, translator: app_commands.Translator | None) -> str:
        bot = commands.Bot(command_prefix="!", intents=discord.Intents.none())
        await bot.add_cog(cog)
        if translator is not None:
            await bot.tree.set_translator(translator)
        guild = Scope(1).guild
        bot.tree.copy_global_to(guild=guild)  # type: ignore[arg-type]
        return await payload_hash(bot.tree, guild)

    class French(app_commands.Translator):
        def __init__(self, text: str) -> None:
            self.text = text

        async def translate(self, string: Any, locale: discord.Locale, context: Any) -> str | None:
            return self.text if locale is discord.Locale.french else None

    base = await hashed(Dice(), French("Lancer un dé"))
    assert await hashed(Dice(), French("Lancer un dé")) == base
    assert await hashed(Dice(), French("Jeter un dé")) != base
    assert await hashed(BiggerDice(), French("Lancer un dé")) != base
    assert await hashed(Dice(), None) != base
