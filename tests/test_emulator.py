"""The Bot API emulator, exercised by a real aiogram Bot and Dispatcher over loopback HTTP."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import Command, CommandStart
from aiogram.methods import SendMessage
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    MenuButtonCommands,
    Message,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.sandbox.delivery import WebhookDelivery
from bot.sandbox.driver import ChatDriver
from bot.sandbox.emulator import TINY_PNG, Emulator
from bot.sandbox.emulator_html import EntityParseError, format_text

USER = 1001
GROUP = -1001234567890


# --- fixtures and a small demo bot ----------------------------------------------------------


def demo_router() -> Router:
    """A bot with one handler per behaviour under test."""
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text="Balance", callback_data="bal")],
                [InlineKeyboardButton(text="Site", url="https://example.com")],
            ]
        )
        name = message.from_user.first_name if message.from_user else "?"
        await message.answer(f"Welcome, <b>{name}</b> &amp; co!", parse_mode="HTML", reply_markup=keyboard)

    @router.callback_query(F.data == "bal")
    async def balance(callback: CallbackQuery) -> None:
        await callback.answer("Counting…")
        assert isinstance(callback.message, Message)
        await callback.message.edit_text("Balance: 42")

    @router.message(Command("ping"))
    async def ping(message: Message) -> None:
        await message.answer("pong")

    @router.message(F.photo)
    async def photo(message: Message, bot: Bot) -> None:
        assert message.photo
        file = await bot.get_file(message.photo[-1].file_id)
        assert file.file_path
        data = await bot.download_file(file.file_path)
        assert data is not None
        await message.answer_photo(BufferedInputFile(data.read(), "again.png"), caption=f"echo: {message.caption}")

    @router.message(F.contact)
    async def contact(message: Message) -> None:
        assert message.contact
        await message.answer(f"Saved {message.contact.phone_number}")

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    return router


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator() as emulator:
        yield emulator


class LoopbackSession(AiohttpSession):
    """aiogram's session, minus the 250 ms it waits on close for SSL connections (loopback HTTP has none)."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def make_bot(emu: Emulator, token: str | None = None) -> Bot:
    return Bot(token or emu.token, session=LoopbackSession(api=TelegramAPIServer.from_base(emu.api_base)))


@contextlib.asynccontextmanager
async def polling(emu: Emulator, router: Router | None = None) -> AsyncIterator[Bot]:
    """Run a real Dispatcher with long polling against the emulator for the block's duration."""
    bot = make_bot(emu)
    dp = Dispatcher()
    dp.include_router(router or demo_router())
    seen = len(emu.calls)
    task = asyncio.create_task(
        dp.start_polling(bot, handle_as_tasks=False, polling_timeout=1, handle_signals=False)
    )
    try:
        await emu.wait_for_call("getUpdates", after=seen)
        yield bot
    finally:
        if task.done():
            await task
        else:
            await dp.stop_polling()
            await task


@pytest.fixture
async def bot(emu: Emulator) -> AsyncIterator[Bot]:
    """A bot without a dispatcher, for calling methods directly; USER has started it."""
    emu.send_message(USER, "/start")
    client = make_bot(emu)
    try:
        yield client
    finally:
        await client.session.close()


# --- conversations through polling ----------------------------------------------------------


async def test_echo_round_trip(emu: Emulator) -> None:
    chat = ChatDriver(emu, USER, first_name="Anna")
    async with polling(emu):
        replies = await chat.send("hello there")
    assert [m.plain_text for m in replies] == ["hello there"]
    assert replies[0].method == "sendMessage"
    assert chat.last_text() == "hello there"


async def test_start_renders_html_with_entities_and_buttons(emu: Emulator) -> None:
    chat = ChatDriver(emu, USER, first_name="Anna")
    async with polling(emu):
        [welcome] = await chat.send("/start")
    assert welcome.plain_text == "Welcome, Anna & co!"
    assert welcome.text == "Welcome, <b>Anna</b> &amp; co!"
    assert welcome.entities == [{"type": "bold", "offset": 9, "length": 4}]
    assert welcome.buttons == [[("Balance", "bal")], [("Site", "https://example.com")]]


async def test_click_answers_callback_and_edits_message(emu: Emulator) -> None:
    chat = ChatDriver(emu, USER, first_name="Anna")
    async with polling(emu):
        [welcome] = await chat.send("/start")
        changed = await chat.click("Balance")
    assert changed == [welcome]
    assert welcome.plain_text == "Balance: 42"
    assert welcome.edits == 1
    assert welcome.reply_markup is None  # editMessageText without reply_markup drops the keyboard
    assert chat.last_callback_answer is not None
    assert chat.last_callback_answer.text == "Counting…"


