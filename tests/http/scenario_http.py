"""Running the scenario files of tests/scenarios/ through the real HTTP API.

The world loads through the services (it is fixture data); then every user gets an API token and
the assertions and the ``do:`` actions with an ``as:`` actor go over HTTP as that user:

- ``can`` → GET /cases/{id}/check (404 is denied), ``sees`` → GET /cases paged to the end,
  ``explain`` → GET /cases/{id}/access (404 is none), ``who`` → GET /cases/{id}/who-has-access
  as an admin (or any user who sees the case), ``syncs`` → the device restore with basic auth,
  ``case-sharing report`` → GET /reports/case-sharing as an admin, ``case owner`` → GET
  /cases/{id} as a user who sees it;
- an action refused over HTTP raises ``CaseShareError(code, message)`` from the error body, so
  the runner's ``expect:`` logic is unchanged.

Where there is no HTTP way (``owner-ids``; a question about an inactive user, who cannot sign
in; a world without a user able to ask), the question goes to the services and is counted in
``fallback`` by kind, so the test can show that the large majority went over HTTP. Actions
without ``as:`` are system actions: they have no HTTP equivalent and run on the services.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any
from xml.etree import ElementTree

from starlette.testclient import TestClient

from caseshare.core.casexml import CASE_NS
from caseshare.core.errors import CODES, CaseShareError
from caseshare.core.principals import Principal, parse_grant
from caseshare.scenario.runner import Outcome, run_data
from caseshare.scenario.world import World
from caseshare.services import Caseshare
from caseshare.store import Store

API = "/api/v1"
PASSWORD = "scenario-password"
PAGE = 500


class Http:
    """The test client, each user's token, and the tallies of what went where."""

    def __init__(self, client: TestClient, world: HttpWorld) -> None:
        self.client = client
        self.world = world
        self.tokens: dict[int, str] = {}
        self.http: Counter[str] = Counter()
        self.fallback: Counter[str] = Counter()

    def headers(self, user_id: int) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user_id]}"}

    def request(self, user_id: int, method: str, path: str, **kw: Any) -> Any:
        self.client.cookies.clear()
        return self.client.request(method, API + path, headers=self.headers(user_id), **kw)

    def ask(self, user_id: int, path: str, **params: Any) -> Any:
        """A GET answered 200 (the JSON) or 404 (None); anything else is a broken API."""
        resp = self.request(user_id, "GET", path, params=params)
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise AssertionError(f"GET {path} {params}: {resp.status_code} {resp.text[:300]}")
        return resp.json()

    def act(self, user_id: int, method: str, path: str, json: Any = None) -> Any:
        """A write; a refusal becomes the CaseShareError its body names."""
        resp = self.request(user_id, method, path, json=json)
        if resp.status_code >= 400:
            try:
                body = resp.json()
            except ValueError:
                body = {}
            if resp.status_code >= 500 or body.get("code") not in CODES:
                raise AssertionError(f"{method} {path}: {resp.status_code} {resp.text[:300]}")
            raise CaseShareError(body["code"], body["message"])
        return resp.json() if resp.content else None


