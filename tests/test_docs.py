"""The operator's pages name what the code has: every setting, metric and subcommand.

A setting added to `Settings` without its row in docs/settings.md and its line in
.env.example, a metric without its row (and labels) in docs/metrics.md, a subcommand
missing from docs/operations.md, or a page that keeps a setting or a metric the code no
longer has fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

from app.cli import build_parser
from bot.config import Settings
from bot.metrics import Metrics

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
# The first cell of a table row, when it is a name in backticks: "| `LOG_LEVEL` |".
FIRST_CELL = re.compile(r"^\| `([A-Za-z][A-Za-z0-9_]*)` \|", re.MULTILINE)


def variables() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


def table_rows(page: str) -> list[list[str]]:
    """Each table row whose first cell is a name in backticks, as its cells."""
    text = (DOCS / page).read_text(encoding="utf-8")
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if FIRST_CELL.match(line.strip())
    ]


def test_every_setting_has_one_row_in_the_settings_page() -> None:
    rows = [cells[0].strip("`") for cells in table_rows("settings.md")]
    assert len(rows) > 30  # the pattern sees the rows (not a vacuous pass)
    assert sorted(variables() - set(rows)) == [], "missing from docs/settings.md"
    assert sorted(set(rows) - variables()) == [], "in docs/settings.md, not in Settings"
    assert len(rows) == len(set(rows)), "a variable has two rows in docs/settings.md"


def test_every_setting_is_in_env_example() -> None:
    text = (REPO / ".env.example").read_text(encoding="utf-8")
    # Set on a line, or named in a comment (the older names).
    missing = sorted(name for name in variables() if not re.search(rf"\b{name}\b", text))
    assert missing == []


def every_metric_once() -> dict[str, set[str]]:
    """Each metric's sample name and its labels, after every metric was set once."""
    metrics = Metrics()
    metrics.job_ended("delivered", "owner/model")
    metrics.delivered("upload", 0.12, "owner/model")
    metrics.delivered("link", None, "owner/model")
    metrics.runcomfy_request("submit", "2xx", 0.1)
    metrics.discord_request("bot_token", 429, "user")
    metrics.set_jobs_by_state({"in_queue": 1})
    metrics.live_trackers.set(1)
    metrics.runcomfy_in_flight_limit.set(16)
    metrics.loop_lag.observe(0.001)
    found: dict[str, set[str]] = {}
    for family in metrics.registry.collect():
        name = family.name + ("_total" if family.type == "counter" else "")
        labels = {label for sample in family.samples for label in sample.labels} - {"le"}
        found[name] = labels
    return found


def test_every_metric_has_its_row_with_its_type_and_labels_in_the_metrics_page() -> None:
    rows = {cells[0].strip("`"): cells for cells in table_rows("metrics.md")}
    metrics = every_metric_once()
    assert len(metrics) > 10
    assert sorted(set(metrics) - set(rows)) == [], "missing from docs/metrics.md"
    assert sorted(set(rows) - set(metrics)) == [], "in docs/metrics.md, not in bot/metrics.py"
    types = {"counter", "gauge", "histogram"}
    for name, labels in metrics.items():
        _, kind, documented, *_ = rows[name]
        assert kind in types, f"{name}: its type"
        named = set(re.findall(r"`(\w+)`", documented))
        assert named == labels, f"{name}: labels {sorted(labels)}, page says {sorted(named)}"


def test_every_subcommand_is_in_the_operations_page() -> None:
    page = (DOCS / "operations.md").read_text(encoding="utf-8")
    # argparse lists each subcommand first on its own help line, indented by four.
    commands = re.findall(r"^    ([a-z][a-z-]+)(?:\s|$)", build_parser().format_help(), re.M)
    assert "migrate-to-postgres" in commands and "run" in commands
    for command in commands:
        assert f"python -m bot {command}" in page, command
