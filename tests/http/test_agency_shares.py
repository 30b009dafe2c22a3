"""Agency shares (S-AG-2…S-AG-5) over HTTP on both stores, with the standard cast: the sender
needs full access (reader 403, outsider 404, anonymous 401); the receiving admins finalise; the
receiving user and units read the summary; a user of the receiving agency who is neither gets
404; revoking ends access at the next request."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from caseshare.core.principals import Principal
from tests.http.cast import PASSWORD, HttpCast, expect

API = "/api/v1"


@pytest.fixture(scope="module")
def south(http: HttpCast) -> dict[str, Any]:
    """South's receiving user, a unit member and a bystander, and an approved agreement."""
    c = http.cast
    svc = c.fresh()
    s = c.other_agency
    rhea = svc.create_user(s, None, "rhea", full_name="Rhea Receiver", email="rhea@s.example")
    umar = svc.create_user(s, None, "umar", full_name="Umar Unit", email="umar@s.example")
    sam = svc.create_user(s, None, "sam", full_name="Sam Bystander", email="sam@s.example")
    unit = svc.create_group(s, None, "Field unit 1", kind="unit")
    svc.add_member(s, None, unit, Principal("user", umar))
    for name, uid in (("rhea", rhea), ("umar", umar), ("sam", sam)):
        http.tokens[name] = svc.create_token(uid, "tests")[1]
        svc.set_password(s, None, uid, PASSWORD)
    flags = {"outbound_sharing": True, "inbound_sharing": True}
    row = svc.propose_agreement(c.agency, c.admin, http.other_slug, flags)
    svc.answer_agreement(s, c.foreigner, row.id, approve=True)
    west = svc.create_agency(f"west-{uuid.uuid4().hex[:8]}", "West")
    return {"rhea": rhea, "umar": umar, "sam": sam, "unit": unit, "west": west}


def _new_case(http: HttpCast, name: str) -> tuple[str, int]:
    made = expect(http.post("owner", f"{API}/cases", {"case_type": "patient", "name": name}), 201)
    target = expect(
        http.post(
            "owner",
            f"{API}/cases/{made['case_id']}/targets",
            {"kind": "suspect", "name": "Sid Suspect"},
        ),
        201,
    )
    return made["case_id"], target["id"]


