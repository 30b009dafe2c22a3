"""What the databases say when requests contend, as refusals a person (and a client) can act on.

A lock held longer than the lock timeout (SQLite's ``database is locked``, PostgreSQL's
``lock_not_available`` or a cancelled statement) and a database that cannot be reached become
``Busy`` ("try again in a moment"); a deadlock or serialization failure, which the database
resolves by rolling one side back, becomes ``invalid_transition`` ("another request changed the
same thing; try again"). Anything else is a fault and stays as it is.
"""

from __future__ import annotations

import sqlite3

from caseshare.core.errors import Busy, CaseShareError

#: seconds a client is told to wait after a lock wait ran out
LOCK_RETRY_AFTER = 5
#: SQLite's primary result codes for "another connection holds the lock"
_SQLITE_BUSY = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED


def concurrent_change() -> CaseShareError:
    return CaseShareError(
        "invalid_transition",
        "Another request changed the same thing at the same moment; nothing was changed."
        " Try again.",
    )


def contention(exc: BaseException) -> CaseShareError | None:
    """The refusal a driver error stands for, or None when it is not about contention."""
    if isinstance(exc, sqlite3.OperationalError):
        code = getattr(exc, "sqlite_errorcode", None)
        if (code is not None and code & 0xFF in _SQLITE_BUSY) or "locked" in str(exc):
            return Busy(
                "The database is busy with another change that is taking long.", LOCK_RETRY_AFTER
            )
        return None
    if not type(exc).__module__.startswith("psycopg"):
        return None
    state = getattr(exc, "sqlstate", None) or ""
    if state in ("40001", "40P01"):  # serialization_failure, deadlock_detected
        return concurrent_change()
    if state in ("55P03", "57014"):  # lock_not_available, query_canceled (a timeout)
        return Busy(
            "The database is busy with another change that is taking long.", LOCK_RETRY_AFTER
        )
    operational = any(c.__name__ == "OperationalError" for c in type(exc).__mro__)
    if state.startswith(("08", "53", "57P")) or (operational and not state):
        # connection lost, out of connections or memory, the server shutting down
        return Busy("The database cannot be reached just now.", LOCK_RETRY_AFTER)
    return None


def is_integrity_error(exc: BaseException) -> bool:
    """A unique or foreign key violation of either database (a row another request made or
    removed at the same moment)."""
    if isinstance(exc, sqlite3.IntegrityError):
        return True
    return type(exc).__module__.startswith("psycopg") and any(
        c.__name__ == "IntegrityError" for c in type(exc).__mro__
    )
