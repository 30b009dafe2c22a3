"""Cedar (cedarpy): a schema of users, groups and locations, cases as entities with the
principals their grants name, and the sharing rules as policies.

As a Cedar service is built: the policies and the directory (users, groups, locations) are parsed
once and kept; the application keeps its cases and their grants in its own database (SQLite
here) and hands Cedar the entities a request needs — the principal with its groups, the case,
its owner — read per request ("entity slicing"). Keeping all 20,000 cases in one parsed entity
set instead would make a share cost a re-parse of every entity (seconds).
"""

from __future__ import annotations

import json
from typing import Any

import cedarpy

from bench.peers.engine import PAGE, app_database
from bench.peers.world import World

FEATURES = frozenset(
    {
        "default",
        "owner",
        "inactive",
        "permission",
        "manual",
        "assigned",
        "team",
        "owner_rules",
        "criteria_rules",
    }
)
LEAVES_OUT = [
    (
        "hierarchy",
        'a manager above a user named in a share, team or assignment needs "some element of'
        " resource.readers has a role below mine\": Cedar has no quantifier over a set's"
        " elements (above the owner alone would be expressible: resource.owner.role in"
        " principal.role)",
    ),
    (
        "implicit",
        'implicit_parent needs "a direct grant on some child": a case\'s children are a set,'
        " which Cedar cannot quantify over (implicit_child would be expressible through"
        " resource.parent; both come from the same indices, so the world has none)",
    ),
]

POLICIES = """
// S-ACC-4: an inactive user has no access at all
forbid (principal, action, resource) unless { principal.active };
// permission view_all
permit (principal, action == Action::"view", resource) when { principal.view_all };
// owner: members of the owning user, group or location have full access
permit (principal, action, resource) when { principal in resource.owner };
// assigned: full access
permit (principal, action, resource) when { principal in resource.full };
// manual shares and team members: read or edit
permit (principal, action == Action::"view", resource) when { principal in resource.read };
permit (principal, action in [Action::"view", Action::"edit"], resource)
  when { principal in resource.edit };
"""
LEVEL_ACTIONS = {1: 'Action::"view"', 2: 'Action::"view", Action::"edit"'}


def _uid(kind: str, key: int | str) -> dict[str, str]:
    return {"type": kind, "id": str(key)}


def _principal(text: str) -> dict[str, str]:
    kind, _, key = text.partition(":")
    return _uid({"user": "User", "group": "Group", "location": "Location"}[kind], key)


def _criteria(node: dict[str, Any]) -> str:
    """A criteria tree (the bench world's: equals on case_type and on properties) in Cedar."""
    if "all" in node or "any" in node:
        op = " && " if "all" in node else " || "
        return "(" + op.join(_criteria(n) for n in node.get("all", node.get("any", []))) + ")"
    if node.get("op") != "equals":
        raise ValueError(f"criteria operator {node.get('op')!r} is not encoded for Cedar")
    value = json.dumps(node["value"])
    if node["field"] == "property":
        key = json.dumps(node["key"])
        return f"(resource.properties has {node['key']} && resource.properties[{key}] == {value})"
    return f"resource.{node['field']} == {value}"


def default_policies(world: World) -> str:
    """The org-wide default per case type (§1.1 default_access), one policy per setting."""
    out = []
    own = [t for t in world.default_access if t != "*"]
    for case_type, value in world.default_access.items():
        if value == "private":
            continue
        actions = f"action in [{LEVEL_ACTIONS[1 if value == 'read' else 2]}]"
        cond = (
            f"resource.case_type == {json.dumps(case_type)}"
            if case_type != "*"
            else f"!{json.dumps(own)}.contains(resource.case_type)"
        )
        out.append(f"permit (principal, {actions}, resource) when {{ {cond} }};")
    return "\n".join(out) + "\n"


