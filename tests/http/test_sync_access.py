"""Row cause ``sync`` over HTTP (SPEC §3, S-SYNC-1; issue 8 items 3 and 10): what a device of the
user holds, the API lets them read — and a case record names only cases its reader may view.

A device and the API never disagree: every case a restore sends is one ``GET /cases/{id}``
answers, the listing shows it, and explain says why with the index path.
"""

from __future__ import annotations

import base64
import uuid
from xml.etree import ElementTree

import httpx

from caseshare.core.casexml import CASE_NS
from tests.http.cast import PASSWORD, HttpCast, expect
from tests.services.forms import block, create, form, index

API = "/api/v1"


def _basic(http: HttpCast, who: str) -> dict[str, str]:
    name = http.cast.store.user(http.id(who)).username
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{PASSWORD}".encode()).decode()}


def _restore_ids(http: HttpCast, who: str) -> set[str]:
    http.client.cookies.clear()
    response = http.client.get(
        f"/a/{http.slug}/phone/restore/", params={"version": "2.0"}, headers=_basic(http, who)
    )
    assert response.status_code == 200, response.text[:500]
    root = ElementTree.fromstring(response.content)
    return {c.get("case_id", "") for c in root.iter(f"{{{CASE_NS}}}case")}


def _submit(http: HttpCast, who: str, xml: str) -> httpx.Response:
    http.client.cookies.clear()
    files = {"xml_submission_file": ("form.xml", xml.encode(), "text/xml")}
    return http.client.post(f"/a/{http.slug}/receiver/", files=files, headers=_basic(http, who))


def _family(http: HttpCast) -> dict[str, str]:
    """gp ← p ← mine (the outsider's), p ← sib, p ⇠ pext (an open extension of p); all but
    ``mine`` the owner's (her case-sharing group's)."""
    cast = http.cast
    svc = cast.fresh()
    tag = uuid.uuid4().hex[:8]
    ids = {name: f"{name}-{tag}" for name in ("gp", "p", "mine", "sib", "pext")}
    make = svc.create_case
    make(cast.agency, cast.owner, "household", "Grandparent", case_id=ids["gp"])
    make(
        cast.agency,
        cast.owner,
        "household",
        "Parent",
        case_id=ids["p"],
        indices={"parent": (ids["gp"], "child")},
    )
    make(
        cast.agency,
        None,
        "patient",
        "Otto's own",
        case_id=ids["mine"],
        owner=f"user:{cast.outsider}",
        indices={"parent": (ids["p"], "child")},
    )
    make(
        cast.agency,
        cast.owner,
        "patient",
        "Sibling",
        case_id=ids["sib"],
        indices={"parent": (ids["p"], "child")},
    )
    make(
        cast.agency,
        cast.owner,
        "visit",
        "Visit of the parent",
        case_id=ids["pext"],
        indices={"host": (ids["p"], "extension")},
    )
    return ids


def test_s_sync_1_a_grandparent_and_a_parents_extension_are_readable_by_sync(
    http: HttpCast,
) -> None:
    ids = _family(http)
    restored = _restore_ids(http, "outsider")
    assert {ids["mine"], ids["p"], ids["gp"], ids["pext"]} <= restored
    assert ids["sib"] not in restored
    # what the device holds, GET /cases/{id} answers: read, by sync, with the index path
    for name in ("gp", "pext"):
        record = expect(http.get("outsider", f"{API}/cases/{ids[name]}"), 200)
        assert record["access"]["level"] == "read"
        assert record["access"]["causes"] == ["sync"], record["access"]
    grants = expect(http.get("outsider", f"{API}/cases/{ids['gp']}/access"), 200)["grants"]
    (synced,) = [g for g in grants if g["cause"] == "sync"]
    assert synced["path"] == (
        f"sync → case:{ids['mine']} (owner → user:{http.id('outsider')})"
        f" → parent case:{ids['p']} → parent case:{ids['gp']}"
    )
    assert synced["why"].startswith(f"Device sync: their device holds case {ids['mine']}")
    assert f"its parent {ids['p']}, its parent {ids['gp']}" in synced["why"]
    # read only; a sibling (not on the device) stays not found, so does a write
    expect(http.call("outsider", "PATCH", f"{API}/cases/{ids['gp']}", {"name": "x"}), 403)
    expect(http.get("outsider", f"{API}/cases/{ids['sib']}"), 404, "not_found")
    # the listing (list = check, S-ACC-7) shows them, and every case of the restore is in it
    listed = expect(http.get("outsider", f"{API}/cases", params={"limit": 500}), 200)
    seen = {c["case_id"] for c in listed["items"]}
    assert restored <= seen
    assert ids["sib"] not in seen
    # who has access names the outsider, read by sync
    who = expect(http.get("owner", f"{API}/cases/{ids['gp']}/who-has-access"), 200)["items"]
    (otto,) = [a for a in who if a["user"]["id"] == http.id("outsider")]
    assert otto["level"] == "read" and otto["causes"] == ["sync"]


