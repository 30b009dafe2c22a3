"""CommCare HQ's own case-transaction and sync tests, translated to our services (SPEC §8, §9).

Each test names the HQ test it comes from (``corehq/ex-submodules/casexml/apps/case/tests`` and
``.../phone/tests`` of dimagi/commcare-hq): the behaviour is HQ's, the check is ours, written
against the services on both stores. HQ's users map onto the cast: HQ's ``main_user`` is Olga
(``owner``, whose owner ids are herself and the case-sharing group), ``someone_else`` is Colin
(``colleague``, in the same group, so HQ's ``SHARED_ID`` is the group) and another owner HQ
invents is Rita (``reader``). Where SPEC decides otherwise than HQ the test says so and checks
SPEC (docs/transactions.md, "Where we differ from CommCare HQ").
"""

from __future__ import annotations

import pytest

from caseshare.core.errors import CaseShareError
from caseshare.core.restore import Restore, state_hash, to_json, to_xml
from caseshare.services.transactions import SubmitResult
from tests.services.cast import Cast, code_of
from tests.services.forms import block, create, form, index, update

# -- helpers ---------------------------------------------------------------------------------


def submit(
    cast: Cast, user: int, *blocks: str, token: Restore | None = None, instance: str | None = None
) -> SubmitResult:
    """One device form of ``user``; ``token`` is the device's last restore (its sync token)."""
    return cast.svc.submit(
        cast.agency,
        user,
        form(*blocks, instance=instance),
        sync_token=None if token is None else token.token,
    )


def sync(cast: Cast, user: int, prior: Restore, holds: set[str] | None = None) -> Restore:
    """An incremental restore; ``holds`` is what the device holds (its state hash), checked by
    the server against its sync log (a mismatch is ``stale_sync_token``)."""
    device_hash = None if holds is None else state_hash(holds)
    return cast.svc.restore(user, since=prior.token, device_hash=device_hash)


def sent(restore: Restore) -> set[str]:
    return {c.case_id for c in restore.cases}


def removed(restore: Restore) -> set[str]:
    return set(to_json(restore)["removed"])


def case_of(restore: Restore, case_id: str) -> dict[str, object]:
    [found] = [c for c in to_json(restore)["cases"] if c["case_id"] == case_id]
    return dict(found)


def indices(restore: Restore, case_id: str) -> set[tuple[str, str, str, str]]:
    [found] = [c for c in restore.cases if c.case_id == case_id]
    return {tuple(i) for i in found.indices}  # type: ignore[misc]


def stored(cast: Cast, case_id: str) -> dict[str, object]:
    snap = cast.svc.stored_snapshot(cast.agency, case_id)
    assert snap is not None, case_id
    return dict(snap[0])


def user(cast: Cast, uid: int) -> str:
    return f"user:{uid}"


def group(cast: Cast) -> str:
    return str(cast.group_principal)


# -- case transactions (casexml/apps/case/tests) ----------------------------------------------


def test_indexes_an_empty_index_removes_it_and_it_can_come_back(cast: Cast) -> None:
    """test_indexes.IndexTest.testIndexes: create with index ``mom``; one block deletes ``mom``
    (empty text) and adds ``dad``; a later block puts ``mom`` back beside ``dad``."""
    submit(cast, cast.owner, block("mother", create("mother-case")), block("father", create()))
    submit(cast, cast.owner, block("kid", create() + index("mom", "mother", case_type="mother")))
    both = '<index><mom case_type="mother"></mom><dad case_type="father">father</dad></index>'
    submit(cast, cast.owner, block("kid", both))
    full = cast.svc.restore(cast.owner)
    assert indices(full, "kid") == {("dad", "father", "father", "child")}
    submit(cast, cast.owner, block("kid", index("mom", "mother", case_type="mother")))
    full = cast.svc.restore(cast.owner)
    assert indices(full, "kid") == {
        ("dad", "father", "father", "child"),
        ("mom", "mother", "mother", "child"),
    }


def test_indexes_the_relationship_is_kept_and_child_is_the_default(cast: Cast) -> None:
    """test_indexes.IndexTest.testRelationshipGetsSet and CaseBlockIndexRelationshipTests:
    ``relationship="extension"`` is kept; an index without the attribute is a child index."""
    submit(cast, cast.owner, block("host", create()))
    plain = '<index><parent case_type="patient">host</parent></index>'
    submit(
        cast,
        cast.owner,
        block("ext", create() + index("host", "host", "extension")),
        block("kid", create() + plain),
    )
    full = cast.svc.restore(cast.owner)
    assert indices(full, "ext") == {("host", "host", "patient", "extension")}
    assert indices(full, "kid") == {("parent", "host", "patient", "child")}
    assert 'relationship="extension"' in to_xml(full)


def test_indexes_a_relationship_other_than_child_or_extension_is_refused(cast: Cast) -> None:
    """CaseBlockIndexRelationshipTests.test_case_block_index_valid_relationship: only
    ``child`` and ``extension`` are relationships (HQ refuses ``parent`` when building the
    block; we refuse the form, S-TX-5)."""
    submit(cast, cast.owner, block("host", create()))
    code = code_of(
        submit, cast, cast.owner, block("bad", create() + index("host", "host", "parent"))
    )
    assert code in ("invalid_index", "invalid_case_block")
    assert cast.svc.stored_snapshot(cast.agency, "bad") is None


def test_indexes_an_index_to_a_case_of_another_domain_is_an_error(cast: Cast) -> None:
    """test_indexes.IndexTest.testBadIndexReferenceDomain: the form is stored as an error
    (HQ: ``XFormError`` with ``IllegalCaseId``); no case is made."""
    cast.svc.create_case(cast.other_agency, cast.foreigner, "patient", "South", case_id="s-only")
    with pytest.raises(CaseShareError) as info:
        submit(
            cast,
            cast.owner,
            block("child-case-id", create() + index("bad", "s-only")),
            instance="bad-domain",
        )
    assert info.value.code == "invalid_index"
    [row] = cast.store.submissions(cast.agency, "bad-domain")
    assert row.status == "error" and row.problem.startswith("invalid_index: ")
    assert cast.svc.stored_snapshot(cast.agency, "child-case-id") is None


def test_multi_case_submits_parallel_blocks_each_have_the_form_once(cast: Cast) -> None:
    """test_multi_case_submits.MultiCaseTest.testParallel / testMixed: four case blocks of one
    form make four cases, and each case's history holds that one form, once."""
    result = submit(
        cast,
        cast.owner,
        *(block(f"par-{i}", create(name=f"P{i}") + update(i=str(i))) for i in range(4)),
    )
    assert set(result.cases) == {f"par-{i}" for i in range(4)}
    for i in range(4):
        txs = cast.store.transactions(cast.agency, f"par-{i}")
        assert [t.submission_id for t in txs] == [result.submission_id]
        assert stored(cast, f"par-{i}")["properties"] == {"i": str(i)}


def test_multi_case_submits_cases_in_repeats(cast: Cast) -> None:
    """test_multi_case_submits.MultiCaseTest.testCasesInRepeats: case blocks inside repeat
    groups (nested elements of the form) are all applied."""
    repeats = "".join(
        f"<child><name>R{i}</name>{block(f'rep-{i}', create(name=f'R{i}'))}</child>"
        for i in range(3)
    )
    result = submit(cast, cast.owner, f"<children>{repeats}</children>")
    assert set(result.cases) == {"rep-0", "rep-1", "rep-2"}
    assert {stored(cast, f"rep-{i}")["name"] for i in range(3)} == {"R0", "R1", "R2"}


def test_multi_case_submits_a_block_updates_a_case_created_earlier_in_the_same_form(
    cast: Cast,
) -> None:
    """test_multi_case_submits (mixed_cases.xml) and test_sync_mode.testMultiplePartsSingleSubmit:
    a create and a later update of the same case in one form; one transaction per block,
    the later block wins."""
    result = submit(
        cast,
        cast.owner,
        block("mixed", create(name="First") + update(a="1", b="1")),
        block("other", create()),
        block("mixed", update(b="2", c="3")),
    )
    assert stored(cast, "mixed")["name"] == "First"
    assert stored(cast, "mixed")["properties"] == {"a": "1", "b": "2", "c": "3"}
    txs = cast.store.transactions(cast.agency, "mixed")
    assert {t.submission_id for t in txs} == {result.submission_id}


def test_a_child_block_before_its_parents_create_in_the_same_form(cast: Cast) -> None:
    """test_bugs (lots_of_subcases.xml, multiple_case_blocks.xml): a form may index a case it
    creates in a later block of the same form."""
    submit(
        cast,
        cast.owner,
        block("sub-1", create() + index("parent", "mom-late")),
        block("mom-late", create(name="Mom")),
    )
    full = cast.svc.restore(cast.owner)
    assert indices(full, "sub-1") == {("parent", "mom-late", "patient", "child")}


def test_an_index_to_a_case_no_form_has_created_yet_is_refused(cast: Cast) -> None:
    """HQ accepts an index to a case id it has never seen (the case may arrive later); SPEC
    S-TX-5 refuses it (``invalid_index``, the form stored as an error). Documented."""
    code = code_of(submit, cast, cast.owner, block("early", create() + index("parent", "later")))
    assert code == "invalid_index"
    submit(cast, cast.owner, block("later", create()))
    submit(cast, cast.owner, block("early", create() + index("parent", "later")))
    assert indices(cast.svc.restore(cast.owner), "early") == {
        ("parent", "later", "patient", "child")
    }


def _out_of_order(cast: Cast) -> None:
    """HQ's two forms of one case: the update (device time 11:10) is received before the create
    (10:52)."""
    submit(
        cast,
        cast.owner,
        block(
            "oo",
            update(pupdate="from the update form", pboth="overridden by the update form"),
            "2013-10-07T11:10:11.163Z",
        ),
    )
    submit(
        cast,
        cast.owner,
        block(
            "oo",
            create("mother", "out of order case")
            + update(pcreate="from the create form", pboth="this should get overridden"),
            "2013-10-07T10:52:20.387Z",
        ),
    )


