"""Review of the device pipeline (SPEC §8, §9): each test shows an open bug (strict xfail).

When a bug is fixed its test starts to pass, the strict xfail turns it red, and the marker goes.
Tests whose bug shows on one store only get the marker on that store (``_bug_on``).
"""

from __future__ import annotations

import contextlib
import secrets
import threading
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


def test_archiving_an_unrelated_form_does_not_reopen_a_case_closed_by_the_api(cast: Cast) -> None:
    cast.svc.submit(cast.agency, cast.owner, form(block("d1", create())))
    cast.svc.submit(cast.agency, cast.owner, form(block("d1", update(p="1")), instance="upd"))
    cast.svc.update_case(cast.agency, cast.owner, "d1", closed=True)
    assert row(cast, "d1")["closed"]
    cast.svc.archive_submission(cast.agency, cast.admin, "upd")
    assert row(cast, "d1")["closed"]  # only removing the closing submission reopens a case


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


def test_an_out_of_range_date_is_an_invalid_case_block(cast: Cast) -> None:
    xml = form(block("d1", create(), "0001-01-01T00:00:00+01:00"), instance="f-early")
    with pytest.raises(CaseShareError) as info:
        cast.svc.submit(cast.agency, cast.owner, xml)
    assert info.value.code == "invalid_case_block"
    [stored] = cast.store.submissions(cast.agency, "f-early")
    assert stored.status == "error"


def test_a_year_below_1000_does_not_poison_the_case(cast: Cast) -> None:
    try:
        cast.svc.submit(cast.agency, cast.owner, form(block("d1", create(), "0999-01-01")))
    except CaseShareError as exc:  # refusing the date is fine
        assert exc.code == "invalid_case_block"
        return
    cast.svc.submit(cast.agency, cast.owner, form(block("d1", update(p="x"))))
    assert row(cast, "d1")["properties"] == {"p": "x"}


def test_a_nul_byte_is_stored_as_an_error(cast: Cast, request: pytest.FixtureRequest) -> None:
    xml = form(block("d1", create(name="a\x00b")), instance="f-nul")
    with pytest.raises(CaseShareError) as info:
        cast.svc.submit(cast.agency, cast.owner, xml)
    assert info.value.code == "invalid_case_block"
    assert [s.status for s in cast.store.submissions(cast.agency)][-1] == "error"


def test_a_huge_instance_id_is_refused_cleanly(cast: Cast, request: pytest.FixtureRequest) -> None:
    xml = form(block("d1", create()), instance=secrets.token_hex(8000))
    try:
        cast.svc.submit(cast.agency, cast.owner, xml)
    except CaseShareError as exc:
        assert exc.code == "invalid_case_block"


# --- S-SYNC-2 -----------------------------------------------------------------------------------


def test_a_foreign_sync_token_does_not_hide_changes_from_its_owner(cast: Cast) -> None:
    first = cast.svc.restore(cast.owner)
    cast.svc.submit(
        cast.agency, cast.colleague, form(block(cast.case, update(p="y"))), sync_token=first.token
    )
    second = cast.svc.restore(cast.owner, since=first.token)
    assert cast.case in ids(second)


def test_an_api_change_is_sent_even_when_the_device_also_changed_the_case(cast: Cast) -> None:
    first = cast.svc.restore(cast.owner)
    cast.svc.submit(
        cast.agency, cast.owner, form(block(cast.case, update(p="mine"))), sync_token=first.token
    )
    cast.svc.update_case(cast.agency, cast.colleague, cast.case, properties={"q": "theirs"})
    second = cast.svc.restore(cast.owner, since=first.token)
    assert cast.case in ids(second)


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

        racer: list[threading.Thread] = []

        def racing(self: TransactionService, *args: Any, **kwargs: Any) -> None:
            checked(self, *args, **kwargs)
            # the API update starts while the form is between its read and its write: it must
            # wait for the form (the agency lock), not commit in between
            thread = threading.Thread(
                target=Caseshare(other).update_case,
                args=(agency, user, "hot"),
                kwargs={"properties": {"api": "1"}},
            )
            thread.start()
            racer.append(thread)
            thread.join(0.5)
            assert thread.is_alive(), "the API update did not wait for the submission"

        monkeypatch.setattr(TransactionService, "_check", racing)
        svc.submit(agency, user, form(block("hot", update(p="form"))))
        racer[0].join(10)
        assert not racer[0].is_alive()
        found = store.case_state_columns(agency, "hot")
        assert found is not None
        assert found[1]["properties"] == {"api": "1", "p": "form"}
    finally:
        other.close()
        store.close()


