"""The JobService harness of tests/bot/jobs, for the delivery tests here."""

from __future__ import annotations

from tests.bot.jobs.harness import harness_factory as _harness_factory

harness_factory = _harness_factory  # the JobService + fake RunComfy fixture, shared
