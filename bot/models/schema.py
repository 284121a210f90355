"""A model's own description of its input, as RunComfy publishes it (`input_schema`).

The shape of the seed page's schema: `type: object`, `required`, `properties`, each with
`title`, `description`, `type` (`string`, `integer`, `boolean`, and the non-standard
`float`), and maybe `enum`, `default` (possibly null), `minimum`, `maximum`, on text
`minLength`/`maxLength`, and on image
fields `validations` (`{validation_rule, validation_value, validation_error}`).

Read leniently, like every RunComfy answer: unknown keys are ignored, and a part that
cannot be read is left out with a note (`InputSchema.notes`) rather than failing the
whole model. What the bot makes of it is `bot.models.model`'s business.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.domain import Scalar

log = logging.getLogger(__name__)

# The schema's own type words, and the non-standard `float` some models use.
TYPES = frozenset({"string", "integer", "boolean", "number", "float"})


class SchemaUnreadable(ValueError):
    """The answer carries no input schema the bot can read."""


class Validation(BaseModel):
    """One rule on an image field, e.g. `width_pixels<` 6000 (read literally)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    rule: str = Field(alias="validation_rule")
    value: float = Field(alias="validation_value")
    error: str | None = Field(default=None, alias="validation_error")

    @field_validator("rule", mode="before")
    @classmethod
    def _compact(cls, value: object) -> object:
        return "".join(value.split()).lower() if isinstance(value, str) else value


class Property(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    title: str = ""
    description: str = ""
    type: str = "string"
    enum: tuple[Scalar, ...] | None = None
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    # JSON Schema's length bounds on a string (the prompt's), as written; read by model.py.
    min_length: float | None = Field(default=None, alias="minLength")
    max_length: float | None = Field(default=None, alias="maxLength")
    validations: tuple[Validation, ...] = ()

    @field_validator("title", "description", mode="before")
    @classmethod
    def _text(cls, value: object) -> object:
        return "" if value is None else value

    @field_validator("type", mode="before")
    @classmethod
    def _type_word(cls, value: object) -> object:
        # JSON Schema allows a list of types (["integer", "null"]): the first real one.
        if isinstance(value, list):
            value = next((v for v in value if v != "null"), "string")
        return str(value).strip().lower() if value is not None else "string"

    @field_validator("enum", mode="before")
    @classmethod
    def _choices(cls, value: object) -> object:
        if value is None:
            return None
        if not isinstance(value, list | tuple):
            return None
        kept = [v for v in value if isinstance(v, str | int | float | bool)]
        return tuple(kept) or None

    @field_validator("minimum", "maximum", "min_length", "max_length", mode="before")
    @classmethod
    def _bound(cls, value: object) -> object:
        # NaN or infinity (JSON's 1e999) bound nothing a user can pick: no bound.
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return value if math.isfinite(value) else None

    @field_validator("validations", mode="before")
    @classmethod
    def _readable_rules(cls, value: object) -> object:
        if not isinstance(value, list | tuple):
            return ()
        readable = []
        for item in value:
            try:
                readable.append(Validation.model_validate(item))
            except ValidationError:
                log.warning("Unreadable validation rule ignored: %.200r", item)
        return tuple(readable)

    @property
    def known_type(self) -> bool:
        return self.type in TYPES


class InputSchema(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    required: tuple[str, ...] = ()
    properties: dict[str, Property]

    @field_validator("required", mode="before")
    @classmethod
    def _names(cls, value: object) -> object:
        if not isinstance(value, list | tuple):
            return ()
        return tuple(str(v) for v in value if isinstance(v, str))

    @classmethod
    def read(cls, raw: object) -> InputSchema:
        """The schema in `raw` (the `input_schema` of a model's answer); SchemaUnreadable."""
        if not isinstance(raw, dict) or not isinstance(raw.get("properties"), dict):
            raise SchemaUnreadable("no input_schema with properties")
        properties = {}
        for name, spec in raw["properties"].items():
            if not isinstance(spec, dict):
                log.warning("Schema property %r is not an object; ignored", name)
                continue
            try:
                properties[str(name)] = Property.model_validate(spec)
            except ValidationError as exc:
                log.warning("Schema property %r is unreadable (%d problems); ignored", name,
                            exc.error_count())  # fmt: skip
        if not properties:
            raise SchemaUnreadable("the input_schema lists no readable property")
        return cls(required=raw.get("required") or (), properties=properties)