def rule_policies(world: World) -> str:
    out = []
    for rule in world.rules:
        grantee = _principal(rule.grantee)
        scope = f'principal in {grantee["type"]}::"{grantee["id"]}"'
        actions = f"action in [{LEVEL_ACTIONS[int(rule.level)]}]"
        if rule.kind == "owner" and rule.owner_in is not None:
            source = _principal(rule.owner_in)
            cond = f'resource.owner in {source["type"]}::"{source["id"]}"'
        elif rule.criteria is not None:
            cond = _criteria(rule.criteria)
        else:
            continue
        out.append(f"permit ({scope}, {actions}, resource) when {{ {cond} }};")
    return "\n".join(out)


class Cedar:
    name = "Cedar"
    features = FEATURES
    leaves_out = LEAVES_OUT

    def __init__(self, world: World, path: str) -> None:
        assert world.features == FEATURES
        self.world = world
        self.policies = cedarpy.PolicySet.from_str(
            POLICIES + default_policies(world) + rule_policies(world)
        )
        self._slices: dict[str, dict[str, str]] = {}
        self.db = app_database(path)
        self.db.executescript(
            """CREATE TABLE cases (pk INTEGER PRIMARY KEY, case_id TEXT UNIQUE NOT NULL,
                 case_type TEXT NOT NULL, owner TEXT NOT NULL, properties TEXT NOT NULL,
                 server_modified_on TEXT NOT NULL);
               CREATE INDEX cases_order ON cases (server_modified_on, pk);
               CREATE TABLE grants (case_pk INTEGER NOT NULL, grantee TEXT NOT NULL,
                 level INTEGER NOT NULL, cause TEXT NOT NULL,
                 PRIMARY KEY (case_pk, cause, grantee));"""
        )
        self.db.execute("BEGIN")
        self.db.executemany(
            "INSERT INTO cases VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    c.pk,
                    c.case_id,
                    c.case_type,
                    c.owner,
                    json.dumps(c.properties),
                    c.server_modified_on,
                )
                for c in world.cases
            ],
        )
        self.db.executemany(
            "INSERT INTO grants VALUES (?, ?, ?, ?)",
            [(g.case_pk, g.grantee, int(g.level), g.cause) for g in world.grants],
        )
        self.db.execute("COMMIT")
        self.db.execute("ANALYZE")

    # -- the directory: parsed once per principal and kept, as a server would -----------------

    def _entity(self, principal: str) -> list[dict[str, Any]]:
        """A user, group or location entity and every group above it."""
        world = self.world
        out: list[dict[str, Any]] = []
        todo, seen = [principal], set()
        while todo:
            p = todo.pop()
            if p in seen:
                continue
            seen.add(p)
            parents = [f"group:{g}" for g in world.groups_of(p)]
            attrs: dict[str, Any] = {}
            if p.startswith("user:"):
                user = world.users[int(p[5:])]
                attrs = {"active": user.active, "view_all": "view_all" in user.permissions}
                if user.active:  # S-OWN-2: an inactive user is a member of nothing
                    parents += [f"location:{loc}" for loc in user.locations]
            out.append(
                {
                    "uid": _principal(p),
                    "attrs": attrs,
                    "parents": [_principal(x) for x in parents],
                }
            )
            todo += parents
        return out

    def _slice(self, principal: str) -> dict[str, str]:
        """The principal's entities as JSON, by uid, built once and kept."""
        found = self._slices.get(principal)
        if found is None:
            found = self._slices[principal] = {
                f"{e['uid']['type']}::{e['uid']['id']}": json.dumps(e)
                for e in self._entity(principal)
            }
        return found

    # -- per request: the case from the application's database --------------------------------

    def _cases(self, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
        """Case entities for case rows, their grants read in one query."""
        sets: dict[int, dict[str, list[dict[str, Any]]]] = {
            r[0]: {"read": [], "edit": [], "full": []} for r in rows
        }
        marks = ",".join("?" * len(rows))
        for pk, grantee, level, cause in self.db.execute(
            f"SELECT case_pk, grantee, level, cause FROM grants WHERE case_pk IN ({marks})",
            [r[0] for r in rows],
        ):
            kind = "full" if cause == "assigned" else "edit" if level >= 2 else "read"
            sets[pk][kind].append({"__entity": _principal(grantee)})
        return [self._case(r, sets[r[0]]) for r in rows]

    def _case(self, row: tuple[Any, ...], sets: dict[str, Any]) -> dict[str, Any]:
        _, case_id, case_type, owner, properties = row[:5]
        return {
            "uid": _uid("Case", case_id),
            "attrs": {
                "case_type": case_type,
                "owner": {"__entity": _principal(owner)},
                "properties": json.loads(properties),
                **sets,
            },
            "parents": [],
        }

    def _row(self, case_id: str) -> tuple[Any, ...]:
        row = self.db.execute(
            "SELECT pk, case_id, case_type, owner, properties FROM cases WHERE case_id = ?",
            (case_id,),
        ).fetchone()
        assert row is not None
        return tuple(row)

    def _entities(self, principal: str, cases: list[dict[str, Any]], owners: set[str]) -> str:
        merged = dict(self._slice(principal))
        for owner in owners:  # each entity once: Cedar refuses duplicates
            merged.update(self._slice(owner))
        return "[" + ",".join([*merged.values(), *(json.dumps(c) for c in cases)]) + "]"

    def _allowed(self, user_id: int, action: str, case_id: str) -> bool:
        row = self._row(case_id)
        principal = f"user:{user_id}"
        entities = self._entities(principal, self._cases([row]), {row[3]})
        request = {
            "principal": f'User::"{user_id}"',
            "action": f'Action::"{action}"',
            "resource": f'Case::"{case_id}"',
        }
        return bool(cedarpy.is_authorized(request, self.policies, entities).allowed)

    def check(self, user: int, case_id: str) -> bool:
        return self._allowed(self.world.user_order[user], "view", case_id)

    def first_page(self, user: int) -> list[str]:
        """Cedar answers one request at a time: walk the cases in order, a batch at a time."""
        user_id = self.world.user_order[user]
        principal = f"user:{user_id}"
        out: list[str] = []
        last = ("", 0)
        while len(out) < PAGE:
            rows = self.db.execute(
                "SELECT pk, case_id, case_type, owner, properties, server_modified_on"
                " FROM cases WHERE (server_modified_on, pk) > (?, ?)"
                " ORDER BY server_modified_on, pk LIMIT 100",
                last,
            ).fetchall()
            if not rows:
                break
            last = (rows[-1][5], rows[-1][0])
            entities = self._entities(principal, self._cases(rows), {r[3] for r in rows})
            requests = [
                {
                    "principal": f'User::"{user_id}"',
                    "action": 'Action::"view"',
                    "resource": f'Case::"{r[1]}"',
                }
                for r in rows
            ]
            answers = cedarpy.is_authorized_batch(requests, self.policies, entities)
            out += [r[1] for r, a in zip(rows, answers, strict=True) if a.allowed]
        return out[:PAGE]

    def share(self, actor: int, case_id: str, grantee: int) -> None:
        assert self._allowed(self.world.user_order[actor], "share", case_id)
        pk = self._row(case_id)[0]
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute(
            "INSERT INTO grants VALUES (?, ?, 2, 'manual') ON CONFLICT (case_pk, cause, grantee)"
            " DO UPDATE SET level = excluded.level",
            (pk, f"user:{self.world.user_order[grantee]}"),
        )
        self.db.execute("COMMIT")

    def revoke(self, actor: int, case_id: str, grantee: int) -> None:
        assert self._allowed(self.world.user_order[actor], "share", case_id)
        pk = self._row(case_id)[0]
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute(
            "DELETE FROM grants WHERE case_pk = ? AND cause = 'manual' AND grantee = ?",
            (pk, f"user:{self.world.user_order[grantee]}"),
        )
        self.db.execute("COMMIT")
