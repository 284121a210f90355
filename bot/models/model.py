"""A RunComfy video model as the bot uses it, read from the schema RunComfy publishes.

`read_model` derives everything from the schema alone: which property takes the prompt
and which the image URL (with its bounds), the options a user may set, and the exact
submit body. A schema the bot cannot use (no image field it can identify, a required
property it cannot fill) raises `ModelUnusable` with the reasons, for `check` and logs.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.images.bounds import ImageBounds
from bot.models.bounds import image_bounds
from bot.models.options import ROLES, OptionRefused, OptionSpec, option_from
from bot.models.schema import InputSchema, Property, Scalar, SchemaUnreadable
from bot.prompts import MAX_PROMPT_CHARS, PromptRejected
from bot.runcomfy.wire import ModelInfo

# Names models give the input image, best first; "image" in a name is a weaker hint.
IMAGE_FIELDS = (
    "first_frame_image_url",
    "image_url",
    "image",
    "start_image_url",
    "start_image",
    "first_frame_image",
    "first_frame_url",
    "input_image_url",
    "input_image",
    "init_image",
)
# Other images a model may take (a last frame, a mask): never the input picture.
_OTHER_IMAGE = re.compile(r"end|last|tail|mask|reference|negative|style", re.IGNORECASE)
# A resolution written in a model's id (`.../image-to-video/720p`).
_ID_RESOLUTION = re.compile(r"^(\d{3,4}p|[248]k)$", re.IGNORECASE)
# Path segments that say what every model here does, left out of display names.
_TASK_SEGMENTS = frozenset({"image-to-video", "i2v", "img2video", "image2video"})

Options = dict[str, Scalar]  # schema field -> value, as sent
# Catalog keys: a prompt outside the model's length bounds.
TOO_LONG = "prompt.model.too_long"
TOO_SHORT = "prompt.model.too_short"


class ModelUnusable(Exception):
    """The model's schema cannot be used; `reasons` say why, in operator's words."""

    def __init__(self, model_id: str, reasons: list[str]) -> None:
        super().__init__(f"{model_id}: " + "; ".join(reasons))
        self.model_id = model_id
        self.reasons = tuple(reasons)


@dataclass(frozen=True)
class VideoModel:
    model_id: str
    name: str
    prompt_field: str
    image_field: str
    bounds: ImageBounds
    options: tuple[OptionSpec, ...]
    # Required properties that are no option, sent with their schema default.
    fixed: tuple[tuple[str, Scalar], ...] = ()
    # The schema's property order, which the submit body follows.
    order: tuple[str, ...] = ()
    base_price_usd: float | None = None
    price_unit: str | None = None
    # The prompt's length, in characters, as its schema bounds it (None: the bot's own).
    prompt_min: int = 0
    prompt_max: int | None = None
    # What the bot ignored in the schema (rules it does not know...), for `check`.
    notes: tuple[str, ...] = ()
    digest: str = field(default="", compare=False)

    def option(self, name: str) -> OptionSpec | None:
        """The option called `name` (its role, e.g. "ratio", or its schema field)."""
        return next((o for o in self.options if name in (o.name, o.field)), None)

    def has(self, name: str) -> bool:
        return self.option(name) is not None

    @property
    def resolution_in_id(self) -> str | None:
        """A resolution the model's id fixes (Seedance 2.5's `.../720p`), if any."""
        last = self.model_id.rsplit("/", 1)[-1]
        return last.lower() if _ID_RESOLUTION.match(last) else None

    def fixed_value(self, role: str) -> str | None:
        """A value the model fixes for a common role it offers no option for: the
        resolution its id names (`.../720p`); None when it fixes nothing there."""
        return self.resolution_in_id if role == "resolution" and not self.has(role) else None

    def prompt_refusal(self, prompt: str) -> PromptRejected | None:
        """Why the model would refuse `prompt` (RunComfy answers 422): too long or too
        short for its schema's bounds; None when it fits."""
        if self.prompt_max is not None and len(prompt) > self.prompt_max:
            return PromptRejected(TOO_LONG, count=len(prompt), limit=self.prompt_max)
        if len(prompt) < self.prompt_min:
            return PromptRejected(TOO_SHORT, count=len(prompt), limit=self.prompt_min)
        return None

    def defaults(self) -> Options:
        return {o.field: o.default for o in self.options if o.default is not None}

    def choose(
        self, picked: Mapping[str, object], base: Mapping[str, Scalar] | None = None
    ) -> Options:
        """The options of a job: `base` (stored fields, else the defaults) with `picked`.

        `picked` is keyed by option name as users type it (role or field); None means
        "not chosen". Raises OptionRefused for a value the model does not take or an
        option it lacks: nothing outside the schema is ever kept.
        """
        chosen = self.carry(base) if base is not None else self.defaults()
        for name, value in picked.items():
            if value is None:
                continue
            spec = self.option(name)
            if spec is None:
                raise OptionRefused(name=name, value=value, role=name if name in ROLES else None)
            chosen[spec.field] = spec.accept(value)
        return chosen

    def carry(self, stored: Mapping[str, Scalar]) -> Options:
        """Stored options (another job's, maybe another model's) as this model takes them:
        values it still takes stay, the rest fall back to its defaults."""
        carried = self.defaults()
        for spec in self.options:
            value = stored.get(spec.field)
            if value is None:
                continue
            try:
                carried[spec.field] = spec.accept(value)
            except OptionRefused:
                continue
        return carried

    def value(self, options: Mapping[str, Scalar], name: str) -> Scalar | None:
        """The value an option has in `options` (by role or field), if the model has it."""
        spec = self.option(name)
        return None if spec is None else options.get(spec.field)

    def body(self, prompt: str, image_url: str, options: Mapping[str, Scalar]) -> dict[str, Any]:
        """The exact submit body: only schema properties, each of its type."""
        values: dict[str, Any] = {self.prompt_field: prompt, self.image_field: image_url}
        values.update(self.fixed)
        for spec in self.options:
            if spec.field in options:
                values[spec.field] = spec.accept(options[spec.field])
        return {name: values[name] for name in self.order if name in values}

    def kind(self, options: Mapping[str, Scalar]) -> str:
        """The model and the options that change a render's time: a job's kind."""
        parts = [
            f"{spec.name}={json.dumps(options[spec.field])}"
            for spec in self.options
            if spec.changes_render and spec.field in options
        ]
        return self.model_id + "|" + ",".join(parts)


