"""Field devices over HTTP (SPEC §8, §9): the OpenRosa receiver and the CommCare restore."""

from __future__ import annotations

import base64
import hashlib
import uuid
from xml.etree import ElementTree

import httpx

from caseshare.core.casexml import CASE_NS
from caseshare.core.restore import RESPONSE_NS, SYNC_NS, state_hash
from tests.http.cast import PASSWORD, HttpCast
from tests.services.forms import block, create, form, index, update

OR = f"{{{RESPONSE_NS}}}"


def _auth(http: HttpCast, who: str, password: str = PASSWORD, suffix: str = "") -> dict[str, str]:
    name = http.cast.store.user(http.id(who)).username + suffix
    encoded = base64.b64encode(f"{name}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def _submit(
    http: HttpCast,
    who: str | None,
    xml: str | bytes,
    *,
    raw: bool = False,
    slug: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    http.client.cookies.clear()
    sent = (_auth(http, who) if who else {}) | (headers or {})
    url = f"/a/{slug or http.slug}/receiver/"
    data = xml.encode() if isinstance(xml, str) else xml
    if raw:
        return http.client.post(url, content=data, headers=sent | {"Content-Type": "text/xml"})
    files = {
        "xml_submission_file": ("form.xml", data, "text/xml"),
        "photo.jpg": ("photo.jpg", b"\xff\xd8 not really a jpeg", "image/jpeg"),
    }
    return http.client.post(url, files=files, headers=sent)


def _restore(
    http: HttpCast, who: str | None, slug: str | None = None, **params: str
) -> httpx.Response:
    http.client.cookies.clear()
    return http.client.get(
        f"/a/{slug or http.slug}/phone/restore/",
        params={"version": "2.0", **params},
        headers=_auth(http, who) if who else {},
    )


def _message(response: httpx.Response, status: int, nature: str) -> str:
    assert response.status_code == status, response.text[:500]
    assert response.headers["X-OpenRosa-Version"] == "1.0"
    root = ElementTree.fromstring(response.content)
    assert root.tag == f"{OR}OpenRosaResponse"
    message = root.find(f"{OR}message")
    assert message is not None and message.get("nature") == nature, response.text
    return message.text or ""


def _restored(response: httpx.Response) -> tuple[str, dict[str, ElementTree.Element]]:
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("application/xml")
    assert response.headers["X-OpenRosa-Version"] == "1.0"
    root = ElementTree.fromstring(response.content)
    token = root.findtext(f"{{{SYNC_NS}}}Sync/{{{SYNC_NS}}}restore_id")
    assert token
    cases = {c.get("case_id", ""): c for c in root.iter(f"{{{CASE_NS}}}case")}
    return token, cases


def _new_id() -> str:
    return f"dev-{uuid.uuid4().hex[:12]}"


def test_devices_need_basic_auth_in_their_own_agency(http: HttpCast) -> None:
    xml = form(block(_new_id(), create()))
    for response in (_submit(http, None, xml), _restore(http, None)):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Basic realm=")
        assert response.json()["code"] == "insufficient_access"
    # a bearer token is not what a device sends
    bearer = http.client.get(f"/a/{http.slug}/phone/restore/", headers=http.headers("owner"))
    assert bearer.status_code == 401
    wrong = http.client.get(
        f"/a/{http.slug}/phone/restore/", headers=_auth(http, "outsider", "wrong password")
    )
    assert wrong.status_code == 401
    # a user of another agency is unknown here, by plain name or name@agency
    assert _submit(http, "foreigner", xml).status_code == 401
    assert _restore(http, "foreigner").status_code == 401
    assert (
        http.client.get(
            f"/a/{http.slug}/phone/restore/",
            headers=_auth(http, "foreigner", suffix=f"@{http.other_slug}"),
        ).status_code
        == 401
    )
    # an agency that does not exist: the same 401
    assert _restore(http, "owner", slug="no-such-agency").status_code == 401
    # name@agency in the agency's own address works, and nothing above was applied
    named = http.client.get(
        f"/a/{http.slug}/phone/restore/", headers=_auth(http, "owner", suffix=f"@{http.slug}")
    )
    _restored(named)
    # the foreigner restores in his own agency
    _restored(_restore(http, "foreigner", slug=http.other_slug))


def test_receiver_head_announces_the_size_limit(http: HttpCast) -> None:
    http.client.cookies.clear()
    url = f"/a/{http.slug}/receiver/"
    assert http.client.head(url).status_code == 401
    response = http.client.head(url, headers=_auth(http, "owner"))
    assert response.status_code == 204
    assert response.headers["X-OpenRosa-Accept-Content-Length"] == str(5 * 1024 * 1024)


def test_submit_multipart_and_raw_then_restore(http: HttpCast) -> None:
    case_id = _new_id()
    message = _message(
        _submit(http, "owner", form(block(case_id, create(name="From phone")))),
        201,
        "submit_success",
    )
    assert message
    row = http.cast.store.case_row(http.cast.agency, case_id)
    assert row is not None
    state = http.cast.store.case_states(http.cast.agency, [case_id])[case_id][1]
    assert state["name"] == "From phone"
    # the colleague shares the owner's group: the case reaches his device
    token, cases = _restored(_restore(http, "colleague"))
    assert case_id in cases
    # a raw text/xml body (as CommCare on Android) updates it
    raw = form(block(case_id, update(colour="green"), date="2024-01-02T10:00:00Z"))
    _message(_submit(http, "colleague", raw, raw=True), 201, "submit_success")
    state = http.cast.store.case_states(http.cast.agency, [case_id])[case_id][1]
    assert state["properties"]["colour"] == "green"
    # application/xml too
    http.client.cookies.clear()
    again = http.client.post(
        f"/a/{http.slug}/receiver/",
        content=form(block(case_id, update(colour="blue"), date="2024-01-03T10:00:00Z")).encode(),
        headers=_auth(http, "owner") | {"Content-Type": "application/xml; charset=utf-8"},
    )
    _message(again, 201, "submit_success")
    # incremental: the owner's changed case is sent to the colleague's device
    token2, cases = _restored(_restore(http, "colleague", since=token))
    assert case_id in cases
    assert cases[case_id].findtext(f"{{{CASE_NS}}}update/{{{CASE_NS}}}colour") == "blue"
    # nothing changed since: nothing sent
    _, cases = _restored(_restore(http, "colleague", since=token2))
    assert case_id not in cases


def test_a_duplicate_is_a_success(http: HttpCast) -> None:
    xml = form(block(_new_id(), create()), instance=uuid.uuid4().hex)
    _message(_submit(http, "owner", xml), 201, "submit_success")
    message = _message(_submit(http, "owner", xml, raw=True), 201, "submit_success")
    assert "nothing changed" in message


def test_the_device_sync_token_keeps_its_own_forms_out_of_its_restore(http: HttpCast) -> None:
    token, _ = _restored(_restore(http, "owner"))
    own, other = _new_id(), _new_id()
    headers = {"X-CommCareHQ-LastSyncToken": token}
    _message(
        _submit(http, "owner", form(block(own, create())), headers=headers), 201, "submit_success"
    )
    _message(_submit(http, "colleague", form(block(other, create()))), 201, "submit_success")
    _, cases = _restored(_restore(http, "owner", since=token))
    assert other in cases and own not in cases


def test_refused_forms_are_openrosa_failures_and_stored_as_errors(http: HttpCast) -> None:
    instance = uuid.uuid4().hex
    bad_index = form(
        block(_new_id(), create() + index("parent", "no-such-case")), instance=instance
    )
    message = _message(_submit(http, "owner", bad_index), 422, "processing_failure")
    assert message.startswith("invalid_index: ")
    [stored] = http.cast.store.submissions(http.cast.agency, instance)
    assert stored.status == "error" and stored.problem.startswith("invalid_index")
    # the reader holds a read share only: a form may not change the case (S-TX-7)
    case_id = http.new_case("Read only here")
    denied = form(block(case_id, update(colour="red")))
    message = _message(_submit(http, "reader", denied), 403, "processing_failure")
    assert message.startswith("insufficient_access: ")
    state = http.cast.store.case_states(http.cast.agency, [case_id])[case_id][1]
    assert "colour" not in state["properties"]
    # a case block without a case id
    broken = form(f'<case xmlns="{CASE_NS}" case_id=""><update><a>1</a></update></case>')
    _message(_submit(http, "owner", broken, raw=True), 422, "processing_failure")
    # not XML at all
    _message(_submit(http, "owner", "<data><unclosed>", raw=True), 422, "processing_failure")


def test_malicious_xml_is_refused_never_a_crash(http: HttpCast) -> None:
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        f'<data><case xmlns="{CASE_NS}" case_id="c1"><update><p>&lol3;</p></update></case></data>'
    )
    external = (
        '<?xml version="1.0"?><!DOCTYPE data [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        f'<data><case xmlns="{CASE_NS}" case_id="c1"><update><p>&xxe;</p></update></case></data>'
    )
    for payload in (laughs, external):
        for raw in (True, False):
            message = _message(_submit(http, "owner", payload, raw=raw), 422, "processing_failure")
            assert message.startswith("invalid_case_block: ")
    not_utf8 = b'<data><case xmlns="' + CASE_NS.encode() + b'" case_id="\xff"/></data>'
    message = _message(_submit(http, "owner", not_utf8, raw=True), 422, "processing_failure")
    assert message.startswith("invalid_case_block: ")


