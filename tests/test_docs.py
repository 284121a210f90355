"""The operator's pages name what the code has: every setting, metric and subcommand.

A setting added to `Settings` without its row in docs/settings.md and its line in
.env.example, a metric without its row (and labels) in docs/metrics.md, a subcommand
missing from docs/operations.md, or a page that keeps a setting or a metric the code no
longer has fails here. So does a README that links a missing page or heading, names a
setting, command or /admin option the code lacks, invites the bot with other
permissions than `check` requires, or quotes a fix or a failure `check` does not print.
And a default, an upper bound or an .env.example value in docs/settings.md, a migration
number in docs/operations.md or a label value in docs/metrics.md other than the code's.
Paths, modules and text keys the pages name: test_docs_names.py.
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


# -- README: the owner's page names only what the code has ------------------------

README = REPO / "README.md"
# [text](target) in Markdown, the target split into a path and an optional #anchor.
LINK = re.compile(r"\]\(([^)\s#]*)(?:#([^)\s]+))?\)")
# Names in backticks that look like settings: `DAILY_SPEND_USD`.
SETTING_NAME = re.compile(r"`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)`")
PLACEHOLDERS = {"APPLICATION_ID"}  # the invite URL's, for the owner to replace


def readme() -> str:
    return README.read_text(encoding="utf-8")


def anchors(page: Path) -> set[str]:
    """GitHub's anchors for a page's headings: lowercase, punctuation dropped, - for spaces."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_every_link_of_the_readme_resolves_to_a_file_and_a_heading() -> None:
    links = LINK.findall(readme())
    local = [(path, anchor) for path, anchor in links if not path.startswith("http")]
    assert len(local) > 20  # the pattern sees the links
    for path, anchor in local:
        page = REPO / path if path else README
        assert page.is_file(), f"README links to {path}, which does not exist"
        if anchor:
            assert anchor in anchors(page), f"README links to {path}#{anchor}: no such heading"


def test_the_readme_links_every_docs_page_and_the_license() -> None:
    linked = {path for path, _ in LINK.findall(readme())}
    pages = {f"docs/{page.name}" for page in DOCS.glob("*.md")}
    assert len(pages) >= 9
    assert sorted(pages - linked) == [], "docs pages the README does not link"
    assert "LICENSE" in linked and "MIT License" in (REPO / "LICENSE").read_text()


def test_every_setting_the_readme_names_exists() -> None:
    named = set(SETTING_NAME.findall(readme())) - PLACEHOLDERS
    assert {"DISCORD_TOKEN", "DAILY_SPEND_USD"} <= named
    assert sorted(named - variables()) == [], "README names settings Settings does not have"


def test_the_invite_url_asks_for_the_permissions_check_requires() -> None:
    from bot.check import OPTIONAL_PERMISSIONS, REQUIRED_PERMISSIONS

    text = " ".join(readme().split())  # a name may wrap across lines
    required = sum(REQUIRED_PERMISSIONS.values())
    with_optional = required | sum(OPTIONAL_PERMISSIONS.values())
    invite = re.search(r"https://discord\.com/oauth2/authorize\?\S*integration_type=0\S*", text)
    assert invite is not None, "the README has no guild invite URL (check's fix points to it)"
    assert f"permissions={required}&" in invite.group()
    assert "scope=bot+applications.commands" in invite.group()
    assert f"`{with_optional}` to add {', '.join(OPTIONAL_PERMISSIONS)}" in text
    for name in REQUIRED_PERMISSIONS:
        assert name in text, f"the README does not name {name}"


