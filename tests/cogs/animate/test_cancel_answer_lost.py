"""A cancel RunComfy carried out but whose answer was lost (a 500 from a proxy once it
was done): the client asks again, and RunComfy then says the job is cancelled and that
its cancel changes nothing ("not_cancellable"). The video was dropped from the queue, so
its author hears it was cancelled and cost nothing, not that it renders at full cost.
"""

from __future__ import annotations

from app.client import AnimateBot
from tests.cogs.animate.helpers import request_id_of, start_queued, wait_state
from tests.fakes.discord import FakeDiscord
from tests.fakes.runcomfy import FakeRunComfy


async def test_a_cancel_done_but_unconfirmed_is_told_as_cancelled(
    bot: AnimateBot, discord_fake: FakeDiscord, runcomfy_fake: FakeRunComfy
) -> None:
    _, status = await start_queued(discord_fake, runcomfy_fake)
    runcomfy_fake.inject("cancel", "submit_500_after_create")  # done, then a 500
    (cancel_id,) = status.custom_ids
    ix = await discord_fake.click(status, cancel_id, user=discord_fake.author)
    assert ix is not None
    await discord_fake.wait_for(lambda: ix.followup_ids, within=10)
    told = " ".join(discord_fake.messages[m].content for m in ix.followup_ids)
    assert runcomfy_fake.jobs[request_id_of(runcomfy_fake)].forced == "cancelled"
    assert "full cost" not in told and told.startswith("Cancelled."), told
    await wait_state(discord_fake, status, "Cancelled")