def test_bodies_the_receiver_does_not_read(http: HttpCast) -> None:
    big = b"<data>" + b"x" * (5 * 1024 * 1024) + b"</data>"
    message = _message(_submit(http, "owner", big, raw=True), 413, "processing_failure")
    assert message.startswith("validation_error: ")
    _message(_submit(http, "owner", big), 413, "processing_failure")
    http.client.cookies.clear()
    url = f"/a/{http.slug}/receiver/"
    auth = _auth(http, "owner")
    xml = form(block(_new_id(), create()))
    for response in (
        http.client.post(url, content=xml, headers=auth | {"Content-Type": "application/json"}),
        http.client.post(url, content=xml, headers=auth),
        http.client.post(url, files={"other": ("f.xml", xml.encode())}, headers=auth),
        http.client.post(
            url,
            content=b"--x\r\nbroken",
            headers=auth | {"Content-Type": "multipart/form-data; boundary=x"},
        ),
    ):
        assert _message(response, 422, "processing_failure").startswith("validation_error: ")


def test_restore_refusals(http: HttpCast) -> None:
    # an unknown token: 412, so the phone restores in full
    message = _message(_restore(http, "owner", since="not-a-token"), 412, "ota_restore_error")
    assert message.startswith("stale_sync_token: ")
    # another user's token is stale for me
    token, cases = _restored(_restore(http, "colleague"))
    _message(_restore(http, "owner", since=token), 412, "ota_restore_error")
    # the case state hash must match what the server sent
    _message(
        _restore(http, "colleague", since=token, state="ccsh:" + "0" * 32),
        412,
        "ota_restore_error",
    )
    token2, _ = _restored(_restore(http, "colleague", since=token, state=state_hash(cases.keys())))
    assert token2 != token
    # a device that lost the answer may restore from the same token again
    _restored(_restore(http, "colleague", since=token))
    _message(_restore(http, "owner", version="1.0"), 422, "ota_restore_error")
    assert _restore(http, "owner", since="x" * 101).status_code == 422