def test_out_of_order_by_default_the_later_received_form_wins(cast: Cast) -> None:
    """test_out_of_order_processing.testOutOfOrderSubmissions: the update form (device time
    11:10) arrives before the create form (10:52) of the same user. HQ sorts by device time, so
    the update wins ``pboth``; SPEC S-TX-3 applies received order unless the agency reconciles,
    so here the create form (received last) wins. The case takes the create's name and type."""
    _out_of_order(cast)
    oo = stored(cast, "oo")
    assert oo["name"] == "out of order case" and oo["case_type"] == "mother"
    assert oo["properties"] == {
        "pupdate": "from the update form",
        "pcreate": "from the create form",
        "pboth": "this should get overridden",
    }


def test_out_of_order_with_reconcile_the_device_time_decides_as_in_hq(cast: Cast) -> None:
    """test_out_of_order_processing.testOutOfOrderSubmissions with ``ordering: reconcile``
    (S-TX-3): one user's forms 18 minutes apart replay in device-time order, as HQ does."""
    cast.svc.update_settings(cast.agency, None, {"ordering": "reconcile"})
    _out_of_order(cast)
    oo = stored(cast, "oo")
    assert oo["name"] == "out of order case"
    assert oo["properties"] == {
        "pupdate": "from the update form",
        "pcreate": "from the create form",
        "pboth": "overridden by the update form",
    }


def test_v2_parsing_a_prefixed_case_namespace(cast: Cast) -> None:
    """test_v2_parsing.testParseNamedNamespace (named_namespace.xml): ``<n0:case>`` with the
    case namespace bound to a prefix is a case block like any other."""
    ns = "http://commcarehq.org/case/transaction/v2"
    named = (
        f'<n0:case xmlns:n0="{ns}" case_id="named" date_modified="2011-12-27">'
        "<n0:create><n0:case_type>cc_bihar_pregnancy</n0:case_type>"
        f"<n0:owner_id>{group(cast)}</n0:owner_id><n0:case_name>TEST</n0:case_name></n0:create>"
        "<n0:update><n0:village>JGN.GM</n0:village><n0:edd>2012-02-27</n0:edd></n0:update>"
        "</n0:case>"
    )
    submit(cast, cast.owner, named)
    case = stored(cast, "named")
    assert case["name"] == "TEST" and case["case_type"] == "cc_bihar_pregnancy"
    assert case["properties"] == {"village": "JGN.GM", "edd": "2012-02-27"}
    assert case["owner"] == group(cast)


def test_v2_parsing_create_update_close_and_a_noop_block(cast: Cast) -> None:
    """test_v2_parsing (basic_create, basic_update, basic_noop, basic_close): a block without
    actions changes no field but is recorded and moves modified_on; close closes."""
    submit(
        cast, cast.owner, block("v2", create(name="Basic") + update(p="1"), "2024-01-01T10:00:00Z")
    )
    submit(cast, cast.owner, block("v2", update(p="2", q="x"), "2024-01-02T10:00:00Z"))
    submit(cast, cast.owner, block("v2", "", "2024-01-03T10:00:00Z"))
    case = stored(cast, "v2")
    assert case["properties"] == {"p": "2", "q": "x"} and not case["closed"]
    assert str(case["modified_on"]).startswith("2024-01-03")
    assert len(cast.store.transactions(cast.agency, "v2")) == 3
    submit(cast, cast.owner, block("v2", "<close/>", "2024-01-04T10:00:00Z"))
    assert stored(cast, "v2")["closed"]


def test_bugs_an_empty_case_id_rejects_the_whole_form(cast: Cast) -> None:
    """test_bugs.CaseBugTest.testEmptyCaseId (empty_id.xml): a block with an empty case_id is
    an error; the other blocks of the form are not applied either."""
    code = code_of(submit, cast, cast.owner, block("fine", create()), block("", create()))
    assert code == "invalid_case_block"
    assert cast.svc.stored_snapshot(cast.agency, "fine") is None


def test_bugs_the_same_form_twice_changes_nothing_and_is_not_sent_back(cast: Cast) -> None:
    """test_bugs.CaseBugTest.testDuplicateCasePropertiesBug and HQ's duplicate handling: the
    same form sent again is a duplicate (answered as success, nothing applied twice); the
    device's restore has nothing new for it."""
    first = cast.svc.restore(cast.owner)
    body = block("twice", create() + update(n="1"))
    once = submit(cast, cast.owner, body, token=first, instance="same-form")
    again = submit(cast, cast.owner, body, token=first, instance="same-form")
    assert (once.status, again.status) == ("normal", "duplicate")
    assert len(cast.store.transactions(cast.agency, "twice")) == 1
    after = sync(cast, cast.owner, first, set(first.case_ids) | {"twice"})
    assert sent(after) == set() and removed(after) == set()


# -- sync (casexml/apps/phone/tests) ----------------------------------------------------------


def test_sync_own_updates_dont_sync(cast: Cast) -> None:
    """test_sync_mode.SyncTokenUpdateTest.testOwnUpdatesDontSync: the device's own create,
    update and hand-over are never sent back to it."""
    first = cast.svc.restore(cast.owner)
    holds = set(first.case_ids)
    submit(cast, cast.owner, block("own", create()), token=first)
    assert sent(sync(cast, cast.owner, first, holds | {"own"})) == set()
    submit(cast, cast.owner, block("own", update(greeting="hello")), token=first)
    assert sent(sync(cast, cast.owner, first, holds | {"own"})) == set()
    submit(cast, cast.owner, block("own", update(owner_id=user(cast, cast.reader))), token=first)
    after = sync(cast, cast.owner, first, holds)
    assert sent(after) == set() and removed(after) == set()


def test_sync_token_association_create_update_close(cast: Cast) -> None:
    """test_sync_mode.SyncTokenUpdateTest.testTokenAssociation / testMultipleUpdates: a create
    with the token puts the case on the device's log, updates keep it there once, a close takes
    it off (the state hash follows)."""
    first = cast.svc.restore(cast.owner)
    holds = set(first.case_ids)
    submit(cast, cast.owner, block("asdf", create()), token=first)
    submit(cast, cast.owner, block("asdf", update(a="1")), token=first)
    submit(cast, cast.owner, block("asdf", update(a="2")), token=first)
    second = sync(cast, cast.owner, first, holds | {"asdf"})
    assert second.case_ids == holds | {"asdf"}
    submit(cast, cast.owner, block("asdf", "<close/>"), token=second)
    third = sync(cast, cast.owner, second, holds)
    assert third.case_ids == holds and sent(third) == set()
    assert (
        code_of(
            cast.svc.restore,
            cast.owner,
            since=second.token,
            device_hash=state_hash(holds | {"asdf"}),
        )
        == "stale_sync_token"
    )


def test_sync_closed_parent_index(cast: Cast) -> None:
    """test_sync_mode.SyncTokenUpdateTest.testClosedParentIndex: the device closes the mother;
    her open child keeps her on the device, and a clean restore sends both (she closed)."""
    first = cast.svc.restore(cast.owner)
    submit(
        cast,
        cast.owner,
        block("mommy", create()),
        block("baby", create() + index("my_mom_is", "mommy")),
        token=first,
    )
    submit(cast, cast.owner, block("mommy", "<close/>"), token=first)
    holds = set(first.case_ids) | {"mommy", "baby"}
    after = sync(cast, cast.owner, first, holds)
    assert after.case_ids == holds and sent(after) == set()
    full = cast.svc.restore(cast.owner)
    assert {"mommy", "baby"} <= sent(full)
    assert case_of(full, "mommy")["closed"] is True


def test_sync_assign_to_new_owner(cast: Cast) -> None:
    """test_sync_mode.SyncTokenUpdateTest.testAssignToNewOwner: the device gives the child away;
    the child leaves its log, the (still owned) parent stays."""
    first = cast.svc.restore(cast.owner)
    submit(
        cast,
        cast.owner,
        block("mommy", create()),
        block("baby", create() + index("my_mom_is", "mommy")),
        token=first,
    )
    submit(cast, cast.owner, block("baby", update(owner_id=user(cast, cast.reader))), token=first)
    holds = set(first.case_ids) | {"mommy"}
    after = sync(cast, cast.owner, first, holds)
    assert after.case_ids == holds and sent(after) == set() and removed(after) == set()
    assert "baby" not in cast.svc.restore(cast.owner).case_ids


def test_sync_archive_updates(cast: Cast) -> None:
    """test_sync_mode.SyncTokenUpdateTest.testArchiveUpdates: archiving the device's own form
    changes the case, and the next sync sends it."""
    first = cast.svc.restore(cast.owner)
    submit(cast, cast.owner, block("arch", create()), token=first)
    submit(cast, cast.owner, block("arch", update(greeting="hello")), token=first, instance="upd")
    holds = set(first.case_ids) | {"arch"}
    assert sent(sync(cast, cast.owner, first, holds)) == set()
    cast.svc.archive_submission(cast.agency, cast.admin, "upd")
    after = sync(cast, cast.owner, first, holds)
    assert sent(after) == {"arch"}
    assert "greeting" not in dict(case_of(after, "arch")["properties"])  # type: ignore[call-overload]


def test_sync_user_logged_into_multiple_devices(cast: Cast) -> None:
    """test_sync_mode.SyncTokenUpdateTest.testUserLoggedIntoMultipleDevices: a child case the
    same user created from another device (another sync token) is sent to the first device."""
    first = cast.svc.restore(cast.owner)
    submit(cast, cast.owner, block("parent", create()), token=first)
    other_device = cast.svc.restore(cast.owner)
    submit(
        cast,
        cast.owner,
        block("child", create() + index("mother", "parent")),
        token=other_device,
    )
    after = sync(cast, cast.owner, first, set(first.case_ids) | {"parent"})
    assert sent(after) == {"child"}