class HttpServices:
    """The world's services, with the ones the runner calls for actors and answers over HTTP."""

    def __init__(self, svc: Caseshare, http: Http) -> None:
        self._svc = svc
        self._http = http

    def __getattr__(self, name: str) -> Any:
        return getattr(self._svc, name)

    def _system(self, name: str, kind: str, *args: Any) -> Any:
        self._http.fallback[f"do {kind} (system)"] += 1
        return getattr(self._svc, name)(*args)

    def _do(self, kind: str, actor: int, method: str, path: str, json: Any = None) -> Any:
        self._http.http[f"do {kind}"] += 1
        return self._http.act(actor, method, path, json)

    def change_owner(self, agency_id: int, actor: int | None, case_id: str, owner: Any) -> Any:
        if actor is None:
            return self._system("change_owner", "change_owner", agency_id, actor, case_id, owner)
        return self._do(
            "change_owner", actor, "POST", f"/cases/{case_id}/owner", {"owner": str(owner)}
        )

    def delete_case(self, agency_id: int, actor: int | None, case_id: str) -> Any:
        if actor is None:
            return self._system("delete_case", "delete_case", agency_id, actor, case_id)
        return self._do("delete_case", actor, "DELETE", f"/cases/{case_id}")

    def restore_case(self, agency_id: int, actor: int | None, case_id: str) -> Any:
        if actor is None:
            return self._system("restore_case", "restore_case", agency_id, actor, case_id)
        return self._do("restore_case", actor, "POST", f"/cases/{case_id}/restore")

    def purge_case(self, agency_id: int, actor: int | None, case_id: str) -> Any:
        if actor is None:
            return self._system("purge_case", "purge_case", agency_id, actor, case_id)
        return self._do("purge_case", actor, "DELETE", f"/cases/{case_id}/purge")

    def set_active(self, agency_id: int, actor: int | None, user_id: int, active: bool) -> Any:
        kind = "activate" if active else "deactivate"
        if actor is None:
            return self._system("set_active", kind, agency_id, actor, user_id, active)
        return self._do(kind, actor, "POST", f"/users/{user_id}/{kind}")

    def add_member(self, agency_id: int, actor: int | None, group: int, member: Any) -> Any:
        if actor is None:
            return self._system("add_member", "add_member", agency_id, actor, group, member)
        return self._do(
            "add_member", actor, "POST", f"/groups/{group}/members", {"member": str(member)}
        )

    def remove_member(self, agency_id: int, actor: int | None, group: int, member: Any) -> Any:
        if actor is None:
            return self._system("remove_member", "remove_member", agency_id, actor, group, member)
        return self._do("remove_member", actor, "DELETE", f"/groups/{group}/members/{member}")

    def set_role(self, agency_id: int, actor: int | None, user_id: int, role: int | None) -> Any:
        if actor is None:
            return self._system("set_role", "set_role", agency_id, actor, user_id, role)
        return self._do("set_role", actor, "PATCH", f"/users/{user_id}", {"role_id": role})

    def update_settings(self, agency_id: int, actor: int | None, changes: dict[str, Any]) -> Any:
        if actor is None:
            return self._system("update_settings", "set_setting", agency_id, actor, changes)
        return self._do("set_setting", actor, "PATCH", "/agency/settings", changes)

    def set_rule_active(self, agency_id: int, actor: int | None, rule: int, active: bool) -> Any:
        if actor is None:
            return self._system(
                "set_rule_active", "set_rule_active", agency_id, actor, rule, active
            )
        return self._do("set_rule_active", actor, "PATCH", f"/rules/{rule}", {"active": active})

    def delete_rule(self, agency_id: int, actor: int | None, rule: int) -> Any:
        if actor is None:
            return self._system("delete_rule", "delete_rule", agency_id, actor, rule)
        return self._do("delete_rule", actor, "DELETE", f"/rules/{rule}")

    # -- the questions the runner asks the services directly ---------------------------------

    def live_case_ids(self, user_id: int) -> set[str]:
        """``syncs``: the cases a full device restore sends, over HTTP basic auth."""
        user = self._svc.store.user(user_id)
        if not user.active:
            self._http.fallback["syncs (inactive user)"] += 1
            return set(self._svc.live_case_ids(user_id))
        _, slug, _, _ = self._svc.store.agency(user.agency_id)
        secret = base64.b64encode(f"{user.username}:{PASSWORD}".encode()).decode()
        self._http.client.cookies.clear()
        resp = self._http.client.get(
            f"/a/{slug}/phone/restore/",
            params={"version": "2.0"},
            headers={"Authorization": f"Basic {secret}"},
        )
        if resp.status_code != 200:
            raise AssertionError(f"restore as {user.username}: {resp.status_code} {resp.text}")
        self._http.http["syncs"] += 1
        root = ElementTree.fromstring(resp.content)
        return {c.get("case_id", "") for c in root.iter(f"{{{CASE_NS}}}case")}

    def case_sharing_report(self, agency_id: int) -> list[dict[str, Any]]:
        admin = self._http.world.admin(agency_id)
        if admin is None:
            self._http.fallback["report (no admin)"] += 1
            return list(self._svc.case_sharing_report(agency_id))
        self._http.http["report"] += 1
        return list(self._http.ask(admin, "/reports/case-sharing")["items"])


