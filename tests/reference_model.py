"""A brute-force reference model of docs/sharing.md, written without looking at the engine.

It reads a scenario world as the plain dict of docs/scenarios.md and answers access questions by
computing every grant of every cause with plain loops. It is slow on purpose and imports nothing
from ``caseshare``: the property test (tests/test_property_consistency.py) compares the engine,
the listing SQL and the explanations against it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

WorldData = Mapping[str, Any]

LEVELS = ("none", "read", "edit", "full")
RANK = {name: rank for rank, name in enumerate(LEVELS)}
ACTIONS = ("view", "edit", "close", "delete", "share", "transfer")
CAUSES = (
    "default",
    "owner",
    "hierarchy",
    "assigned",
    "manual",
    "team",
    "rule",
    "implicit_child",
    "implicit_parent",
    "sync",
    "permission",
)
#: Causes that count as *direct* grants for implicit parent/child access.
DIRECT_CAUSES = frozenset({"owner", "hierarchy", "assigned", "manual", "team", "rule"})
#: Causes that `edit_policy: owners` caps at read (hierarchy is handled by its source).
OWNERS_POLICY_CAPPED = frozenset(
    {"default", "manual", "team", "rule", "implicit_child", "implicit_parent", "agency_share"}
)
#: Hierarchy grants capped at read by `edit_policy: owners`, named by what they come from.
OWNERS_POLICY_CAPPED_HIERARCHY = frozenset({"manual", "team"})

SETTING_DEFAULTS: dict[str, Any] = {
    "case_sharing": False,
    "default_access": {},
    "hierarchy_access": True,
    "child_access": "read",
    "edit_policy": "access",
    "ordering": "received",
    "extension_close_cascade": False,
}
#: The level the org-wide default gives for each `default_access` value.
DEFAULT_ACCESS_LEVEL = {"private": "none", "read": "read", "edit": "edit", "transfer": "edit"}


@dataclass(frozen=True)
class Grant:
    """One way a user reaches a case: row cause, level after caps, level before caps, origin."""

    cause: str
    level: str
    uncapped: str
    source: str = ""


# --------------------------------------------------------------------------- the world's tables


def _entries(world: WorldData, key: str) -> list[dict[str, Any]]:
    return list(world.get(key) or [])


def _by_id(world: WorldData, key: str) -> dict[str, dict[str, Any]]:
    return {str(entry["id"]): entry for entry in _entries(world, key)}


def _first_agency(world: WorldData) -> str:
    return str(_entries(world, "agencies")[0]["slug"])


def agency_of(world: WorldData, entry: Mapping[str, Any]) -> str:
    """The agency an entity belongs to: the one it names, else the first agency."""
    named = entry.get("agency")
    return str(named) if named is not None else _first_agency(world)


def settings(world: WorldData, slug: str) -> dict[str, Any]:
    """An agency's settings with the documented defaults filled in."""
    for agency in _entries(world, "agencies"):
        if agency["slug"] == slug:
            return {**SETTING_DEFAULTS, **(agency.get("settings") or {})}
    raise KeyError(f"unknown agency {slug!r}")


def default_access(world: WorldData, case: Mapping[str, Any]) -> str:
    """The case type's `default_access` value: private, read, edit or transfer."""
    configured = settings(world, agency_of(world, case))["default_access"]
    if isinstance(configured, str):
        return configured
    if case["type"] in configured:
        return str(configured[case["type"]])
    return str(configured.get("*", "private"))


def _user(world: WorldData, name: str) -> dict[str, Any]:
    return _by_id(world, "users")[name]


def _case(world: WorldData, name: str) -> dict[str, Any]:
    return _by_id(world, "cases")[name]


def _active(user: Mapping[str, Any]) -> bool:
    return bool(user.get("active", True))


def split_principal(text: str) -> tuple[str, str]:
    """`group:g1` -> (`group`, `g1`)."""
    kind, _, name = text.partition(":")
    return kind, name


def parse_share(text: str) -> tuple[str, str, str]:
    """`case:k1#read@user:bob` -> (case, level or team role, grantee)."""
    left, _, grantee = text.partition("@")
    case_part, _, level = left.partition("#")
    return split_principal(case_part)[1], level, grantee


def parse_assignment(text: str) -> tuple[str, str]:
    """`case:k1@user:carol` -> (case, grantee)."""
    left, _, grantee = text.partition("@")
    return split_principal(left)[1], grantee


