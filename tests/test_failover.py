"""Three real bot processes on one PostgreSQL behind one webhook address lose one to SIGKILL (restarted) and
one to SIGTERM in the middle of a broadcast while customers chat (bench/failover.py, scaled down).

The one place real time and real processes are allowed: the processes are started for real, the kill is a
real SIGKILL. Every wait in the scenario is bounded (a minute each), and the test stops by itself.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bench import failover
from tests.engines import database_url_for

RECIPIENTS = 90
CHATTERS = 8


@pytest.mark.engines("postgresql", reason="several processes share one database: only PostgreSQL serves them")
async def test_a_killed_and_a_stopped_process_lose_no_message_and_send_none_twice(tmp_path: Path) -> None:
    url = database_url_for(tmp_path / "bot.db")
    async with asyncio.timeout(150):  # ~35 s on an idle machine; starting Python processes is most of it
        report = await failover.run(
            url, RECIPIENTS, CHATTERS, pause=1.0, restart_after=0.5, budget=60, recovered=False
        )
    assert report.problems() == []
    assert report.got[1] + report.got[0] == RECIPIENTS  # nobody twice
    # the killed process's claims: still 'sending' until its lease lapses (30 s; not waited for here), never resent
    assert report.got[0] <= report.unknown <= report.sending_at_kill
    assert report.answers["once"] >= CHATTERS and report.answers["never"] == 0
    assert report.term_exit == 0  # SIGTERM is a clean stop
    assert report.pace.too_many == 0
    assert report.departures >= report.got[1]  # every process logged its departures (LOG_SENDS)
    assert report.departed.sliding_second <= 26  # the shared budget: 25/s and one more, across processes
