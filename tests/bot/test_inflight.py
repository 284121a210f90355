"""The in-flight limit for RunComfy: Little's law on the smallest recent round trip."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Container

import pytest
from pydantic import SecretStr

from bot.inflight import MIN_SAMPLES, WINDOW_SECONDS, InFlightSizer, Lateness
from bot.runcomfy import RunComfyClient, make_http_client
from bot.runcomfy.client import BASE_IN_FLIGHT
from tests.fakes.runcomfy import FakeRunComfy, Timeline


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def sized(sizer: InFlightSizer, rtt: float, times: int = MIN_SAMPLES, **kw: float) -> int:
    """The limit after `times` round trips of `rtt` seconds."""
    for _ in range(times):
        sizer.observe(rtt, **kw)
    return sizer.limit


def test_a_near_runcomfy_keeps_the_base_and_a_far_one_gets_rate_times_rtt() -> None:
    sizer = InFlightSizer(400, floor=16, ceiling=64, clock=Clock())
    assert sizer.limit == 16
    assert sized(sizer, 0.002) == 16  # 0.8 in flight would do: the base stays
    assert sized(sizer, 0.150) == 16  # not the smallest: changes nothing
    far = InFlightSizer(400, floor=16, ceiling=64, clock=Clock())
    assert sized(far, 0.150) == 60
    assert far.observe(0.120) == 48  # a smaller round trip is the distance
    assert far.observe(0.500) is None  # a queue somewhere, not the distance
    assert sized(InFlightSizer(400, floor=16, ceiling=32, clock=Clock()), 0.3) == 32


def test_the_first_round_trips_move_nothing() -> None:
    # They open connections (the very first took 40 ms over loopback, in a burst).
    sizer = InFlightSizer(400, floor=16, ceiling=64, clock=Clock())
    assert sized(sizer, 0.150, times=MIN_SAMPLES - 1) == 16 and sizer.base_rtt is None
    assert sizer.observe(0.150) == 60


def test_the_round_trip_is_forgotten_after_a_minute() -> None:
    clock = Clock()
    sizer = InFlightSizer(400, floor=16, ceiling=64, clock=clock)
    assert sized(sizer, 0.05) == 20
    clock.now += WINDOW_SECONDS / 2
    assert sized(sizer, 0.15) == 20  # the 50 ms of half a minute ago still counts
    clock.now += WINDOW_SECONDS / 2 + 1
    assert sized(sizer, 0.15) == 60  # RunComfy moved away (or our route did)
    clock.now += WINDOW_SECONDS + 1
    assert sized(sizer, 0.002) == 16


def test_a_round_trip_measured_while_our_loop_ran_late_is_not_the_distance() -> None:
    sizer = InFlightSizer(800, floor=16, ceiling=64, clock=Clock())
    assert sized(sizer, 0.047, lateness=0.02) == 16  # our own queue, not RunComfy's
    assert sizer.base_rtt is None
    assert sized(sizer, 0.047, lateness=0.002) == 38


async def test_lateness_sees_a_blocked_loop_and_stops_when_idle() -> None:
    lateness = Lateness(period=0.02)
    lateness.watch()
    await asyncio.sleep(0.005)
    time.sleep(0.2)  # noqa: ASYNC251 (on purpose: hogging the loop, as 1,000 answers do)
    await asyncio.sleep(0.001)  # the late look runs, not the one after
    peak = lateness.last
    assert peak >= 0.15
    for _ in range(50):  # bounded: no request for a period, no timer left
        if lateness._handle is None:
            break
        await asyncio.sleep(0.02)
    assert lateness._handle is None
    assert lateness.last < peak  # and the peak faded as it looked on


def test_an_operator_ceiling_under_the_base_wins() -> None:
    sizer = InFlightSizer(400, floor=16, ceiling=4, clock=Clock())
    assert sizer.limit == 4 and sizer.observe(1.0) is None


@pytest.mark.parametrize(
    ("latency", "rate", "limits"), [(0.02, 100, (BASE_IN_FLIGHT,)), (0.2, 300, range(55, 65))]
)
async def test_a_far_runcomfy_gets_more_requests_in_flight(
    latency: float, rate: float, limits: Container[int]
) -> None:
    # 16 at once carried ~107 requests/s to a RunComfy 150 ms away: 1,000 live jobs'
    # polls queued. Far away, rate x round trip go at once; near, no more than before
    # (20 ms x 100/s is 2; a loaded test machine stretches round trips, not to 160 ms).
    async with FakeRunComfy(token="t") as fake:
        fake.script(Timeline(manual=True))
        fake.latency = latency
        async with make_http_client(fake.base_url, SecretStr("t"), 5.0) as http:
            client = RunComfyClient(http, requests_per_second=rate)
            # The first MIN_SAMPLES learn the distance, 16 at a time; the rest use it.
            await asyncio.gather(*(client.model(fake.model_id) for _ in range(240)))
    assert client.in_flight_limit in limits
    assert fake.peak_in_flight <= max(limits)
    if latency >= 0.2:
        assert fake.peak_in_flight > BASE_IN_FLIGHT  # they did go out together
