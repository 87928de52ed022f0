"""Why a move cannot start or did not finish, in words for the owner."""

from __future__ import annotations


class MoveRefused(Exception):
    """The move did not happen (or was rolled back); the message says why and what to do. It never holds
    the database password."""
