"""The copy of a new job's input image that its status message hosts.

Hosted, it is the status embed's thumbnail and what "Animate again" reads later. An image
the bot made (fitted, or a video's last frame) has no public URL but that copy, so
RunComfy fetches it from there, and a job cannot go on without it; an image used as sent
is fetched from where its author sent it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.images.fitting import PreparedImage


@dataclass(frozen=True)
class InputCopy:
    filename: str
    data: bytes | None  # what the status message attaches; None: over the upload limit
    sole_copy: bool  # the bot made these bytes: no other public URL has them

    @property
    def missing(self) -> bool:
        """The only copy does not fit the upload limit: RunComfy would have nothing to fetch."""
        return self.sole_copy and self.data is None

    def fetched_from(self, hosted_url: str | None, source_url: str) -> str:
        """What RunComfy fetches: the hosted copy when it is the only one, else the source."""
        return hosted_url if self.sole_copy and hosted_url else source_url


def input_copy(
    job_id: int, prepared: PreparedImage, original: bytes, *, upload_limit: int
) -> InputCopy:
    """Job `job_id`'s input as its status message may host it, under `upload_limit` bytes."""
    data = prepared.data if prepared.data is not None else original
    return InputCopy(
        filename=f"input-{job_id}.{prepared.facts.format.lower()}",
        data=data if len(data) <= upload_limit else None,
        sole_copy=prepared.data is not None,
    )
