"""Review of the device pipeline (SPEC §8, §9): each test shows an open bug (strict xfail).

When a bug is fixed its test starts to pass, the strict xfail turns it red, and the marker goes.
Tests whose bug shows on one store only get the marker on that store (``_bug_on``).
"""

from __future__ import annotations

import contextlib
import secrets
import uuid
from typing import Any

import pytest

from caseshare.core.casestate import apply_blocks
from caseshare.core.casexml import parse_submission
from caseshare.core.errors import CaseShareError
from caseshare.core.restore import to_xml
from caseshare.services import Caseshare
from caseshare.services.transactions import TransactionService
from caseshare.store import open_store
from tests.services.cast import Cast
from tests.services.forms import block, create, form, index, update


def row(cast: Cast, case_id: str) -> dict[str, Any]:
    found = cast.store.case_state_columns(cast.agency, case_id)
    assert found is not None, f"case {case_id} does not exist"
    return {**found[1], "indices": found[2]}


def exists(cast: Cast, case_id: str) -> bool:
    return cast.store.case_pk(cast.agency, case_id) is not None


def ids(restore: Any) -> set[str]:
    return {c.case_id for c in restore.cases}


def _bug_on(request: pytest.FixtureRequest, cast: Cast, store: str, reason: str) -> None:
    """Strict xfail on the one store where the bug shows."""
    if cast.store.is_postgres == (store == "postgres"):
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))


# --- S-TX-7 / S-ACC: access through forms --------------------------------------------------------


@pytest.mark.xfail(
    strict=True,
    reason="BUG: an <index> to a case the submitter cannot see is accepted (transactions.py "
    "_check only tests existence) and its owner grant on the child then gives implicit_parent "
    "read on that case, and puts it in the device's live set",
)
def test_indexing_a_case_one_cannot_see_does_not_open_it(cast: Cast) -> None:
    assert not cast.svc.check(cast.outsider, "view", cast.private).allowed
    xml = form(
        block("spy", create(owner=f"user:{cast.outsider}") + index("parent", cast.private)),
        block(
            "spy2", create(owner=f"user:{cast.outsider}") + index("host", cast.case, "extension")
        ),
    )
    with contextlib.suppress(CaseShareError):  # refusing the form is one correct answer
        cast.svc.submit(cast.agency, cast.outsider, xml)
    assert not cast.svc.check(cast.outsider, "view", cast.private).allowed
    assert not cast.svc.check(cast.outsider, "view", cast.case).allowed
    live = cast.svc.live_case_ids(cast.outsider)
    assert cast.private not in live and cast.case not in live


@pytest.mark.xfail(
    strict=True,
    reason="BUG: an edit (same instanceID, other content) by another user is not access-checked "
    "against the cases only the old version touched (transactions.py:173-178): they are "
    "rebuilt away without any S-TX-7 check",
)
def test_an_edit_by_someone_else_cannot_wipe_cases_of_the_old_version(cast: Cast) -> None:
    cast.svc.submit(
        cast.agency,
        cast.owner,
        form(block("olgas", create(owner=f"user:{cast.owner}") + update(p="1")), instance="f-olga"),
    )
    assert not cast.svc.check(cast.outsider, "edit", "olgas").allowed
    hostile = form(block("junk", create(owner=f"user:{cast.outsider}")), instance="f-olga")
    try:
        cast.svc.submit(cast.agency, cast.outsider, hostile)
    except CaseShareError as exc:
        assert exc.code in ("insufficient_access", "not_found")
    assert exists(cast, "olgas") and row(cast, "olgas")["properties"] == {"p": "1"}


# --- S-TX-5 edits and S-TX-8 rebuilds -----------------------------------------------------------


@pytest.mark.xfail(
    strict=True,
    reason="BUG: editing a form that closes a host reopens the extensions its cascade had "
    "closed: the old cascade transactions are revoked and _cascade (transactions.py:393-396) "
    "only cascades hosts that were open in `pre`, which is read before the rebuild",
)
def test_editing_a_closing_form_keeps_its_cascade(cast: Cast) -> None:
    cast.svc.update_settings(cast.agency, None, {"extension_close_cascade": True})
    cast.svc.submit(
        cast.agency,
        cast.owner,
        form(block("host", create()), block("ext", create() + index("host", "host", "extension"))),
    )
    cast.svc.submit(
        cast.agency, cast.owner, form(block("host", update(n="a") + "<close/>"), instance="closer")
    )
    assert row(cast, "ext")["closed"]
    # the same form again with a corrected property: it still closes the host
    cast.svc.submit(
        cast.agency, cast.owner, form(block("host", update(n="b") + "<close/>"), instance="closer")
    )
    assert row(cast, "host")["closed"] and row(cast, "host")["properties"] == {"n": "b"}
    assert row(cast, "ext")["closed"]  # replaying the live forms closes it by cascade


