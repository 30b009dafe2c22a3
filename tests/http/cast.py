"""The standard cast over HTTP: who is who, their tokens, and the same four access tests.

``HttpCast`` wraps the service cast (tests/services/cast.py): the same agency *north* with
``owner``, ``colleague``, ``reader`` (read share on ``case``), ``outsider`` and ``admin``, and
``foreigner`` of agency *south*. Each has the password ``PASSWORD`` and an API token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi.testclient import TestClient

from caseshare.store import Store
from tests.services.cast import Cast, build_cast

PASSWORD = "correct horse battery"
PEOPLE = ("owner", "colleague", "reader", "outsider", "admin", "foreigner")


@dataclass
class HttpCast:
    cast: Cast
    client: TestClient
    tokens: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.tokens:
            self.tokens = dict(self.cast.tokens)  # type: ignore[attr-defined]

    @property
    def slug(self) -> str:
        return self.cast.store.agency(self.cast.agency)[1]

    @property
    def other_slug(self) -> str:
        return self.cast.store.agency(self.cast.other_agency)[1]

    def id(self, who: str) -> int:
        return int(getattr(self.cast, who))

    def headers(self, who: str | None) -> dict[str, str]:
        return {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}

    def call(
        self, who: str | None, method: str, path: str, json: Any = None, **kwargs: Any
    ) -> httpx.Response:
        """One request as ``who`` (None: anonymous), with a fresh cookie jar."""
        self.client.cookies.clear()
        return self.client.request(
            method, path, json=json, headers=self.headers(who) | kwargs.pop("headers", {}), **kwargs
        )

    def get(self, who: str | None, path: str, **kwargs: Any) -> httpx.Response:
        return self.call(who, "GET", path, **kwargs)

    def post(self, who: str | None, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.call(who, "POST", path, json, **kwargs)

    def new_case(self, name: str = "Fresh case", **fields: Any) -> str:
        """A new case of the owner's (in her case-sharing group), shared read with the reader."""
        svc = self.cast.fresh()
        case_id = svc.create_case(self.cast.agency, self.cast.owner, "patient", name, **fields)
        svc.share(self.cast.agency, self.cast.owner, case_id, f"user:{self.cast.reader}", "read")
        return case_id


def build_http_cast(store: Store) -> Cast:
    cast = build_cast(store)
    tokens = {}
    for who in PEOPLE:
        user_id = getattr(cast, who)
        agency = cast.other_agency if who == "foreigner" else cast.agency
        cast.svc.set_password(agency, None, user_id, PASSWORD)
        tokens[who] = cast.svc.create_token(user_id, "tests")[1]
    cast.tokens = tokens  # type: ignore[attr-defined]
    return cast


def expect(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert the status (and §14 code of a refusal); returns the JSON body (or {})."""
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url.path}: expected {status}, got"
        f" {response.status_code}: {response.text[:500]}"
    )
    if status == 204 or not response.content:
        return {}
    payload: Any = response.json()
    if code is not None:
        assert payload["code"] == code, payload
        assert payload["message"], payload
    # issue 8: every answer is an object; a list comes as {"items": [...]}, never bare
    assert isinstance(payload, dict), f"a bare {type(payload).__name__} answered: {payload!r:.200}"
    return payload


def standard_access(
    http: HttpCast,
    method: str,
    path: str,
    json: Any = None,
    *,
    write: bool,
    ok: int = 200,
    allowed: str = "owner",
) -> None:
    """STYLE §7: anonymous 401; outsider and other agency 404; read-only 403 on writes; allowed.

    ``path`` names a case the reader may read (``http.new_case()`` gives one). The allowed call
    runs last, so a write may consume the case.
    """
    expect(http.call(None, method, path, json), 401, "insufficient_access")
    expect(http.call("outsider", method, path, json), 404, "not_found")
    expect(http.call("foreigner", method, path, json), 404, "not_found")
    if write:
        expect(http.call("reader", method, path, json), 403, "insufficient_access")
    else:
        expect(http.call("reader", method, path, json), ok)
    expect(http.call(allowed, method, path, json), ok)