async def test_click_on_missing_button_lists_the_buttons(emu: Emulator) -> None:
    chat = ChatDriver(emu, USER)
    async with polling(emu):
        await chat.send("/start")
        with pytest.raises(AssertionError, match="Balance"):
            await chat.click("Refund")


async def test_photo_round_trip_with_caption(emu: Emulator) -> None:
    chat = ChatDriver(emu, USER)
    async with polling(emu):
        [reply] = await chat.send_photo("a cat")
    assert reply.kind == "photo"
    assert reply.plain_text == "echo: a cat"
    assert reply.file_bytes == TINY_PNG
    assert reply.file is not None
    assert (reply.file.width, reply.file.height) == (1, 1)


async def test_shared_contact_reaches_the_bot(emu: Emulator) -> None:
    chat = ChatDriver(emu, USER)
    async with polling(emu):
        replies = await chat.share_contact("+380501234567")
    assert [m.plain_text for m in replies] == ["Saved +380501234567"]


async def test_forum_topic_thread_is_kept(emu: Emulator) -> None:
    emu.group(GROUP, "Managers", forum=True)
    manager = ChatDriver(emu, 500, chat_id=GROUP)
    async with polling(emu) as bot:
        topic = await bot.create_forum_topic(GROUP, "Lead #7")
        await bot.send_message(GROUP, "New lead", message_thread_id=topic.message_thread_id)
        [reply] = await manager.send("/ping", thread_id=topic.message_thread_id)
        with pytest.raises(TelegramBadRequest, match="message thread not found"):
            await bot.send_message(GROUP, "lost", message_thread_id=999)
    assert reply.thread_id == topic.message_thread_id
    in_topic = emu.messages(GROUP, thread_id=topic.message_thread_id)
    assert [m.plain_text for m in in_topic] == ["New lead", "pong"]


async def test_wait_processed_times_out_without_a_bot(emu: Emulator) -> None:
    update = emu.send_message(USER, "anyone?")
    with pytest.raises(TimeoutError, match=f"update {update['update_id']} was not processed"):
        await emu.wait_processed(update["update_id"], timeout=0.05)


async def test_wait_for_text_sees_proactive_messages(emu: Emulator, bot: Bot) -> None:
    chat = ChatDriver(emu, USER)
    await bot.send_message(USER, "Your gift is ready")  # sent before anyone waits: still new to the chat
    assert str(await chat.wait_for_text("GIFT")) == "Your gift is ready"
    waiting = asyncio.create_task(chat.wait_for_text("reminder"))
    await bot.send_message(USER, "A reminder: 10% off today")
    assert (await waiting).plain_text == "A reminder: 10% off today"
    with pytest.raises(TimeoutError, match="gift"):
        await chat.wait_for_text("gift", timeout=0.05)  # already seen


async def test_assorted_methods_parse_in_aiogram(emu: Emulator, bot: Bot) -> None:
    emu.group(GROUP, "Shop staff")
    emu.set_member(GROUP, 500, "creator")
    me = await bot.get_me()
    assert (me.username, me.id) == ("nurture_sandbox_bot", bot.id)
    await bot.set_my_commands([BotCommand(command="start", description="Begin")])
    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    assert (await bot.get_chat(USER)).first_name == "Test"
    assert (await bot.get_chat_member(GROUP, bot.id)).status == "administrator"
    assert (await bot.get_chat_member(GROUP, 500)).status == "creator"
    assert await bot.send_chat_action(USER, "typing")
    assert await bot.set_chat_menu_button(chat_id=USER, menu_button=MenuButtonCommands())
    doc = await bot.send_document(
        USER, BufferedInputFile(b"a,b\n1,2\n", "report.csv"), caption="<i>CSV</i>", parse_mode="HTML"
    )
    assert doc.document is not None and doc.document.file_name == "report.csv"
    assert doc.caption_entities is not None and doc.caption_entities[0].type == "italic"
    voice = await bot.send_voice(USER, BufferedInputFile(b"OggS-voice", "v.ogg"), duration=3)
    assert voice.voice is not None and voice.voice.duration == 3
    assert await bot.pin_chat_message(USER, doc.message_id)
    assert await bot.delete_message(USER, voice.message_id)
    assert [m.kind for m in emu.messages(USER)] == ["document"]
    assert emu.messages(USER)[0].pinned


