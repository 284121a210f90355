"""What the fake RunComfy hosts and runs: models with their schema and price, jobs on
scripted timelines, and what Seedance would bill them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

CHUNK = 256 * 1024
# Seedance bills tokens in proportion to width × height × duration: the frame sizes by
# resolution (shared/docs/runcomfy-api.md; at 480p the ratio barely changes the pixels).
FRAME_PIXELS = {"480p": 864 * 496, "720p": 1280 * 720, "1080p": 1920 * 1080}
# Audio's share of the bill, unknown on RunComfy (the bot assumes 2×, to err high).
AUDIO_FACTOR = 1.5
AUDIO_FIELDS = ("generate_audio", "enable_audio", "audio")
# `Timeline.cost`'s default: what `seedance_bill` says the job's body costs.
BILLED: Literal["billed"] = "billed"


@dataclass(frozen=True)
class Timeline:
    """How one job moves: queue positions stepping down, then a run, then an outcome."""

    queue_positions: tuple[int, ...] = (2, 1)
    queue_seconds: float = 0.2
    run_seconds: float = 0.3
    outcome: Literal["completed", "failed"] = "completed"
    error: str | dict[str, Any] | None = None
    video_size: int = 4096
    # Real MP4 bytes to serve (tests/fakes/media.py); None: the byte pattern of `video_size`.
    media: bytes | None = None
    # What /result?include_cost=true reports: Seedance's bill for the body by default
    # (`seedance_bill`), else this figure, or no `cost` at all (None).
    cost: float | Literal["billed"] | None = BILLED
    # /result?include_cost=true also tells the cost while the job runs (RunComfy's docs do
    # not say whether it does; the bot must record it when it does).
    cost_while_running: bool = False
    result_status_word: str = "succeeded"
    videos_list: bool = False  # answer `output.videos: [...]` instead of `output.video`
    # What /result's `output` says instead of the video URL (e.g. {} or {"video": ""}).
    result_output: Any = None
    # Fields /result (and /status) answer in place of their own, e.g. a number for created_at.
    answer_fields: dict[str, Any] | None = None
    video_status: int = 200  # what the CDN answers for the video (e.g. 404: expired)
    video_trickle_seconds: float = 0.0  # > 0: the CDN sends 1 KiB, then waits this long
    manual: bool = False  # stays where it is until `set_state`
    # /result lags /status: the first N answers after completion say done, no video.
    result_empty_answers: int = 0


@dataclass
class HostedModel:
    """A model the fake hosts: its schema (served and enforced) and its price."""

    input_schema: dict[str, Any]
    base_price_usd: float | None = 0.024
    price_unit: str | None = "second"
    retired: bool = False  # `GET` answers 404 (400001), a submit 400 (400001)
    display_name: str | None = None
    # Fields its answer gives in place of the usual, e.g. an object for pricing_note.
    answer_fields: dict[str, Any] | None = None


@dataclass
class FakeJob:
    request_id: str
    body: dict[str, Any]
    timeline: Timeline
    created: float
    forced: str | None = None  # manual state or a cancel
    forced_position: int | None = None
    finished_at: float | None = None
    empty_results: int = 0  # "done, no video" answers given so far
    bill: float | None = None  # Seedance's bill for its body, at the price when submitted

    @property
    def cost(self) -> float | None:
        """What /result reports with include_cost=true: the timeline's figure, else the bill."""
        return self.bill if self.timeline.cost == BILLED else self.timeline.cost

    def state(self, now: float, scale: float) -> tuple[str, int | None]:
        if self.forced is not None:
            return self.forced, self.forced_position
        if self.timeline.manual:
            first = self.timeline.queue_positions[0] if self.timeline.queue_positions else None
            return "in_queue", first
        t = self.timeline
        elapsed = (now - self.created) / scale
        if elapsed < t.queue_seconds and t.queue_positions:
            step = int(elapsed / t.queue_seconds * len(t.queue_positions))
            return "in_queue", t.queue_positions[min(step, len(t.queue_positions) - 1)]
        if elapsed < t.queue_seconds + t.run_seconds:
            return "in_progress", None
        return t.outcome, None


def validate_input(body: Any, schema: dict[str, Any]) -> list[dict[str, Any]]:
    """RunComfy's 422 for a body outside the model's schema: extra, missing or mistyped."""
    if not isinstance(body, dict):
        return [{"loc": ["body"], "msg": "a JSON object is required"}]
    properties: dict[str, dict[str, Any]] = schema.get("properties", {})
    problems = [
        {"loc": ["body", name], "msg": "extra fields not permitted"}
        for name in sorted(set(body) - set(properties))
    ]
    for name in schema.get("required", []):
        if name not in body or body[name] in ("", None):
            problems.append({"loc": ["body", name], "msg": "field required"})
    for name, value in body.items():
        spec = properties.get(name)
        if spec is not None and not _fits(value, spec):
            problems.append({"loc": ["body", name], "msg": "invalid value"})
    return problems


def _fits(value: Any, spec: dict[str, Any]) -> bool:
    kind = spec.get("type", "string")
    if kind == "boolean":
        typed = isinstance(value, bool)
    elif kind == "integer":
        typed = isinstance(value, int) and not isinstance(value, bool)
    elif kind in ("number", "float"):
        typed = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        typed = isinstance(value, str)
    if not typed:
        return False
    if isinstance(value, str) and not _length_fits(len(value), spec):
        return False
    if spec.get("enum") is not None and value not in spec["enum"]:
        return False
    low, high = spec.get("minimum"), spec.get("maximum")
    return (low is None or value >= low) and (high is None or value <= high)


def _length_fits(length: int, spec: dict[str, Any]) -> bool:
    """JSON Schema's `minLength`/`maxLength`, where they are numbers (RunComfy's 422)."""
    low, high = spec.get("minLength"), spec.get("maxLength")
    numbers = (int, float)
    return (not isinstance(low, numbers) or length >= low) and (
        not isinstance(high, numbers) or length <= high
    )


def seedance_bill(body: dict[str, Any], hosted: HostedModel) -> float | None:
    """What a job costs, billed as Seedance is: in proportion to its frames' pixels and its
    length, with audio AUDIO_FACTOR× silence; a 480p 5 s video with audio costs the base
    price × 5. A model priced per `output` bills no length; one with its resolution in
    its id has that resolution's price. None without a price."""
    price = hosted.base_price_usd
    if price is None:
        return None
    properties: dict[str, dict[str, Any]] = hosted.input_schema.get("properties", {})

    def given(name: str) -> Any:
        return body.get(name, properties.get(name, {}).get("default"))

    seconds = 1.0 if hosted.price_unit == "output" else float(given("duration") or 5)
    # No resolution option (one in the model's id, or none): the price is the model's own.
    pixels = FRAME_PIXELS.get(str(given("resolution")).lower(), FRAME_PIXELS["480p"])
    audio = next((given(name) for name in AUDIO_FIELDS if name in properties), False)
    share = 1.0 if audio is True else 1 / AUDIO_FACTOR
    return round(price * seconds * pixels / FRAME_PIXELS["480p"] * share, 6)


def video_chunks(request_id: str, size: int) -> Any:
    """An MP4-looking header, then a repeating pattern unique to the job."""
    header = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    pattern = (request_id.encode() + b"|") * (CHUNK // (len(request_id) + 1) + 1)
    produced = 0
    first = header[:size]
    if first:
        yield first
        produced = len(first)
    while produced < size:
        piece = pattern[: min(CHUNK, size - produced)]
        produced += len(piece)
        yield piece
