"""Probe, fit and cut videos with PyAV (FFmpeg in the wheel). Discord-free.

`facts` (what a video is, whether Discord plays it inline), `fitting` (re-encoding under
an upload limit), `clips` (Extend's last frame, Join's concatenation), `workers` (the
process pool `fit` runs in). Everything is blocking: callers run it off the event loop.
"""

from bot.video.clips import concat, last_frame, last_frame_png, streams_match
from bot.video.facts import VideoFacts, VideoUnreadable, plays_inline, probe
from bot.video.fitting import EncodePlan, FitFailure, FitResult, FitTimeout, fit, plan_encode
from bot.video.workers import WORKER_NICENESS, VideoWorkers

__all__ = [
    "WORKER_NICENESS",
    "EncodePlan",
    "FitFailure",
    "FitResult",
    "FitTimeout",
    "VideoFacts",
    "VideoUnreadable",
    "VideoWorkers",
    "concat",
    "fit",
    "last_frame",
    "last_frame_png",
    "plan_encode",
    "plays_inline",
    "probe",
    "streams_match",
]
