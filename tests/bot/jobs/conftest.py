"""The JobService harness, as a fixture for every test here."""

from tests.bot.jobs.harness import harness_factory as _harness_factory

harness_factory = _harness_factory  # the JobService + fake RunComfy fixture, shared
