"""Regressions from an adversarial review of the HTTP service: each test is a bug it found.

Each failed against the code as reviewed and passes since its fix; the docstring says what was
wrong ("Wrong:"), what happens instead ("Should:"), and which SPEC rule or promise it broke.
"""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from tests.http.cast import HttpCast, expect
from tests.http.directory_cast import API, new_user, unique_name


def _lenient(http: HttpCast) -> TestClient:
    """A client on the same app that reports a server error as a 500 instead of raising it."""
    return TestClient(http.client.app, raise_server_exceptions=False)


# -- 1. existence leaks --------------------------------------------------------------------------


def test_a_share_of_an_invisible_case_is_not_found_like_a_missing_one(http: HttpCast) -> None:
    """GET/PATCH/DELETE /shares/{id} on a share of a case the caller cannot see.

    Wrong: the outsider (same agency, no grant) gets 404 with the message "Case '<case id>' was
    not found." for an existing share id, but "Share <id> was not found." for a missing one.
    Counting share ids up from 1, an outsider learns which share ids exist and the case id of
    every shared case, which they can neither list nor read.
    Should: answer exactly as for a share id that does not exist (same code, same message shape,
    no case id). Breaks SPEC S-ACC-3 / §14 ("not found, never forbidden, so existence does not
    leak"), docs/api/sharing.md ("a refusal never tells an outsider anything about a case they
    cannot see").
    """
    case = http.new_case(f"secret-{uuid.uuid4().hex[:6]}")
    rows = expect(http.get("owner", f"{API}/cases/{case}/shares?derived=false"), 200)["items"]
    share_id = rows[0]["id"]
    missing_id = 2**40
    for method, body in (("GET", None), ("PATCH", {"level": "edit"}), ("DELETE", None)):
        existing = http.call("outsider", method, f"{API}/shares/{share_id}", body)
        missing = http.call("outsider", method, f"{API}/shares/{missing_id}", body)
        expect(existing, 404, "not_found")
        expect(missing, 404, "not_found")
        assert case not in existing.text, (
            f"{method}: the refusal names the hidden case: {existing.text}"
        )
        assert existing.json()["message"].replace(str(share_id), "N") == missing.json()[
            "message"
        ].replace(str(missing_id), "N"), (existing.text, missing.text)


# -- 2. authentication ---------------------------------------------------------------------------


def test_an_admin_password_reset_lifts_the_sign_in_lock(http: HttpCast) -> None:
    """After 5 failed sign-ins the user is locked; an admin then resets the password.

    Wrong: signing in with the new password still answers 429 for the rest of the 15 minutes —
    the reset does not clear the failure counter, although the 429 message itself says "or ask an
    admin to reset the password".
    Should: an admin reset ends the lock-out, so the new password works at once (200).
    Breaks docs/api/README.md ("answer 429 ... until the window has passed (or an admin resets the
    password)").
    """
    name = unique_name()
    uid = new_user(http, username=name, password="first-password-1")["id"]
    for _ in range(5):
        http.post(
            None, f"{API}/session", {"agency": http.slug, "username": name, "password": "nope-nope"}
        )
    expect(
        http.post(
            None,
            f"{API}/session",
            {"agency": http.slug, "username": name, "password": "first-password-1"},
        ),
        429,
        "insufficient_access",
    )
    expect(
        http.call("admin", "PUT", f"{API}/users/{uid}/password", {"password": "reset-password-2"}),
        204,
    )
    expect(
        http.post(
            None,
            f"{API}/session",
            {"agency": http.slug, "username": name, "password": "reset-password-2"},
        ),
        200,
    )


def test_device_basic_auth_with_a_non_ascii_header_is_401(http: HttpCast) -> None:
    """A device request whose Authorization header is "Basic " plus non-ASCII (Latin-1) bytes.

    Wrong: ``base64.b64decode`` raises a plain ValueError ("string argument should contain only
    ASCII characters"), which basic_user does not catch (it catches binascii.Error only): 500,
    on an unauthenticated endpoint anyone can reach.
    Should: 401 "The basic auth header is malformed." with the Basic challenge, like any other
    malformed header. Breaks docs/api/devices.md (bad credentials → 401) and docs/api/README.md
    (every refusal is a §14 code, never a 500).
    """
    client = _lenient(http)
    header = {"Authorization": "Basic \u00e9t\u00e9:\u00e9t\u00e9".encode("latin-1")}
    restore = client.get(f"/a/{http.slug}/phone/restore/", headers=header)
    head = client.head(f"/a/{http.slug}/receiver/", headers=header)
    assert (restore.status_code, head.status_code) == (401, 401), (
        restore.status_code,
        restore.text[:200],
        head.status_code,
    )


