"""Extend and Join: a video's last frame, and two clips as one (when their streams match)."""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path
from typing import Any

import av
import av.error
from PIL import Image

from bot.video.facts import VideoFacts, VideoUnreadable, duration_of, probe

log = logging.getLogger(__name__)


def last_frame(path: Path) -> Image.Image:
    """The final picture of the video, as RGB."""
    try:
        with av.open(str(path)) as container:
            video = container.streams.video[0]
            # Seek near the end (to the keyframe before it) instead of decoding it all.
            duration = duration_of(container, video)
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
