"""`nurture-bot sandbox`: talk to your own bot in this terminal, as a customer, the owner or a manager.

The real bot (the same `create_app` as production) polls a local Telegram emulator, so there is no
token and no internet; its data is an ordinary SQLite file. Each person is a `ChatDriver`, so every
line typed becomes a real update and the prompt returns only once the bot has handled it.

Two threads, on purpose: the terminal stays in the main thread, where Ctrl-C and readline behave
(an `input()` in a helper thread can leave the terminal without echo when the process ends); the
emulator and the bot run on an asyncio loop in a daemon thread, and each line is handed over to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import logging
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.app import App, create_app
from bot.settings import load_settings
from flows.staff import STAFF_PREFIX
from storage.kv import KvRepo

from .clock import MAX_WAIT, OffsetClock, format_duration, parse_duration
from .driver import ChatDriver
from .emulator import Emulator, SentMessage
from .terminal import (
    INDENT,
    LoopThread,
    Terminal,
    inline_buttons,
    letter,
    logging_to,
    render_markup_change,
    render_message,
    sigterm_as_ctrl_c,
)
from .terminal import reply_keyboard as keyboard_of

log = logging.getLogger(__name__)

OWNER_ID = 100
MANAGER_ID = 200
CUSTOMER_BASE_ID = 1000  # customer → 1001, customer2 → 1002 … customer9 → 1009
MANAGERS_GROUP_ID = -1001000000001
MANAGERS_GROUP_TITLE = "Managers (sandbox)"
LANGUAGES = ("en", "ru", "uk")
OFFSET_KEY = "sandbox.clock_offset"
ACTION_TIMEOUT = 10.0
_CUSTOMER_ROLE = re.compile(r"customer([1-9]?)")
ROLES = ("customer", *(f"customer{n}" for n in range(2, 10)), "owner", "manager")
_HELD_REASONS = ("quiet hours", "contact budget")
_NOT_A_NAME = {"root", "admin", "administrator", "user", "ubuntu", "runner", "vagrant", "docker", "vscode"}

HELP = """\
Type as the current person; lines go to the bot as messages. Sandbox commands (not sent to the bot):
  1, 2 …            press that button under the latest message with buttons
  a, b …            press that button of the keyboard under the input field
  /as <person>      switch to customer, customer2 … customer9, owner or manager
  /wait <time>      jump ahead in time, e.g. /wait 30m, /wait 2h, /wait 1d, /wait 1d12h
  /contact          share your own phone number;  /photo [caption]  send a small photo
  /who              who is who, and the sandbox time
  /sandbox-help     this help;  /quit  leave (Ctrl-D or Ctrl-C too)
  \\text             send text exactly as typed, e.g. \\2 or \\/wait"""


@dataclass
class Person:
    """Someone you can be: a role, their chat with the bot (or the managers' group) and their phone."""

    role: str
    driver: ChatDriver
    phone: str

    @property
    def user_id(self) -> int:
        return self.driver.user_id

    @property
    def chat_id(self) -> int:
        return self.driver.chat_id

    @property
    def name(self) -> str:
        return self.driver.user.first_name

    @property
    def in_group(self) -> bool:
        return self.chat_id != self.user_id


def customer_number(role: str) -> int | None:
    """`customer` → 1, `customer2` → 2 … `customer9` → 9; None for other roles."""
    match = _CUSTOMER_ROLE.fullmatch(role)
    return int(match.group(1) or 1) if match else None


def pick_language(explicit: str | None = None, environ: dict[str, str] | None = None) -> str:
    """The customer's Telegram language: `--lang`, else the locale (LC_ALL, LC_MESSAGES, LANG), else en."""
    env = os.environ if environ is None else environ
    for value in (explicit, env.get("LC_ALL"), env.get("LC_MESSAGES"), env.get("LANG")):
        if value:
            code = value[:2].lower()
            return code if code in LANGUAGES else "en"
    return "en"


def os_first_name() -> str:
    """The first name of whoever runs the sandbox (from the OS account), or "Guest"."""
    try:
        login = getpass.getuser()
    except Exception:  # no login name in some containers
        return "Guest"
    full = ""
    with contextlib.suppress(ImportError, KeyError):
        import pwd

        full = pwd.getpwnam(login).pw_gecos.split(",")[0].strip()
    first = full.split()[0] if full else login
    if not first.isalpha() or first.lower() in _NOT_A_NAME:
        return "Guest"
    return first[:1].upper() + first[1:]


def delete_database(path: Path) -> None:
    """`--fresh`: the SQLite file and its WAL companions."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


class Sandbox:
    """The emulator, the running bot and the people talking to it; lives on the asyncio thread."""

    def __init__(
        self, emu: Emulator, app: App, clock: OffsetClock, term: Terminal, *, name: str, language: str
    ) -> None:
        self.emu, self.app, self.clock, self.term, self.style = emu, app, clock, term, term.style
        self.name, self.language = name, language
        self.persons: dict[str, Person] = {}
        customer = self._person("customer")
        assert customer is not None
        self.current = customer
        self.polling: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._busy = False  # a typed line is being handled: it prints its own results
        self._seen: dict[int, int] = {}  # chat id → emulator revision already looked at
        self._noticed: dict[int, int] = {}  # chat id → revision up to which "new message" was announced
        self._shown: dict[tuple[int, int], str] = {}  # (chat, message) → what was printed of it
        self._used_keyboards: set[tuple[int, int]] = set()  # one-time keyboards already pressed

    # --- lifecycle --------------------------------------------------------------------------

    @classmethod
    async def open(cls, database: Path, *, fresh: bool, term: Terminal, name: str, language: str) -> Sandbox:
        """Start the emulator and the bot on `database`; errors (bad .env, bad content) propagate."""
        if fresh:
            delete_database(database)
        emu = Emulator()
        await emu.start("127.0.0.1", 0)
        try:
            # Only what the sandbox must decide; CONTENT_FILE, TIMEZONE, QUIET_HOURS … still come from .env.
            settings = load_settings(
                bot_token=emu.token,
                telegram_api_url=emu.api_base,
                database_path=database,
                owner_ids=[OWNER_ID],
                manager_chat_id=MANAGERS_GROUP_ID,
                webhook_url=None,
                console_url=None,  # a browser on this machine
            )
            clock = OffsetClock()
            app = await create_app(settings, clock=clock)
        except BaseException:
            await emu.stop()
            raise
        sandbox = cls(emu, app, clock, term, name=name, language=language)
        try:
            await start_console(app)
            await sandbox._prepare()
        except BaseException:
            await app.close()
            await emu.stop()
            raise
        return sandbox

    async def _prepare(self) -> None:
        saved = await KvRepo(self.app.db).get(OFFSET_KEY)
        if saved:  # continue where the last session's /wait left time, so it never goes back
            self.clock.advance(timedelta(seconds=float(saved)))
        # Each run starts a new emulator that numbers updates from 1 again; the ids the bot remembers
        # from an earlier run (to skip replays) would make it ignore everything typed now.
        await self.app.services["customers"].repo.prune_processed_updates(self.clock.now() + timedelta(days=1))
        # Everyone exists from the start as someone who has started the bot: the database may know them
        # from an earlier run while this emulator does not, and Telegram refuses to let a bot write
        # first, so a warm-up step would fail and the bot would take the customer for blocked.
        customers = self.app.services["customers"].repo
        for role in ROLES:
            user_id, first_name, _ = self._spec(role) or (0, "", None)
            self.emu.user(user_id, first_name, language_code=self.language).started = True
            if await customers.by_tg_id(user_id) is not None:
                self._person(role)  # known from an earlier run: /wait keeps their messages on time too
        self.emu.group(MANAGERS_GROUP_ID, MANAGERS_GROUP_TITLE, forum=True)
        self.emu.set_member(MANAGERS_GROUP_ID, MANAGER_ID, "administrator")
        await self._hire_manager()
        self.polling = asyncio.create_task(
            self.app.run_polling(handle_as_tasks=False, handle_signals=False, scheduler=True)
        )
        self._watcher = asyncio.create_task(self._watch())

    async def _hire_manager(self) -> None:
        """Make the sandbox's manager a member of the team, through the owner's own invite flow.

        In real life the owner sends an invite link from /staff; `/as manager` should just work.
        """
        staff = self.app.services.get("staff")
        if staff is None or await staff.role_of(MANAGER_ID) is not None:
            return
        link = await staff.invite(OWNER_ID, "manager", self.emu.bot.username or "")
        token = link.partition("?start=")[2].removeprefix(STAFF_PREFIX)
        await staff.accept(token, MANAGER_ID, "Manager")

    async def console_link(self) -> str:
        """A one-time link that signs the owner in to the console in a browser on this machine."""
        link = await self.app.services["console_access"].login_link(OWNER_ID)
        assert link is not None  # the sandbox's owner is in OWNER_IDS
        return str(link)

    async def close(self) -> None:
        """Stop polling, let the bot finish what it is doing, close the database and the emulator."""
        if self._watcher is not None:
            self._watcher.cancel()
        await self._save_offset()
        await self.app.stop()
        if self.polling is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.polling
        await self.app.close()
        await self.emu.stop()

    # --- input ----------------------------------------------------------------------------

    def prompt(self) -> str:
        where = self.current.role
        if self.current.in_group and (topic := self._topic_name(self._manager_thread())):
            where += f" · #{topic}"
        return self.style.sgr("1;32", "0", f"you ({where}) ›") + " "

    async def handle(self, line: str) -> bool:
        """Handle one typed line; False when the sandbox should end."""
        self._busy = True
        try:
            if self.polling is not None and self.polling.done():
                self._say_problem("The bot has stopped (see the log); leaving.")
                return False
            return await self._dispatch(line.strip())
        except TimeoutError:
            self._say_problem(
                f"The bot did not finish within {ACTION_TIMEOUT:g} s; see the log for what happened."
            )
        except (ValueError, AssertionError) as exc:  # the emulator refused the action (e.g. a vanished topic)
            self._say_problem(str(exc))
        except Exception as exc:
            log.exception("sandbox action failed: %r", line)
            self._say_problem(f"Something went wrong in the sandbox: {exc!r} (details in the log).")
        finally:
            self._busy = False
        return True

    async def _dispatch(self, line: str) -> bool:
        if not line:
            return True
        if line.startswith("\\") and len(line) > 1:
            await self._send(line[1:])
            return True
        word, _, rest = line.partition(" ")
        commands: dict[str, Callable[[str], Awaitable[bool]]] = {
            "/as": self._switch,
            "/wait": self._wait,
            "/contact": self._contact,
            "/photo": self._photo,
            "/who": self._who,
            "/sandbox-help": self._help,
            "/quit": self._quit,
            "/exit": self._quit,
        }
        if (command := commands.get(word.lower())) is not None:
            return await command(rest.strip())
        if re.fullmatch(r"\d{1,2}", line):
            await self._press(int(line))
        elif len(line) == 1 and line.isascii() and line.isalpha() and self._keyboard() is not None:
            await self._press_key(line.lower())
        else:
            await self._send(line)
        return True

    # --- talking to the bot -------------------------------------------------------------------

    async def _act(self, action: Awaitable[list[SentMessage]], *, expect_reply: bool = True) -> None:
        """Do something as the current person, then send what became due and print the replies."""
        await action
        await self._settle()
        if not self._flush() and expect_reply:
            self._note("(no reply)")  # silence is a valid answer, but say so: it looks like a hang otherwise

    async def _send(self, text: str) -> None:
        person = self.current
        thread = self._manager_thread() if person.in_group else None
        await self._act(person.driver.send(text, thread_id=thread))

    async def _press(self, number: int) -> None:
        message = self._latest_with_buttons()
        if message is None:
            self._say_problem(f"There are no buttons to press here. (To send {number} as text, type \\{number}.)")
            return
        buttons = inline_buttons(message)
        if not 1 <= number <= len(buttons):
            choices = "1" if len(buttons) == 1 else f"1–{len(buttons)}"
            self._say_problem(
                f"There is no button {number}: the latest message with buttons has {choices}. "
                f"(To send {number} as text, type \\{number}.)"
            )
            return
        button = buttons[number - 1]
        if button.get("url"):
            self._note(
                f"“{button['text']}” is a link to {button['url']}; it opens in a browser, the bot is not told."
            )
        elif "callback_data" in button:
            self._note(f"(you press “{button['text']}”)")
            driver = self.current.driver
            await self._act(driver.click(button["callback_data"], message=message), expect_reply=False)
            self._show_callback_answer(driver)
        else:
            kind = next((key for key in button if key != "text"), "unknown")
            self._note(f"“{button['text']}” is a {kind} button; the sandbox cannot press those.")

    async def _press_key(self, key: str) -> None:
        found = self._keyboard()
        assert found is not None
        message, buttons = found
        keys = [letter(i) for i in range(len(buttons))]
        if key not in keys:
            self._say_problem(f"There is no keyboard button {key}: the keyboard has {keys[0]}–{keys[-1]}.")
            return
        button = buttons[keys.index(key)]
        if (message.reply_markup or {}).get("one_time_keyboard"):
            self._used_keyboards.add((message.chat_id, message.message_id))
        if button.get("request_contact"):
            await self._share_contact()
        elif kind := next((k for k in button if k.startswith("request_") or k == "web_app"), None):
            self._note(
                f"“{button['text']}” asks for {kind.removeprefix('request_')}; the sandbox cannot send that."
            )
        else:
            self._note(f"(you send “{button['text']}”)")
            await self._send(str(button["text"]))

    async def _share_contact(self) -> None:
        person = self.current
        self._note(f"(you share your contact: +{person.phone})")
        await self._act(person.driver.share_contact(person.phone))

    def _show_callback_answer(self, driver: ChatDriver) -> None:
        answer = driver.last_callback_answer
        if answer is None:
            self._note("(the bot did not answer the button press; Telegram would keep showing a spinner)")
        elif answer.text and answer.show_alert:
            self.term.say(INDENT + self.style.warn(f"[alert] {answer.text}"))
        elif answer.text:
            self._note(f"ⓘ {answer.text}")

    async def _settle(self) -> None:
        """Send what is due now (e.g. the step a "Tell me more" queued), as the scheduler would shortly."""
        for _ in range(10):
            report = await self.app.tick()
            # "waiting": a second message for the same chat goes ≥ 1 s after the first; "retry_after":
            # the emulator, like Telegram, slowed the bot down after a burst. Both go on the next round.
            if not (report["waiting"] or report["retry_after"]):
                return
            await asyncio.sleep(1.0)

    # --- sandbox commands ---------------------------------------------------------------------

    async def _switch(self, arg: str) -> bool:
        role = arg.lower().replace(" ", "")
        if not role:
            self._say_problem("Usage: /as customer | customer2 … customer9 | owner | manager")
            return True
        if customer_number(role) == 1:
            role = "customer"
        new = role not in self.persons
        person = self._person(role)
        if person is None:
            self._say_problem(
                f"There is nobody called “{arg}” here. Try: customer, customer2 … customer9, owner, manager."
            )
            return True
        self.current = person
        self._note(self._introduce(person, new))
        self._flush()
        return True

    def _introduce(self, person: Person, new: bool) -> str:
        if person.role == "owner":
            return (
                f"You are now the owner ({person.name}, id {person.user_id}, in OWNER_IDS). "
                "Owner commands work here, e.g. /preview welcome or /sequences."
            )
        if person.role == "manager":
            return f"You are now a manager ({person.name}), writing in the group “{MANAGERS_GROUP_TITLE}”."
        tip = " Type /start to meet the bot." if new else ""
        return f"You are now {person.name}, a customer (id {person.user_id}).{tip}"

    async def _wait(self, arg: str) -> bool:
        delta = parse_duration(arg)
        if delta is None:
            self._say_problem(
                f"“{arg or '?'}” is not a time span. Try /wait 30m, /wait 2h, /wait 1d or /wait 1d12h."
            )
            return True
        if delta > MAX_WAIT:
            self._say_problem("That is too far: /wait jumps at most 366 days at a time.")
            return True
        target = self.clock.now() + delta
        # Jump from one due moment to the next, so messages come in order, each at its own time, and
        # quiet hours, the contact budget and the daily jobs behave as they would in real time.
        for _ in range(10_000):
            moment = min(await self._next_due() or target, target)
            self.clock.advance(moment - self.clock.now())
            await self._settle()
            self._flush(header=self.style.dim(f"── {self._when(self.clock.now())} ──"))
            if self.clock.now() >= target:
                break
        await self._save_offset()
        self._note(f"⏩ {format_duration(delta, units=4)} later: it is now {self._when(self.clock.now())}.")
        await self._hint_next()
        return True

    async def _contact(self, _: str) -> bool:
        await self._share_contact()
        return True

    async def _photo(self, caption: str) -> bool:
        self._note("(you send a photo" + (f" captioned “{caption}”)" if caption else ")"))
        person = self.current
        thread = self._manager_thread() if person.in_group else None
        await self._act(person.driver.send_photo(caption or None, thread_id=thread))
        return True

    async def _who(self, _: str) -> bool:
        for role in ("customer", "owner", "manager"):
            self._person(role)
        lines = []
        for person in sorted(self.persons.values(), key=lambda p: (customer_number(p.role) or 10, p.role)):
            mark = "›" if person is self.current else " "
            where = f"group {MANAGERS_GROUP_ID} “{MANAGERS_GROUP_TITLE}”" if person.in_group else "private chat"
            lines.append(
                f"{mark} {person.role:<10} {person.name:<12} id {person.user_id:<5} "
                f"phone +{person.phone}  language {person.driver.user.language_code}  {where}"
            )
        lines.append(f"  more customers: /as customer2 … customer9 · sandbox time {self._when(self.clock.now())}")
        lines.append(f"  database {self.app.settings.database_path}")
        self.term.say("\n".join(lines))
        return True

    async def _help(self, _: str) -> bool:
        self.term.say(HELP)
        return True

    async def _quit(self, _: str) -> bool:
        return False

    # --- people and their chats ---------------------------------------------------------------

    def _spec(self, role: str) -> tuple[int, str, int | None] | None:
        """User id, first name and chat (None: their private chat) of a role; None if there is no such role."""
        number = customer_number(role)
        if role == "owner":
            return OWNER_ID, self.name, None
        if role == "manager":
            return MANAGER_ID, "Manager", MANAGERS_GROUP_ID
        if number is not None:
            return CUSTOMER_BASE_ID + number, self.name if number == 1 else f"Guest {number}", None
        return None

    def _chat_of(self, role: str) -> int:
        spec = self._spec(role)
        assert spec is not None
        return spec[2] or spec[0]

    def _person(self, role: str) -> Person | None:
        """The person playing `role`, created on first use."""
        if role in self.persons:
            return self.persons[role]
        spec = self._spec(role)
        if spec is None:
            return None
        user_id, first_name, chat_id = spec
        driver = ChatDriver(
            self.emu,
            user_id,
            first_name=first_name,
            language_code=self.language,
            chat_id=chat_id,
            timeout=ACTION_TIMEOUT,
        )
        person = Person(role, driver, phone=f"1555{user_id:07d}")
        self.persons[role] = person
        return person

    def _latest_with_buttons(self) -> SentMessage | None:
        return next((m for m in reversed(self.emu.messages(self.current.chat_id)) if inline_buttons(m)), None)

    def _keyboard(self, before: int | None = None) -> tuple[SentMessage, list[dict[str, Any]]] | None:
        """The reply keyboard under the input field (now, or just before message `before`).

        The latest message that set or removed a keyboard decides, as in Telegram.
        """
        for message in reversed(self.emu.messages(self.current.chat_id)):
            if before is not None and message.message_id >= before:
                continue
            buttons = keyboard_of(message)
            if buttons is not None:
                used = (message.chat_id, message.message_id) in self._used_keyboards
                return None if used or not buttons else (message, buttons)
            if (message.reply_markup or {}).get("remove_keyboard"):
                return None
        return None

    def _manager_thread(self) -> int | None:
        """Managers answer in the topic where the bot wrote last (one topic per customer), else General."""
        topics = {topic.message_thread_id for topic in self.emu.topics(MANAGERS_GROUP_ID)}
        for message in reversed(self.emu.messages(MANAGERS_GROUP_ID)):
            if message.thread_id is not None:
                return message.thread_id if message.thread_id in topics else None
        return None

    def _topic_name(self, thread_id: int | None) -> str | None:
        if thread_id is None:
            return None
        return next((t.name for t in self.emu.topics(MANAGERS_GROUP_ID) if t.message_thread_id == thread_id), None)

    # --- output -----------------------------------------------------------------------------

    async def _watch(self) -> None:
        """Print what the bot sends on its own (sequences, notifications) while you are at the prompt.

        A quick look at one counter a few times a second: simpler than hooking into the emulator.
        """
        seen = -1
        while True:
            if not self._busy and self.emu.revision != seen:
                seen = self.emu.revision
                self._flush()
            await asyncio.sleep(0.2)

    def _flush(self, header: str | None = None) -> bool:
        """Print what is new or changed in the current chat, and news for the others; True if anything."""
        chat = self.current.chat_id
        lines = [text for m in self.emu.changes_since(chat, self._seen.get(chat, 0)) if (text := self._render(m))]
        self._seen[chat] = self.emu.revision
        if lines:
            self.term.say("\n".join([header, *lines] if header else lines))
        announced = self._announce_others()
        return bool(lines) or announced

    def _render(self, message: SentMessage) -> str | None:
        key = (message.chat_id, message.message_id)
        body = json.dumps([message.kind, message.plain_text, message.entities], ensure_ascii=False)
        markup = json.dumps(message.reply_markup, sort_keys=True)
        before = self._shown.get(key)
        self._shown[key] = body + markup
        topic = self._topic_name(message.thread_id)
        if before is None:
            # "(keyboard closed)" only when there was one to close: bots often remove it just in case.
            closes = self._keyboard(before=message.message_id) is not None
            return render_message(message, self.style, topic=topic, keyboard_closed=closes)
        if not before.startswith(body):
            return render_message(message, self.style, edited=True, topic=topic)
        if before != body + markup:
            return render_markup_change(message, self.style)
        return None

    def _announce_others(self) -> bool:
        """A line per other chat with new messages (read them with /as); True if there was any."""
        announced = False
        for role in ROLES:
            chat = self._chat_of(role)
            if chat == self.current.chat_id:
                continue
            since = max(self._seen.get(chat, 0), self._noticed.get(chat, 0))
            fresh = [m for m in self.emu.changes_since(chat, since) if (chat, m.message_id) not in self._shown]
            self._noticed[chat] = self.emu.revision
            if fresh:
                what = "1 new message" if len(fresh) == 1 else f"{len(fresh)} new messages"
                where = "in the managers' group" if chat == MANAGERS_GROUP_ID else f"for {role}"
                self._note(f"· {what} {where}: /as {role} to read")
                announced = True
        return announced

    def _note(self, text: str) -> None:
        self.term.say(self.style.dim(text))

    def _say_problem(self, text: str) -> None:
        self.term.say(self.style.warn(text))

    def _when(self, moment: datetime) -> str:
        local = moment.astimezone(self.app.settings.zone)
        return f"{local:%a %d %b %H:%M} ({self.app.settings.timezone})"

    def banner(self, database: Path, fresh: bool, log_path: Path, console_link: str) -> str:
        state = "new" if fresh else "kept between runs; --fresh starts over"
        lines = [
            self.style.bold(f"nurture-bot sandbox · {self.app.content.business.name}")
            + self.style.dim(" · a local Telegram emulator: no token, no internet"),
            self.style.dim(
                f"database {database} ({state}) · log {log_path} · time {self._when(self.clock.now())}"
            ),
            f"You are {self.current.name}, a customer. Type /start to meet the bot.",
            self.style.dim("Numbers press the buttons under the latest message, letters the keyboard buttons."),
            self.style.dim("/as owner · /as manager · /as customer2 · /wait 2h · /contact · /photo · /who · "),
        ]
        lines[-1] += self.style.dim("/sandbox-help · /quit")
        lines.append(
            "The owner's console: open "
            + self.style.accent(console_link)
            + " in a browser on this machine "
            + self.style.dim("(works once, for 10 minutes; /as owner, then /console, gives a new link)")
        )
        return "\n".join(lines)

    # --- time ---------------------------------------------------------------------------------

    async def _pending(self, person: Person) -> list[tuple[datetime, str | None]]:
        """When the bot will next write to this person on its own: queued messages and sequence steps."""
        if person.in_group:
            return []
        customer = await self.app.services["customers"].repo.by_tg_id(person.user_id)
        if customer is None:
            return []
        rows = await self.app.services["outbox"].for_customer(customer.id)
        found = [(row.due_at, row.last_error) for row in rows if row.state == "pending"]
        for enrollment in await self.app.services["enrollments"].for_customer(customer.id):
            if enrollment.state == "active" and enrollment.next_due_at is not None:
                found.append((enrollment.next_due_at, None))
        return found

    async def _next_due(self) -> datetime | None:
        """The next moment something is due for anyone here, or the daily jobs run."""
        now = self.clock.now()
        settings = self.app.settings
        local = now.astimezone(settings.zone)
        daily = datetime.combine(local.date(), settings.daily_jobs_at, tzinfo=settings.zone)
        if daily <= local:
            daily = datetime.combine(
                local.date() + timedelta(days=1), settings.daily_jobs_at, tzinfo=settings.zone
            )
        moments = [daily.astimezone(UTC)]
        for person in list(self.persons.values()):
            moments += [moment for moment, _ in await self._pending(person)]
        return min((moment for moment in moments if moment > now), default=None)

    async def _hint_next(self) -> None:
        now = self.clock.now()
        upcoming = sorted(item for item in await self._pending(self.current) if item[0] > now)
        if not upcoming:
            return
        moment, reason = upcoming[0]
        held = f", held back by {reason}" if reason in _HELD_REASONS else ""
        minutes = -(-(moment - now) // timedelta(minutes=1))  # rounded up, so the suggestion reaches it
        self._note(
            f"Next message for you: {self._when(moment)}{held}. "
            f"/wait {format_duration(timedelta(minutes=minutes), units=4, sep='')} to see it."
        )

    async def _save_offset(self) -> None:
        await KvRepo(self.app.db).set(OFFSET_KEY, str(self.clock.offset.total_seconds()))


async def start_console(app: App) -> str:
    """Serve the console on CONSOLE_PORT, or on any free port when that one is taken (another sandbox)."""
    try:
        return await app.start_console()
    except OSError:
        app.settings = app.settings.model_copy(update={"console_port": 0})
        return await app.start_console()


def _converse(sandbox: Sandbox, term: Terminal, loop: LoopThread) -> None:
    while True:
        try:
            line = term.read(sandbox.prompt())
        except EOFError:
            if term.interactive:
                term.say("")
            return
        if not loop.run(sandbox.handle(line)):
            return


def run_sandbox(database: str, fresh: bool, language: str | None = None) -> int:
    """Talk to the bot in this terminal until /quit, end of input or Ctrl-C; 0 unless it cannot start."""
    term = Terminal.stdio()
    path = Path(database)
    log_path = path.with_suffix(".log")
    loop = LoopThread()
    with logging_to(log_path, term), sigterm_as_ctrl_c():
        loop.start()
        try:
            sandbox = loop.run(
                Sandbox.open(path, fresh=fresh, term=term, name=os_first_name(), language=pick_language(language))
            )
        except KeyboardInterrupt:
            loop.stop()
            return 0
        except BaseException:
            loop.stop()
            raise
        term.say(sandbox.banner(path, fresh, log_path, loop.run(sandbox.console_link())))
        try:
            _converse(sandbox, term, loop)
        except KeyboardInterrupt:
            term.say("")
        try:
            loop.run(sandbox.close())
        except KeyboardInterrupt:
            term.say(term.style.dim("Stopped without waiting for the bot."))
        finally:
            loop.stop()
    term.say(term.style.dim(f"Bye! The conversation is kept in {path}; run the sandbox again to continue."))
    return 0