def test_s_ag_2_to_4_send_finalise_read_and_revoke_over_http(
    http: HttpCast, south: dict[str, Any]
) -> None:
    case_id, target = _new_case(http, "Operation Lark")
    path = f"{API}/cases/{case_id}/agency-shares"
    body = {
        "agencies": [http.other_slug],
        "targets": [target],
        "units": {http.other_slug: [south["unit"]]},
    }
    expect(http.post(None, path, body), 401)
    expect(http.post("outsider", path, body), 404, "not_found")
    west_slug = http.cast.store.agency(south["west"])[1]
    expect(http.post("owner", path, {"agencies": [west_slug]}), 403, "agreement_required")
    expect(http.post("owner", path, {**body, "colour": "red"}), 422)
    recipients = expect(http.get("owner", f"{API}/agency-shares/recipients"), 200)["items"]
    assert [r["slug"] for r in recipients] == [http.other_slug]
    sent = expect(http.post("owner", path, body), 201)["items"]
    share_id = sent[0]["id"]
    assert sent[0]["status"] == "pending" and sent[0]["targets"] == [target]
    share = f"{API}/agency-shares/{share_id}"
    # the receiving admin sees it waiting; other south users do not see it at all
    waiting = expect(http.get("foreigner", f"{API}/agency-shares?status=pending"), 200)["items"]
    assert share_id in [w["id"] for w in waiting]
    expect(http.get("rhea", share), 404, "not_found")
    expect(http.get("rhea", f"{share}/case"), 404, "not_found")
    expect(http.post("rhea", f"{share}/accept", {"receiving_user": south["rhea"]}), 404)
    finalised = expect(
        http.post("foreigner", f"{share}/accept", {"receiving_user": south["rhea"]}), 200
    )
    assert finalised["status"] == "active" and finalised["local_case_id"]
    expect(http.post("foreigner", f"{share}/reject", {"reason": "late"}), 409, "invalid_transition")
    # the receiving user and the unit read the summary and shared targets
    for who in ("rhea", "umar"):
        summary = expect(http.get(who, f"{share}/case"), 200)
        assert summary["name"] == "Operation Lark" and summary["sending_agency"] == "North"
        assert [t["id"] for t in summary["targets"]] == [target]
        assert "properties" not in summary
        why = expect(http.get(who, f"{share}/access"), 200)
        assert why["level"] == "read" and why["causes"] == ["agency_share"]
        assert why["actions"]["edit"] is False and why["actions"]["share"] is False
        listed = expect(http.get(who, f"{API}/cases"), 200)["items"]
        mine = [i for i in listed if i["case_id"] == case_id]
        assert len(mine) == 1 and mine[0]["sharing_state"] == "receiving"
        assert mine[0]["owner"] is None and mine[0]["external_id"] == ""
        assert mine[0]["received_from"]["agency"] == "North"
    local = finalised["local_case_id"]
    seen = expect(http.get("rhea", f"{API}/cases/{local}/received"), 200)["items"]
    assert [s["share"] for s in seen] == [share_id]
    _signed_in(http, http.other_slug, "rhea")  # Manage case of the local case shows it
    page = http.client.get(f"/cases/{local}").text
    assert "Sent to us by other agencies" in page and "Sid Suspect" in page
    # the sender sees who reads it, the receivers included (S-ACC-6)
    who = expect(http.get("owner", f"{API}/cases/{case_id}/who-has-access"), 200)["items"]
    receivers = [w for w in who if w["user_id"] in (south["rhea"], south["umar"])]
    assert sorted(w["causes"] for w in receivers) == [["agency_share"], ["agency_share"]]
    _signed_in(http, http.slug, "olga")
    page = http.client.get(f"/cases/{case_id}/share")
    assert page.status_code == 200 and "Active" in page.text, page.text[:300]
    # the standard cast: a south user who is neither gets 404, never 403
    expect(http.get("sam", f"{share}/case"), 404, "not_found")
    expect(http.get("sam", share), 404, "not_found")
    listed = expect(http.get("sam", f"{API}/cases"), 200)["items"]
    assert "Operation Lark" not in [i["name"] for i in listed]
    # the source case is never reached by id from south
    expect(http.get("rhea", f"{API}/cases/{case_id}"), 404, "not_found")
    # the sender sees the state on the case record and its list row
    assert expect(http.get("owner", f"{API}/cases/{case_id}"), 200)["sharing_state"] == "sending"
    # the receiver never edits or revokes what was sent
    expect(http.call("rhea", "PATCH", share, {"targets": []}), 403, "insufficient_access")
    expect(http.post("rhea", f"{share}/revoke"), 403, "insufficient_access")
    expect(http.post("reader", f"{share}/revoke"), 404)
    revoked = expect(http.post("owner", f"{share}/revoke", {"status": "active"}), 200)
    assert revoked["status"] == "revoked"
    # S-NOT-1: the receiving admins and the receiving user are told, once (refusals told nobody)
    told = http.cast.store.outbox_page(http.cast.other_agency, kind="agency_share_revoked")
    assert sorted(m.recipient_name for m in told if m.about == f"agency_share:{share_id}") == [
        "Fred Foreign",
        "Rhea Receiver",
    ]
    expect(http.get("rhea", f"{share}/case"), 404, "not_found")
    listed = expect(http.get("rhea", f"{API}/cases"), 200)["items"]
    assert case_id not in [i["case_id"] for i in listed]
    assert local in [i["case_id"] for i in listed]  # the local case stays hers


def test_s_ag_3_reject_with_a_reason_over_http(http: HttpCast, south: dict[str, Any]) -> None:
    case_id, _ = _new_case(http, "Operation Wren")
    sent = expect(
        http.post("owner", f"{API}/cases/{case_id}/agency-shares", {"agencies": [http.other_slug]}),
        201,
    )["items"]
    share = f"{API}/agency-shares/{sent[0]['id']}"
    expect(http.post("foreigner", f"{share}/reject", {"reason": ""}), 422, "validation_error")
    # §14: a control character (NUL: PostgreSQL refused it, SQLite stored it) is refused alike
    for bad in ("Not\x00ours", "Not\x01ours"):
        refusal = expect(
            http.post("foreigner", f"{share}/reject", {"reason": bad}), 422, "validation_error"
        )
        assert "control character" in refusal["message"], refusal
    expect(http.post("admin", f"{share}/reject", {"reason": "no"}), 403, "insufficient_access")
    rejected = expect(http.post("foreigner", f"{share}/reject", {"reason": "Not ours"}), 200)
    assert rejected["status"] == "rejected" and rejected["reason"] == "Not ours"
    mine = expect(http.get("owner", f"{API}/cases/{case_id}/agency-shares"), 200)["items"]
    assert [(m["status"], m["reason"]) for m in mine] == [("rejected", "Not ours")]
    expect(http.get("outsider", f"{API}/cases/{case_id}/agency-shares"), 404, "not_found")


def _signed_in(http: HttpCast, agency: str, username: str) -> None:
    http.client.cookies.clear()
    signed = http.client.post(
        f"{API}/session", json={"agency": agency, "username": username, "password": PASSWORD}
    )
    assert signed.status_code == 200, signed.text


