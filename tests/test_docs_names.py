"""Every page names only what exists: paths, modules on the architecture map, catalog keys.

A page that names a file or folder the repository lacks, a module of app/, bot/ or cogs/
missing from docs/architecture.md (or a module there where the map says it is not), or
a text key no catalog has, fails here. The pages' tables are checked in test_docs.py.
"""

from __future__ import annotations

import re

from tests.test_docs import DOCS, README, REPO

PAGES = [README, *sorted(p for p in DOCS.glob("*.md") if p.name != "benchmarks.md")]
# A repository path in backticks: `bot/images/budget.py`, `tests/reliability/`, `compose.yaml`.
REPO_PATH = re.compile(
    r"`((?:app|bot|cogs|tests|benchmarks|docs|\.ci)/[\w./*<>-]*|[\w.-]+\.(?:py|yaml|toml))`"
)


def test_every_path_a_page_names_exists() -> None:
    named = 0
    for page in PAGES:
        for path in REPO_PATH.findall(page.read_text(encoding="utf-8")):
            if "<" in path:  # a pattern for the reader to fill: bot/locales/<language>
                path = path.split("<")[0]
            if "/" not in path:  # a bare module name: somewhere in the code or the tests
                found = any(REPO.glob(f"**/{path}"))
            else:
                found = any(REPO.glob(path)) if "*" in path else (REPO / path).exists()
            assert found, f"{page.name} names {path}, which does not exist"
            named += 1
    assert named > 50  # the pattern sees the paths


def architecture_tables() -> list[tuple[str, str, str]]:
    """Each row of architecture.md's package tables: (top package, first cell, the rest)."""
    rows, top = [], ""
    for line in (DOCS / "architecture.md").read_text(encoding="utf-8").splitlines():
        heading = re.match(r"### `(\w+)/`", line)
        if heading or line.startswith("## "):
            top = heading.group(1) if heading else ""
        elif top and line.startswith("| `"):
            first, rest = line.strip("|").split("|", 1)
            rows.append((top, first, rest))
    return rows


def test_every_module_the_architecture_map_names_is_where_it_says() -> None:
    rows = architecture_tables()
    assert len(rows) > 20
    for top, first, rest in rows:
        owners = re.findall(r"`([\w/.]+)`", first)
        for owner in owners:
            assert (REPO / top / owner).exists(), f"architecture.md: {top}/{owner}"
        packages = [REPO / top / o for o in owners if o.endswith("/")] + [REPO / top]
        for module in re.findall(r"`([\w/]+\.py)`", rest):
            assert any((p / module).exists() for p in packages), f"architecture.md: {module}"


def test_every_module_of_the_code_is_on_the_architecture_map() -> None:
    # A module added without its line in the map is a newcomer's blind spot.
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    modules = [
        path
        for top in ("app", "bot", "cogs")
        for path in (REPO / top).rglob("*.py")
        if path.name not in ("__init__.py", "__main__.py")
    ]
    assert len(modules) > 80
    unnamed = sorted(
        str(path.relative_to(REPO))
        for path in modules
        if f"`{path.name}`" not in text and f"`{path.relative_to(REPO).as_posix()}`" not in text
    )
    assert unnamed == [], "modules docs/architecture.md does not name"


# Dotted names in backticks that are not texts of the catalogs.
NOT_KEYS = {"applications.commands", "str.format"}


def test_every_catalog_key_a_page_names_is_in_the_catalogs() -> None:
    from bot import i18n

    ids = [message.id for message in i18n.read_catalog("en") if message.id]
    keys = {key if isinstance(key, str) else key[0] for key in ids}  # plurals: (one, many)
    named = 0
    for page in PAGES:
        for key in re.findall(r"`([a-z_]+(?:\.[a-z_<>]+)+)`", page.read_text(encoding="utf-8")):
            top, second = key.split(".")[:2]
            if (REPO / top / second).exists() or (REPO / top / f"{second}.py").exists():
                continue  # a module or its attribute: bot.config, buttons.bind
            if (REPO / "bot" / top).exists() or (REPO / "cogs" / "animate" / f"{top}.py").exists():
                continue
            if key in NOT_KEYS or re.search(r"\.(py|md|toml|yaml|po|db|sql|json)$", key):
                continue
            prefix = key.split("<")[0]
            assert any(k == key or ("<" in key and k.startswith(prefix)) for k in keys), (
                f"{page.name} names the text {key}, which no catalog has"
            )
            named += 1
    assert named > 10
