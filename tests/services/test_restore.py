"""Device restores (S-SYNC-1…3): XML and JSON, sync tokens and incremental restores."""

from __future__ import annotations

import pytest
from defusedxml.ElementTree import fromstring

from caseshare.core.casestate import apply_blocks
from caseshare.core.casexml import parse_submission
from caseshare.core.restore import RESPONSE_NS, state_hash, to_json, to_xml
from caseshare.services.casehistory import columns_of
from tests.services.cast import Cast, code_of
from tests.services.forms import block, create, form, index, update


def ids(restore: object) -> list[str]:
    return [c["case_id"] for c in to_json(restore)["cases"]]  # type: ignore[arg-type]


def test_s_sync_3_full_restore_in_xml_gives_the_stored_cases(cast: Cast) -> None:
    cast.svc.submit(
        cast.agency,
        cast.owner,
        form(block("kid", create("visit", "Kid") + update(p="1") + index("parent", cast.case))),
    )
    restore = cast.svc.restore(cast.owner)
    xml = to_xml(restore)
    root = fromstring(xml)
    assert (
        root.findtext("{http://commcarehq.org/sync}Sync/{http://commcarehq.org/sync}restore_id")
        == restore.token
    )
    groups = root.find(f"{{{RESPONSE_NS}}}fixture[@id='user-groups']")
    assert groups is not None
    assert {g.get("id") for g in groups.iter(f"{{{RESPONSE_NS}}}group")} == {
        f"user:{cast.owner}",
        str(cast.group_principal),
    }
    # the device applies the case blocks with the same fold: it holds what the server holds
    states = apply_blocks(parse_submission(xml).blocks)
    assert (
        set(states) == {cast.case, cast.private, "kid"} == set(cast.svc.live_case_ids(cast.owner))
    )
    for case_id, state in states.items():
        stored = cast.svc.stored_snapshot(cast.agency, case_id)
        assert stored is not None
        mine = columns_of(state)
        for key in ("case_type", "name", "owner", "closed", "properties", "external_id"):
            assert mine[0][key] == stored[0][key], (case_id, key)
        assert mine[1] == stored[1]
    data = to_json(restore)
    assert sorted(ids(restore)) == sorted(states)
    assert data["state_hash"] == state_hash(states)
    assert data["incremental"] is False and data["removed"] == []


def test_s_sync_2_incremental_restore_sends_only_what_others_changed(cast: Cast) -> None:
    first = cast.svc.restore(cast.owner)
    # the device's own form (sent with its token) is not sent back
    cast.svc.submit(cast.agency, cast.owner, form(block("mine", create())), sync_token=first.token)
    cast.svc.submit(
        cast.agency, cast.owner, form(block(cast.private, update(p="x"))), sync_token=first.token
    )
    # a colleague's change to a shared case and a new group case are
    cast.svc.submit(cast.agency, cast.colleague, form(block(cast.case, update(p="y"))))
    cast.svc.submit(cast.agency, cast.colleague, form(block("theirs", create())))
    second = cast.svc.restore(cast.owner, since=first.token)
    assert second.incremental and sorted(ids(second)) == sorted([cast.case, "theirs"])
    # nothing new: nothing sent
    third = cast.svc.restore(
        cast.owner, since=second.token, device_hash=to_json(second)["state_hash"]
    )
    assert ids(third) == []
    # a case handed to someone else leaves the device's scope
    cast.svc.change_owner(cast.agency, cast.owner, "theirs", f"user:{cast.reader}")
    fourth = cast.svc.restore(cast.owner, since=third.token)
    assert ids(fourth) == [] and to_json(fourth)["removed"] == ["theirs"]
    assert "theirs" not in fourth.case_ids


def test_s_sync_2_stale_tokens_are_refused(cast: Cast) -> None:
    first = cast.svc.restore(cast.owner)
    assert code_of(cast.svc.restore, cast.owner, since="nope") == "stale_sync_token"
    assert code_of(cast.svc.restore, cast.colleague, since=first.token) == "stale_sync_token"
    assert (
        code_of(cast.svc.restore, cast.owner, since=first.token, device_hash=state_hash(["other"]))
        == "stale_sync_token"
    )
    ok = cast.svc.restore(cast.owner, since=first.token, device_hash=state_hash(first.case_ids))
    assert ok.incremental


@pytest.mark.parametrize("user", ["reader", "outsider"])
def test_s_sync_1_a_restore_holds_only_the_live_set(cast: Cast, user: str) -> None:
    restore = cast.svc.restore(getattr(cast, user))
    assert ids(restore) == []
