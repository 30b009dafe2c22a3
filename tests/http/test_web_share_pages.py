"""Case share details and My account over the real app, on SQLite and PostgreSQL, with the
standard cast: the four access tests on the share page and every one of its forms, CSRF on
each, and My account for its own user only (issue 9)."""

from __future__ import annotations

import re

import pytest

from tests.http.cast import HttpCast
from tests.http.test_web_pages import _as, _page


def _forms(http: HttpCast, case: str) -> dict[str, dict[str, str]]:
    """Every form of the share page, with what a person would post in it."""
    rita, otto = f"user:{http.id('reader')}", f"user:{http.id('outsider')}"
    svc = http.cast.fresh()
    share_id = next(s.id for s in svc.query_shares(http.cast.agency, None, case, derived=False))
    role = svc.create_team_role(http.cast.agency, None, f"observer {case}", "read")
    return {
        "/share/assign": {"assign": otto},
        f"/share/unassign/{http.id('outsider')}": {},
        "/share/manual": {"share": otto, "share-level": "edit"},
        f"/share/manual/{share_id}": {f"level-{share_id}": "edit"},
        f"/share/manual/{share_id}/remove": {},
        "/share/team": {"team": rita, "team-role": str(role)},
        f"/share/team/{http.id('reader')}/remove": {},
    }


def test_the_four_access_tests_on_the_share_page(http: HttpCast) -> None:
    case = http.new_case("Shared page")
    path = f"/cases/{case}/share"
    _as(http, None)
    away = http.client.get(path, follow_redirects=False)
    assert away.status_code == 303 and away.headers["location"].startswith("/signin?next=")
    for who in ("outsider", "foreigner"):
        _as(http, who)
        _page(http.client.get(path), 404, "Page not found")
    _as(http, "reader")  # a reader sees who has access (S-SHR-7), with no control
    text = _page(http.client.get(path), 200, "Case share details")
    assert "Rita Reader" in text and 'method="post" action="/cases/' not in text
    _as(http, "owner")
    text = _page(http.client.get(path), 200, "Case share details")
    assert f'action="/cases/{case}/share/manual"' in text


@pytest.mark.parametrize(
    "form", ["assign", "unassign", "manual", "level", "remove", "team", "team-remove"]
)
def test_every_share_form_needs_the_csrf_token_and_full_access(http: HttpCast, form: str) -> None:
    case = http.new_case(f"Form {form}")
    tail, fields = list(_forms(http, case).items())[
        ["assign", "unassign", "manual", "level", "remove", "team", "team-remove"].index(form)
    ]
    path = f"/cases/{case}{tail}"
    _as(http, "owner")
    assert "expired" in _page(http.client.post(path, data=fields), 403)  # no token
    for who in ("outsider", "foreigner"):
        token = _as(http, who)
        _page(http.client.post(path, data=fields | {"csrf_token": token}), 404)
    token = _as(http, "reader")
    refused = _page(http.client.post(path, data=fields | {"csrf_token": token}), 403)
    assert 'data-code="insufficient_access"' in refused
    token = _as(http, "owner")
    done = http.client.post(path, data=fields | {"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303, done.text[:600]


def test_a_share_refusal_is_the_sentence_beside_its_field_with_the_input_kept(
    http: HttpCast,
) -> None:
    case = http.new_case("Refused")
    token = _as(http, "owner")
    path = f"/cases/{case}/share/manual"
    group = f"group:{http.cast.group}"  # the owner itself
    text = _page(
        http.client.post(path, data={"share": group, "share-level": "edit", "csrf_token": token}),
        422,
    )
    assert re.search(r'id="share-q-error" data-code="cannot_share_with_owner"', text)
    assert f'value="{group}" checked' in text  # the choice is kept
    text = _page(
        http.client.post(
            path, data={"share": "user:1", "share-level": "full", "csrf_token": token}
        ),
        422,
    )
    assert 'id="share-level-error" data-code="invalid_access_level"' in text


def test_my_account_is_mine_only(http: HttpCast) -> None:
    _as(http, None)
    away = http.client.get("/account", follow_redirects=False)
    assert away.status_code == 303 and away.headers["location"] == "/signin?next=%2Faccount"
    token = _as(http, "reader")
    text = _page(http.client.get("/account"), 200, "My account")
    assert "Rita Reader" in text and "Olga Owner" not in text
    theirs = http.cast.fresh().create_token(http.id("owner"), "olga's")[0]
    revoke = f"/account/tokens/{theirs}/revoke"
    _page(http.client.post(revoke, data={"csrf_token": token}), 404)  # not hers to revoke
    assert "expired" in _page(http.client.post("/account/tokens", data={"token_name": "x"}), 403)
    made = _page(
        http.client.post("/account/tokens", data={"token_name": "x", "csrf_token": token}), 200
    )
    assert re.search(r'id="new-token-secret" class="wide secret" value="cs_', made)


def test_s_shr_1_an_odd_team_role_number_is_refused_on_its_field(http: HttpCast) -> None:
    """Hostile form input: "²" and "١٢" are digits to str.isdigit() but not to int(); the team
    form refuses them on the role field (422), never a 500, and adds nobody."""
    case = http.new_case("Odd team role")
    rita = f"user:{http.id('reader')}"
    token = _as(http, "owner")
    for odd in ("²", "١٢"):
        fields = {"team": rita, "team-role": odd, "csrf_token": token}
        refused = _page(http.client.post(f"/cases/{case}/share/team", data=fields), 422)
        assert "Choose the member" in refused
    assert http.cast.fresh().team_members(http.cast.agency, http.cast.owner, case) == []
