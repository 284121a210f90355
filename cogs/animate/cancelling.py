"""Cancelling a job: the ❌ reaction on its status message and its Cancel button.

The author or a member who can manage messages may cancel; the job service does it
once however many ask. A button is answered privately; a reaction has no private
answer, so it gets a public reply, once per person and job: toggling one's ❌
neither asks RunComfy again nor repeats the reply.
"""

from __future__ import annotations

import contextlib
import logging
from collections import OrderedDict
from typing import Any

import discord

from bot.jobs import CancelOutcome, JobService
from cogs.animate.buttons import Press
from cogs.animate.delivery import Courier, reply_to
from cogs.animate.rendering import CANCEL_EMOJI, public_messages
from cogs.animate.replies import cancel_reply
from cogs.common.translator import user_messages

log = logging.getLogger(__name__)

# Outcomes a ❌ reaction gets a reply for (the others show on the status message),
# besides an unexpected failure.
ANSWERED_REACTIONS = frozenset(
    {CancelOutcome.RENDERING, CancelOutcome.UNREACHABLE, CancelOutcome.ALREADY_CANCELLED}
)
# Outcomes another ❌ of the same person cannot change: the job is gone, ended or
# rendering (RunComfy never cancels a running job). Not settled: not sent yet, or
# RunComfy out of reach, where trying again may cancel it.
SETTLED = frozenset(
    {
        CancelOutcome.CANCELLED,
        CancelOutcome.ALREADY_CANCELLED,
        CancelOutcome.RENDERING,
        CancelOutcome.FINISHED,
        CancelOutcome.UNKNOWN,
    }
)
# (job, person) pairs remembered; the oldest go first.
REMEMBERED_REACTIONS = 10_000
UNSEEN = object()  # this person's first ❌ on this job


class Cancelling:
    def __init__(self, bot: discord.Client, *, jobs: JobService, courier: Courier) -> None:
        self.bot = bot
        self.jobs = jobs
        self.courier = courier
        # (job id, user id) -> what their last ❌ got (None: an unexpected failure).
        self._reacted: OrderedDict[tuple[int, int], CancelOutcome | None] = OrderedDict()
        self._reacting: set[tuple[int, int]] = set()  # being handled now

    async def from_button(self, interaction: discord.Interaction[Any], press: Press) -> None:
        is_moderator = interaction.permissions.manage_messages
        await interaction.response.defer(ephemeral=True, thinking=True)
        outcome = await self._cancel(press.job_id, interaction.user.id, is_moderator)
        await interaction.followup.send(
            cancel_reply(outcome, user_messages(interaction)), ephemeral=True
        )

    async def from_reaction(self, payload: discord.RawReactionActionEvent) -> None:
        me = self.bot.user
        if str(payload.emoji) != CANCEL_EMOJI or (me is not None and payload.user_id == me.id):
            return
        job = await self.jobs.by_status_message(payload.message_id)
        if job is None or job.id is None:
            return
        key = (job.id, payload.user_id)
        before = self._reacted.get(key, UNSEEN)
        if key in self._reacting or before in SETTLED:
            return  # answered (or being answered), and a toggle changes nothing
        self._reacting.add(key)
        try:
            outcome = await self._cancel(job.id, payload.user_id, self._is_moderator(payload))
        finally:
            self._reacting.discard(key)
        self._reacted[key] = outcome
        self._reacted.move_to_end(key)
        while len(self._reacted) > REMEMBERED_REACTIONS:
            self._reacted.popitem(last=False)
        if outcome is CancelOutcome.NOT_ALLOWED:
            await self._remove_reaction(payload)
        elif (outcome is None or outcome in ANSWERED_REACTIONS) and outcome is not before:
            # A reaction carries no locale (in DMs neither has the channel): the job's own.
            await self._answer_reaction(payload, cancel_reply(outcome, public_messages(job)))

    def _is_moderator(self, payload: discord.RawReactionActionEvent) -> bool:
        """Manage Messages in that channel (DMs have no moderators)."""
        member = payload.member
        if member is None:
            return False
        channel = self.bot.get_channel(payload.channel_id)
        if isinstance(channel, discord.abc.GuildChannel):
            return channel.permissions_for(member).manage_messages
        return member.guild_permissions.manage_messages

    async def _answer_reaction(self, payload: discord.RawReactionActionEvent, text: str) -> None:
        """Reply to the reacted message, pinging only the person who reacted."""
        pings = discord.AllowedMentions(
            everyone=False, roles=False, users=[discord.Object(payload.user_id)]
        )
        channel = self.bot.get_partial_messageable(payload.channel_id)
        reference = reply_to(payload.channel_id, payload.message_id)
        try:
            await channel.send(
                f"<@{payload.user_id}> {text}", allowed_mentions=pings, reference=reference
            )
        except discord.HTTPException:
            log.info("Could not answer a reaction on message %d", payload.message_id)

    async def _cancel(self, job_id: int, user_id: int, is_moderator: bool) -> CancelOutcome | None:
        """The service's outcome; None when it failed unexpectedly (a bug, logged)."""
        job = await self.jobs.get(job_id)
        by_author = job is not None and job.user_id == user_id
        if by_author:
            # Their own cancel: they get their answer (or see the ❌ work), no public ping.
            self.courier.cancelled_by_author.add(job_id)
        try:
            return await self.jobs.cancel(job_id, actor_id=user_id, actor_is_moderator=is_moderator)
        except Exception:
            log.exception("Cancel of job %d failed", job_id)
            return None
        finally:
            if by_author:
                self.courier.cancelled_by_author.discard(job_id)

    async def _remove_reaction(self, payload: discord.RawReactionActionEvent) -> None:
        message = self.bot.get_partial_messageable(payload.channel_id).get_partial_message(
            payload.message_id
        )
        # Without Manage Messages the reaction stays; it is ignored anyway.
        with contextlib.suppress(discord.HTTPException):
            await message.remove_reaction(payload.emoji, discord.Object(payload.user_id))