def test_s_sync_1_a_reader_who_adds_a_child_by_device_reads_the_extensions(
    http: HttpCast,
) -> None:
    ids = _family(http)
    cast = http.cast
    cast.fresh().share(cast.agency, cast.owner, ids["p"], f"user:{cast.reader}", "read")
    expect(http.get("reader", f"{API}/cases/{ids['pext']}"), 404, "not_found")
    # read on p suffices to index it from a new case of one's own (already possible) …
    kid = f"kid-{uuid.uuid4().hex[:8]}"
    xml = form(block(kid, create(owner=f"user:{cast.reader}") + index("parent", ids["p"])))
    assert _submit(http, "reader", xml).status_code == 201
    # … and then the device holds p's extensions: the API reads them too
    restored = _restore_ids(http, "reader")
    assert {kid, ids["p"], ids["gp"], ids["pext"]} <= restored
    for case_id in restored:
        expect(http.get("reader", f"{API}/cases/{case_id}"), 200)
    record = expect(http.get("reader", f"{API}/cases/{ids['pext']}"), 200)
    assert record["access"]["causes"] == ["sync"]


def test_issue_8_item_10_a_record_lists_only_indices_to_cases_the_reader_may_view(
    http: HttpCast,
) -> None:
    cast = http.cast
    svc = cast.fresh()
    tag = uuid.uuid4().hex[:8]
    top, mid, leaf = f"top-{tag}", f"mid-{tag}", f"leaf-{tag}"
    svc.create_case(cast.agency, cast.owner, "household", "Top", case_id=top)
    svc.create_case(
        cast.agency, cast.owner, "household", "Mid", case_id=mid, indices={"parent": (top, "child")}
    )
    svc.create_case(
        cast.agency,
        cast.owner,
        "patient",
        "Leaf",
        case_id=leaf,
        indices={"parent": (mid, "child")},
    )
    svc.share(cast.agency, cast.owner, leaf, f"user:{cast.reader}", "read")
    # the reader reads leaf (a manual share) and its parent mid (implicit_parent), never the
    # grandparent top: the records leave every index to top out, and any trace of it
    expect(http.get("reader", f"{API}/cases/{top}"), 404, "not_found")
    record = expect(http.get("reader", f"{API}/cases/{mid}"), 200)
    assert record["indices"] == []
    assert top not in str(record)
    record = expect(http.get("reader", f"{API}/cases/{leaf}"), 200)
    assert record["indices"] == [
        {"identifier": "parent", "case_id": mid, "case_type": "household", "relationship": "child"}
    ]
    assert top not in str(record)
    # the owner sees every index
    owned = expect(http.get("owner", f"{API}/cases/{mid}"), 200)
    assert [(i["identifier"], i["case_id"]) for i in owned["indices"]] == [("parent", top)]
    # once the reader may view top (a share), the index shows, with its declared type
    svc.share(cast.agency, cast.owner, top, f"user:{cast.reader}", "read")
    record = expect(http.get("reader", f"{API}/cases/{mid}"), 200)
    assert record["indices"] == [
        {"identifier": "parent", "case_id": top, "case_type": "household", "relationship": "child"}
    ]
