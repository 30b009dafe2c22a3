"""Casbin (pycasbin): RBAC with domains (the agency is the domain), groupings for memberships
and the role tree, resource groupings for owner rules, policy lines for grants.

As a Casbin service runs: the model and every policy line are loaded once into memory from the
policy table (SQLAlchemy adapter on SQLite), and each change is written through to that table.
Per-case grants are indexed by case (``FastEnforcer``, ``p``); the agency-wide policies (owner,
default by case type, permissions, owner rules) are a second policy type (``p2``) asked in the
same check. The case's owner and type come from the application's case table, read per request.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from typing import Any

import casbin
import casbin_sqlalchemy_adapter
import sqlalchemy
from casbin.model import FastModel, FastPolicy, Model

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
        "hierarchy",
    }
)
LEAVES_OUT = [
    (
        "criteria_rules",
        "a rule on case properties (type patient and district d3) has no place in a policy"
        " line: only eval() of an expression stored in the line, which pycasbin parses anew"
        " for every line on every request, or a grouping the application keeps per case",
    ),
    (
        "implicit",
        "access through a parent or child case is a rule over another object's policy lines;"
        " a matcher sees one object",
    ),
]

MODEL = """
[request_definition]
r = sub, dom, obj, act
r2 = sub, dom, case, act

[policy_definition]
p = sub, dom, obj, act
p2 = sub, dom, obj, act

[role_definition]
g = _, _, _
g2 = _, _, _
g3 = _, _

[policy_effect]
e = some(where (p.eft == allow))
e2 = some(where (p.eft == allow))

[matchers]
m = r.obj == p.obj && r.dom == p.dom && g3(p.act, r.act) && g(r.sub, p.sub, r.dom)
m2 = r2.dom == p2.dom && g3(p2.act, r2.act) && \
  ((p2.obj == "@owner" && g(r2.sub, r2.case.owner, r2.dom)) \
  || (p2.obj == r2.case.type && g(r2.sub, p2.sub, r2.dom)) \
  || (p2.obj == "*" && g(r2.sub, p2.sub, r2.dom)) \
  || (g2(r2.case.owner, p2.obj, r2.dom) && g(r2.sub, p2.sub, r2.dom)))
"""
LEVELS = {1: "read", 2: "edit", 3: "full"}


@dataclasses.dataclass(frozen=True)
class CaseFacts:
    """What the matcher reads of a case (ABAC): its id, its owner's node and its type."""

    id: str
    owner: str
    type: str


