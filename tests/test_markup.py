"""flows.markup: every way into `Html` escapes plain text exactly once; content texts fill their placeholders
with escaped values; CSV cells that a spreadsheet would run are defused."""

from __future__ import annotations

import csv
import io

import pytest

from flows.content import Texts, load_content
from flows.content.model import example_content_path
from flows.exports import safe_text
from flows.markup import Html, bold, code, html, html_map, italic, trusted

HOSTILE = ["Eve <script>", '<a href="https://evil.example">bank</a>', "&amp;", "</i>", "{name}", "%s", "'\""]


@pytest.mark.parametrize("value", HOSTILE)
def test_every_way_in_escapes_plain_text(value: str) -> None:
    escaped = Html(value)
    assert "<" not in escaped and ">" not in escaped and '"' not in escaped
    assert html("<b>{}</b>", value) == f"<b>{escaped}</b>"
    assert html("<b>{name}</b>", name=value) == f"<b>{escaped}</b>"
    assert html("<b>") + value == f"<b>{escaped}"
    assert value + html("<b>") == f"{escaped}<b>"
    assert Html("\n").join([value, html("<i>x</i>")]) == f"{escaped}\n<i>x</i>"
    assert trusted("<b>%s</b>") % value == f"<b>{escaped}</b>"
    assert trusted("<b>{}</b>").format(value) == f"<b>{escaped}</b>"
    assert trusted("<b>?</b>").replace("?", value) == f"<b>{escaped}</b>"
    assert (bold(value), italic(value), code(value)) == (
        f"<b>{escaped}</b>",
        f"<i>{escaped}</i>",
        f"<code>{escaped}</code>",
    )


def test_html_is_never_escaped_twice() -> None:
    once = Html("Tom & Jerry")
    assert once == "Tom &amp; Jerry"
    assert Html(once) == once
    assert html("{}", once) == once
    assert html("<b>{}</b>", bold("x")) == "<b><b>x</b></b>"
    assert Html("&amp;") == "&amp;amp;"  # a person who typed "&amp;" sees "&amp;"


def test_substituted_values_are_not_templates() -> None:
    assert html("Hi {}", "{0} {name}") == "Hi {0} {name}"
    assert html_map("Hi {name}", {"name": "{business}", "business": "x"}) == "Hi {business}"
    assert html_map("Hi {name}{missing}", {"name": "Ann"}) == "Hi Ann"


def test_format_specs_apply_before_escaping() -> None:
    assert html("{:,} · {:.0%}", 12345, 0.5) == "12,345 · 50%"
    assert html("{:>6}", "<") == "     &lt;"


def test_plain_str_operations_leave_the_type() -> None:
    """Slicing or upper-casing gives a plain `str`, so mypy stops it at a function that wants Html."""
    assert type(Html("<b>")[:3]) is str
    assert type(Html("x").upper()) is str


@pytest.fixture(scope="module")
def texts() -> Texts:
    return load_content(example_content_path()).texts_for("en")


@pytest.mark.parametrize("value", HOSTILE)
def test_content_placeholders_are_escaped_once(texts: Texts, value: str) -> None:
    """The owner's text is HTML as written; a person's name put into it is escaped, and only once."""
    welcome = texts("welcome", name=value)
    assert Html(value) in welcome
    assert welcome.count("&amp;amp;") == value.count("&amp;")
    again = texts("welcome", name=Html(value))  # an already rendered value goes in as is
    assert again == welcome


def test_a_nested_text_is_not_escaped_again(texts: Texts) -> None:
    inner = texts("progress_top", tier="Gold & Co")
    outer = texts("balance", balance="1", points="1", tier="t", percent="3", progress=inner)
    assert "Gold &amp; Co" in outer and "&amp;amp;" not in outer


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ('=HYPERLINK("https://evil.example","x")', '\'=HYPERLINK("https://evil.example","x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Anna", "Anna"),
        ("", ""),
    ],
)
def test_csv_cells_a_spreadsheet_would_run_are_defused(cell: str, shown: str) -> None:
    assert safe_text(cell) == shown


def test_csv_cells_keep_html_as_typed() -> None:
    """A CSV is not HTML: names are defused for spreadsheets but never HTML-escaped."""
    out = io.StringIO()
    csv.writer(out).writerow([safe_text("=1+1"), safe_text("Eve <script> & co")])
    assert out.getvalue().strip() == "'=1+1,Eve <script> & co"