# --- Telegram's validation ------------------------------------------------------------------


async def test_text_longer_than_4096_is_rejected(emu: Emulator, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER, "x" * 4097)
    # The limit applies to the visible text: markup does not count.
    await bot.send_message(USER, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(USER, "<b> </b>", parse_mode="HTML")


async def test_caption_longer_than_1024_is_rejected(emu: Emulator, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_photo(USER, BufferedInputFile(TINY_PNG, "p.png"), caption="c" * 1025)


async def test_callback_data_over_64_bytes_is_rejected(emu: Emulator, bot: Bot) -> None:
    def keyboard(data: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="x", callback_data=data)]])

    await bot.send_message(USER, "ok", reply_markup=keyboard("a" * 64))
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "bytes, not characters", reply_markup=keyboard("é" * 33))


@pytest.mark.parametrize("text", ["<b>unclosed", "Tom & Jerry", "line<br>break", "<b><i>x</b></i>"])
async def test_bad_html_is_rejected(emu: Emulator, bot: Bot, text: str) -> None:
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(USER, text, parse_mode="HTML")


async def test_unescaped_markdown_v2_is_rejected(emu: Emulator, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match=r"Character '\.' is reserved"):
        await bot.send_message(USER, "Total: 1.5", parse_mode="MarkdownV2")
    await bot.send_message(USER, "*Total:* 1\\.5", parse_mode="MarkdownV2")
    assert emu.last_message(USER) is not None
    assert emu.last_message(USER).plain_text == "Total: 1.5"  # type: ignore[union-attr]


async def test_edits_follow_telegram_rules(emu: Emulator, bot: Bot) -> None:
    sent = await bot.send_message(USER, "same")
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(chat_id=USER, message_id=sent.message_id, text="same")
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text(chat_id=USER, message_id=9999, text="new")
    await bot.edit_message_text(chat_id=USER, message_id=sent.message_id, text="new")
    [message] = emu.messages(USER)
    assert (message.plain_text, message.edits, message.history[0]["plain_text"]) == ("new", 1, "same")


async def test_sending_to_unknown_or_silent_users_fails(emu: Emulator, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(4242, "hi")
    emu.user(4343)
    with pytest.raises(TelegramForbiddenError, match="can't initiate conversation"):
        await bot.send_message(4343, "hi")


async def test_callback_query_can_be_answered_once(emu: Emulator, bot: Bot) -> None:
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Go", callback_data="go")]])
    sent = await bot.send_message(USER, "press", reply_markup=markup)
    update = emu.press_button(USER, sent.message_id, "go")
    query_id = update["callback_query"]["id"]
    await bot.answer_callback_query(query_id, text="done", show_alert=True)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id)
    with pytest.raises(ValueError, match="no button"):
        emu.press_button(USER, sent.message_id, "nope")
    assert [(a.text, a.show_alert) for a in emu.callback_answers] == [("done", True)]


async def test_media_group_copy_and_forward(emu: Emulator, bot: Bot) -> None:
    album = await bot.send_media_group(
        USER,
        [
            InputMediaPhoto(media=BufferedInputFile(TINY_PNG, "a.png"), caption="first"),
            InputMediaPhoto(media=BufferedInputFile(TINY_PNG, "b.png")),
        ],
    )
    assert len({m.media_group_id for m in album}) == 1
    copy = await bot.copy_message(USER, USER, album[0].message_id, caption="copied")
    forwarded = await bot.forward_message(USER, USER, album[1].message_id)
    assert forwarded.forward_origin is not None
    assert album[0].photo
    assert (await bot.send_photo(USER, album[0].photo[-1].file_id)).photo
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(USER, "no-such-file")
    kinds = [(m.method, m.kind, m.plain_text) for m in emu.messages(USER)]
    assert kinds[2:4] == [("copyMessage", "photo", "copied"), ("forwardMessage", "photo", None)]
    assert copy.message_id == emu.messages(USER)[2].message_id


# --- limits, faults, blocking -----------------------------------------------------------------


async def test_injected_429_surfaces_retry_after(emu: Emulator, bot: Bot) -> None:
    emu.inject_429(1, retry_after=3)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(USER, "hi")
    assert caught.value.retry_after == 3
    await bot.send_message(USER, "hi again")


async def test_injected_server_error(emu: Emulator, bot: Bot) -> None:
    emu.inject_error(1)
    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await bot.send_message(USER, "hi")


