"""The preview of a message as a chat shows it, and the check of Telegram's HTML subset."""

from __future__ import annotations

import copy

from flows.content import example_content_path
from flows.content_documents import DocumentError, Problem, parse_yaml, validate
from flows.telegram_html import render


def test_formatting_is_kept_and_text_is_escaped() -> None:
    shown = render("<b>Prices</b> & <i>more</i>\n<a href='https://x.example/?a=1&b=2'>map</a>")
    assert shown.problems == []
    assert shown.html == (
        '<b>Prices</b> &amp; <i>more</i>\n<a href="https://x.example/?a=1&amp;b=2" rel="noopener noreferrer"'
        ' target="_blank">map</a>'
    )


def test_a_tag_telegram_does_not_show_is_a_problem_and_never_reaches_the_page() -> None:
    shown = render('<script>alert("x")</script><img src=x onerror=alert(1)>')
    assert "<script" not in shown.html and "<img" not in shown.html
    assert shown.problems[0].startswith("<script> is not a tag Telegram shows")


def test_a_javascript_link_is_not_a_link() -> None:
    shown = render('<a href="javascript:alert(1)">x</a>')
    assert "javascript" not in shown.html
    assert shown.problems == ["a link needs href starting with https://"]


def test_unclosed_and_stray_tags_are_named() -> None:
    assert render("<b>open").problems == ["<b> is not closed"]
    assert render("x</i>").problems == ["</i> closes a tag that is not open"]


def test_an_faq_answer_telegram_would_refuse_is_refused_at_its_key() -> None:
    document = parse_yaml(example_content_path().read_text("utf-8"))
    broken = copy.deepcopy(document)
    broken["faq"][0]["answer"]["ru"] = "<b>Цены"
    try:
        validate(broken, example_content_path().parent)
    except DocumentError as exc:
        assert exc.problems == [Problem("faq[prices].answer.ru", "<b> is not closed")]
    else:
        raise AssertionError("an unclosed tag passed")