def test_sync_tiered_parent_closing(cast: Cast) -> None:
    """test_sync_mode.SyncTokenUpdateTest.test_tiered_parent_closing: closing the grandparent,
    then the parent keeps all three on the device (the open child needs them); closing the
    child too lets all three go."""
    first = cast.svc.restore(cast.owner)
    submit(
        cast,
        cast.owner,
        block("gp", create()),
        block("p", create() + index("parent", "gp")),
        block("c", create() + index("parent", "p")),
        token=first,
    )
    three = {"gp", "p", "c"}
    base = set(first.case_ids)
    log = first
    for case_id, holds in (("gp", base | three), ("p", base | three), ("c", base)):
        submit(cast, cast.owner, block(case_id, "<close/>"), token=log)
        log = sync(cast, cast.owner, log, holds)
        assert log.case_ids == holds and sent(log) == set(), case_id
    assert three.isdisjoint(cast.svc.restore(cast.owner).case_ids)


def test_sync_create_immediately_irrelevant_parent_case(cast: Cast) -> None:
    """test_sync_mode.SyncTokenUpdateTest.test_create_immediately_irrelevant_parent_case: a
    parent owned by someone else, made in the same form as the device's child, is held."""
    first = cast.svc.restore(cast.admin)
    submit(
        cast,
        cast.admin,
        block("child", create(owner=user(cast, cast.admin)) + index("parent", "parent")),
        block("parent", create(owner=user(cast, cast.reader))),
        token=first,
    )
    after = sync(cast, cast.admin, first, set(first.case_ids) | {"child", "parent"})
    assert sent(after) == set()
    assert {"child", "parent"} <= cast.svc.restore(cast.admin).case_ids


def test_sync_dependent_case_becomes_relevant_at_sync_time(cast: Cast) -> None:
    """test_sync_mode.MultiUserSyncTest.test_dependent_case_becomes_relevant_at_sync_time: the
    parent held only for its child (owned by someone else, made in the child's form) is given
    to the device's user by someone else; the next sync sends it and the device keeps both."""
    first = cast.svc.restore(cast.admin)
    submit(
        cast,
        cast.admin,
        block("kid", create(owner=user(cast, cast.admin)) + index("parent", "dep")),
        block("dep", create(owner=user(cast, cast.reader))),
        token=first,
    )
    holds = set(first.case_ids) | {"kid", "dep"}
    assert sync(cast, cast.admin, first, holds).case_ids == holds
    cast.svc.change_owner(cast.agency, cast.reader, "dep", user(cast, cast.admin))
    after = sync(cast, cast.admin, first, holds)
    assert sent(after) == {"dep"} and after.case_ids == holds
    assert case_of(after, "dep")["owner_id"] == user(cast, cast.admin)


def test_sync_shared_case(cast: Cast) -> None:
    """test_sync_mode.MultiUserSyncTest.testSharedCase: a case one user creates for the shared
    (group) owner reaches the other user's device."""
    first = cast.svc.restore(cast.owner)
    submit(cast, cast.colleague, block("shared_case", create(owner=group(cast))))
    assert sent(sync(cast, cast.owner, first, set(first.case_ids))) == {"shared_case"}


def test_sync_other_user_edits(cast: Cast) -> None:
    """test_sync_mode.MultiUserSyncTest.testOtherUserEdits: another user's update of a shared
    case reaches the device with the new value."""
    first = cast.svc.restore(cast.owner)
    colin = cast.svc.restore(cast.colleague)
    submit(cast, cast.colleague, block(cast.case, update(greeting="Hello!")), token=colin)
    after = sync(cast, cast.owner, first, set(first.case_ids))
    assert sent(after) == {cast.case}
    assert "Hello!" in to_xml(after)


def test_sync_other_user_adds_index(cast: Cast) -> None:
    """test_sync_mode.MultiUserSyncTest.testOtherUserAddsIndex: a mother the other user owns is
    not the device's; once the other user indexes her from a shared case (and hands that case
    to the device's user), the next sync sends her and the case with its index."""
    first = cast.svc.restore(cast.owner)
    colin = cast.svc.restore(cast.colleague)
    submit(cast, cast.colleague, block("oi", create(owner=group(cast))), token=colin)
    second = sync(cast, cast.owner, first, set(first.case_ids))
    assert sent(second) == {"oi"}
    mother = block("oi-mother", create("mother", "Mum", owner=user(cast, cast.colleague)))
    submit(cast, cast.colleague, mother, token=colin)
    third = sync(cast, cast.owner, second, set(second.case_ids))
    assert sent(third) == set() and "oi-mother" not in third.case_ids
    adds = block(
        "oi",
        update(owner_id=user(cast, cast.owner)) + index("mother", "oi-mother", case_type="mother"),
    )
    submit(cast, cast.colleague, adds, token=colin)
    fourth = sync(cast, cast.owner, third, set(third.case_ids))
    assert sent(fourth) == {"oi", "oi-mother"}
    assert case_of(fourth, "oi-mother")["owner_id"] == user(cast, cast.colleague)
    assert indices(fourth, "oi") == {("mother", "oi-mother", "mother", "child")}


def test_sync_multi_user_edits_merge(cast: Cast) -> None:
    """test_sync_mode.MultiUserSyncTest.testMultiUserEdits: two users change different
    properties of one shared case; each device then gets the merged case."""
    submit(cast, cast.owner, block("mue", create()))
    mine, theirs = cast.svc.restore(cast.owner), cast.svc.restore(cast.colleague)
    submit(cast, cast.owner, block("mue", update(greeting="hello")), token=mine)
    submit(cast, cast.colleague, block("mue", update(greeting_2="hello")), token=theirs)
    for uid, log in ((cast.owner, mine), (cast.colleague, theirs)):
        after = sync(cast, uid, log, set(log.case_ids))
        assert sent(after) == {"mue"}
        props = case_of(after, "mue")["properties"]
        assert props == {"greeting": "hello", "greeting_2": "hello"}, uid


def test_sync_other_user_closes(cast: Cast) -> None:
    """test_sync_mode.MultiUserSyncTest.testOtherUserCloses: a shared case another user closes
    is in the device's next sync (for us: a removal, the bare ``<close/>``)."""
    submit(cast, cast.owner, block("ouc", create()))
    first = cast.svc.restore(cast.owner)
    colin = cast.svc.restore(cast.colleague)
    submit(cast, cast.colleague, block("ouc", "<close/>"), token=colin)
    after = sync(cast, cast.owner, first, set(first.case_ids))
    assert removed(after) == {"ouc"} and "ouc" not in after.case_ids


def test_sync_other_user_updates_unowned(cast: Cast) -> None:
    """test_sync_mode.MultiUserSyncTest.testOtherUserUpdatesUnowned: a case the other user owns
    alone, updated by them, never reaches the device."""
    first = cast.svc.restore(cast.owner)
    submit(cast, cast.colleague, block("ouu", create(owner=user(cast, cast.colleague))))
    colin = cast.svc.restore(cast.colleague)
    assert "ouu" in colin.case_ids
    submit(cast, cast.colleague, block("ouu", update(greeting="hello")), token=colin)
    after = sync(cast, cast.owner, first, set(first.case_ids))
    assert sent(after) == set() and removed(after) == set()


def test_sync_indexes_sync(cast: Cast) -> None:
    """test_sync_mode.MultiUserSyncTest.testIndexesSync: the device hands only the child to a
    second user; that user's device gets the child and, through its index, the parent."""
    first = cast.svc.restore(cast.owner)
    rita = cast.svc.restore(cast.reader)
    submit(cast, cast.owner, block("is_parent", create(owner=user(cast, cast.owner))), token=first)
    submit(
        cast,
        cast.owner,
        block("is_child", create(owner=user(cast, cast.owner)) + index("mother", "is_parent")),
        token=first,
    )
    assert {"is_parent", "is_child"}.isdisjoint(sync(cast, cast.reader, rita).case_ids)
    submit(
        cast,
        cast.owner,
        block("is_child", update(owner_id=user(cast, cast.reader), greeting="hello")),
        token=first,
    )
    after = cast.svc.restore(cast.reader, since=rita.token)
    assert {"is_parent", "is_child"} <= sent(after)


def test_sync_other_user_updates_index(cast: Cast) -> None:
    """test_sync_mode.MultiUserSyncTest.testOtherUserUpdatesIndex: the device gives the parent
    away but keeps its child, so it still holds both and nothing is sent; when the parent's new
    owner updates it, the device gets the parent again."""
    first = cast.svc.restore(cast.owner)
    submit(cast, cast.owner, block("oui_p", create()), token=first)
    submit(cast, cast.owner, block("oui_c", create() + index("mother", "oui_p")), token=first)
    submit(
        cast,
        cast.owner,
        block("oui_p", update(owner_id=user(cast, cast.reader), greeting="hello")),
        token=first,
    )
    holds = set(first.case_ids) | {"oui_p", "oui_c"}
    second = sync(cast, cast.owner, first, holds)
    assert second.case_ids == holds and sent(second) == set() and removed(second) == set()
    rita = cast.svc.restore(cast.reader)
    assert "oui_p" in rita.case_ids
    submit(cast, cast.reader, block("oui_p", update(greeting2="hi")), token=rita)
    third = sync(cast, cast.owner, second, holds)
    assert sent(third) == {"oui_p"}
    assert case_of(third, "oui_p")["properties"] == {"greeting": "hello", "greeting2": "hi"}


