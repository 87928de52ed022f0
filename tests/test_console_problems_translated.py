"""A mistake on a console content page is explained next to its field in the page's language (issue 12):
pydantic's own refusals in our words, the content model's checks and Telegram's markup rules alike; and
the content's history names each change in that language too."""

from __future__ import annotations

import re

import aiohttp
import pytest

from flows.content_summaries import FORMS, summary
from flows.content_summaries import shown as shown_summary
from flows.i18n import translator
from tests.conftest import Harness
from tests.console_helpers import (
    choose_language,
    console_url,
    form,
    owner_session,  # noqa: F401  (the `owner` fixture)
    post,
)

# language → what each mistake below says next to its field
SAID = {
    "ru": {
        "welcome_points": "должно быть не меньше 0",
        "tiers": "перечислите их от меньшего min_purchases к большему, без повторов",
        "delay": "&#39;abc&#39; — не длительность (пишите, например, 30s, 10m, 2h, 3d)",
        "text.en": "&lt;b&gt; не закрыт",
        "date0.month": "должно быть не больше 12",
        "date0.days_before": "нужно целое число",
    },
    "uk": {
        "welcome_points": "має бути не менше 0",
        "tiers": "перелічіть їх від меншого min_purchases до більшого, без повторів",
        "delay": "&#39;abc&#39; — не тривалість (пишіть, наприклад, 30s, 10m, 2h, 3d)",
        "text.en": "&lt;b&gt; не закрито",
        "date0.month": "має бути не більше 12",
        "date0.days_before": "потрібне ціле число",
    },
}


def shown(page: str, field: str, text: str) -> bool:
    return f'<p class="error" id="{field}-error">{text}</p>' in page


@pytest.mark.parametrize("language", ["ru", "uk"])
async def test_loyalty_mistakes_are_explained_in_the_page_language(
    harness: Harness, owner: aiohttp.ClientSession, language: str
) -> None:
    base = await console_url(harness)
    await choose_language(owner, base, language)
    fields = await form(owner, f"{base}/content/loyalty")
    fields["welcome_points"] = "-5"  # pydantic's bound
    status, page = await post(owner, f"{base}/content/loyalty", fields)
    assert status == 422 and shown(page, "welcome_points", SAID[language]["welcome_points"]), page
    fields["welcome_points"], fields["tier2.min_purchases"] = "0", "1"  # the model's own check
    status, page = await post(owner, f"{base}/content/loyalty", fields)
    assert status == 422 and shown(page, "tiers", SAID[language]["tiers"])


@pytest.mark.parametrize("language", ["ru", "uk"])
async def test_step_mistakes_are_explained_in_the_page_language(
    harness: Harness, owner: aiohttp.ClientSession, language: str
) -> None:
    base = await console_url(harness)
    await choose_language(owner, base, language)
    url = f"{base}/content/sequences/welcome/steps/1"
    fields = await form(owner, url)
    fields["delay"] = "abc"  # a duration parser's refusal
    status, page = await post(owner, url, fields)
    assert status == 422 and shown(page, "delay", SAID[language]["delay"])
    fields["delay"], fields["text.en"] = "1m", "<b>Hi"  # Telegram's markup rules
    status, page = await post(owner, url, fields)
    assert status == 422 and shown(page, "text.en", SAID[language]["text.en"])


@pytest.mark.parametrize("language", ["ru", "uk"])
async def test_date_mistakes_are_explained_in_the_page_language(
    harness: Harness, owner: aiohttp.ClientSession, language: str
) -> None:
    base = await console_url(harness)
    await choose_language(owner, base, language)
    url = f"{base}/content/dates"
    fields = await form(owner, url)
    fields.update({"date0.month": "13", "date0.days_before": "abc"})
    status, page = await post(owner, url, fields)
    assert status == 422
    assert shown(page, "date0.month", SAID[language]["date0.month"])
    assert shown(page, "date0.days_before", SAID[language]["date0.days_before"])
    assert await harness.services["content_edits"].versions() == []


async def test_a_problem_above_the_form_keeps_its_path_and_is_translated(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    await choose_language(owner, base, "ru")
    text = (await harness.services["content_edits"].export_yaml()).replace("currency: UAH", "currency: ZZZ")
    token_page = await form(owner, f"{base}/content/import")
    data = aiohttp.FormData({"csrf_token": token_page["csrf_token"], "base": token_page.get("base", "")})
    data.add_field("file", text.encode(), filename="content.yaml", content_type="application/x-yaml")
    async with owner.post(f"{base}/content/import", data=data) as response:
        page = await response.text()
    assert response.status == 422
    assert "<code>loyalty.currency</code>: неизвестная валюта &#39;ZZZ&#39;" in page


async def test_the_history_names_each_change_in_the_page_language(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    await choose_language(owner, base, "uk")
    url = f"{base}/content/sequences/welcome/steps/1"
    fields = await form(owner, url)
    fields["delay"] = "2m"
    status, _ = await post(owner, url, fields)
    assert status == 200
    async with owner.get(f"{base}/content/versions") as response:
        page = await response.text()
    assert "ланцюжок welcome: крок 1 збережено" in page
    [version, _file] = await harness.services["content_edits"].versions()
    assert version.summary == "sequence welcome: step 1 saved"  # stored in English, as the command line shows it


def test_every_summary_form_reads_back_and_other_words_stay_as_written() -> None:
    for form_ in FORMS:
        values = {name: f"v{i}" for i, name in enumerate(re.findall(r"\{(\w+)\}", form_))}
        assert shown_summary(summary(form_, **values)).values == values
        assert shown_summary(summary(form_, **values)).msgid == form_
    assert (
        shown_summary("fixed the prices before the sale").text(translator("ru"))
        == "fixed the prices before the sale"
    )


@pytest.mark.parametrize(
    ("language", "said"), [("ru", "в ответе 5\u00a0000 символов"), ("uk", "у відповіді 5\u00a0000 символів")]
)
async def test_an_faq_answer_too_long_is_explained_in_the_page_language(
    harness: Harness, owner: aiohttp.ClientSession, language: str, said: str
) -> None:
    base = await console_url(harness)
    await choose_language(owner, base, language)
    url = f"{base}/content/faq/prices"
    fields = await form(owner, url)
    fields["answer.en"] = "x" * 5000
    status, page = await post(owner, url, fields)
    assert status == 422 and f'<p class="error" id="answer.en-error">{said}' in page


@pytest.mark.parametrize(
    ("language", "said"), [("ru", "неизвестная подстановка {phone}"), ("uk", "невідома підстановка {phone}")]
)
async def test_a_customer_text_with_a_wrong_placeholder_is_explained_in_the_page_language(
    harness: Harness, owner: aiohttp.ClientSession, language: str, said: str
) -> None:
    base = await console_url(harness)
    await choose_language(owner, base, language)
    url = f"{base}/content/texts/welcome"
    fields = await form(owner, url)
    fields["text.en"] = "Hello {phone}!"
    status, page = await post(owner, url, fields)
    assert status == 422 and f'<p class="error" id="text.en-error">{said} (' in page
