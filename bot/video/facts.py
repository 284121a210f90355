"""What a video is, read with PyAV (FFmpeg in the wheel): the facts the bot decides by.

Discord plays an attachment inline only when it is an MP4 with H.264 video in
yuv420p, AAC audio (or none) and the index (`moov`) before the media (`faststart`);
anything else shows as a download. Blocking: callers run it in a thread.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import av.error

log = logging.getLogger(__name__)

INLINE_VIDEO_CODEC = "h264"
INLINE_PIXEL_FORMAT = "yuv420p"
INLINE_AUDIO_CODECS = frozenset({"aac"})
DEFAULT_FPS = 24  # when a stream does not say its frame rate


class VideoUnreadable(Exception):
    """The file is not a video PyAV can open (no video stream, not a container)."""


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
            duration = duration_of(container, video)
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


def duration_of(container: Any, video: Any) -> float:
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
