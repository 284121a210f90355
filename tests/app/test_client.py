"""The composition root's own behaviour: pacing bot-token requests, admitting work."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest
from multidict import CIMultiDict
from yarl import URL

from app.client import AnimateBot
from app.pacing import (
    BOT_REQUESTS_BURST,
    BOT_REQUESTS_PER_SECOND,
    EXEMPT_ROUTES,
    paced_bot_token_requests,
)
from bot import i18n
from bot.ratelimit import RateBudget
from tests.cogs.test_history import press, reply, seed
from tests.fakes.discord import FakeDiscord, peak_per_second
from tests.fakes.harness import BotRunner
from tests.fakes.runcomfy import FakeRunComfy


async def test_bot_token_requests_are_paced_on_the_wire_and_interactions_are_not(
    bot: AnimateBot, discord_fake: FakeDiscord
) -> None:
    channel = bot.get_partial_messageable(discord_fake.general)
    discord_fake.requests.clear()
    # 60 messages at once (as many deliveries finishing together) and 40 interactions.
    sends = [channel.send(f"message {i}") for i in range(60)]
    invokes = [discord_fake.invoke("about") for _ in range(40)]
    interactions = (await asyncio.gather(*sends, *invokes))[60:]
    await discord_fake.wait_for(lambda: all(ix.response_type == 4 for ix in interactions))

    sent = [r.at for r in discord_fake.requests if r.path.endswith("/messages")]
    answered = [r.at for r in discord_fake.requests if any(p in r.path for p in EXEMPT_ROUTES)]
    assert len(sent) == 60 and len(answered) == 40
    assert peak_per_second(sent) <= BOT_REQUESTS_PER_SECOND + BOT_REQUESTS_BURST < 50
    # Interaction callbacks are exempt from the global limit: none waits behind the messages.
    assert peak_per_second(answered) == 40


async def test_a_new_message_is_paced_ahead_of_reactions_already_waiting() -> None:
    # 1,000 jobs: ❌ reactions come off as renders start while videos are being
    # posted. A video the author waits for must not queue behind that bookkeeping.
    budget = RateBudget(rate=20, burst=1)
    on_start = paced_bot_token_requests(budget).on_request_start[0]
    order: list[str] = []

    async def request(method: str, path: str) -> None:
        url = URL(f"http://127.0.0.1/api/v10{path}")
        params = aiohttp.TraceRequestStartParams(method, url, CIMultiDict())
        await on_start(None, None, params)  # type: ignore[arg-type]
        order.append(f"{method} {path}")

    reactions = [
        asyncio.create_task(request("DELETE", f"/channels/{i}/messages/{i}/reactions/x/@me"))
        for i in range(1, 9)
    ]
    await asyncio.sleep(0)  # the first takes the burst token, the others wait
    delivery = asyncio.create_task(request("POST", "/channels/9/messages"))
    await asyncio.wait_for(asyncio.gather(delivery, *reactions), timeout=5)
    assert order.index("POST /channels/9/messages") <= 1, order


async def test_while_stopping_a_button_that_starts_a_job_is_refused_kindly(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    (job,) = await seed(bot, discord_fake.author, 1)
    detail = await reply(discord_fake, await discord_fake.invoke("history", job=job.id))
    bot.stopping = True  # what a stop signal sets first; the gateway is still up
    again = await press(discord_fake, detail, "Animate again")
    told = discord_fake.messages[again.original_id]  # type: ignore[index]
    assert (
        again.response_type == 4
        and told.ephemeral
        and told.content == i18n.english()("bot.restarting")
    )
    assert runcomfy_fake.submits == []


async def test_a_guild_id_the_bot_is_not_in_is_named_and_the_others_still_sync(
    runner: BotRunner, discord_fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    stray = 4242
    await runner.start(discord_guild_ids=[stray, discord_fake.guild_id])
    assert [c["name"] for c in discord_fake.commands[discord_fake.guild_id]]
    assert stray not in discord_fake.commands
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("DISCORD_GUILD_IDS" in e and str(stray) in e for e in errors), errors