async def test_private_chat_burst_limit_uses_the_injected_clock() -> None:
    now = [100.0]
    async with Emulator(monotonic=lambda: now[0], chat_burst=3, chat_per_second=1.0) as emu:
        emu.send_message(USER, "/start")
        bot = make_bot(emu)
        try:
            sent = [await bot.send_message(USER, f"#{i}") for i in range(3)]
            with pytest.raises(TelegramRetryAfter) as caught:
                await bot.send_message(USER, "#3")
            assert caught.value.retry_after == 1
            await bot.edit_message_text(chat_id=USER, message_id=sent[0].message_id, text="edits are free")
            now[0] += 1.0
            await bot.send_message(USER, "#3")
        finally:
            await bot.session.close()


async def test_blocked_user_is_forbidden_until_start(emu: Emulator, bot: Bot) -> None:
    emu.block(USER)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(USER, "hi")
    emu.send_message(USER, "hello?")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(USER, "hi")
    update = emu.send_message(USER, "/start")  # "Restart" in the app unblocks
    await bot.send_message(USER, "welcome back")
    updates = await bot.get_updates(timeout=0)
    kinds = [u.event_type for u in updates]
    assert kinds[-2:] == ["my_chat_member", "message"]
    assert updates[-1].update_id == update["update_id"]


async def test_token_check_rejects_other_tokens() -> None:
    async with Emulator(token_check=True) as emu:
        bot = make_bot(emu, token="42:wrong")
        try:
            with pytest.raises(TelegramUnauthorizedError):
                await bot.get_me()
        finally:
            await bot.session.close()


# --- raw HTTP, getUpdates, webhook ----------------------------------------------------------


async def test_raw_http_json_query_and_unknown_method(emu: Emulator) -> None:
    emu.send_message(USER, "/start")
    base = f"{emu.api_base}/bot{emu.token}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/GETME") as resp:
            assert (resp.status, (await resp.json())["result"]["username"]) == (200, "nurture_sandbox_bot")
        async with http.post(f"{base}/sendMessage", json={"chat_id": USER, "text": "json body"}) as resp:
            assert (await resp.json())["result"]["text"] == "json body"
        async with http.get(f"{base}/sendMessage", params={"chat_id": str(USER), "text": "query"}) as resp:
            assert (await resp.json())["result"]["chat"]["id"] == USER
        async with http.post(f"{base}/noSuchMethod") as resp:
            assert (resp.status, await resp.json()) == (
                404,
                {"ok": False, "error_code": 404, "description": "Not Found"},
            )


async def test_long_poll_returns_on_new_update_and_offset_confirms(emu: Emulator, bot: Bot) -> None:
    first = await bot.get_updates(timeout=0)
    waiting = asyncio.create_task(bot.get_updates(offset=first[-1].update_id + 1, timeout=30))
    await emu.wait_for_call("getUpdates", after=1)
    update = emu.send_message(USER, "wake up")
    async with asyncio.timeout(2):
        [received] = await waiting
    assert received.update_id == update["update_id"]
    assert emu.calls_of("getUpdates")[-1].status is not None
    await bot.get_updates(offset=received.update_id + 1, timeout=0)
    await emu.wait_processed(update["update_id"], timeout=1)


async def test_webhook_delivery_with_secret_and_reply(emu: Emulator) -> None:
    router = Router()

    @router.message(F.text)
    async def shout(message: Message) -> SendMessage:
        return message.answer((message.text or "").upper())  # answered in the webhook response

    bot = make_bot(emu)
    dp = Dispatcher()
    dp.include_router(router)
    app = web.Application()
    SimpleRequestHandler(dp, bot, secret_token="s3cret", handle_in_background=False).register(app, path="/hook")
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        await bot.set_webhook(f"http://{host}:{port}/hook", secret_token="s3cret")
        with pytest.raises(TelegramConflictError, match="webhook is active"):
            await bot.get_updates()
        chat = ChatDriver(emu, USER)
        [reply] = await chat.send("quiet please")
        assert reply.plain_text == "QUIET PLEASE"

        await bot.set_webhook(f"http://{host}:{port}/hook", secret_token="wrong")
        assert await chat.send("hello") == []
        info = await bot.get_webhook_info()
        assert info.last_error_message is not None and "401" in info.last_error_message

        await bot.delete_webhook()  # the refused update is still Telegram's: it comes by getUpdates now
        assert [u.message.text for u in await bot.get_updates(timeout=0) if u.message] == ["hello"]
    finally:
        await runner.cleanup()  # also closes the bot session


