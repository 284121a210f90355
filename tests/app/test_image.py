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


def test_the_image_copies_only_the_code_and_leaves_no_build_behind() -> None:
    """Issue 27 #23: nothing built (egg-info, build/, wheels) nor pip's list stays in it."""
    steps = instructions()
    copied = [shlex.split(args)[:-1] for word, args in steps if word == "COPY"]
    assert copied == [["pyproject.toml"], ["bot"], ["cogs"], ["app"]]
    install = next(args for word, args in steps if word == "RUN" and "pip install" in args)
    assert "rm /tmp/requirements.txt" in install and " -e " not in install
    assert any("PIP_NO_CACHE_DIR=1" in args for word, args in steps if word == "ENV")
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {"*.egg-info", "build", "dist", "**/__pycache__"} <= set(ignored)


def test_postgres_in_compose_is_ready_only_once_it_takes_tcp() -> None:
    """Issue 27 #22: the image's first start runs a server on the unix socket only, which
    a plain pg_isready takes for the real one; the bots connect over TCP."""
    compose = (REPO / "compose.postgres.yaml").read_text()
    check = next(line for line in compose.splitlines() if "test:" in line and "pg_isready" in line)
    assert '"-h", "127.0.0.1"' in check
    assert compose.count("condition: service_healthy") == 1  # in the bots' shared part