def test_s_ag_5_the_case_list_shows_the_sharing_state_as_an_icon_with_words(
    http: HttpCast, south: dict[str, Any]
) -> None:
    case_id, _ = _new_case(http, "Operation Finch")
    sent = expect(
        http.post("owner", f"{API}/cases/{case_id}/agency-shares", {"agencies": [http.other_slug]}),
        201,
    )["items"]
    expect(
        http.post(
            "foreigner",
            f"{API}/agency-shares/{sent[0]['id']}/accept",
            {"receiving_user": south["rhea"], "name": "Finch, from North"},
        ),
        200,
    )
    _signed_in(http, http.slug, "olga")
    text = http.client.get("/cases?view=advanced&tab=cases&applied=1&q=Operation+Finch").text
    assert 'data-sharing-state="sending"' in text
    assert "Sending: sent to another agency" in text  # the words behind the icon
    _signed_in(http, http.other_slug, "rhea")
    text = http.client.get("/cases?view=advanced&tab=cases&applied=1&q=Finch").text
    assert text.count('data-sharing-state="receiving"') == 2  # the source and her local case
    assert "(sent by North)" in text and "olga@north.example" in text
    assert f'href="/cases/{case_id}"' not in text  # the source case has no page here


def test_s_xc_1_and_2_alerts_and_the_search_over_http(
    http: HttpCast, south: dict[str, Any]
) -> None:
    first, _ = _new_case(http, "Operation Heron")
    second, _ = _new_case(http, "Operation Egret")
    for case_id in (first, second):
        expect(
            http.post(
                "owner",
                f"{API}/cases/{case_id}/targets",
                {
                    "kind": "suspect",
                    "name": "Hal",
                    "identifiers": [
                        {"type": "email", "value": "Hal@Example.org", "deconfliction": True}
                    ],
                },
            ),
            201,
        )
    alerts = expect(http.get("owner", f"{API}/cases/{first}/x-case-alerts"), 200)["items"]
    assert [a["case"]["case_id"] for a in alerts] == [second]
    assert expect(http.get("owner", f"{API}/cases/{first}"), 200)["x_case_alert"] == 1
    expect(http.get("outsider", f"{API}/cases/{first}/x-case-alerts"), 404, "not_found")
    expect(http.get("foreigner", f"{API}/cases/{first}/x-case-alerts"), 404, "not_found")
    expect(http.get(None, f"{API}/cases/{first}/x-case-alerts"), 401)
    # south searches north: the agreement of the module has no search switched on
    body = {"type": "email", "value": "hal@example.org"}
    expect(http.post("foreigner", f"{API}/deconfliction/search", body), 403, "agreement_required")
    expect(http.post("foreigner", f"{API}/deconfliction/search", {"type": "email"}), 422)
    _signed_in(http, http.slug, "olga")
    text = http.client.get("/cases?view=advanced&tab=cases&applied=1&q=Operation+Heron").text
    assert "X-Case alert: 1 other case shares an identifier with this one" in text
    page = http.client.get(f"/cases/{first}").text  # Manage case
    assert "X-Case alert" in page and f'href="/cases/{second}"' in page
    assert "email hal@example.org" in page


# -- adversarial: what a received case lets the receivers learn through the list (S-AG-4, S-ACC-3)
def _sent_and_accepted(http: HttpCast, south: dict[str, Any]) -> tuple[str, str, str]:
    """A north case with a secret property and external id, sent to south and finalised."""
    word = uuid.uuid4().hex[:10]
    svc = http.cast.fresh()
    case_id = svc.create_case(
        http.cast.agency,
        http.cast.owner,
        "patient",
        f"Operation {word[:4]}",
        properties={"codeword": f"bluebird{word}"},
        external_id=f"ext{word}",
        owner=Principal("user", http.cast.owner),
    )
    body = {"agencies": [http.other_slug], "units": {http.other_slug: [south["unit"]]}}
    sent = expect(http.post("owner", f"{API}/cases/{case_id}/agency-shares", body), 201)
    share = sent["items"][0]["id"]
    expect(
        http.post(
            "foreigner", f"{API}/agency-shares/{share}/accept", {"receiving_user": south["rhea"]}
        ),
        200,
    )
    return case_id, word, f"Operation {word[:4]}"


def _listed(http: HttpCast, who: str, **params: str) -> list[str]:
    got = expect(http.get(who, f"{API}/cases", params={**params, "count": "true"}), 200)
    ids = [i["case_id"] for i in got["items"]]
    assert got["count"] == len(ids), got  # the count answers the same as the rows
    return ids


def test_s_ag_4_text_search_finds_a_received_case_by_its_summary_only(
    http: HttpCast, south: dict[str, Any]
) -> None:
    case_id, word, name = _sent_and_accepted(http, south)
    for who in ("rhea", "umar"):
        assert case_id in _listed(http, who, q=name.lower())  # the name is in the summary
        assert case_id not in _listed(http, who, q=f"bluebird{word}")  # a property: never
        assert case_id not in _listed(http, who, q=f"ext{word}")  # the external id: never
    # the sender's own users still find it by property and external id
    assert case_id in _listed(http, "owner", q=f"bluebird{word}")
    assert case_id in _listed(http, "owner", q=f"ext{word}")


