"""The "Case share details" reads: every grant of a case once, with the people it reaches (the
engine's own who-has-access, grouped), and the case's sharing history (S-ACC-6, S-AUD-1)."""

from __future__ import annotations

from pathlib import Path

from caseshare.core.levels import Action, Level
from caseshare.core.naming import namer
from caseshare.core.principals import Principal
from caseshare.core.why import read_why
from caseshare.demo import load_demo
from caseshare.services import Caseshare
from caseshare.store import open_store
from tests.services.cast import Cast, code_of


def test_s_acc_6_every_grant_of_the_case_once_with_whom_it_reaches(cast: Cast) -> None:
    detail = cast.svc.sharing_detail(cast.agency, cast.reader, cast.case)
    rows = {
        (g.cause, str(g.why.grantee) if g.why.grantee else g.why.key()[1]): g for g in detail.grants
    }
    group = f"group:{cast.group}"
    assert set(rows) == {
        ("owner", group),
        ("manual", f"user:{cast.reader}"),
        ("permission", "admin"),
    }
    owner = rows[("owner", group)]
    assert owner.level is Level.FULL and set(owner.people) == {cast.owner, cast.colleague}
    share = rows[("manual", f"user:{cast.reader}")]
    assert share.people == (cast.reader,) and share.level is Level.READ
    assert share.stored is not None and share.stored.created_by == f"user:{cast.owner}"
    assert [g.cause for g in detail.grants] == ["owner", "manual", "permission"]


def test_s_acc_6_the_rows_hold_exactly_the_grants_of_who_has_access(cast: Cast) -> None:
    svc = cast.svc
    svc.assign(cast.agency, cast.owner, cast.case, cast.outsider)
    detail = svc.sharing_detail(cast.agency, cast.owner, cast.case)
    from_rows = {(u, g.why.key()) for g in detail.grants for u in g.people}
    from_engine = {
        (a.user_id, read_why(g.cause.value, g.path).key())
        for a in svc.who_has_access(cast.agency, cast.case)
        for g in a.grants
    }
    assert from_rows == from_engine
    assert [a.user_id for a in detail.who] == [
        a.user_id for a in svc.who_has_access(cast.agency, cast.case)
    ]
    assert [a["user_id"] for a in detail.assignees] == [cast.outsider]


def test_a_share_that_reaches_nobody_today_is_still_listed(cast: Cast) -> None:
    svc = cast.svc
    empty = svc.create_group(cast.agency, None, "Nobody yet")
    svc.share(cast.agency, cast.owner, cast.case, f"group:{empty}", "edit")
    detail = svc.sharing_detail(cast.agency, cast.owner, cast.case)
    (row,) = [g for g in detail.grants if g.why.grantee == Principal("group", empty)]
    assert row.cause == "manual" and row.people == () and row.level is Level.EDIT
    assert row.stored is not None and row.stored.id is not None


def test_share_details_are_for_viewers_of_the_case_only(cast: Cast) -> None:
    assert code_of(cast.svc.sharing_detail, cast.agency, cast.outsider, cast.case) == "not_found"
    assert code_of(cast.svc.sharing_detail, cast.agency, cast.foreigner, cast.case) == "not_found"


def test_s_aud_1_the_sharing_history_holds_only_changes_of_access(cast: Cast) -> None:
    svc = cast.svc
    svc.edit_case(cast.agency, cast.owner, cast.case, name="Renamed")
    svc.assign(cast.agency, cast.owner, cast.case, cast.outsider)
    svc.unshare(cast.agency, cast.owner, cast.case, f"user:{cast.reader}")
    pk = svc.require(cast.owner, Action.VIEW, cast.case, agency_id=cast.agency).case_pk
    events, more = svc.sharing_history(cast.agency, pk)
    assert [e.action for e in events] == [
        "share.delete",
        "assignment.create",
        "share.create",
        "case.create",
    ]
    assert more is None
    first, older = svc.sharing_history(cast.agency, pk, limit=2)
    assert [e.action for e in first] == ["share.delete", "assignment.create"]
    rest, _ = svc.sharing_history(cast.agency, pk, before_id=older)
    assert [e.action for e in rest] == ["share.create", "case.create"]


def test_s_acc_6_every_path_of_the_demo_reads_back_into_words(tmp_path: Path) -> None:
    """Every grant of every person on every demo case is read back by ``core.why``: none falls
    back to the raw path with names put in."""
    store = open_store(f"sqlite:///{tmp_path / 'demo.db'}")
    try:
        load_demo(store, passwords=False)
        svc = Caseshare(store)
        agency = store.agency_by_slug("demo")
        assert agency is not None
        name = namer(svc.context(agency).directory, agency, "Demo")
        causes = set()
        for (case_id,) in store.rows("SELECT case_id FROM cases WHERE agency_id = ?", (agency,)):
            for access in svc.who_has_access(agency, case_id):
                for grant in access.grants:
                    why = read_why(grant.cause.value, grant.path)
                    said = why.words(name)
                    assert "user:" not in said and "→" not in said, grant.path
                    causes.add(grant.cause.value)
        assert causes >= {"owner", "manual", "assigned", "team", "rule", "hierarchy", "default"}
    finally:
        store.close()


def test_the_share_picker_finds_the_whole_agency_by_its_name_or_everyone(cast: Cast) -> None:
    slug, name = cast.svc.agency_names(cast.agency)
    agency = Principal("agency", cast.agency)
    for words in ("everyone", name.lower(), slug[:5]):
        found = cast.svc.search_principals(cast.agency, words, ("user", "group", "agency"))
        assert [m.principal for m in found if m.principal.kind == "agency"] == [agency], words
    only_people = cast.svc.search_principals(cast.agency, "everyone", ("user",))
    assert all(m.principal.kind == "user" for m in only_people)
    owners = cast.svc.search_principals(cast.agency, "everyone", ("agency",), owners_only=True)
    assert owners == []  # an agency cannot own a case