def test_sync_other_user_reassigns_indexed(cast: Cast) -> None:
    """test_sync_mode.MultiUserSyncTest.testOtherUserReassignsIndexed: parent given away by the
    device, then the other user takes the child too and edits both: both leave the device
    (HQ sends them with the new owner, we send removals); further edits by the other user are
    not sent; once the child comes back to the device's user, both are sent with the latest
    values. (Both start with the shared group: a device may hand over only cases it may
    transfer, S-TX-7, which HQ does not check.)"""
    first = cast.svc.restore(cast.owner)
    colin_id = user(cast, cast.colleague)
    submit(
        cast,
        cast.owner,
        block("ori_p", create()),
        block("ori_c", create() + index("parent", "ori_p")),
        token=first,
    )
    submit(
        cast, cast.owner, block("ori_p", update(owner_id=colin_id, greeting="hello")), token=first
    )
    colin = cast.svc.restore(cast.colleague)
    submit(
        cast,
        cast.colleague,
        block("ori_c", update(owner_id=colin_id, childgreeting="hi!")),
        token=colin,
    )
    submit(
        cast, cast.colleague, block("ori_p", update(other_greeting="something new")), token=colin
    )
    holds = set(first.case_ids) | {"ori_p", "ori_c"}
    second = sync(cast, cast.owner, first, holds)
    assert removed(second) == {"ori_p", "ori_c"} and sent(second) == set()
    submit(
        cast,
        cast.colleague,
        block("ori_p", update(other_greeting="something different")),
        token=colin,
    )
    submit(cast, cast.colleague, block("ori_c", update(childgreeting="hi changed!")), token=colin)
    third = sync(cast, cast.owner, second, set(second.case_ids))
    assert sent(third) == set() and removed(third) == set()
    submit(cast, cast.colleague, block("ori_c", update(owner_id=group(cast))), token=colin)
    fourth = sync(cast, cast.owner, third, set(third.case_ids))
    assert sent(fourth) == {"ori_p", "ori_c"}
    xml = to_xml(fourth)
    assert "something different" in xml and "hi changed!" in xml


def test_sync_index_tree_conflict_handling(cast: Cast) -> None:
    """test_sync_mode.MultiUserSyncTest.test_index_tree_conflict_handling: another user points
    the child's ``mom`` index at a new case; the device gets the child with the new index and
    the new mother, and keeps the old one (still its own)."""
    first = cast.svc.restore(cast.owner)
    submit(
        cast,
        cast.owner,
        block("itc_mom", create("mom")),
        block("itc_dad", create("dad")),
        block(
            "itc_child",
            create()
            + '<index><mom case_type="mom">itc_mom</mom><dad case_type="dad">itc_dad</dad></index>',
        ),
        token=first,
    )
    submit(
        cast,
        cast.colleague,
        block("itc_new_mom", create("mom")),
        block("itc_child", index("mom", "itc_new_mom", case_type="mom")),
    )
    holds = set(first.case_ids) | {"itc_mom", "itc_dad", "itc_child"}
    after = sync(cast, cast.owner, first, holds)
    assert sent(after) == {"itc_child", "itc_new_mom"}
    assert indices(after, "itc_child") == {
        ("mom", "itc_new_mom", "mom", "child"),
        ("dad", "itc_dad", "dad", "child"),
    }
    assert after.case_ids == holds | {"itc_new_mom"}


def test_sync_delete_only_index_and_one_of_many(cast: Cast) -> None:
    """test_sync_mode.SyncTokenUpdateTest.test_delete_only_index /
    test_delete_one_of_multiple_indices / test_change_index_type: the device's own index
    changes keep its log in step (the state hash matches), and nothing is sent back."""
    first = cast.svc.restore(cast.owner)
    submit(
        cast,
        cast.owner,
        block("dp1", create()),
        block("dp2", create()),
        block(
            "dchild",
            create()
            + '<index><p1 case_type="patient">dp1</p1><p2 case_type="patient">dp2</p2></index>',
        ),
        token=first,
    )
    holds = set(first.case_ids) | {"dp1", "dp2", "dchild"}
    submit(
        cast, cast.owner, block("dchild", '<index><p1 case_type="patient"/></index>'), token=first
    )
    second = sync(cast, cast.owner, first, holds)
    assert second.case_ids == holds and sent(second) == set()
    submit(
        cast,
        cast.owner,
        block("dchild", index("p2", "dp2", case_type="updated_type")),
        token=second,
    )
    third = sync(cast, cast.owner, second, holds)
    assert sent(third) == set()
    full = cast.svc.restore(cast.owner)
    assert indices(full, "dchild") == {("p2", "dp2", "updated_type", "child")}


def test_sync_change_index_id_to_a_case_made_in_the_same_form(cast: Cast) -> None:
    """test_sync_mode.SyncTokenUpdateTest.test_change_index_id / test_add_multiple_indices: the
    device re-points an index at a case it creates in the same form; it holds all of them."""
    first = cast.svc.restore(cast.owner)
    submit(
        cast,
        cast.owner,
        block("cid_parent", create()),
        block("cid_child", create() + index("parent_index_id", "cid_parent")),
        token=first,
    )
    submit(
        cast,
        cast.owner,
        block("changed_index_id", create()),
        block("cid_child", index("parent_index_id", "changed_index_id")),
        token=first,
    )
    holds = set(first.case_ids) | {"cid_parent", "cid_child", "changed_index_id"}
    after = sync(cast, cast.owner, first, holds)
    assert after.case_ids == holds and sent(after) == set()


def test_state_hash_matches_hq_and_a_mismatch_is_stale(cast: Cast) -> None:
    """test_state_hash.StateHashTest.testMismatch: after the device creates ``abc123`` and
    ``123abc`` its log's hash is HQ's ``409c5c597fa2c2a693b769f0d2ad432b``; that hash restores,
    a wrong one is ``stale_sync_token`` (HTTP 412) and the device restores in full."""
    first = cast.svc.restore(cast.admin)
    assert first.case_ids == frozenset()
    mine = user(cast, cast.admin)
    submit(
        cast,
        cast.admin,
        block("abc123", create(owner=mine)),
        block("123abc", create(owner=mine)),
        token=first,
    )
    real = "ccsh:409c5c597fa2c2a693b769f0d2ad432b"
    assert state_hash({"abc123", "123abc"}) == real
    ok = cast.svc.restore(cast.admin, since=first.token, device_hash=real)
    assert ok.incremental and sent(ok) == set()
    bad = "ccsh:thisisntright"
    assert code_of(cast.svc.restore, cast.admin, since=first.token, device_hash=bad) == (
        "stale_sync_token"
    )
    full = cast.svc.restore(cast.admin)
    assert not full.incremental and sent(full) == {"abc123", "123abc"}


def test_state_hash_empty(cast: Cast) -> None:
    """test_state_hash.StateHashTest.testEmpty: a device holding nothing sends HQ's empty hash,
    ``ccsh:`` with an empty digest (``EMPTY_HASH = ""``), and restores; a wrong hash is
    ``stale_sync_token`` (HTTP 412). The 32 zeros our restores sent for no cases before still
    match, so devices that stored them are not forced into a full restore."""
    first = cast.svc.restore(cast.admin)
    assert to_json(first)["state_hash"] == "ccsh:"
    ok = cast.svc.restore(cast.admin, since=first.token, device_hash="ccsh:")
    assert ok.incremental and sent(ok) == set()
    zeros = cast.svc.restore(cast.admin, since=ok.token, device_hash="ccsh:" + "0" * 32)
    assert zeros.incremental
    assert (
        code_of(cast.svc.restore, cast.admin, since=first.token, device_hash="ccsh:thisisntright")
        == "stale_sync_token"
    )
    mine = user(cast, cast.admin)
    submit(cast, cast.admin, block("abc123", create(owner=mine)), token=zeros)
    assert code_of(cast.svc.restore, cast.admin, since=zeros.token, device_hash="ccsh:") == (
        "stale_sync_token"
    )


def test_sync_an_unknown_token_is_stale(cast: Cast) -> None:
    """test_sync_mode.LooseSyncTokenValidationTest.test_restore_with_bad_log_default: a restore
    with a sync log id the server does not know is refused (``stale_sync_token``); a form
    carrying such a token is still applied (HQ's loose token validation)."""
    assert code_of(cast.svc.restore, cast.owner, since="not-a-valid-synclog-id") == (
        "stale_sync_token"
    )
    result = cast.svc.submit(
        cast.agency,
        cast.owner,
        form(block("bad-log", create())),
        sync_token="not-a-valid-synclog-id",
    )
    assert result.status == "normal"
    assert "bad-log" in cast.svc.restore(cast.owner).case_ids


def test_update_of_a_case_that_does_not_exist_creates_it(cast: Cast) -> None:
    """test_sync_mode.SyncTokenReprocessingTest.testUpdateNonExisting: HQ refuses an update
    (no create) of a case that does not exist; SPEC S-TX-2 creates it. Documented."""
    first = cast.svc.restore(cast.owner)
    submit(
        cast, cast.owner, block("non_existent", update(owner_id=group(cast), a="1")), token=first
    )
    assert stored(cast, "non_existent")["properties"] == {"a": "1"}
    after = sync(cast, cast.owner, first, set(first.case_ids) | {"non_existent"})
    assert sent(after) == set()


# -- extension cases (phone/tests/test_extension_indexes, case/tests/test_close_extension_chain)


def test_extension_an_extension_of_my_case_owned_by_someone_else_is_sent(cast: Cast) -> None:
    """test_extension_indexes (extension of an owned host): an open extension of a live host
    is live, whoever owns it; closing the host takes both off the device."""
    first = cast.svc.restore(cast.owner)
    submit(cast, cast.owner, block("eh", create()))
    submit(
        cast,
        cast.admin,
        block("ee", create(owner=user(cast, cast.reader)) + index("host", "eh", "extension")),
    )
    second = sync(cast, cast.owner, first, set(first.case_ids))
    assert sent(second) == {"eh", "ee"}
    submit(cast, cast.colleague, block("eh", "<close/>"))
    third = sync(cast, cast.owner, second, set(second.case_ids))
    assert removed(third) == {"eh", "ee"}


def test_extension_my_extension_brings_its_host(cast: Cast) -> None:
    """test_extension_indexes (owned extension of an unowned host): the device owns the
    extension; the host, owned by someone else, is live through it and sent."""
    first = cast.svc.restore(cast.admin)
    cast.svc.create_case(
        cast.agency, cast.admin, "patient", "Host", case_id="xh", owner=user(cast, cast.reader)
    )
    submit(
        cast,
        cast.reader,
        block("xe", create(owner=user(cast, cast.reader)) + index("host", "xh", "extension")),
    )
    cast.svc.change_owner(cast.agency, cast.admin, "xe", user(cast, cast.admin))
    after = sync(cast, cast.admin, first, set(first.case_ids))
    assert sent(after) == {"xh", "xe"}


