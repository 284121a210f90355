"""The layers a newcomer reads in docs/architecture.md, checked by machine.

import-linter's contracts (pyproject.toml) run in `make lint` and `make test`; here they
also run against a copy of the code with a wrong-way import, to show each would fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "bot", "cogs")
# "A module past ~400 lines is split on its seams."
MOST_LINES = 400


def lint_imports(where: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=where,
        env={**os.environ, "PYTHONPATH": str(where)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_contract_is_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout
    assert "Contracts: 4 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "wrong_way", "broken"),
    [
        ("bot/quotas.py", "import discord", "bot is not allowed to import discord"),
        ("bot/pricing.py", "import cogs.common.words", "bot is not allowed to import cogs"),
        (
            "cogs/history/__init__.py",
            "import cogs.animate.cog",
            "cogs.history is not allowed to import cogs.animate",
        ),
        ("bot/domain.py", "import bot.jobs.service", "No import cycles, at any depth"),
    ],
)
def test_a_wrong_way_import_breaks_a_contract(
    tmp_path: Path, module: str, wrong_way: str, broken: str
) -> None:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    with (tmp_path / module).open("a") as source:
        source.write(f"\n{wrong_way}  # the wrong way\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1
    assert broken in result.stdout, result.stdout


def test_no_module_is_past_the_size_where_it_is_split() -> None:
    long = {
        str(path.relative_to(ROOT)): lines
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MOST_LINES
    }
    assert long == {}
