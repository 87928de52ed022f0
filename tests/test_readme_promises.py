"""The README's promises each name the tests that check them: every name must be a test that exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## What we promise, and what a crash can still cost"


def promises() -> str:
    text = (ROOT / "README.md").read_text("utf-8")
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    return text[start:end]


def defined_tests() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "tests").glob("test_*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        names |= {
            node.name
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
        }
    return names


def test_every_promise_names_tests_that_exist() -> None:
    section = promises()
    cited = set(re.findall(r"`(test_\w+)`", section))
    assert len(cited) >= 30, "the promises should each name their tests"
    missing = sorted(cited - defined_tests())
    assert not missing, f"the README cites tests that do not exist: {missing}"


def test_every_promise_paragraph_cites_a_test() -> None:
    """A bullet or paragraph that promises something names at least one test."""
    body = promises().split("that test fails.", 1)[1]
    blocks = [b.strip() for b in re.split(r"\n(?=- )|\n\n", body)]
    headings = re.compile(r"^\*\*[^*]+\*\*$")  # a group's title alone on its line
    uncited = [b[:80] for b in blocks if b and not headings.match(b) and "test_" not in b]
    assert not uncited, uncited