def test_every_command_and_admin_option_the_readme_names_exists() -> None:
    from discord import app_commands

    from cogs.admin import Admin

    text = readme()
    sources = "".join(path.read_text() for path in (REPO / "cogs").rglob("*.py"))
    commands = set(re.findall(r'\bname="([a-z-]+)"', sources))
    named = set(re.findall(r"`/([a-z-]+)", text))
    assert {"animate", "history", "admin", "animate-settings"} <= named
    assert sorted(named - commands) == [], "README names commands the cogs do not have"
    admin = {
        c.name: {p.name for p in c.parameters}
        for c in Admin.admin.commands
        if isinstance(c, app_commands.Command)
    }
    rows = re.findall(r"^\| `/admin ([a-z]+)((?: \[[a-z_]+\])*)` \|", text, re.MULTILINE)
    assert sorted(name for name, _ in rows) == sorted(admin), "one README row per /admin command"
    for name, options in rows:
        assert set(re.findall(r"\[([a-z_]+)\]", options)) <= admin[name], name


def test_the_readme_names_the_default_models_options_as_the_bot_offers_them() -> None:
    from cogs.animate.model_options import option_slots
    from tests.models import seedance

    line = next(line for line in readme().splitlines() if "Seedance 1.5 pro `" in line)
    rest = readme().split(line, 1)[1].split("\n")[0]
    named = re.findall(r"`([a-z_]+)`", line + rest)
    assert named == [slot.name for slot in option_slots([seedance()])]


def test_every_fix_in_the_troubleshooting_table_is_what_check_prints() -> None:
    section = readme().split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    # One Python string per line of bot/check.py, its implicitly joined literals joined.
    source = re.sub(r'"\s*\n\s*(f?)"', "", (REPO / "bot" / "check.py").read_text())
    fixes = [
        cells[2].split("`")[1]
        for cells in (row.strip("|").split("|") for row in section.splitlines() if row[:2] == "| ")
        if len(cells) == 3 and cells[2].strip().startswith("`")
    ]
    assert len(fixes) >= 10
    for fix in fixes:
        assert fix in source, f"check never says: {fix}"


def test_every_failure_in_the_troubleshooting_table_is_what_check_prints() -> None:
    from bot.check import OPTIONAL_PERMISSIONS, REQUIRED_PERMISSIONS

    section = readme().split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    source = re.sub(r'"\s*\n\s*(f?)"', "", (REPO / "bot" / "check.py").read_text())
    rows = [row.strip("|").split("|") for row in section.splitlines() if row[:2] == "| "]
    # The settings line is config's message, its names joined at run time.
    said = [
        snippet
        for cells in rows
        if len(cells) == 3 and cells[0].strip() != "settings"
        for snippet in re.findall(r"`([^`]+)`", cells[1])
    ]
    assert len(said) >= 10
    names = [*REQUIRED_PERMISSIONS, *OPTIONAL_PERMISSIONS, "(or another permission)"]
    for snippet in said:
        for name in names:  # filled in at run time
            snippet = snippet.replace(name, "…")
        for part in snippet.replace("!", "").split("…"):
            part = part.strip(" ,:")
            assert part in source, f"check never says: {part}"


def test_the_readme_stays_a_five_minute_read() -> None:
    assert len(readme().splitlines()) <= 230


def test_the_readmes_docker_run_restarts_and_outlasts_its_stop() -> None:
    # A crash or a reboot must not end the bot for good; docker stop's 10 s are too few.
    runs = [m.group(0) for m in re.finditer(r"docker run -d[^`]*?animate-bot", readme())]
    assert runs, "the README has no `docker run -d`"
    for run in runs:
        assert "--restart unless-stopped" in run and "--stop-timeout" in run


def test_the_readme_says_from_what_size_small_images_are_enlarged() -> None:
    from bot.images.bounds import MIN_FITTABLE_SIDE

    text = " ".join(readme().split())
    assert f"enlarges small ones whose shorter side is at least {MIN_FITTABLE_SIDE} px" in text


# -- the reference pages' figures are the code's ----------------------------------


def documented_defaults() -> dict[str, str]:
    """Each setting's Default cell in docs/settings.md, before its older names."""
    text = (DOCS / "settings.md").read_text(encoding="utf-8").split("## Older names")[0]
    return {
        m.group(1): m.group(2).strip()
        for m in re.finditer(r"^\| `([A-Z_]+)` \| ([^|]+) \|", text, re.MULTILINE)
    }