def test_extension_an_extension_of_a_closed_host_is_not_live(cast: Cast) -> None:
    """test_extension_indexes (closed host): an open extension the device owns, of a host
    that is closed, is not available, so not live."""
    submit(
        cast,
        cast.owner,
        block("ch", create()),
        block("ce", create() + index("host", "ch", "extension")),
    )
    assert {"ch", "ce"} <= cast.svc.restore(cast.owner).case_ids
    submit(cast, cast.colleague, block("ch", "<close/>"))
    assert {"ch", "ce"}.isdisjoint(cast.svc.restore(cast.owner).case_ids)
    assert not stored(cast, "ce")["closed"]  # without the cascade setting the extension stays open


def test_close_extension_chain_closes_the_whole_chain(cast: Cast) -> None:
    """test_close_extension_chain (with ``extension_close_cascade``): closing a host closes its
    extension and the extension's extension, each by one closing transaction; a child case
    is not closed."""
    cast.svc.update_settings(cast.agency, None, {"extension_close_cascade": True})
    submit(
        cast,
        cast.owner,
        block("h0", create()),
        block("e1", create() + index("host", "h0", "extension")),
        block("e2", create() + index("host", "e1", "extension")),
        block("k1c", create() + index("parent", "h0")),
    )
    result = submit(cast, cast.owner, block("h0", "<close/>"))
    assert {"h0", "e1", "e2"} <= set(result.cases)
    assert stored(cast, "e1")["closed"] and stored(cast, "e2")["closed"]
    assert not stored(cast, "k1c")["closed"]
    for ext in ("e1", "e2"):
        assert (
            len([t for t in cast.store.transactions(cast.agency, ext) if "close" in t.kinds]) == 1
        )


def test_bugs_case_block_ordering_creates_apply_first(cast: Cast) -> None:
    """test_bugs.CaseBugTest.test_case_block_ordering: updates written before the creates of
    their cases, for two cases interleaved, win over the creates' values (HQ applies a case's
    create block first). The stored case agrees with a replay of its history, and archiving
    and unarchiving the form gives the same case again."""
    result = submit(
        cast,
        cast.owner,
        block("ord1", update(p="2")),
        block("ord2", update(p="2")),
        block("ord1", create() + update(p="1")),
        block("ord2", create() + update(p="1")),
        instance="ordering",
    )
    assert set(result.cases) == {"ord1", "ord2"}
    for case_id in ("ord1", "ord2"):
        assert stored(cast, case_id)["properties"] == {"p": "2"}
        assert [t.kinds for t in cast.store.transactions(cast.agency, case_id)] == ["create,update"]
        assert cast.svc.history_snapshot(cast.agency, case_id) == cast.svc.stored_snapshot(
            cast.agency, case_id
        )
    cast.svc.archive_submission(cast.agency, cast.admin, "ordering")
    cast.svc.unarchive_submission(cast.agency, cast.admin, "ordering")
    assert stored(cast, "ord1")["properties"] == {"p": "2"}


def test_bugs_multiple_case_blocks_for_one_case(cast: Cast) -> None:
    """test_bugs.CaseBugTest.test_multiple_case_blocks: two blocks for one case in one form
    (create with p1, p2; then p2, p3): the later values win and the case's history holds the
    form once."""
    result = submit(
        cast,
        cast.owner,
        block("mcb", create() + update(p1="v1", p2="v2")),
        block("mcb", update(p2="v4", p3="v3")),
    )
    assert stored(cast, "mcb")["properties"] == {"p1": "v1", "p2": "v4", "p3": "v3"}
    txs = cast.store.transactions(cast.agency, "mcb")
    assert [t.submission_id for t in txs] == [result.submission_id]


# -- later HQ sync tests (phone/tests/test_sync_mode.py, MockDevice era) -----------------------


def test_sync_closed_case_not_in_next_sync(cast: Cast) -> None:
    """test_sync_mode.SyncTokenUpdateTest.test_closed_case_not_in_next_sync: a case the device
    closed is on its log before, not after, and the next syncs do not send it."""
    first = cast.svc.restore(cast.owner)
    submit(cast, cast.owner, block("cnn", create()), token=first)
    second = sync(cast, cast.owner, first, set(first.case_ids) | {"cnn"})
    assert "cnn" in second.case_ids
    submit(cast, cast.owner, block("cnn", "<close/>"), token=second)
    third = sync(cast, cast.owner, second, set(first.case_ids))
    fourth = sync(cast, cast.owner, third, set(first.case_ids))
    assert "cnn" not in third.case_ids | fourth.case_ids
    assert sent(third) | sent(fourth) | removed(third) | removed(fourth) == set()


def test_sync_by_user_id_an_empty_owner_on_create(cast: Cast) -> None:
    """test_sync_mode.SyncTokenUpdateTest.test_sync_by_user_id: a create with an empty owner_id
    is held by the device. HQ gives the case to the submitting user; we read an empty owner as
    none given (S-TX-2 → S-CRT-2: the creator's case-sharing group)."""
    first = cast.svc.restore(cast.owner)
    empty = "<create><case_type>t</case_type><case_name>n</case_name><owner_id/></create>"
    submit(cast, cast.owner, block("empty-owner", empty), token=first)
    assert stored(cast, "empty-owner")["owner"] == group(cast)
    assert "empty-owner" in cast.svc.restore(cast.owner).case_ids
    after = sync(cast, cast.owner, first, set(first.case_ids) | {"empty-owner"})
    assert "empty-owner" in after.case_ids


def test_sync_create_irrelevant_owner_and_update_to_relevant_owner_in_same_form(
    cast: Cast,
) -> None:
    """test_sync_mode.SyncTokenUpdateTest.test_create_irrelevant_owner_and_update_to_relevant_
    owner_in_same_form (and ..._to_irrelevant_2): the owner the block leaves the case with
    decides whether the device holds it."""
    first = cast.svc.restore(cast.admin)
    mine, rita, otto = user(cast, cast.admin), user(cast, cast.reader), user(cast, cast.outsider)
    submit(
        cast,
        cast.admin,
        block("edge", create(owner=rita) + update(owner_id=mine)),
        block("edge2", create(owner=rita) + update(owner_id=otto)),
        token=first,
    )
    assert (stored(cast, "edge")["owner"], stored(cast, "edge2")["owner"]) == (mine, otto)
    after = sync(cast, cast.admin, first, set(first.case_ids) | {"edge"})
    assert after.case_ids == set(first.case_ids) | {"edge"} and sent(after) == set()


def test_sync_update_to_an_empty_owner_is_refused(cast: Cast) -> None:
    """test_sync_mode.SyncTokenUpdateTest.test_create_relevant_owner_and_update_to_empty_owner_
    in_same_form: HQ leaves the case without owner (held by no device); every case has an owner
    here (S-CRT-1), so an empty owner_id in an update is ``invalid_owner`` and nothing changes.
    An update without owner_id keeps the owner (test_create_relevant_owner_then_submit_again_
    with_no_owner)."""
    first = cast.svc.restore(cast.owner)
    code = code_of(
        submit,
        cast,
        cast.owner,
        block("eo", create() + "<update><owner_id/></update>"),
        token=first,
    )
    assert code == "invalid_owner"
    assert cast.svc.stored_snapshot(cast.agency, "eo") is None
    submit(cast, cast.owner, block("eo", create()), token=first)
    submit(cast, cast.owner, block("eo", update(p="1")), token=first)
    assert stored(cast, "eo")["owner"] == group(cast)
    assert "eo" in sync(cast, cast.owner, first, set(first.case_ids) | {"eo"}).case_ids


def test_sync_create_irrelevant_child_and_close_parent_in_same_form(cast: Cast) -> None:
    """test_sync_mode.SyncTokenUpdateTest.test_create_irrelevant_child_case_and_close_parent_
    in_same_form / test_create_closed_child_case_and_close_parent_in_same_form: the device
    closes its parent and makes a child it does not hold (another owner, or closed at once):
    both leave its log."""
    first = cast.svc.restore(cast.admin)
    mine = user(cast, cast.admin)
    submit(
        cast,
        cast.admin,
        block("icp", create(owner=mine)),
        block("icp2", create(owner=mine)),
        token=first,
    )
    submit(
        cast,
        cast.admin,
        block("icc", create(owner=user(cast, cast.reader)) + index("parent", "icp")),
        block("icp", "<close/>"),
        block("icp2", "<close/>"),
        block(
            "icc2", create(owner=mine) + update(foo="bar") + "<close/>" + index("parent", "icp2")
        ),
        token=first,
    )
    after = sync(cast, cast.admin, first, set(first.case_ids))
    assert after.case_ids == first.case_ids and sent(after) == set() and removed(after) == set()


def test_sync_reassign_and_close_in_same_form(cast: Cast) -> None:
    """test_sync_mode.SyncTokenUpdateTest.test_reassign_and_close_in_same_form /
    test_create_irrelevant_owner_and_close_in_same_form: both are accepted, and the case
    leaves the device."""
    first = cast.svc.restore(cast.owner)
    submit(cast, cast.owner, block("rc", create()), token=first)
    submit(
        cast,
        cast.owner,
        block("rc", update(owner_id=user(cast, cast.reader)) + "<close/>"),
        token=first,
    )
    case = stored(cast, "rc")
    assert case["closed"] and case["owner"] == user(cast, cast.reader)
    after = sync(cast, cast.owner, first, set(first.case_ids))
    assert sent(after) == set() and removed(after) == set()


def test_sync_index_after_close(cast: Cast) -> None:
    """test_sync_mode.SyncTokenUpdateTest.test_index_after_close: a block that creates, closes
    and then (after ``<close/>`` in the document) indexes a parent: the case is closed and
    not held; the parent stays."""
    first = cast.svc.restore(cast.owner)
    submit(cast, cast.owner, block("iac_p", create()), token=first)
    submit(
        cast,
        cast.owner,
        block("iac", create() + "<close/>" + index("parent", "iac_p", case_type="test")),
        token=first,
    )
    assert stored(cast, "iac")["closed"]
    holds = set(first.case_ids) | {"iac_p"}
    after = sync(cast, cast.owner, first, holds)
    assert after.case_ids == holds and sent(after) == set()


