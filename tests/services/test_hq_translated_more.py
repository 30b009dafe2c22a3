"""More of CommCare HQ's own case and sync tests, translated to our services (SPEC §8, §9).

The same way as ``test_hq_translated``: each test names the HQ test it comes from
(``corehq/ex-submodules/casexml/apps/phone/tests`` and ``.../case/tests`` of dimagi/commcare-hq),
the behaviour is HQ's, the check is ours, on both stores. HQ's ``main_user`` is Ada (``admin``,
whose only owner id is herself, so she may give a case to anyone, S-CRT-1) or Olga (``owner``);
"someone else" is Rita (``reader``) or Otto (``outsider``).

HQ's ``test_index_tree`` unit-tests ``SimplifiedSyncLog.purge``: the log drops a case the device
no longer needs (closed, or handed away) unless a case it still holds depends on it. Here the
device's log is checked the way a device sees it: after its own forms (sent with its sync token)
an incremental restore with the state hash of exactly what HQ's log keeps must be accepted and
send nothing (a mismatch would be ``stale_sync_token``). "Purging" a case is the device closing
it, or handing it to someone else when HQ's case stays open.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from caseshare.core.restore import Restore, to_json, to_xml
from tests.services.cast import Cast, code_of
from tests.services.forms import block, create, form, index, update
from tests.services.test_hq_translated import removed, sent, stored, submit, sync, user

GRAPHS = Path(__file__).resolve().parents[2].parent / "shared/conformance/commcare"
CASES: list[dict[str, Any]] = json.loads(
    (GRAPHS / "case_relationship_tests.json").read_text(encoding="utf-8")
)


def holds_exactly(cast: Cast, uid: int, prior: Restore, holds: set[str]) -> Restore:
    """The device's log after its own forms holds exactly ``holds``: a restore with that state
    hash is accepted, sends nothing and removes nothing."""
    after = sync(cast, uid, prior, holds)
    assert after.case_ids == holds, sorted(after.case_ids ^ holds)
    assert sent(after) == set() and removed(after) == set()
    return after


def indexes(*refs: tuple[str, str, str]) -> str:
    """One ``<index>`` with several indices: (identifier, referenced case, relationship)."""
    return (
        "<index>"
        + "".join(
            f'<{ident} case_type="patient" relationship="{rel}">{ref}</{ident}>'
            for ident, ref, rel in refs
        )
        + "</index>"
    )


# -- phone/tests/test_extension_indexes.py (IndexTreeTest): the device posts the graph itself ---


def _names(graph: dict[str, Any]) -> set[str]:
    names = set(graph.get("cases", ())) | set(graph.get("owned", ())) | set(graph.get("closed", ()))
    for pair in [*graph.get("subcases", ()), *graph.get("extensions", ())]:
        names.update(pair)
    return names | set(graph.get("outcome", ()))


@pytest.mark.parametrize("graph", CASES, ids=[g["name"] for g in CASES])
def test_extension_indexes_index_tree_the_devices_log_after_posting_the_graph(
    cast: Cast, graph: dict[str, Any]
) -> None:
    """test_extension_indexes.IndexTreeTest (every graph of case_relationship_tests.json): the
    device posts the whole graph in one form with its sync token (owned cases for its user, the
    others for someone else, closed ones closed); its sync log then holds exactly the outcome,
    and a clean restore sends exactly the outcome. (HQ skips ``parent_of_host_of_owned_
    extension_with_other_host`` for a fault of its sync log; ours passes it.)"""
    mine, rita = user(cast, cast.admin), user(cast, cast.reader)
    owned, closed = set(graph.get("owned", ())), set(graph.get("closed", ()))
    refs: dict[str, list[tuple[str, str, str]]] = {}
    for i, (child, parent) in enumerate(graph.get("subcases", ())):
        refs.setdefault(child, []).append((f"child_{i}", parent, "child"))
    for i, (extension, host) in enumerate(graph.get("extensions", ())):
        refs.setdefault(extension, []).append((f"extension_{i}", host, "extension"))
    blocks = []
    for name in sorted(_names(graph)):
        body = create(owner=mine if name in owned else rita)
        body += "<close/>" if name in closed else ""
        body += indexes(*refs[name]) if name in refs else ""
        blocks.append(block(name, body))
    first = cast.svc.restore(cast.admin)
    assert first.case_ids == frozenset()
    submit(cast, cast.admin, *blocks, token=first)
    outcome = set(graph["outcome"])
    holds_exactly(cast, cast.admin, first, outcome)
    assert sent(cast.svc.restore(cast.admin)) == outcome


@pytest.mark.parametrize("made_by", ["device", "server"])
@pytest.mark.parametrize("graph", CASES, ids=[g["name"] for g in CASES])
def test_extension_indexes_index_tree_the_device_closes_cases_afterwards(
    cast: Cast, graph: dict[str, Any], made_by: str
) -> None:
    """test_extension_indexes.IndexTreeTest, the closing done by a later form of the device:
    the graph is made open — by the device's own form, or by someone else and then restored in
    full — and the device's next form closes the graph's closed cases. Its sync log then holds
    exactly the outcome (HQ's ``update_phone_lists`` and ``purge``), and the next sync sends
    nothing."""
    mine, rita = user(cast, cast.admin), user(cast, cast.reader)
    owned = set(graph.get("owned", ()))
    refs: dict[str, list[tuple[str, str, str]]] = {}
    for i, (child, parent) in enumerate(graph.get("subcases", ())):
        refs.setdefault(child, []).append((f"child_{i}", parent, "child"))
    for i, (extension, host) in enumerate(graph.get("extensions", ())):
        refs.setdefault(extension, []).append((f"extension_{i}", host, "extension"))
    blocks = [
        block(
            name,
            create(owner=mine if name in owned else rita)
            + (indexes(*refs[name]) if name in refs else ""),
        )
        for name in sorted(_names(graph))
    ]
    first = cast.svc.restore(cast.admin)
    if made_by == "device":
        submit(cast, cast.admin, *blocks, token=first)
        log = first
    else:
        cast.svc.submit(cast.agency, cast.admin, form(*blocks))
        log = cast.svc.restore(cast.admin)
    closing = [block(name, "<close/>") for name in sorted(graph.get("closed", ()))]
    if closing:
        submit(cast, cast.admin, *closing, token=log)
    outcome = set(graph["outcome"])
    holds_exactly(cast, cast.admin, log, outcome)


# -- phone/tests/test_index_tree.py (PurgingTest) ----------------------------------------------


def test_index_tree_purge_parent_then_child(cast: Cast) -> None:
    """test_index_tree.PurgingTest.test_purge_parent_then_child: closing the parent keeps it
    (its open child needs it); closing the child then lets both go."""
    first = cast.svc.restore(cast.owner)
    base = set(first.case_ids)
    submit(
        cast,
        cast.owner,
        block("ppc_parent", create()),
        block("ppc_child", create() + index("parent", "ppc_parent")),
        token=first,
    )
    submit(cast, cast.owner, block("ppc_parent", "<close/>"), token=first)
    second = holds_exactly(cast, cast.owner, first, base | {"ppc_parent", "ppc_child"})
    submit(cast, cast.owner, block("ppc_child", "<close/>"), token=second)
    holds_exactly(cast, cast.owner, second, base)


def test_index_tree_purge_child_then_parent(cast: Cast) -> None:
    """test_index_tree.PurgingTest.test_purge_child_then_parent: closing the child lets only
    the child go (the open parent is still the device's); closing the parent lets it go."""
    first = cast.svc.restore(cast.owner)
    base = set(first.case_ids)
    submit(
        cast,
        cast.owner,
        block("pcp_parent", create()),
        block("pcp_child", create() + index("parent", "pcp_parent")),
        token=first,
    )
    submit(cast, cast.owner, block("pcp_child", "<close/>"), token=first)
    second = holds_exactly(cast, cast.owner, first, base | {"pcp_parent"})
    submit(cast, cast.owner, block("pcp_parent", "<close/>"), token=second)
    holds_exactly(cast, cast.owner, second, base)


def test_index_tree_purge_tiered_bottom_up(cast: Cast) -> None:
    """test_index_tree.PurgingTest.test_purge_tiered_bottom_up: closing child, parent and
    grandparent in turn lets each go at once."""
    first = cast.svc.restore(cast.owner)
    base = set(first.case_ids)
    submit(
        cast,
        cast.owner,
        block("bu_gp", create()),
        block("bu_p", create() + index("parent", "bu_gp")),
        block("bu_c", create() + index("parent", "bu_p")),
        token=first,
    )
    left = {"bu_gp", "bu_p", "bu_c"}
    log = first
    for case_id in ("bu_c", "bu_p", "bu_gp"):
        submit(cast, cast.owner, block(case_id, "<close/>"), token=log)
        left.discard(case_id)
        log = holds_exactly(cast, cast.owner, log, base | left)


def test_index_tree_purge_multiple_children(cast: Cast) -> None:
    """test_index_tree.PurgingTest.test_purge_multiple_children: rickard ← ned ← {bran, arya}.
    Closing rickard and ned keeps all four; closing bran lets only bran go; closing arya lets
    the rest go."""
    first = cast.svc.restore(cast.owner)
    base = set(first.case_ids)
    submit(
        cast,
        cast.owner,
        block("rickard", create()),
        block("ned", create() + index("parent", "rickard")),
        block("bran", create() + index("parent", "ned")),
        block("arya", create() + index("parent", "ned")),
        token=first,
    )
    submit(cast, cast.owner, block("rickard", "<close/>"), block("ned", "<close/>"), token=first)
    log = holds_exactly(cast, cast.owner, first, base | {"rickard", "ned", "bran", "arya"})
    submit(cast, cast.owner, block("bran", "<close/>"), token=log)
    log = holds_exactly(cast, cast.owner, log, base | {"rickard", "ned", "arya"})
    submit(cast, cast.owner, block("arya", "<close/>"), token=log)
    holds_exactly(cast, cast.owner, log, base)


def test_index_tree_purge_partial_children(cast: Cast) -> None:
    """test_index_tree.PurgingTest.test_purge_partial_children: a parent with two children, one
    of them closed (held only as it is the device's): closing the parent keeps it for the open
    child; the closed child is not held."""
    first = cast.svc.restore(cast.owner)
    base = set(first.case_ids)
    submit(
        cast,
        cast.owner,
        block("pp_parent", create()),
        block("pp_child1", create() + index("parent", "pp_parent")),
        block("pp_child2", create() + "<close/>" + index("parent", "pp_parent")),
        token=first,
    )
    submit(cast, cast.owner, block("pp_parent", "<close/>"), token=first)
    holds_exactly(cast, cast.owner, first, base | {"pp_parent", "pp_child1"})


def test_index_tree_purge_very_circular_loops(cast: Cast) -> None:
    """test_index_tree.PurgingTest.test_purge_very_circular_loops: drogon → rhaegal → viserion
    → drogon. Closing the first two keeps all three; closing the third lets all go."""
    first = cast.svc.restore(cast.owner)
    base = set(first.case_ids)
    dragons = ("drogon", "rhaegal", "viserion")
    submit(
        cast,
        cast.owner,
        *(block(d, create() + index("peer", dragons[(i + 1) % 3])) for i, d in enumerate(dragons)),
        token=first,
    )
    submit(cast, cast.owner, block("drogon", "<close/>"), block("rhaegal", "<close/>"), token=first)
    log = holds_exactly(cast, cast.owner, first, base | set(dragons))
    submit(cast, cast.owner, block("viserion", "<close/>"), token=log)
    holds_exactly(cast, cast.owner, log, base)


def test_index_tree_purge_self_indexing_is_refused(cast: Cast) -> None:
    """test_index_tree.PurgingTest.test_purge_self_indexing: HQ's log copes with a case that
    indexes itself; SPEC S-TX-5 refuses such a form (``invalid_index``), so the device's log
    never holds one, and the device's log is unchanged."""
    first = cast.svc.restore(cast.owner)
    code = code_of(
        submit, cast, cast.owner, block("recursive", create() + index("me", "recursive"))
    )
    assert code == "invalid_index"
    assert cast.svc.stored_snapshot(cast.agency, "recursive") is None
    holds_exactly(cast, cast.owner, first, set(first.case_ids))


# -- phone/tests/test_index_tree.py (ExtensionCasesPurgingTest) --------------------------------


def test_index_tree_purge_host_with_extensions_of_extensions(cast: Cast) -> None:
    """test_index_tree.ExtensionCasesPurgingTest.test_purge_host, test_purge_host_extension_
    has_extension and test_purge_host_has_multiple_extensions: the device's host with two
    extensions (one with an extension of its own), all three someone else's: the device holds
    all four; closing the host lets every one go (with or without the close cascade)."""
    mine, rita = user(cast, cast.admin), user(cast, cast.reader)
    for cascade in (False, True):
        cast.svc.update_settings(cast.agency, None, {"extension_close_cascade": cascade})
        host, e1, e11, e2 = (f"{n}-{cascade}" for n in ("host", "ext", "ext_ext", "ext_2"))
        first = cast.svc.restore(cast.admin)
        base = set(first.case_ids)
        submit(
            cast,
            cast.admin,
            block(host, create(owner=mine)),
            block(e1, create(owner=rita) + index("host", host, "extension")),
            block(e11, create(owner=rita) + index("host", e1, "extension")),
            block(e2, create(owner=rita) + index("host", host, "extension")),
            token=first,
        )
        log = holds_exactly(cast, cast.admin, first, base | {host, e1, e11, e2})
        submit(cast, cast.admin, block(host, "<close/>"), token=log)
        holds_exactly(cast, cast.admin, log, base)
        assert stored(cast, e11)["closed"] is cascade


def test_index_tree_purge_extension_host_has_multiple_extensions(cast: Cast) -> None:
    """test_index_tree.ExtensionCasesPurgingTest.test_purge_extension_host_has_multiple_
    extensions: the device owns one extension of someone else's host, which has another
    extension of someone else: all three are held (host for its extension, the other extension
    of a live host); closing the device's extension lets all three go."""
    mine, rita = user(cast, cast.admin), user(cast, cast.reader)
    first = cast.svc.restore(cast.admin)
    base = set(first.case_ids)
    submit(
        cast,
        cast.admin,
        block("pmh_host", create(owner=rita)),
        block("pmh_ext", create(owner=mine) + index("host", "pmh_host", "extension")),
        block("pmh_ext2", create(owner=rita) + index("host", "pmh_host", "extension")),
        token=first,
    )
    log = holds_exactly(cast, cast.admin, first, base | {"pmh_host", "pmh_ext", "pmh_ext2"})
    submit(cast, cast.admin, block("pmh_ext", "<close/>"), token=log)
    holds_exactly(cast, cast.admin, log, base)


def test_index_tree_purge_extension_non_dependent_host(cast: Cast) -> None:
    """test_index_tree.ExtensionCasesPurgingTest.test_purge_extension_non_dependent_host: the
    host is the device's own; the device hands the (open) extension to someone else. The
    extension stays, as an open extension of a live host, and so does the host."""
    mine, rita = user(cast, cast.admin), user(cast, cast.reader)
    first = cast.svc.restore(cast.admin)
    both = set(first.case_ids) | {"nd_host", "nd_ext"}
    submit(
        cast,
        cast.admin,
        block("nd_host", create(owner=mine)),
        block("nd_ext", create(owner=mine) + index("host", "nd_host", "extension")),
        token=first,
    )
    log = holds_exactly(cast, cast.admin, first, both)
    submit(cast, cast.admin, block("nd_ext", update(owner_id=rita)), token=log)
    holds_exactly(cast, cast.admin, log, both)
    assert stored(cast, "nd_ext")["owner"] == rita


def test_index_tree_purge_child_of_extension(cast: Cast) -> None:
    """test_index_tree.ExtensionCasesPurgingTest.test_purge_child_of_extension: the device's
    child of someone else's extension of someone else's host holds all three; closing the
    child lets the extension and the host go with it."""
    mine, rita = user(cast, cast.admin), user(cast, cast.reader)
    first = cast.svc.restore(cast.admin)
    base = set(first.case_ids)
    submit(
        cast,
        cast.admin,
        block("ce_host", create(owner=rita)),
        block("ce_ext", create(owner=rita) + index("host", "ce_host", "extension")),
        block("ce_child", create(owner=mine) + index("parent", "ce_ext")),
        token=first,
    )
    log = holds_exactly(cast, cast.admin, first, base | {"ce_host", "ce_ext", "ce_child"})
    submit(cast, cast.admin, block("ce_child", "<close/>"), token=log)
    holds_exactly(cast, cast.admin, log, base)


def test_index_tree_purge_extension_host_is_parent(cast: Cast) -> None:
    """test_index_tree.ExtensionCasesPurgingTest.test_purge_extension_host_is_parent: someone
    else's host is the parent of the device's child and the host of the device's extension.
    Handing the (open) extension away keeps all three: the host is live through its child, and
    the extension is an open extension of a live host."""
    mine, rita = user(cast, cast.admin), user(cast, cast.reader)
    first = cast.svc.restore(cast.admin)
    three = set(first.case_ids) | {"hp_host", "hp_ext", "hp_child"}
    submit(
        cast,
        cast.admin,
        block("hp_host", create(owner=rita)),
        block("hp_ext", create(owner=mine) + index("host", "hp_host", "extension")),
        block("hp_child", create(owner=mine) + index("parent", "hp_host")),
        token=first,
    )
    log = holds_exactly(cast, cast.admin, first, three)
    submit(cast, cast.admin, block("hp_ext", update(owner_id=rita)), token=log)
    log = holds_exactly(cast, cast.admin, log, three)
    # closing the child lets all three go: nothing the device owns needs them any more
    submit(cast, cast.admin, block("hp_child", "<close/>"), token=log)
    holds_exactly(cast, cast.admin, log, set(first.case_ids))


# -- phone/tests/test_index_tree.py (TestExtendedFootprint) ------------------------------------


def test_index_tree_footprint_child_and_extension(cast: Cast) -> None:
    """test_index_tree.TestExtendedFootprint.test_child_and_extension: C is a child of H, E1 an
    extension of H, E2 an extension of C. Owning C brings all four: H as C's parent, E1 as an
    open extension of the live H, E2 of the live C. Owning H brings H and E1 only: HQ's
    footprint of H (all four) is what goes with H when the device drops it, not what is sent;
    a child of an owned case is not sent (S-SYNC-1, as in HQ's restore)."""
    mine, rita = user(cast, cast.admin), user(cast, cast.reader)
    for owned in ("C", "H"):
        h, c, e1, e2 = (f"{n}-{owned}" for n in ("H", "C", "E1", "E2"))
        submit(
            cast,
            cast.admin,
            block(h, create(owner=mine if owned == "H" else rita)),
            block(c, create(owner=mine if owned == "C" else rita) + index("parent", h)),
            block(e1, create(owner=rita) + index("host", h, "extension")),
            block(e2, create(owner=rita) + index("host", c, "extension")),
        )
        live = cast.svc.restore(cast.admin).case_ids
        expected = {h, c, e1, e2} if owned == "C" else {h, e1}
        assert live & {h, c, e1, e2} == expected, owned


def test_index_tree_footprint_multiple_indices(cast: Cast) -> None:
    """test_index_tree.TestExtendedFootprint.test_multiple_indices: C indexes H both as child
    and as extension; E is an extension of H. Owning C brings all three. Owning E brings E and
    its host H, but not C: HQ's footprint of E counts C as an extension of H too, while S-SYNC-1
    counts a case indexing the same case as child and as extension only as its child (as the
    ``extension_and_child_relationship`` fixture does). SPEC wins."""
    mine, rita = user(cast, cast.admin), user(cast, cast.reader)
    for owned in ("C", "E"):
        h, c, e = (f"mi_{n}-{owned}" for n in ("H", "C", "E"))
        submit(
            cast,
            cast.admin,
            block(h, create(owner=rita)),
            block(
                c,
                create(owner=mine if owned == "C" else rita)
                + indexes(("parent", h, "child"), ("host", h, "extension")),
            ),
            block(e, create(owner=mine if owned == "E" else rita) + index("host", h, "extension")),
        )
        live = cast.svc.restore(cast.admin).case_ids
        if owned == "C":
            assert {h, c, e} <= live
        else:
            assert {h, e} <= live and c not in live


# -- case/tests/test_close_extension_chain.py (AutoCloseExtensionsTest) ------------------------


def _extension_chain(cast: Cast, host: str, exts: list[str], parent: str | None = None) -> None:
    blocks = []
    if parent is not None:
        blocks.append(block(parent, create()))
    blocks.append(block(host, create() + (index("parent", parent) if parent else "")))
    for below, ext in zip([host, *exts], exts, strict=False):
        blocks.append(block(ext, create() + index("host", below, "extension")))
    submit(cast, cast.owner, *blocks)


def _closings(cast: Cast, case_id: str) -> int:
    return len([t for t in cast.store.transactions(cast.agency, case_id) if "close" in t.kinds])


def test_close_extension_chain_close_cases_host(cast: Cast) -> None:
    """test_close_extension_chain.AutoCloseExtensionsTest.test_close_cases_host: closing the
    middle extension of host ← 1 ← 2 ← 3 closes 2 and 3 only; closing the host then closes
    the host and 1. Each case has exactly one closing transaction."""
    cast.svc.update_settings(cast.agency, None, {"extension_close_cascade": True})
    exts = ["cch-1", "cch-2", "cch-3"]
    _extension_chain(cast, "cch-host", exts)
    submit(cast, cast.owner, block("cch-2", "<close/>"))
    closed = {c: bool(stored(cast, c)["closed"]) for c in ["cch-host", *exts]}
    assert closed == {"cch-host": False, "cch-1": False, "cch-2": True, "cch-3": True}
    submit(cast, cast.owner, block("cch-host", "<close/>"))
    for case_id in ["cch-host", *exts]:
        assert stored(cast, case_id)["closed"], case_id
        assert _closings(cast, case_id) == 1, case_id


def test_close_extension_chain_close_cases_child(cast: Cast) -> None:
    """test_close_extension_chain.AutoCloseExtensionsTest.test_close_cases_child (and
    test_get_extension_to_close_child_host): closing a host that is itself a child closes its
    extensions, never its parent; closing only the parent closes no extension."""
    cast.svc.update_settings(cast.agency, None, {"extension_close_cascade": True})
    exts = ["ccc-1", "ccc-2"]
    _extension_chain(cast, "ccc-host", exts, parent="ccc-parent")
    submit(cast, cast.owner, block("ccc-host", "<close/>"))
    assert not stored(cast, "ccc-parent")["closed"]
    for case_id in ["ccc-host", *exts]:
        assert stored(cast, case_id)["closed"] and _closings(cast, case_id) == 1, case_id
    _extension_chain(cast, "ccc-host2", ["ccc-2-1"], parent="ccc-parent2")
    result = submit(cast, cast.owner, block("ccc-parent2", "<close/>"))
    assert set(result.cases) == {"ccc-parent2"}
    assert not stored(cast, "ccc-host2")["closed"] and not stored(cast, "ccc-2-1")["closed"]


def test_close_extension_chain_circular_reference(cast: Cast) -> None:
    """test_close_extension_chain.AutoCloseExtensionsTest.test_get_extension_chain_circular_ref:
    the host is made an extension of the last extension of its chain (a loop); closing any of
    them closes the whole loop, once each, and does not hang."""
    cast.svc.update_settings(cast.agency, None, {"extension_close_cascade": True})
    exts = ["ccr-1", "ccr-2", "ccr-3"]
    _extension_chain(cast, "ccr-host", exts)
    submit(cast, cast.owner, block("ccr-host", index("loop", "ccr-3", "extension")))
    result = submit(cast, cast.owner, block("ccr-3", "<close/>"))
    assert set(result.cases) == {"ccr-host", *exts}
    for case_id in ["ccr-host", *exts]:
        assert stored(cast, case_id)["closed"] and _closings(cast, case_id) == 1, case_id


def test_close_extension_chain_an_open_host_closes_nothing(cast: Cast) -> None:
    """test_close_extension_chain.AutoCloseExtensionsTest.test_get_extension_to_close: an
    update of a host that stays open closes none of its extensions; without the cascade
    setting closing the host closes none either (SPEC §8.4: the cascade is an agency setting,
    HQ's ``EXTENSION_CASES_SYNC_ENABLED`` flag)."""
    exts = ["coh-1", "coh-2"]
    _extension_chain(cast, "coh-host", exts)
    cast.svc.update_settings(cast.agency, None, {"extension_close_cascade": True})
    result = submit(cast, cast.owner, block("coh-host", update(p="1")))
    assert set(result.cases) == {"coh-host"}
    assert not any(stored(cast, c)["closed"] for c in exts)
    cast.svc.update_settings(cast.agency, None, {"extension_close_cascade": False})
    submit(cast, cast.owner, block("coh-host", "<close/>"))
    assert not any(stored(cast, c)["closed"] for c in exts)


# -- phone/tests/test_sync_mode.py (SyncTokenUpdateTest, MultiUserSyncTest, SyncDeletedCases…) --


def test_sync_create_irrelevant_owner_then_submit_again_with_no_owner(cast: Cast) -> None:
    """test_sync_mode.SyncTokenUpdateTest.test_create_irrelevant_owner_then_submit_again_with_
    no_owner and test_create_irrelevant_owner_and_update_to_irrelevant_owner_in_same_form: a
    case the device makes for someone else is not held; a later update that names no owner
    keeps that owner, so it is still not held; created for one and handed in the same block
    to another, it ends with the second, not held either."""
    first = cast.svc.restore(cast.admin)
    base = set(first.case_ids)
    rita, otto = user(cast, cast.reader), user(cast, cast.outsider)
    submit(cast, cast.admin, block("irr", create(owner=rita)), token=first)
    log = holds_exactly(cast, cast.admin, first, base)
    submit(cast, cast.admin, block("irr", update(p="1")), token=log)
    log = holds_exactly(cast, cast.admin, log, base)
    assert stored(cast, "irr")["owner"] == rita
    submit(cast, cast.admin, block("irr2", create(owner=rita) + update(owner_id=otto)), token=log)
    holds_exactly(cast, cast.admin, log, base)
    assert stored(cast, "irr2")["owner"] == otto


def test_sync_complicated_gates_bug(cast: Cast) -> None:
    """test_sync_mode.MultiUserSyncTest.testComplicatedGatesBug (data/bugs/dependent_case_
    conflicts: reg1, reg2, cf, close): a mother registered; a form updating her and creating two
    newborns indexing her from repeat groups (prefixed case namespaces, empty properties,
    +05:30 device times); a form updating all three; a form closing all three. The device syncs
    with its token after each form; every form is applied and the log keeps in step: it holds
    the three until the close, then none."""
    ns = "http://commcarehq.org/case/transaction/v2"

    def case(prefix: str, case_id: str, when: str, body: str) -> str:
        return (
            f'<{prefix}:case xmlns:{prefix}="{ns}" case_id="{case_id}" '
            f'date_modified="2012-05-{when}+05:30">{body}</{prefix}:case>'
        )

    mine = user(cast, cast.admin)
    mother, kids = "gates-mother", ("gates-c1", "gates-c2")
    first = cast.svc.restore(cast.admin)
    base = set(first.case_ids)
    log = first
    reg1 = case(
        "n1",
        mother,
        "25T15:27:38.490",
        "<n1:create><n1:case_type>cc_bihar_pregnancy</n1:case_type>"
        f"<n1:owner_id>{mine}</n1:owner_id><n1:case_name>Ad</n1:case_name></n1:create>"
        "<n1:update><n1:mother_alive>yes</n1:mother_alive><n1:husband_name />"
        "<n1:family_number>2</n1:family_number></n1:update>",
    )
    newborns = "".join(
        f"<child_info>{case(p, kid, '25T15:30:31.704', c)}<gender>female</gender></child_info>"
        for p, kid in zip(("n2", "n3"), kids, strict=True)
        for c in [
            f"<{p}:create><{p}:case_type>cc_bihar_newborn</{p}:case_type>"
            f"<{p}:owner_id>{mine}</{p}:owner_id><{p}:case_name>{kid}</{p}:case_name>"
            f"</{p}:create><{p}:update><{p}:gender>female</{p}:gender></{p}:update>"
            f'<{p}:index><{p}:mother_id case_type="cc_bihar_pregnancy">{mother}'
            f"</{p}:mother_id></{p}:index>"
        ]
    )
    reg2 = (
        case(
            "n1",
            mother,
            "25T15:30:31.704",
            "<n1:update><n1:num_boys>0</n1:num_boys><n1:edd /></n1:update>",
        )
        + newborns
    )
    cf = case(
        "n1",
        mother,
        "25T15:31:38.109",
        "<n1:update><n1:date_cf_1>2012-05-25</n1:date_cf_1></n1:update>",
    ) + "".join(
        case(p, kid, "25T15:31:38.109", f"<{p}:update><{p}:baby_measles /></{p}:update>")
        for p, kid in zip(("n2", "n3"), kids, strict=True)
    )
    close = case("n1", mother, "26T08:41:37.259", "<n1:update /><n1:close />") + "".join(
        case(p, kid, "26T08:41:37.259", f"<{p}:update /><{p}:close />")
        for p, kid in zip(("n2", "n3"), reversed(kids), strict=True)
    )
    family = {mother, *kids}
    for body, holds in ((reg1, {mother}), (reg2, family), (cf, family), (close, set())):
        result = submit(cast, cast.admin, body, token=log)
        assert result.status == "normal"
        log = holds_exactly(cast, cast.admin, log, base | holds)
    assert stored(cast, "gates-c1")["properties"] == {"gender": "female", "baby_measles": ""}
    assert all(stored(cast, c)["closed"] for c in family)


def test_sync_create_multiple_indices_child_and_extension_of_one_host(cast: Cast) -> None:
    """test_sync_mode.ExtensionCasesSyncTokenUpdates.test_create_multiple_indices: the device
    makes someone else's case indexing its own host both as ``host`` (extension) and ``child``.
    HQ's log puts it in both index trees and holds it as a dependent extension; S-SYNC-1 counts
    a case indexing one case as child and as extension only as its child (the
    ``extension_and_child_relationship`` fixture), so the device holds the host alone. The case
    keeps both indices, and its owner's restore sends it with its host. SPEC wins."""
    mine, rita = user(cast, cast.admin), user(cast, cast.reader)
    first = cast.svc.restore(cast.admin)
    submit(
        cast,
        cast.admin,
        block("mi_host", create(owner=mine)),
        block(
            "mi_ext",
            create(owner=rita)
            + indexes(("host", "mi_host", "extension"), ("child", "mi_host", "child")),
        ),
        token=first,
    )
    holds_exactly(cast, cast.admin, first, set(first.case_ids) | {"mi_host"})
    theirs = cast.svc.restore(cast.reader)
    assert {"mi_host", "mi_ext"} <= theirs.case_ids
    [ext] = [c for c in theirs.cases if c.case_id == "mi_ext"]
    assert {(i[0], i[1], i[3]) for i in ext.indices} == {
        ("host", "mi_host", "extension"),
        ("child", "mi_host", "child"),
    }


def test_sync_deleted_parent_doesnt_sync_incrementally(cast: Cast) -> None:
    """test_sync_mode.SyncDeletedCasesTest.test_deleted_parent_doesnt_sync: another device of
    the same user makes a child and its parent; the parent is deleted; this device's next sync
    sends the child only, and the device then holds the child alone."""
    device = cast.svc.restore(cast.owner)
    other_device = cast.svc.restore(cast.owner)
    submit(
        cast,
        cast.owner,
        block("dp_parent", create()),
        block("dp_child", create() + index("parent", "dp_parent")),
        token=other_device,
    )
    cast.svc.delete_case(cast.agency, cast.owner, "dp_parent")
    after = sync(cast, cast.owner, device, set(device.case_ids))
    assert sent(after) == {"dp_child"} and removed(after) == set()
    assert after.case_ids == set(device.case_ids) | {"dp_child"}


# -- phone/tests/test_sync_log_assertions.py (SyncLogAssertionTest) ----------------------------


def test_sync_log_update_dependent_case_owner_still_present(cast: Cast) -> None:
    """test_sync_log_assertions.SyncLogAssertionTest.test_update_dependent_case and
    test_update_dependent_case_owner_still_present: the device holds someone else's parent only
    for its own child; its forms updating that parent, then handing it to yet another owner,
    keep the parent on its log (the child still needs it), and nothing is sent back."""
    mine, rita, otto = user(cast, cast.admin), user(cast, cast.reader), user(cast, cast.outsider)
    first = cast.svc.restore(cast.admin)
    both = set(first.case_ids) | {"hodor", "bran"}
    submit(
        cast,
        cast.admin,
        block("hodor", create(owner=rita)),
        block("bran", create(owner=mine) + index("legs", "hodor")),
        token=first,
    )
    log = holds_exactly(cast, cast.admin, first, both)
    submit(cast, cast.admin, block("hodor", update(p="1")), token=log)
    log = holds_exactly(cast, cast.admin, log, both)
    submit(cast, cast.admin, block("hodor", update(owner_id=otto)), token=log)
    holds_exactly(cast, cast.admin, log, both)
    assert stored(cast, "hodor")["owner"] == otto


# -- the close cascade seen by a device (test_close_extension_chain with test_sync_mode) -------


def test_close_extension_chain_a_cascaded_extension_the_device_still_needs_is_sent(
    cast: Cast,
) -> None:
    """test_close_extension_chain.test_close_cases_host with the device's log
    (test_sync_mode.ExtensionCasesSyncTokenUpdates.test_close_host): the device closes its host;
    the cascade closes the host's extension on the server, which the device cannot know. The
    extension has the device's open child, so it stays live (a closed parent of a live case),
    and the host with it (a live extension's host): the next sync sends the extension, closed,
    and nothing else. Without a child the extension just leaves with its host."""
    cast.svc.update_settings(cast.agency, None, {"extension_close_cascade": True})
    mine, rita = user(cast, cast.admin), user(cast, cast.reader)
    first = cast.svc.restore(cast.admin)
    three = set(first.case_ids) | {"cc_host", "cc_ext", "cc_kid"}
    submit(
        cast,
        cast.admin,
        block("cc_host", create(owner=mine)),
        block("cc_ext", create(owner=rita) + index("host", "cc_host", "extension")),
        block("cc_kid", create(owner=mine) + index("parent", "cc_ext")),
        token=first,
    )
    log = holds_exactly(cast, cast.admin, first, three)
    submit(cast, cast.admin, block("cc_host", "<close/>"), token=log)
    assert stored(cast, "cc_ext")["closed"]
    after = sync(cast, cast.admin, log, three)
    assert after.case_ids == three
    assert sent(after) == {"cc_ext"} and removed(after) == set()
    [ext] = [c for c in after.cases if c.case_id == "cc_ext"]
    assert ext.closed
    holds_exactly(cast, cast.admin, after, three)


# -- index changes by the device's own forms (test_sync_mode.SyncTokenUpdateTest) -------------


def test_sync_delete_only_index_to_a_dependent_parent(cast: Cast) -> None:
    """test_sync_mode.SyncTokenUpdateTest.test_delete_only_index, with a parent the device holds
    only for its child (someone else's): deleting the child's only index lets the parent leave
    the device's log; nothing is sent or removed."""
    mine, rita = user(cast, cast.admin), user(cast, cast.reader)
    first = cast.svc.restore(cast.admin)
    submit(
        cast,
        cast.admin,
        block("doi_parent", create(owner=rita)),
        block("doi_child", create(owner=mine) + index("parent", "doi_parent")),
        token=first,
    )
    log = holds_exactly(cast, cast.admin, first, set(first.case_ids) | {"doi_parent", "doi_child"})
    submit(
        cast,
        cast.admin,
        block("doi_child", '<index><parent case_type="patient"/></index>'),
        token=log,
    )
    holds_exactly(cast, cast.admin, log, set(first.case_ids) | {"doi_child"})


def test_sync_change_index_id_to_a_case_the_device_does_not_hold(cast: Cast) -> None:
    """test_sync_mode.SyncTokenUpdateTest.test_change_index_id, with someone else's parents:
    the device re-points its child's index from the parent it holds to another case of someone
    else it has never had. The old parent leaves its log; the new one is sent by the next sync
    (the device's form named it but cannot have its data)."""
    mine, rita = user(cast, cast.admin), user(cast, cast.reader)
    submit(cast, cast.reader, block("cii_new", create(owner=rita)))
    first = cast.svc.restore(cast.admin)
    assert "cii_new" not in first.case_ids
    submit(
        cast,
        cast.admin,
        block("cii_old", create(owner=rita)),
        block("cii_child", create(owner=mine) + index("parent", "cii_old")),
        token=first,
    )
    log = holds_exactly(cast, cast.admin, first, set(first.case_ids) | {"cii_old", "cii_child"})
    submit(cast, cast.admin, block("cii_child", index("parent", "cii_new")), token=log)
    after = sync(cast, cast.admin, log, set(first.case_ids) | {"cii_child"})
    assert sent(after) == {"cii_new"} and removed(after) == set()
    assert after.case_ids == set(first.case_ids) | {"cii_child", "cii_new"}


def test_sync_archive_and_unarchive_the_create_form(cast: Cast) -> None:
    """test_rebuild.CaseRebuildTest.testArchivingOnlyForm seen by the device
    (test_sync_mode.SyncTokenUpdateTest.testArchiveUpdates): archiving the form that made the
    device's case deletes it, and the next sync removes it; unarchiving brings it back, and the
    sync after sends it."""
    first = cast.svc.restore(cast.owner)
    submit(cast, cast.owner, block("aoc", create() + update(p="1")), token=first, instance="aoc")
    log = holds_exactly(cast, cast.owner, first, set(first.case_ids) | {"aoc"})
    cast.svc.archive_submission(cast.agency, cast.admin, "aoc")
    gone = sync(cast, cast.owner, log, set(log.case_ids))
    assert removed(gone) == {"aoc"} and sent(gone) == set()
    assert gone.case_ids == first.case_ids
    cast.svc.unarchive_submission(cast.agency, cast.admin, "aoc")
    back = sync(cast, cast.owner, gone, set(gone.case_ids))
    assert sent(back) == {"aoc"} and removed(back) == set()
    [case] = [c for c in back.cases if c.case_id == "aoc"]
    assert dict(case.properties) == {"p": "1"}


# -- case/tests/test_bugs.py (CaseBugTest, TestCaseHierarchy) ----------------------------------


@pytest.mark.parametrize("value", ["2011-11-16", "42", "4.06"])
def test_bugs_datatypes_in_various_properties(cast: Cast, value: str) -> None:
    """test_bugs.CaseBugTest.test_date_in_various_properties / test_integer_… /
    test_decimal_…: a case name and type that look like a date, an integer or a decimal are
    kept as that text, whether set by ``create`` or by ``update``'s case_name and case_type."""
    submit(cast, cast.owner, block("dt-create", create(value, value)))
    case = stored(cast, "dt-create")
    assert (case["name"], case["case_type"]) == (value, value)
    submit(cast, cast.owner, block("dt-update", create("t", "n")))
    submit(cast, cast.owner, block("dt-update", update(case_name=value, case_type=value)))
    case = stored(cast, "dt-update")
    assert (case["name"], case["case_type"]) == (value, value)
    assert case["properties"] == {}


def test_bugs_submit_to_deleted_case_is_refused(cast: Cast) -> None:
    """test_bugs.CaseBugTest.test_submit_to_deleted_case: HQ applies a form to a soft-deleted
    case (it changes, and stays deleted). Here a case in the recycle bin cannot be updated by a
    form (docs/transactions.md: ``insufficient_access``, the form stored as an error): the case
    stays deleted and unchanged, and restoring it from the bin gives it back as it was.
    Documented."""
    submit(cast, cast.owner, block("del-case", create() + update(foo="bar")))
    cast.svc.delete_case(cast.agency, cast.owner, "del-case")
    code = code_of(
        submit, cast, cast.owner, block("del-case", update(foo="not_bar")), instance="to-deleted"
    )
    assert code == "insufficient_access"
    [row] = cast.store.submissions(cast.agency, "to-deleted")
    assert row.status == "error"
    cast.svc.restore_case(cast.agency, cast.owner, "del-case")
    assert stored(cast, "del-case")["properties"] == {"foo": "bar"}


def test_bugs_missing_transactions_an_edit_adds_a_case(cast: Cast) -> None:
    """test_bugs.TestCaseHierarchy.test_missing_transactions: the same form id sent again with
    one more case block (an edit, S-TX-5) makes that case, whose history holds the form; the
    first case is kept."""
    first = block("mt-1", create())
    submit(cast, cast.owner, first, instance="mt-form")
    assert cast.svc.stored_snapshot(cast.agency, "mt-2") is None
    result = submit(cast, cast.owner, first, block("mt-2", create("t1")), instance="mt-form")
    assert result.edited
    assert stored(cast, "mt-2")["case_type"] == "t1"
    txs = cast.store.transactions(cast.agency, "mt-2")
    forms = [t.submission_id for t in txs if not t.revoked and t.submission_id is not None]
    assert forms == [result.submission_id]
    assert stored(cast, "mt-1")["case_type"] == "patient"


# -- phone/tests/test_ota_restore.py (OtaRestoreTest) ------------------------------------------


def test_ota_restore_user_restore_with_case_and_sync_token(cast: Cast) -> None:
    """test_ota_restore.OtaRestoreTest.testUserRestoreWithCase and _test_sync_token
    (create_short.xml, update_short.xml): a case made by a form without a token is in the full
    restore as HQ writes its v2 block — ``create`` with type, name and owner, ``external_id`` in
    ``update``, the device time as ``date_modified``; a sync with that restore's token has no
    case block; after another form updates the case, the next sync sends it again, updated."""
    mine = user(cast, cast.owner)
    submit(
        cast,
        cast.owner,
        block(
            "asdf",
            create("test_case_type", "test case name", owner=mine)
            + update(external_id="someexternal"),
            "2010-06-29T13:42:50Z",
        ),
    )
    full = cast.svc.restore(cast.owner)
    xml = to_xml(full)
    start = xml.index('case_id="asdf"')
    mine_block = xml[xml.rindex("<case ", 0, start) : xml.index("</case>", start)]
    assert 'date_modified="2010-06-29T13:42:50.000000Z"' in mine_block
    assert (
        "<create><case_type>test_case_type</case_type><case_name>test case name</case_name>"
        f"<owner_id>{mine}</owner_id></create>"
    ) in mine_block
    assert "<update><external_id>someexternal</external_id>" in mine_block
    quiet = sync(cast, cast.owner, full, set(full.case_ids))
    assert sent(quiet) == set() and "asdf" in quiet.case_ids
    submit(cast, cast.owner, block("asdf", update(somevalue="updated"), "2010-06-30T13:42:50Z"))
    after = sync(cast, cast.owner, quiet, set(quiet.case_ids))
    assert sent(after) == {"asdf"}
    [case] = [c for c in after.cases if c.case_id == "asdf"]
    assert dict(case.properties) == {"somevalue": "updated"} and case.external_id == "someexternal"


def test_new_sync_legacy_support_toggle_handing_away_twice(cast: Cast) -> None:
    """test_new_sync.TestNewSyncSpecifics.test_legacy_support_toggle: the device hands its
    parent and child to someone else in one form, then sends the same hand-over again (in the
    other order) with the same token, for cases no longer on its log. Both forms are applied,
    the log holds neither case, and nothing is sent or removed."""
    mine, rita = user(cast, cast.admin), user(cast, cast.reader)
    first = cast.svc.restore(cast.admin)
    submit(
        cast,
        cast.admin,
        block("lst_parent", create(owner=mine)),
        block("lst_child", create(owner=mine) + index("parent", "lst_parent")),
    )
    full = cast.svc.restore(cast.admin)
    assert {"lst_parent", "lst_child"} <= sent(full)
    away = (block("lst_parent", update(owner_id=rita)), block("lst_child", update(owner_id=rita)))
    submit(cast, cast.admin, *away, token=full)
    submit(cast, cast.admin, *reversed(away), token=full)
    holds_exactly(cast, cast.admin, full, set(first.case_ids))


# -- case/tests/test_exclusion.py (CaseExclusionTest) ------------------------------------------

DEVICE_REPORT = "http://code.javarosa.org/devicereport"
CASE_NS = "http://commcarehq.org/case/transaction/v2"


def _raw_create(case_id: str) -> str:
    return (
        f'<case xmlns="{CASE_NS}" case_id="{case_id}" date_modified="2010-06-29T13:42:50">'
        "<create><case_type>form_case_type</case_type><case_name>form case</case_name></create>"
        "</case>"
    )


def test_exclusion_top_level_device_report(cast: Cast) -> None:
    """test_exclusion.CaseExclusionTest.testTopLevelExclusion: a whole form tagged as a device
    log is stored, and its case blocks make no case."""
    report = (
        f'<device_report xmlns="{DEVICE_REPORT}"><device_id>d1</device_id>'
        '<log_subreport><log date="2010-06-29T13:42:50"><type>t</type><msg>m</msg></log>'
        f"</log_subreport>{_raw_create('case_in_report')}</device_report>"
    )
    result = cast.svc.submit(cast.agency, cast.owner, report)
    assert result.status == "normal" and result.cases == ()
    assert cast.svc.stored_snapshot(cast.agency, "case_in_report") is None


def test_exclusion_nested_device_report(cast: Cast) -> None:
    """test_exclusion.CaseExclusionTest.testNestedExclusion (nested_device_report.xml): in a
    form holding a device log, the form's own block makes its case and the block inside the
    log is left alone."""
    nested = (
        '<form xmlns="http://www.commcarehq.org/case/test/devicelog">'
        f"{_raw_create('case_in_form')}"
        f'<log xmlns="{DEVICE_REPORT}">{_raw_create("case_in_device")}</log></form>'
    )
    result = cast.svc.submit(cast.agency, cast.owner, nested)
    assert result.cases == ("case_in_form",)
    assert stored(cast, "case_in_form")["name"] == "form case"
    assert cast.svc.stored_snapshot(cast.agency, "case_in_device") is None


# -- form_processor/tests/test_basic_cases.py (FundamentalCaseTests, more) ---------------------


def test_fundamental_long_value_validation(cast: Cast) -> None:
    """test_basic_cases.FundamentalCaseTests.test_long_value_validation: a case name over 255
    characters makes the form an error (HQ: ``CaseValueError``; here ``invalid_case_block``,
    S-TX-5) and no case."""
    long_name = "this is a very long case name that exceeds the 255 char limit" * 5
    code = code_of(
        submit, cast, cast.owner, block("long-name", create(name=long_name)), instance="ln"
    )
    assert code == "invalid_case_block"
    [row] = cast.store.submissions(cast.agency, "ln")
    assert row.status == "error"
    assert cast.svc.stored_snapshot(cast.agency, "long-name") is None


def test_fundamental_date_opened_coercion(cast: Cast) -> None:
    """test_basic_cases.FundamentalCaseTests.test_date_opened_coercion: a ``date_opened`` sent
    as a full date and time is restored as its date."""
    submit(
        cast,
        cast.owner,
        block("dto", create() + update(date_opened="2024-03-04T10:11:12.123Z", dynamic="123")),
    )
    [case] = [c for c in to_json(cast.svc.restore(cast.owner))["cases"] if c["case_id"] == "dto"]
    assert case["date_opened"] == "2024-03-04" and case["properties"] == {"dynamic": "123"}
    assert "<date_opened>2024-03-04</date_opened>" in to_xml(cast.svc.restore(cast.owner))


def test_fundamental_update_case_without_creating(cast: Cast) -> None:
    """test_basic_cases.FundamentalCaseTests.test_update_case_without_creating_triggers_soft_
    assert: a block with no create for a case that does not exist makes the case (HQ only
    soft-asserts; S-TX-2 makes it), owned as a create without owner would be (S-CRT-2)."""
    result = submit(cast, cast.owner, block("no-create", "", "2017-06-22T08:39:07.585427Z"))
    assert result.cases == ("no-create",)
    case = stored(cast, "no-create")
    assert case["owner"] == str(cast.group_principal) and not case["closed"]
    assert case["modified_on"] == "2017-06-22T08:39:07.585427Z"


# -- case/tests/test_rebuild.py (TestActionSortKey, CaseRebuildSimpleTest) ---------------------


def test_rebuild_sort_key_different_users_keep_received_order(cast: Cast) -> None:
    """test_rebuild.TestActionSortKey.test_different_usernames_default_to_server_date and
    test_default_to_phone_date_on_same_day, with ``ordering: reconcile`` (S-TX-3): one user's
    forms received close together replay by device time; two users' forms stay in received
    order whatever their device times say."""
    cast.svc.update_settings(cast.agency, None, {"ordering": "reconcile"})
    submit(cast, cast.owner, block("sk", create(), "2001-01-01T00:00:00Z"))
    # the same user: received later, dated earlier → the earlier-dated form is replayed first
    submit(cast, cast.owner, block("sk", update(same="late"), "2001-01-01T00:00:02Z"))
    submit(cast, cast.owner, block("sk", update(same="early"), "2001-01-01T00:00:01Z"))
    assert dict(stored(cast, "sk")["properties"])["same"] == "late"  # type: ignore[call-overload]
    # two users: the later-received form wins although its device time is earlier
    submit(cast, cast.owner, block("sk", update(users="user1"), "2001-01-01T00:00:05Z"))
    submit(cast, cast.colleague, block("sk", update(users="user2"), "2001-01-01T00:00:04Z"))
    assert dict(stored(cast, "sk")["properties"])["users"] == "user2"  # type: ignore[call-overload]
    assert cast.svc.history_snapshot(cast.agency, "sk") == cast.svc.stored_snapshot(
        cast.agency, "sk"
    )


def test_rebuild_with_opened_on_in_update(cast: Cast) -> None:
    """test_rebuild.CaseRebuildSimpleTest.test_rebuild_with_opened_on_in_update: an update
    setting the opened date and the external id is kept by a rebuild (archiving and unarchiving
    another form of the case replays it)."""
    submit(cast, cast.owner, block("roo", create(), "2013-02-07T04:40:40Z"))
    submit(
        cast,
        cast.owner,
        block("roo", update(date_opened="2012-10-18T12:16:22Z", external_id="521")),
    )
    submit(cast, cast.owner, block("roo", update(p="1")), instance="roo-3")
    before = stored(cast, "roo")
    assert str(before["opened_on"]).startswith("2012-10-18T12:16:22")
    assert before["external_id"] == "521"
    cast.svc.archive_submission(cast.agency, cast.admin, "roo-3")
    cast.svc.unarchive_submission(cast.agency, cast.admin, "roo-3")
    assert stored(cast, "roo") == before
