"""``Connection.shared_stamp`` names the database file a connection reads: the one it opened.

S-ACC-7 (the list equals the check) across SQLite connections of one process that share users'
live sets (``store.livesets``): two connections may share a stamp only when they read the same
file. The file is the one ``sqlite3.connect`` opened, not whatever its path names when the
connection first looks (a relative path read after the working directory moved).

The world: Bea owns a chain ``c`` → ``p`` → ``g``, in a database and its copy (so the agency,
the users and the context version are the same in both); Ali is then given ``c`` in the first
database only. Only Ali's live set reaches ``g``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from caseshare.core.principals import Principal
from caseshare.services import Caseshare
from caseshare.store import Store, open_store
from caseshare.store.livesets import LIVE

AGENCY, ADMIN, ALI = 1, 1, 2  # the first of each in a new database


def _build(path: Path) -> None:
    """The world in a new database at ``path``, Bea owning every case."""
    store = open_store(f"sqlite:///{path}")
    try:
        svc = Caseshare(store)
        agency = svc.create_agency("stamp", "Stamp", {"case_sharing": True})
        assert svc.create_user(agency, None, "admin", permissions=["admin"]) == ADMIN
        assert svc.create_user(agency, None, "ali") == ALI
        bea = f"user:{svc.create_user(agency, None, 'bea')}"
        svc.create_case(agency, None, "t", "g", case_id="g", owner=bea)
        svc.create_case(
            agency, None, "t", "p", case_id="p", owner=bea, indices={"up": ("g", "child")}
        )
        svc.create_case(
            agency, None, "t", "c", case_id="c", owner=bea, indices={"up": ("p", "child")}
        )
    finally:
        store.close()


def _give(path: Path) -> None:
    """Ali is given ``c`` (an owner change: the agency's context version stays)."""
    store = open_store(f"sqlite:///{path}")
    try:
        Caseshare(store).change_owner(AGENCY, ADMIN, "c", Principal("user", ALI))
    finally:
        store.close()


def _listed(svc: Caseshare, user: int) -> set[str]:
    found: set[str] = set()
    cursor = None
    while True:
        page = svc.list_cases(user, limit=2, cursor=cursor)
        found.update(item["case_id"] for item in page.items)
        cursor = page.next_cursor
        if cursor is None:
            return found


def _two_files(first: Store, second: Store) -> None:
    """Each connection lists Ali's cases, the second first (holding her set there), then the
    first: each must list its own database's cases, equal to its own check (S-ACC-7)."""
    LIVE.clear()
    one, two = Caseshare(first), Caseshare(second)
    ali = ALI
    first.list_stamp(), second.list_stamp()  # each connection's first look
    assert _listed(two, ali) == set()
    assert _listed(two, ali) == set() == two.visible_case_ids(ali)  # the set is held
    assert _listed(one, ali) == {"c", "p", "g"} == one.visible_case_ids(ali)


def test_s_acc_7_a_relative_path_names_the_file_opened_not_the_one_after_a_chdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``sqlite:///caseshare.db`` (the default URL) is relative: a connection opened in one
    directory reads that directory's file even after the working directory moved."""
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    _build(tmp_path / "one" / "caseshare.db")
    # a copy (a backup, a fixture's template): the same agency, ids and context version
    shutil.copy(tmp_path / "one" / "caseshare.db", tmp_path / "two" / "caseshare.db")
    _give(tmp_path / "one" / "caseshare.db")
    monkeypatch.chdir(tmp_path / "one")
    first = open_store("sqlite:///caseshare.db")
    monkeypatch.chdir(tmp_path / "two")
    second = open_store("sqlite:///caseshare.db")
    try:
        _two_files(first, second)
    finally:
        first.close()
        second.close()
