"""Personal lists over HTTP (S-VIEW-1): favourites, recent cases and saved filters."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from caseshare.services import personal
from tests.http.cast import HttpCast, expect

ME = "/api/v1/me"


def _ids(payload: dict[str, Any]) -> list[str]:
    return [row["case_id"] for row in payload["items"]]


def _pk(http: HttpCast, case_id: str) -> int:
    return http.cast.store.case_row(http.cast.agency, case_id).pk


def test_every_personal_endpoint_needs_a_signed_in_user(http: HttpCast) -> None:
    case_id = http.new_case()
    for method, path, body in (
        ("GET", f"{ME}/favourites", None),
        ("PUT", f"{ME}/favourites/{case_id}", None),
        ("DELETE", f"{ME}/favourites/{case_id}", None),
        ("GET", f"{ME}/recent", None),
        ("GET", f"{ME}/filters", None),
        ("POST", f"{ME}/filters", {"name": "x", "filter": {}}),
        ("DELETE", f"{ME}/filters/1", None),
    ):
        expect(http.call(None, method, path, body), 401, "insufficient_access")


def test_star_needs_a_visible_case(http: HttpCast) -> None:
    case_id = http.new_case("Starred")
    path = f"{ME}/favourites/{case_id}"
    expect(http.call("outsider", "PUT", path), 404, "not_found")
    expect(http.call("foreigner", "PUT", path), 404, "not_found")
    # the foreigner's own agency has a case of the same id as the cast's: it is not this one
    expect(http.call("foreigner", "PUT", f"{ME}/favourites/nope-{case_id}"), 404, "not_found")
    # a read share is enough to star: a favourite changes nothing on the case
    expect(http.call("reader", "PUT", path), 204)
    expect(http.call("owner", "PUT", path), 204)
    expect(http.call("owner", "PUT", path), 204)  # idempotent
    assert case_id in _ids(expect(http.get("owner", f"{ME}/favourites"), 200))
    assert case_id in _ids(expect(http.get("reader", f"{ME}/favourites"), 200))
    # per user: the colleague starred nothing
    assert case_id not in _ids(expect(http.get("colleague", f"{ME}/favourites"), 200))
    expect(http.call("owner", "DELETE", path), 204)
    expect(http.call("owner", "DELETE", path), 204)  # idempotent
    assert case_id not in _ids(expect(http.get("owner", f"{ME}/favourites"), 200))
    assert case_id in _ids(expect(http.get("reader", f"{ME}/favourites"), 200))


def test_favourite_rows_and_order(http: HttpCast) -> None:
    first, second = http.new_case("First fav"), http.new_case("Second fav")
    expect(http.call("colleague", "PUT", f"{ME}/favourites/{first}"), 204)
    expect(http.call("colleague", "PUT", f"{ME}/favourites/{second}"), 204)
    rows = expect(http.get("colleague", f"{ME}/favourites"), 200)["items"]
    mine = [r for r in rows if r["case_id"] in (first, second)]
    assert [r["case_id"] for r in mine] == [second, first]  # newest star first
    assert mine[0]["name"] == "Second fav" and mine[0]["case_type"] == "patient"
    assert mine[0]["closed"] is False
    # issue 8: an owner is the same object here as in the case record and the case list
    group = {"id": f"group:{http.cast.group}", "kind": "group", "name": "Case team"}
    assert mine[0]["owner"] == group
    record = expect(http.get("colleague", f"/api/v1/cases/{first}"), 200)
    listed = expect(http.get("colleague", "/api/v1/cases?q=First+fav&limit=500"), 200)
    assert record["owner"] == group
    assert [r["owner"] for r in listed["items"] if r["case_id"] == first] == [group]
    recent = expect(http.get("colleague", f"{ME}/recent"), 200)["items"]
    assert [r["owner"] for r in recent if r["case_id"] == first] == [group]


def test_a_favourite_disappears_when_the_case_is_unshared(http: HttpCast) -> None:
    case_id = http.new_case("Soon hidden")
    expect(http.call("reader", "PUT", f"{ME}/favourites/{case_id}"), 204)
    http.cast.svc.note_recent(http.id("reader"), _pk(http, case_id))
    assert case_id in _ids(expect(http.get("reader", f"{ME}/favourites"), 200))
    assert case_id in _ids(expect(http.get("reader", f"{ME}/recent"), 200))
    svc = http.cast.fresh()
    svc.unshare(http.cast.agency, http.id("owner"), case_id, f"user:{http.id('reader')}")
    assert case_id not in _ids(expect(http.get("reader", f"{ME}/favourites"), 200))
    assert case_id not in _ids(expect(http.get("reader", f"{ME}/recent"), 200))
    # nor can she unstar it: it is not there for her any more
    expect(http.call("reader", "DELETE", f"{ME}/favourites/{case_id}"), 404, "not_found")
    # shared again, the star is back (it was kept, only hidden)
    svc.share(http.cast.agency, http.id("owner"), case_id, f"user:{http.id('reader')}", "read")
    assert case_id in _ids(expect(http.get("reader", f"{ME}/favourites"), 200))


def test_a_deleted_case_leaves_the_lists(http: HttpCast) -> None:
    case_id = http.new_case("Binned")
    expect(http.call("owner", "PUT", f"{ME}/favourites/{case_id}"), 204)
    http.cast.svc.note_recent(http.id("owner"), _pk(http, case_id))
    http.cast.fresh().delete_case(http.cast.agency, http.id("owner"), case_id)
    assert case_id not in _ids(expect(http.get("owner", f"{ME}/favourites"), 200))
    assert case_id not in _ids(expect(http.get("owner", f"{ME}/recent"), 200))


def test_recent_is_newest_first_per_user(http: HttpCast) -> None:
    a, b = http.new_case("Recent A"), http.new_case("Recent B")
    colleague = http.id("colleague")
    http.cast.svc.note_recent(colleague, _pk(http, a))
    http.cast.svc.note_recent(colleague, _pk(http, b))
    rows = expect(http.get("colleague", f"{ME}/recent"), 200)["items"]
    assert [r["case_id"] for r in rows][:2] == [b, a]
    assert rows[0]["viewed_at"] >= rows[1]["viewed_at"]
    http.cast.svc.note_recent(colleague, _pk(http, a))  # opened again: first again
    assert _ids(expect(http.get("colleague", f"{ME}/recent"), 200))[:2] == [a, b]
    assert a not in _ids(expect(http.get("admin", f"{ME}/recent"), 200))
    # the outsider cannot see these cases, even had he opened them once
    http.cast.svc.note_recent(http.id("outsider"), _pk(http, a))
    assert a not in _ids(expect(http.get("outsider", f"{ME}/recent"), 200))


def test_saved_filters_upsert_by_name_with_one_default(http: HttpCast) -> None:
    who = "admin"
    first = expect(
        http.post(
            who,
            f"{ME}/filters",
            {"name": "Mine open", "filter": {"owned_by_me": True, "status": "open"}},
        ),
        201,
    )
    assert first["filter"] == {"owned_by_me": True, "status": "open"}
    assert first["default"] is False
    second = expect(
        http.post(
            who,
            f"{ME}/filters",
            {"name": "Patients", "filter": {"case_type": "patient"}, "default": True},
        ),
        201,
    )
    # same name again: the same filter, replaced, now the default (only one default)
    again = expect(
        http.post(
            who,
            f"{ME}/filters",
            {"name": "Mine open", "filter": {"q": "smith", "sort": "name"}, "default": True},
        ),
        201,
    )
    assert again["id"] == first["id"]
    listed = {f["name"]: f for f in expect(http.get(who, f"{ME}/filters"), 200)["items"]}
    assert set(listed) == {"Mine open", "Patients"}
    assert listed["Mine open"]["filter"] == {"q": "smith", "sort": "name"}
    assert listed["Mine open"]["default"] is True
    assert listed["Patients"]["default"] is False
    # another user's filters are not mine: listing and deleting
    assert expect(http.get("colleague", f"{ME}/filters"), 200)["items"] == []
    expect(http.call("colleague", "DELETE", f"{ME}/filters/{second['id']}"), 404, "not_found")
    expect(http.call("foreigner", "DELETE", f"{ME}/filters/{second['id']}"), 404, "not_found")
    expect(http.call(who, "DELETE", f"{ME}/filters/{second['id']}"), 204)
    expect(http.call(who, "DELETE", f"{ME}/filters/{second['id']}"), 404, "not_found")
    assert [f["name"] for f in expect(http.get(who, f"{ME}/filters"), 200)["items"]] == [
        "Mine open"
    ]


def test_saved_filter_bodies_are_checked(http: HttpCast) -> None:
    for body in (
        {"name": "", "filter": {}},
        {"name": "   ", "filter": {}},
        {"name": "x" * 101, "filter": {}},
        {"name": "x", "filter": {"colour": "red"}},
        {"name": "x", "filter": {"status": "lost"}},
        {"name": "x", "filter": {"sort": "colour"}},
        {"name": "x", "filter": {"owned_by_me": "maybe"}},
        {"name": "x", "filter": {"q": "x" * 201}},
        {"name": "x", "filter": [1, 2]},
        {"name": "x", "filter": {}, "extra": 1},
        {"name": "x", "filter": {}, "default": "sometimes"},
    ):
        expect(http.post("reader", f"{ME}/filters", body), 422, "validation_error")
    expect(http.call("reader", "DELETE", f"{ME}/filters/0"), 422, "validation_error")
    expect(http.call("reader", "DELETE", f"{ME}/filters/abc"), 422, "validation_error")
    assert expect(http.get("reader", f"{ME}/filters"), 200)["items"] == []


def test_opening_a_case_puts_it_first_in_recent(http: HttpCast) -> None:
    case_id = http.new_case("Opened over HTTP")
    expect(http.get("reader", f"/api/v1/cases/{case_id}"), 200)
    assert _ids(expect(http.get("reader", f"{ME}/recent"), 200))[0] == case_id
    # a refused read is not a visit
    expect(http.get("outsider", f"/api/v1/cases/{case_id}"), 404, "not_found")
    assert case_id not in _ids(expect(http.get("outsider", f"{ME}/recent"), 200))


def test_the_case_list_applies_a_saved_filter(http: HttpCast) -> None:
    kind = f"kind{uuid.uuid4().hex[:8]}"
    svc = http.cast.fresh()
    wanted = svc.create_case(http.cast.agency, http.id("owner"), kind, "Of the saved kind")
    http.new_case("Another kind")
    saved = expect(
        http.post("owner", f"{ME}/filters", {"name": kind, "filter": {"case_type": kind}}), 201
    )
    page = expect(http.get("owner", f"/api/v1/cases?saved_filter={saved['id']}"), 200)
    assert [r["case_id"] for r in page["items"]] == [wanted]
    expect(
        http.post(
            "owner", f"{ME}/filters", {"name": kind, "filter": {"case_type": kind}, "default": True}
        ),
        201,
    )
    page = expect(http.get("owner", "/api/v1/cases?saved_filter=default"), 200)
    assert [r["case_id"] for r in page["items"]] == [wanted]
    # another user's saved filter is not found for me
    expect(http.get("colleague", f"/api/v1/cases?saved_filter={saved['id']}"), 404, "not_found")


def test_a_user_keeps_at_most_fifty_filters(http: HttpCast) -> None:
    for n in range(50):
        expect(http.post("outsider", f"{ME}/filters", {"name": f"f{n:02}"}), 201)
    expect(http.post("outsider", f"{ME}/filters", {"name": "one more"}), 422, "validation_error")
    # replacing one by name is still fine
    expect(http.post("outsider", f"{ME}/filters", {"name": "f07", "default": True}), 201)
    assert len(expect(http.get("outsider", f"{ME}/filters"), 200)["items"]) == 50


def test_a_user_stars_a_bounded_number_of_cases(
    http: HttpCast, monkeypatch: pytest.MonkeyPatch
) -> None:
    already = len(expect(http.get("colleague", f"{ME}/favourites"), 200)["items"])
    monkeypatch.setattr(personal, "MAX_FAVOURITES", already + 2)
    a, b, c = http.new_case("Cap A"), http.new_case("Cap B"), http.new_case("Cap C")
    for case_id in (a, b):
        expect(http.call("colleague", "PUT", f"{ME}/favourites/{case_id}"), 204)
    expect(http.call("colleague", "PUT", f"{ME}/favourites/{c}"), 422, "validation_error")
    expect(http.call("colleague", "PUT", f"{ME}/favourites/{a}"), 204)  # already starred
    expect(http.call("colleague", "DELETE", f"{ME}/favourites/{a}"), 204)
    expect(http.call("colleague", "PUT", f"{ME}/favourites/{c}"), 204)
    starred = set(_ids(expect(http.get("colleague", f"{ME}/favourites"), 200)))
    assert {b, c} <= starred and a not in starred
