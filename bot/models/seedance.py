"""Seedance 1.5 pro's input, exactly the schema of its model page: nothing else is sent."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from bot.domain import MAX_DURATION, MIN_DURATION, JobOptions, Ratio, Resolution


class SeedanceInput(BaseModel):
    """Exactly the input schema of the model page; nothing outside it is ever sent."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt: str
    first_frame_image_url: str
    resolution: Resolution = "480p"
    ratio: Ratio = "adaptive"
    duration: int = Field(default=5, ge=MIN_DURATION, le=MAX_DURATION)
    generate_audio: bool = True
    camera_fixed: bool = True

    @classmethod
    def from_options(cls, prompt: str, image_url: str, options: JobOptions) -> SeedanceInput:
        return cls(prompt=prompt, first_frame_image_url=image_url, **options.model_dump())
