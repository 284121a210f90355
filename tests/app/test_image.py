"""The Dockerfile's layers: dependencies are reinstalled only when pyproject.toml changes.

Read from the Dockerfile itself; the build (podman, on a stand-in base) is checked by hand,
see shared/docs/containers.md.
"""

from __future__ import annotations

import shlex

from tests.fakes.process import REPO


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    joined = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in joined.splitlines()]
    return [
        (word.upper(), rest.strip())
        for word, _, rest in (line.partition(" ") for line in lines)
        if word and not word.startswith("#")
    ]


def test_the_dependency_layer_copies_only_pyproject_toml() -> None:
    """A README or code edit must not reinstall every dependency (a minute, and the network)."""
    steps = instructions()
    install = next(i for i, (word, args) in enumerate(steps) if word == "RUN" and "pip" in args)
    copied = [
        source
        for word, args in steps[:install]
        if word == "COPY"
        for source in shlex.split(args)[:-1]
    ]
    assert copied == ["pyproject.toml"]
