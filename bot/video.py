"""Probe, fit and cut videos with PyAV (FFmpeg in the wheel). Discord-free and pure.

Discord plays an attachment inline only when it is an MP4 with H.264 video in
yuv420p, AAC audio (or none) and the index (`moov`) before the media (`faststart`);
anything else shows as a download. Servers refuse files over their upload limit
(10 MiB without boosts). `fit` re-encodes a video into both constraints.

Everything here is blocking CPU work: callers run it off the event loop, `fit`
in a process pool (`VideoWorkers`), the cheap ones (`probe`, `last_frame`) in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import multiprocessing
import os
import struct
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error
from PIL import Image

log = logging.getLogger(__name__)

INLINE_VIDEO_CODEC = "h264"
INLINE_PIXEL_FORMAT = "yuv420p"
INLINE_AUDIO_CODECS = frozenset({"aac"})
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
DEFAULT_FPS = 24
X264_PRESET = "veryfast"  # most of x264's quality per bit at a fraction of "medium"'s time
POOL_GRACE_SECONDS = 10.0
# Workers yield the CPU to the bot process: acks and tracking beat a faster encode.
WORKER_NICENESS = 10


class VideoUnreadable(Exception):
    """The file is not a video PyAV can open (no video stream, not a container)."""


class FitFailure(StrEnum):
    TOO_LONG = "too_long"  # even the smallest frame would need too few bits per second
    OVERSHOOT = "overshoot"  # both passes came out over the limit
    TIMEOUT = "timeout"  # the per-video time limit ran out
    UNREADABLE = "unreadable"  # the source could not be decoded


class FitTimeout(Exception):
    pass


@dataclass(frozen=True)
class VideoFacts:
    container: str  # FFmpeg's demuxer names, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    video_codec: str
    pixel_format: str | None
    width: int
    height: int
    duration: float  # seconds
    bitrate: int  # bits per second, the whole file
    audio_codec: str | None
    faststart: bool  # `moov` before `mdat`: the player can start before the end arrives
    size_bytes: int
    complete: bool  # every sample the index lists is inside the file
    fps: float

    @property
    def is_mp4(self) -> bool:
        return "mp4" in self.container.split(",")


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


# -- probe ---------------------------------------------------------------------


def probe(path: Path) -> VideoFacts:
    """Container, codecs, size, duration, bitrate, faststart and completeness of a file."""
    size = path.stat().st_size
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoUnreadable("no video stream")
            video = container.streams.video[0]
            audio = container.streams.audio[0] if container.streams.audio else None
            ctx = video.codec_context
            duration = _duration(container, video)
            listed = video.frames
            complete, packets = _demux_all(container, video)
            fps = float(video.average_rate) if video.average_rate else DEFAULT_FPS
            return VideoFacts(
                container=container.format.name,
                video_codec=ctx.name,
                pixel_format=ctx.pix_fmt,
                width=ctx.width,
                height=ctx.height,
                duration=duration,
                bitrate=int(size * 8 / duration) if duration > 0 else 0,
                audio_codec=audio.codec_context.name if audio is not None else None,
                faststart=_moov_first(path),
                size_bytes=size,
                complete=complete and (listed == 0 or packets >= listed),
                fps=fps,
            )
    except av.error.FFmpegError as exc:
        raise VideoUnreadable(str(exc)) from None


def plays_inline(facts: VideoFacts) -> bool:
    """Would Discord show a player for this file (size aside)?"""
    return (
        facts.is_mp4
        and facts.video_codec == INLINE_VIDEO_CODEC
        and facts.pixel_format == INLINE_PIXEL_FORMAT
        and (facts.audio_codec is None or facts.audio_codec in INLINE_AUDIO_CODECS)
        and facts.faststart
        and facts.complete
    )


def _duration(container: Any, video: Any) -> float:
    if video.duration is not None and video.time_base is not None:
        return float(video.duration * video.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0


def _demux_all(container: Any, video: Any) -> tuple[bool, int]:
    """Read every video packet (no decoding: cheap); False if the file ends early."""
    packets = 0
    try:
        for packet in container.demux(video):
            if packet.size:
                packets += 1
    except av.error.FFmpegError:
        return False, packets
    return True, packets


def _moov_first(path: Path) -> bool:
    """Walk the top-level MP4 boxes: is the index (`moov`) before the media (`mdat`)?"""
    with path.open("rb") as file:
        offset = 0
        while True:
            file.seek(offset)
            header = file.read(16)
            if len(header) < 8:
                return False
            size, kind = struct.unpack(">I4s", header[:8])
            if size == 1 and len(header) == 16:
                size = struct.unpack(">Q", header[8:16])[0]
            if kind == b"moov":
                return True
            if kind == b"mdat" or size < 8:
                return False
            offset += size


# -- fit -----------------------------------------------------------------------


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


# -- Extend and Join -----------------------------------------------------------


def last_frame(path: Path) -> Image.Image:
    """The final picture of the video, as RGB."""
    try:
        with av.open(str(path)) as container:
            video = container.streams.video[0]
            # Seek near the end (to the keyframe before it) instead of decoding it all.
            duration = _duration(container, video)
            if duration > 1 and video.time_base is not None:
                target = int((duration - 1) / video.time_base)
                with contextlib.suppress(av.error.FFmpegError):
                    container.seek(target, stream=video, backward=True)
            last = None
            with contextlib.suppress(av.error.InvalidDataError):
                for frame in container.decode(video):
                    last = frame
            if last is None:
                raise VideoUnreadable("no frame could be decoded")
            return last.to_image().convert("RGB")
    except (av.error.FFmpegError, IndexError) as exc:
        raise VideoUnreadable(str(exc)) from None


def last_frame_png(path: Path) -> bytes:
    """The final picture as PNG bytes (lossless: the next job starts from exactly it)."""
    out = io.BytesIO()
    last_frame(path).save(out, format="PNG")
    return out.getvalue()


def streams_match(a: VideoFacts, b: VideoFacts) -> bool:
    """Can two clips be joined by copying their packets (same codecs and frame)?"""
    return (
        a.video_codec == b.video_codec
        and a.pixel_format == b.pixel_format
        and (a.width, a.height) == (b.width, b.height)
        and a.audio_codec == b.audio_codec
        and round(a.fps, 3) == round(b.fps, 3)
    )


def concat(a: Path, b: Path, dest: Path) -> bool:
    """Join two clips into `dest` by stream copy; False (nothing written) if they differ."""
    if not streams_match(probe(a), probe(b)):
        return False
    with av.open(str(dest), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        outputs: dict[str, Any] = {}
        offsets: dict[str, float] = {"video": 0.0, "audio": 0.0}
        for part in (a, b):
            with av.open(str(part)) as source:
                ends = dict(offsets)
                shifts: dict[str, int] = {}
                for stream in (*source.streams.video[:1], *source.streams.audio[:1]):
                    if stream.type not in outputs:
                        outputs[stream.type] = out.add_stream_from_template(stream)
                for packet in source.demux(*source.streams.video[:1], *source.streams.audio[:1]):
                    if packet.dts is None or packet.stream.time_base is None:
                        continue  # the demuxer's end-of-stream markers
                    kind = packet.stream.type
                    base = packet.stream.time_base
                    # Each stream of this clip starts where the previous clip ended
                    # (its first dts may be negative: encoder delay).
                    shift = shifts.setdefault(kind, int(offsets[kind] / base) - packet.dts)
                    packet.pts = None if packet.pts is None else packet.pts + shift
                    packet.dts += shift
                    end = float((packet.dts + (packet.duration or 0)) * base)
                    ends[kind] = max(ends[kind], end)
                    packet.stream = outputs[kind]
                    out.mux(packet)
                # The next clip starts where the longer stream of this one ended.
                offsets = dict.fromkeys(offsets, max(ends.values()))
    return True


# -- the pool ------------------------------------------------------------------


class VideoWorkers:
    """A few worker processes for `fit`, so encoding never blocks the event loop.

    At most `workers` videos encode at once (the rest wait their turn, off the
    clock); each gets `timeout_seconds`, enforced inside the worker between
    packets, with a grace period here in case a worker hangs inside FFmpeg.
    """

    def __init__(self, workers: int, timeout_seconds: float) -> None:
        self.workers = workers
        self.timeout_seconds = timeout_seconds
        self._slots = asyncio.Semaphore(workers)
        self._pool: ProcessPoolExecutor | None = None

    async def fit(self, src: Path, dest: Path, limit_bytes: int) -> FitResult:
        async with self._slots:
            if self._pool is None:
                # spawn, not fork: the bot has threads (aiosqlite, to_thread) a fork would copy.
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(
                    self.workers, mp_context=context, initializer=_lower_priority
                )
            loop = asyncio.get_running_loop()
            call = loop.run_in_executor(
                self._pool, _fit_in_worker, str(src), str(dest), limit_bytes, self.timeout_seconds
            )
            try:
                return await asyncio.wait_for(call, self.timeout_seconds + POOL_GRACE_SECONDS)
            except TimeoutError:
                log.warning("Fitting %s did not finish in time", src.name)
                return FitResult(ok=False, failure=FitFailure.TIMEOUT)
            except BrokenProcessPool:
                # A worker died (killed, out of memory): the next video gets a fresh pool.
                log.error("A video worker died while fitting %s", src.name)
                self._pool = None
                return FitResult(ok=False, failure=FitFailure.UNREADABLE)

    def close(self) -> None:
        """Stop the workers now, mid-encode too: the job stays `completed` and a restart
        fits it again, which beats holding the shutdown for minutes."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # The executor has no public way to stop a running call; its processes do.
        processes = list(getattr(pool, "_processes", {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        pool.shutdown(wait=True)


def _lower_priority() -> None:
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)


def _fit_in_worker(src: str, dest: str, limit_bytes: int, timeout_seconds: float) -> FitResult:
    return fit(Path(src), Path(dest), limit_bytes, timeout_seconds=timeout_seconds)
