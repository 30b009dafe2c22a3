"""CommCare HQ's sync behaviours (issue 8, items c and d) and one mechanism for changes: every
write of a case is a case transaction (S-SYNC-2), on both stores."""

from __future__ import annotations

from caseshare.core.restore import Restore, state_hash, to_json
from tests.services.cast import Cast
from tests.services.forms import block, create, form, index, update


def ids(restore: Restore) -> list[str]:
    return [c.case_id for c in restore.cases]


def removed(restore: Restore) -> list[str]:
    return list(to_json(restore)["removed"])


def _sync(cast: Cast, prior: Restore, device_holds: set[str]) -> Restore:
    """An incremental restore from a device whose state hash says it holds ``device_holds``
    (a mismatch would be stale_sync_token and a full restore)."""
    return cast.svc.restore(cast.owner, since=prior.token, device_hash=state_hash(device_holds))


def test_hq_c_d_a_case_the_device_closed_leaves_its_sync_log_and_is_not_sent(cast: Cast) -> None:
    cast.svc.submit(cast.agency, cast.owner, form(block("x", create()), block("y", create())))
    first = cast.svc.restore(cast.owner)
    assert {"x", "y"} <= first.case_ids
    cast.svc.submit(cast.agency, cast.owner, form(block("x", "<close/>")), sync_token=first.token)
    after = _sync(cast, first, set(first.case_ids) - {"x"})  # the device purged x itself
    assert ids(after) == [] and removed(after) == []  # no bare <close/> for what it knows
    assert "x" not in after.case_ids


def test_hq_c_d_a_case_the_device_gave_away_leaves_its_sync_log(cast: Cast) -> None:
    cast.svc.submit(cast.agency, cast.owner, form(block("x", create())))
    first = cast.svc.restore(cast.owner)
    away = form(block("x", update(owner_id=f"user:{cast.reader}")))
    cast.svc.submit(cast.agency, cast.owner, away, sync_token=first.token)
    after = _sync(cast, first, set(first.case_ids) - {"x"})
    assert ids(after) == [] and removed(after) == []


def test_hq_c_d_a_case_created_closed_is_not_held(cast: Cast) -> None:
    first = cast.svc.restore(cast.owner)
    cast.svc.submit(
        cast.agency, cast.owner, form(block("done", create() + "<close/>")), sync_token=first.token
    )
    after = _sync(cast, first, set(first.case_ids))
    assert ids(after) == [] and removed(after) == []
    # a case created for another owner is not held either
    second = cast.svc.submit(
        cast.agency,
        cast.owner,
        form(block("theirs", create(owner=str(cast.group_principal)))),
        sync_token=after.token,
    )
    assert second.status == "normal"
    again = _sync(cast, after, set(after.case_ids) | {"theirs"})  # the group is the device's
    assert ids(again) == []


def test_hq_c_d_closing_a_host_drops_its_extensions_too(cast: Cast) -> None:
    for cascade in (False, True):
        cast.svc.update_settings(cast.agency, None, {"extension_close_cascade": cascade})
        host, ext = f"host-{cascade}", f"ext-{cascade}"
        cast.svc.submit(
            cast.agency,
            cast.owner,
            form(block(host, create()), block(ext, create() + index("host", host, "extension"))),
        )
        first = cast.svc.restore(cast.owner)
        assert {host, ext} <= first.case_ids
        cast.svc.submit(
            cast.agency, cast.owner, form(block(host, "<close/>")), sync_token=first.token
        )
        after = _sync(cast, first, set(first.case_ids) - {host, ext})
        assert ids(after) == [] and removed(after) == [], cascade


def test_hq_c_a_closed_parent_of_a_live_child_stays_on_the_device(cast: Cast) -> None:
    cast.svc.submit(
        cast.agency,
        cast.owner,
        form(block("p", create()), block("k", create() + index("parent", "p"))),
    )
    first = cast.svc.restore(cast.owner)
    cast.svc.submit(cast.agency, cast.owner, form(block("p", "<close/>")), sync_token=first.token)
    after = _sync(cast, first, set(first.case_ids))
    assert {"p", "k"} <= after.case_ids and ids(after) == []


def test_hq_d_a_case_someone_else_closed_is_still_sent_as_a_removal(cast: Cast) -> None:
    cast.svc.submit(cast.agency, cast.owner, form(block("x", create())))
    first = cast.svc.restore(cast.owner)
    # the device's own form touches x; the colleague closes it; the device knows nothing of it
    cast.svc.submit(
        cast.agency, cast.owner, form(block("x", update(p="1"))), sync_token=first.token
    )
    cast.svc.submit(cast.agency, cast.colleague, form(block("x", "<close/>")))
    after = _sync(cast, first, set(first.case_ids))
    assert removed(after) == ["x"] and "x" not in after.case_ids


