"""The composition root: settings -> store and clients -> services -> the bot."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from app.client import AnimateBot, Services
from bot.admission import Admission
from bot.config import Settings
from bot.guild_settings import GuildAdmin
from bot.health import beat_forever
from bot.jobs import JobService
from bot.metrics import Metrics, sample_forever
from bot.models.registry import Models
from bot.pricing import Pricing
from bot.runcomfy import RunComfyClient, make_http_client
from bot.store import (
    only_process_named,
    only_process_on,
    open_store,
    postgres_url,
    sqlite_path,
)


@contextlib.asynccontextmanager
async def assemble(settings: Settings, **bot_options: Any) -> AsyncIterator[AnimateBot]:
    """Open every resource the bot needs and close them all afterwards.

    `bot_options` go to discord.py's client (tests shorten `guild_ready_timeout`).
    """
    async with contextlib.AsyncExitStack() as held:
        url = postgres_url(settings)
        if url is None:
            held.enter_context(only_process_on(sqlite_path(settings)))
        else:  # several processes, each with its own PROCESS_ID
            await held.enter_async_context(only_process_named(url, settings.process_id))
        services = await held.enter_async_context(services_for(settings))
        bot = AnimateBot(services, **_shard_options(settings), **bot_options)
        monitors = _start_monitors(bot)
        try:
            yield bot
        finally:
            for task in monitors:
                task.cancel()
            await asyncio.gather(*monitors, return_exceptions=True)
            services.metrics.stop_serving()
            await bot.close()


@contextlib.asynccontextmanager
async def commands_only(settings: Settings) -> AsyncIterator[AnimateBot]:
    """The bot with its command tree and nothing running (`python -m bot sync`)."""
    async with services_for(settings) as services:
        bot = AnimateBot(services, commands_only=True)
        try:
            yield bot
        finally:
            await bot.close()


@contextlib.asynccontextmanager
async def services_for(settings: Settings) -> AsyncIterator[Services]:
    """The store, the RunComfy client and the services above them; closed afterwards."""
    runcomfy_http = make_http_client(
        settings.runcomfy_base_url,
        settings.runcomfy_api_token,
        settings.http_timeout_seconds,
        connections=settings.runcomfy_connections,
    )
    async with runcomfy_http, await open_store(settings) as store:
        metrics = Metrics()
        runcomfy = RunComfyClient(
            runcomfy_http,
            requests_per_second=settings.runcomfy_requests_per_second,
            metrics=metrics,
            max_in_flight=settings.runcomfy_connections,
        )
        models = Models(
            runcomfy, store, settings.model_ids, refresh_seconds=settings.price_refresh_seconds
        )
        # Before the bot: /animate's options are the models' (NoModel if none can be used).
        await models.load(each_within=settings.http_timeout_seconds)
        admission = Admission(settings=settings, store=store, models=models)
        pricing = Pricing(store, models.price_since)
        jobs = JobService(
            settings=settings,
            store=store,
            runcomfy=runcomfy,
            models=models,
            admission=admission,
            metrics=metrics,
            pricing=pricing,
        )
        yield Services(
            settings=settings,
            store=store,
            jobs=jobs,
            models=models,
            pricing=pricing,
            admission=admission,
            guild_admin=GuildAdmin(settings=settings, store=store),
            metrics=metrics,
            # The service's own: the cogs' starts and its submits and polls share it.
            arrivals=jobs.arrivals,
        )


def _shard_options(settings: Settings) -> dict[str, Any]:
    """SHARD_COUNT and SHARD_IDS for AutoShardedBot; unset, discord.py asks Discord."""
    options: dict[str, Any] = {}
    if settings.shard_count is not None:
        options["shard_count"] = settings.shard_count
        if settings.shard_ids:
            options["shard_ids"] = list(settings.shard_ids)
    return options


def _start_monitors(bot: AnimateBot) -> list[asyncio.Task[None]]:
    """The metrics sampler (and server) and the heartbeat; stopped by `assemble`."""
    settings, services = bot.settings, bot.services
    tasks = []
    if settings.metrics_port is not None and services.metrics.serve(
        settings.metrics_host, settings.metrics_port
    ):
        tasks.append(
            asyncio.create_task(
                sample_forever(
                    services.metrics,
                    jobs_by_state=services.store.count_active_by_status,
                    live_trackers=lambda: services.jobs.live_trackers,
                ),
                name="metrics-sampler",
            )
        )
    if settings.heartbeat_path is not None:
        tasks.append(
            asyncio.create_task(
                beat_forever(settings.heartbeat_path, lambda: _gateway_connected(bot)),
                name="heartbeat",
            )
        )
    return tasks


def _gateway_connected(bot: AnimateBot) -> bool:
    shards = bot.shards.values()
    return bot.is_ready() and not bot.is_closed() and all(not s.is_closed() for s in shards)
