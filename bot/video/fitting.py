"""Fitting a video into Discord's constraints: H.264/AAC MP4 under an upload limit.

`fit` re-encodes (two passes at most, within a time limit); `plan_encode` picks the
frame size and bitrates for a byte budget. Blocking CPU work: `VideoWorkers` runs it
in a process pool.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from pathlib import Path

import av
import av.error

from bot.video.facts import (
    DEFAULT_FPS,
    INLINE_PIXEL_FORMAT,
    VideoFacts,
    VideoUnreadable,
    probe,
)

log = logging.getLogger(__name__)

# What we aim at, of the limit: the MP4 index and rate-control drift need the rest.
SIZE_HEADROOM = 0.92
CONTAINER_BYTES = 16 * 1024
AUDIO_BITRATE = 96_000
LOW_AUDIO_BITRATE = 48_000  # when the budget is tight, sound gives way to picture
# Below this many bits per pixel H.264 smears; a smaller frame at more bits looks better.
MIN_BITS_PER_PIXEL = 0.08
MIN_VIDEO_BITRATE = 100_000  # below this nothing watchable comes out at any size
STEP_DOWN_HEIGHTS = (1080, 720, 480)  # of the short side, as "1080p" means
RETRY_FACTOR = 0.9  # the second pass aims this much below what the first one missed by
X264_PRESET = "veryfast"  # most of x264's quality per bit at a fraction of "medium"'s time


class FitFailure(StrEnum):
    TOO_LONG = "too_long"  # even the smallest frame would need too few bits per second
    OVERSHOOT = "overshoot"  # both passes came out over the limit
    TIMEOUT = "timeout"  # the per-video time limit ran out
    UNREADABLE = "unreadable"  # the source could not be decoded


class FitTimeout(Exception):
    pass


@dataclass(frozen=True)
class FitResult:
    """What `fit` made: the output's facts, or why it could not make one."""

    ok: bool
    failure: FitFailure | None = None
    width: int = 0
    height: int = 0
    video_bitrate: int = 0
    audio_bitrate: int = 0
    size_bytes: int = 0
    passes: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class EncodePlan:
    width: int
    height: int
    video_bitrate: int
    audio_bitrate: int


def plan_encode(
    facts: VideoFacts, limit_bytes: int, *, budget_factor: float = 1.0
) -> EncodePlan | None:
    """Bitrates and frame size that land under `limit_bytes`; None if nothing watchable can."""
    if facts.duration <= 0:
        return None
    total = (limit_bytes * SIZE_HEADROOM - CONTAINER_BYTES) * 8 / facts.duration * budget_factor
    audio = 0
    if facts.audio_codec is not None:
        audio = AUDIO_BITRATE if total > 8 * AUDIO_BITRATE else LOW_AUDIO_BITRATE
    video = int(total - audio)
    if video < MIN_VIDEO_BITRATE:
        return None
    fps = facts.fps or DEFAULT_FPS
    sizes = _ladder(facts.width, facts.height)
    for width, height in sizes:
        if video / (width * height * fps) >= MIN_BITS_PER_PIXEL:
            return EncodePlan(width, height, video, audio)
    width, height = sizes[-1]
    return EncodePlan(width, height, video, audio)


