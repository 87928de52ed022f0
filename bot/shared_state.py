"""What each process keeps in memory of the database, and how it stays right with several processes.

Several bot processes may share one PostgreSQL database (webhook mode behind a load balancer: any process
gets any update, and the owner's console may be served by any of them). Every piece of per-process state
that mirrors or stands in for the database was looked at; each is kept correct across processes, or
removed, or is shown not to need it:

Followed through signals (`storage.signals`: sent in the committing transaction, heard by every process;
after a lost listening connection, every topic counts as changed). Wired in `follow_other_processes`:
- the staff's roles (`flows.staff.Staff`): read on every command and button, so kept; `STAFF` drops them.
  The console reads the role from the database per request (a revoke must end access at once there).
- the running content (`flows.content_live`): a version saved in any process (the console, `nurture-bot
  content import`) is switched to by all of them, never backwards (`ContentEdits.follow_stored`).
- what the FAQ was taught (`flows.faq_teaching`): phrasings and the owner's entries are part of the index;
  `FAQ_TEACHING` rebuilds it (`FaqTeaching.refresh`).
- the managers' group id after it became a supergroup (`bot.app.follow_chat_migrations`): kept in kv,
  `MANAGER_CHAT` makes the others read it.

Removed:
- the broadcast wizard's list of who has a draft open (`flows.broadcasts`): a draft begun on one process
  was invisible to another. The draft is read from the database; the role check, in memory, comes first,
  so customers still cost nothing.

Per process by nature (correct as they are, reasons in their modules):
- written-behind marks (`storage.customers` last-seen and no-effect processed marks, `storage.faq_log`
  answered questions, `storage.messages`): every process notes and flushes its own (each tick and at
  shutdown); the SQL merges (last-seen only moves forward, marks ``ON CONFLICT DO NOTHING``). A process
  that dies loses what it noted since its last flush: a last-seen time a few seconds old, a read-only
  answer that may be given again on a re-delivery, a few answered questions missing from the FAQ's log.
  Nothing that changes data relies on them (effects commit their own mark). Each process must keep
  flushing its own notes even where periodic jobs run on one process only.
- recently handled update ids (`flows.customers`): a shortcut that skips a re-delivery; the processed mark
  in the database decides for everything that changes data.
- the same-button guard (`handlers.middlewares.SamePressMiddleware`): spares a double tap on one process;
  two taps served by two processes are both handled, and each re-checks the state as it writes (writes are
  serialized), as two taps a second apart always were.
- the figures kept a minute (`flows.stats_cache`): a memo of a read, at most `TTL` old, the same on one
  process as on several (nothing is cleared on change); two processes may show figures a minute apart.
- the forum check (`bot.manager_chat`) and the topic locks (`flows.handoff`): Telegram's state, not ours;
  two processes creating the customer's topic at once keep the first saved (`storage.leads.save_topic`).
- command menus (`bot.menus`): Telegram keeps them; the process that changes a role or a language sets
  them at that moment. After a remote content switch each process re-announces when the business's
  languages changed (the same idempotent calls, once per process).
- console sessions: in the database (`storage.console_access`), one row per session, read per request.
- the language model's answers (`flows.faq_llm`): a memo of a pure question, not of the database.
"""

from __future__ import annotations

from typing import Any

from storage.signals import CONTENT, FAQ_TEACHING, STAFF, Signals


async def follow_other_processes(signals: Signals, services: dict[str, Any]) -> None:
    """Subscribe what each process keeps in memory to the changes other processes make, then start
    listening in earnest (what was heard while the app was built runs now)."""
    signals.subscribe(STAFF, services["staff"].forget)
    signals.subscribe(CONTENT, services["content_edits"].follow_stored)
    signals.subscribe(FAQ_TEACHING, services["faq_teaching"].refresh)
    await signals.start()