def parse_rule_grant(text: str) -> tuple[str, str]:
    """`edit@group:g2` -> (level, grantee)."""
    level, _, grantee = text.partition("@")
    return level, grantee


def _max_level(levels: Sequence[str]) -> str:
    best = "none"
    for level in levels:
        if RANK[level] > RANK[best]:
            best = level
    return best


def _min_level(a: str, b: str) -> str:
    return a if RANK[a] <= RANK[b] else b


# --------------------------------------------------------------------------- structure


def groups_containing(world: WorldData, member: str) -> set[str]:
    """Names of the groups that contain `member` (a principal text), directly or nested."""
    found: set[str] = set()
    frontier = {member}
    while frontier:
        new: set[str] = set()
        for group in _entries(world, "groups"):
            members = {str(m) for m in group.get("members") or []}
            if members & frontier and group["id"] not in found:
                new.add(str(group["id"]))
        found |= new
        frontier = {f"group:{name}" for name in new}
    return found


def location_ancestors(world: WorldData, name: str) -> list[str]:
    """Strict ancestors of a location, nearest first."""
    locations = _by_id(world, "locations")
    chain: list[str] = []
    parent = locations[name].get("parent")
    while parent is not None:
        chain.append(str(parent))
        parent = locations[str(parent)].get("parent")
    return chain


def role_ancestors(world: WorldData, name: str) -> list[str]:
    """Strict ancestors of a role, nearest first."""
    roles = _by_id(world, "roles")
    chain: list[str] = []
    parent = roles[name].get("parent")
    while parent is not None:
        chain.append(str(parent))
        parent = roles[str(parent)].get("parent")
    return chain


def _location_type(world: WorldData, location: str) -> dict[str, Any]:
    return _by_id(world, "location_types")[str(_by_id(world, "locations")[location]["type"])]


def _descendants_seen(world: WorldData, user: Mapping[str, Any]) -> set[str]:
    """Non-archived strict descendants of the user's locations whose type views descendants."""
    viewing = {
        str(loc)
        for loc in user.get("locations") or []
        if _location_type(world, str(loc)).get("view_descendants", False)
    }
    seen: set[str] = set()
    for location in _entries(world, "locations"):
        if location.get("archived", False):
            continue
        if set(location_ancestors(world, str(location["id"]))) & viewing:
            seen.add(str(location["id"]))
    return seen


def principals(world: WorldData, user_name: str) -> set[str]:
    """Every principal the user is a member of (S-OWN-2); nothing for an inactive user."""
    user = _user(world, user_name)
    if not _active(user):
        return set()
    result = {f"user:{user_name}", f"agency:{agency_of(world, user)}"}
    result |= {f"group:{g}" for g in groups_containing(world, f"user:{user_name}")}
    result |= {f"location:{loc}" for loc in user.get("locations") or []}
    result |= {f"location:{loc}" for loc in _descendants_seen(world, user)}
    role = user.get("role")
    if role is not None:
        result.add(f"role:{role}")
        for tree in [str(role), *role_ancestors(world, str(role))]:
            result.add(f"role_tree:{tree}")
    return result


def owner_ids(world: WorldData, user_name: str) -> set[str]:
    """The user's owner ids (S-OWN-1), as `kind:name`.

    Every owner id in docs/sharing.md is also one of the user's principals (their own id, groups
    they are in, assigned locations, live descendants of those that view descendants), so an
    inactive user, a member of nothing, has no owner ids either.
    """
    user = _user(world, user_name)
    if not _active(user):
        return set()
    groups = _by_id(world, "groups")
    result = {f"user:{user_name}"}
    for name in groups_containing(world, f"user:{user_name}"):
        if groups[name].get("case_sharing", False):
            result.add(f"group:{name}")
    for loc in user.get("locations") or []:
        if _location_type(world, str(loc)).get("shares_cases", False):
            result.add(f"location:{loc}")
    for loc in _descendants_seen(world, user):
        if _location_type(world, loc).get("shares_cases", False):
            result.add(f"location:{loc}")
    return result


# --------------------------------------------------------------------------- rules


