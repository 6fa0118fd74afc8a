"""Whether the database would take a write at the moment a system is being asked.

On SQLite every transaction (IMMEDIATE) holds the database's one write lock from its start,
so work that waits on a system inside one keeps webhooks from being stored, and runs from
writing their steps, for as long as the system takes to answer."""

import sqlite3
from collections.abc import Callable

from django.db import connection


def may_write_now() -> bool:
    """Whether another connection could start writing at once, as a webhook's would."""
    other = sqlite3.connect(connection.settings_dict["NAME"], timeout=0.1, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:  # database is locked
        return False
    finally:
        other.close()


def watch_writes(monkeypatch, app, asked: Callable[[str], bool]) -> list[bool]:
    """For each request of the sandbox `app` whose path `asked` picks: could the database
    take a write while it was answered?"""
    dispatch, seen = app.dispatch, []

    def answering(request):
        if asked(request.path):
            seen.append(may_write_now())
        return dispatch(request)

    monkeypatch.setattr(app, "dispatch", answering)
    return seen
