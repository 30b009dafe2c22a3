"""Helpers for the directory and structure tests: the admin access checks and quick objects."""

from __future__ import annotations

import uuid
from typing import Any

from tests.http.cast import HttpCast, expect

API = "/api/v1"


def unique_name(prefix: str = "u") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def admin_access(
    http: HttpCast,
    method: str,
    path: str,
    json: Any = None,
    *,
    ok: int = 200,
    foreign_ids: bool = True,
    readable: bool = False,
) -> dict[str, Any]:
    """The admin analogue of STYLE §7: anonymous 401; a non-admin 403 on writes (reads: allowed);
    the admin of another agency 404 on this agency's ids; this agency's admin succeeds (last)."""
    expect(http.call(None, method, path, json), 401, "insufficient_access")
    if readable:
        expect(http.call("outsider", method, path, json), ok)
    else:
        expect(http.call("outsider", method, path, json), 403, "insufficient_access")
    if foreign_ids:
        expect(http.call("foreigner", method, path, json), 404, "not_found")
    return expect(http.call("admin", method, path, json), ok)


def new_user(http: HttpCast, **fields: Any) -> dict[str, Any]:
    body = {"username": unique_name()} | fields
    return expect(http.post("admin", f"{API}/users", body), 201)


def token_of(http: HttpCast, user_id: int) -> dict[str, str]:
    return {"Authorization": f"Bearer {http.cast.svc.create_token(user_id, 'test')[1]}"}


def can_view(http: HttpCast, user_id: int, case_id: str) -> bool:
    return http.cast.fresh().check(user_id, "view", case_id).allowed


def walk_keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in walk_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in walk_keys(v)}
    return set()


def report_row(http: HttpCast, user_id: int) -> dict[str, Any] | None:
    rows = expect(http.get("admin", f"{API}/reports/case-sharing"), 200)["items"]
    return next((r for r in rows if r["user_id"] == user_id), None)
