"""The terminal sandbox: the real `nurture-bot sandbox` driven through a pipe, plus its pure helpers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from bot.sandbox.chat import customer_number, pick_language
from bot.sandbox.clock import OffsetClock, format_duration, parse_duration
from bot.sandbox.emulator import SentMessage
from bot.sandbox.emulator_html import format_text
from bot.sandbox.terminal import Style, render_message, render_text

PLAIN, COLOR = Style(color=False), Style(color=True)

# --- the CLI, end to end --------------------------------------------------------------------------


def run_sandbox(database: Path, lines: list[str], *, fresh: bool = True) -> subprocess.CompletedProcess[str]:
    ours = ("LC_", "BOT_", "DATABASE_", "OWNER_", "CONTENT_", "MANAGER_", "TELEGRAM_", "WEBHOOK_", "CONTACT_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    # No quiet hours: the warm-up must arrive whatever the time of day the test runs.
    env |= {"LANG": "C.UTF-8", "TIMEZONE": "UTC", "QUIET_HOURS": "", "PYTHONIOENCODING": "utf-8"}
    command = [sys.executable, "-m", "bot.cli", "sandbox", "--database", str(database)]
    return subprocess.run(
        [*command, "--fresh"] if fresh else command,
        input="".join(f"{line}\n" for line in lines),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        cwd=database.parent,  # no stray .env
        env=env,
    )


def replies(output: str) -> dict[str, str]:
    """What was printed after each typed line, keyed by the line; a line typed again gets " (2)", " (3)" …"""
    found: dict[str, str] = {}
    typed, chunk = None, []
    for line in [*output.splitlines(), "you () › "]:
        if line.startswith("you (") and "› " in line:
            if typed is not None:
                key, n = typed, 1
                while key in found:
                    n += 1
                    key = f"{typed} ({n})"
                found[key] = "\n".join(chunk)
            typed, chunk = line.split("› ", 1)[1], []
        else:
            chunk.append(line)
    return found


SCRIPT = [
    "/start",
    "b",  # the "Skip" key of the phone keyboard
    "1",  # "Skip" under the birthday question
    "9",  # no such button among the interests
    "1",  # toggle "Yoga classes"
    "5",  # "Done"
    "/as nobody",
    "/wait soon",
    "/wait 2m",
    "/as owner",
    "/preview welcome",
    "/as customer2",
    "/manager",  # asks for a person: a lead in the managers' group (customer's warm-ups go on)
    "/as manager",
    "1",  # "Take"
]


@dataclass(frozen=True)
class Session:
    database: Path
    done: subprocess.CompletedProcess[str]

    @property
    def shown(self) -> dict[str, str]:
        return replies(self.done.stdout)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Session:
    """One scripted conversation shared by the tests below (each run of the CLI costs seconds)."""
    database = tmp_path_factory.mktemp("sandbox") / "sandbox.db"
    return Session(database, run_sandbox(database, SCRIPT))


def test_sandbox_exits_cleanly_at_end_of_input(session: Session) -> None:
    assert session.done.returncode == 0, session.done.stderr
    assert "Traceback" not in session.done.stdout + session.done.stderr
    assert "Bye!" in session.done.stdout


def test_banner_names_the_database_and_the_commands(session: Session) -> None:
    banner = session.done.stdout.split("you (customer) ›")[0]
    assert "sandbox.db (new)" in banner
    assert "/as owner" in banner and "/wait" in banner and "/quit" in banner


def test_banner_gives_the_owner_a_console_link(session: Session) -> None:
    banner = session.done.stdout.split("you (customer) ›")[0]
    assert re.search(r"The owner's console: open http://127\.0\.0\.1:\d+/login/[\w-]+ in a browser", banner)


def test_start_shows_welcome_and_keyboard_as_letters(session: Session) -> None:
    shown = session.shown["/start"]
    assert "bot › Hi, Guest! 👋 Welcome to Sunrise Yoga & Coffee." in shown  # <b> stripped: no colour in a pipe
    assert "[a] 📱 Share my number  [b] Skip" in shown
    assert "Skip ✓" in session.shown["b"]


def test_numbered_button_press_reaches_the_bot(session: Session) -> None:
    assert (
        "[1] 🧘 Yoga classes  [2] 💆 Massage" in session.shown["1"]
    )  # the interests, after skipping the birthday
    assert "(you press “✅ Done”)" in session.shown["5"]
    assert "Noted: 🧘 Yoga classes." in session.shown["5"]


def test_missing_button_number_gets_a_clear_line(session: Session) -> None:
    assert "There is no button 9: the latest message with buttons has 1–5." in session.shown["9"]


def test_bad_sandbox_commands_get_a_clear_line(session: Session) -> None:
    assert "There is nobody called “nobody” here" in session.shown["/as nobody"]
    assert "“soon” is not a time span. Try /wait 30m" in session.shown["/wait soon"]


def test_wait_delivers_the_first_warm_up_step(session: Session) -> None:
    shown = session.shown["/wait 2m"]
    assert "bot › Here is how it works at Sunrise" in shown
    assert "[1] Tell me more" in shown
    assert "2m later: it is now" in shown
    assert "Next message for you:" in shown  # the yoga sequence, 2 h after the tag


def test_owner_previews_a_sequence(session: Session) -> None:
    assert "You are now the owner" in session.shown["/as owner"]
    shown = session.shown["/preview welcome"]
    assert "welcome · step 1/3" in shown and "welcome · step 3/3" in shown
    assert "Your first class is on us" in shown


def test_manager_reads_the_group_and_is_on_the_team(session: Session) -> None:
    assert "new message in the managers' group: /as manager to read" in session.shown["/manager"]
    assert "bot › [#Guest" in session.shown["/as manager"]  # the lead's topic
    taking = session.shown["1 (3)"]
    assert "(you press “🙋 Take”)" in taking
    assert "bot (edited) › [#Guest" in taking
    assert "Only managers" not in taking


def test_a_later_run_continues_the_same_conversation(session: Session) -> None:
    again = run_sandbox(session.database, ["/wait 2d", "/start"], fresh=False)
    assert again.returncode == 0, again.stderr
    assert "kept between runs" in again.stdout
    # The new emulator has never seen the customer, yet the bot may write first: they started it before.
    assert "Since you like yoga" in replies(again.stdout)["/wait 2d"]
    # It also numbers updates from 1 again; the bot must not skip them as replays of the last run.
    assert "Welcome back, Guest!" in replies(again.stdout)["/start"]


# --- pure helpers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("3d", timedelta(days=3)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
        ("90S", timedelta(seconds=90)),
        ("2w", timedelta(weeks=2)),
    ],
)
def test_durations_are_parsed(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "soon", "2", "h", "2x", "-1h", "0m", "2h later", "1.5h"])
def test_non_durations_are_refused(text: str) -> None:
    assert parse_duration(text) is None


def test_durations_format_back_to_something_parseable() -> None:
    delta = timedelta(days=2, hours=21, minutes=9)
    assert format_duration(delta) == "2d 21h"
    assert parse_duration(format_duration(delta, units=4, sep="")) == delta


def test_offset_clock_only_moves_forward() -> None:
    clock = OffsetClock()
    before, mono = clock.now(), clock.monotonic()
    clock.advance(timedelta(hours=2))
    clock.advance(timedelta(hours=-5))
    assert clock.now() - before >= timedelta(hours=2)
    assert clock.monotonic() - mono >= 7200


def html(text: str, style: Style) -> str:
    shown = format_text(text, "HTML")
    return render_text(shown.text, shown.entities, style)


def test_html_without_colour_is_plain_text() -> None:
    assert html("Hi, <b>Anna</b>! Send <code>25.12</code> &lt;now&gt;", PLAIN) == "Hi, Anna! Send 25.12 <now>"


def test_html_with_colour_uses_terminal_styles() -> None:
    assert html("<b>bold <i>both</i></b>", COLOR) == "\x1b[1mbold \x1b[3mboth\x1b[23m\x1b[22m"


def test_links_show_their_address() -> None:
    assert html('See <a href="https://example.com/s">the schedule</a>.', PLAIN) == (
        "See the schedule (https://example.com/s)."
    )
    assert html('<a href="https://example.com">https://example.com</a>', PLAIN) == "https://example.com"


def test_styles_land_right_after_emoji() -> None:
    # Entity offsets count UTF-16 units: 🎁 is two of them.
    assert html("🎁 <b>gift</b>", COLOR) == "🎁 \x1b[1mgift\x1b[22m"


def test_photo_with_buttons_and_a_link() -> None:
    markup = {
        "inline_keyboard": [
            [{"text": "Yes", "callback_data": "y"}, {"text": "No", "callback_data": "n"}],
            [{"text": "Menu", "url": "https://example.com/menu"}],
        ]
    }
    photo = SentMessage(1, 5, "sendPhoto", "photo", 0, plain_text="Fresh croissants", reply_markup=markup)
    assert render_message(photo, PLAIN) == (
        "bot › [photo] Fresh croissants\n      [1] Yes  [2] No\n      [3] Menu → https://example.com/menu"
    )


def test_reply_keyboard_as_letters_and_edits_marked() -> None:
    markup = {"keyboard": [[{"text": "📱 Share", "request_contact": True}], [{"text": "Skip"}]]}
    ask = SentMessage(2, 5, "sendMessage", "text", 0, plain_text="Your phone?\n\nOr skip.", reply_markup=markup)
    assert render_message(ask, PLAIN, edited=True) == (
        "bot (edited) › Your phone?\n\n      Or skip.\n      keyboard: [a] 📱 Share  [b] Skip"
    )


def test_language_comes_from_the_flag_or_the_locale() -> None:
    assert pick_language("uk", {}) == "uk"
    assert pick_language(None, {"LANG": "ru_RU.UTF-8"}) == "ru"
    assert pick_language(None, {"LC_ALL": "C.UTF-8", "LANG": "ru_RU.UTF-8"}) == "en"
    assert pick_language(None, {"LANG": "de_DE.UTF-8"}) == "en"


def test_customer_roles() -> None:
    assert [customer_number(r) for r in ("customer", "customer1", "customer2", "customer9")] == [1, 1, 2, 9]
    assert customer_number("customer10") is None
    assert customer_number("owner") is None
