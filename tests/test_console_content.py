"""The console's content pages over HTTP: FAQ edits reach customers, problems sit by their field, previews
are escaped, "send to me" goes through the bot, versions revert, YAML goes out and comes in — owner only."""

from __future__ import annotations

import aiohttp

from flows.content import example_content_path
from tests.conftest import OWNER_ID, Harness
from tests.console_helpers import (
    console_url,
    csrf_token,
    form,
    http_login,
    owner_session,  # noqa: F401  (the `owner` fixture)
)
from tests.loyalty_helpers import hire

MANAGER_ID = 502


async def entry_form(client: aiohttp.ClientSession, base: str, entry_id: str) -> dict[str, str]:
    """The edit form's fields as the page filled them (what a browser would post back)."""
    return await form(client, f"{base}/content/faq/{entry_id}")


async def post_entry(
    client: aiohttp.ClientSession, base: str, entry_id: str, fields: dict[str, str], action: str = "save"
) -> tuple[int, str]:
    async with client.post(
        f"{base}/content/faq/{entry_id}", data={**fields, "action": action}, allow_redirects=True
    ) as response:
        return response.status, await response.text()


async def test_an_answer_edited_in_the_console_reaches_the_customer(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    fields = await entry_form(owner, base, "prices")
    assert fields["answer.en"].startswith("<b>Prices</b>")
    fields["answer.en"] = "<b>Prices</b>\nEverything is <i>half price</i> this week."
    status, page = await post_entry(owner, base, "prices", fields)
    assert status == 200 and "Saved as version 2" in page
    [answer] = await harness.chat(1001).send("What are your prices?")
    assert answer.plain_text == "Prices\nEverything is half price this week."
    assert [label for row in answer.buttons for label, _ in row] == ["Buy a pass"]  # the buttons kept


async def test_a_problem_is_shown_next_to_its_field_and_nothing_is_saved(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    fields = await entry_form(owner, base, "prices")
    fields["answer.ru"] = "<b>Цены"
    status, page = await post_entry(owner, base, "prices", fields)
    assert status == 422
    assert '<p class="error" id="answer.ru-error">&lt;b&gt; is not closed</p>' in page
    assert "&lt;b&gt;Цены</textarea>" in page  # what was typed stays in the form
    fields["answer.ru"] = "<b>Цены</b>"
    fields["button0.type"], fields["button0.url"] = "link", "ftp://nowhere"
    status, page = await post_entry(owner, base, "prices", fields)
    assert status == 422
    assert '<p class="error" id="buttons[1]-error">a link button needs url starting with https://</p>' in page
    assert await harness.services["content_edits"].versions() == []


async def test_the_preview_shows_formatting_and_escapes_everything_else(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    fields = await entry_form(owner, base, "prices")
    fields["answer.en"] = 'Tom & Jerry <b>bold</b> <a href="https://example.com/?a=1&amp;b=2">map</a>'
    fields["title.en"] = "<script>alert(1)</script>"
    status, page = await post_entry(owner, base, "prices", fields, "preview")
    assert status == 200
    assert (
        'Tom &amp; Jerry <b>bold</b> <a href="https://example.com/?a=1&amp;b=2" rel="noopener noreferrer"'
        ' target="_blank">map</a>'
    ) in page
    assert "<script>alert(1)</script>" not in page
    assert await harness.services["content_edits"].versions() == []  # a preview saves nothing


async def test_send_to_me_delivers_the_unsaved_answer_to_the_owner_in_the_bot(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    fields = await entry_form(owner, base, "prices")
    fields["answer.ru"] = "<b>Цены</b>\nНовая цена"
    fields["preview_language"] = "ru"
    status, page = await post_entry(owner, base, "prices", fields, "send")
    assert status == 200 and "Sent to your chat with the bot" in page
    status, page = await post_entry(owner, base, "prices", fields, "send")  # a double click
    assert status == 200 and "Already sent" in page
    await harness.tick()  # the outbox's drain, as the scheduler runs it every second
    [got] = harness.chat(OWNER_ID).messages()[-1:]
    assert got.plain_text == "Цены\nНовая цена"
    assert [label for row in got.buttons for label, _ in row] == ["Купить абонемент"]
    assert [m.plain_text for m in harness.chat(OWNER_ID).messages()].count(got.plain_text) == 1
    assert await harness.services["content_edits"].versions() == []  # tried, not saved


async def test_versions_list_who_and_what_and_revert_brings_the_old_answer_back(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    fields = await entry_form(owner, base, "prices")
    fields["answer.en"] = "Free for everyone"
    await post_entry(owner, base, "prices", fields)
    async with owner.get(f"{base}/content/versions") as response:
        page = await response.text()
    assert "faq[prices].answer.en" in page and "the content file" in page
    token = await csrf_token(owner, base)
    async with owner.post(
        f"{base}/content/versions/1/revert", data={"csrf_token": token, "base": "2"}
    ) as response:
        assert response.status == 200
        assert "Version 1 brought back as version 3." in await response.text()
    [answer] = await harness.chat(1001).send("What are your prices?")
    assert "Unlimited month — 2 800 ₴" in answer.plain_text
    async with owner.get(f"{base}/content/versions/3") as response:
        diff = await response.text()
    assert "-    en: Free for everyone" in diff


async def test_export_downloads_the_current_yaml_and_a_broken_import_is_refused_with_its_key(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    async with owner.get(f"{base}/content/export") as response:
        assert response.headers["Content-Disposition"] == 'attachment; filename="content.yaml"'
        assert await response.text() == example_content_path().read_text("utf-8")
    broken = example_content_path().read_text("utf-8").replace("id: prices", "id: Prices!")
    form = aiohttp.FormData()
    form.add_field("csrf_token", await csrf_token(owner, base))
    form.add_field("file", broken.encode(), filename="mine.yaml", content_type="application/yaml")
    async with owner.post(f"{base}/content/import", data=form) as response:
        assert response.status == 422
        assert "<code>faq[Prices!].id</code>: use lower-case latin letters" in await response.text()


async def test_a_manager_may_not_open_or_change_the_content(harness: Harness) -> None:
    await hire(harness, MANAGER_ID, "manager", "Max")
    base = await console_url(harness)
    client = await http_login(harness, MANAGER_ID)
    try:
        async with client.get(f"{base}/content/faq") as response:
            assert response.status == 403
        token = await csrf_token(client, base)
        data = {"csrf_token": token, "answer.en": "hacked", "action": "save"}
        async with client.post(f"{base}/content/faq/prices", data=data) as response:
            assert response.status == 403
    finally:
        await client.close()
    assert await harness.services["content_edits"].versions() == []


async def test_a_business_text_edited_in_the_console_is_what_the_bot_says(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    async with owner.get(f"{base}/content/texts/help") as response:
        assert response.status == 200
    token = await csrf_token(owner, base)
    data = {"csrf_token": token, "base": "", "text.en": "Ask <b>{business}</b> anything.", "action": "save"}
    data |= {
        "text.ru": "Спросите <b>{business}</b> о чём угодно.",
        "text.uk": "Запитайте <b>{business}</b> будь-що.",
    }
    async with owner.post(f"{base}/content/texts/help", data=data) as response:
        assert "Saved as version 2" in await response.text()
    [reply] = await harness.chat(1001).send("/help")
    assert reply.plain_text.startswith("Ask Sunrise Yoga & Coffee anything.")


async def test_a_text_with_an_unknown_placeholder_is_refused_next_to_its_language(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    token = await csrf_token(owner, base)
    data = {"csrf_token": token, "base": "", "text.en": "Hi {nmae}", "text.ru": "Привет", "text.uk": "Привіт"}
    async with owner.post(f"{base}/content/texts/welcome", data={**data, "action": "save"}) as response:
        assert response.status == 422
        page = await response.text()
    assert '<p class="error" id="text.en-error">unknown placeholder {nmae} (allowed: business, name)</p>' in page


async def test_a_forged_form_gets_a_plain_answer_not_an_error(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    fields = await entry_form(owner, base, "prices")
    for rows in ("lots", "99999999999"):
        status, page = await post_entry(owner, base, "prices", {**fields, "button_rows": rows}, "preview")
        assert status == 200 and "As customers see it" in page
    async with owner.get(f"{base}/content/faq/Not%20An%20Id") as response:
        assert response.status == 404
    async with owner.get(f"{base}/content/versions/12x") as response:
        assert response.status == 404


async def test_a_save_over_someone_elses_newer_save_is_refused_and_keeps_the_typing(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    mine = await entry_form(owner, base, "prices")
    theirs = dict(mine)
    theirs["answer.en"] = "Theirs"
    assert (await post_entry(owner, base, "prices", theirs))[0] == 200
    mine["answer.en"] = "Mine"
    status, page = await post_entry(owner, base, "prices", mine)
    assert status == 409 and "Someone saved the content after you opened this page." in page
    assert ">Mine</textarea>" in page
    assert harness.services["faq"].entry("prices").answer["en"] == "Theirs"


async def test_a_removed_entry_is_no_longer_answered_and_one_still_linked_cannot_be_removed(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    fields = await entry_form(owner, base, "schedule")
    fields["button1.type"], fields["button1.faq"], fields["button1.text.en"] = "faq", "parking", "Parking"
    fields["button1.text.ru"] = fields["button1.text.uk"] = "Парковка"
    assert (await post_entry(owner, base, "schedule", fields))[0] == 200
    status, page = await post_entry(owner, base, "parking", await entry_form(owner, base, "parking"), "remove")
    assert status == 422 and "unknown faq entry &#39;parking&#39;" in page
    status, page = await post_entry(owner, base, "kids", await entry_form(owner, base, "kids"), "remove")
    assert status == 200 and "The entry was removed (version 3)." in page
    assert harness.services["faq"].entry("kids") is None


async def test_a_new_entry_is_added_from_the_list_and_answered(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    async with owner.get(f"{base}/content/faq?new=Sauna!") as response:
        assert "Use 1–32 small Latin letters" in await response.text()
    async with owner.get(f"{base}/content/faq?new=sauna") as response:
        assert str(response.url).endswith("/content/faq/sauna") and "New FAQ entry" in await response.text()
    fields = await entry_form(owner, base, "sauna")
    fields |= {"questions.en": "Do you have a sauna?", "answer.en": "Yes, a <i>Finnish</i> one."}
    status, page = await post_entry(owner, base, "sauna", fields)
    assert status == 422 and 'id="questions.ru-error"' in page  # Russian is not allowed to fall back here
    fields |= {
        "questions.ru": "Есть ли сауна?",
        "answer.ru": "Да.",
        "questions.uk": "Чи є сауна?",
        "answer.uk": "Так.",
    }
    status, page = await post_entry(owner, base, "sauna", fields)
    assert status == 200 and "Saved as version 2" in page
    [answer] = await harness.chat(1001).send("Do you have a sauna?")
    assert answer.plain_text == "Yes, a Finnish one."
