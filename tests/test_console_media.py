"""Photos uploaded in the console and "Send to me": an upload is checked by its bytes, stored in the
database and sent by the bot (its bytes once, Telegram's file id after); "send to me" queues the form's
unsaved message for the person's own chat — once per click, never for a cashier, never when invalid."""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, datetime, timedelta

import aiohttp

from tests.conftest import OWNER_ID, Harness
from tests.console_helpers import (
    console_url,
    csrf_token,
    form,
    http_login,
    owner_session,  # noqa: F401 (the `owner` fixture)
)
from tests.loyalty_helpers import CASHIER_ID, hire
from tests.test_console_content import entry_form


def png(colour: bytes = b"\xff\x00\x00", width: int = 1, height: int = 1) -> bytes:
    """A valid PNG of one colour (different colours or sizes: different files)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress((b"\x00" + colour * width) * height)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


async def post_with_file(
    client: aiohttp.ClientSession,
    url: str,
    fields: dict[str, str],
    action: str,
    file: tuple[str, bytes, str] | None = None,
    file_field: str = "photo_file",
) -> tuple[int, str]:
    """The form as a browser posts it with a file chosen: multipart."""
    form = aiohttp.FormData()
    for name, value in {**fields, "action": action}.items():
        form.add_field(name, value)
    if action:
        form.add_field(action, "1")  # the button pressed (the FAQ form's `action`, the broadcast form's own)
    if file is not None:
        name, data, content_type = file
        form.add_field(file_field, data, filename=name, content_type=content_type)
    async with client.post(url, data=form) as response:
        return response.status, await response.text()


async def test_an_uploaded_photo_is_saved_and_the_customer_gets_it_with_the_answer(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    fields = await entry_form(owner, base, "prices")
    picture = png()
    status, page = await post_with_file(
        owner, f"{base}/content/faq/prices", fields, "save", ("prices.png", picture, "image/png")
    )
    assert status == 200 and "Saved as version 2" in page
    assert 'value="media:1"' in page and 'src="/media/1"' in page  # the saved answer's preview shows it
    [answer] = await harness.chat(1001).send("What are your prices?")
    assert answer.kind == "photo" and answer.file is not None and answer.file.data == picture
    assert answer.plain_text.startswith("Prices")
    [again] = await harness.chat(1002).send("What are your prices?")
    assert again.file is not None and again.file.file_id == answer.file.file_id  # uploaded once
    async with owner.get(f"{base}/media/1") as response:
        assert response.status == 200 and response.content_type == "image/png"
        assert await response.read() == picture
    export = await harness.services["content_edits"].export_yaml()
    assert "photo: media:1" in export  # the content names the upload: export and import keep it
    back = await harness.services["content_edits"].import_yaml(export, OWNER_ID, 2)
    assert back.unchanged and not back.problems  # the round trip loses nothing


async def test_send_to_me_sends_the_unsaved_answer_with_its_uploaded_photo_once(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    fields = await entry_form(owner, base, "prices")
    fields["answer.en"] = "<b>Prices</b> are <i>lower</i> now"
    picture = png(b"\x00\x00\xff")
    url = f"{base}/content/faq/prices"
    status, page = await post_with_file(owner, url, fields, "send", ("p.png", picture, "image/png"))
    assert status == 200 and "Sent to your chat with the bot" in page
    assert 'src="/media/1"' in page  # the preview shows the upload
    fields["photo"] = "media:1"
    status, page = await post_with_file(owner, url, fields, "send")  # the same form posted twice
    assert "Already sent" in page
    await harness.tick()
    [got] = harness.chat(OWNER_ID).messages()[-1:]
    assert got.kind == "photo" and got.file is not None and got.file.data == picture
    assert got.caption == "<b>Prices</b> are <i>lower</i> now"
    assert [m.kind for m in harness.chat(OWNER_ID).messages()].count("photo") == 1
    assert await harness.services["content_edits"].versions() == []  # tried, not saved


async def test_a_file_that_is_no_photo_is_refused_next_to_the_field_and_nothing_is_sent(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    fields = await entry_form(owner, base, "prices")
    gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
    before = len(harness.chat(OWNER_ID).messages())
    status, page = await post_with_file(
        owner,
        f"{base}/content/faq/prices",
        fields,
        "send",
        ("cat.png", gif, "image/png"),  # the name lies
    )
    assert status == 422
    assert (
        '<p class="error" id="photo-error">This file is not a photo: upload a JPEG, PNG or WebP picture.</p>'
        in page
    )
    await harness.tick()
    assert len(harness.chat(OWNER_ID).messages()) == before
    assert await harness.services["media"].kinds() == {}


async def test_an_invalid_form_sends_nothing_and_shows_the_problem(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    fields = await entry_form(owner, base, "prices")
    fields["answer.en"] = "<b>Prices"
    before = len(harness.chat(OWNER_ID).messages())
    status, page = await post_with_file(owner, f"{base}/content/faq/prices", fields, "send")
    assert status == 422 and '<p class="error" id="answer.en-error">&lt;b&gt; is not closed</p>' in page
    await harness.tick()
    assert len(harness.chat(OWNER_ID).messages()) == before


async def test_a_cashier_cannot_send_to_me_nor_open_uploads(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    fields = await entry_form(owner, base, "prices")
    await post_with_file(owner, f"{base}/content/faq/prices", fields, "save", ("p.png", png(), "image/png"))
    await hire(harness)
    cashier = await http_login(harness, CASHIER_ID)
    try:
        async with cashier.get(f"{base}/") as response:
            token = (await response.text()).split('name="csrf_token" value="')[1].split('"')[0]
        status, _ = await post_with_file(
            cashier, f"{base}/content/faq/prices", {**fields, "csrf_token": token}, "send"
        )
        assert status == 403
        async with cashier.get(f"{base}/media/1") as response:
            assert response.status == 403
    finally:
        await cashier.close()
    await harness.tick()
    assert harness.chat(CASHIER_ID).messages()[-1].kind != "photo"


async def test_content_naming_an_upload_the_database_lacks_is_refused(harness: Harness) -> None:
    edits = harness.services["content_edits"]
    text = (await edits.export_yaml()).replace("  - id: prices\n", "  - id: prices\n    photo: media:7\n", 1)
    assert "media:7" in text
    outcome = await edits.import_yaml(text, OWNER_ID, None)
    assert not outcome.ok
    assert any(
        "there is no uploaded photo" in problem.message and "media:7" in problem.message
        for problem in outcome.problems
    )


# --- broadcasts -----------------------------------------------------------------------------------

MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00\x00\x00\x08mdat"


async def broadcast_form(client: aiohttp.ClientSession, base: str) -> dict[str, str]:
    token = await csrf_token(client, base)
    return {"csrf_token": token, "key": "k" * 32, "segment": "everyone", "text": "<b>Spring</b> sale"}


async def test_send_to_me_sends_a_broadcast_with_an_uploaded_video_even_in_quiet_hours(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    harness.clock.advance(timedelta(hours=9))  # 23:00 in Kyiv: customers get nothing now, the owner asked
    base = await console_url(harness)
    fields = await broadcast_form(owner, base)
    url = f"{base}/broadcasts/new"
    status, page = await post_with_file(
        owner, url, fields, "send_to_me", ("clip.mp4", MP4, "video/mp4"), "media_file"
    )
    assert status == 200 and "Sent to your chat with the bot" in page
    assert '<video class="preview-media" src="/media/1"' in page
    await harness.tick()
    [got] = harness.chat(OWNER_ID).messages()[-1:]
    assert got.kind == "video" and got.file is not None and got.file.data == MP4
    assert got.caption == "<b>Spring</b> sale"
    assert await harness.services["broadcasts"].repo.recent(5) == []  # tried, nothing broadcast


async def test_a_video_caption_over_1024_characters_is_refused_and_nothing_is_sent(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    fields = await broadcast_form(owner, base)
    fields["text"] = "x" * 1025
    url = f"{base}/broadcasts/new"
    before = len(harness.chat(OWNER_ID).messages())
    status, page = await post_with_file(
        owner, url, fields, "send_to_me", ("clip.mp4", MP4, "video/mp4"), "media_file"
    )
    assert status == 422 and "The message is 1025 characters; Telegram allows 1024 here." in page
    await harness.tick()
    assert len(harness.chat(OWNER_ID).messages()) == before


async def test_a_broadcast_with_an_uploaded_photo_reaches_customers_with_it(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    await harness.chat(1001).send("/start")
    base = await console_url(harness)
    fields = await broadcast_form(owner, base)
    picture = png()
    url = f"{base}/broadcasts/new"
    status, page = await post_with_file(owner, url, fields, "", ("sale.png", picture, "image/png"), "media_file")
    assert status == 200 and "Confirm the broadcast" in page
    assert 'name="photo" value="media:1"' in page and 'name="media_type" value="photo"' in page
    fields.update(photo="media:1", media_type="photo", confirm="1")
    async with owner.post(url, data=fields, allow_redirects=False) as response:
        assert response.status == 303
    await harness.tick()
    got = harness.chat(1001).last()
    assert got is not None and got.kind == "photo" and got.file is not None and got.file.data == picture


# --- sequence steps -------------------------------------------------------------------------------


async def test_a_step_with_an_uploaded_photo_is_sent_to_the_owner_then_saved_and_reaches_customers(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    chat = harness.chat(1001)
    await chat.send("/start")  # Monday 12:00 UTC; step 2 the next day at 11:00 Kyiv
    await harness.advance(seconds=60)
    base = await console_url(harness)
    url = f"{base}/content/sequences/welcome/steps/2"
    fields = await form(owner, url)
    fields["text.en"] = "Tomorrow's class is <b>on the house</b>."
    fields["preview_language"] = "en"
    picture = png(b"\x00\xff\x00")
    status, page = await post_with_file(owner, url, fields, "send", ("class.png", picture, "image/png"))
    assert status == 200 and "Sent to your chat with the bot" in page and 'src="/media/1"' in page
    await harness.tick()
    [tried] = harness.chat(OWNER_ID).messages()[-1:]
    assert tried.kind == "photo" and tried.file is not None and tried.file.data == picture
    assert tried.caption == "Tomorrow's class is <b>on the house</b>."
    assert [label for row in tried.buttons for label, _ in row]  # the step's buttons, as customers get them
    fields["photo"] = "media:1"
    status, page = await post_with_file(owner, url, fields, "save")
    assert status == 200 and "Saved as version 2" in page
    harness.clock.set(datetime(2026, 1, 6, 9, 0, tzinfo=UTC))
    await harness.tick()
    got = [m for m in chat.messages() if m.kind == "photo"]
    assert got and got[-1].file is not None and got[-1].file.data == picture
    assert got[-1].plain_text == "Tomorrow's class is on the house."


# --- business texts -------------------------------------------------------------------------------


async def test_send_to_me_sends_a_business_text_as_typed_with_its_placeholders_shown(
    harness: Harness, owner: aiohttp.ClientSession
) -> None:
    base = await console_url(harness)
    url = f"{base}/content/texts/welcome"
    fields = await form(owner, url)
    fields["text.en"] = "Hi {name}, welcome to <b>{business}</b>!"
    status, page = await post_with_file(owner, url, fields, "send")
    assert status == 200 and "Sent to your chat with the bot" in page
    fields["text.en"] = "Hi {nobody}"
    status, page = await post_with_file(owner, url, fields, "send")
    assert status == 422 and "nobody" in page
    await harness.tick()
    [got] = harness.chat(OWNER_ID).messages()[-1:]
    business = harness.services["live_content"].current.business.name
    assert got.plain_text == f"Hi {{name}}, welcome to {business}!" and got.text is not None and "<b>" in got.text
    assert await harness.services["content_edits"].versions() == []


async def test_a_stranger_may_not_post_a_big_body(harness: Harness) -> None:
    base = await console_url(harness)
    client = aiohttp.ClientSession(headers={"Origin": base})
    async with client, client.post(f"{base}/content/faq/prices", data=b"x" * 100_000) as response:
        assert response.status == 413  # uploads are for signed-in people only
