"""The operator's models (RUNCOMFY_MODEL_IDS), as RunComfy last described them. Discord-free.

Each model is read at start and at every refresh: its price and its input schema. The
last good answer is kept in the database, so a start while RunComfy is down (network
errors, 5xx) works from it; the very first start needs RunComfy. A changed schema is
followed from the next refresh on and logged. A 404 or 400001 means the model is retired,
never "down": its copy is not used, and a one-off 404 is confirmed by another read within
`confirm_seconds` before the model is called gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.models.changes import describe_changes
from bot.models.model import ModelUnusable, VideoModel, read_model
from bot.runcomfy import ModelInfo, RunComfyClient, RunComfyError

log = logging.getLogger(__name__)

MODEL_MISSING_CODE = 400001  # RunComfy's "bad model id": a retired model answers it
CONFIRM_SECONDS = 60.0  # a first 404 is read again within this before it counts
START_CONFIRM_SECONDS = 2.0  # at start, one quick second look rather than a minute's wait
STATE_KEY = "model:"  # bot_state key prefix of a model's last good answer


class ModelState(StrEnum):
    READY = "ready"  # usable (from RunComfy now, or from the last good copy)
    UNUSABLE = "unusable"  # its schema cannot be used: `reasons` say why
    RETIRED = "retired"  # RunComfy answered 404/400001 twice
    UNKNOWN = "unknown"  # never read: RunComfy down at the first start


@dataclass(frozen=True)
class Entry:
    model_id: str
    state: ModelState
    model: VideoModel | None = None
    reasons: tuple[str, ...] = ()
    read_at: float | None = None  # when RunComfy gave the schema in use
    from_copy: bool = False  # the schema is the database's copy (RunComfy was down)
    price_since: float = 0.0  # since when its price is the one in use (0: as far as known)


class StateStore(Protocol):
    """The slice of the store the registry keeps its copies in."""

    async def state(self, key: str) -> str | None: ...

    async def set_state(self, key: str, value: str, *, now: float) -> None: ...


class NoModel(Exception):
    """No configured model can be used: the bot cannot start."""

    def __init__(self, entries: list[Entry]) -> None:
        super().__init__("no usable model")
        self.entries = entries

    def describe(self) -> str:
        """One line per model: why it cannot be used, for the operator."""
        lines = []
        for entry in self.entries:
            why = "; ".join(entry.reasons) or "RunComfy could not be reached"
            lines.append(f"{entry.model_id}: {why}")
        return "; ".join(lines)


def is_missing_model(exc: RunComfyError) -> bool:
    return exc.error_code == MODEL_MISSING_CODE or exc.status_code == 404


class Models:
    """The configured models, in the operator's order (the first is the default)."""

    def __init__(
        self,
        runcomfy: RunComfyClient,
        store: StateStore,
        model_ids: Iterable[str],
        *,
        refresh_seconds: float = 3600.0,
        confirm_seconds: float = CONFIRM_SECONDS,
        start_confirm_seconds: float = START_CONFIRM_SECONDS,
        clock: Callable[[], float] = time.time,
        alert: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.runcomfy = runcomfy
        self.store = store
        self.model_ids = tuple(dict.fromkeys(model_ids))
        self.refresh_seconds = refresh_seconds
        self.confirm_seconds = confirm_seconds
        self.start_confirm_seconds = start_confirm_seconds
        self.clock = clock
        # Where the operator hears of a retired model besides the log (the admin channel).
        self.alert = alert
        self._entries = {m: Entry(m, ModelState.UNKNOWN) for m in self.model_ids}
        self._suspect: set[str] = set()  # a first 404 seen, not yet confirmed
        self._woken = asyncio.Event()  # a new suspect: `run` looks at it within the minute
        self._held_alerts: list[str] = []  # alerts before anyone listens (at start)

    # -- what the rest of the bot asks ------------------------------------------------

    def available(self) -> list[VideoModel]:
        """The usable models, in the operator's order."""
        return [
            e.model for e in self.entries() if e.model is not None and e.state is ModelState.READY
        ]

    def get(self, model_id: str | None) -> VideoModel | None:
        """The model if it is configured and usable now."""
        entry = self._entries.get(model_id or "")
        return entry.model if entry is not None and entry.state is ModelState.READY else None

    def known(self, model_id: str | None) -> VideoModel | None:
        """The model as last read, even if retired since (to word its past jobs)."""
        entry = self._entries.get(model_id or "")
        return entry.model if entry is not None else None

    @property
    def default(self) -> VideoModel | None:
        """The first usable model of the operator's list."""
        available = self.available()
        return available[0] if available else None

    def entries(self) -> list[Entry]:
        return [self._entries[m] for m in self.model_ids]

    def entry(self, model_id: str) -> Entry | None:
        return self._entries.get(model_id)

    def price_since(self, model_id: str) -> float:
        """Since when the model has had its current price: costs billed before do not tell
        what its videos cost now."""
        entry = self._entries.get(model_id)
        return entry.price_since if entry is not None else 0.0

    def suspect(self, model_id: str) -> None:
        """RunComfy refused a submit as if the model were gone: confirm at the next look."""
        if model_id in self._entries:
            self._suspect.add(model_id)
            self._woken.set()

    # -- reading them -----------------------------------------------------------------

    async def load(self, *, each_within: float | None = None) -> None:
        """At start: every model read (at once, each within `each_within` s: a start must not
        hang), a 404 looked at twice, else the copies. NoModel when none can be used."""
        confirm = self.start_confirm_seconds
        # Each look within `each_within`, and the wait between a 404's two looks besides.
        deadline = None if each_within is None else 2 * each_within + confirm

        async def read(model_id: str) -> None:
            try:
                async with asyncio.timeout(deadline):
                    await self._read(model_id, confirm_after=confirm)
            except TimeoutError:
                if model_id in self._suspect:  # a 404, then silence: never served from a copy
                    why = "RunComfy said it is missing; looking again"
                    log.warning("Model %s is not offered until RunComfy answers: %s", model_id, why)
                    self._entries[model_id] = Entry(model_id, ModelState.UNKNOWN, reasons=(why,))
                    return
                await self._down(model_id, RunComfyError("no answer in time", retryable=True))

        await asyncio.gather(*(read(m) for m in self.model_ids))
        entries = self.entries()
        # Retired models still start the bot (it says so and refuses their jobs); a model
        # never read, or whose schema cannot be used, does not.
        if not any(e.state in (ModelState.READY, ModelState.RETIRED) for e in entries):
            raise NoModel(entries)

    async def set_alert(self, alert: Callable[[str], Awaitable[None]]) -> None:
        """Where alerts go from now on; the ones held since start go there now."""
        self.alert = alert
        held, self._held_alerts = self._held_alerts, []
        for text in held:
            with contextlib.suppress(Exception):
                await alert(text)

    async def refresh(self) -> None:
        await asyncio.gather(*(self._read(m, confirm_after=None) for m in self.model_ids))

    async def run(self) -> None:
        """Refresh every `refresh_seconds` (the first read is `load`, at start); a model
        with an unconfirmed 404 is read again within `confirm_seconds`."""
        next_refresh = self.clock() + self.refresh_seconds
        while True:
            wait = next_refresh - self.clock()
            if self._suspect:
                wait = min(wait, self.confirm_seconds)
            self._woken.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, wait)):
                    await self._woken.wait()
                    await asyncio.sleep(self.confirm_seconds)
            if self.clock() >= next_refresh:
                next_refresh = self.clock() + self.refresh_seconds
                await self.refresh()
            else:
                suspects = list(self._suspect)
                await asyncio.gather(*(self._read(m, confirm_after=None) for m in suspects))

    async def _read(self, model_id: str, *, confirm_after: float | None) -> None:
        try:
            info = await self.runcomfy.model(model_id)
        except RunComfyError as exc:
            if not is_missing_model(exc):
                await self._down(model_id, exc)
                return
            if model_id not in self._suspect:
                self._suspect.add(model_id)
                if confirm_after is None:
                    log.warning("RunComfy says %s is missing; looking again within %.0f s",
                                model_id, self.confirm_seconds)  # fmt: skip
                    return
                await asyncio.sleep(confirm_after)
                await self._read(model_id, confirm_after=None)
                return
            await self._retired(model_id)
            return
        self._suspect.discard(model_id)
        await self._read_ok(model_id, info)

    async def _read_ok(self, model_id: str, info: ModelInfo) -> None:
        now = self.clock()
        before = self._entries[model_id]
        try:
            model = read_model(info)
        except ModelUnusable as exc:
            if before.state is not ModelState.UNUSABLE or before.reasons != exc.reasons:
                log.error("Model %s cannot be used: %s. Remove it from RUNCOMFY_MODEL_IDS.",
                          model_id, "; ".join(exc.reasons))  # fmt: skip
            self._entries[model_id] = Entry(model_id, ModelState.UNUSABLE, reasons=exc.reasons)
            return
        if before.state is ModelState.RETIRED:
            log.warning("RunComfy hosts %s again: it is offered again", model_id)
        if before.model is not None and before.model.digest != model.digest:
            for change in describe_changes(before.model, model):
                log.warning("Model %s changed: %s", model_id, change)
        elif before.model is None:
            log.info("Model %s (%s) ready: %s", model_id, model.name, _summary(model))
        since = await self._price_since(model_id, info, now)
        self._entries[model_id] = Entry(
            model_id, ModelState.READY, model, read_at=now, price_since=since
        )
        try:
            kept = {"info": info.model_dump(mode="json"), "read_at": now, "price_since": since}
            await self.store.set_state(STATE_KEY + model_id, json.dumps(kept), now=now)
        except Exception:
            log.exception("Could not keep a copy of %s's schema", model_id)

    async def _price_since(self, model_id: str, info: ModelInfo, now: float) -> float:
        """When the price in `info` was first seen: now if it differs from the last known."""
        before = self._entries[model_id]
        if before.model is not None:
            known: tuple[float | None, str | None] = (
                before.model.base_price_usd,
                before.model.price_unit,
            )
            since = before.price_since
        else:
            copy = await self._copy(model_id)
            if copy is None:
                return 0.0  # never read before: every cost billed so far is at this price
            known, since = (copy[0].base_price_usd, copy[0].price_unit), copy[2]
        if known != (info.base_price_usd, info.price_unit):
            log.warning("Model %s's price changed: %s per %s, was %s per %s", model_id,
                        info.base_price_usd, info.price_unit, *known)  # fmt: skip
            return now
        return since

    async def _down(self, model_id: str, exc: RunComfyError) -> None:
        """RunComfy is down (network, 5xx): keep what is known, else the database's copy."""
        before = self._entries[model_id]
        if before.state is not ModelState.UNKNOWN:
            log.warning("Could not read %s (%s); keeping what was known", model_id, exc)
            return
        copy = await self._copy(model_id)
        if copy is None:
            why = (
                "RunComfy refused RUNCOMFY_API_TOKEN (or the account's balance is empty)"
                if exc.operator_problem
                else f"RunComfy could not be reached ({exc}) and no earlier copy exists"
            )
            log.warning("Model %s is not offered until RunComfy answers: %s", model_id, why)
            self._entries[model_id] = Entry(model_id, ModelState.UNKNOWN, reasons=(why,))
            return
        info, read_at, since = copy
        try:
            model = read_model(info)
        except ModelUnusable as unusable:
            unusable_entry = Entry(model_id, ModelState.UNUSABLE, reasons=unusable.reasons)
            self._entries[model_id] = unusable_entry
            return
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(read_at))
        log.warning("RunComfy is unreachable (%s): %s runs on its schema as read at %s",
                    exc, model_id, when)  # fmt: skip
        self._entries[model_id] = Entry(
            model_id, ModelState.READY, model, read_at=read_at, from_copy=True, price_since=since
        )

    async def _copy(self, model_id: str) -> tuple[ModelInfo, float, float] | None:
        """The last good answer, when it was read, and since when its price held."""
        try:
            raw = await self.store.state(STATE_KEY + model_id)
            if raw is None:
                return None
            kept = json.loads(raw)
            info = ModelInfo.model_validate(kept["info"])
            return info, float(kept["read_at"]), float(kept.get("price_since", 0.0))
        except Exception:
            log.exception("The copy of %s's schema is unreadable", model_id)
            return None

    async def _retired(self, model_id: str) -> None:
        before = self._entries[model_id]
        self._suspect.discard(model_id)
        self._entries[model_id] = Entry(model_id, ModelState.RETIRED, before.model)
        if before.state is ModelState.RETIRED:
            return  # told once, not at every refresh
        others = [m.name for m in self.available()]
        text = retired_alert(model_id, others)
        log.error("%s", text)
        if self.alert is None:
            self._held_alerts.append(text)
            return
        with contextlib.suppress(Exception):
            await self.alert(text)


def retired_alert(model_id: str, others: list[str]) -> str:
    """Operator-facing: what is wrong, what still works, and which setting fixes it."""
    still = f"/animate goes on with {', '.join(others)}" if others else "/animate refuses new jobs"
    return (
        f"RunComfy no longer hosts the model {model_id!r}: {still}. Remove it from "
        "RUNCOMFY_MODEL_IDS (or replace it with a model RunComfy hosts) and restart the bot."
    )


def _summary(model: VideoModel) -> str:
    options = ", ".join(o.name for o in model.options) or "no options"
    return f"image in `{model.image_field}`, options: {options}"
