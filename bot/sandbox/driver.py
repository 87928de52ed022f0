"""ChatDriver: one person in one chat, talking to the bot through the emulator.

Why: tests (and the terminal chat) should read like a conversation, "send /start, click
Balance, expect the points", while still going through real updates, real HTTP and the
bot's real handlers. Each action injects an update, waits until the bot has processed it and
returns what the bot created or edited in this chat meanwhile.

    async with Emulator() as emu:
        bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(emu.api_base)))
        polling = asyncio.create_task(dp.start_polling(bot, handle_as_tasks=False, handle_signals=False))
        chat = ChatDriver(emu, 1001, first_name="Anna")
        replies = await chat.send("/start")
        await chat.click("Balance")
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .emulator import TINY_PNG, CallbackAnswer, Emulator, SentMessage

__all__ = ["ChatDriver"]


class ChatDriver:
    """A Telegram user in one chat (their private chat by default, or a group they write in)."""

    def __init__(
        self,
        emu: Emulator,
        user_id: int,
        *,
        first_name: str = "Test",
        username: str | None = None,
        language_code: str = "en",
        chat_id: int | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.emu = emu
        self.user = emu.user(user_id, first_name, username=username, language_code=language_code)
        self.user_id = user_id
        self.chat_id = user_id if chat_id is None else chat_id
        self.timeout = timeout
        self.last_callback_answer: CallbackAnswer | None = None
        # Messages up to this revision were already returned to the test; wait_for_text looks later.
        self._seen = emu.revision

    # --- actions ----------------------------------------------------------------------------

    async def send(
        self,
        text: str,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> list[SentMessage]:
        """Send a text message (with formatting `entities` if given); returns the bot messages created or
        edited in this chat meanwhile."""
        return await self._act(
            lambda: self.emu.send_message(
                self.user_id,
                text,
                chat_id=self.chat_id,
                reply_to_message_id=reply_to,
                message_thread_id=thread_id,
                entities=entities,
            )
        )

    async def share_contact(self, phone: str, *, own: bool = True) -> list[SentMessage]:
        """Share a phone number: one's own (with user_id) or a contact card without an account."""
        return await self._act(
            lambda: self.emu.send_contact(
                self.user_id, phone, contact_user_id=None if own else 0, chat_id=self.chat_id
            )
        )

    async def send_photo(
        self,
        caption: str | None = None,
        *,
        data: bytes = TINY_PNG,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> list[SentMessage]:
        return await self._act(
            lambda: self.emu.send_photo(
                self.user_id,
                data,
                caption,
                chat_id=self.chat_id,
                reply_to_message_id=reply_to,
                message_thread_id=thread_id,
            )
        )

    async def send_video(self, caption: str | None = None, **kwargs: Any) -> list[SentMessage]:
        """Send a short video, optionally with a caption (and `caption_entities`)."""
        return await self._act(
            lambda: self.emu.send_video(self.user_id, caption=caption, chat_id=self.chat_id, **kwargs)
        )

    async def send_document(
        self,
        data: bytes = b"hello",
        *,
        file_name: str = "document.txt",
        mime_type: str = "text/plain",
        caption: str | None = None,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> list[SentMessage]:
        return await self._act(
            lambda: self.emu.send_document(
                self.user_id,
                data,
                file_name=file_name,
                mime_type=mime_type,
                caption=caption,
                chat_id=self.chat_id,
                reply_to_message_id=reply_to,
                message_thread_id=thread_id,
            )
        )

    async def send_voice(
        self,
        data: bytes = b"OggS\x00sandbox-voice",
        *,
        duration: int = 1,
        caption: str | None = None,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> list[SentMessage]:
        return await self._act(
            lambda: self.emu.send_voice(
                self.user_id,
                data,
                duration=duration,
                caption=caption,
                chat_id=self.chat_id,
                reply_to_message_id=reply_to,
                message_thread_id=thread_id,
            )
        )

    async def click(self, label_or_data: str, *, message: SentMessage | None = None) -> list[SentMessage]:
        """Press an inline button by its exact text, else a unique substring of it, else its callback_data.

        The button is looked up on ``message``, or on the latest bot message here with inline
        buttons. Sets ``last_callback_answer`` (None if the bot did not answer the query).
        """
        target = message or self._latest_with_buttons()
        if target is None:
            raise AssertionError(f"no bot message with inline buttons in chat {self.chat_id}")
        data = _find_button(target, label_or_data)
        update: dict[str, Any] = {}

        def press() -> dict[str, Any]:
            update.update(self.emu.press_button(self.user_id, target.message_id, data, chat_id=self.chat_id))
            return update

        changed = await self._act(press)
        query_id = update["callback_query"]["id"]
        self.last_callback_answer = next((a for a in self.emu.callback_answers if a.query_id == query_id), None)
        return changed

    async def wait_for_text(self, substring: str, timeout: float | None = None) -> SentMessage:
        """Wait for a bot message here containing ``substring`` (case-insensitive) that the test has not seen.

        For messages the bot sends on its own (scheduled, triggered by someone else). Messages
        already returned by this driver's actions, or by an earlier wait, do not count.
        """
        needle = substring.casefold()
        seen = self._seen

        def fresh_match(message: SentMessage) -> bool:
            return message.revision > seen and needle in str(message).casefold()

        wait = self.timeout if timeout is None else timeout
        try:
            found = await self.emu.wait_for_message(self.chat_id, predicate=fresh_match, timeout=wait)
        except TimeoutError:
            recent = [str(m) for m in self.emu.messages(self.chat_id)[-5:]]
            raise TimeoutError(
                f"no new bot message containing {substring!r} in chat {self.chat_id} within {wait}s; "
                f"latest messages: {recent}"
            ) from None
        self._seen = max(self._seen, found.revision)
        return found

    # --- looking ----------------------------------------------------------------------------

    def messages(self) -> list[SentMessage]:
        """All bot messages in this chat, oldest first."""
        return self.emu.messages(self.chat_id)

    def last(self) -> SentMessage | None:
        return self.emu.last_message(self.chat_id)

    def last_text(self) -> str:
        """Visible text (or caption) of the latest bot message; "" if there is none."""
        last = self.last()
        return str(last) if last is not None else ""

    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """Inline buttons (text, callback_data or url) of the latest bot message that has some."""
        message = self._latest_with_buttons()
        return message.buttons if message is not None else []

    def button_labels(self) -> list[str]:
        return [text for row in self.buttons() for text, _ in row]

    # --- internals --------------------------------------------------------------------------

    async def _act(self, inject: Callable[[], dict[str, Any]]) -> list[SentMessage]:
        before = self.emu.revision
        update = inject()
        await self.emu.wait_processed(update["update_id"], timeout=self.timeout)
        self._seen = self.emu.revision
        return self.emu.changes_since(self.chat_id, before)

    def _latest_with_buttons(self) -> SentMessage | None:
        return next((m for m in reversed(self.messages()) if m.buttons), None)


def _find_button(message: SentMessage, wanted: str) -> str:
    """The callback_data of the button the user means; AssertionError listing the buttons if none."""
    buttons = [button for row in (message.reply_markup or {}).get("inline_keyboard", []) for button in row]
    clickable = [b for b in buttons if "callback_data" in b]
    exact = [b for b in clickable if b["text"] == wanted]
    partial = [b for b in clickable if wanted.casefold() in b["text"].casefold()]
    by_data = [b for b in clickable if b["callback_data"] == wanted]
    for candidates in (exact, partial, by_data):
        if len(candidates) == 1 or (candidates and candidates is not partial):
            return str(candidates[0]["callback_data"])
        if len(candidates) > 1:
            names = [b["text"] for b in candidates]
            raise AssertionError(f"{wanted!r} matches several buttons on message {message.message_id}: {names}")
    available = [(b["text"], b.get("callback_data") or b.get("url")) for b in buttons]
    raise AssertionError(f"no button {wanted!r} on message {message.message_id}; buttons: {available}")
