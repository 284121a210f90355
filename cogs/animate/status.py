"""The one status message of each job, edited as the job moves.

Edits are coalesced (latest state wins, one per job per interval) and go
through the interaction while its token is fresh, then through the channel, where the
bot may edit it with its own token: not an ephemeral one (a private job), nor one where
it has only the command's token (its user install elsewhere, a group DM).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import discord

from bot.arrivals import Arrivals
from bot.coalesce import Coalescer
from bot.config import Settings
from bot.domain import Job, JobStatus
from bot.eta import EtaBoard
from bot.jobs import JobService, ProgressNote
from cogs.animate.buttons import cancel_view
from cogs.animate.rendering import CANCEL_EMOJI, CANCELLABLE, status_embed

log = logging.getLogger(__name__)

# Discord's smallest upload limit, for jobs stored before their command's own was kept.
DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024
WEBHOOK_EXPIRED = 50027
UNKNOWN_MESSAGE = 10008
DUE_MARGIN_SECONDS = 1.0


@dataclass
class Session:
    """What only the live process knows about a job: its interaction."""

    interaction: discord.Interaction
    started: float  # monotonic

    def fresh(self, ttl: float) -> bool:
        return time.monotonic() - self.started < ttl


class StatusBoard:
    """Status messages of the jobs this process shows, and their interactions."""

    def __init__(
        self,
        bot: discord.Client,
        *,
        settings: Settings,
        jobs: JobService,
        arrivals: Arrivals,
    ) -> None:
        self.bot = bot
        self.settings = settings
        self.sessions: dict[int, Session] = {}
        # Status messages that can no longer be edited (deleted, no access).
        self.unreachable: set[int] = set()
        # What the bot is doing with a finished video (compressing...), until it is posted.
        self.notes: dict[int, ProgressNote] = {}
        # The ETA is recomputed on every edit; swap `expected` for a better model freely.
        self.eta = EtaBoard(jobs.expected_duration, render=jobs.expected_render)
        # Jobs whose ❌ this process already took back (it cannot cancel any more).
        self._unreacted: set[int] = set()
        # Jobs whose ❌ is on its way: the add takes it back itself if need be.
        self._reacting: set[int] = set()
        # One timer per live job, at its expected end: a job still running then is
        # re-shown as "taking longer than usual" instead of a time in the past.
        self._due: dict[int, asyncio.TimerHandle] = {}
        self._updates: Coalescer[int, Job] = Coalescer(
            self._edit,
            interval=self.settings.status_edit_interval_seconds,
            hold=arrivals.let_through,
        )

    def remember(self, job_id: int, interaction: discord.Interaction) -> None:
        self.sessions[job_id] = Session(interaction, time.monotonic())

    def fresh_session(self, job_id: int | None) -> Session | None:
        session = self.sessions.get(job_id or 0)
        if session is None or not session.fresh(self.settings.interaction_token_ttl_seconds):
            return None
        return session

    def upload_limit(self, job: Job) -> int:
        """What Discord said its command could upload there (`attachment_size_limit`, kept
        with the job): discord.py's table by boost tier no longer matches Discord's."""
        if job.upload_limit is not None:
            return job.upload_limit
        session = self.sessions.get(job.id or 0)
        if session is not None:
            return session.interaction.filesize_limit
        return DEFAULT_UPLOAD_LIMIT

    async def embed(self, job: Job) -> discord.Embed:
        estimate = await self.eta.estimate(job)
        if job.id is not None and job.status_message_id is not None:
            self._when_due(job, estimate.expected_end)
        return status_embed(job, estimate, note=self.notes.get(job.id or 0))

    async def progress(self, job: Job, note: ProgressNote) -> None:
        if job.id is None:
            return
        self.notes[job.id] = note
        await self.show(job)

    def _when_due(self, job: Job, expected_end: float | None) -> None:
        assert job.id is not None
        previous = self._due.pop(job.id, None)
        if previous is not None:
            previous.cancel()
        if expected_end is None or job.status.is_final:
            return
        delay = max(0.0, expected_end - time.time()) + DUE_MARGIN_SECONDS
        self._due[job.id] = asyncio.get_running_loop().call_later(delay, self._due_now, job)

    def _due_now(self, job: Job) -> None:
        assert job.id is not None
        self._due.pop(job.id, None)
        # The job as last shown; a newer state would have replaced this timer.
        self._updates.submit(job.id, job)

    async def show(self, job: Job) -> None:
        if job.id is None:
            return
        try:
            if job.status_message_id is None:
                return
            if job.status.is_final:
                self.notes.pop(job.id, None)
                # Final states are shown at once, replacing anything pending.
                await self._updates.flush(job.id, job)
            else:
                self._updates.submit(job.id, job)
        finally:
            # Delivered is the job's last word (the video was posted before it); other
            # final states are forgotten once the author is told (`Courier.job_ended`).
            if job.status is JobStatus.DELIVERED:
                self.forget(job.id)

    async def _edit(self, job_id: int, job: Job) -> None:
        if job_id in self.unreachable or job.status_message_id is None:
            return
        embed, view = await self.embed(job), cancel_view(job)
        session = self.fresh_session(job_id)
        if session is not None:
            try:
                async with asyncio.timeout(self.settings.http_timeout_seconds):
                    await session.interaction.edit_original_response(embed=embed, view=view)
                await self._after_edit(job)
                return
            except TimeoutError:
                # A long 429 (discord.py sleeps out any retry_after): not waited for.
                log.info("Job %d: the interaction's edit took too long", job_id)
                if not job.channel_reachable:
                    return  # the next state tries again
            except discord.HTTPException as exc:
                if exc.code == UNKNOWN_MESSAGE:
                    # Deleted (a moderator's routine): no later edit can land either.
                    log.info("Job %d: status message gone (%s)", job_id, exc)
                    self.unreachable.add(job_id)
                    return
                if not _token_expired(exc):
                    raise
                log.info("Job %d: interaction token expired", job_id)
                self.sessions.pop(job_id, None)
        if job.channel_id is None or not job.channel_reachable:
            # Only its command's token could edit it; /history has the rest.
            self.unreachable.add(job_id)
            return
        message = self.bot.get_partial_messageable(job.channel_id).get_partial_message(
            job.status_message_id
        )
        try:
            async with asyncio.timeout(self.settings.http_timeout_seconds):
                await message.edit(embed=embed, view=view)
        except (discord.NotFound, discord.Forbidden) as exc:
            log.info("Job %d: status message unreachable (%s)", job_id, exc)
            self.unreachable.add(job_id)
        except TimeoutError:
            log.info("Job %d: the status edit took too long", job_id)
            return
        await self._after_edit(job)

    async def _after_edit(self, job: Job) -> None:
        assert job.id is not None
        # Once the job cannot be cancelled, the bot's own ❌ goes (the button already has).
        if job.status in CANCELLABLE or job.id in self._unreacted or job.id in self._reacting:
            return
        await self.remove_own_reaction(job)
        # Final states are forgotten by `show` (delivered) or once the author is told
        # (`Courier.job_ended`, whose fallbacks still need the interaction).

    async def remove_own_reaction(self, job: Job) -> None:
        if job.id is None or job.channel_id is None or job.status_message_id is None:
            return
        if job.id in self.unreachable or not job.channel_reachable:
            return  # it never got a ❌ (ephemeral, or no reactions there)
        if not job.status.is_final:  # a final job's state is forgotten right after
            self._unreacted.add(job.id)
        message = self.bot.get_partial_messageable(job.channel_id).get_partial_message(
            job.status_message_id
        )
        me = self.bot.user
        if me is None:
            return
        try:
            async with asyncio.timeout(self.settings.http_timeout_seconds):
                await message.remove_reaction(CANCEL_EMOJI, me)
        except (discord.HTTPException, TimeoutError) as exc:
            log.debug("Job %d: could not remove the bot's reaction (%s)", job.id, exc)

    def reacting(self, job_id: int, on_its_way: bool) -> None:
        """The bot's ❌ is being added (no take-back before it is there) or has been."""
        if on_its_way:
            self._reacting.add(job_id)
        else:
            self._reacting.discard(job_id)

    def forget(self, job_id: int | None) -> None:
        """Drop everything this process holds for a finished job."""
        if job_id is None:
            return
        self.sessions.pop(job_id, None)
        self.unreachable.discard(job_id)
        self.notes.pop(job_id, None)
        self._updates.forget(job_id)
        self._unreacted.discard(job_id)
        self._reacting.discard(job_id)
        self.eta.forget(job_id)
        due = self._due.pop(job_id, None)
        if due is not None:
            due.cancel()

    def live_entries(self) -> int:
        """Jobs with any state held here (sessions, marks, notes, timers, pending edits)."""
        held = self.sessions.keys() | self.unreachable | self._updates.keys() | self.notes.keys()
        held |= self._unreacted | self._reacting
        return len(held | self._due.keys() | self.eta.live_jobs())

    async def close(self) -> None:
        for due in self._due.values():
            due.cancel()
        self._due.clear()
        await self._updates.close()


def _token_expired(exc: discord.HTTPException) -> bool:
    return exc.status == 401 or exc.code == WEBHOOK_EXPIRED