class HttpStore:
    """The world's store, with ``case_row`` (the ``case owner`` assertion) read over HTTP."""

    def __init__(self, store: Store, http: Http) -> None:
        self._store = store
        self._http = http

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def case_row(self, agency_id: int, case_id: str) -> Any:
        for user_id in self._http.world.askers(agency_id):
            body = self._http.ask(user_id, f"/cases/{case_id}")
            if body is not None:
                self._http.http["owner"] += 1
                return SimpleNamespace(owner=Principal.parse(body["owner"]["id"]))
        self._http.fallback["owner (nobody sees the case)"] += 1
        return self._store.case_row(agency_id, case_id)


class HttpWorld(World):
    """A world whose questions and actor's actions go over HTTP once :meth:`attach` ran."""

    http: Http | None = None

    def attach(self, client: TestClient) -> Http:
        """Give every user a token and a password, then route through ``client``."""
        from caseshare.services import accounts

        http = Http(client, self)
        password_hash = accounts.hash_password(PASSWORD)
        with self.store.transaction():
            for user_id in self.ids["users"].values():
                self.store.set_password_hash(user_id, password_hash)
        for user_id in self.ids["users"].values():
            http.tokens[user_id] = self.svc.create_token(user_id, "scenario")[1]
        self.svc = HttpServices(self.svc, http)  # type: ignore[assignment]
        self.store = HttpStore(self.store, http)  # type: ignore[assignment]
        self.http = http
        return http

    # -- who may ask --------------------------------------------------------------------------

    def _users_of(self, agency_id: int) -> list[int]:
        return [
            self.ids["users"][name]
            for (table, name), agency in self.agency_of.items()
            if table == "users" and agency == agency_id
        ]

    def admin(self, agency_id: int) -> int | None:
        for user_id in self._users_of(agency_id):
            user = self.store.user(user_id)
            if user.active and "admin" in user.permissions:
                return user_id
        return None

    def askers(self, agency_id: int) -> list[int]:
        """Active users of the agency, admins first: someone may see the case."""
        active = [u for u in self._users_of(agency_id) if self.store.user(u).active]
        return sorted(active, key=lambda u: "admin" not in self.store.user(u).permissions)

    def _signed_in(self, user_id: int, kind: str) -> Http | None:
        """The HTTP driver when this user can sign in; else count the fallback."""
        assert self.http is not None
        if self.store.user(user_id).active:
            self.http.http[kind] += 1
            return self.http
        self.http.fallback[f"{kind} (inactive user)"] += 1
        return None

    # -- questions ----------------------------------------------------------------------------

    def can(self, user: str, action: str, case: str) -> bool:
        agency_id, case_id = self.case(case)
        user_id = self.user_id(user)
        if self.store.user(user_id).agency_id != agency_id:
            received = self._received_access(user_id, agency_id, case_id, "can")
            return received is not None and bool(received["actions"][action])
        http = self._signed_in(user_id, "can")
        if http is None:
            return super().can(user, action, case)
        body = http.ask(user_id, f"/cases/{case_id}/check", action=action)
        return body is not None and bool(body["allowed"])

    def sees(self, user: str) -> set[str]:
        user_id = self.user_id(user)
        http = self._signed_in(user_id, "sees")
        if http is None:
            return super().sees(user)
        agency_id = self.store.user(user_id).agency_id
        ids: set[str] = set()
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": PAGE}
            if cursor:
                params["cursor"] = cursor
            page = http.ask(user_id, "/cases", **params)
            for item in page["items"]:  # a case sent here names its agency (S-AG-4)
                sender = item.get("received_from")
                ids.add(f"{sender['agency']}/{item['case_id']}" if sender else item["case_id"])
            cursor = page["next_cursor"]
            if not cursor:
                break
        return {
            name
            for name, (a, cid) in self.cases.items()
            if (a == agency_id and cid in ids) or f"{self.store.agency(a)[2]}/{cid}" in ids
        }

    def _received_access(
        self, user_id: int, agency_id: int, case_id: str, kind: str
    ) -> dict[str, Any] | None:
        """A case of another agency: the user's access through the shares sent to their
        agency (GET /agency-shares/{id}/access; 404 is none), S-AG-4."""
        http = self._signed_in(user_id, f"{kind} (agency share)")
        if http is None:
            return None
        pk = self.store.case_pk(agency_id, case_id)
        mine = self.store.user(user_id).agency_id
        for row in self.store.agency_shares_of_case(pk or 0):
            if row.to_agency_id != mine:
                continue
            body = http.ask(user_id, f"/agency-shares/{row.id}/access")
            if body is not None and body["level"] != "none":
                return dict(body)
        return None

    def explain(self, user: str, case: str) -> tuple[str, frozenset[str]]:
        agency_id, case_id = self.case(case)
        user_id = self.user_id(user)
        if self.store.user(user_id).agency_id != agency_id:
            received = self._received_access(user_id, agency_id, case_id, "explain")
            if received is None:
                return "none", frozenset()
            return str(received["level"]), frozenset(received["causes"])
        http = self._signed_in(user_id, "explain")
        if http is None:
            return super().explain(user, case)
        body = http.ask(user_id, f"/cases/{case_id}/access")
        if body is None:
            return "none", frozenset()
        return str(body["level"]), frozenset(body["causes"])

    def who(self, case: str) -> dict[str, str]:
        assert self.http is not None
        agency_id, case_id = self.case(case)
        for user_id in self.askers(agency_id):
            body = self.http.ask(user_id, f"/cases/{case_id}/who-has-access")
            if body is not None:
                self.http.http["who"] += 1
                return {
                    self.names.get(Principal("user", i["user_id"]), str(i["user_id"])).removeprefix(
                        "user:"
                    ): i["level"]
                    for i in body["items"]
                }
        self.http.fallback["who (nobody sees the case)"] += 1
        return super().who(case)

    def owner_ids(self, user: str) -> set[str]:
        assert self.http is not None
        self.http.fallback["owner-ids (no endpoint)"] += 1
        return super().owner_ids(user)

    # -- actions as a user --------------------------------------------------------------------

    def _do(self, kind: str, actor: int, method: str, path: str, json: Any = None) -> Any:
        assert self.http is not None
        self.http.http[f"do {kind}"] += 1
        return self.http.act(actor, method, path, json)

    def _system(self, kind: str) -> None:
        if self.http is not None:
            self.http.fallback[f"do {kind} (system)"] += 1

    def share(self, text: str, actor: int | None) -> None:
        if actor is None or self.http is None:
            self._system("share")
            return super().share(text, actor)
        grant = parse_grant(text)
        _, case_id = self.case(grant.case)
        if grant.level is None:
            raise CaseShareError("validation_error", f"{text!r}: a share names its level")
        grantee = self.principal(f"{grant.grantee_kind}:{grant.grantee_key}")
        body = {"grantee": str(grantee), "level": grant.level}
        self._do("share", actor, "POST", f"/cases/{case_id}/shares", body)

    def unshare(self, text: str, actor: int | None) -> None:
        if actor is None or self.http is None:
            self._system("unshare")
            return super().unshare(text, actor)
        grant = parse_grant(text)
        _, case_id = self.case(grant.case)
        grantee = str(self.principal(f"{grant.grantee_kind}:{grant.grantee_key}"))
        rows = self.http.act(actor, "GET", f"/cases/{case_id}/shares?derived=false")["items"]
        for row in rows:
            if row["grantee"] == grantee and row["row_cause"] == "manual":
                return self._do("unshare", actor, "DELETE", f"/shares/{row['id']}")  # type: ignore[no-any-return]
        self.http.fallback["do unshare (no such share: services)"] += 1
        return super().unshare(text, actor)

    def assign(self, text: str, actor: int | None) -> None:
        if actor is None or self.http is None:
            self._system("assign")
            return super().assign(text, actor)
        _, case_id, user_id, _ = self._user_grant(text)
        self._do("assign", actor, "POST", f"/cases/{case_id}/assignees", {"user_id": user_id})

    def unassign(self, text: str, actor: int | None) -> None:
        if actor is None or self.http is None:
            self._system("unassign")
            return super().unassign(text, actor)
        _, case_id, user_id, _ = self._user_grant(text)
        self._do("unassign", actor, "DELETE", f"/cases/{case_id}/assignees/{user_id}")

    def team_add(self, text: str, actor: int | None) -> None:
        if actor is None or self.http is None:
            self._system("team_add")
            return super().team_add(text, actor)
        agency_id, case_id, user_id, role = self._user_grant(text)
        if role is None:
            raise CaseShareError("validation_error", f"{text!r}: name the team role after #")
        body = {"user_id": user_id, "team_role_id": self._id("team_roles", role, agency_id)}
        self._do("team_add", actor, "POST", f"/cases/{case_id}/team", body)

    def team_remove(self, text: str, actor: int | None) -> None:
        if actor is None or self.http is None:
            self._system("team_remove")
            return super().team_remove(text, actor)
        _, case_id, user_id, _ = self._user_grant(text)
        self._do("team_remove", actor, "DELETE", f"/cases/{case_id}/team/{user_id}")

    def create_case(self, e: Mapping[str, Any], actor: int | None) -> None:
        if actor is None or self.http is None:
            self._system("create_case")
            return super().create_case(e, actor)
        agency_id = self.agency(e)
        unsupported = [k for k in ("opened_by", "closed") if e.get(k)]
        if unsupported or not e.get("type") or self.store.user(actor).agency_id != agency_id:
            self.http.fallback[f"do create_case (no HTTP field for {unsupported})"] += 1
            return super().create_case(e, actor)
        name = str(e["id"])
        if name in self.cases:
            raise CaseShareError("validation_error", f"case {name!r} is listed twice")
        indices = {
            str(ident): {
                "case_id": self.case(str(spec["case"]))[1],
                "relationship": str(spec.get("relationship", "child")),
            }
            for ident, spec in (e.get("indices") or {}).items()
        }
        body = {
            "case_type": str(e["type"]),
            "name": str(e.get("name") or name),
            "owner": str(self.principal(str(e["owner"]))) if e.get("owner") else None,
            "case_id": name,
            "external_id": str(e.get("external_id") or ""),
            "properties": {str(k): str(v) for k, v in (e.get("properties") or {}).items()},
            "indices": indices,
        }
        self._do("create_case", actor, "POST", "/cases", body)
        self.cases[name] = (agency_id, name)

    def add_rule(self, e: Mapping[str, Any], actor: int | None) -> None:
        if actor is None or self.http is None:
            self._system("add_rule")
            return super().add_rule(e, actor)
        level, _, grantee = str(e["grant"]).partition("@")
        kind = str(e.get("kind") or "")
        name = str(e.get("id") or f"rule{len(self.ids['rules']) + 1}")
        body: dict[str, Any] = {
            "name": name,
            "kind": kind,
            "grantee": str(self.principal(grantee)),
            "level": level,
            "active": bool(e.get("active", True)),
        }
        if e.get("owner_in"):
            body["owner_in"] = str(self.principal(str(e["owner_in"])))
        if kind == "criteria":
            body["criteria"] = self._resolve_owners(e.get("when"))
        self._named(
            "rules",
            {**e, "id": name},
            lambda a: int(self._do("add_rule", actor, "POST", "/rules", body)["id"]),
        )


def run_http(
    store: Store, data: Any, client: TestClient, *, unique: bool = True
) -> tuple[list[Outcome], Http]:
    """The runner's own loop (caseshare.scenario.runner.run_data) over an :class:`HttpWorld`."""
    attached: list[Http] = []

    def load(store: Store, data: Any, unique: bool) -> World:
        world = HttpWorld.load(store, data, unique=unique)
        assert isinstance(world, HttpWorld)
        attached.append(world.attach(client))
        return world

    outcomes = run_data(store, data, unique=unique, load=load)
    return outcomes, attached[0]
