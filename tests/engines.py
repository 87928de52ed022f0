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

# The test modules known to pass on PostgreSQL; the others are skipped there (saying so) until their
# repositories' SQL is portable. Extend it as they come to pass. NURTURE_TEST_ALL=1 runs every module.
POSTGRES_MODULES = frozenset(
    {
        # The database layer itself, and modules that open it without the bot.
        "test_db",
        "test_engines",
        "test_config",
        "test_file_modes",
        "test_pg_schema",
        "test_search_engines",
        # No database at all (they pass anywhere; listed so the PostgreSQL pass covers them too).
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
        # The bot and its repositories (every repository's SQL runs on both engines: storage/dialect.py).
        "test_broadcast_faults",
        "test_broadcast_form",
        "test_broadcasts",
        "test_console_auth",
        "test_console_broadcasts",
        "test_console_content",
        "test_console_coupons",
        "test_console_customers",
        "test_console_dates",
        "test_console_menu_button",
        "test_console_rules",
        "test_contact_policy",
        "test_content_edits",
        "test_content_live",
        "test_coupons",
        "test_customer_figures",
        "test_delivery",
        "test_dialect",
        "test_exactly_once",
        "test_exports",
        "test_faq",
        "test_faq_blind_eval",
        "test_faq_eval",
        "test_faq_llm",
        "test_faq_messy",
        "test_faq_teaching",
        "test_forgetting",
        "test_foundation",
        "test_fuzz_updates",
        "test_handoff",
        "test_handoff_relay",
        "test_handoff_topics",
        "test_hostile_text",
        "test_http_hardening",
        "test_import",
        "test_lead_idle",
        "test_ledger_properties",
        "test_loyalty",
        "test_menus",
        "test_numbers",
        "test_odd_input",
        "test_outbound",
        "test_owner_views_locales",
        "test_people",
        "test_points",
        "test_polling",
        "test_purchases_api",
        "test_referrals",
        "test_retention",
        "test_running",
        "test_sandbox",
        "test_secrets",
        "test_segments",
        "test_sequence_coupons",
        "test_sequences",
        "test_staff_languages",
        "test_stats",
        "test_team",
        "test_team_languages",
        "test_winback",
    }
)
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