def test_sync_index_chain_with_closed_parents(cast: Cast) -> None:
    """test_sync_mode.SyncTokenUpdateTest.test_index_chain_with_closed_parents: a grandparent
    and a parent made closed, and an open child: the child holds all three on the device."""
    first = cast.svc.restore(cast.owner)
    submit(
        cast,
        cast.owner,
        block("icg", create() + "<close/>"),
        block("icpa", create() + "<close/>" + index("parent", "icg")),
        block("icch", create() + index("parent", "icpa")),
        token=first,
    )
    holds = set(first.case_ids) | {"icg", "icpa", "icch"}
    after = sync(cast, cast.owner, first, holds)
    assert after.case_ids == holds and sent(after) == set()
    full = cast.svc.restore(cast.owner)
    assert {"icg", "icpa", "icch"} <= sent(full)


def test_sync_reassign_case_and_sync(cast: Cast) -> None:
    """test_sync_mode.SyncTokenUpdateTest.test_reassign_case_and_sync: a case reassigned on the
    server (not by the device) is in the next sync (for us the removal), and not in the one
    after."""
    first = cast.svc.restore(cast.owner)
    submit(cast, cast.owner, block("rcs", create()), token=first)
    cast.svc.change_owner(cast.agency, cast.admin, "rcs", user(cast, cast.reader))
    second = sync(cast, cast.owner, first, set(first.case_ids) | {"rcs"})
    assert removed(second) == {"rcs"}
    third = sync(cast, cast.owner, second, set(second.case_ids))
    assert sent(third) == set() and removed(third) == set()


def test_sync_cousins(cast: Cast) -> None:
    """test_sync_mode.SyncTokenUpdateTest.test_cousins: a grandparent and two parents owned by
    someone else, and a child of each parent owned by the device's user: a full restore has
    all five."""
    rita, mine = user(cast, cast.reader), user(cast, cast.admin)
    submit(
        cast,
        cast.admin,
        block("Steffon", create(owner=rita)),
        block("Stannis", create(owner=rita) + index("parent", "Steffon")),
        block("Robert", create(owner=rita) + index("parent", "Steffon")),
        block("Shireen", create(owner=mine) + index("parent", "Stannis")),
        block("Joffrey", create(owner=mine) + index("parent", "Robert")),
    )
    full = cast.svc.restore(cast.admin)
    assert sent(full) == {"Steffon", "Stannis", "Robert", "Shireen", "Joffrey"}


def test_sync_deleted_case_and_deleted_parent_dont_sync(cast: Cast) -> None:
    """test_sync_mode.SyncDeletedCasesTest: a deleted case is not synced; when a parent is
    deleted its child still is, without the parent."""
    submit(
        cast,
        cast.owner,
        block("del", create()),
        block("del_p", create()),
        block("del_c", create() + index("parent", "del_p")),
    )
    cast.svc.delete_case(cast.agency, cast.owner, "del")
    cast.svc.delete_case(cast.agency, cast.owner, "del_p")
    full = cast.svc.restore(cast.owner)
    assert "del" not in full.case_ids and "del_p" not in full.case_ids
    assert "del_c" in full.case_ids


def test_extension_sync_token_updates_create_delegated_and_close_host(cast: Cast) -> None:
    """test_sync_mode.ExtensionCasesSyncTokenUpdates (test_create_extension,
    test_create_delegated_extension, test_create_extension_then_delegate, test_close_host):
    the device's host and its extension owned by someone else are both held, also after the
    extension is handed to yet another owner; closing the host lets both go."""
    first = cast.svc.restore(cast.admin)
    mine, rita, otto = user(cast, cast.admin), user(cast, cast.reader), user(cast, cast.outsider)
    submit(
        cast,
        cast.admin,
        block("xhost", create(owner=mine)),
        block("xext", create(owner=rita) + index("idx", "xhost", "extension", "case")),
        block("xext2", create(owner=rita) + index("host_2", "xext", "extension", "case")),
        token=first,
    )
    holds = set(first.case_ids) | {"xhost", "xext", "xext2"}
    second = sync(cast, cast.admin, first, holds)
    assert second.case_ids == holds and sent(second) == set()
    submit(cast, cast.admin, block("xext", update(owner_id=otto)), token=second)
    third = sync(cast, cast.admin, second, holds)
    assert third.case_ids == holds and sent(third) == set()
    submit(cast, cast.admin, block("xhost", "<close/>"), token=third)
    fourth = sync(cast, cast.admin, third, set(first.case_ids))
    assert fourth.case_ids == first.case_ids and sent(fourth) == set()


def test_extension_long_chain_with_children(cast: Cast) -> None:
    """test_sync_mode.ExtensionCasesSyncTokenUpdates.test_long_chain_with_children: an owned
    case O is the child of C; C is an extension of E1; E2 is an extension of C; C, E1 and E2
    belong to someone else. The device holds all four."""
    first = cast.svc.restore(cast.admin)
    rita, mine = user(cast, cast.reader), user(cast, cast.admin)
    submit(
        cast,
        cast.admin,
        block("E1", create(owner=rita)),
        block("C", create(owner=rita) + index("extension_1", "E1", "extension", "case")),
        block("O", create(owner=mine) + index("child", "C", "child", "case")),
        block("E2", create(owner=rita) + index("extension", "C", "extension", "case")),
        token=first,
    )
    holds = set(first.case_ids) | {"E1", "C", "O", "E2"}
    after = sync(cast, cast.admin, first, holds)
    assert after.case_ids == holds and sent(after) == set()
    assert {"E1", "C", "O", "E2"} <= cast.svc.restore(cast.admin).case_ids


def test_sync_changing_ownership_group_membership(cast: Cast) -> None:
    """test_sync_mode.ChangingOwnershipTest (test_remove_user_from_group,
    test_add_user_to_group): leaving the case-sharing group takes its cases (and the group's
    owner id) off the device; joining brings them."""
    from caseshare.core.principals import Principal

    submit(cast, cast.owner, block("chameleon", create(owner=group(cast))))
    first = cast.svc.restore(cast.owner)
    assert "chameleon" in first.case_ids and (group(cast), "Case team") in first.groups
    cast.svc.remove_member(cast.agency, None, cast.group, Principal("user", cast.owner))
    second = sync(cast, cast.owner, first, set(first.case_ids))
    assert "chameleon" in removed(second) and "chameleon" not in second.case_ids
    assert group(cast) not in {g for g, _ in second.groups}
    cast.svc.add_member(cast.agency, None, cast.group, Principal("user", cast.owner))
    third = sync(cast, cast.owner, second, set(second.case_ids))
    assert "chameleon" in sent(third) and group(cast) in {g for g, _ in third.groups}


def test_sync_two_devices_of_one_user_with_an_extension(cast: Cast) -> None:
    """test_sync_mode.SteadyStateExtensionSyncTest.test_two_device_extension_sync_bug /
    test_multiple_syncs: device A makes a host and its extension (owned by someone else); A's
    sync sends nothing, device B's sends both, then steady syncs send nothing."""
    mine, rita = user(cast, cast.admin), user(cast, cast.reader)
    device_a, device_b = cast.svc.restore(cast.admin), cast.svc.restore(cast.admin)
    submit(
        cast,
        cast.admin,
        block("2host", create(owner=mine)),
        block("2ext", create(owner=rita) + index("idx", "2host", "extension", "case_type")),
        token=device_a,
    )
    both = {"2host", "2ext"}
    sync_a = sync(cast, cast.admin, device_a, set(device_a.case_ids) | both)
    assert sent(sync_a) == set() and both <= sync_a.case_ids
    sync_b = sync(cast, cast.admin, device_b, set(device_b.case_ids))
    assert sent(sync_b) == both
    for _ in range(2):
        sync_b = sync(cast, cast.admin, sync_b, set(sync_b.case_ids))
        assert sent(sync_b) == set() and both <= sync_b.case_ids


def test_sync_delegating_extensions(cast: Cast) -> None:
    """test_sync_mode.SteadyStateExtensionSyncTest.test_delegating_extensions: an extension of
    the device's host is handed to another user (who then gets the host too), and back; each
    device gets the extension when it changes, and the host only when it needs it."""
    mine, rita, otto = user(cast, cast.admin), user(cast, cast.reader), user(cast, cast.outsider)
    device = cast.svc.restore(cast.admin)
    submit(
        cast,
        cast.admin,
        block("dhost", create(owner=mine)),
        block("dext", create(owner=otto) + index("idx", "dhost", "extension", "case_type")),
        token=device,
    )
    guy = cast.svc.restore(cast.admin)
    assert {"dhost", "dext"} <= sent(guy)
    ferrel = cast.svc.restore(cast.reader)
    assert "dhost" not in ferrel.case_ids
    submit(cast, cast.admin, block("dext", update(owner_id=rita)), token=device)
    ferrel = sync(cast, cast.reader, ferrel, set(ferrel.case_ids))
    assert {"dhost", "dext"} <= sent(ferrel)
    guy = sync(cast, cast.admin, guy, set(guy.case_ids))
    assert sent(guy) == {"dext"}
    guy = sync(cast, cast.admin, guy, set(guy.case_ids))
    assert sent(guy) == set()
    submit(cast, cast.admin, block("dext", update(owner_id=otto)), token=device)
    ferrel = sync(cast, cast.reader, ferrel, set(ferrel.case_ids))
    assert {"dhost", "dext"} <= removed(ferrel)  # HQ sends the extension; it leaves Rita
    guy = sync(cast, cast.admin, guy, set(guy.case_ids))
    assert sent(guy) == {"dext"}
    ferrel = sync(cast, cast.reader, ferrel, set(ferrel.case_ids))
    assert "dext" not in sent(ferrel) | removed(ferrel)