def read_model(info: ModelInfo) -> VideoModel:
    """The model `GET /v1/models/{id}` describes; ModelUnusable with the reasons."""
    model_id = info.model_id
    try:
        schema = InputSchema.read(info.input_schema)
    except SchemaUnreadable as exc:
        raise ModelUnusable(model_id, [f"RunComfy gave no usable input schema ({exc})"]) from None
    reasons: list[str] = []
    prompt = _prompt_field(schema)
    if prompt is None:
        reasons.append("no property takes a text prompt")
    image = _image_field(schema, exclude=prompt, reasons=reasons)
    options: list[OptionSpec] = []
    fixed: list[tuple[str, Scalar]] = []
    notes: list[str] = []
    for name, prop in schema.properties.items():
        if name in (prompt, image):
            continue
        required = name in schema.required
        option = option_from(name, prop, required=required) if prop.known_type else None
        if option is not None:
            options.append(option)
        elif required:
            default = _primitive(prop.default)
            if default is None:
                reasons.append(f"it requires `{name}`, which the bot cannot fill")
            else:
                fixed.append((name, default))
        else:
            notes.append(f"`{name}` is not offered (the bot sends only what users can pick)")
    if image is None or prompt is None or reasons:
        raise ModelUnusable(model_id, reasons)
    prompt_min, prompt_max = _prompt_length(prompt, schema.properties[prompt], notes)
    # A prompt has one character at least, and never more than the bot's own limit.
    if max(prompt_min, 1) > (MAX_PROMPT_CHARS if prompt_max is None else prompt_max):
        bounds_text = f"at least {prompt_min}" + (
            f", at most {prompt_max}" if prompt_max is not None else " characters"
        )
        raise ModelUnusable(
            model_id, [f"the length of `{prompt}` admits no prompt ({bounds_text})"]
        )
    bounds, unknown = image_bounds(schema.properties[image].validations)
    if not bounds.admits_an_image():
        raise ModelUnusable(model_id, [f"the rules of `{image}` admit no image ({bounds})"])
    notes.extend(f"image rule `{rule}` not understood: left to RunComfy" for rule in unknown)
    return VideoModel(
        model_id=model_id,
        name=display_name(model_id, info.display_name or info.name),
        prompt_field=prompt,
        image_field=image,
        bounds=bounds,
        options=tuple(options),
        fixed=tuple(fixed),
        order=tuple(schema.properties),
        base_price_usd=info.base_price_usd,
        price_unit=info.price_unit,
        prompt_min=prompt_min,
        prompt_max=prompt_max,
        notes=tuple(notes),
        digest=schema_digest(info.input_schema),
    )


