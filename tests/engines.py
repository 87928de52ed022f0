"""Which database engine the tests run on, and what runs on PostgreSQL so far.

``NURTURE_TEST_ENGINE=postgresql`` runs the suite on a throw-away PostgreSQL server (tests/pg_server.py):
`make_settings` then gives every test a fresh database of its own through ``DATABASE_URL``. Unset (or
``sqlite``), every test uses a SQLite file in its tmp_path as always.

A test that cannot run on one engine says so and why: ``@pytest.mark.engines("sqlite", reason=...)``.
"""

from __future__ import annotations

import os
from pathlib import Path

ENGINE = os.environ.get("NURTURE_TEST_ENGINE", "sqlite").strip().lower() or "sqlite"
if ENGINE not in ("sqlite", "postgresql"):
    raise SystemExit(f"NURTURE_TEST_ENGINE={ENGINE!r}: use sqlite or postgresql")
ON_POSTGRES = ENGINE == "postgresql"

# Every test runs on both engines, except these modules on PostgreSQL, each for the reason given: they open
# no database (or only the console's pages in a browser, whose data paths the console's HTTP tests cover on
# both engines), so a second pass would test nothing new. NURTURE_TEST_ALL=1 runs them on PostgreSQL too.
ENGINE_FREE = "opens no database: the SQLite pass covers it"
NOT_ON_POSTGRES: dict[str, str] = {
    "browser": "the console in Chromium: pages render the same on both engines, and tests/test_console_*.py "
    "drive the same requests on PostgreSQL",
    **dict.fromkeys(
        (
            "test_api_fuzz",
            "test_console_render",
            "test_emulator",
            "test_faq_content",
            "test_faq_eval_data",
            "test_faq_snap",
            "test_flows_texts_marked",
            "test_lexicon",
            "test_markup",
            "test_markup_lint",
            "test_pacing",
            "test_question_split",
            "test_readme_promises",
            "test_staff_texts_marked",
            "test_telegram_html",
            "test_translations",
            "test_typing_slips",
        ),
        ENGINE_FREE,
    ),
}
RUN_ALL = os.environ.get("NURTURE_TEST_ALL") == "1"

_urls: dict[Path, str] = {}


def database_url_for(path: Path) -> str:
    """On PostgreSQL, the fresh database standing for the SQLite file `path` (the same one for the same
    path, so a restarted bot finds its data)."""
    from tests.pg_server import server

    path = Path(path).resolve()
    if path not in _urls:
        _urls[path] = server().database()
    return _urls[path]


def forget_databases() -> None:
    """After a test: drop the databases it used."""
    from tests.pg_server import running

    _urls.clear()
    started = running()
    if started is not None:
        started.drop_made()


def target_for(folder: Path) -> Path | str:
    """What `Database.open` should open for a test working in `folder`: the SQLite file there, or on
    PostgreSQL the fresh database standing for it."""
    path = folder / "bot.db"
    return database_url_for(path) if ON_POSTGRES else path
