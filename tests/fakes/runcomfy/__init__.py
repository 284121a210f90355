"""A loopback fake of RunComfy's Model API, following shared/docs/runcomfy-api.md.

A real aiohttp server on 127.0.0.1: the real httpx client talks to it over
TCP. Jobs follow scripted timelines (time based, or moved by hand), faults
are injected per endpoint, and every request is recorded for assertions.

Run it alone: `python -m tests.fakes.runcomfy --port 8765 --token xyz`.
"""

from tests.fakes.runcomfy.jobs import BILLED, FakeJob, HostedModel, Timeline, seedance_bill
from tests.fakes.runcomfy.records import Endpoint, Recorded
from tests.fakes.runcomfy.server import FakeRunComfy

__all__ = [
    "BILLED",
    "Endpoint",
    "FakeJob",
    "FakeRunComfy",
    "HostedModel",
    "Recorded",
    "Timeline",
    "seedance_bill",
]
