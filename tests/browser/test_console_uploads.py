"""Uploads and "Send to me" in a real browser: the owner uploads a photo for an FAQ answer, presses Send to me,
and their own chat with the bot gets the photo with the answer as its caption."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import OWNER_ID, Harness
from tests.console_helpers import log_in_by_link, screenshot_path
from tests.test_console_media import png

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_owner_uploads_a_photo_and_sends_the_answer_to_themselves(
    page: Any, harness: Harness, console: str
) -> None:
    await log_in_by_link(page, harness)
    await page.goto(f"{console}/content/faq/prices")
    picture = png(b"\x20\x80\xc0", width=320, height=180)
    await page.locator("#photo_file").set_input_files(
        {"name": "studio.png", "mimeType": "image/png", "buffer": picture}
    )
    await page.locator("#answer\\.en").fill("<b>Prices</b>\nA class is <i>350 ₴</i>.")
    await page.locator("#preview_language").select_option("en")
    await page.get_by_role("button", name="Send to me").click()
    assert "Sent to your chat with the bot" in await page.locator(".notice").inner_text()
    assert await page.locator("#photo").input_value() == "media:1"  # the upload, kept for the save
    image = page.locator('.chat[lang="en"] img.preview-media')
    assert await image.evaluate("img => img.complete && img.naturalWidth") == 320  # served by the console
    await page.screenshot(path=screenshot_path("content-faq-send-to-me"), full_page=True)
    await harness.tick()  # the outbox's drain (the scheduler's, every second)
    got = harness.chat(OWNER_ID).last()
    assert got is not None and got.kind == "photo" and got.file is not None and got.file.data == picture
    assert got.caption == "<b>Prices</b>\nA class is <i>350 ₴</i>."
    assert await harness.services["content_edits"].versions() == []  # tried, not saved
