"""Sign-in: sessions with CSRF, API tokens, the failed-sign-in limit and the HTML form."""

from __future__ import annotations

import base64
import re

from tests.http.cast import PASSWORD, HttpCast, expect


def _sign_in(http: HttpCast, who: str = "owner", password: str = PASSWORD) -> dict[str, object]:
    username = http.cast.store.user(http.id(who)).username
    http.client.cookies.clear()
    response = http.client.post(
        "/api/v1/session",
        json={"agency": http.slug, "username": username, "password": password},
    )
    return {"response": response, "username": username}


def test_session_sign_in_whoami_and_sign_out(http: HttpCast) -> None:
    got = _sign_in(http)
    body = expect(got["response"], 200)  # type: ignore[arg-type]
    assert body["user"]["id"] == http.id("owner")
    assert body["agency"]["slug"] == http.slug
    csrf = body["csrf_token"]
    assert csrf
    cookie = got["response"].headers["set-cookie"]  # type: ignore[attr-defined]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    me = expect(http.client.get("/api/v1/session"), 200)
    assert me["user"]["username"] == got["username"]
    expect(http.client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}), 204)
    expect(http.client.get("/api/v1/session"), 401, "insufficient_access")


def test_cookie_writes_need_the_csrf_header(http: HttpCast) -> None:
    body = expect(_sign_in(http)["response"], 200)  # type: ignore[arg-type]
    refused = http.client.post("/api/v1/tokens", json={"name": "no csrf"})
    expect(refused, 403, "insufficient_access")
    assert "X-CSRF-Token" in refused.json()["message"]
    wrong = http.client.post(
        "/api/v1/tokens", json={"name": "bad"}, headers={"X-CSRF-Token": "forged"}
    )
    expect(wrong, 403, "insufficient_access")
    ok = http.client.post(
        "/api/v1/tokens", json={"name": "with csrf"}, headers={"X-CSRF-Token": body["csrf_token"]}
    )
    expect(ok, 201)


def test_wrong_password_is_401_and_names_nothing(http: HttpCast) -> None:
    wrong = expect(_sign_in(http, "colleague", "not the password")["response"], 401)  # type: ignore[arg-type]
    assert wrong["code"] == "insufficient_access"
    unknown = http.client.post(
        "/api/v1/session", json={"agency": http.slug, "username": "nobody", "password": "x" * 9}
    )
    assert expect(unknown, 401)["message"] == wrong["message"]


def test_failed_sign_ins_are_rate_limited(http: HttpCast) -> None:
    svc = http.cast.fresh()
    user_id = svc.create_user(http.cast.agency, None, f"limited{http.id('owner')}")
    svc.set_password(http.cast.agency, None, user_id, PASSWORD)
    name = http.cast.store.user(user_id).username
    attempt = {"agency": http.slug, "username": name, "password": "wrong password"}
    for _ in range(5):
        expect(http.client.post("/api/v1/session", json=attempt), 401)
    locked = http.client.post("/api/v1/session", json=attempt | {"password": PASSWORD})
    expect(locked, 429, "insufficient_access")
    assert int(locked.headers["Retry-After"]) > 0
    assert "try again" in locked.json()["message"]


def test_tokens_are_created_listed_and_revoked_by_their_user(http: HttpCast) -> None:
    made = expect(http.post("colleague", "/api/v1/tokens", {"name": "script"}), 201)
    assert made["token"].startswith("cs_")
    mine = {"Authorization": f"Bearer {made['token']}"}
    expect(http.client.get("/api/v1/session", headers=mine), 200)
    listed = expect(http.get("colleague", "/api/v1/tokens"), 200)["items"]
    assert any(t["id"] == made["id"] and not t["revoked"] for t in listed)
    assert all("token" not in t for t in listed)
    # someone else cannot revoke it: it is not theirs, so it is not found
    expect(http.call("owner", "DELETE", f"/api/v1/tokens/{made['id']}"), 404, "not_found")
    expect(http.call("colleague", "DELETE", f"/api/v1/tokens/{made['id']}"), 204)
    http.client.cookies.clear()
    expect(http.client.get("/api/v1/session", headers=mine), 401, "insufficient_access")


def test_tokens_are_stored_hashed(http: HttpCast) -> None:
    made = expect(http.post("owner", "/api/v1/tokens", {"name": "hashed"}), 201)
    stored = [r[0] for r in http.cast.store.rows("SELECT token_hash FROM api_tokens")]
    assert made["token"] not in stored
    hashes = [r[0] for r in http.cast.store.rows("SELECT password_hash FROM users")]
    assert PASSWORD not in hashes
    assert any(h and h.startswith("$argon2id$") for h in hashes)