# -- 4. bad input --------------------------------------------------------------------------------


def test_a_criteria_rule_whose_property_key_is_not_text_is_refused(http: HttpCast) -> None:
    """POST /rules with criteria {"field": "property", "key": {"a": 1}, ...}.

    Wrong: the rule is accepted (201) with a JSON object as the property name. From then on every
    access decision that evaluates the rule (any read of any case by the grantee, who-has-access,
    the share list of any case of the agency) raises TypeError (unhashable dict) → 500: one
    request by an admin takes case access down for the agency until the rule is deleted.
    Should: 422 validation_error at creation (a property name is text). Breaks S-RULE-1 (criteria
    are property conditions on names) and docs/api/README.md (never a 500; bad bodies are 422).
    """
    body = {
        "name": "bad key",
        "kind": "criteria",
        "grantee": f"user:{http.id('outsider')}",
        "level": "read",
        "criteria": {"field": "property", "op": "equals", "key": {"a": 1}, "value": "x"},
    }
    created = http.post("admin", f"{API}/rules", body)
    after = None
    if created.status_code == 201:
        try:
            client = _lenient(http)
            after = client.get(
                f"{API}/cases/{http.cast.case}/who-has-access", headers=http.headers("owner")
            ).status_code
        finally:
            http.call("admin", "DELETE", f"{API}/rules/{created.json()['id']}")
    assert created.status_code == 422, (
        f"rule accepted ({created.status_code}); who-has-access afterwards answered {after}"
    )


def test_blank_names_are_refused(http: HttpCast) -> None:
    """POST /groups, /roles, /location-types, /locations with a name of only spaces.

    Wrong: the pydantic check (min_length=1) runs before the route strips the name, so "   "
    passes and a group/role/location type named "" is created (201). Token names are refused
    the same way correctly (422) — these are not.
    Should: 422 validation_error, as for an empty name. Breaks docs/api/directory.md ("422
    validation_error (bad body ...)") and every UI/explanation that names principals by name
    (S-ACC-6 paths show "" for such a group).
    """
    results = {}
    for path, body in (
        (f"{API}/groups", {"name": "   "}),
        (f"{API}/roles", {"name": "   "}),
        (f"{API}/location-types", {"name": "   "}),
    ):
        results[path] = http.post("admin", path, body).status_code
    assert set(results.values()) == {422}, results


def test_patch_user_with_an_unknown_location_is_422(http: HttpCast) -> None:
    """PATCH /users/{id} {"locations": [<no such location>]} on an existing user.

    Wrong: 404 not_found ("Location 999999 was not found."), which a client reads as "this user
    does not exist"; POST /users with the same body answers 422 validation_error.
    Should: 422 validation_error, as documented for an unknown referenced id in a body.
    Breaks docs/api/directory.md ("422 validation_error (... unknown referenced id in a body ...)").
    """
    expect(
        http.call("admin", "PATCH", f"{API}/users/{http.id('outsider')}", {"locations": [2**40]}),
        422,
        "validation_error",
    )


def test_a_deeply_nested_json_body_is_422(http: HttpCast) -> None:
    """A JSON body nested 50 000 levels deep (POST /cases).

    Wrong: 400 (FastAPI's generic "There was an error parsing the body" after a RecursionError),
    a status that is in no row of the code → status table.
    Should: 422 validation_error like every other unreadable body. Breaks docs/api/README.md
    (one table maps §14 codes to statuses; validation_error is 422). Low severity.
    """
    body = "[" * 50_000 + "]" * 50_000
    response = http.client.post(
        f"{API}/cases",
        content=body,
        headers=http.headers("owner") | {"content-type": "application/json"},
    )
    expect(response, 422, "validation_error")


def test_issue8_no_list_endpoint_answers_a_bare_array(http: HttpCast) -> None:
    """Lists answer {"items": [...]} everywhere: no answer in the OpenAPI document is an array."""
    document = expect(http.get(None, "/api/v1/openapi.json"), 200)
    bare = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            for status, answer in operation.get("responses", {}).items():
                schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
                if schema.get("type") == "array":
                    bare.append(f"{method.upper()} {path} → {status}")
    assert bare == []