def test_a_case_that_left_the_scope_carries_no_data_the_user_may_not_see(cast: Cast) -> None:
    first = cast.svc.restore(cast.owner)
    cast.svc.change_owner(cast.agency, cast.owner, cast.case, f"user:{cast.reader}")
    cast.svc.update_case(cast.agency, cast.reader, cast.case, properties={"secret": "s3cr3t"})
    assert not cast.svc.check(cast.owner, "view", cast.case).allowed
    second = cast.svc.restore(cast.owner, since=first.token)
    assert cast.case not in second.case_ids
    assert "s3cr3t" not in to_xml(second)


# --- S-SYNC-3: the restore a device parses -------------------------------------------------------


def test_a_restore_gives_the_device_the_real_owner_and_name(cast: Cast) -> None:
    with pytest.raises(CaseShareError) as refused:
        cast.svc.update_case(
            cast.agency,
            cast.owner,
            cast.private,
            properties={"owner_id": "group:999", "case_name": "X"},
        )
    assert refused.value.code == "validation_error"
    # such properties stored anyway (older data) never override the case's own fields
    pk = cast.store.case_pk(cast.agency, cast.private)
    assert pk is not None
    props = {**row(cast, cast.private)["properties"], "owner_id": "group:999", "case_name": "X"}
    cast.store.update_case(pk, properties=props)
    device = apply_blocks(parse_submission(to_xml(cast.svc.restore(cast.owner))).blocks)
    held = device[cast.private]
    assert (held.owner_id, held.case_name) == (f"user:{cast.owner}", "Olga's own")


def test_a_restore_is_well_formed_whatever_the_properties(cast: Cast) -> None:
    for bad in ({"bad name": "v"}, {"ok": "v\x01"}, {"a:b": "v"}):
        with pytest.raises(CaseShareError) as refused:
            cast.svc.update_case(cast.agency, cast.owner, cast.case, properties=bad)
        assert refused.value.code == "validation_error"
    # such properties stored anyway (older data) still give a well-formed restore
    pk = cast.store.case_pk(cast.agency, cast.case)
    assert pk is not None
    props = {**row(cast, cast.case)["properties"], "bad name": "v\x01", "ok": "w\x02"}
    cast.store.update_case(pk, properties=props)
    device = apply_blocks(parse_submission(to_xml(cast.svc.restore(cast.owner))).blocks)
    assert device[cast.case].properties["ok"] == "w"


def test_a_case_remade_by_the_api_after_an_archive_gets_a_baseline(cast: Cast) -> None:
    cast.svc.submit(cast.agency, cast.owner, form(block("x", create(name="A")), instance="mk"))
    cast.svc.archive_submission(cast.agency, cast.admin, "mk")
    assert not exists(cast, "x")
    cast.svc.create_case(cast.agency, cast.owner, "visit", "B", case_id="x", properties={"k": "v"})
    cast.svc.submit(cast.agency, cast.owner, form(block("x", update(p="1")), instance="upd"))
    assert row(cast, "x")["properties"] == {"k": "v", "p": "1"}
    assert cast.svc.history_snapshot(cast.agency, "x") == cast.svc.stored_snapshot(cast.agency, "x")


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
