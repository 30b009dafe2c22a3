"""Hypothesis strategies that build small, valid scenario worlds (docs/scenarios.md).

Every world is a plain dict in the scenario-file format, so it reaches the engine through
``World.load`` exactly as a YAML file would. Names are unique across kinds (a1, r1, lt1, l1, u1,
g1, tm1, k1, rule1) so bare names never clash. Validity follows docs/scenarios.md and SPEC §5-§7:
owners are users, case-sharing groups or non-archived case-sharing locations of the case's agency;
manual shares are strictly above the case type's default, never `full`, never to the owner, at most
one per (case, grantee); assignees and team members are active users of the agency; indices point
to earlier cases.
Every draw shrinks towards the plain case (active users, live open cases, active rules, the default
settings, no permissions), so a failing example shrinks to a world a person can read.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

CASE_TYPES = ("patient", "household", "contact")
CASE_NAMES = ("Smith", "Smithson", "Jones", "Joan")
PROPERTY_VALUES = {
    "priority": ("high", "low"),
    "district": ("north-1", "north-2", "south-1"),
    "flag": ("x", "y"),
}
PREFIXES = ("Sm", "Jo", "north-", "pat", "ho", "x")
DEFAULT_ACCESS = ("private", "private", "read", "edit", "transfer")
PERMISSIONS = ("admin", "view_all", "modify_all", "transfer")
#: `default_access` value -> the lowest level a manual share may have (strictly above it).
SHAREABLE_LEVELS = {"private": ("read", "edit"), "read": ("edit",), "edit": (), "transfer": ()}

Draw = st.DrawFn
Entry = dict[str, Any]
#: An index into candidates that are known only once a whole list is drawn; taken modulo.
PICK = st.integers(0, 7)


def _some(draw: Draw, items: list[str], max_size: int) -> list[str]:
    """A duplicate-free, order-preserving sub-list of `items` of at most `max_size` elements."""
    if not items:
        return []
    picked = draw(st.lists(st.sampled_from(items), max_size=max_size, unique=True))
    return [item for item in items if item in picked]


def _maybe(draw: Draw, items: list[str], odds: int = 3) -> str | None:
    """One of `items`, or None once in `odds` times (always None when `items` is empty)."""
    if not items or draw(st.integers(1, odds)) == 1:
        return None
    return draw(st.sampled_from(items))


def _maybe_pick(draw: Draw, odds: int = 4) -> int | None:
    """A PICK, or None once in `odds` times (None is where it shrinks to)."""
    return None if draw(st.integers(1, odds)) == 1 else draw(PICK)


def _resolve(items: list[str], pick: int | None) -> str | None:
    return items[pick % len(items)] if items and pick is not None else None


def _of(world: Entry, key: str, slug: str) -> list[str]:
    """Names of the entities of one kind that belong to an agency."""
    return [str(e["id"]) for e in world[key] if e["agency"] == slug]


def _agency_settings(draw: Draw) -> Entry:
    types = draw(st.lists(st.sampled_from(("*", *CASE_TYPES)), max_size=3, unique=True))
    return {
        "case_sharing": False,
        "default_access": {t: draw(st.sampled_from(DEFAULT_ACCESS)) for t in types},
        "hierarchy_access": draw(st.integers(0, 2)) != 2,
        "child_access": draw(st.sampled_from(("read", "none", "edit"))),
        "edit_policy": draw(st.sampled_from(("access", "owners"))),
    }


def _default_access(agency: Entry, case_type: str) -> str:
    configured: dict[str, str] = agency["settings"]["default_access"]
    return configured.get(case_type, configured.get("*", "private"))


def _principals_of_agency(world: Entry, slug: str) -> list[str]:
    """Every principal text of one agency (the pool for grantees and rule sources)."""
    found = [f"agency:{slug}"]
    for kind, key in (("user", "users"), ("group", "groups"), ("location", "locations")):
        found += [f"{kind}:{name}" for name in _of(world, key, slug)]
    for role in _of(world, "roles", slug):
        found += [f"role:{role}", f"role_tree:{role}"]
    return found


def _principal(draw: Draw, pool: list[str], favour: str) -> str:
    """A principal of `pool`; half the time one of kind `favour`, so that rarer paths (a manager
    above a shared-with user, an owner rule over a nested group) come up often enough."""
    favoured = [p for p in pool if p.startswith(f"{favour}:")]
    favour_it: bool = draw(st.booleans())
    return draw(st.sampled_from(favoured if favoured and favour_it else pool))


def _owner(draw: Draw, owners: list[str]) -> str:
    """An owner, its kind (user, group, location) drawn first so group and location owners are
    as common as user owners."""
    kinds = sorted(
        {owner.partition(":")[0] for owner in owners}, key=["user", "group", "location"].index
    )
    kind = draw(st.sampled_from(kinds))
    return draw(st.sampled_from([owner for owner in owners if owner.startswith(f"{kind}:")]))


def _valid_owners(world: Entry, slug: str) -> list[str]:
    """Principals that may own a case of the agency (SPEC §2)."""
    types = {t["id"]: t for t in world["location_types"]}
    owners = [f"user:{name}" for name in _of(world, "users", slug)]
    owners += [
        f"group:{g['id']}" for g in world["groups"] if g["agency"] == slug and g["case_sharing"]
    ]
    owners += [
        f"location:{loc['id']}"
        for loc in world["locations"]
        if loc["agency"] == slug and not loc["archived"] and types[loc["type"]]["shares_cases"]
    ]
    return owners


def _named(entries: list[Entry], prefix: str, start: int = 1) -> list[Entry]:
    """Give drawn entries their names, in order, with `id` first as a person writes it."""
    return [{"id": f"{prefix}{start + i}", **entry} for i, entry in enumerate(entries)]


# --------------------------------------------------------------------------- one entity each
# Each collection is drawn as a Hypothesis list of self-contained entries, so shrinking deletes
# whole entities; a reference to an entity of the same list is a PICK resolved afterwards.


@st.composite
def _role(draw: Draw, slugs: list[str]) -> Entry:
    return {"agency": draw(st.sampled_from(slugs)), "_parent": _maybe_pick(draw)}


@st.composite
def _location_type(draw: Draw, slugs: list[str]) -> Entry:
    return {
        "agency": draw(st.sampled_from(slugs)),
        "shares_cases": draw(st.booleans()),
        "view_descendants": draw(st.booleans()),
    }


@st.composite
def _location(draw: Draw, world: Entry) -> Entry:
    slug = draw(st.sampled_from(sorted({t["agency"] for t in world["location_types"]})))
    return {
        "agency": slug,
        "type": draw(st.sampled_from(_of(world, "location_types", slug))),
        "_parent": _maybe_pick(draw, 3),
        "archived": draw(st.integers(0, 2)) == 2,
    }


@st.composite
def _user(draw: Draw, world: Entry, slug: str) -> Entry:
    permissions = draw(st.lists(st.sampled_from(PERMISSIONS), max_size=2, unique=True))
    if draw(st.integers(0, 3)) != 3:
        permissions = []  # few users hold permissions: they would decide most checks
    user: Entry = {"agency": slug, "active": draw(st.integers(0, 3)) != 3}
    role = _maybe(draw, _of(world, "roles", slug), 4)
    if role is not None:
        user["role"] = role
    user["locations"] = _some(draw, _of(world, "locations", slug), 2)
    user["permissions"] = sorted(permissions)
    return user


@st.composite
def _group(draw: Draw, world: Entry, slugs: list[str]) -> Entry:
    slug = draw(st.sampled_from(slugs))
    return {
        "agency": slug,
        "case_sharing": draw(st.booleans()),
        "members": [f"user:{name}" for name in _some(draw, _of(world, "users", slug), 3)],
        "_groups": draw(st.lists(PICK, max_size=2)),
    }


@st.composite
def _team_role(draw: Draw, slugs: list[str]) -> Entry:
    return {
        "agency": draw(st.sampled_from(slugs)),
        "level": draw(st.sampled_from(("read", "edit", "none"))),
    }


@st.composite
def _case(draw: Draw, world: Entry, slug: str) -> Entry:
    """A case with its own shares, assignees and team; indices are PICKs of earlier cases."""
    agency = next(a for a in world["agencies"] if a["slug"] == slug)
    case: Entry = {
        "agency": slug,
        "type": draw(st.sampled_from(CASE_TYPES)),
        "name": draw(st.sampled_from(CASE_NAMES)),
        "owner": _owner(draw, _valid_owners(world, slug)),
    }
    keys = draw(st.lists(st.sampled_from(sorted(PROPERTY_VALUES)), max_size=2, unique=True))
    case["properties"] = {k: draw(st.sampled_from(PROPERTY_VALUES[k])) for k in keys}
    case["_indices"] = [
        (identifier, draw(PICK), draw(st.sampled_from((None, "child", "extension"))))
        for identifier in _some(draw, ["parent", "host", "other"], 2)
    ]
    case["closed"] = draw(st.integers(0, 3)) == 3
    case["deleted"] = draw(st.integers(0, 5)) == 5
    levels = SHAREABLE_LEVELS[_default_access(agency, case["type"])]
    pool = [p for p in _principals_of_agency(world, slug) if p != case["owner"]]
    case["_shares"] = []
    if levels and pool:
        grantees = {_principal(draw, pool, "user") for _ in range(draw(st.integers(0, 2)))}
        for grantee in sorted(grantees):  # at most one manual share per (case, grantee)
            case["_shares"].append((draw(st.sampled_from(levels)), grantee))
    active = [u["id"] for u in world["users"] if u["agency"] == slug and u["active"]]
    case["_assigned"] = _some(draw, active, 1)
    case["_team"] = []
    team_roles = _of(world, "team_roles", slug)
    if team_roles:
        for user in _some(draw, active, 2):  # team members, like assignees, are active users
            case["_team"].append((draw(st.sampled_from(team_roles)), user))
    return case


# --------------------------------------------------------------------------- rule criteria


def _criteria_value(draw: Draw, field: str, key: str | None, owners: list[str]) -> str:
    if field == "case_type":
        return draw(st.sampled_from(CASE_TYPES))
    if field == "name":
        return draw(st.sampled_from(CASE_NAMES))
    if field == "owner":
        return draw(st.sampled_from(owners))
    assert key is not None
    return draw(st.sampled_from(PROPERTY_VALUES[key]))


def _condition(draw: Draw, owners: list[str]) -> Entry:
    field = draw(st.sampled_from(("property", "case_type", "name", "owner", "property")))
    key = draw(st.sampled_from(sorted(PROPERTY_VALUES))) if field == "property" else None
    ops = ["equals", "not_equals", "in", "exists", "starts_with"]
    if field == "owner":
        ops.remove("starts_with")  # an owner is a principal, not text: no prefix of it is one
    op = draw(st.sampled_from(ops))
    condition: Entry = {"field": field}
    if key is not None:
        condition["key"] = key
    condition["op"] = op
    if op == "in":
        values = [_criteria_value(draw, field, key, owners) for _ in range(draw(st.integers(1, 3)))]
        condition["value"] = list(dict.fromkeys(values))  # in drawn order: not always sorted
    elif op == "starts_with":
        condition["value"] = draw(st.sampled_from(PREFIXES))
    elif op != "exists":
        condition["value"] = _criteria_value(draw, field, key, owners)
    return condition


def _long_form(draw: Draw, owners: list[str], depth: int) -> Entry:
    combinator = draw(st.sampled_from(("all", "any")))
    nodes: list[Entry] = []
    for _ in range(draw(st.integers(1, 3))):
        if depth < 2 and draw(st.integers(0, 3)) == 3:
            nodes.append(_long_form(draw, owners, depth + 1))
        else:
            nodes.append(_condition(draw, owners))
    return {combinator: nodes}


def _short_value(draw: Draw, field: str, key: str | None, owners: list[str]) -> str | list[str]:
    if draw(st.integers(0, 3)) == 3:
        values = {_criteria_value(draw, field, key, owners) for _ in range(draw(st.integers(1, 3)))}
        return sorted(values)
    return _criteria_value(draw, field, key, owners)


def _short_form(draw: Draw, owners: list[str]) -> Entry:
    fields = draw(
        st.lists(
            st.sampled_from(("case_type", "name", "owner", "properties")),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    when: Entry = {}
    for field in fields:
        if field == "properties":
            keys = draw(st.lists(st.sampled_from(sorted(PROPERTY_VALUES)), min_size=1, max_size=2))
            when["properties"] = {k: _short_value(draw, "property", k, owners) for k in keys}
        else:
            when[field] = _short_value(draw, field, None, owners)
    return when


@st.composite
def _rule(draw: Draw, world: Entry, slugs: list[str]) -> Entry:
    slug = draw(st.sampled_from(slugs))
    pool = _principals_of_agency(world, slug)
    owners = _valid_owners(world, slug)
    rule: Entry = {"agency": slug}
    if draw(st.booleans()):
        rule["kind"] = "criteria"
        if draw(st.booleans()):
            rule["when"] = _long_form(draw, owners, 1)
        else:
            rule["when"] = _short_form(draw, owners)
    else:
        rule["kind"] = "owner"
        rule["owner_in"] = _principal(draw, pool, "group")
    level = draw(st.sampled_from(("read", "edit")))
    rule["grant"] = f"{level}@{_principal(draw, pool, draw(st.sampled_from(('user', 'group'))))}"
    rule["active"] = draw(st.integers(0, 4)) != 4
    return rule


# --------------------------------------------------------------------------- the world


@st.composite
def worlds(draw: Draw) -> Entry:
    """A random valid world: 1-2 agencies, 2-8 users, 1-10 cases per agency, every grant kind."""
    slugs = ["a1", "a2"] if draw(st.integers(0, 2)) == 2 else ["a1"]  # a second agency: 1 in 3
    world: Entry = {"agencies": [{"slug": s, "settings": _agency_settings(draw)} for s in slugs]}

    world["roles"] = _named(draw(st.lists(_role(slugs), max_size=6)), "r")
    for position, role in enumerate(world["roles"]):
        earlier = _of({"roles": world["roles"][:position]}, "roles", role["agency"])
        parent = _resolve(earlier, role.pop("_parent"))
        if parent is not None:
            role["parent"] = parent

    world["location_types"] = _named(draw(st.lists(_location_type(slugs), max_size=3)), "lt")
    world["locations"] = []
    if world["location_types"]:
        world["locations"] = _named(draw(st.lists(_location(world), max_size=6)), "l")
    for position, location in enumerate(world["locations"]):
        earlier = _of({"locations": world["locations"][:position]}, "locations", location["agency"])
        parent = _resolve(earlier, location.pop("_parent"))
        if parent is not None:
            location["parent"] = parent

    world["users"] = []
    for slug in slugs:  # every agency has a user; 2-8 users in all
        low, high = (2, 8) if len(slugs) == 1 else (1, 4)
        drawn = draw(st.lists(_user(world, slug), min_size=low, max_size=high))
        world["users"] += _named(drawn, "u", len(world["users"]) + 1)

    world["groups"] = _named(draw(st.lists(_group(world, slugs), max_size=5)), "g")
    for position, group in enumerate(world["groups"]):
        later = _of({"groups": world["groups"][position + 1 :]}, "groups", group["agency"])
        nested = {_resolve(later, pick) for pick in group.pop("_groups")} - {None}
        group["members"] += [f"group:{name}" for name in later if name in nested]  # no cycle

    world["team_roles"] = _named(draw(st.lists(_team_role(slugs), max_size=3)), "tm")

    world["cases"] = []
    for slug in slugs:
        drawn = draw(st.lists(_case(world, slug), min_size=1, max_size=10))
        start = len(world["cases"]) + 1
        cases = _named(drawn, "k", start)
        for position, case in enumerate(cases):
            earlier = [c["id"] for c in cases[:position]]
            case["indices"] = {}
            for identifier, pick, relationship in case.pop("_indices"):
                target = _resolve(earlier, pick)
                if target is None:
                    continue
                index: Entry = {"case": target}
                if relationship is not None:
                    index["relationship"] = relationship
                case["indices"][identifier] = index
        world["cases"] += cases
    world["shares"], world["assignments"], world["team"] = [], [], []
    for case in world["cases"]:
        name = case["id"]
        world["shares"] += [f"case:{name}#{lvl}@{grantee}" for lvl, grantee in case.pop("_shares")]
        world["assignments"] += [f"case:{name}@user:{user}" for user in case.pop("_assigned")]
        world["team"] += [f"case:{name}#{role}@user:{user}" for role, user in case.pop("_team")]

    world["rules"] = _named(draw(st.lists(_rule(world, slugs), max_size=8)), "rule")
    return world