def test_every_api_write_of_a_case_is_a_case_transaction(cast: Cast) -> None:
    agency, owner = cast.agency, cast.owner
    kinds = lambda case_id: [t.kinds for t in cast.store.transactions(agency, case_id)]  # noqa: E731
    cast.svc.create_case(agency, owner, "patient", "Api", case_id="api")
    cast.svc.update_case(agency, owner, "api", properties={"p": "1"})
    cast.svc.edit_case(agency, owner, "api", name="Api 2")
    cast.svc.change_owner(agency, owner, "api", f"user:{owner}")
    cast.svc.close_case(agency, owner, "api")
    cast.svc.delete_case(agency, owner, "api")
    cast.svc.restore_case(agency, owner, "api")
    assert kinds("api") == [
        "baseline,api,create",
        "baseline,api",
        "baseline,api",
        "baseline,api",
        "baseline,api",
        "baseline,api,delete",
        "baseline,api,restore",
    ]
    # a rebuild replays them: it agrees with the stored case
    assert cast.svc.history_snapshot(agency, "api") == cast.svc.stored_snapshot(agency, "api")


def test_s_sync_2_an_api_change_is_sent_even_after_the_devices_own_form(cast: Cast) -> None:
    first = cast.svc.restore(cast.owner)
    cast.svc.submit(
        cast.agency, cast.owner, form(block(cast.case, update(p="device"))), sync_token=first.token
    )
    cast.svc.update_case(cast.agency, cast.colleague, cast.case, properties={"q": "api"})
    after = _sync(cast, first, set(first.case_ids))
    [sent] = after.cases
    assert sent.case_id == cast.case and sent.properties == {"p": "device", "q": "api"}
    # a case created through the API reaches the device; deleting it takes it away
    cast.svc.create_case(cast.agency, cast.colleague, "patient", "New", case_id="new")
    more = _sync(cast, after, set(after.case_ids))
    assert ids(more) == ["new"]
    cast.svc.delete_case(cast.agency, cast.colleague, "new")
    last = _sync(cast, more, set(more.case_ids))
    assert removed(last) == ["new"]


def test_s_sync_2_a_case_whose_index_comes_back_is_sent_again(cast: Cast) -> None:
    """Y indexes X; X's only form is archived (X goes, Y's index row with it); a new form makes
    X again: Y's index row comes back, and that is news for a device holding Y."""
    cast.svc.submit(cast.agency, cast.owner, form(block("X", create()), instance="fx"))
    cast.svc.submit(cast.agency, cast.owner, form(block("Y", create() + index("parent", "X"))))
    cast.svc.archive_submission(cast.agency, cast.admin, "fx")
    first = cast.svc.restore(cast.owner)
    assert "Y" in first.case_ids and "X" not in first.case_ids
    cast.svc.submit(cast.agency, cast.colleague, form(block("X", create())))
    after = _sync(cast, first, set(first.case_ids))
    assert ids(after) == ["X", "Y"]
    [y] = [c for c in after.cases if c.case_id == "Y"]
    assert [i[1] for i in y.indices] == ["X"]


def test_hq_e_a_failed_edit_leaves_the_original_applied_and_stores_the_failure(
    cast: Cast,
) -> None:
    """HQ marks the original deprecated and stores the failed version as an error, while the
    original's changes stay in its cases; we keep the original `normal` (it is what the cases
    hold, and what a rebuild replays) and store the failed version as an error, so the device
    can send a corrected version that replaces the original as an edit."""
    import pytest

    from caseshare.core.errors import CaseShareError

    cast.svc.submit(
        cast.agency, cast.owner, form(block("x", create() + update(p="1")), instance="f")
    )
    bad = form(block("x", update(p="2") + index("parent", "no-such-case")), instance="f")
    with pytest.raises(CaseShareError) as info:
        cast.svc.submit(cast.agency, cast.owner, bad)
    assert info.value.code == "invalid_index"
    versions = cast.store.submissions(cast.agency, "f")
    assert [v.status for v in versions] == ["normal", "error"]
    assert versions[1].problem.startswith("invalid_index: ")
    assert cast.svc.stored_snapshot(cast.agency, "x")[0]["properties"] == {"p": "1"}  # type: ignore[index]
    fixed = form(block("x", update(p="3")), instance="f")
    assert cast.svc.submit(cast.agency, cast.owner, fixed).edited
    assert [v.status for v in cast.store.submissions(cast.agency, "f")] == [
        "deprecated",
        "error",
        "normal",
    ]
    assert cast.svc.stored_snapshot(cast.agency, "x")[0]["properties"] == {"p": "3"}  # type: ignore[index]
