"""The team's words in flows/ go through the catalogue (flows/i18n.py): a sentence an owner, a manager or a cashier
reads may not sit in the code as a bare literal, where no translator ever sees it.

An AST check over the flows that render or raise texts for the team: every string literal (and every literal
part of an f-string) that reads like words must be an argument of a marking call — `gettext`, `ngettext`,
`pgettext`, `npgettext`, `N_` or `TeamText.ngettext` (the names babel's extractor looks for). What is not
shown to people is left out by construction: docstrings, log calls, comparisons (`reason == "quiet hours"`),
and the messages of Python's own exceptions (ValueError & co. are for developers; refusals people read are
`TeamError`s or `TeamText`s). The rest is the short allowlist below, each with its reason.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The flows whose texts are read by the team (customer texts are the owner's, in the content file). The other
# flows' literals are not shown to people: delivery states the outbox records for the log (its notices' reasons
# are marked), the FAQ's word lists and the prompt for the language model, the catalogue tool's own output.
MODULES = (
    "analytics",
    "broadcast_input",
    "broadcasts",
    "charts",
    "coupons",
    "faq_teaching",
    "feedback",
    "handoff",
    "imports",
    "lead_card",
    "money",
    "notices",
    "parsing",
    "purchases",
    "report_html",
    "sales",
    "segments",
    "stats_render",
    "team_text",
)
# The console's editors and the team's other flows (the content's history, the audit filter, the broadcast
# form, customer search): checked the same way.
EDITOR_MODULES = (
    "broadcast_form",
    "console_home",
    "content_coupons",
    "content_dates",
    "content_edits",
    "content_rules",
    "content_summaries",
    "people",
    "people_search",
    "staff",
)
MARKING = {"gettext", "ngettext", "pgettext", "npgettext", "N_"}
LOGGING = {"debug", "info", "warning", "error", "exception", "critical"}
DEVELOPER_ERRORS = frozenset(
    {"ValueError", "KeyError", "TypeError", "RuntimeError", "AssertionError", "LookupError"}
)
# The content model and its checks: here a ValueError's message is read by the owner (pydantic puts it next to
# the field in the console), so it is no developer's error: refusals are `flows.content.base.Invalid` texts.
CONTENT_MODULES = (
    "content/base",
    "content/completeness",
    "content/faq_concepts",
    "content/handoff",
    "content/loyalty",
    "content/model",
    "content/segments",
    "content/sequences",
    "content/texts",
    "content_documents",
    "content_refusals",
    "telegram_html",
)
# Literals in those modules that are not read by an owner in the console, each with why.
CONTENT_ALLOWED = {
    # load_content: the operator's terminal at start-up (`nurture-bot run`), English like the command line
    ("content/model", "{}: file not found"),
    ("content/model", "{}: {}: not valid YAML ({})"),
    ("content/model", "{}: the file must be a mapping of sections (business, onboarding, texts)"),
    # pydantic's prefix, removed from its message
    ("content/model", "Value error, "),
    ("content_documents", "Value error, "),
    ("content_refusals", "Value error, "),
    # a tag's name in a markup problem, as Telegram spells it (the sentence around it is marked)
    ("telegram_html", "<tg-emoji> (only with emoji-id)"),
}
# Module-level names whose literal is not words for people.
NOT_WORDS = {
    ("report_html", "STYLE"),  # the report's CSS
}
# Calls whose text argument is a state recorded for the log, never shown.
INTERNAL = {"drop_unsent_questions"}
# Errors for the operator's terminal at start-up (`nurture-bot run`), in English like the command line.
OPERATOR_ERRORS = {"ContentError"}
_CODE = re.compile(r"<code>.*?</code>|<pre>.*?</pre>", re.S)
_TAG = re.compile(r"<[^>]*>")
_FIELD = re.compile(r"\{[^{}]*\}")
_WORD = re.compile(r"^[«(“\"']*[^\W\d_]{2,}(?:['’-][^\W\d_]+)*[.,;:!?…»)”\"']*$")
_LABEL = re.compile(r"^[^\w]*[A-Z][a-z]")
_SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE)\b")


def sentence_like(text: str) -> bool:
    """Three words or more, or two that end like a sentence (`Unknown customer.`) or start like a label
    (`Average check`): words are tokens between spaces made of letters, so keys (`lead:{}:card`), identifiers,
    date patterns (`LLL yy`) and code (`<code>tag:vip</code>`) are not."""
    if _SQL.match(text):
        return False
    bare = _FIELD.sub(" ", _TAG.sub(" ", _CODE.sub(" ", text))).strip()
    words = [token for token in bare.split() if _WORD.match(token)]
    label = len(words) == 2 and _LABEL.match(bare) is not None
    return len(words) >= 3 or (len(words) == 2 and bare.endswith((".", "!", "?"))) or label


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


class _Finder(ast.NodeVisitor):
    """Literals shown to people that no marking call wraps."""

    def __init__(self, module: str, developer_errors: frozenset[str] = DEVELOPER_ERRORS) -> None:
        self.module = module
        self.developer_errors = developer_errors
        self.found: list[tuple[int, str]] = []

    def visit_Module(self, node: ast.Module) -> None:
        self._body(node.body)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        self.visit(node.args)
        self._body(node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._body(node.body)

    def _body(self, body: list[ast.stmt]) -> None:
        start = 1 if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) else 0
        for statement in body[start:]:  # a docstring is for developers
            self.visit(statement)

    def visit_Assign(self, node: ast.Assign) -> None:
        targets = {t.id for t in node.targets if isinstance(t, ast.Name)}
        if not any((self.module, target) in NOT_WORDS for target in targets):
            self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = _name(node.func)
        if name in MARKING:
            return  # what it wraps is marked (babel extracts it)
        if name in LOGGING or name in self.developer_errors or name in INTERNAL or name in OPERATOR_ERRORS:
            return
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        return  # a literal compared with is a value, not a text

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
        if sentence_like(str(text)):
            self.found.append((node.lineno, str(text)))

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and sentence_like(node.value):
            self.found.append((node.lineno, node.value))


def unmarked(module: str, source: str, developer_errors: frozenset[str] = DEVELOPER_ERRORS) -> list[str]:
    finder = _Finder(module, developer_errors)
    finder.visit(ast.parse(source))
    found = [(line, text) for line, text in sorted(finder.found) if (module, text) not in CONTENT_ALLOWED]
    return [f"flows/{module}.py:{line}: {text[:80]!r}" for line, text in found]


@pytest.mark.parametrize("module", MODULES + EDITOR_MODULES)
def test_every_team_text_in_the_flow_is_marked_for_translation(module: str) -> None:
    found = unmarked(module, (ROOT / "flows" / f"{module}.py").read_text(encoding="utf-8"))
    assert not found, "texts for the team written in code, not through the catalogue:\n" + "\n".join(found)


@pytest.mark.parametrize("module", CONTENT_MODULES)
def test_every_refusal_of_the_content_model_is_marked_for_translation(module: str) -> None:
    found = unmarked(module, (ROOT / "flows" / f"{module}.py").read_text(encoding="utf-8"), frozenset())
    assert not found, "content problems written in code, not through the catalogue:\n" + "\n".join(found)


def test_in_the_content_model_a_value_error_counts() -> None:
    source = 'def check(v):\n    raise ValueError(f"the interests step is on but {v} is off")\n'
    assert unmarked("content/x", source) == []
    assert len(unmarked("content/x", source, frozenset())) == 1


def test_the_check_catches_an_unmarked_sentence_and_passes_a_marked_one() -> None:
    source = '''
def refuse(tr):
    """A docstring is for developers."""
    log.warning("logs are for developers too: %s", 1)
    if reason == "quiet hours now":
        raise ValueError(f"unknown campaign {key!r} in the file")
    ok = tr.gettext("This sale was opened by someone else.")
    also = N_("Marked for later, translated where shown.")
    plural = TeamText.ngettext("{n} point left here", "{n} points left here", 2)
    return html("Sale recorded: purchase #{}.", 1) + f"Collect {amount} in money."
'''
    found = unmarked("example", source)
    assert len(found) == 2, found
    assert any("Sale recorded" in line for line in found) and any("Collect" in line for line in found)