def test_s_acc_3_owner_filter_never_matches_a_case_of_another_agency(
    http: HttpCast, south: dict[str, Any]
) -> None:
    case_id, _, _ = _sent_and_accepted(http, south)
    owner = f"user:{http.cast.owner}"
    assert case_id in _listed(http, "owner", owner=owner)
    for who in ("rhea", "umar"):
        assert case_id in _listed(http, who)
        assert case_id not in _listed(http, who, owner=owner)


def _signed_in_form(http: HttpCast, agency: str, username: str) -> str:
    """Signed in through the API; the screens' CSRF token."""
    http.client.cookies.clear()
    signed = http.client.post(
        f"{API}/session", json={"agency": agency, "username": username, "password": PASSWORD}
    )
    assert signed.status_code == 200, signed.text
    return str(signed.json()["csrf_token"])


def test_s_ag_2_the_send_and_finalise_screens_refuse_odd_ids_cleanly(
    http: HttpCast, south: dict[str, Any]
) -> None:
    """Hostile form values (digits Python calls digits but int() refuses: "²", "١٢") never
    answer 500: an odd target or unit is not one of the choices, an odd receiving user is
    refused on its field; nothing is written."""
    case_id, target = _new_case(http, "Operation Odd")
    token = _signed_in_form(http, http.slug, "olga")
    for odd in ("²", "١٢", "𝟗"):
        fields = {"agencies": http.other_slug, "targets": [str(target), odd], "csrf_token": token}
        sent = http.client.post(f"/cases/{case_id}/share/send", data=fields, follow_redirects=False)
        assert sent.status_code in (303, 422), sent.text[:400]
        fields = {"agencies": http.other_slug, "units": odd, "csrf_token": token}
        sent = http.client.post(f"/cases/{case_id}/share/send", data=fields, follow_redirects=False)
        assert sent.status_code in (303, 409, 422), sent.text[:400]
    shares = expect(http.get("owner", f"{API}/cases/{case_id}/agency-shares"), 200)["items"]
    assert len(shares) == 1 and shares[0]["targets"] == [target]
    share_id = shares[0]["id"]
    token = _signed_in_form(http, http.other_slug, "fred")
    for odd in ("²", "١٢"):
        fields = {"receiving_user": odd, "csrf_token": token}
        done = http.client.post(f"/agency-shares/{share_id}/accept", data=fields)
        assert done.status_code == 422, done.text[:400]
        assert "Choose the person who receives the case" in done.text
    assert expect(http.get("foreigner", f"{API}/agency-shares/{share_id}"), 200)["status"] == (
        "pending"
    )


def test_s_ag_1_and_2_a_disabled_agreement_or_a_revoke_ends_reading_at_the_next_request(
    http: HttpCast, south: dict[str, Any]
) -> None:
    """Every door the receivers read through closes at once: the summary, the share, explain,
    the local case's received list and the case list; a re-enabled agreement opens them again,
    a revoke for good."""
    case_id, target = _new_case(http, "Operation Shutter")
    body = {"agencies": [http.other_slug], "targets": [target]}
    sent = expect(http.post("owner", f"{API}/cases/{case_id}/agency-shares", body), 201)
    share = f"{API}/agency-shares/{sent['items'][0]['id']}"
    local = expect(
        http.post("foreigner", f"{share}/accept", {"receiving_user": south["rhea"]}), 200
    )
    doors = [f"{share}/case", share, f"{share}/access"]

    def reads() -> list[bool]:
        seen = [http.get("rhea", p).status_code == 200 for p in doors]
        got = expect(http.get("rhea", f"{API}/cases/{local['local_case_id']}/received"), 200)
        listed = expect(http.get("rhea", f"{API}/cases", params={"q": "shutter"}), 200)
        return [*seen, bool(got["items"]), case_id in [i["case_id"] for i in listed["items"]]]

    assert reads() == [True] * 5
    agreements = expect(http.get("foreigner", f"{API}/agreements"), 200)["items"]
    agreement = next(a["id"] for a in agreements if a["status"] == "approved")
    path = f"{API}/agreements/{agreement}"
    expect(http.call("foreigner", "PATCH", path, {"enabled": False}), 200)
    assert reads() == [False] * 5
    for p in doors:
        expect(http.get("rhea", p), 404, "not_found")  # never 403
    expect(http.call("foreigner", "PATCH", path, {"enabled": True}), 200)
    assert reads() == [True] * 5
    expect(http.post("owner", f"{share}/revoke", {"reason": "done"}), 200)
    assert reads() == [False] * 5