def _field_value(case: Mapping[str, Any], field: str, key: str | None) -> str | None:
    """The case's value for a criteria field; None when it is missing."""
    if field == "case_type":
        raw = case.get("type")
    elif field == "name":
        raw = case.get("name")
    elif field == "owner":
        raw = case.get("owner")
    elif field == "property":
        raw = (case.get("properties") or {}).get(key)
    else:
        raise ValueError(f"unknown criteria field {field!r}")
    return None if raw is None else str(raw)


def _condition_holds(actual: str | None, op: str, value: Any) -> bool:
    """One condition; a missing value only ever satisfies `not_equals`."""
    if op == "not_equals":
        return actual is None or actual != str(value)
    if actual is None:
        return False
    if op == "equals":
        return actual == str(value)
    if op == "in":
        return actual in {str(v) for v in value}
    if op == "exists":
        return actual != ""  # a blank property has no value (docs/sharing.md)
    if op == "starts_with":
        return actual.startswith(str(value))
    raise ValueError(f"unknown criteria op {op!r}")


def _short_form_holds(when: Mapping[str, Any], case: Mapping[str, Any]) -> bool:
    """The mapping form: every entry holds; a list means `in`; a name ending in * is a prefix."""
    for field, expected in when.items():
        if field == "properties":
            for key, value in (expected or {}).items():
                op = "in" if isinstance(value, list) else "equals"
                if not _condition_holds(_field_value(case, "property", str(key)), op, value):
                    return False
            continue
        actual = _field_value(case, str(field), None)
        if isinstance(expected, list):
            holds = _condition_holds(actual, "in", expected)
        elif field == "name" and isinstance(expected, str) and expected.endswith("*"):
            holds = _condition_holds(actual, "starts_with", expected[:-1])
        else:
            holds = _condition_holds(actual, "equals", expected)
        if not holds:
            return False
    return True


def criteria_hold(when: Mapping[str, Any], case: Mapping[str, Any]) -> bool:
    """A `when` node: `all`/`any` over nodes, a single condition, or the short form."""
    if "all" in when or "any" in when:
        holds = True
        if "all" in when:
            holds = all(criteria_hold(node, case) for node in when["all"])
        if "any" in when:
            holds = holds and any(criteria_hold(node, case) for node in when["any"])
        return holds
    if "field" in when:
        key = when.get("key")
        actual = _field_value(case, str(when["field"]), None if key is None else str(key))
        return _condition_holds(actual, str(when["op"]), when.get("value"))
    return _short_form_holds(when, case)


def rule_matches(world: WorldData, rule: Mapping[str, Any], case: Mapping[str, Any]) -> bool:
    """Does an (active or not) rule's condition hold for the case? (S-RULE-1)"""
    if agency_of(world, rule) != agency_of(world, case):
        return False
    if rule["kind"] == "criteria":
        return criteria_hold(rule.get("when") or {}, case)
    if rule["kind"] != "owner":
        raise ValueError(f"unknown rule kind {rule['kind']!r}")
    source = str(rule["owner_in"])
    owner = str(case["owner"])
    if owner == source:
        return True
    kind, name = split_principal(owner)
    if kind == "user":
        return source in principals(world, name)  # empty for an inactive owner
    if kind == "group" and split_principal(source)[0] == "group":
        return split_principal(source)[1] in groups_containing(world, owner)
    return False


# --------------------------------------------------------------------------- grants


def _hierarchy_grants(
    world: WorldData, user: Mapping[str, Any], case: Mapping[str, Any]
) -> Iterator[Grant]:
    """Hierarchy over the owning user, and over users named in shares, team and assignments."""
    if not settings(world, agency_of(world, case))["hierarchy_access"]:
        return
    role = user.get("role")
    if role is None:
        return
    users = _by_id(world, "users")

    def above(named: str) -> bool:
        named_role = users[named].get("role")
        return named_role is not None and role in role_ancestors(world, str(named_role))

    kind, name = split_principal(str(case["owner"]))
    if kind == "user" and above(name):
        yield Grant("hierarchy", "full", "full", "owner")
    for text in _entries(world, "shares"):
        share_case, level, grantee = parse_share(str(text))
        kind, name = split_principal(grantee)
        if share_case == case["id"] and kind == "user" and above(name):
            yield Grant("hierarchy", level, level, "manual")
    team_roles = _by_id(world, "team_roles")
    for text in _entries(world, "team"):
        team_case, team_role, member = parse_share(str(text))
        kind, name = split_principal(member)
        level = str(team_roles[team_role]["level"])
        if team_case == case["id"] and kind == "user" and level != "none" and above(name):
            yield Grant("hierarchy", level, level, "team")
    for text in _entries(world, "assignments"):
        assigned_case, assignee = parse_assignment(str(text))
        kind, name = split_principal(assignee)
        if assigned_case == case["id"] and kind == "user" and above(name):
            yield Grant("hierarchy", "full", "full", "assigned")