def _ladder(width: int, height: int) -> list[tuple[int, int]]:
    """The source size, then 1080p, 720p, 480p (short side), smaller than the source only."""
    short = min(width, height)
    sizes = [(_even(width), _even(height))]
    for step in STEP_DOWN_HEIGHTS:
        if step < short:
            scale = step / short
            sizes.append((_even(width * scale), _even(height * scale)))
    return sizes


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def fit(
    src: Path, dest: Path, limit_bytes: int, *, timeout_seconds: float | None = None
) -> FitResult:
    """Re-encode `src` to an inline-playable MP4 under `limit_bytes` at `dest`.

    One pass at the planned bitrate; if it lands over the limit, one more aimed
    lower by as much as it missed. Raises nothing for bad input: the result says.
    """
    began = time.monotonic()
    deadline = None if timeout_seconds is None else began + timeout_seconds
    try:
        facts = probe(src)
    except VideoUnreadable:
        return FitResult(ok=False, failure=FitFailure.UNREADABLE)
    budget = 1.0
    plan = None
    size = 0
    for attempt in (1, 2):
        plan = plan_encode(facts, limit_bytes, budget_factor=budget)
        if plan is None:
            return FitResult(ok=False, failure=FitFailure.TOO_LONG, passes=attempt - 1)
        try:
            _encode(src, dest, plan, deadline)
        except FitTimeout:
            return FitResult(ok=False, failure=FitFailure.TIMEOUT, passes=attempt)
        except av.error.FFmpegError as exc:
            log.warning("Re-encoding %s failed: %s", src.name, exc)
            return FitResult(ok=False, failure=FitFailure.UNREADABLE, passes=attempt)
        size = dest.stat().st_size
        log.info(
            "Fit pass %d: %dx%d at %d kb/s -> %d bytes (limit %d)",
            attempt,
            plan.width,
            plan.height,
            plan.video_bitrate // 1000,
            size,
            limit_bytes,
        )
        if size <= limit_bytes:
            return FitResult(
                ok=True,
                width=plan.width,
                height=plan.height,
                video_bitrate=plan.video_bitrate,
                audio_bitrate=plan.audio_bitrate,
                size_bytes=size,
                passes=attempt,
                seconds=time.monotonic() - began,
            )
        budget *= limit_bytes / size * RETRY_FACTOR
    return FitResult(ok=False, failure=FitFailure.OVERSHOOT, size_bytes=size, passes=2)


def _encode(src: Path, dest: Path, plan: EncodePlan, deadline: float | None) -> None:
    with (
        av.open(str(src)) as source,
        av.open(str(dest), "w", format="mp4", options={"movflags": "+faststart"}) as out,
    ):
        in_video = source.streams.video[0]
        in_audio = source.streams.audio[0] if source.streams.audio else None
        fps = in_video.average_rate or Fraction(DEFAULT_FPS)
        out_video = out.add_stream("libx264", rate=fps)
        out_video.width, out_video.height = plan.width, plan.height
        out_video.pix_fmt = INLINE_PIXEL_FORMAT
        out_video.bit_rate = plan.video_bitrate
        # A VBV cap keeps x264's average honest over the short clip: the size is the point.
        out_video.options = {
            "preset": X264_PRESET,
            "maxrate": str(int(plan.video_bitrate * 1.2)),
            "bufsize": str(plan.video_bitrate * 2),
        }
        out_audio = None
        if in_audio is not None and plan.audio_bitrate:
            rate = in_audio.codec_context.sample_rate or 44_100
            layout = "mono" if in_audio.codec_context.channels == 1 else "stereo"
            out_audio = out.add_stream("aac", rate=rate, layout=layout)
            out_audio.bit_rate = plan.audio_bitrate
        streams = [s for s in (in_video, in_audio if out_audio else None) if s is not None]
        index = 0
        try:
            for packet in source.demux(*streams):
                if deadline is not None and time.monotonic() > deadline:
                    raise FitTimeout
                for frame in packet.decode():
                    if isinstance(frame, av.VideoFrame):
                        scaled = frame.reformat(
                            width=plan.width, height=plan.height, format=INLINE_PIXEL_FORMAT
                        )
                        scaled.pts = index
                        scaled.time_base = Fraction(1) / fps
                        index += 1
                        out.mux(out_video.encode(scaled))
                    elif out_audio is not None and isinstance(frame, av.AudioFrame):
                        frame.pts = None
                        out.mux(out_audio.encode(frame))
        except av.error.InvalidDataError:
            log.info("%s ends early; keeping what could be decoded", src.name)
        out.mux(out_video.encode())
        if out_audio is not None:
            out.mux(out_audio.encode())