def test_restore_sends_only_visible_cases(http: HttpCast) -> None:
    case_id = http.new_case("Reader sees it")
    _, cases = _restored(_restore(http, "owner"))
    assert case_id in cases and http.cast.private in cases
    _, cases = _restored(_restore(http, "outsider"))
    assert case_id not in cases and http.cast.case not in cases


def test_failure_messages_are_well_formed_xml(http: HttpCast) -> None:
    # the parser's sentence may quote the form; whatever it holds, the answer parses
    case_id = "bad\x01id"
    xml = f'<data><case xmlns="{CASE_NS}" case_id="{case_id}"><create/></case></data>'
    message = _message(_submit(http, "owner", xml, raw=True), 422, "processing_failure")
    assert message.startswith("invalid_case_block: ")


def test_s_tx_5_a_case_id_no_address_can_carry_is_a_bad_block(http: HttpCast) -> None:
    """A case a device makes is the API's and the web's like any other: a case_id with '/', a
    control character, or one that is '.' or '..' (which clients fold away) could be listed
    but never opened, so the form is refused (S-TX-5, a bad block) and nothing is stored."""
    suffix = uuid.uuid4().hex[:8]
    for case_id in (f"dev/{suffix}", f"dev\x7f{suffix}", ".", ".."):
        answer = _submit(http, "owner", form(block(case_id, create(name="Unreachable"))))
        assert _message(answer, 422, "processing_failure").startswith("invalid_case_block: ")
        http.client.cookies.clear()
        listed = http.client.get("/api/v1/cases?q=Unreachable", headers=http.headers("owner"))
        assert listed.json()["items"] == [], case_id