def direct_grants(world: WorldData, user_name: str, case: Mapping[str, Any]) -> list[Grant]:
    """Grants with causes owner, hierarchy, assigned, manual, team and rule, before caps."""
    user = _user(world, user_name)
    mine = principals(world, user_name)
    found: list[Grant] = []
    if case["owner"] in owner_ids(world, user_name):
        found.append(Grant("owner", "full", "full"))
    found.extend(_hierarchy_grants(world, user, case))
    for text in _entries(world, "assignments"):
        assigned_case, assignee = parse_assignment(str(text))
        if assigned_case == case["id"] and assignee == f"user:{user_name}":
            found.append(Grant("assigned", "full", "full"))
    for text in _entries(world, "shares"):
        share_case, level, grantee = parse_share(str(text))
        if share_case == case["id"] and grantee in mine:
            found.append(Grant("manual", level, level))
    team_roles = _by_id(world, "team_roles")
    for text in _entries(world, "team"):
        team_case, team_role, member = parse_share(str(text))
        level = str(team_roles[team_role]["level"])
        if team_case == case["id"] and member == f"user:{user_name}" and level != "none":
            found.append(Grant("team", level, level))
    for rule in _entries(world, "rules"):
        level, grantee = parse_rule_grant(str(rule["grant"]))
        if rule.get("active", True) and grantee in mine and rule_matches(world, rule, case):
            found.append(Grant("rule", level, level, str(rule["id"])))
    return found


def _best_direct_level(world: WorldData, user_name: str, case: Mapping[str, Any]) -> str:
    if case.get("deleted", False):
        return "none"  # a case in the recycle bin gives its neighbours nothing
    return _max_level([grant.uncapped for grant in direct_grants(world, user_name, case)])


def _sync_edges(case: Mapping[str, Any], present: Mapping[str, Any]) -> dict[str, str]:
    """A case's indices to cases that exist: target -> "child" or "extension" (an index that is
    both is a child); an index to itself or to a missing or deleted case does not count."""
    edges: dict[str, str] = {}
    for index in (case.get("indices") or {}).values():
        target = str(index["case"])
        if target == case["id"] or target not in present:
            continue
        relationship = index.get("relationship", "child")
        edges[target] = "child" if "child" in (relationship, edges.get(target)) else "extension"
    return edges


def live_set(world: WorldData, user_name: str) -> set[str]:
    """S-SYNC-1, by fixpoint iteration straight from the SPEC's words: *available* = open and
    not an extension, or open and the extension of an available case; *live* = owned and
    available, or has a live child, or has a live extension, or is an open extension of a live
    case. A case with any child index is no extension."""
    user = _user(world, user_name)
    if not _active(user):
        return set()
    agency = agency_of(world, user)
    present = {
        str(c["id"]): c
        for c in _entries(world, "cases")
        if agency_of(world, c) == agency and not c.get("deleted", False)
    }
    edges = {name: _sync_edges(case, present) for name, case in present.items()}
    is_open = {name: not case.get("closed", False) for name, case in present.items()}

    def extension(name: str) -> bool:
        kinds = set(edges[name].values())
        return "extension" in kinds and "child" not in kinds

    available: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name in present:
            if name in available or not is_open[name]:
                continue
            hosts = [t for t, rel in edges[name].items() if rel == "extension"]
            if not extension(name) or any(h in available for h in hosts):
                available.add(name)
                changed = True
    owners = owner_ids(world, user_name)
    live = {n for n in available if str(present[n]["owner"]) in owners}
    changed = True
    while changed:
        changed = False
        for name in present:
            if name in live:
                continue
            indexed_by_live = any(name in edges[other] for other in live)
            extends_live = is_open[name] and any(
                rel == "extension" and target in live for target, rel in edges[name].items()
            )
            if indexed_by_live or extends_live:
                live.add(name)
                changed = True
    return live