@contextlib.asynccontextmanager
async def raw_webhook(
    emu: Emulator, handle: Callable[[dict[str, Any]], Awaitable[web.Response]], max_connections: int = 40
) -> AsyncIterator[None]:
    """A bare webhook server (no aiogram: the test sees every POST) registered with the emulator."""

    async def endpoint(request: web.Request) -> web.Response:
        return await handle(await request.json())

    app = web.Application()
    app.router.add_post("/hook", endpoint)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    bot = make_bot(emu)
    try:
        await bot.set_webhook(f"http://{host}:{port}/hook", max_connections=max_connections)
        yield
    finally:
        await bot.delete_webhook()
        await bot.session.close()
        await runner.cleanup()


def reply(update: dict[str, Any], text: str) -> web.Response:
    """A webhook answer carrying a sendMessage to the update's chat."""
    chat = update["message"]["chat"]["id"]
    return web.json_response({"method": "sendMessage", "chat_id": chat, "text": text})


async def test_webhook_posts_run_concurrently_but_one_at_a_time_per_chat(emu: Emulator) -> None:
    chats, per_chat = [USER, USER + 1, USER + 2], 3
    together = asyncio.Barrier(len(chats))  # every chat's first update must be in flight at once
    in_flight: dict[int, int] = dict.fromkeys(chats, 0)
    worst: dict[int, int] = dict.fromkeys(chats, 0)
    seen: dict[int, list[str]] = {chat: [] for chat in chats}

    async def handle(update: dict[str, Any]) -> web.Response:
        chat, text = update["message"]["chat"]["id"], update["message"]["text"]
        in_flight[chat] += 1
        worst[chat] = max(worst[chat], in_flight[chat])
        seen[chat].append(text)
        if text == "0":
            async with asyncio.timeout(2):
                await together.wait()
        for _ in range(3):
            await asyncio.sleep(0)  # give a second POST for this chat every chance to overlap
        in_flight[chat] -= 1
        return reply(update, f"re {text}")

    async with raw_webhook(emu, handle):
        updates = [emu.send_message(chat, str(i)) for i in range(per_chat) for chat in chats]
        for update in updates:
            await emu.wait_processed(update["update_id"])
    assert seen == {chat: ["0", "1", "2"] for chat in chats}
    assert worst == dict.fromkeys(chats, 1)
    assert [m.text for m in emu.messages(USER + 1)] == ["re 0", "re 1", "re 2"]
    assert emu.delivery is not None and emu.delivery.peak_connections >= len(chats)


async def test_webhook_connections_stay_within_max_connections(emu: Emulator) -> None:
    pairs = asyncio.Barrier(2)  # passes only in pairs: a limit above 2 would let a third POST in
    in_flight, peak = 0, 0

    async def handle(update: dict[str, Any]) -> web.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        async with asyncio.timeout(2):
            await pairs.wait()
        in_flight -= 1
        return reply(update, "ok")

    async with raw_webhook(emu, handle, max_connections=2):
        updates = [emu.send_message(USER + i, "hi") for i in range(6)]
        for update in updates:
            await emu.wait_processed(update["update_id"])
        await emu.wait_until(lambda: not emu.pending_updates())
    assert peak == 2
    assert all(emu.last_message(USER + i).text == "ok" for i in range(6))  # type: ignore[union-attr]


async def test_a_failed_webhook_post_is_retried_and_the_chat_waits_behind_it(emu: Emulator) -> None:
    failures = {"first": 2}  # the first message fails twice (a 500, then a dropped connection)
    posts: list[str] = []

    async def handle(update: dict[str, Any]) -> web.Response:
        text = update["message"]["text"]
        posts.append(text)
        if failures.get(text):
            failures[text] -= 1
            if failures[text]:
                return web.Response(status=500)
            raise ConnectionResetError  # aiohttp answers 500 and closes: a failure either way
        return reply(update, f"re {text}")

    async with raw_webhook(emu, handle):
        first = emu.send_message(USER, "first")
        second = emu.send_message(USER, "second")
        other = emu.send_message(USER + 1, "other")
        await emu.wait_until(lambda: not emu.pending_updates())
    assert posts.count("first") == 3 and posts.count("second") == 1 and posts.count("other") == 1
    assert posts.index("second") > max(i for i, text in enumerate(posts) if text == "first")
    assert [m.text for m in emu.messages(USER)] == ["re first", "re second"]
    assert all(emu._updates.is_processed(u["update_id"]) for u in (first, second, other))
    assert emu.last_message(USER + 1).text == "re other"  # type: ignore[union-attr]


