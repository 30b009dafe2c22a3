"""Device submissions through the pipeline (SPEC §8): S-TX-1 … S-TX-8, on both stores."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from caseshare.core.errors import CaseShareError
from caseshare.services.casehistory import fmt_time, parse_time
from tests.services.cast import Cast, code_of
from tests.services.forms import block, create, form, index, update

ROOT = Path(__file__).resolve().parents[2]
COMMCARE = ROOT.parent / "shared" / "conformance" / "commcare"
REJECTED = sorted((COMMCARE / "case_parse").glob("*.xml"))
WITH_OUTPUT = sorted(
    p
    for p in COMMCARE.glob("case_create_*.xml")
    if not p.stem.endswith("_output") and p.with_name(f"{p.stem}_output.xml").exists()
)


def row(cast: Cast, case_id: str) -> dict[str, Any]:
    found = cast.store.case_state_columns(cast.agency, case_id)
    assert found is not None, f"case {case_id} does not exist"
    return {**found[1], "indices": found[2]}


def exists(cast: Cast, case_id: str) -> bool:
    return cast.store.case_pk(cast.agency, case_id) is not None


def refusal(cast: Cast, user: int, xml: str) -> CaseShareError:
    with pytest.raises(CaseShareError) as info:
        cast.svc.submit(cast.agency, user, xml)
    return info.value


def assert_rebuild_agrees(cast: Cast, *case_ids: str) -> None:
    for case_id in case_ids:
        assert cast.svc.history_snapshot(cast.agency, case_id) == cast.svc.stored_snapshot(
            cast.agency, case_id
        ), case_id


# --- S-TX-1, S-TX-2, S-CRT-2 ----------------------------------------------------------------------


def test_s_crt_2_a_create_without_owner_goes_to_the_creators_group(cast: Cast) -> None:
    result = cast.svc.submit(cast.agency, cast.owner, form(block("d1", create(name="Dora"))))
    assert result.status == "normal" and result.cases == ("d1",)
    case = row(cast, "d1")
    assert case["owner"] == str(cast.group_principal)
    assert (case["name"], case["case_type"], case["closed"]) == ("Dora", "patient", False)
    assert case["opened_by"] == cast.owner and case["modified_by"] == cast.owner
    assert case["opened_on"] == "2024-01-01T10:00:00.000000Z"
    txs = cast.store.transactions(cast.agency, "d1")
    assert [t.kinds for t in txs] == ["create"]
    assert txs[0].owner == str(cast.group_principal)  # the choice is kept for replays
    pk = cast.store.case_pk(cast.agency, "d1")
    events = cast.store.audit_events(cast.agency, case_pk=pk)
    assert [e.action for e in events] == ["case.create"]
    assert events[0].after["owner"] == str(cast.group_principal)
    assert_rebuild_agrees(cast, "d1")
    # the case is a real case of the sharing engine: the colleague in the group may edit it
    assert cast.svc.check(cast.colleague, "edit", "d1").allowed
    assert "d1" in cast.svc.visible_case_ids(cast.colleague)


def test_s_crt_2_without_a_case_sharing_group_the_form_is_refused(cast: Cast) -> None:
    error = refusal(cast, cast.outsider, form(block("d1", create()), instance="f-no-group"))
    assert error.code == "no_case_sharing_group"
    assert not exists(cast, "d1")
    [stored] = cast.store.submissions(cast.agency, "f-no-group")
    assert stored.status == "error" and stored.id == error.details["submission"]
    assert stored.problem.startswith("no_case_sharing_group: ")
    assert "Join exactly one case-sharing group" in stored.problem


def test_s_crt_1_explicit_owners(cast: Cast) -> None:
    cast.svc.submit(cast.agency, cast.owner, form(block("d1", create(owner=f"user:{cast.owner}"))))
    assert row(cast, "d1")["owner"] == f"user:{cast.owner}"  # S-CRT-3: private
    error = refusal(cast, cast.owner, form(block("d2", create(owner=f"user:{cast.reader}"))))
    assert error.code == "invalid_owner"
    error = refusal(cast, cast.owner, form(block("d3", create(owner="test_group"))))
    assert error.code == "invalid_owner" and "group:ID" in error.message
    # an admin may hand a new case to anyone of the agency
    cast.svc.submit(cast.agency, cast.admin, form(block("d4", create(owner=f"user:{cast.reader}"))))
    assert row(cast, "d4")["owner"] == f"user:{cast.reader}"


def test_s_tx_2_update_on_a_missing_case_creates_it(cast: Cast) -> None:
    cast.svc.submit(cast.agency, cast.owner, form(block("d1", update(colour="red"))))
    case = row(cast, "d1")
    assert case["properties"] == {"colour": "red"}
    assert case["owner"] == str(cast.group_principal)
    assert_rebuild_agrees(cast, "d1")


def test_s_tx_2_create_on_an_existing_case_reapplies_name_type_owner(cast: Cast) -> None:
    cast.svc.submit(
        cast.agency, cast.owner, form(block("d1", create(name="A") + update(p1="one", p2="two")))
    )
    cast.svc.submit(
        cast.agency,
        cast.owner,
        form(block("d1", create("visit", "B", f"user:{cast.owner}") + update(p2="2"))),
    )
    case = row(cast, "d1")
    assert (case["name"], case["case_type"], case["owner"]) == ("B", "visit", f"user:{cast.owner}")
    assert case["properties"] == {"p1": "one", "p2": "2"}
    assert_rebuild_agrees(cast, "d1")


def test_s_tx_1_last_duplicate_wins_and_blocks_apply_in_document_order(cast: Cast) -> None:
    xml = form(
        block("d1", create() + "<update><p>1</p><p>2</p></update>"),
        block("d1", update(p="3", q="x")),
    )
    cast.svc.submit(cast.agency, cast.owner, xml)
    assert row(cast, "d1")["properties"] == {"p": "3", "q": "x"}
    assert [t.kinds for t in cast.store.transactions(cast.agency, "d1")] == ["create,update"]


def test_s_tx_1_empty_update_and_a_block_without_actions(cast: Cast) -> None:
    cast.svc.submit(cast.agency, cast.owner, form(block("d1", create() + update(p="1"))))
    before = row(cast, "d1")
    cast.svc.submit(
        cast.agency, cast.colleague, form(block("d1", "<update/>", "2024-02-01T00:00:00Z"))
    )
    after = row(cast, "d1")
    assert after["properties"] == before["properties"] and after["name"] == before["name"]
    cast.svc.submit(cast.agency, cast.owner, form(block("d1", "", "2024-03-01T00:00:00Z")))
    touched = row(cast, "d1")
    assert touched["modified_on"] == "2024-03-01T00:00:00.000000Z"
    assert touched["modified_by"] == cast.owner
    kinds = [t.kinds for t in cast.store.transactions(cast.agency, "d1")]
    assert kinds == ["create,update", "update", "touch"]
    assert_rebuild_agrees(cast, "d1")


def test_s_tx_3_modified_on_is_the_latest_device_time(cast: Cast) -> None:
    cast.svc.submit(cast.agency, cast.owner, form(block("d1", create(), "2024-05-01T00:00:00Z")))
    cast.svc.submit(
        cast.agency, cast.owner, form(block("d1", update(p="late"), "2024-04-01T00:00:00Z"))
    )
    case = row(cast, "d1")
    assert case["modified_on"] == "2024-05-01T00:00:00.000000Z"
    assert case["properties"] == {"p": "late"}  # received later wins


# --- §8.4 indices ---------------------------------------------------------------------------------


def test_indices_set_replace_delete_and_must_exist(cast: Cast) -> None:
    xml = form(block("kid", create() + index("parent", "mum")), block("mum", create()))
    cast.svc.submit(cast.agency, cast.owner, xml)  # a parent made later in the same form
    assert row(cast, "kid")["indices"] == [("parent", "mum", "patient", "child")]
    error = refusal(cast, cast.owner, form(block("kid", index("parent", "nobody"))))
    assert error.code == "invalid_index" and "nobody" in error.message
    # the case of the same id in the other agency is not a case here
    error = refusal(cast, cast.owner, form(block("kid", index("parent", "k-south-only"))))
    assert error.code == "invalid_index"
    cast.svc.submit(cast.agency, cast.owner, form(block("kid", index("parent", cast.case))))
    assert row(cast, "kid")["indices"] == [("parent", cast.case, "patient", "child")]
    cast.svc.submit(cast.agency, cast.owner, form(block("kid", index("parent", ""))))
    assert row(cast, "kid")["indices"] == []
    assert_rebuild_agrees(cast, "kid", "mum")


def test_extension_close_cascade(cast: Cast) -> None:
    cast.svc.update_settings(cast.agency, None, {"extension_close_cascade": True})
    cast.svc.submit(
        cast.agency,
        cast.owner,
        form(
            block("host", create()),
            block("ext", create() + index("host", "host", "extension")),
            block("ext2", create() + index("host", "ext", "extension")),
            block("kid", create() + index("parent", "host")),
        ),
    )
    result = cast.svc.submit(
        cast.agency, cast.owner, form(block("host", "<close/>", "2024-06-01T00:00:00Z"))
    )
    assert result.cases == ("host", "ext", "ext2")
    assert row(cast, "ext")["closed"] and row(cast, "ext2")["closed"]
    assert row(cast, "ext")["closed_by"] is None  # the system closed it
    assert not row(cast, "kid")["closed"]  # a child is not an extension
    [tx] = [t for t in cast.store.transactions(cast.agency, "ext") if "cascade" in t.kinds]
    assert tx.kinds == "close,cascade"
    assert_rebuild_agrees(cast, "host", "ext", "ext2", "kid")


def test_without_the_setting_extensions_stay_open(cast: Cast) -> None:
    cast.svc.submit(
        cast.agency,
        cast.owner,
        form(block("host", create()), block("ext", create() + index("host", "host", "extension"))),
    )
    cast.svc.submit(cast.agency, cast.owner, form(block("host", "<close/>")))
    assert not row(cast, "ext")["closed"]


# --- S-TX-4, S-TX-5, S-TX-7 -----------------------------------------------------------------------


def test_s_tx_4_close_is_sticky_until_the_closing_form_is_archived(cast: Cast) -> None:
    cast.svc.submit(cast.agency, cast.owner, form(block("d1", create())))
    cast.svc.submit(cast.agency, cast.owner, form(block("d1", "<close/>"), instance="closing"))
    cast.svc.submit(cast.agency, cast.owner, form(block("d1", update(p="after"))))
    case = row(cast, "d1")
    assert case["closed"] and case["properties"] == {"p": "after"}
    assert cast.svc.archive_submission(cast.agency, cast.admin, "closing") == ["d1"]
    case = row(cast, "d1")
    assert not case["closed"] and case["properties"] == {"p": "after"}
    assert_rebuild_agrees(cast, "d1")


def test_s_tx_5_one_bad_block_rejects_the_whole_form(cast: Cast) -> None:
    xml = form(
        block("d1", create()),
        block(cast.case, update(p="x")),
        block("d2", index("parent", "missing")),
        instance="bad",
    )
    events = len(cast.store.audit_events(cast.agency))
    error = refusal(cast, cast.owner, xml)
    assert error.code == "invalid_index"
    assert not exists(cast, "d1") and "p" not in row(cast, cast.case)["properties"]
    assert len(cast.store.audit_events(cast.agency)) == events
    assert cast.store.transactions(cast.agency, "d1") == []
    [stored] = cast.store.submissions(cast.agency, "bad")
    assert (stored.status, stored.xml) == ("error", xml)
    assert "missing" in stored.problem
    # sending it again once fixed is accepted
    fixed = xml.replace(block("d2", index("parent", "missing")), "")
    assert cast.svc.submit(cast.agency, cast.owner, fixed).status == "normal"


@pytest.mark.parametrize("path", REJECTED, ids=[p.name for p in REJECTED])
def test_s_tx_5_commcare_parse_fixtures_are_refused_and_stored(cast: Cast, path: Path) -> None:
    error = refusal(cast, cast.owner, path.read_text(encoding="utf-8"))
    assert error.code in ("invalid_case_block", "invalid_index")
    stored = cast.store.submission(int(str(error.details["submission"])))
    assert stored is not None and stored.status == "error"
    assert stored.problem == f"{error.code}: {error.message}"


def test_s_tx_5_malformed_xml_is_stored_as_an_error(cast: Cast) -> None:
    error = refusal(cast, cast.owner, "<data><case")
    assert error.code == "invalid_case_block" and "well-formed" in error.message
    error = refusal(cast, cast.owner, b"<data>\xff</data>")
    assert "UTF-8" in error.message


def test_s_tx_5_resending_the_same_form_changes_nothing(cast: Cast) -> None:
    xml = form(block("d1", create() + update(n="1")), instance="same")
    first = cast.svc.submit(cast.agency, cast.owner, xml)
    before = (row(cast, "d1"), len(cast.store.audit_events(cast.agency)))
    again = cast.svc.submit(cast.agency, cast.owner, xml)
    assert (again.status, again.cases) == ("duplicate", ())
    assert (row(cast, "d1"), len(cast.store.audit_events(cast.agency))) == before
    statuses = [s.status for s in cast.store.submissions(cast.agency, "same")]
    assert statuses == ["normal", "duplicate"] and first.submission_id != again.submission_id
    assert len(cast.store.transactions(cast.agency, "d1")) == 1


def test_s_tx_5_an_edit_deprecates_and_rebuilds_every_case_either_touched(cast: Cast) -> None:
    cast.svc.submit(cast.agency, cast.owner, form(block("a", create() + update(p="a0"))))
    cast.svc.submit(
        cast.agency,
        cast.owner,
        form(block("a", update(p="a1")), block("b", create()), instance="edited"),
    )
    cast.svc.submit(cast.agency, cast.owner, form(block("a", update(q="later"))))
    result = cast.svc.submit(
        cast.agency,
        cast.owner,
        form(block("a", update(r="new")), block("c", create()), instance="edited"),
    )
    assert result.edited and result.status == "normal"
    assert set(result.cases) == {"a", "b", "c"}
    assert row(cast, "a")["properties"] == {"p": "a0", "q": "later", "r": "new"}
    assert not exists(cast, "b") and exists(cast, "c")
    statuses = [s.status for s in cast.store.submissions(cast.agency, "edited")]
    assert statuses == ["deprecated", "normal"]
    assert_rebuild_agrees(cast, "a", "c")


def test_times_before_year_1000_are_stored_zero_padded() -> None:
    moment = datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert fmt_time(moment) == "0999-01-02T03:04:05.000006Z"
    assert parse_time(fmt_time(moment)) == moment


def test_s_tx_5_an_edit_needs_edit_access_on_the_cases_of_its_old_version(cast: Cast) -> None:
    mine = form(block("x1", create(owner=f"user:{cast.owner}") + update(p="1")), instance="f-x")
    cast.svc.submit(cast.agency, cast.owner, mine)
    # someone else may not send a new version of Olga's form at all
    other = form(block("y1", create(owner=f"user:{cast.colleague}")), instance="f-x")
    assert code_of(cast.svc.submit, cast.agency, cast.colleague, other) == "insufficient_access"
    # Olga herself may not either, once the case only the old version named is out of her reach
    cast.svc.change_owner(cast.agency, cast.owner, "x1", f"user:{cast.reader}")
    assert not cast.svc.check(cast.owner, "edit", "x1").allowed
    edit = form(block("y1", create(owner=f"user:{cast.owner}")), instance="f-x")
    assert code_of(cast.svc.submit, cast.agency, cast.owner, edit) == "insufficient_access"
    assert row(cast, "x1")["properties"] == {"p": "1"} and not exists(cast, "y1")
    statuses = [s.status for s in cast.store.submissions(cast.agency, "f-x")]
    assert statuses == ["normal", "error", "error"]


def test_s_tx_7_updates_need_edit_access_on_every_existing_case(cast: Cast) -> None:
    for user in (cast.reader, cast.outsider):
        xml = form(block("fresh", create(owner=f"user:{user}")), block(cast.case, update(p="x")))
        error = refusal(cast, user, xml)
        assert error.code == "insufficient_access" and cast.case in error.message
        assert not exists(cast, "fresh")
    cast.svc.submit(cast.agency, cast.colleague, form(block(cast.case, update(p="x"))))
    assert row(cast, cast.case)["properties"] == {"p": "x"}
    # handing a case to another owner is a transfer: edit access is not enough
    cast.svc.share(cast.agency, cast.owner, cast.case, f"user:{cast.outsider}", "edit")
    xml = form(block(cast.case, update(owner_id=f"user:{cast.reader}")))
    assert code_of(cast.svc.submit, cast.agency, cast.outsider, xml) == "insufficient_access"
    cast.svc.submit(cast.agency, cast.colleague, xml)
    assert row(cast, cast.case)["owner"] == f"user:{cast.reader}"
    # S-SHR-6: the transfer took the manual shares with it
    pk = cast.store.case_pk(cast.agency, cast.case)
    assert pk is not None and cast.store.grant_rows(pk, include_deleted=True) == []
    # the sharing API's create is the case's first transaction: a rebuild starts from it
    assert next(t.kinds for t in cast.store.transactions(cast.agency, cast.case)) == (
        "baseline,api,create"
    )
    assert_rebuild_agrees(cast, cast.case)


def test_a_case_in_the_recycle_bin_cannot_be_updated_by_a_form(cast: Cast) -> None:
    cast.svc.delete_case(cast.agency, cast.owner, cast.case)
    xml = form(block(cast.case, update(p="x")))
    assert code_of(cast.svc.submit, cast.agency, cast.owner, xml) == "insufficient_access"


def test_a_user_of_another_agency_cannot_submit(cast: Cast) -> None:
    xml = form(block("d1", create()))
    assert code_of(cast.svc.submit, cast.agency, cast.foreigner, xml) == "not_found"


# --- S-TX-3 reconcile -----------------------------------------------------------------------------


@pytest.mark.parametrize(("ordering", "expected"), [("received", "old"), ("reconcile", "new")])
def test_s_tx_3_reconcile_replays_one_users_forms_by_device_time(
    cast: Cast, ordering: str, expected: str
) -> None:
    cast.svc.update_settings(cast.agency, None, {"ordering": ordering})
    cast.svc.submit(cast.agency, cast.owner, form(block("d1", create(), "2024-01-01T08:00:00Z")))
    cast.svc.submit(
        cast.agency, cast.owner, form(block("d1", update(p="new"), "2024-01-01T10:00:00Z"))
    )
    cast.svc.submit(  # received last, made first on the device
        cast.agency, cast.owner, form(block("d1", update(p="old"), "2024-01-01T09:00:00Z"))
    )
    assert row(cast, "d1")["properties"] == {"p": expected}
    assert_rebuild_agrees(cast, "d1")


# --- S-TX-8 archive -------------------------------------------------------------------------------


def test_s_tx_8_archive_deletes_a_case_with_no_history_left_and_unarchive_restores(
    cast: Cast,
) -> None:
    cast.svc.submit(
        cast.agency, cast.owner, form(block("mum", create(name="Mum")), instance="mum-form")
    )
    cast.svc.submit(cast.agency, cast.owner, form(block("kid", create() + index("parent", "mum"))))
    assert cast.svc.archive_submission(cast.agency, cast.admin, "mum-form") == ["mum"]
    assert not exists(cast, "mum") and row(cast, "kid")["indices"] == []
    assert code_of(cast.svc.archive_submission, cast.agency, cast.admin, "mum-form") == (
        "invalid_transition"
    )
    cast.svc.unarchive_submission(cast.agency, cast.admin, "mum-form")
    assert row(cast, "mum")["name"] == "Mum"
    assert row(cast, "kid")["indices"] == [("parent", "mum", "patient", "child")]
    assert_rebuild_agrees(cast, "mum", "kid")
    actions = [e.action for e in cast.store.audit_events(cast.agency, limit=10_000)]
    assert "submission.archive" in actions and "submission.unarchive" in actions
    assert code_of(cast.svc.archive_submission, cast.agency, cast.owner, "mum-form") == (
        "insufficient_access"
    )
    assert code_of(cast.svc.archive_submission, cast.agency, cast.admin, "nope") == "not_found"


# --- CommCare's fixtures --------------------------------------------------------------------------


def _owner_ids(cast: Cast) -> dict[str, str]:
    second = cast.svc.create_group(cast.agency, None, "Second", case_sharing=True)
    return {"test_group": str(cast.group_principal), "test_group_2": f"group:{second}"}


@pytest.mark.parametrize("path", WITH_OUTPUT, ids=[p.name for p in WITH_OUTPUT])
def test_commcare_create_fixtures_give_their_output_state(cast: Cast, path: Path) -> None:
    from defusedxml.ElementTree import fromstring

    owners = _owner_ids(cast)
    text = path.read_text(encoding="utf-8")
    for name, principal in owners.items():
        text = text.replace(f">{name}<", f">{principal}<")
    cast.svc.submit(cast.agency, cast.admin, text)
    skip = {"case_name", "date_opened", "last_modified", "userid", "index", "attachment"}
    for el in fromstring(path.with_name(f"{path.stem}_output.xml").read_bytes()).iter("case"):
        case = row(cast, el.get("case_id", ""))
        assert case["case_type"] == el.get("case_type")
        assert case["closed"] == (el.get("status") == "closed")
        assert case["owner"] == owners[el.get("owner_id", "")]
        assert case["name"] == el.findtext("case_name")
        assert case["opened_on"][:10] == el.findtext("date_opened")
        assert case["modified_on"][:10] == el.findtext("last_modified")
        props = {c.tag: (c.text or "") for c in el if c.tag not in skip}
        assert case["properties"] == props
        assert case["indices"] == []


def test_extension_close_cascade_applies_to_a_close_through_the_api(cast: Cast) -> None:
    """§8.4: the setting is about closing a host, whatever path the close comes by; the cascade
    closes are outside changes of the system user and survive a rebuild."""
    cast.svc.update_settings(cast.agency, None, {"extension_close_cascade": True})
    cast.svc.submit(
        cast.agency,
        cast.owner,
        form(
            block("h2", create()),
            block("e2", create() + index("host", "h2", "extension")),
            block("e3", create() + index("host", "e2", "extension")),
            block("c2", create() + index("parent", "h2")),
        ),
    )
    assert cast.svc.close_case(cast.agency, cast.owner, "h2")
    assert row(cast, "e2")["closed"] and row(cast, "e3")["closed"]
    assert row(cast, "e2")["closed_by"] is None  # the system closed it
    assert not row(cast, "c2")["closed"]  # a child is not an extension
    assert_rebuild_agrees(cast, "h2", "e2", "e3", "c2")
    # and through update_case, on a case made by the API (no form history)
    host = cast.svc.create_case(cast.agency, cast.owner, "patient", "API host")
    ext = cast.svc.create_case(
        cast.agency, cast.owner, "contact", "API ext", indices={"host": (host, "extension")}
    )
    cast.svc.update_case(cast.agency, cast.owner, host, closed=True)
    assert row(cast, ext)["closed"]


def test_without_the_setting_an_api_close_leaves_extensions_open(cast: Cast) -> None:
    host = cast.svc.create_case(cast.agency, cast.owner, "patient", "API host")
    ext = cast.svc.create_case(
        cast.agency, cast.owner, "contact", "API ext", indices={"host": (host, "extension")}
    )
    cast.svc.close_case(cast.agency, cast.owner, host)
    assert not row(cast, ext)["closed"]


def test_s_tx_6_a_form_checks_the_agency_version_once_with_case_locks(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    """S-TX-6 with per-case locks (PostgreSQL): the context is read before any lock either way,
    so the acting user's read serves the whole form (one version check, a round trip, not two);
    SQLite reads it again under its write lock. Issue 12 item 4."""
    reads: list[int] = []
    state = cast.store.agency_state

    def counted(agency_id: int) -> Any:
        reads.append(agency_id)
        return state(agency_id)

    cast.svc.context(cast.agency)  # warm: a cold load reads the version itself
    monkeypatch.setattr(cast.store, "agency_state", counted)
    result = cast.svc.submit(cast.agency, cast.owner, form(block("v1", create(name="Vera"))))
    assert result.status == "normal"
    assert len(reads) == (1 if cast.store.per_case_locks else 2)
    reads.clear()
    cast.svc.submit(cast.agency, cast.owner, form(block("v1", update(colour="red"))))
    assert len(reads) == (1 if cast.store.per_case_locks else 2)
    assert row(cast, "v1")["properties"] == {"colour": "red"}


def _stored_row(cast: Cast, case_id: str) -> dict[str, Any]:
    cols = "case_type, name, external_id, owner, owner_user_id, closed, search, properties"
    found = cast.store.row(
        f"SELECT {cols} FROM cases WHERE agency_id = ? AND case_id = ?", (cast.agency, case_id)
    )
    assert found is not None
    return dict(zip(cols.split(", "), found, strict=True))


def _found_by_text(cast: Cast, text: str) -> bool:
    if cast.store.is_postgres:
        sql = "SELECT 1 FROM cases WHERE agency_id = ? AND search LIKE ?"
        return cast.store.row(sql, (cast.agency, f"%{text}%")) is not None
    sql = "SELECT 1 FROM cases_fts WHERE cases_fts MATCH ?"
    return cast.store.row(sql, (f'"{text}"',)) is not None


def test_a_form_writes_the_columns_it_changes_and_their_derived_ones(cast: Cast) -> None:
    """A form's update sets on SQLite only the columns that changed (``casestates._changed``):
    the stored row, its text index and its owner's user id are as a full rewrite leaves them,
    through a property change, a name change and a transfer."""
    owner = f"user:{cast.owner}"
    cast.svc.submit(cast.agency, cast.owner, form(block("w1", create(name="Wanda", owner=owner))))
    cast.svc.submit(cast.agency, cast.owner, form(block("w1", update(colour="zebrine"))))
    stored = _stored_row(cast, "w1")
    assert stored["search"] == "wanda\n\nzebrine" and stored["owner_user_id"] == cast.owner
    assert _found_by_text(cast, "zebrine")
    later = "2024-01-02T10:00:00Z"
    cast.svc.submit(cast.agency, cast.owner, form(block("w1", update(colour="yakish"), later)))
    assert _found_by_text(cast, "yakish") and not _found_by_text(cast, "zebrine")
    assert row(cast, "w1")["modified_on"] == "2024-01-02T10:00:00.000000Z"
    cast.svc.submit(cast.agency, cast.owner, form(block("w1", update(case_name="Wilma"))))
    stored = _stored_row(cast, "w1")
    assert (stored["name"], stored["search"]) == ("Wilma", "wilma\n\nyakish")
    transfer = update(owner_id=f"user:{cast.colleague}")
    cast.svc.submit(cast.agency, cast.owner, form(block("w1", transfer)))
    stored = _stored_row(cast, "w1")
    assert (stored["owner"], stored["owner_user_id"]) == (f"user:{cast.colleague}", cast.colleague)
    assert_rebuild_agrees(cast, "w1")


def test_a_form_that_brings_back_an_indexed_case_gives_its_referrers_their_index_back(
    cast: Cast,
) -> None:
    """A case whose history indexes a case that no longer exists has no index row for it
    (S-TX-8 writes none to a missing case); a form that creates that case again gives it back
    and tells sync (a ``rebuild`` transaction). On PostgreSQL the referrers of the cases a form
    creates come with its first reads (``referrers_statement``)."""
    olga = f"user:{cast.owner}"
    cast.svc.submit(cast.agency, cast.owner, form(block("X", create(owner=olga)), instance="b1"))
    linked = block("Y", create(owner=olga) + index("parent", "X"))
    cast.svc.submit(cast.agency, cast.owner, form(linked, instance="b2"))
    cast.svc.archive_submission(cast.agency, cast.admin, "b1")  # X's only form: X is gone
    assert not exists(cast, "X") and row(cast, "Y")["indices"] == []
    again = form(block("X", create(owner=olga)), block("Z", create(owner=olga)), instance="b3")
    result = cast.svc.submit(cast.agency, cast.owner, again)
    assert set(result.cases) == {"X", "Y", "Z"}
    assert row(cast, "Y")["indices"] == [("parent", "X", "patient", "child")]
    assert [t.kinds for t in cast.store.transactions(cast.agency, "Y")][-1] == "rebuild"
    assert_rebuild_agrees(cast, "X", "Y", "Z")
