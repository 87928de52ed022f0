"""Every text of the console (Python and templates) has a Russian and a Ukrainian translation."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file

from console.translation import translator

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"N_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}


def console_messages() -> set[str | tuple[str, ...]]:
    found: set[str | tuple[str, ...]] = set()
    for path in [*(ROOT / "console").rglob("*.py"), ROOT / "handlers" / "console.py"]:
        found |= {message for _, message, _, _ in extract_from_file("python", str(path), keywords=KEYWORDS)}
    for path in (ROOT / "console" / "templates").rglob("*.html"):
        options = {"extensions": "jinja2.ext.i18n"}
        found |= {m for _, m, _, _ in extract_from_file("jinja2.ext:babel_extract", str(path), options=options)}
    return found


@pytest.mark.parametrize("language", ["ru", "uk"])
def test_every_console_text_is_translated(language: str) -> None:
    tr = translator(language)
    missing = []
    for message in console_messages():
        if isinstance(message, tuple):
            forms = [tr.ngettext(message[0], message[1], n) for n in (1, 2, 5)]
            if message[0] in forms or message[1] in forms:
                missing.append(message[0])
        elif tr.gettext(message) == message and message != "Telegram":
            missing.append(message)
    assert not missing, f"no {language} translation for: {missing}"