@pytest.mark.xfail(
    strict=True,
    reason="BUG: on an edit, _decide_owners(replay=True) (transactions.py:316-327) records as "
    "the new version's owner the owner after the case's WHOLE history, not after that "
    "transaction; archiving a later transfer then keeps the transferred owner",
)
def test_an_edit_records_the_owner_after_its_own_transaction(cast: Cast) -> None:
    cast.svc.submit(cast.agency, cast.owner, form(block("a", create(name="v1")), instance="f1"))
    cast.svc.submit(
        cast.agency,
        cast.owner,
        form(block("a", update(owner_id=f"user:{cast.owner}")), instance="transfer"),
    )
    cast.svc.submit(cast.agency, cast.owner, form(block("a", create(name="v2")), instance="f1"))
    cast.svc.archive_submission(cast.agency, cast.admin, "transfer")
    # without the edit the case goes back to the group S-CRT-2 chose when f1 was received
    assert row(cast, "a")["owner"] == str(cast.group_principal)


@pytest.mark.xfail(
    strict=True,
    reason="BUG (S-TX-4): a case closed through the sharing API is reopened by archiving an "
    "unrelated form: rebuild_cases (casehistory.py:180) replays only the form history and the "
    "API close was never recorded as a transaction",
)
def test_archiving_an_unrelated_form_does_not_reopen_a_case_closed_by_the_api(cast: Cast) -> None:
    cast.svc.submit(cast.agency, cast.owner, form(block("d1", create())))
    cast.svc.submit(cast.agency, cast.owner, form(block("d1", update(p="1")), instance="upd"))
    cast.svc.update_case(cast.agency, cast.owner, "d1", closed=True)
    assert row(cast, "d1")["closed"]
    cast.svc.archive_submission(cast.agency, cast.admin, "upd")
    assert row(cast, "d1")["closed"]  # only removing the closing submission reopens a case


@pytest.mark.xfail(
    strict=True,
    reason="BUG: S-TX-8 replay is not what the remaining forms give: a cascade is recorded "
    "only when a form is received (transactions.py:192) and never re-derived by rebuild_cases, "
    "so archiving the form that unlinked an extension leaves it open under a closed host",
)
def test_archive_gives_what_replaying_the_remaining_forms_gives_with_cascade(cast: Cast) -> None:
    cast.svc.update_settings(cast.agency, None, {"extension_close_cascade": True})
    cast.svc.submit(
        cast.agency,
        cast.owner,
        form(block("host", create()), block("ext", create() + index("host", "host", "extension"))),
    )
    cast.svc.submit(cast.agency, cast.owner, form(block("ext", index("host", "")), instance="cut"))
    cast.svc.submit(cast.agency, cast.owner, form(block("host", "<close/>")))
    assert not row(cast, "ext")["closed"]
    cast.svc.archive_submission(cast.agency, cast.admin, "cut")
    # the remaining forms: create host + its extension, close the host → the extension closes
    assert row(cast, "ext")["indices"] == [("host", "host", "patient", "extension")]
    assert row(cast, "ext")["closed"]


# --- S-TX-5 / §14: hostile input ---------------------------------------------------------------


@pytest.mark.xfail(
    strict=True,
    reason="BUG: a date_modified whose UTC conversion leaves datetime's range raises "
    "OverflowError (casexml.py:143 astimezone; only ValueError is caught at :340): no "
    "invalid_case_block, nothing stored",
)
def test_an_out_of_range_date_is_an_invalid_case_block(cast: Cast) -> None:
    xml = form(block("d1", create(), "0001-01-01T00:00:00+01:00"), instance="f-early")
    with pytest.raises(CaseShareError) as info:
        cast.svc.submit(cast.agency, cast.owner, xml)
    assert info.value.code == "invalid_case_block"
    [stored] = cast.store.submissions(cast.agency, "f-early")
    assert stored.status == "error"


@pytest.mark.xfail(
    strict=True,
    reason="BUG: a year below 1000 is accepted but fmt_time (casehistory.py:28, strftime %Y "
    "does not pad on Linux) stores '999-01-01T…', which parse_time cannot read back: every "
    "later form on the case crashes with ValueError",
)
def test_a_year_below_1000_does_not_poison_the_case(cast: Cast) -> None:
    try:
        cast.svc.submit(cast.agency, cast.owner, form(block("d1", create(), "0999-01-01")))
    except CaseShareError as exc:  # refusing the date is fine
        assert exc.code == "invalid_case_block"
        return
    cast.svc.submit(cast.agency, cast.owner, form(block("d1", update(p="x"))))
    assert row(cast, "d1")["properties"] == {"p": "x"}