async def test_a_200_whose_reply_cannot_be_read_delivers_the_update_and_the_chat_goes_on(emu: Emulator) -> None:
    """Telegram takes a 200 as delivered whatever its body; a reply it cannot read is dropped."""

    async def handle(update: dict[str, Any]) -> web.Response:
        if update["message"]["text"] == "first":
            return web.Response(status=200, body=b"{not json", content_type="application/json")
        return reply(update, "re second")

    async with raw_webhook(emu, handle):
        first = emu.send_message(USER, "first")
        second = emu.send_message(USER, "second")
        await emu.wait_processed(second["update_id"], timeout=2)
    assert emu._updates.is_processed(first["update_id"])
    assert [m.text for m in emu.messages(USER)] == ["re second"]


class _Queue:
    """The emulator's update queue as webhook delivery sees it, on its own."""

    def __init__(self, *updates: dict[str, Any]) -> None:
        self.changed = asyncio.Event()
        self.pending = list(updates)
        self.answered: list[int] = []
        self.emptied = asyncio.Event()

    def delivered(self, update: dict[str, Any]) -> None:
        self.pending.remove(update)
        self.attempted(update["update_id"])
        if not self.pending:
            self.emptied.set()

    def attempted(self, update_id: int) -> None:
        self.answered.append(update_id)
        self.changed.set()


async def test_a_post_that_raises_counts_as_failed_and_is_retried() -> None:
    queue = _Queue({"update_id": 1, "message": {"chat": {"id": USER}}})
    hook = SimpleNamespace(max_connections=1)
    tries = 0

    async def post(_hook: object, _update: dict[str, Any]) -> bool:
        nonlocal tries
        tries += 1
        if tries == 1:
            raise RuntimeError("a bug in the POST")
        return True

    delivery = asyncio.create_task(WebhookDelivery(queue, lambda: hook, post, retry_delays=(0.0,)).run())
    try:
        async with asyncio.timeout(2):
            await queue.emptied.wait()
    finally:
        delivery.cancel()
    assert tries == 2 and queue.answered == [1, 1]


# --- the HTML parser on its own ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "plain", "entity"),
    [
        (
            '<a href="https://x.io/?a=1&amp;b=2">here</a>',
            "here",
            {"type": "text_link", "url": "https://x.io/?a=1&b=2"},
        ),
        ('<pre><code class="language-py">x = 1</code></pre>', "x = 1", {"type": "pre", "language": "py"}),
        ('<span class="tg-spoiler">boo</span>', "boo", {"type": "spoiler"}),
        ("<blockquote expandable>q</blockquote>", "q", {"type": "expandable_blockquote"}),
        ("&#128512; <u>ok</u>", "\U0001f600 ok", {"type": "underline", "offset": 3, "length": 2}),
    ],
)
def test_html_parsing(html: str, plain: str, entity: dict[str, Any]) -> None:
    parsed = format_text(html, "HTML")
    assert parsed.text == plain
    assert entity.items() <= parsed.entities[0].items()


@pytest.mark.parametrize("html", ['<span class="x">a</span>', "&nbsp;", "</b>", '<a href="x"'])
def test_html_errors(html: str) -> None:
    with pytest.raises(EntityParseError):
        format_text(html, "HTML")


async def test_ban_removes_a_member_and_unban_lets_them_join_again(emu: Emulator, bot: Bot) -> None:
    emu.group(GROUP, "Team")
    emu.set_member(GROUP, USER, "member")
    await bot.ban_chat_member(GROUP, USER)
    assert emu.member(GROUP, USER) == "kicked"
    await bot.unban_chat_member(GROUP, USER, only_if_banned=True)
    assert emu.member(GROUP, USER) == "left"
    emu.set_member(GROUP, USER, "member")
    await bot.unban_chat_member(GROUP, USER, only_if_banned=True)  # not banned: stays
    assert emu.member(GROUP, USER) == "member"
    with pytest.raises(TelegramBadRequest, match="supergroup"):
        await bot.ban_chat_member(USER, USER)


async def test_delete_messages_takes_one_to_a_hundred_ids(emu: Emulator, bot: Bot) -> None:
    emu.user(USER).started = True
    sent = await bot.send_message(USER, "hello")
    with pytest.raises(TelegramBadRequest, match="too many"):
        await bot.delete_messages(USER, list(range(1, 102)))
    assert await bot.delete_messages(USER, [sent.message_id, 999])  # unknown ids are skipped
    assert emu.messages(USER) == []
