"""Messages are built with `flows.markup` (html(), Html), never by pasting text into markup.

mypy guards the flows (notices, `Outgoing` and `Texts` take and return `Html`); aiogram's reply methods
accept any `str`, so this check covers what the types cannot: an f-string, `+`, `%` or `.format()` handed
straight to a reply, and an f-string that writes tags around a value anywhere in the code.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "flows", "handlers")
SKIP = ("bot/sandbox",)  # the emulator plays Telegram: it parses HTML rather than writing it
# Methods whose text Telegram parses as HTML (the bot's default parse mode).
SINKS = {
    "answer",
    "reply",
    "edit_text",
    "edit_caption",
    "send_message",
    "edit_message_text",
    "answer_photo",
    "answer_video",
    "answer_document",
    "send_photo",
    "send_video",
    "send_document",
}
TAG = re.compile(r"</?(b|strong|i|em|u|ins|s|strike|del|code|pre|a|tg-spoiler|span|blockquote|html|p|h\d|td|tr)\b")


def sources() -> Iterator[tuple[str, ast.AST]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if not name.startswith(SKIP):
                yield name, ast.parse(path.read_text(encoding="utf-8"))


def _pasted(node: ast.AST) -> bool:
    """Text built by pasting values into a string instead of through html()."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.FormattedValue) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
        return _pasted(node.left) or _pasted(node.right) or isinstance(node.left, ast.Constant)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr in ("format", "join") and isinstance(node.func.value, ast.Constant)
    return False


def _is_callback_answer(call: ast.Call) -> bool:
    """`query.answer(...)` shows a plain-text toast: Telegram does not parse it."""
    receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
    return isinstance(receiver, ast.Name) and "query" in receiver.id


def pasted_into_replies() -> list[str]:
    found = []
    for name, tree in sources():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr not in SINKS or _is_callback_answer(node):
                continue
            texts = list(node.args[:1]) + [k.value for k in node.keywords if k.arg in ("text", "caption")]
            found += [f"{name}:{node.lineno}" for text in texts if _pasted(text)]
    return found


def tags_around_values() -> list[str]:
    found = []
    for name, tree in sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr) and any(isinstance(v, ast.FormattedValue) for v in node.values):
                literal = "".join(str(v.value) for v in node.values if isinstance(v, ast.Constant))
                if TAG.search(literal):
                    found.append(f"{name}:{node.lineno}")
    return found


def test_replies_are_not_pasted_together() -> None:
    assert pasted_into_replies() == [], "build the text with flows.markup.html(...) instead"


def test_no_fstring_writes_tags_around_a_value() -> None:
    assert tags_around_values() == [], "write markup with flows.markup.html('<b>{}</b>', value) instead"


def test_the_check_catches_what_it_should() -> None:
    sample = ast.parse('async def f(message, name):\n    await message.answer(f"<b>{name}</b>")\n')
    call = next(n for n in ast.walk(sample) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute))
    assert _pasted(call.args[0])
    assert not _pasted(ast.parse('html("<b>{}</b>", name)', mode="eval").body)