def test_a_nul_byte_is_stored_as_an_error(cast: Cast, request: pytest.FixtureRequest) -> None:
    _bug_on(
        request,
        cast,
        "postgres",
        "BUG: the error row of a form with a NUL byte keeps the NUL (transactions.py:99 "
        "decode(errors='replace')); PostgreSQL text refuses it, so the refusal crashes with a "
        "database error instead of invalid_case_block and nothing is stored",
    )
    xml = form(block("d1", create(name="a\x00b")), instance="f-nul")
    with pytest.raises(CaseShareError) as info:
        cast.svc.submit(cast.agency, cast.owner, xml)
    assert info.value.code == "invalid_case_block"
    assert [s.status for s in cast.store.submissions(cast.agency)][-1] == "error"


def test_a_huge_instance_id_is_refused_cleanly(cast: Cast, request: pytest.FixtureRequest) -> None:
    _bug_on(
        request,
        cast,
        "postgres",
        "BUG: meta/instanceID has no length limit (casexml.py:234); on PostgreSQL the btree "
        "indexes on submissions.instance_id refuse a long one, so the form (and even its error "
        "row) fails with a database error, not a SPEC §14 code",
    )
    xml = form(block("d1", create()), instance=secrets.token_hex(8000))
    try:
        cast.svc.submit(cast.agency, cast.owner, xml)
    except CaseShareError as exc:
        assert exc.code == "invalid_case_block"


# --- S-SYNC-2 -----------------------------------------------------------------------------------


@pytest.mark.xfail(
    strict=True,
    reason="BUG: a form carrying ANOTHER user's sync token is stored with that token "
    "(transactions.py:162, no owner check; only add_sync_cases is guarded at :95), and "
    "changed_since (synclogs.py:326) then hides it from that user's incremental restore",
)
def test_a_foreign_sync_token_does_not_hide_changes_from_its_owner(cast: Cast) -> None:
    first = cast.svc.restore(cast.owner)
    cast.svc.submit(
        cast.agency, cast.colleague, form(block(cast.case, update(p="y"))), sync_token=first.token
    )
    second = cast.svc.restore(cast.owner, since=first.token)
    assert cast.case in ids(second)


@pytest.mark.xfail(
    strict=True,
    reason="BUG: changed_since (synclogs.py:328-330) counts a sharing-API change only when the "
    "case has NO transaction after the watermark; the device's own form on the case hides "
    "another user's API change from its incremental restore",
)
def test_an_api_change_is_sent_even_when_the_device_also_changed_the_case(cast: Cast) -> None:
    first = cast.svc.restore(cast.owner)
    cast.svc.submit(
        cast.agency, cast.owner, form(block(cast.case, update(p="mine"))), sync_token=first.token
    )
    cast.svc.update_case(cast.agency, cast.colleague, cast.case, properties={"q": "theirs"})
    second = cast.svc.restore(cast.owner, since=first.token)
    assert cast.case in ids(second)


@pytest.mark.xfail(
    strict=True,
    reason="BUG: a case moved to the recycle bin leaves the live set but is sent as `removed` "
    "exactly as it is (restore.py:52, _restore_case reads deleted rows): open and still owned "
    "by the user, so the device keeps it instead of dropping it",
)
def test_a_deleted_case_is_dropped_by_the_device(cast: Cast) -> None:
    first = cast.svc.restore(cast.owner)
    assert cast.private in first.case_ids
    cast.svc.delete_case(cast.agency, cast.owner, cast.private)
    second = cast.svc.restore(cast.owner, since=first.token)
    assert cast.private not in second.case_ids
    device = apply_blocks(parse_submission(to_xml(second)).blocks)
    held = device.get(cast.private)
    owner_ids = {g for g, _ in second.groups}
    assert held is None or held.closed or held.owner_id not in owner_ids


# --- S-TX-6: concurrency with the sharing API (PostgreSQL) --------------------------------------


