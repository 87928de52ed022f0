"""No owner or staff text in `handlers/` and `bot/` escapes the catalogue (issue 12).

tests/test_translations.py fails on a *marked* text without its Russian and Ukrainian translation; this
test fails on a sentence shown to people that is not marked at all (a string literal outside
`tr.gettext`/`ngettext`/`pgettext`/`N_`). Together: no owner/staff text without all three languages.
Customer texts are the owner's words from the content file (`t("key")`), so they are keys here, not
sentences.

What looks like a sentence: a string literal (or the literal part of an f-string) with two words of
letters, or one capitalised word ("Cancel", "✖ Cancel"). What is not shown to people, and so allowed:
docstrings; logging calls; regular expressions; exceptions of Python's own types (programming errors,
never shown); strings compared with something (Telegram's error descriptions matched with `in`); a
delivery's technical `error=` reason; and the short list below.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ("handlers", "bot")
# Whole modules that never write into a Telegram chat: the sandbox (a developer's tool with its own
# texts), the purchases API (JSON errors for the integrator's developers, documented in English in the
# README) and the operator's terminal (`python -m bot` commands and the settings' error messages).
SKIPPED = ("bot/sandbox/", "bot/api.py", "bot/cli.py", "bot/settings.py")
# One-off literals that look like words but are not read by owners or staff, each with why.
ALLOWED: dict[str, set[str]] = {
    "bot/outbound.py": {"Send", "Copy", "Forward"},  # prefixes of aiogram's method class names
    "bot/edits.py": {"message is not modified"},  # Telegram's error description, matched
    "bot/messenger.py": {
        "the answer could not be read (a proxy's error page?)",
        " missing from the database",
    },  # a delivery's technical
    # reason, stored next to Telegram's own (English) error descriptions
    "bot/http_server.py": {"bad request from a client: %s", "Connection"},  # a log record's message; a header
    "bot/webhook.py": {"body: not a Telegram update", "X-Telegram-Bot-Api-Secret-Token"},  # to Telegram's servers
}
MARKERS = {"gettext", "ngettext", "pgettext", "npgettext", "N_"}
PATTERNS = {"compile", "match", "search", "fullmatch"}  # a regular expression is never shown
LOGGERS = {"log", "logger", "logging", "sends"}  # sends: bot/outbound.py's departures log
PROGRAMMING_ERRORS = {"ValueError", "TypeError", "RuntimeError", "AssertionError", "KeyError", "LookupError"}
_WORDS = re.compile(r"[A-Za-z]{2,}[^\n]*?\s+\S*?[A-Za-z]{2,}")
_CAPITALISED = re.compile(r"(?:^|[^A-Za-z])[A-Z][a-z]+")


def looks_like_a_sentence(text: str) -> bool:
    return bool(_WORDS.search(text) or _CAPITALISED.search(text))


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _exempt(tree: ast.AST) -> set[int]:
    """ids of the string nodes that are not shown to people (see the module docstring)."""
    exempt: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body:
            first = body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                exempt.add(id(first.value))  # a docstring
        covered: list[ast.AST] = []
        if isinstance(node, ast.Call):
            marked = _name(node.func) in MARKERS
            logged = isinstance(node.func, ast.Attribute) and _name(node.func.value) in LOGGERS
            if marked or logged or _name(node.func) in PATTERNS:
                covered.append(node)
            # A delivery's technical reason (`DeliveryResult(error=…)`), stored with Telegram's own English ones.
            covered += [keyword.value for keyword in node.keywords if keyword.arg == "error"]
        elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            if _name(node.exc.func) in PROGRAMMING_ERRORS:
                covered.append(node)
        elif isinstance(node, ast.Compare):
            covered += [node.left, *node.comparators]
        for part in covered:
            exempt.update(id(inner) for inner in ast.walk(part))
    return exempt


def unmarked(source: str, where: str) -> list[str]:
    """Sentence-like literals in `source` that are neither marked for translation nor allowed."""
    tree = ast.parse(source)
    exempt = _exempt(tree)
    allowed = ALLOWED.get(where, set())
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in exempt:
            continue
        if looks_like_a_sentence(node.value) and node.value not in allowed:
            found.append(f"{where}:{node.lineno}: {node.value[:70]!r}")
    return found


def test_every_owner_and_staff_text_in_handlers_and_bot_is_marked_for_translation() -> None:
    problems = []
    for folder in CHECKED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            where = path.relative_to(ROOT).as_posix()
            if not where.startswith(SKIPPED) and where not in SKIPPED:
                problems += unmarked(path.read_text("utf-8"), where)
    assert not problems, (
        "texts shown to people but not marked for translation (use tr.gettext / N_, see flows/i18n.py):\n"
        + "\n".join(problems)
    )


def test_the_check_catches_plain_texts_buttons_and_f_strings() -> None:
    source = '''
async def handler(message, tr, name):
    """A docstring is fine."""
    log.info("a log line is fine: %s", name)
    if "not modified" in str(name):
        return
    await message.answer("Sale cancelled.")
    builder.button(text="✖ Cancel", callback_data="x")
    await message.answer(f"Revoke {name}")
    await message.answer(tr.gettext("Marked texts are fine"))
    raise ValueError("a programming error is never shown")
'''
    found = unmarked(source, "handlers/example.py")
    assert [line.split(": ", 1)[1] for line in found] == ["'Sale cancelled.'", "'✖ Cancel'", "'Revoke '"]


def test_keys_callback_prefixes_and_commands_are_not_sentences() -> None:
    for text in (
        "button_expired",
        "sl",
        "rec",
        "/start",
        "HTML",
        "7d",
        "%H:%M",
        "{}× {}",
        "<b>{}</b>",
        "everyone",
    ):
        assert not looks_like_a_sentence(text), text
    for text in ("Done", "✅ Record sale", "waiting {duration}", "No category"):
        assert looks_like_a_sentence(text), text
