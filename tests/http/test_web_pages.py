"""The web pages over the real app, on SQLite and PostgreSQL, with the standard cast: the same
four access tests on every case page (signed out → sign in; outsider and other agency → the 404
page; read-only → the 403 page on every write; the owner may), CSRF on every form, and HTML
error pages for browser routes while /api keeps JSON."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.http.cast import PASSWORD, HttpCast

PAGES = ("", "/edit", "/close", "/owner", "/delete", "/targets/new")
WRITES = ("/edit", "/close", "/owner", "/delete", "/favourite", "/targets/new")


def _as(http: HttpCast, who: str | None) -> str:
    """Sign the test client in as ``who`` (None: signed out); the session's CSRF token."""
    http.client.cookies.clear()
    if who is None:
        return ""
    agency = http.other_slug if who == "foreigner" else http.slug
    username = http.cast.store.user(http.id(who)).username
    signed = http.client.post(
        "/api/v1/session", json={"agency": agency, "username": username, "password": PASSWORD}
    )
    assert signed.status_code == 200, signed.text
    return str(signed.json()["csrf_token"])


def _page(response: httpx.Response, status: int, heading: str | None = None) -> str:
    assert response.status_code == status, (response.request.url, response.text[:400])
    assert response.headers["content-type"].startswith("text/html")
    if heading is not None:
        assert f"<h1>{heading}" in response.text, response.text[:400]
    return response.text


@pytest.mark.parametrize("tail", PAGES)
def test_the_four_access_tests_on_every_case_page(http: HttpCast, tail: str) -> None:
    case = http.new_case(f"Page {tail or 'case'}")
    path = f"/cases/{case}{tail}"
    _as(http, None)
    away = http.client.get(path, follow_redirects=False)
    assert away.status_code == 303 and away.headers["location"].startswith("/signin?next=")
    for who in ("outsider", "foreigner"):
        _as(http, who)
        _page(http.client.get(path), 404, "Page not found")
    _as(http, "reader")
    _page(http.client.get(path), 200 if tail == "" else 403)
    _as(http, "owner")
    _page(http.client.get(path), 200)


@pytest.mark.parametrize("tail", WRITES)
def test_every_case_form_needs_the_csrf_token_and_its_access(http: HttpCast, tail: str) -> None:
    case = http.new_case(f"Form {tail}")
    path = f"/cases/{case}{tail}"
    form = {"name": "Changed", "owner": f"user:{http.id('owner')}", "on": "1", "kind": "suspect"}
    token = _as(http, "owner")
    refused = http.client.post(path, data=form)  # no token: a forged or stale form
    assert "expired" in _page(refused, 403)
    for who in ("outsider", "foreigner"):
        token = _as(http, who)
        _page(http.client.post(path, data=form | {"csrf_token": token}), 404)
    token = _as(http, "reader")
    if tail == "/favourite":  # starring changes nobody's access: a reader may
        done = http.client.post(path, data=form | {"csrf_token": token}, follow_redirects=False)
        assert done.status_code == 303
    else:
        _page(http.client.post(path, data=form | {"csrf_token": token}), 403)
    token = _as(http, "owner")
    done = http.client.post(path, data=form | {"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303, done.text[:400]


def test_browser_routes_answer_pages_and_the_api_keeps_json(http: HttpCast) -> None:
    _as(http, "owner")
    _page(http.client.get("/no/such/page"), 404, "Page not found")
    api = http.client.get("/api/v1/no/such/thing")
    assert api.status_code == 404 and api.json()["code"] == "not_found"
    _page(http.client.get("/cases/k1/no-such-screen"), 404, "Page not found")


def test_s_acc_7_each_layout_lists_exactly_what_the_reader_may_view(http: HttpCast) -> None:
    case = http.new_case("Listed for the reader")
    for who, sees in (("reader", True), ("outsider", False)):
        _as(http, who)
        for view in ("advanced&tab=cases&applied=1", "grid&scope=all", "tree"):
            text = _page(http.client.get(f"/cases?view={view}&q=Listed+for"), 200)
            assert (f"/cases/{case}" in text) is sees, (who, view)


def test_the_view_cases_setting_is_saved_from_the_page(http: HttpCast) -> None:
    token = _as(http, "colleague")
    done = http.client.post("/cases/layout", data={"layout": "tree", "csrf_token": token})
    assert "<h1>View i-cases" in _page(done, 200)
    assert "<h1>View i-cases" in _page(http.client.get("/cases"), 200)
    refused = http.client.post("/cases/layout", data={"layout": "cards", "csrf_token": token})
    assert 'data-code="validation_error"' in _page(refused, 422)


def test_the_people_picker_fragment_names_people_and_never_other_agencies(
    http: HttpCast,
) -> None:
    _as(http, "owner")
    text = _page(http.client.get("/pick?q=o&kinds=user&field=who"), 200)
    assert "Olga Owner" in text and "Fred Foreign" not in text
    assert re.search(r'name="who" value="user:\d+"', text)
    _as(http, None)
    assert http.client.get("/pick?q=o", follow_redirects=False).status_code == 303


def test_s_2_targets_are_added_from_the_case_page_and_told_in_its_history(
    http: HttpCast,
) -> None:
    case = http.new_case("Targets")
    token = _as(http, "owner")
    form = {
        "csrf_token": token,
        "kind": "person_of_interest",
        "name": "Rex Rivers",
        "type": "plate",
        "value": "ab-12 cde",
        "deconfliction": "1",
    }
    refused = http.client.post(f"/cases/{case}/targets/new", data=form | {"value": "--"})
    text = _page(refused, 422)
    assert 'id="value-error"' in text and "not a valid plate identifier" in text
    assert 'value="Rex Rivers"' in text  # the input is kept
    done = http.client.post(f"/cases/{case}/targets/new", data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("#targets")
    page = _page(http.client.get(f"/cases/{case}"), 200)
    assert "Person of interest" in page and "Vehicle plate: " in page and "ab-12 cde" in page
    assert "added the target Rex Rivers (person of interest) with 1 identifier(s)" in page
    _as(http, "reader")
    page = _page(http.client.get(f"/cases/{case}"), 200)
    assert "Rex Rivers" in page and "Add a target" not in page