@pytest.mark.xfail(
    strict=True,
    reason="BUG: submit reads the case (transactions.py:148), checks, then overwrites every state "
    "column from that read (write_case_state); the sharing API takes neither the agency lock nor "
    "a row lock, so on PostgreSQL a concurrent update_case committed in between is lost",
)
def test_a_concurrent_api_update_is_not_lost(
    fresh_postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, other = open_store(fresh_postgres_url), open_store(fresh_postgres_url)
    try:
        svc = Caseshare(store)
        agency = svc.create_agency(f"race-{uuid.uuid4().hex[:8]}", "Race", {})
        user = svc.create_user(agency, None, "u", permissions=["admin"])
        svc.submit(agency, user, form(block("hot", create(owner=f"user:{user}"))))
        checked = TransactionService._check

        def racing(self: TransactionService, *args: Any, **kwargs: Any) -> None:
            checked(self, *args, **kwargs)
            Caseshare(other).update_case(agency, user, "hot", properties={"api": "1"})

        monkeypatch.setattr(TransactionService, "_check", racing)
        svc.submit(agency, user, form(block("hot", update(p="form"))))
        found = store.case_state_columns(agency, "hot")
        assert found is not None
        assert found[1]["properties"] == {"api": "1", "p": "form"}
    finally:
        other.close()
        store.close()


@pytest.mark.xfail(
    strict=True,
    reason="BUG: a case that left the device's scope is sent as `removed` with all its current "
    "data (restore.py:52/_restore_case), even what its new owner wrote after the transfer, to a "
    "user the access check now denies view",
)
def test_a_case_that_left_the_scope_carries_no_data_the_user_may_not_see(cast: Cast) -> None:
    first = cast.svc.restore(cast.owner)
    cast.svc.change_owner(cast.agency, cast.owner, cast.case, f"user:{cast.reader}")
    cast.svc.update_case(cast.agency, cast.reader, cast.case, properties={"secret": "s3cr3t"})
    assert not cast.svc.check(cast.owner, "view", cast.case).allowed
    second = cast.svc.restore(cast.owner, since=first.token)
    assert cast.case not in second.case_ids
    assert "s3cr3t" not in to_xml(second)


# --- S-SYNC-3: the restore a device parses -------------------------------------------------------


@pytest.mark.xfail(
    strict=True,
    reason="BUG: _case_element (core/restore.py:172-178) writes every property into <update>; a "
    "property named owner_id or case_name (the sharing API accepts any key) overrides the "
    "case's real owner and name on the device",
)
def test_a_restore_gives_the_device_the_real_owner_and_name(cast: Cast) -> None:
    cast.svc.update_case(
        cast.agency,
        cast.owner,
        cast.private,
        properties={"owner_id": "group:999", "case_name": "X"},
    )
    device = apply_blocks(parse_submission(to_xml(cast.svc.restore(cast.owner))).blocks)
    held = device[cast.private]
    assert (held.owner_id, held.case_name) == (f"user:{cast.owner}", "Olga's own")


@pytest.mark.xfail(
    strict=True,
    reason="BUG: a property name that is not an XML name, or a value with a control character "
    "(the sharing API's update_case, services/cases.py, accepts both), is serialised as is by "
    "core/restore.py:178: the whole restore is not well-formed XML",
)
def test_a_restore_is_well_formed_whatever_the_properties(cast: Cast) -> None:
    cast.svc.update_case(cast.agency, cast.owner, cast.case, properties={"bad name": "v\x01"})
    parse_submission(to_xml(cast.svc.restore(cast.owner)))


@pytest.mark.xfail(
    strict=True,
    reason="BUG: _ensure_baseline (transactions.py:288) skips the baseline when the case id has "
    "ANY transaction, revoked ones included (store has_transactions, submissions.py:203); a case "
    "re-made by the sharing API after its forms were archived away then has a history that "
    "starts from nothing, and a rebuild wipes its type, name and properties",
)
def test_a_case_remade_by_the_api_after_an_archive_gets_a_baseline(cast: Cast) -> None:
    cast.svc.submit(cast.agency, cast.owner, form(block("x", create(name="A")), instance="mk"))
    cast.svc.archive_submission(cast.agency, cast.admin, "mk")
    assert not exists(cast, "x")
    cast.svc.create_case(cast.agency, cast.owner, "visit", "B", case_id="x", properties={"k": "v"})
    cast.svc.submit(cast.agency, cast.owner, form(block("x", update(p="1")), instance="upd"))
    assert row(cast, "x")["properties"] == {"k": "v", "p": "1"}
    assert cast.svc.history_snapshot(cast.agency, "x") == cast.svc.stored_snapshot(cast.agency, "x")


@pytest.mark.xfail(
    strict=True,
    reason="BUG: archiving purges a case whose forms are all gone, and purge_case deletes the "
    "index rows that POINT at it (store/cases.py purge_case); unarchive re-links only cases "
    "whose form history names it (referrers, submissions.py:238), so an index made through "
    "the sharing API is lost for good",
)
def test_archive_then_unarchive_restores_an_api_childs_index(cast: Cast) -> None:
    cast.svc.submit(cast.agency, cast.owner, form(block("mum", create()), instance="mum-form"))
    cast.svc.create_case(
        cast.agency,
        cast.owner,
        "patient",
        "Kid",
        case_id="kid",
        indices={"parent": ("mum", "child")},
    )
    assert row(cast, "kid")["indices"] == [("parent", "mum", "patient", "child")]
    cast.svc.archive_submission(cast.agency, cast.admin, "mum-form")
    cast.svc.unarchive_submission(cast.agency, cast.admin, "mum-form")
    assert exists(cast, "mum")
    assert row(cast, "kid")["indices"] == [("parent", "mum", "patient", "child")]
