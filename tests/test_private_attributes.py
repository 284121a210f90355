"""No private attribute of another library in our code (house style 15).

An AST walk flags `x._name` and `getattr(x, "_name")` (and setattr, hasattr,
delattr) where `x` is not `self` or `cls`, `_name` is not a dunder, and the module
does not define `_name` itself: a private name is private to the module that
defines it, so `other._migrate()` beside `def _migrate` is ours, while
`transport._pool` reaches into httpx.

The benchmarks and the fakes drive the bot and other libraries from outside: there,
a private name defined anywhere in our code is ours (a lesser matter), while
`bot._connection` still reaches into discord.py.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "bot", "cogs")
# Code that drives the bot and its libraries from outside.
DRIVERS = ("benchmarks", "tests/fakes")
OUR_CODE = ("app", "bot", "cogs", "tests", "benchmarks")
# A named tuple's public API is spelled with an underscore (urlsplit's `_replace`).
NAMED_TUPLE_API = frozenset({"_replace", "_asdict", "_fields", "_make", "_field_defaults"})
ATTRIBUTE_BUILTINS = frozenset({"getattr", "setattr", "hasattr", "delattr"})
# Known exceptions, each with its reason; a new one needs a reason as good.
EXCEPTIONS: dict[tuple[str, str], str] = {}


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def defined_names(tree: ast.Module) -> set[str]:
    """Names the module itself defines: functions, classes, class and instance attributes."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name)
            and node.value.id in ("self", "cls")
        ):
            names.add(node.attr)
    return names


@functools.cache
def names_defined_in_our_code() -> frozenset[str]:
    names: set[str] = set()
    for package in OUR_CODE:
        for path in (ROOT / package).rglob("*.py"):
            names |= defined_names(ast.parse(path.read_text(encoding="utf-8")))
    return frozenset(names)


def private_accesses(source: str, ours: frozenset[str] = frozenset()) -> list[tuple[int, str]]:
    """(line, name) of each private attribute the module reaches that neither it nor
    `ours` defines."""
    tree = ast.parse(source)
    ours = ours | defined_names(tree)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        name: str | None = None
        if isinstance(node, ast.Attribute):
            owner = node.value
            if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
                name = node.attr
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ATTRIBUTE_BUILTINS
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
        ):
            name = node.args[1].value
        if name and _is_private(name) and name not in ours and name not in NAMED_TUPLE_API:
            found.append((node.lineno, name))
    return found


def test_no_module_reaches_into_another_librarys_private_attributes() -> None:
    offences = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            for line, name in private_accesses(path.read_text(encoding="utf-8")):
                if (relative, name) not in EXCEPTIONS:
                    offences.append(f"{relative}:{line}: .{name}")
    assert offences == []


def test_benchmarks_and_fakes_reach_into_no_other_librarys_private_attributes() -> None:
    ours = names_defined_in_our_code()
    offences = []
    for folder in DRIVERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            for line, name in private_accesses(path.read_text(encoding="utf-8"), ours):
                if (relative, name) not in EXCEPTIONS:
                    offences.append(f"{relative}:{line}: .{name}")
    assert offences == []


# The transport of before: httpx's pool replaced by writing to `transport._pool`.
OLD_TRANSPORT = """
import httpcore
import httpx

def transport_on(backend, tls, limits):
    transport = httpx.AsyncHTTPTransport(verify=tls, limits=limits)
    if not isinstance(getattr(transport, "_pool", None), httpcore.AsyncConnectionPool):
        raise RuntimeError("this httpx keeps no connection pool where it is replaced")
    transport._pool = httpcore.AsyncConnectionPool(ssl_context=tls, network_backend=backend)
    return transport
"""


def test_the_old_write_into_httpxs_pool_is_caught() -> None:
    assert sorted(private_accesses(OLD_TRANSPORT)) == [(7, "_pool"), (9, "_pool")]


# The memory benchmark of before: an interaction built by hand on discord.py's state.
OLD_INTERACTION = """
import discord

def interaction_for(fake, bot, payload):
    payload["channel"] = fake._channel_payload(fake.general)
    return discord.Interaction(data=payload, state=bot._connection)
"""


def test_outside_the_app_our_own_private_names_pass_and_discordpys_do_not() -> None:
    assert private_accesses(OLD_INTERACTION, names_defined_in_our_code()) == [(6, "_connection")]


@pytest.mark.parametrize(
    "source",
    [
        # Our own private names, used in the module that defines them.
        "class Store:\n    async def _migrate(self): ...\nasync def f(s): await s._migrate()\n",
        "class A:\n    def __init__(self): self._cache = {}\ndef f(a): return a._cache\n",
        # Dunders and a named tuple's API are public.
        "def f(x): return x.__class__, x.__dict__\n",
        "from urllib.parse import urlsplit\nu = urlsplit('http://a/')._replace(path='/b')\n",
        "def f(x): return x.public, getattr(x, 'name', None)\n",
    ],
)
def test_what_is_not_flagged(source: str) -> None:
    assert private_accesses(source) == []


@pytest.mark.parametrize(
    "source",
    [
        "def f(client): return client._transport\n",
        "def f(bot): bot._connection.clear()\n",
        "def f(response): setattr(response, '_content', b'')\n",
        "import sys\nframe = sys._getframe()\n",
    ],
)
def test_what_is_flagged(source: str) -> None:
    assert [name for _, name in private_accesses(source)] != []
