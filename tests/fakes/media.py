"""Tiny real MP4s made at test time with PyAV, for the fakes and the video tests.

Each frame is a flat colour that changes with time (so a test can tell the last
frame from the others) or random noise (so a clip is large for its length).
Audio, when asked for, is a sine tone encoded as AAC. Nothing is stored in the repo.
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import av
from PIL import Image

FPS = 24
SAMPLE_RATE = 44_100
Content = Literal["colour", "noise"]


@dataclass(frozen=True)
class Clip:
    """What to generate; the defaults give a small, inline-playable H.264 + AAC MP4."""

    codec: str = "libx264"
    pix_fmt: str = "yuv420p"
    width: int = 320
    height: int = 240
    seconds: float = 1.0
    audio: bool = True
    content: Content = "colour"
    bit_rate: int | None = None  # None: the encoder's default quality
    faststart: bool = True
    preset: str | None = None  # x264's speed/quality trade-off; "ultrafast" for big clips


# The test media the issue names; HEVC comes from the wheel's libx265.
H264_FITS = Clip()
H264_OVER_LIMIT = Clip(content="noise", seconds=2.0, bit_rate=3_000_000)
H265 = Clip(codec="libx265")
NO_AUDIO = Clip(audio=False)
ODD_PIXELS = Clip(pix_fmt="yuv444p")
NOT_FASTSTART = Clip(faststart=False)


def colour_at(index: int, frames: int) -> tuple[int, int, int]:
    """The flat colour of frame `index` of `frames`: red rises, blue falls."""
    t = index / max(1, frames - 1)
    return (int(30 + 200 * t), 120, int(220 - 200 * t))


def make_clip(path: Path, clip: Clip = H264_FITS) -> Path:
    frames = max(1, round(clip.seconds * FPS))
    options = {"movflags": "+faststart"} if clip.faststart else {}
    with av.open(str(path), "w", format="mp4", options=options) as out:
        video = out.add_stream(clip.codec, rate=FPS)
        video.width, video.height = clip.width, clip.height
        video.pix_fmt = clip.pix_fmt
        options: dict[str, str] = {}
        if clip.bit_rate is not None:
            video.bit_rate = clip.bit_rate
            # A VBV cap, so noise lands near the asked size instead of far above it.
            options.update(maxrate=str(clip.bit_rate), bufsize=str(clip.bit_rate))
        if clip.codec == "libx265":
            options = {"x265-params": "log-level=error"}
        elif clip.preset is not None:
            options["preset"] = clip.preset
        video.options = options
        audio = out.add_stream("aac", rate=SAMPLE_RATE, layout="mono") if clip.audio else None
        for index in range(frames):
            image = _frame_image(clip, index, frames)
            frame = av.VideoFrame.from_image(image).reformat(format=clip.pix_fmt)
            frame.pts = index
            out.mux(video.encode(frame))
        out.mux(video.encode())
        if audio is not None:
            _write_tone(out, audio, clip.seconds)
    return path


def clip_bytes(tmp: Path, clip: Clip = H264_FITS, *, name: str = "clip.mp4") -> bytes:
    return make_clip(tmp / name, clip).read_bytes()


def truncated(data: bytes, keep: float = 0.6) -> bytes:
    """A download cut short: the header (faststart) survives, the end of the media does not."""
    return data[: int(len(data) * keep)]


def _frame_image(clip: Clip, index: int, frames: int) -> Image.Image:
    size = (clip.width, clip.height)
    if clip.content == "noise":
        return Image.frombytes("RGB", size, os.urandom(clip.width * clip.height * 3))
    return Image.new("RGB", size, colour_at(index, frames))


def _write_tone(out: av.container.OutputContainer, stream: av.AudioStream, seconds: float) -> None:
    samples_total = int(seconds * SAMPLE_RATE)
    per_frame = 1024
    for start in range(0, samples_total, per_frame):
        count = min(per_frame, samples_total - start)
        frame = av.AudioFrame(format="fltp", layout="mono", samples=count)
        tone = (0.2 * math.sin(2 * math.pi * 440 * (start + i) / SAMPLE_RATE) for i in range(count))
        frame.planes[0].update(struct.pack(f"{count}f", *tone))
        frame.sample_rate = SAMPLE_RATE
        frame.pts = start
        out.mux(stream.encode(frame))
    out.mux(stream.encode())