class Casbin:
    name = "Casbin"
    features = FEATURES
    leaves_out = LEAVES_OUT

    def __init__(self, world: World, path: str) -> None:
        assert world.features == FEATURES
        self.world = world
        self.dom = world.slug
        self.db = app_database(path)
        self.db.executescript(
            """CREATE TABLE cases (pk INTEGER PRIMARY KEY, case_id TEXT UNIQUE NOT NULL,
                 case_type TEXT NOT NULL, owner TEXT NOT NULL,
                 server_modified_on TEXT NOT NULL);
               CREATE INDEX cases_order ON cases (server_modified_on, pk);"""
        )
        self.db.execute("BEGIN")
        self.db.executemany(
            "INSERT INTO cases VALUES (?, ?, ?, ?, ?)",
            [
                (c.pk, c.case_id, c.case_type, self._node(c.owner), c.server_modified_on)
                for c in world.cases
            ],
        )
        self.db.execute("COMMIT")
        self.db.execute("ANALYZE")
        engine = sqlalchemy.create_engine(f"sqlite:///{path}")
        sqlalchemy.event.listen(engine, "connect", _pragmas)
        adapter = casbin_sqlalchemy_adapter.Adapter(engine)
        self._save(adapter)
        model = _FastModel([2, 1])  # index p lines by case, then domain
        model.load_model_from_text(MODEL)
        self.enforcer = casbin.FastEnforcer(model, adapter, cache_key_order=[2, 1])
        self.generic = self.enforcer.new_enforce_context("2")

    @staticmethod
    def _node(owner: str) -> str:
        """A user-owned case is owned by the user's ``direct:`` node, which managers above the
        user inherit; group and location owners are their own nodes."""
        return "direct:" + owner[5:] if owner.startswith("user:") else owner

    def _lines(self) -> tuple[list[list[str]], list[list[str]], dict[str, list[list[str]]]]:
        """Every policy line (p, p2) and grouping (g, g2, g3) of the world."""
        world, dom = self.world, self.dom
        g: list[list[str]] = []
        g2: list[list[str]] = []
        for uid in world.user_order:
            user = world.users[uid]
            me = f"user:{uid}"
            if user.active:  # S-ACC-4 / S-OWN-2: an inactive user is in nothing
                g.append([me, f"direct:{uid}", dom])
                g.append([me, "everyone", dom])
                g += [[me, f"location:{loc}", dom] for loc in user.locations]
                if "view_all" in user.permissions:
                    g.append([me, "view_all", dom])
                if "hierarchy" in world.features and user.role_id is not None:
                    g.append([me, f"over:{user.role_id}", dom])
            parent = world.role_parent.get(user.role_id) if user.role_id else None
            if "hierarchy" in world.features and parent is not None:
                # managers of the parent role (and above) inherit what names this user
                g.append([f"over:{parent}", f"direct:{uid}", dom])
        if "hierarchy" in world.features:
            for role, parent in world.role_parent.items():
                if parent is not None:
                    g.append([f"over:{parent}", f"over:{role}", dom])
        for member in world.group_parents:
            for gid in world.groups_of(member):
                g.append([member, f"group:{gid}", dom])
                # the same membership on the resource side: an owner rule on a group matches
                # cases owned by its members and nested groups (S-RULE-1)
                g2.append([self._node(member), f"group:{gid}", dom])
        p = [
            [self._node(gr.grantee), dom, self._case_id(gr.case_pk), LEVELS[int(gr.level)]]
            for gr in world.grants
        ]
        p2 = [["@owner", dom, "@owner", "full"], ["view_all", dom, "*", "read"]]
        p2 += [
            ["everyone", dom, case_type, LEVELS[1 if value == "read" else 2]]
            for case_type, value in world.default_access.items()
            if value != "private"
        ]
        for rule in world.rules:
            if rule.kind == "owner" and rule.owner_in is not None:
                p2.append([rule.grantee, dom, self._node(rule.owner_in), LEVELS[int(rule.level)]])
        groupings = {"g": g, "g2": g2, "g3": [["full", "edit"], ["edit", "read"]]}
        return p, p2, groupings

    def _case_id(self, pk: int) -> str:
        return self._ids[pk]

    def _save(self, adapter: Any) -> None:
        self._ids = {c.pk: c.case_id for c in self.world.cases}
        p, p2, groupings = self._lines()
        session = adapter.session_local()
        rows = [adapter._db_class(ptype="p", **_fields(line)) for line in p]
        rows += [adapter._db_class(ptype="p2", **_fields(line)) for line in p2]
        for ptype, lines in groupings.items():
            rows += [adapter._db_class(ptype=ptype, **_fields(line)) for line in lines]
        session.add_all(rows)
        session.commit()
        session.close()

    def _facts(self, case_id: str) -> CaseFacts:
        row = self.db.execute(
            "SELECT owner, case_type FROM cases WHERE case_id = ?", (case_id,)
        ).fetchone()
        assert row is not None
        return CaseFacts(case_id, row[0], row[1])

    def _allowed(self, user_id: int, level: str, case: CaseFacts) -> bool:
        sub = f"user:{user_id}"
        return bool(
            self.enforcer.enforce(sub, self.dom, case.id, level)
            or self.enforcer.enforce(self.generic, sub, self.dom, case, level)
        )

    def check(self, user: int, case_id: str) -> bool:
        return self._allowed(self.world.user_order[user], "read", self._facts(case_id))

    def first_page(self, user: int) -> list[str]:
        """Casbin has no listing: walk the cases in order and enforce each."""
        user_id = self.world.user_order[user]
        out: list[str] = []
        cursor = self.db.execute(
            "SELECT case_id, owner, case_type FROM cases ORDER BY server_modified_on, pk"
        )
        for case_id, owner, case_type in cursor:
            if self._allowed(user_id, "read", CaseFacts(case_id, owner, case_type)):
                out.append(case_id)
                if len(out) == PAGE:
                    break
        cursor.close()
        return out

    def share(self, actor: int, case_id: str, grantee: int) -> None:
        assert self._allowed(self.world.user_order[actor], "full", self._facts(case_id))
        who = f"direct:{self.world.user_order[grantee]}"
        self.enforcer.add_policy(who, self.dom, case_id, "edit")

    def revoke(self, actor: int, case_id: str, grantee: int) -> None:
        assert self._allowed(self.world.user_order[actor], "full", self._facts(case_id))
        who = f"direct:{self.world.user_order[grantee]}"
        self.enforcer.remove_policy(who, self.dom, case_id, "edit")


class _FastModel(FastModel):
    """pycasbin 1.43's FastModel.add_def returns None, which ends the loading of a section
    after its first definition (``r2``, ``p2``, ``m2`` …): return what Model.add_def says."""

    def add_def(self, sec: str, key: str, value: Any) -> Any:
        added = Model.add_def(self, sec, key, value)
        if sec == "p" and key == "p":
            self.model[sec][key].policy = FastPolicy(self._cache_key_order)
        return added


def _fields(line: list[str]) -> dict[str, str]:
    return {f"v{i}": value for i, value in enumerate(line)}


def _pragmas(conn: sqlite3.Connection, _record: Any) -> None:
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
