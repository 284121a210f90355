"""The wire models of RunComfy's Model API: what each call answers, read leniently."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, field_validator

from bot.runcomfy.errors import message_of

TERMINAL = frozenset({"completed", "cancelled", "failed"})
KNOWN_STATUSES = frozenset({"in_queue", "in_progress", *TERMINAL})
# Past this, a queue position is taken for nonsense rather than shown.
MAX_POSITION = 100_000
# No hosted video costs near this for one clip or one second: an amount above it is a
# lie or a unit gone wrong, and would fill every budget (and break money formats).
MAX_AMOUNT_USD = 1_000.0
# /result says `succeeded` where /status says `completed`; some clients see either.
_STATUS_ALIASES = {"succeeded": "completed", "success": "completed", "canceled": "cancelled"}


def _normalise_status(value: object) -> str:
    text = str(value or "").strip().lower()
    return _STATUS_ALIASES.get(text, text)


def _money_or_none(value: object) -> float | None:
    """An amount in dollars, or None: an infinite or absurd cost would fill the spend cap,
    a negative one hide spend, so what is not an amount from 0 to MAX_AMOUNT_USD is
    unknown (and a job's spend then counts at its estimate)."""
    if value is None or isinstance(value, bool):  # JSON true is no amount
        return None
    try:
        amount = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):  # a JSON integer past any float
        return None
    if not (math.isfinite(amount) and 0 <= amount <= MAX_AMOUNT_USD):
        return None
    return amount + 0.0  # -0.0 would show as "-$0.00"


def _object_or_none(value: object) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _text_or_none(value: object) -> str | None:
    """A text field sent as a number (a time as Unix seconds, an id) is its text; any
    other shape (an object, a list) is unknown."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _text_or_empty(value: object) -> str:
    return _text_or_none(value) or ""


# Fields read leniently: what is not an amount, an object or a text is unknown.
Amount = Annotated[float | None, BeforeValidator(_money_or_none)]
JsonObject = Annotated[dict[str, Any] | None, BeforeValidator(_object_or_none)]
Text = Annotated[str | None, BeforeValidator(_text_or_none)]


class Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


WireT = TypeVar("WireT", bound=Wire)


class SubmitResponse(Wire):
    request_id: Annotated[str, BeforeValidator(_text_or_none)]
    status_url: str | None = None
    result_url: str | None = None
    cancel_url: str | None = None


class _Stated(Wire):
    """An answer carrying the job's state word, as /status and /result both do. The bot
    knows which request it asked about: the id the answer repeats is only read."""

    request_id: Text = None
    status: str

    _normalise = field_validator("status", mode="before")(_normalise_status)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def is_known(self) -> bool:
        return self.status in KNOWN_STATUSES


StatedT = TypeVar("StatedT", bound=_Stated)


class RequestStatus(_Stated):
    queue_position: int | None = None

    @field_validator("queue_position", mode="before")
    @classmethod
    def _position_or_none(cls, value: object) -> int | None:
        # A position that makes no sense is unknown: failing the whole answer retried
        # it six times, then lost the poll, on every poll of the job.
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_POSITION:
            return value
        return None


class RequestResult(_Stated):
    output: JsonObject = None  # garbage means "no video", not an answer worth retrying
    error: str | None = None
    cost: Amount = None
    created_at: Text = None
    finished_at: Text = None

    @field_validator("error", mode="before")
    @classmethod
    def _flatten_error(cls, value: object) -> str | None:
        # Undocumented shape: a string, or an object with a message somewhere.
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, dict):
            found = message_of(value)
            return found or json.dumps(value)[:500]
        return str(value)

    @property
    def video_url(self) -> str | None:
        output = self.output or {}
        for found in (output.get("video"), output.get("videos")):
            first = found[0] if isinstance(found, list) and found else found
            if isinstance(first, str) and first.strip():
                return first.strip()
        return None


class ModelInfo(Wire):
    """`GET /v1/models/{model_id}`: the hosted model, its price and its input schema."""

    model_id: Annotated[str, BeforeValidator(_text_or_empty)] = ""  # the client sets it
    base_price_usd: Amount = None
    # `second`: the price is per second of video (times `duration`); `output`: per video.
    price_unit: Text = None
    pricing_note: Text = None
    # What the model takes (read by bot.models); raw, since its shape is the model's.
    input_schema: JsonObject = None
    display_name: str | None = None
    name: str | None = None

    @field_validator("display_name", "name", mode="before")
    @classmethod
    def _text_or_none(cls, value: object) -> object:
        return value.strip() or None if isinstance(value, str) else None


class CancelResponse(Wire):
    request_id: Text = None
    status: Text = None
    outcome: str

    @property
    def cancelled(self) -> bool:
        # Asked again (the first answer lost after RunComfy cancelled it), the job is
        # cancelled already and this cancel a no-op ("not_cancellable"): dropped all the same.
        return self.outcome == "cancelled" or _normalise_status(self.status) == "cancelled"