def test_a_deactivated_user_is_signed_out_everywhere(http: HttpCast) -> None:
    svc = http.cast.fresh()
    user_id = svc.create_user(http.cast.agency, None, f"leaver{http.id('owner')}")
    _, token = svc.create_token(user_id, "leaver")
    headers = {"Authorization": f"Bearer {token}"}
    http.client.cookies.clear()
    expect(http.client.get("/api/v1/session", headers=headers), 200)
    svc.set_active(http.cast.agency, None, user_id, False)
    expect(http.client.get("/api/v1/session", headers=headers), 401, "insufficient_access")


def test_html_sign_in_form_with_csrf(http: HttpCast) -> None:
    http.client.cookies.clear()
    form = http.client.get("/signin")
    assert form.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    username = http.cast.store.user(http.id("owner")).username
    fields = {"agency": http.slug, "username": username, "password": PASSWORD}
    forged = http.client.post("/signin", data=fields | {"csrf_token": "forged"})
    assert forged.status_code == 403 and "expired" in forged.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', forged.text)
    assert token is not None
    done = http.client.post(
        "/signin", data=fields | {"csrf_token": token.group(1)}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == "/"
    home = http.client.get("/")
    assert home.status_code == 200 and "Olga Owner" in home.text  # signed in: View cases


def test_errors_are_json_with_a_code(http: HttpCast) -> None:
    expect(http.get("owner", "/api/v1/no/such/thing"), 404, "not_found")
    bad = http.client.post("/api/v1/tokens", json={"name": ""}, headers=http.headers("owner"))
    expect(bad, 422, "validation_error")
    assert http.client.get("/api/v1/openapi.json").json()["info"]["title"] == "caseshare"
    assert http.client.get("/docs").status_code == 200


def test_deactivation_ends_sessions_for_good(http: HttpCast) -> None:
    """S-ACC-4: a session of a deactivated user stays dead after reactivation."""
    svc = http.cast.fresh()
    name = f"returner{http.id('owner')}"
    user_id = svc.create_user(http.cast.agency, None, name)
    svc.set_password(http.cast.agency, None, user_id, PASSWORD)
    http.client.cookies.clear()
    signed = http.client.post(
        "/api/v1/session", json={"agency": http.slug, "username": name, "password": PASSWORD}
    )
    expect(signed, 200)
    svc.set_active(http.cast.agency, None, user_id, False)
    svc.set_active(http.cast.agency, None, user_id, True)
    expect(http.client.get("/api/v1/session"), 401, "insufficient_access")


def test_the_sign_in_form_never_reuses_a_csrf_token_the_client_brought(http: HttpCast) -> None:
    http.client.cookies.clear()
    http.client.cookies.set("caseshare_csrf", "planted-by-someone-else")
    form = http.client.get("/signin")
    assert "planted-by-someone-else" not in form.text


def test_a_nul_in_an_agency_or_user_name_is_a_wrong_sign_in_on_both_stores(
    http: HttpCast,
) -> None:
    """No agency slug or user name holds a NUL, and PostgreSQL cannot even compare text with
    one: a sign-in naming one (the API, the device endpoints' basic auth) is the same 401 "wrong"
    on both stores — SQLite answered 401 and PostgreSQL 422 — and an agreement or an agency
    share to a slug with one is the same 404 as any unknown agency."""
    user = http.cast.store.user(http.id("owner")).username
    for agency, name in ((f"{http.slug}\x00", user), (http.slug, f"{user}\x00"), ("\x00", "\x00")):
        body = {"agency": agency, "username": name, "password": PASSWORD}
        expect(http.post(None, "/api/v1/session", body), 401, "insufficient_access")
    secret = base64.b64encode(f"{user}\x00:{PASSWORD}".encode()).decode()
    device = http.client.get(
        f"/a/{http.slug}/phone/restore/?version=2.0", headers={"Authorization": f"Basic {secret}"}
    )
    expect(device, 401, "insufficient_access")
    expect(http.post("admin", "/api/v1/agreements", {"partner": "south\x00"}), 404, "not_found")
    case_id = http.new_case("Sent nowhere")
    expect(
        http.post("owner", f"/api/v1/cases/{case_id}/agency-shares", {"agencies": ["x\x00"]}),
        404,
        "not_found",
    )
    # the owner can still sign in: nothing above spent one of her attempts
    body = {"agency": http.slug, "username": user, "password": PASSWORD}
    expect(http.post(None, "/api/v1/session", body), 200)