def test_every_default_in_the_settings_page_is_the_code_s() -> None:
    from bot.config import DEFAULT_MODEL_ID, DEFAULT_QUEUE_TIMEOUT

    # Defaults the code computes rather than declares.
    effective: dict[str, object] = {
        "RUNCOMFY_MODEL_IDS": DEFAULT_MODEL_ID,
        "QUEUE_TIMEOUT_SECONDS": DEFAULT_QUEUE_TIMEOUT,
    }
    cells = documented_defaults()
    assert len(cells) > 30
    for name, cell in cells.items():
        field = Settings.model_fields[name.lower()]
        if cell == "none":
            assert field.is_required(), f"{name}: the page says required"
            continue
        assert not field.is_required(), f"{name} is required; the page gives a default"
        if field.default_factory is not None and name not in effective:
            if cell.startswith("empty"):
                assert field.get_default(call_default_factory=True) == [], name
            continue  # computed at start (PROCESS_ID)
        default = effective.get(name, field.default)
        if cell.startswith("empty"):
            assert default is None, f"{name}: the page says empty, the code {default!r}"
            continue
        quoted = cell.split("`")[1]
        if isinstance(default, bool):
            assert quoted == str(default).lower(), name
        elif isinstance(default, int | float):
            assert float(quoted) == default, f"{name}: the page says {quoted}, the code {default}"
        else:
            assert quoted == str(default), f"{name}: the page says {quoted}, the code {default}"


def test_every_value_env_example_sets_is_the_documented_default() -> None:
    # .env.example is copied to .env: a value there that is not the default changes the bot.
    text = (REPO / ".env.example").read_text(encoding="utf-8")
    cells = documented_defaults()
    set_lines = re.findall(r"^([A-Z_]+)=(\S+)$", text, re.MULTILINE)
    assert len(set_lines) > 20
    for name, value in set_lines:
        assert cells[name].startswith("`"), f".env.example sets {name}, whose default is empty"
        assert cells[name].split("`")[1] == value, f".env.example: {name}={value}"


def test_every_upper_bound_of_a_setting_is_on_the_settings_page() -> None:
    from annotated_types import Le

    rows = {cells[0].strip("`"): " | ".join(cells) for cells in table_rows("settings.md")}
    sharing: dict[object, list[str]] = {}  # settings with one bound (the quotas) say it once
    for name, field in Settings.model_fields.items():
        for rule in field.metadata:
            if isinstance(rule, Le):
                sharing.setdefault(rule.le, []).append(name.upper())
    assert len(sharing) >= 3
    for bound, names in sharing.items():
        said = " ".join(rows[name] for name in names)
        assert re.search(rf"\b(?:{bound:,}|{bound})\b", said), f"{names}: at most {bound}"


def test_the_checks_example_names_the_latest_migration() -> None:
    from bot.store.migrations import LATEST_MIGRATION

    page = (DOCS / "operations.md").read_text(encoding="utf-8")
    named = re.findall(r"\(migration (\d+)\)", page)
    assert named and set(named) == {str(LATEST_MIGRATION)}


def test_the_metrics_page_lists_each_label_s_values_as_the_code_has_them() -> None:
    from typing import get_args

    from bot.domain import JobStatus
    from bot.metrics import ACTIVE_STATES, DeliveryKind, RunComfyEndpoint

    rows = {cells[0].strip("`"): cells[2] for cells in table_rows("metrics.md")}

    def values(metric: str, label: str) -> list[str]:
        after = rows[metric].split(f"`{label}`: ", 1)[1].split(";")[0]
        return [v.strip() for v in after.split(",")]

    assert values("animate_jobs", "state") == list(ACTIVE_STATES)
    final = [s.value for s in JobStatus if s.value not in ACTIVE_STATES]
    assert values("animate_jobs_ended_total", "outcome") == final
    assert values("animate_deliveries_total", "kind") == list(get_args(DeliveryKind))
    assert values("animate_runcomfy_requests_total", "endpoint") == list(get_args(RunComfyEndpoint))