def test_sync_incremental_with_close_and_create(cast: Cast) -> None:
    """test_sync_mode.MultiUserSyncTest.test_incremental_sync_with_close_and_create: person ←
    occurrence ← episode extension chains of the shared group; Bob closes episode 1 and makes
    episode 3 on occurrence 1; Alice makes an adherence extension of episode 2. Alice's next
    sync brings episode 3 and drops episode 1 (HQ sends it closed); the one after is empty."""
    g = group(cast)
    for n in (1, 2):
        submit(
            cast,
            cast.owner,
            block(f"person-{n}", create("person", owner=g)),
            block(
                f"occurrence-{n}",
                create("occurrence", owner=g)
                + index("person-index", f"person-{n}", "extension", "person"),
            ),
            block(
                f"episode-{n}",
                create("episode", owner=g)
                + index("occurrence-index", f"occurrence-{n}", "extension", "occurrence"),
            ),
        )
    alice, bob = cast.svc.restore(cast.owner), cast.svc.restore(cast.colleague)
    graph = {f"{k}-{n}" for k in ("person", "occurrence", "episode") for n in (1, 2)}
    assert graph <= alice.case_ids and graph <= bob.case_ids
    submit(
        cast,
        cast.colleague,
        block("episode-1", "<close/>"),
        block(
            "episode-3",
            create("episode", owner=g)
            + index("occurrence-index", "occurrence-1", "extension", "occurrence"),
        ),
        token=bob,
    )
    submit(
        cast,
        cast.owner,
        block(
            "adherence-1",
            create("adherence") + index("episode-index", "episode-2", "extension", "episode"),
        ),
        token=alice,
    )
    mine = set(alice.case_ids) | {"adherence-1"}
    sync2 = sync(cast, cast.owner, alice, mine)
    expected = (mine - {"episode-1"}) | {"episode-3"}
    assert sync2.case_ids == expected
    assert sent(sync2) == {"episode-3"} and removed(sync2) == {"episode-1"}
    sync3 = sync(cast, cast.owner, sync2, expected)
    assert sync3.case_ids == expected and sent(sync3) == set() and removed(sync3) == set()


def test_index_sync_between_open_owned_cases(cast: Cast) -> None:
    """test_sync_mode.IndexSyncTest.test_sync_index_between_open_owned_cases: a leaf indexing
    its own branch and someone else's sky: a full restore has all three, and the leaf carries
    both indices."""
    mine, rita = user(cast, cast.admin), user(cast, cast.reader)
    submit(
        cast,
        cast.admin,
        block("branch", create(owner=mine)),
        block("sky", create(owner=rita)),
        block(
            "leaf",
            create(owner=mine) + '<index><stem_index case_type="mother">branch</stem_index>'
            '<wave_index case_type="mother">sky</wave_index></index>',
        ),
    )
    full = cast.svc.restore(cast.admin)
    assert sent(full) == {"leaf", "branch", "sky"}
    assert {i[0] for i in indices(full, "leaf")} == {"stem_index", "wave_index"}


# -- archive and rebuild (case/tests/test_rebuild.py) -----------------------------------------


def test_rebuild_form_archiving(cast: Cast) -> None:
    """test_rebuild.CaseRebuildTest.testFormArchiving: three forms (create p1 p2; update p2 p3
    p4; update p4 p5 and close). Archiving each in turn replays the others: without the first
    p1 goes (the case stays, closed); without the second p2 is back to its first value and p3
    goes; without the closing one the case reopens (closed_by and closed_on cleared) and p4 is
    back. Unarchiving gives the first state again each time."""
    submit(
        cast,
        cast.owner,
        block("fa", create() + update(p1="p1-1", p2="p2-1"), "2024-01-01T00:00:00Z"),
        instance="fa-1",
    )
    submit(
        cast,
        cast.owner,
        block("fa", update(p2="p2-2", p3="p3-2", p4="p4-2"), "2024-01-02T00:00:00Z"),
        instance="fa-2",
    )
    submit(
        cast,
        cast.colleague,
        block("fa", update(p4="p4-3", p5="p5-3") + "<close/>", "2024-01-03T00:00:00Z"),
        instance="fa-3",
    )
    initial = stored(cast, "fa")
    assert initial["closed"] and initial["closed_by"] == cast.colleague
    assert initial["properties"] == {
        "p1": "p1-1",
        "p2": "p2-2",
        "p3": "p3-2",
        "p4": "p4-3",
        "p5": "p5-3",
    }
    expected = {
        "fa-1": {"p2": "p2-2", "p3": "p3-2", "p4": "p4-3", "p5": "p5-3"},
        "fa-2": {"p1": "p1-1", "p2": "p2-1", "p4": "p4-3", "p5": "p5-3"},
        "fa-3": {"p1": "p1-1", "p2": "p2-2", "p3": "p3-2", "p4": "p4-2"},
    }
    for instance, props in expected.items():
        cast.svc.archive_submission(cast.agency, cast.admin, instance)
        case = stored(cast, "fa")
        assert case["properties"] == props, instance
        if instance == "fa-3":
            assert not case["closed"] and case["closed_by"] is None and case["closed_on"] is None
            assert str(case["modified_on"]).startswith("2024-01-02")
        else:
            assert case["closed"] and case["closed_on"] == initial["closed_on"], instance
        cast.svc.unarchive_submission(cast.agency, cast.admin, instance)
        assert stored(cast, "fa") == initial, instance


def test_rebuild_archiving_only_form(cast: Cast) -> None:
    """test_rebuild.CaseRebuildTest.testArchivingOnlyForm: archiving the only form of a case
    deletes the case (S-TX-8); unarchiving brings it back as it was."""
    submit(
        cast, cast.owner, block("only", create() + update(p1="p1-1", p2="p2-1")), instance="only"
    )
    before = stored(cast, "only")
    cast.svc.archive_submission(cast.agency, cast.admin, "only")
    assert "only" not in cast.svc.live_case_ids(cast.owner)
    cast.svc.unarchive_submission(cast.agency, cast.admin, "only")
    assert stored(cast, "only") == before
    assert "only" in cast.svc.live_case_ids(cast.owner)


def test_rebuild_archive_modified_on(cast: Cast) -> None:
    """test_rebuild.CaseRebuildTest.testArchiveModifiedOn: archiving the later form sets
    modified_on back to the earlier form's device time."""
    submit(cast, cast.owner, block("amo", create(), "2024-01-01T00:00:00Z"))
    submit(
        cast, cast.owner, block("amo", update(foo="bar"), "2024-01-02T11:00:00Z"), instance="amo-2"
    )
    assert str(stored(cast, "amo")["modified_on"]).startswith("2024-01-02T11:00:00")
    cast.svc.archive_submission(cast.agency, cast.admin, "amo-2")
    assert str(stored(cast, "amo")["modified_on"]).startswith("2024-01-01T00:00:00")


def test_rebuild_archive_against_deleted_cases(cast: Cast) -> None:
    """test_rebuild.CaseRebuildTest.testArchiveAgainstDeletedCases: archiving a form of a
    deleted case leaves it deleted."""
    for n in (1, 2, 3):
        body = (create() if n == 1 else "") + update(**{f"p{n}": f"p{n}"})
        submit(cast, cast.owner, block("aadc", body), instance=f"aadc-{n}")
    cast.svc.delete_case(cast.agency, cast.owner, "aadc")
    cast.svc.archive_submission(cast.agency, cast.admin, "aadc-2")
    assert "aadc" not in cast.svc.live_case_ids(cast.owner)
    assert "aadc" not in cast.svc.restore(cast.owner).case_ids


def test_v2_parsing_with_indices_and_the_restore_block(cast: Cast) -> None:
    """test_v2_parsing.Version2CaseParsingTest.testParseWithIndices: one block sets two
    indices; the restore's case block carries create (type, name, owner), then the indices in
    identifier order, with the device time as ``date_modified`` in HQ's format."""
    submit(
        cast,
        cast.owner,
        block("some_referenced_id", create()),
        block("some_other_referenced_id", create()),
    )
    refs = (
        '<index><foo_ref case_type="bar">some_referenced_id</foo_ref>'
        '<baz_ref case_type="bop">some_other_referenced_id</baz_ref></index>'
    )
    submit(
        cast,
        cast.owner,
        block(
            "foo-case-id", create("v2_case_type", "test case name") + refs, "2011-12-07T13:42:50Z"
        ),
    )
    full = cast.svc.restore(cast.owner)
    assert indices(full, "foo-case-id") == {
        ("foo_ref", "some_referenced_id", "bar", "child"),
        ("baz_ref", "some_other_referenced_id", "bop", "child"),
    }
    xml = to_xml(full)
    start = xml.index('case_id="foo-case-id"')
    mine = xml[start : xml.index("</case>", start)]
    assert 'date_modified="2011-12-07T13:42:50.000000Z"' in mine
    assert mine.index("<create>") < mine.index("<index>")
    assert mine.index("<baz_ref") < mine.index("<foo_ref")


def test_ota_restore_attributes_of_properties_are_not_kept(cast: Cast) -> None:
    """test_ota_restore.OtaRestoreTest.testRestoreAttributes: HQ keeps XML attributes of a
    property element (``<adate someattr="…">``) and restores them; a property here is a string
    (SPEC §1), so the text is kept and the attributes are dropped. Documented."""
    body = (
        '<update><adate someattr="i am an attribute">2012-02-01</adate>'
        '<stringattr somestring="i am a string">neither should this</stringattr></update>'
    )
    submit(cast, cast.owner, block("attrs", create() + body))
    assert stored(cast, "attrs")["properties"] == {
        "adate": "2012-02-01",
        "stringattr": "neither should this",
    }
    assert "<adate>2012-02-01</adate>" in to_xml(cast.svc.restore(cast.owner))


# -- the device's log after its own forms (phone/tests/test_index_tree.py, PurgingTest) --------


def test_purge_circular_loops(cast: Cast) -> None:
    """test_index_tree.PurgingTest.test_purge_circular_loops: two cases index each other; the
    device closing one keeps both (the other, open, needs it); closing the second lets both
    go."""
    first = cast.svc.restore(cast.owner)
    submit(
        cast,
        cast.owner,
        block("jaime", create() + index("peer", "cersei")),
        block("cersei", create() + index("peer", "jaime")),
        token=first,
    )
    both = set(first.case_ids) | {"jaime", "cersei"}
    submit(cast, cast.owner, block("jaime", "<close/>"), token=first)
    second = sync(cast, cast.owner, first, both)
    assert second.case_ids == both and sent(second) == set()
    submit(cast, cast.owner, block("cersei", "<close/>"), token=second)
    third = sync(cast, cast.owner, second, set(first.case_ids))
    assert third.case_ids == first.case_ids and sent(third) == set()