def test_s_sync_3_the_restore_is_offered_as_json_over_http(http: HttpCast) -> None:
    """The same restore as JSON (format=json), with the same sync tokens and refusals."""
    case_id = _new_id()
    _message(
        _submit(http, "owner", form(block(case_id, create(name="Json")))), 201, "submit_success"
    )
    response = _restore(http, "colleague", format="json")
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("application/json")
    data = response.json()
    [case] = [c for c in data["cases"] if c["case_id"] == case_id]
    assert case["case_name"] == "Json" and case["date_opened"]
    assert data["incremental"] is False
    held = {c["case_id"] for c in data["cases"]}
    assert data["state_hash"] == state_hash(held)
    # an incremental JSON restore from that token, with the device's state hash
    later = _restore(
        http, "colleague", format="json", since=data["restore_id"], state=data["state_hash"]
    )
    assert later.status_code == 200 and later.json()["incremental"] is True
    assert case_id not in {c["case_id"] for c in later.json()["cases"]}
    # the XML restore accepts the JSON restore's token: one sync log
    _restored(_restore(http, "colleague", since=later.json()["restore_id"]))
    # refusals are the JSON error body with the same status
    stale = _restore(http, "colleague", format="json", since="no-such-token")
    assert stale.status_code == 412 and stale.json()["code"] == "stale_sync_token"
    bad = _restore(http, "colleague", format="yaml")
    assert bad.status_code == 422
    assert _restore(http, None, format="json").status_code == 401
    # another user's token is stale for this one
    mine = _restore(http, "owner", format="json").json()["restore_id"]
    assert _restore(http, "colleague", format="json", since=mine).status_code == 412


def test_s_tx_5_a_utf16_form_is_refused_and_stored_on_both_stores(http: HttpCast) -> None:
    """S-TX-5 and §14: a form encoded as UTF-16 or UTF-32, with or without a byte order mark,
    is refused as ``invalid_case_block`` in OpenRosa XML and stored as an error, on SQLite and
    PostgreSQL alike. Without a mark its NUL bytes passed as UTF-8: SQLite applied the form,
    PostgreSQL answered a JSON 422 and kept no record of it."""
    for codec in ("utf-16", "utf-16-le", "utf-16-be", "utf-32"):
        case_id, instance = _new_id(), uuid.uuid4().hex
        xml = form(block(case_id, create(name="Wide")), instance=instance).encode(codec)
        for raw in (True, False):
            message = _message(_submit(http, "owner", xml, raw=raw), 422, "processing_failure")
            assert message.startswith("invalid_case_block: ") and "UTF-8" in message, codec
        assert http.cast.store.case_states(http.cast.agency, [case_id]) == {}, codec
        # not decoded, so filed under the digest of its bytes
        digest = f"sha256:{hashlib.sha256(xml).hexdigest()}"
        stored = http.cast.store.submissions(http.cast.agency, digest)
        assert stored and {s.status for s in stored} == {"error"}, codec
        assert "\x00" not in stored[0].xml


def test_s_tx_7_a_refusal_for_a_case_out_of_reach_says_no_access_in_words(http: HttpCast) -> None:
    """S-TX-7 and §14: a form that updates a case the user cannot see is ``insufficient_access``
    with a sentence a person reads ("you have no access"), not the level's machine word
    ("you have none access")."""
    denied = form(block(http.cast.private, update(colour="red")))
    message = _message(_submit(http, "outsider", denied), 403, "processing_failure")
    assert message.startswith("insufficient_access: ") and "you have no access" in message
    case_id = http.new_case("Read only for the reader")
    message = _message(
        _submit(http, "reader", form(block(case_id, update(colour="red")))),
        403,
        "processing_failure",
    )
    assert "you have read access" in message


def test_s_tx_1_a_form_of_one_case_in_five_blocks_says_five_blocks(http: HttpCast) -> None:
    """S-TX-1: a form may hold several blocks of one case; the success message counts the
    blocks it applied (it counted the cases: "1 case block(s)" for five blocks)."""
    case_id = _new_id()
    xml = form(
        block(case_id, update(a="1")),
        block(case_id, create(name="Five blocks")),
        block(case_id, update(a="2")),
        block(case_id, "<close/>"),
        block(case_id, update(a="3")),
    )
    message = _message(_submit(http, "owner", xml), 201, "submit_success")
    assert message.endswith("was applied: 5 case block(s)."), message
    state = http.cast.store.case_states(http.cast.agency, [case_id])[case_id][1]
    assert state["properties"] == {"a": "3"} and state["closed"] is True
