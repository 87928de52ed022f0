"""One way out: every call to Telegram is paced per chat and globally and honours retry_after."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.sandbox.emulator import ApiCall, Emulator
from tests.conftest import OWNER_ID, Harness

APOLOGY = "something went wrong"


def calls_inside_a_retry_after(emu: Emulator) -> list[ApiCall]:
    """Calls to a chat made while a 429 Telegram gave for that chat was still running."""
    bad = []
    for index, refused in enumerate(emu.calls):
        if refused.retry_after is None:
            continue
        chat = refused.params.get("chat_id")
        until = refused.at + refused.retry_after
        bad += [c for c in emu.calls[index + 1 :] if c.params.get("chat_id") == chat and c.at < until]
    return bad


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_burst_of_customer_messages_is_answered_in_order(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.chat(1001)
    questions = ["how much is a monthly membership??", "Do you have a sauna?"] * 6
    updates = [harness.emu.send_message(1001, text) for text in questions]
    await harness.emu.wait_processed(updates[-1]["update_id"], timeout=30)
    answers = [m.plain_text or "" for m in harness.emu.messages(1001)]
    assert len(answers) == len(questions)
    assert all(APOLOGY not in a for a in answers)
    assert ["Unlimited month" in a for a in answers] == [True, False] * 6
    assert calls_inside_a_retry_after(harness.emu) == []
    assert errors(caplog) == []


async def test_an_owner_previewing_four_sequences_gets_every_step_in_order(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.chat(OWNER_ID, first_name="Owner")
    harness.emu.inject_429(2, retry_after=3)
    names = ["welcome", "yoga-intro", "four-visits", "win-back"]
    updates = [harness.emu.send_message(OWNER_ID, f"/preview {name}") for name in names]
    await harness.emu.wait_processed(updates[-1]["update_id"], timeout=30)
    sent = [m.plain_text or "" for m in harness.emu.messages(OWNER_ID)]
    headers = [text.split(" · ")[:2] for text in sent if " · step " in text]
    expected = [[name, f"step {i + 1}/{n}"] for name in names for i, n in [*_steps(harness, name)]]
    assert headers == expected
    assert all(APOLOGY not in text for text in sent)
    assert calls_inside_a_retry_after(harness.emu) == []
    assert errors(caplog) == []


def _steps(harness: Harness, name: str) -> list[tuple[int, int]]:
    seq = harness.app.content.sequence(name)
    assert seq is not None
    return [(i, len(seq.steps)) for i in range(len(seq.steps))]


async def handle_concurrently(harness: Harness) -> None:
    """Poll as production does: each update handled in its own task, so replies to one chat race."""
    await harness.stop()
    await harness.start()  # a fresh app; its polling task is swapped for a concurrent one
    assert harness._polling is not None
    await harness.app.stop()
    await harness._polling
    harness.app._stop_requested = False
    harness._polling = asyncio.create_task(
        harness.app.run_polling(handle_as_tasks=True, handle_signals=False, scheduler=False)
    )


async def answered(harness: Harness, chat_id: int, count: int) -> list[str]:
    await harness.emu.wait_until(lambda: len(harness.emu.messages(chat_id)) >= count, timeout=30)
    assert await harness.app.inflight.wait_idle(30)
    return [m.plain_text or "" for m in harness.emu.messages(chat_id)]


async def test_concurrent_replies_to_one_chat_all_arrive(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await handle_concurrently(harness)
    harness.chat(1001)
    harness.emu.inject_429(3, retry_after=2)  # Telegram's own flood control, on top of the bot's pacing
    questions = ["how much is a monthly membership??", "Do you have a sauna?"] * 8
    for text in questions:
        harness.emu.send_message(1001, text)
    answers = await answered(harness, 1001, len(questions))
    assert len(answers) == len(questions)
    assert sum("Unlimited month" in a for a in answers) == 8
    assert all(APOLOGY not in a for a in answers)
    assert sum(c.status == 429 for c in harness.emu.calls) == 3
    assert calls_inside_a_retry_after(harness.emu) == []
    assert errors(caplog) == []


async def test_concurrent_previews_all_arrive(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    await handle_concurrently(harness)
    harness.chat(OWNER_ID, first_name="Owner")
    names = ["welcome", "yoga-intro", "four-visits", "win-back"]
    for name in names:
        harness.emu.send_message(OWNER_ID, f"/preview {name}")
    steps = sum(len(_steps(harness, name)) for name in names)
    sent = await answered(harness, OWNER_ID, 2 * steps)
    assert sum(" · step " in text for text in sent) == steps
    assert all(APOLOGY not in text for text in sent)
    assert calls_inside_a_retry_after(harness.emu) == []
    assert errors(caplog) == []


async def test_a_reply_to_someone_who_blocked_the_bot_is_no_error(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    chat = harness.chat(1001)
    harness.emu.block(1001)  # e.g. blocked right after writing
    await chat.send("Do you have a sauna?")
    assert errors(caplog) == []
    assert harness.emu.messages(1001) == []


async def test_with_log_sends_every_message_logs_its_departure_and_nothing_else_does(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.outbound import sends

    sends.setLevel(logging.INFO)  # what LOG_SENDS=true sets (bot/cli.py)
    try:
        harness.chat(1001)
        update = harness.emu.send_message(1001, "how much is a monthly membership??")
        await harness.emu.wait_processed(update["update_id"], timeout=10)
    finally:
        sends.setLevel(logging.WARNING)
    departures = [r.getMessage() for r in caplog.records if r.name == sends.name]
    sent = [c for c in harness.emu.calls if c.method.startswith("send") and c.method != "sendChatAction"]
    assert sent and len(departures) == len(sent)
    names = [f"departs {c.method[0].upper()}{c.method[1:]} at " for c in sent]
    assert all(line.startswith(name) for line, name in zip(departures, names, strict=True))
    assert all("1001" not in line for line in departures)  # no chat in the log
