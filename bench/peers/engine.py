"""What every engine in the comparison offers the harness, caseshare included."""

from __future__ import annotations

import sqlite3
from typing import Protocol

#: a first page is this long, as in ``caseshare bench``
PAGE = 50


class Engine(Protocol):
    """One authorization engine loaded with one world; users are named by their position."""

    name: str
    #: the FEATURES (world.py) this engine's world holds
    features: frozenset[str]
    #: (feature, why) for each feature of the §16 world this engine cannot express
    leaves_out: list[tuple[str, str]]

    def check(self, user: int, case_id: str) -> bool:
        """May the user view the case?"""
        ...

    def first_page(self, user: int) -> list[str]:
        """The case ids of the first page of the cases the user may view, by
        (server_modified_on, pk)."""
        ...

    def share(self, actor: int, case_id: str, grantee: int) -> None:
        """As ``actor`` (who has full access), give ``grantee`` edit access to the case."""
        ...

    def revoke(self, actor: int, case_id: str, grantee: int) -> None:
        """As ``actor``, take that share away again."""
        ...


def app_database(path: str) -> sqlite3.Connection:
    """A peer's application database: SQLite in the mode caseshare runs it (WAL, NORMAL sync)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn
