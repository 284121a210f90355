"""benchmarks/report.py: docs/benchmarks.md from the benchmarks' --json files."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks import report
from benchmarks.common import write_json


def test_one_row_per_benchmark_with_its_targets_and_machine(tmp_path: Path) -> None:
    write_json(
        tmp_path / "live_jobs.json",
        {"delivered": 1000, "lag_p50_s": 1.7, "lag_p99_s": 9.1, "runcomfy_calls_per_job": 14.2},
    )
    page = report.page(tmp_path)
    (row,) = [line for line in page.splitlines() if "`python -m benchmarks.live_jobs`" in line]
    assert "lag p50 1.7 s ✅" in row and "lag p99 9.1 s ❌" in row
    assert "RunComfy calls per job 14.2 ✅" in row
    assert "cores, Python" in row and "UTC" in row  # the machine and the date of the run
    assert "| 1,000 `/animate` at once: the first status message |" in page
    assert page.count("not run") == len(report.BENCHMARKS) - 1


def test_the_transport_comparison_puts_each_run_side_by_side(tmp_path: Path) -> None:
    runs = tmp_path / "transport"
    runs.mkdir()
    for variant, lag in (("old", 1.5), ("new", 5.0), ("lanes", 1.7)):
        for round_ in (1, 2):
            document = {"lag_p50_s": lag, "run": {"load_average": [2.5, 2.0, 1.5]}}
            (runs / f"live_jobs-{variant}-r{round_}.json").write_text(json.dumps(document))
    page = report.page(tmp_path)
    assert "## RunComfy transport: before and after" in page
    (row,) = [
        line
        for line in page.splitlines()
        if line.startswith("| `python -m benchmarks.live_jobs` | lag p50")
    ]
    assert row.count("1.5 s ✅") == 2 and row.count("5.0 s ❌") == 2 and row.count("1.7 s ✅") == 2


def test_each_comparison_gets_its_own_table_in_its_variants_order(tmp_path: Path) -> None:
    runs = tmp_path / "session"
    runs.mkdir()
    for variant, seconds in (("final", 2.1), ("base", 4.5)):
        document = {"all_polled_s": seconds, "run": {"load_average": [1.0, 1.0, 1.0]}}
        (runs / f"restart-{variant}-r1.json").write_text(json.dumps(document))
    page = report.page(tmp_path)
    assert "## RunComfy transport" not in page  # no runs of it: no table
    assert "## This round's start and end" in page
    (row,) = [
        line for line in page.splitlines() if line.startswith("| `python -m benchmarks.restart`")
    ]
    assert row.index("4.5 s ❌") < row.index("2.1 s ✅")  # base first, as declared