def uncapped_grants(world: WorldData, user_name: str, case: Mapping[str, Any]) -> list[Grant]:
    """Every grant of every cause, before the caps of docs/sharing.md."""
    user = _user(world, user_name)
    cases = _by_id(world, "cases")
    agency = settings(world, agency_of(world, case))
    found = direct_grants(world, user_name, case)

    child_access = str(agency["child_access"])
    if child_access != "none":
        for index in (case.get("indices") or {}).values():
            if index.get("relationship", "child") != "child":
                continue
            parent_level = _best_direct_level(world, user_name, cases[str(index["case"])])
            if parent_level != "none":
                level = _min_level(child_access, parent_level)
                found.append(Grant("implicit_child", level, level, str(index["case"])))

    for other in cases.values():
        points_here = any(
            str(index["case"]) == case["id"] for index in (other.get("indices") or {}).values()
        )
        if points_here and _best_direct_level(world, user_name, other) != "none":
            found.append(Grant("implicit_parent", "read", "read", str(other["id"])))

    # row cause sync: read, seeds nothing; on a case the user owns, the owner grant says it all
    owned = str(case["owner"]) in owner_ids(world, user_name)
    if not owned and str(case["id"]) in live_set(world, user_name):
        found.append(Grant("sync", "read", "read"))

    if _active(user) and agency_of(world, user) == agency_of(world, case):
        level = DEFAULT_ACCESS_LEVEL[default_access(world, case)]
        if level != "none":
            found.append(Grant("default", level, level))

    permissions = set(user.get("permissions") or [])
    if agency_of(world, user) == agency_of(world, case):
        if permissions & {"admin", "modify_all"}:
            found.append(Grant("permission", "full", "full"))
        elif "view_all" in permissions:
            found.append(Grant("permission", "read", "read"))
    return found


def grants(world: WorldData, user_name: str, case_name: str) -> list[Grant]:
    """Every grant that applies to (user, case), with its level after the caps."""
    user = _user(world, user_name)
    case = _case(world, case_name)
    if case.get("deleted", False):
        return []
    if not _active(user):
        return []  # S-ACC-4
    if agency_of(world, user) != agency_of(world, case):
        return []  # S-ACC-3, tenant isolation
    owners_policy = settings(world, agency_of(world, case))["edit_policy"] == "owners"
    capped: list[Grant] = []
    for grant in uncapped_grants(world, user_name, case):
        level = grant.uncapped
        if owners_policy and (
            grant.cause in OWNERS_POLICY_CAPPED
            or (grant.cause == "hierarchy" and grant.source in OWNERS_POLICY_CAPPED_HIERARCHY)
        ):
            level = _min_level(level, "read")
        capped.append(Grant(grant.cause, level, grant.uncapped, grant.source))
    return capped


# --------------------------------------------------------------------------- the answers


def level(world: WorldData, user_name: str, case_name: str) -> str:
    """Effective level after caps: none, read, edit or full."""
    return _max_level([grant.level for grant in grants(world, user_name, case_name)])


def causes(world: WorldData, user_name: str, case_name: str) -> frozenset[str]:
    """Row causes whose capped grant reaches the effective level; empty when it is none."""
    effective = level(world, user_name, case_name)
    if effective == "none":
        return frozenset()
    return frozenset(
        grant.cause for grant in grants(world, user_name, case_name) if grant.level == effective
    )


def can(world: WorldData, user_name: str, action: str, case_name: str) -> bool:
    """The single check for one of ACTIONS."""
    effective = RANK[level(world, user_name, case_name)]
    if action == "view":
        return effective >= RANK["read"]
    if action in ("edit", "close"):
        return effective >= RANK["edit"]
    if action in ("delete", "share"):
        return effective >= RANK["full"]
    if action == "transfer":
        if effective >= RANK["full"]:
            return True
        user = _user(world, user_name)
        case = _case(world, case_name)
        may_transfer = "transfer" in (user.get("permissions") or []) or (
            default_access(world, case) == "transfer"
        )
        return effective >= RANK["edit"] and may_transfer
    raise ValueError(f"unknown action {action!r}")


def sees(world: WorldData, user_name: str) -> set[str]:
    """The cases the user's listing returns: every case they can view (none deleted)."""
    return {
        str(case["id"])
        for case in _entries(world, "cases")
        if can(world, user_name, "view", str(case["id"]))
    }
