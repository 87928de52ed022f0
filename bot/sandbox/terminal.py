"""The terminal side of the sandbox: how the chat looks, reading lines, and running beside the bot.

Bot messages become readable lines and buttons numbered choices. Rendering works from what the emulator says the user sees (visible text plus MessageEntity offsets),
not from the raw HTML, so `&lt;`, nested tags and MarkdownV2 all come out as Telegram shows them.
With colour (a TTY) bold, italic, code … become ANSI styles; without it the text stays plain, and
links show their URL either way, because nobody can click a word in a terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, TypeVar

from .emulator import SentMessage

T = TypeVar("T")
BOT_PREFIX = "bot › "
INDENT = " " * len(BOT_PREFIX)

# Each style has its own "off" code so nested styles end independently.
_ANSI = {
    "bold": ("1", "22"),
    "italic": ("3", "23"),
    "underline": ("4", "24"),
    "strikethrough": ("9", "29"),
    "spoiler": ("7", "27"),
    "code": ("36", "39"),
    "pre": ("36", "39"),
    "text_link": ("4", "24"),
}
_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
_MEDIA_LABELS = {"video_note": "video message", "animation": "GIF"}


@dataclass(frozen=True)
class Style:
    """ANSI styling, or none at all (pipes, files, NO_COLOR, dumb terminals)."""

    color: bool

    @classmethod
    def for_stream(cls, stream: TextIO) -> Style:
        wanted = stream.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
        return cls(color=wanted)

    def sgr(self, on: str, off: str, text: str) -> str:
        return f"\x1b[{on}m{text}\x1b[{off}m" if self.color and text else text

    def bold(self, text: str) -> str:
        return self.sgr("1", "22", text)

    def dim(self, text: str) -> str:
        return self.sgr("2", "22", text)

    def accent(self, text: str) -> str:
        return self.sgr("36", "39", text)

    def warn(self, text: str) -> str:
        return self.sgr("33", "39", text)


def _python_index(text: str) -> dict[int, int]:
    """UTF-16 offset (the unit of entity offsets) → index into the Python string."""
    mapping, units = {0: 0}, 0
    for index, char in enumerate(text, start=1):
        units += 2 if ord(char) > 0xFFFF else 1
        mapping[units] = index
    return mapping


def render_text(text: str, entities: list[dict[str, Any]], style: Style) -> str:
    """Visible text with its entities as terminal styles; link URLs appended in parentheses."""
    index = _python_index(text)
    # position → (order, marker): closes before opens, and the inner (later-opened) entity closes first
    inserts: dict[int, list[tuple[tuple[int, int], str]]] = {}

    def add(offset: int, order: tuple[int, int], marker: str) -> None:
        position = index.get(offset)
        if position is not None and marker:
            inserts.setdefault(position, []).append((order, marker))

    for entity in entities:
        kind, start = entity.get("type", ""), int(entity.get("offset", 0))
        end = start + int(entity.get("length", 0))
        if style.color and kind in _ANSI:
            on, off = _ANSI[kind]
            add(start, (1, -end), f"\x1b[{on}m")
            add(end, (0, -start), f"\x1b[{off}m")
        url = entity.get("url")
        if kind == "text_link" and url and url != text[index.get(start, 0) : index.get(end, 0)]:
            add(end, (0, -start), style.dim(f" ({url})"))
    out: list[str] = []
    for position in range(len(text) + 1):
        out.extend(marker for _, marker in sorted(inserts.get(position, []), key=lambda item: item[0]))
        if position < len(text):
            out.append(text[position])
    return "".join(out)


def message_body(message: SentMessage, style: Style) -> str:
    """The text of a message, or `[photo] caption` for media."""
    shown = render_text(message.plain_text or "", message.entities, style) if message.plain_text else ""
    if message.kind == "text":
        return shown
    label = _MEDIA_LABELS.get(message.kind, message.kind)
    if message.kind == "document" and message.file is not None and message.file.file_name:
        label = f"document {message.file.file_name}"
    return " ".join(part for part in (style.accent(f"[{label}]"), shown) if part)


def inline_buttons(message: SentMessage) -> list[dict[str, Any]]:
    """The inline buttons of a message, row by row flattened: button N is item N-1."""
    rows = (message.reply_markup or {}).get("inline_keyboard") or []
    return [button for row in rows for button in row]


def reply_keyboard(message: SentMessage) -> list[dict[str, Any]] | None:
    """Reply-keyboard buttons (as dicts) if this message sets a keyboard, else None."""
    rows = (message.reply_markup or {}).get("keyboard")
    if rows is None:
        return None
    return [b if isinstance(b, dict) else {"text": b} for row in rows for b in row]


def letter(index: int) -> str:
    return "abcdefghijklmnopqrstuvwxyz"[index] if index < 26 else f"z{index - 25}"


def _button_label(button: dict[str, Any], style: Style) -> str:
    if button.get("url"):
        return f"{button['text']} {style.dim('→ ' + button['url'])}"
    return str(button["text"])


def button_lines(message: SentMessage, style: Style, *, keyboard_closed: bool = True) -> list[str]:
    """Numbered inline buttons (one line per keyboard row) and lettered reply-keyboard buttons."""
    lines: list[str] = []
    number = 0
    for row in (message.reply_markup or {}).get("inline_keyboard") or []:
        cells = []
        for button in row:
            number += 1
            cells.append(f"{style.bold(f'[{number}]')} {_button_label(button, style)}")
        lines.append(INDENT + "  ".join(cells))
    keyboard = reply_keyboard(message)
    if keyboard:
        cells = [f"{style.bold(f'[{letter(i)}]')} {b.get('text', '')}" for i, b in enumerate(keyboard)]
        lines.append(INDENT + style.dim("keyboard: ") + "  ".join(cells))
    if keyboard_closed and (message.reply_markup or {}).get("remove_keyboard"):
        lines.append(INDENT + style.dim("(keyboard closed)"))
    return lines


def render_message(
    message: SentMessage,
    style: Style,
    *,
    edited: bool = False,
    topic: str | None = None,
    keyboard_closed: bool = True,
) -> str:
    """A whole bot message as terminal lines: prefix, body (continuation lines indented), buttons.

    `keyboard_closed`: say "(keyboard closed)" if the message removes the reply keyboard.
    """
    prefix = style.accent(BOT_PREFIX.rstrip()) + " "
    if edited:
        prefix = style.accent("bot") + style.dim(" (edited)") + style.accent(" ›") + " "
    where = style.dim(f"[#{topic}] ") if topic else ""
    first, *more = message_body(message, style).split("\n")
    body = "\n".join([first, *((INDENT + line).rstrip() for line in more)])  # empty lines stay empty
    return "\n".join([prefix + where + body, *button_lines(message, style, keyboard_closed=keyboard_closed)])


def render_markup_change(message: SentMessage, style: Style) -> str:
    """Only the buttons of an earlier message changed (e.g. a ✅ toggled, or the buttons went away)."""
    lines = button_lines(message, style)
    if not lines:
        text = " ".join((message.plain_text or message.kind).split())
        snippet = text if len(text) <= 40 else text[:39].rstrip() + "…"
        return INDENT + style.dim(f"(the buttons under “{snippet}” are gone)")
    return "\n".join([INDENT + style.dim("buttons updated:"), *lines])


class Terminal:
    """Line output that several threads may use, and input that keeps the prompt intact.

    Bot messages arrive while the person is typing; they are printed above the prompt, which is
    then redrawn with what was typed so far (from readline), like a chat app would.
    """

    def __init__(self, out: TextIO, stdin: TextIO, style: Style, *, interactive: bool) -> None:
        self.out, self.stdin, self.style, self.interactive = out, stdin, style, interactive
        self._lock = threading.Lock()
        self._prompt: str | None = None
        self._closed = False
        self._readline: Any = None
        if interactive:
            try:  # line editing and history; imported only for a TTY (it may print escapes otherwise)
                import readline

                self._readline = readline
            except ImportError:  # Windows without pyreadline: plain input() still works
                pass

    @classmethod
    def stdio(cls) -> Terminal:
        if isinstance(sys.stdout, io.TextIOWrapper):  # an emoji on a non-UTF-8 console: "?", not a crash
            sys.stdout.reconfigure(errors="replace")
        return cls(sys.stdout, sys.stdin, Style.for_stream(sys.stdout), interactive=sys.stdin.isatty())

    def say(self, text: str) -> None:
        with self._lock:
            if self._closed:
                return
            try:
                if self._prompt is not None:
                    typed = self._readline.get_line_buffer() if self._readline else ""
                    self.out.write(f"\r\x1b[K{text}\n{self._prompt}{typed}")
                else:
                    self.out.write(text + "\n")
                self.out.flush()
            except BrokenPipeError:  # `… | head` stopped reading: carry on quietly, shut down cleanly
                self._closed = True
                with contextlib.suppress(OSError, ValueError):
                    os.dup2(os.open(os.devnull, os.O_WRONLY), self.out.fileno())

    def read(self, prompt: str) -> str:
        """One line of input; EOFError at the end. Without a TTY the line is echoed after the prompt."""
        if not self.interactive:
            line = self.stdin.readline()
            if not line:
                raise EOFError
            self.say(prompt + line.rstrip("\r\n"))
            return line.rstrip("\r\n")
        # readline needs to know which prompt characters take no space (\x01 … \x02 around escapes).
        marked = _ESCAPE.sub("\x01\\g<0>\x02", prompt)
        with self._lock:
            self._prompt = prompt
        try:
            return input(marked if self._readline else prompt)
        finally:
            with self._lock:
                self._prompt = None


# --- running beside the bot ---------------------------------------------------------------------


class LoopThread:
    """An asyncio loop in a daemon thread; the main thread hands it coroutines and waits for them."""

    def __init__(self) -> None:
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._done: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="sandbox-bot", daemon=True)

    def _main(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop, self._done = asyncio.get_running_loop(), asyncio.Event()
        self._ready.set()
        await self._done.wait()

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the loop and wait; Ctrl-C cancels it and propagates."""
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result()
        except KeyboardInterrupt:
            future.cancel()
            raise

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._done is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop already ended
                self._loop.call_soon_threadsafe(self._done.set)
        self._thread.join(timeout)


class _TerminalLogHandler(logging.Handler):
    """Warnings and errors as one dim line in the chat; the full record (traceback) is in the log file."""

    def __init__(self, term: Terminal) -> None:
        super().__init__(logging.WARNING)
        self._term = term

    def emit(self, record: logging.LogRecord) -> None:
        first = record.getMessage().splitlines()[0] if record.getMessage() else ""
        self._term.say(self._term.style.dim(f"[log] {record.levelname.lower()} {record.name}: {first}"))


@contextlib.contextmanager
def logging_to(log_path: Path, term: Terminal) -> Iterator[None]:
    """Everything to the log file (fresh each run); only warnings and errors show in the chat."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    to_file = logging.FileHandler(log_path, mode="w", encoding="utf-8")
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    to_term = _TerminalLogHandler(term)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    root.addHandler(to_file)
    root.addHandler(to_term)
    try:
        yield
    finally:
        root.removeHandler(to_term)
        root.removeHandler(to_file)
        root.setLevel(level)
        to_file.close()


@contextlib.contextmanager
def sigterm_as_ctrl_c() -> Iterator[None]:
    """`kill` ends the sandbox as cleanly as Ctrl-C does (only the main thread may set handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
