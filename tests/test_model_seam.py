"""No module outside the model layer names a Seedance option (issue 25): the options, the
image field and the submit body come from each model's schema, through `bot.models`.

Role words (resolution, ratio, duration, audio) are the model layer's own vocabulary and
the catalogs', so only the seed schema's own field names are looked for, in the code's
strings and names (comments and docstrings may give examples).
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.fakes.schemas import SEEDANCE_15, seedance_15

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "bot", "cogs")
MODEL_LAYER = ROOT / "bot" / "models"
# The seed model's field names, but the ones the model layer gives a common role.
SEEDANCE_FIELDS = sorted(set(seedance_15()["properties"]) - {"prompt", "resolution", "ratio",
                                                             "duration"})  # fmt: skip


def code_words(source: str) -> set[str]:
    """The strings (docstrings aside) and names a module's code uses."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    words: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docstrings:
                words.add(node.value)
        elif isinstance(node, ast.Name):
            words.add(node.id)
        elif isinstance(node, ast.Attribute):
            words.add(node.attr)
        elif isinstance(node, ast.arg | ast.keyword) and node.arg:
            words.add(node.arg)
    return words


def modules() -> list[tuple[str, set[str]]]:
    return [
        (str(path.relative_to(ROOT)), code_words(path.read_text(encoding="utf-8")))
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    ]


def test_only_the_model_layer_names_a_seedance_field() -> None:
    assert SEEDANCE_FIELDS == ["camera_fixed", "first_frame_image_url", "generate_audio"]
    found = [
        f"{name}: {field}"
        for name, words in modules()
        if not name.startswith("bot/models/")
        for field in SEEDANCE_FIELDS
        if any(field in word for word in words)
    ]
    assert found == []


def test_the_seed_model_id_is_named_once_as_the_default() -> None:
    named = [name for name, words in modules() if any(SEEDANCE_15 in w for w in words)]
    assert named == ["bot/config.py"]  # DEFAULT_MODEL_ID: RUNCOMFY_MODEL_ID's default