def schema_digest(raw: object) -> str:
    """The same for the same schema, whatever its key order: whether it changed."""
    text = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2s(text.encode(), digest_size=8).hexdigest()


def display_name(model_id: str, given: str | None = None) -> str:
    """The model's name as users read it: RunComfy's own, else made from its id
    (`bytedance/seedance-v1.5-pro/image-to-video` -> "Seedance v1.5 pro")."""
    if given and given != model_id:
        return given[:80]
    segments = [s for s in model_id.split("/") if s and s.lower() not in _TASK_SEGMENTS]
    if len(segments) > 1:
        segments = segments[1:]  # the vendor
    words = [s.replace("-", " ").replace("_", " ") for s in segments] or [model_id]
    words[0] = words[0][:1].upper() + words[0][1:]
    return " · ".join(words)[:80]


def _prompt_field(schema: InputSchema) -> str | None:
    texts = [
        name
        for name, prop in schema.properties.items()
        if prop.type == "string" and not prop.enum and "negative" not in name.lower()
    ]
    if "prompt" in texts:
        return "prompt"
    found = [name for name in texts if name.lower().endswith("prompt")]
    found.sort(key=lambda name: name not in schema.required)
    return found[0] if found else None


def _prompt_length(name: str, prop: Property, notes: list[str]) -> tuple[int, int | None]:
    """The whole numbers of characters within the schema's bounds; a negative bound is
    nonsense (no bound), and one past the bot's own limit bounds nothing more."""
    low, high = prop.min_length, prop.max_length
    for word, bound in (("minLength", low), ("maxLength", high)):
        if bound is not None and bound < 0:
            notes.append(f"`{name}` {word} {bound:g} means nothing: ignored")
    prompt_min = math.ceil(low) if low is not None and low > 0 else 0
    prompt_max = math.floor(high) if high is not None and high >= 0 else None
    if prompt_max is not None and prompt_max >= MAX_PROMPT_CHARS:
        prompt_max = None
    return prompt_min, prompt_max


def _image_field(schema: InputSchema, *, exclude: str | None, reasons: list[str]) -> str | None:
    scored: list[tuple[int, str]] = []
    for name, prop in schema.properties.items():
        if name == exclude or prop.type != "string" or prop.enum:
            continue
        score = _image_score(name, prop, required=name in schema.required)
        if score > 0:
            scored.append((score, name))
    if not scored:
        reasons.append(
            "no property takes the input image (looked for " + ", ".join(IMAGE_FIELDS[:4]) + "...)"
        )
        return None
    scored.sort(reverse=True)
    if len(scored) > 1 and scored[0][0] == scored[1][0]:
        reasons.append(f"both `{scored[0][1]}` and `{scored[1][1]}` could take the input image")
        return None
    return scored[0][1]


def _image_score(name: str, prop: Property, *, required: bool) -> int:
    lower = name.lower()
    if _OTHER_IMAGE.search(lower) and lower not in IMAGE_FIELDS:
        return 0
    pixel_rules = any("pixel" in rule.rule or "/" in rule.rule for rule in prop.validations)
    if lower in IMAGE_FIELDS:
        score = 4 + (len(IMAGE_FIELDS) - IMAGE_FIELDS.index(lower)) / 100
    elif "image" in lower or "frame" in lower:
        score = 2
    elif pixel_rules:
        score = 1
    else:
        return 0
    return int(score * 100) + (200 if pixel_rules else 0) + (100 if required else 0)


def _primitive(value: object) -> Scalar | None:
    return value if isinstance(value, str | int | float | bool) else None
