"""What the French end-to-end tests share: French spaces, an /admin answer, a job's status.

The expected sentences are written out here, not read from the catalogs: a test that
asked the catalog for its own text could not catch a wrong or missing translation.
"""

from __future__ import annotations

from app.client import AnimateBot
from bot.domain import JobStatus
from tests.cogs.test_history import reply
from tests.fakes.discord import FakeDiscord

NBSP, NNBSP = "\u00a0", "\u202f"


async def admin_answer(fake: FakeDiscord, sub: str, locale: str, **options: object) -> str:
    ix = await fake.invoke(f"admin {sub}", locale=locale, **options)
    message = await reply(fake, ix)
    assert message.ephemeral
    return message.content


async def job_status(bot: AnimateBot, fake: FakeDiscord) -> JobStatus:
    (job,) = await bot.jobs.store.list_for_user(fake.author.id)
    return job.status
