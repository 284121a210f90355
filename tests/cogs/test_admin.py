"""/admin end to end, and every refusal it causes, through both loopback fakes."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from app.client import AnimateBot
from bot.domain import GuildSettings, ImageFacts, Job, JobStatus
from tests.cogs.animate.helpers import png, start_queued
from tests.cogs.test_history import press, reply
from tests.fakes.discord import MANAGE_GUILD, FakeDiscord, FakeInteraction, FakeUser
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy
from tests.models import job_fields

IMAGE = ImageFacts(filename="a.png", format="PNG", width=800, height=600, size_bytes=1000)


async def admin(fake: FakeDiscord, sub: str, user: FakeUser | None = None, **options: Any) -> str:
    """Run `/admin <sub>` and return the private answer."""
    ix = await fake.invoke(f"admin {sub}", user=user or fake.admin, **options)
    message = await reply(fake, ix)
    assert ix.response_type == 4 and message.ephemeral, "every /admin answer is private"
    return message.content


async def refused_animate(fake: FakeDiscord, **options: Any) -> FakeInteraction:
    """An /animate that must be refused before any defer: ephemeral, nothing queued."""
    ix = await fake.invoke("animate", image=png(), prompt="a cat yawns", **options)
    await fake.wait_for(lambda: ix.response_type is not None)
    assert ix.response_type == 4 and ix.ephemeral
    return ix


def answer(fake: FakeDiscord, ix: FakeInteraction) -> str:
    return fake.messages[ix.original_id].content  # type: ignore[index]


async def nothing_stored_or_sent(
    bot: AnimateBot, fake: FakeDiscord, runcomfy: FakeRunComfy
) -> None:
    assert runcomfy.submits == []
    assert await bot.jobs.store.count_for_user(fake.author.id) == 0


async def test_admin_is_a_guild_only_group_for_manage_server(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    command = discord_fake.command("admin")
    assert int(command["default_member_permissions"]) == MANAGE_GUILD
    assert command.get("contexts") == [0] or command.get("dm_permission") is False
    subs = {o["name"] for o in command["options"]}
    assert subs == {"pause", "resume", "channels", "limits", "usage", "models", "language"}


async def test_members_without_manage_server_are_refused_and_nothing_changes(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # Discord hides the command, but admins can override that: the bot checks too.
    for user in (discord_fake.stranger, discord_fake.moderator):
        text = await admin(discord_fake, "pause", user=user, reason="mine now")
        assert "Manage Server" in text
        assert "Manage Server" in await admin(discord_fake, "limits", user=user, per_user_daily=1)
    assert await bot.jobs.store.guild_settings(discord_fake.guild_id) == GuildSettings(
        guild_id=discord_fake.guild_id
    )
    await start_queued(discord_fake, runcomfy_fake)  # /animate still works


async def test_pause_refuses_new_jobs_with_the_reason_lets_running_finish_and_resume(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    await start_queued(discord_fake, runcomfy_fake)
    text = await admin(discord_fake, "pause", reason="Budget review **until Monday** @everyone")
    assert "paused" in text.lower() and "Budget review" in text

    refused = await refused_animate(discord_fake, user=discord_fake.stranger)
    said = answer(discord_fake, refused)
    assert "paused" in said and "Budget review" in said and "@\u200beveryone" in said
    assert len(runcomfy_fake.submits) == 1
    assert await bot.jobs.store.count_for_user(discord_fake.stranger.id) == 0

    # The running job is not touched by the pause.
    runcomfy_fake.set_state(list(runcomfy_fake.jobs)[-1], "completed")
    await discord_fake.wait_for(
        lambda: any(
            m.attachments and m.attachments[0].filename.endswith(".mp4")
            for m in discord_fake.messages.values()
        ),
        within=10,
    )

    assert "allowed again" in await admin(discord_fake, "resume")
    await start_queued(discord_fake, runcomfy_fake, user=discord_fake.stranger)
    assert len(runcomfy_fake.submits) == 2


async def test_a_pause_after_the_defer_is_honoured_when_the_row_is_written(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    discord_fake.cdn_latency = 1.0  # the image download holds the job after its defer
    ix = await discord_fake.invoke("animate", image=png(), prompt="a cat yawns")
    await discord_fake.wait_for(lambda: ix.response_type == 5)
    await admin(discord_fake, "pause", reason="now")
    await discord_fake.wait_for(lambda: ix.followup_ids, within=10)
    told = discord_fake.messages[ix.followup_ids[0]]
    assert told.ephemeral and "paused" in told.content and "now" in told.content
    assert discord_fake.messages[ix.original_id].deleted  # type: ignore[index]
    await nothing_stored_or_sent(bot, discord_fake, runcomfy_fake)


async def test_language_chooses_the_language_of_public_messages(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    assert "**Public messages in:** automatic" in await admin(discord_fake, "language")
    language = next(o for o in discord_fake.command("admin")["options"] if o["name"] == "language")
    (option, _guild) = language["options"]
    assert [(c["name"], c["value"]) for c in option["choices"]] == [
        ("Automatic", "auto"),
        ("English", "en"),
        ("Français", "fr"),  # each language by its own name
    ]
    assert "**Public messages in:** Français" in await admin(
        discord_fake, "language", language="fr"
    )
    stored = await bot.jobs.store.guild_settings(discord_fake.guild_id)
    assert stored.language == "fr" and stored.updated_by == discord_fake.admin.id

    refused = await admin(discord_fake, "language", user=discord_fake.moderator, language="en")
    assert "Manage Server" in refused
    assert (await bot.jobs.store.guild_settings(discord_fake.guild_id)).language == "fr"
    await admin(discord_fake, "language", language="auto")
    assert (await bot.jobs.store.guild_settings(discord_fake.guild_id)).language is None


async def test_channels_limit_where_animate_works(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    assert "every channel" in await admin(discord_fake, "channels")
    shown = await admin(discord_fake, "channels", add=discord_fake.art)
    assert f"<#{discord_fake.art}>" in shown

    refused = await refused_animate(discord_fake, channel=discord_fake.general)
    assert f"<#{discord_fake.art}>" in answer(discord_fake, refused)
    assert discord_fake.pinged().get(refused.original_id, set()) == set()  # type: ignore[arg-type]
    await nothing_stored_or_sent(bot, discord_fake, runcomfy_fake)

    await start_queued(discord_fake, runcomfy_fake, channel=discord_fake.art)

    await admin(discord_fake, "channels", add=discord_fake.general, remove=discord_fake.art)
    refused = await refused_animate(
        discord_fake, user=discord_fake.stranger, channel=discord_fake.art
    )
    assert f"<#{discord_fake.general}>" in answer(discord_fake, refused)

    assert "every channel" in await admin(discord_fake, "channels", everywhere=True)
    await start_queued(
        discord_fake, runcomfy_fake, user=discord_fake.stranger, channel=discord_fake.art
    )


async def test_limits_show_lower_and_cannot_raise_the_operators(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    bot = await runner.start(quota_user_concurrent=2, quota_user_daily=5)
    bare = await admin(discord_fake, "limits")
    assert "2 at once, 5 per 24 hours" in bare and "budget for the server:** none" in bare

    too_high = await admin(discord_fake, "limits", per_user_at_once=3)
    assert "at most 2" in too_high and "nothing was changed" in too_high
    assert "2 at once" in await admin(discord_fake, "limits")

    lowered = await admin(discord_fake, "limits", per_user_at_once=1, daily_spend_usd=5)
    assert "1 at once, 5 per 24 hours" in lowered and "$5.00" in lowered

    await start_queued(discord_fake, runcomfy_fake)
    refused = await refused_animate(discord_fake)
    assert "1 video in progress" in answer(discord_fake, refused)
    assert len(runcomfy_fake.submits) == 1

    reset = await admin(discord_fake, "limits", reset=True)
    assert "2 at once" in reset and "none" in reset
    await start_queued(discord_fake, runcomfy_fake)
    assert await bot.jobs.store.count_for_user(discord_fake.author.id) == 2


async def test_daily_limit_of_the_server_counts_its_jobs(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    await admin(discord_fake, "limits", per_user_daily=1)
    await bot.jobs.store.create(
        Job(
            user_id=discord_fake.author.id,
            guild_id=discord_fake.guild_id,
            prompt="earlier",
            image=IMAGE,
            status=JobStatus.DELIVERED,
            created_at=time.time() - 600,
            **job_fields(),
        )
    )
    refused = await refused_animate(discord_fake)
    assert "1 video in the last 24 hours" in answer(discord_fake, refused)
    assert runcomfy_fake.submits == []


async def test_spend_cap_counts_known_costs_and_active_estimates(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    # The fake's price: $0.024 per second, so a 5 s video with audio is estimated at
    # $0.24 (audio counted double until the bot has seen what such videos cost).
    await admin(discord_fake, "limits", daily_spend_usd=0.40)
    await bot.jobs.store.create(
        Job(
            user_id=discord_fake.moderator.id,
            guild_id=discord_fake.guild_id,
            prompt="earlier",
            image=IMAGE,
            status=JobStatus.DELIVERED,
            cost=0.10,
            estimate_usd=0.24,  # its known cost counts, not this
            created_at=time.time() - 600,
            **job_fields(),
        )
    )
    await start_queued(discord_fake, runcomfy_fake)  # 0.10 + 0.24 (active, estimated)
    # 0.34 + 0.24 would pass 0.40: refused, for every member of the server.
    refused = await refused_animate(discord_fake, user=discord_fake.stranger)
    assert "daily video budget ($0.40)" in answer(discord_fake, refused)
    assert len(runcomfy_fake.submits) == 1
    # With a larger budget a 4 s silent video fits: 0.34 + 4 × 0.024 = 0.436 ≤ 0.45.
    await admin(discord_fake, "limits", daily_spend_usd=0.45)
    await start_queued(
        discord_fake, runcomfy_fake, user=discord_fake.stranger, duration=4, audio=False
    )
    assert len(runcomfy_fake.submits) == 2


async def test_spend_cap_without_a_known_price_refuses_rather_than_guess(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    runcomfy_fake.base_price_usd = None
    bot = await runner.start()
    await admin(discord_fake, "limits", daily_spend_usd=0.20)
    # Under a budget, a video of unknown price is never counted as $0: refused.
    refused = await refused_animate(discord_fake)
    assert "price is unknown" in answer(discord_fake, refused) and "budget" in answer(
        discord_fake, refused
    )
    await nothing_stored_or_sent(bot, discord_fake, runcomfy_fake)
    # Without a budget there is nothing to count it against: it starts.
    await admin(discord_fake, "limits", daily_spend_usd=0)
    await start_queued(discord_fake, runcomfy_fake)
    assert len(runcomfy_fake.submits) == 1


async def test_animate_again_is_refused_while_paused(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    await start_queued(discord_fake, runcomfy_fake)
    (job,) = await bot.jobs.store.list_for_user(discord_fake.author.id)
    await bot.jobs.cancel(job.id, actor_id=discord_fake.author.id, actor_is_moderator=False)  # type: ignore[arg-type]
    detail = await reply(discord_fake, await discord_fake.invoke("history", job=job.id))
    await admin(discord_fake, "pause")
    again = await press(discord_fake, detail, "Animate again")
    assert again.response_type == 4 and again.ephemeral
    assert "paused" in answer(discord_fake, again)
    assert len(runcomfy_fake.submits) == 1
    assert await bot.jobs.store.count_for_user(discord_fake.author.id) == 1


async def test_global_pause_stops_every_new_job(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    bot = await runner.start(global_pause=True)
    refused = await refused_animate(discord_fake)
    assert "owner has paused" in answer(discord_fake, refused)
    await nothing_stored_or_sent(bot, discord_fake, runcomfy_fake)
    assert "paused new videos everywhere" in await admin(discord_fake, "limits")


async def test_usage_reports_this_servers_jobs_and_top_spenders_without_pings(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    now = time.time()
    author, stranger = discord_fake.author, discord_fake.stranger
    rows = [
        (author, JobStatus.DELIVERED, 0.12, now - 60, discord_fake.guild_id),
        (author, JobStatus.FAILED, None, now - 60, discord_fake.guild_id),
        (stranger, JobStatus.DELIVERED, 0.30, now - 60, discord_fake.guild_id),
        (stranger, JobStatus.CANCELLED, None, now - 60, discord_fake.guild_id),
        (stranger, JobStatus.DELIVERED, 5.00, now - 3 * 86400, discord_fake.guild_id),
        (author, JobStatus.DELIVERED, 7.00, now - 60, 42),  # another server
    ]
    for user, status, cost, created, guild in rows:
        await bot.jobs.store.create(
            Job(
                user_id=user.id,
                guild_id=guild,
                prompt="p",
                image=IMAGE,
                status=status,
                cost=cost,
                created_at=created,
                **job_fields(),
            )
        )
    ix = await discord_fake.invoke("admin usage", user=discord_fake.admin, days=1)
    message = await reply(discord_fake, ix)
    assert message.ephemeral
    text = message.content
    assert "4 videos · 2 posted · 1 failed · 1 cancelled · 0 in progress" in text
    assert "$0.42" in text
    assert text.index(f"<@{stranger.id}>: $0.30") < text.index(f"<@{author.id}>: $0.12")
    assert discord_fake.pinged().get(message.id, set()) == set()
    week = await admin(discord_fake, "usage")
    assert "5 videos" in week and "$5.42" in week


async def test_owners_can_act_on_every_server(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    owner = discord_fake.stranger  # no Manage Server anywhere
    bot = await runner.start(owner_ids=[owner.id])
    other = 4242
    text = await admin(discord_fake, "pause", user=owner, reason="operator", guild=str(other))
    assert "Paused" in text
    assert (await bot.jobs.store.guild_settings(other)).paused
    assert not (await bot.jobs.store.guild_settings(discord_fake.guild_id)).paused
    # A server admin cannot reach another server.
    refused = await admin(discord_fake, "resume", guild=str(other))
    assert "owner" in refused
    assert (await bot.jobs.store.guild_settings(other)).paused
    assert "not a server ID" in await admin(discord_fake, "usage", user=owner, guild="abc")
    # On their own server the owner needs no Manage Server either.
    await admin(discord_fake, "pause", user=owner)
    refused_ix = await refused_animate(discord_fake)
    assert "paused" in answer(discord_fake, refused_ix)


async def test_two_admins_at_once_both_keep_their_change(
    runner: BotRunner, discord_fake: FakeDiscord
) -> None:
    owner = discord_fake.stranger  # the operator, beside the server's admin
    bot = await runner.start(owner_ids=[owner.id])
    await asyncio.gather(
        admin(discord_fake, "channels", add=discord_fake.art),
        admin(discord_fake, "channels", user=owner, add=discord_fake.general),
    )
    await asyncio.gather(
        admin(discord_fake, "pause", reason="review"),
        admin(discord_fake, "limits", user=owner, per_user_daily=3),
    )
    now = await bot.jobs.store.guild_settings(discord_fake.guild_id)
    assert set(now.allowed_channel_ids) == {discord_fake.art, discord_fake.general}, now
    assert now.paused and now.pause_reason == "review" and now.user_daily == 3, now


async def test_a_guild_option_takes_only_ascii_digits_of_a_snowflakes_size(
    runner: BotRunner, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    """Issue 27 #14: "²".isdigit() is True and int("²") raised; nothing is echoed back."""
    owner = discord_fake.stranger
    bot = await runner.start(owner_ids=[owner.id])
    for value in ("²", "١٢٣", "1" * 21, str(2**64)):
        text = await admin(discord_fake, "pause", user=owner, reason="x", guild=value)
        assert "not a server ID" in text and value not in text, value
    assert not (await bot.jobs.store.guild_settings(123)).paused
