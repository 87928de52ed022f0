"""Who is asking: the person the session middleware (`console/auth.py`) found for a request.

Sessions are rows in the database (`storage.console_access`), read on every request with the person's
role as committed now; nothing about them is kept in a process, so a login made on one process is good on
every other, and a revoke or a sign-out ends it on all of them at once.
"""

from __future__ import annotations

from aiohttp import web

from flows.console_access import Person

PERSON = web.RequestKey("person", Person)


def person_of(request: web.Request) -> Person | None:
    """Who is signed in for this request (their role as in the database now), or None."""
    return request.get(PERSON)


def signed_in(request: web.Request) -> Person:
    """The person behind a request that `requires(...)` let through."""
    return request[PERSON]
