"""No sentences in code: every text the cogs show users comes from the catalogs."""

from __future__ import annotations

import ast
from pathlib import Path

COGS = Path(__file__).parents[2] / "cogs"


# Every cog is converted; a file listed here would be skipped by the scan.
NOT_YET_CONVERTED: frozenset[str] = frozenset()


# Calls that put text in front of users (directly or through the cogs' own helpers).
SENDING = frozenset(
    {
        "send_message",
        "send",
        "edit_original_response",
        "edit_message",
        "edit",
        "_reply",
        "fail",  # places.fail: the placeholder swapped for an error
        "_answer_reaction",
    }
)


def looks_like_a_sentence(node: ast.AST) -> bool:
    """A literal (or f-string) with two words or more: prose, not a key or an id."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = node.value
    elif isinstance(node, ast.JoinedStr):
        text = "".join(
            v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
        )
    else:
        return False
    words = [w for w in text.split() if any(c.isalpha() for c in w)]
    return len(words) >= 2


def sentences_in(source: str) -> list[str]:
    """User-facing prose in code: sent inline, or kept as a module-level constant."""
    found = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in SENDING:
                arguments = [*node.args, *(k.value for k in node.keywords if k.arg == "content")]
                found += [ast.unparse(a) for a in arguments if looks_like_a_sentence(a)]
    for statement in tree.body:
        if isinstance(statement, ast.Assign | ast.AnnAssign) and statement.value is not None:
            values = [statement.value]
            if isinstance(statement.value, ast.Dict):
                values = [v for v in statement.value.values if v is not None]
            found += [ast.unparse(v) for v in values if looks_like_a_sentence(v)]
    return found


def test_the_scan_finds_sentences_sent_inline_or_kept_as_constants() -> None:
    assert sentences_in('await i.response.send_message("Not allowed here.")')
    assert sentences_in('await i.followup.send(f"Deleted {n} jobs.", ephemeral=True)')
    assert sentences_in('async def f(i):\n    await _reply(i, "That is not a server id")')
    assert sentences_in('NOTHING = "Nothing was deleted."')
    assert sentences_in('REPLIES = {1: "Cancelled. Nothing was charged."}')
    assert not sentences_in('NOT_FOUND = "history.not_found"\nawait x.send(t(NOT_FOUND))')
    assert not sentences_in('await m.edit(content=f"<@{user}> {text}")')


def test_cogs_keep_their_sentences_in_the_catalogs() -> None:
    offenders = {}
    for path in sorted(COGS.rglob("*.py")):
        name = path.relative_to(COGS).as_posix()
        if name in NOT_YET_CONVERTED:
            continue
        found = sentences_in(path.read_text(encoding="utf-8"))
        if found:
            offenders[name] = found
    assert offenders == {}