def test_purge_multiple_parents(cast: Cast) -> None:
    """test_index_tree.PurgingTest.test_purge_multiple_parents: a child of a mother and a
    father, both children of one grandparent; the device closes the three elders and holds all
    four for the child; closing the child lets all four go."""
    first = cast.svc.restore(cast.owner)
    submit(
        cast,
        cast.owner,
        block("heart-tree", create()),
        block("catelyn", create() + index("parent", "heart-tree")),
        block("ned", create() + index("parent", "heart-tree")),
        block(
            "arya",
            create() + '<index><mother case_type="patient">catelyn</mother>'
            '<father case_type="patient">ned</father></index>',
        ),
        token=first,
    )
    family = {"heart-tree", "catelyn", "ned", "arya"}
    log = first
    for elder in ("heart-tree", "catelyn", "ned"):
        submit(cast, cast.owner, block(elder, "<close/>"), token=log)
        log = sync(cast, cast.owner, log, set(first.case_ids) | family)
        assert family <= log.case_ids, elder
    submit(cast, cast.owner, block("arya", "<close/>"), token=log)
    last = sync(cast, cast.owner, log, set(first.case_ids))
    assert last.case_ids == first.case_ids and sent(last) == set()


def test_purge_extension_purges_its_host(cast: Cast) -> None:
    """test_index_tree.ExtensionCasesPurgingTest.test_purge_extension: a host held only for
    its extension (the device's own) leaves with it when the device closes the extension."""
    first = cast.svc.restore(cast.admin)
    submit(
        cast,
        cast.admin,
        block("phost", create(owner=user(cast, cast.reader))),
        block("pext", create(owner=user(cast, cast.admin)) + index("host", "phost", "extension")),
        token=first,
    )
    assert {"phost", "pext"} <= sync(
        cast, cast.admin, first, set(first.case_ids) | {"phost", "pext"}
    ).case_ids
    submit(cast, cast.admin, block("pext", "<close/>"), token=first)
    after = sync(cast, cast.admin, first, set(first.case_ids))
    assert after.case_ids == first.case_ids and sent(after) == set()


def test_domains_a_form_of_another_agency_never_touches_this_agencys_case(cast: Cast) -> None:
    """test_domains.DomainTest.test_cant_own_case: Eve's form in another domain names Alice's
    case id. HQ's case ids are global, so Eve's form is an ``IllegalCaseId`` error; ours are per
    agency (SPEC §1) and another agency's cases are never seen, not even their existence
    (S-ACC-3), so Eve's form works on her own agency's case of that id (creating it). Either
    way Alice's case is untouched, and Alice's own later update applies. Documented."""
    submit(
        cast,
        cast.owner,
        block("domain-test", create("member", "Dinkle") + update(join_date="2010-08-28")),
    )
    eve = form(block("domain-test", update(plan_to_buy_gun="no")))
    result = cast.svc.submit(cast.other_agency, cast.foreigner, eve)
    assert result.status == "normal"
    alice = stored(cast, "domain-test")
    assert "plan_to_buy_gun" not in dict(alice["properties"])  # type: ignore[call-overload]
    theirs = cast.svc.stored_snapshot(cast.other_agency, "domain-test")
    assert theirs is not None and theirs[0]["properties"] == {"plan_to_buy_gun": "no"}
    submit(cast, cast.owner, block("domain-test", update(plan_to_buy_gun="no")))
    assert stored(cast, "domain-test")["properties"] == {
        "join_date": "2010-08-28",
        "plan_to_buy_gun": "no",
    }


def test_bugs_duplicate_case_properties(cast: Cast) -> None:
    """test_bugs.CaseBugTest.test_duplicate_case_properties (duplicate_case_properties.xml and
    _2.xml): the same property twice in one update, the last wins — two empty ``<foo/>`` leave
    ``foo`` empty, ``<bar>1</bar><bar>2</bar>`` leaves ``2``; a device time with a +05:30
    offset is read as that instant."""
    submit(cast, cast.owner, block("dup", create(), "2012-04-01T00:00:00Z"))
    when = "2012-04-25T14:05:45.250+05:30"
    submit(cast, cast.owner, block("dup", "<update><foo /><foo /><x>1</x></update>", when))
    assert stored(cast, "dup")["properties"] == {"foo": "", "x": "1"}
    submit(cast, cast.owner, block("dup", "<update><bar>1</bar><bar>2</bar></update>", when))
    case = stored(cast, "dup")
    assert dict(case["properties"])["bar"] == "2"  # type: ignore[call-overload]
    assert str(case["modified_on"]).startswith("2012-04-25T08:35:45.250")


def test_strict_datetimes_a_malformed_offset_is_refused(cast: Cast) -> None:
    """test_strict_datetimes.StrictDatetimesTest: ``2015-08-06T14:33:12.077 05:30`` (a space
    where the offset's sign should be) is refused (HQ: ``PhoneDateValueError``; here
    ``invalid_case_block``, the form stored as an error); ``-04`` alone is an offset in hours
    (test_domains' forms) and is read as that instant."""
    bad = block("strict", create(), "2015-08-06T14:33:12.077 05:30")
    assert code_of(submit, cast, cast.owner, bad) == "invalid_case_block"
    assert cast.svc.stored_snapshot(cast.agency, "strict") is None
    submit(cast, cast.owner, block("strict", create(), "2013-04-19T16:52:04.304-04"))
    assert stored(cast, "strict")["modified_on"] == "2013-04-19T20:52:04.304000Z"


# -- form_processor/tests/test_basic_cases.py (FundamentalCaseTests) ---------------------------


def test_fundamental_create_update_close(cast: Cast) -> None:
    """test_basic_cases.FundamentalCaseTests (test_create_case, test_create_case_unicode_name,
    test_update_case, test_close_case, test_empty_update): a create sets type, name, owner,
    opened on/by (the device time, or ``date_opened``) and modified on/by; another user's
    update changes owner, name and a property and leaves the opening alone; a close sets
    closed on/by to that block's time and user; an empty update changes no property."""
    mine = user(cast, cast.owner)
    submit(
        cast,
        cast.owner,
        block(
            "fund",
            create("demo", "प्रसव", owner=group(cast))
            + update(date_opened="2024-01-01", dynamic="123"),
            "2024-01-02T08:00:00Z",
        ),
    )
    case = stored(cast, "fund")
    assert (case["case_type"], case["name"], case["owner"]) == ("demo", "प्रसव", group(cast))
    assert str(case["opened_on"]).startswith("2024-01-01") and case["opened_by"] == cast.owner
    assert case["modified_on"] == "2024-01-02T08:00:00.000000Z"
    assert case["modified_by"] == cast.owner and not case["closed"]
    assert case["closed_on"] is None and case["closed_by"] is None
    assert case["properties"] == {"dynamic": "123"}
    submit(
        cast,
        cast.colleague,
        block(
            "fund",
            update(owner_id=mine, case_name="update_case", dynamic="1234"),
            "2024-01-03T08:00:00Z",
        ),
    )
    case = stored(cast, "fund")
    assert (case["owner"], case["name"]) == (mine, "update_case")
    assert str(case["opened_on"]).startswith("2024-01-01") and case["opened_by"] == cast.owner
    assert case["modified_by"] == cast.colleague and case["properties"] == {"dynamic": "1234"}
    submit(cast, cast.owner, block("fund", "<update/>", "2024-01-04T08:00:00Z"))
    assert stored(cast, "fund")["properties"] == {"dynamic": "1234"}
    submit(cast, cast.owner, block("fund", "<close/>", "2024-01-05T08:00:00Z"))
    case = stored(cast, "fund")
    assert case["closed"] and case["closed_by"] == cast.owner
    assert case["closed_on"] == case["modified_on"] == "2024-01-05T08:00:00.000000Z"
    assert case["owner"] == mine


# -- form edits (form_processor/tests/test_edits.py) -------------------------------------------


def test_edits_case_management(cast: Cast) -> None:
    """test_edits.EditFormTest.test_case_management: the same instanceID with other content
    replaces the form (S-TX-5): the case takes the edited type and value, and its history holds
    the one (new) version of that form."""

    def body(case_type: str, value: str) -> str:
        return block("edited", create(case_type) + update(property=value))

    submit(cast, cast.owner, body("person", "original value"), instance="edit-me")
    assert stored(cast, "edited")["properties"] == {"property": "original value"}
    result = submit(cast, cast.owner, body("newtype", "edited value"), instance="edit-me")
    assert result.edited
    case = stored(cast, "edited")
    assert case["case_type"] == "newtype" and case["properties"] == {"property": "edited value"}
    # the old version's transaction is revoked; the rebuild the edit caused is recorded too
    txs = cast.store.transactions(cast.agency, "edited")
    forms = [t.submission_id for t in txs if not t.revoked and t.submission_id is not None]
    assert forms == [result.submission_id]


def test_edits_case_management_ordering(cast: Cast) -> None:
    """test_edits.EditFormTest.test_case_management_ordering: editing the middle of three forms
    keeps it in its place in received order: the last form's value still wins, and the edit's
    new property is added."""
    submit(cast, cast.owner, block("ord", create("person")))
    submit(cast, cast.owner, block("ord", update(property="first value")), instance="middle")
    submit(cast, cast.owner, block("ord", update(property="final value")))
    assert stored(cast, "ord")["properties"] == {"property": "final value"}
    edit = block("ord", update(property="edited value", added_property="added value"))
    assert submit(cast, cast.owner, edit, instance="middle").edited
    assert stored(cast, "ord")["properties"] == {
        "property": "final value",
        "added_property": "added value",
    }
    assert cast.svc.history_snapshot(cast.agency, "ord") == cast.svc.stored_snapshot(
        cast.agency, "ord"
    )
