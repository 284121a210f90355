"""The composition root's own behaviour: pacing bot-token requests under Discord's limit."""

from __future__ import annotations

import asyncio

from bot.app import BOT_REQUESTS_BURST, BOT_REQUESTS_PER_SECOND, EXEMPT_ROUTES, AnimateBot
from tests.fakes.discord import FakeDiscord, peak_per_second


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
