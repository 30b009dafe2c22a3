"""What admins oversee: the recycle bin (S-SHR-8), the audit log (S-AUD-1), device forms
(S-TX-8) and the S-CRT-4 report — admins only, keyset-paged newest first."""

from __future__ import annotations

import datetime as dt

from caseshare.services import Listing
from tests.services.cast import Cast, code_of
from tests.services.forms import block, create, form, update


def _walk(fetch: object, limit: int) -> list[list[object]]:
    """Every page walking older, then the same pages walking back newer."""
    assert callable(fetch)
    pages: list[Listing[object]] = [fetch(cursor=None, newer=False, limit=limit)]
    while pages[-1].older:
        pages.append(fetch(cursor=pages[-1].older, newer=False, limit=limit))
    back = [pages[-1]]
    while back[-1].newer:
        back.append(fetch(cursor=back[-1].newer, newer=True, limit=limit))
    assert [p.items for p in reversed(back)] == [p.items for p in pages]
    assert pages[0].newer is None
    return [p.items for p in pages]


def test_s_shr_8_the_recycle_bin_lists_deleted_cases_newest_deletion_first(cast: Cast) -> None:
    agency, admin = cast.agency, cast.admin
    made = [
        cast.svc.create_case(agency, cast.owner, "patient", f"Binned {i}", case_id=f"bin-{i}")
        for i in range(5)
    ]
    for case_id in (made[3], made[0], made[4], made[1]):  # deleted in this order
        cast.svc.delete_case(agency, cast.owner, case_id)
    pages = _walk(
        lambda **kw: cast.svc.recycle_bin(agency, admin, **kw),
        limit=3,
    )
    rows = [r for page in pages for r in page]
    assert [r.case_id for r in rows] == ["bin-1", "bin-4", "bin-0", "bin-3"]  # type: ignore[attr-defined]
    first = rows[0]
    assert first.deleted_by == f"user:{cast.owner}" and first.deleted_at  # type: ignore[attr-defined]
    cast.svc.restore_case(agency, admin, "bin-4")
    listed = cast.svc.recycle_bin(agency, admin).items
    assert [r.case_id for r in listed] == ["bin-1", "bin-0", "bin-3"]
    assert code_of(cast.svc.recycle_bin, agency, cast.owner) == "insufficient_access"
    assert code_of(cast.svc.recycle_bin, agency, admin, cursor="nonsense") == "validation_error"
    assert cast.svc.recycle_bin(cast.other_agency, cast.foreigner).items == []


def test_s_aud_1_the_audit_log_filters_by_actor_kind_case_and_day(cast: Cast) -> None:
    agency, admin = cast.agency, cast.admin
    cast.svc.share(agency, cast.owner, cast.case, f"user:{cast.outsider}", "edit")
    cast.svc.create_group(agency, admin, "Audited group")
    log = cast.svc.audit_log
    shares = log(agency, admin, kind="share").items
    assert shares and all(e.action.startswith("share.") for e in shares)
    assert shares[0].after == {"grantee": f"user:{cast.outsider}", "level": "edit"}
    mine = log(agency, admin, who=f"user:{admin}").items
    assert mine[0].action == "group.create" and {e.actor for e in mine} == {f"user:{admin}"}
    about = log(agency, admin, case_id=cast.case).items
    assert about and {e.subject for e in about} == {f"case:{cast.case}"}
    today = dt.datetime.now(dt.UTC).date()
    assert log(agency, admin, since=today, until=today).items
    assert not log(agency, admin, until=today - dt.timedelta(days=1)).items
    assert log(agency, admin, who="system").items  # the cast was built by the system
    pages = _walk(lambda **kw: log(agency, admin, **kw), limit=4)
    ids = [e.id for page in pages for e in page]  # type: ignore[attr-defined]
    assert ids == sorted(ids, reverse=True) and len(ids) == len(set(ids))
    assert not any(e.agency_id != agency for page in pages for e in page)  # type: ignore[attr-defined]
    for bad in (
        {"who": "nobody"},
        {"who": f"user:{cast.foreigner}"},
        {"kind": "Share!"},
        {"since": today, "until": today - dt.timedelta(days=1)},
        {"cursor": "x1"},
    ):
        assert code_of(log, agency, admin, **bad) == "validation_error", bad
    assert code_of(log, agency, cast.owner) == "insufficient_access"


def test_s_tx_8_device_forms_list_view_and_archive(cast: Cast) -> None:
    agency, admin = cast.agency, cast.admin
    first = form(block("dev-1", create(name="From a device")), instance="form-a")
    second = form(block("dev-1", update(colour="blue")), instance="form-b")
    cast.svc.submit(agency, cast.owner, first.encode())
    cast.svc.submit(agency, cast.owner, second.encode())
    bad = form(block("", update(x="1")), instance="form-bad")
    assert code_of(cast.svc.submit, agency, cast.owner, bad.encode()) == "invalid_case_block"
    listed = cast.svc.device_forms(agency, admin).items
    assert [f.instance_id for f in listed[:3]] == ["form-bad", "form-b", "form-a"]
    assert listed[0].status == "error" and listed[0].problem
    assert [f.instance_id for f in cast.svc.device_forms(agency, admin, status="error").items] == [
        "form-bad"
    ]
    by_owner = cast.svc.device_forms(agency, admin, user_id=cast.owner).items
    assert {f.user_id for f in by_owner} == {cast.owner}
    counts = cast.svc.form_case_counts(listed[:3])
    assert counts.get(listed[1].id) == 1
    shown = cast.svc.device_form(agency, admin, "form-b")
    assert "colour" in shown.form.xml and shown.cases == ["dev-1"]
    changed = cast.svc.archive_submission(agency, admin, "form-b")
    assert changed == ["dev-1"]
    assert (
        "colour"
        not in cast.store.case_record(cast.store.case_pk(agency, "dev-1") or 0)["properties"]
    )
    assert cast.svc.device_form(agency, admin, "form-b").form.status == "archived"
    cast.svc.unarchive_submission(agency, admin, "form-b")
    assert cast.store.case_record(cast.store.case_pk(agency, "dev-1") or 0)["properties"] == {
        "colour": "blue"
    }
    assert code_of(cast.svc.device_form, agency, admin, "no-such-form") == "not_found"
    assert code_of(cast.svc.device_form, cast.other_agency, cast.foreigner, "form-a") == (
        "not_found"
    )
    assert code_of(cast.svc.device_forms, agency, cast.owner) == "insufficient_access"
    assert code_of(cast.svc.device_forms, agency, admin, status="lost") == "validation_error"


def test_s_crt_4_the_report_is_for_admins(cast: Cast) -> None:
    rows = cast.svc.sharing_report(cast.agency, cast.admin)
    named = {r["username"]: r for r in rows}
    assert "olga" not in named  # in exactly one case-sharing group
    assert named["otto"]["owners"] == []
    assert code_of(cast.svc.sharing_report, cast.agency, cast.owner) == "insufficient_access"
