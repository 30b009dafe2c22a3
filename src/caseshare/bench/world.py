"""A deterministic SPEC §16 world, loaded in bulk: nested groups, a location tree, a role tree,
parent cases with Zipf-many children, Zipf-distributed manual shares, rules, teams, assignments."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from caseshare.core.levels import Level
from caseshare.core.settings import Settings
from caseshare.store import Store
from caseshare.store.base import dumps, utcnow
from caseshare.store.cases import search_text


@dataclass(frozen=True)
class Size:
    name: str
    users: int
    cases: int


SIZES = {
    "XS": Size("XS", 200, 2_000),
    "S": Size("S", 2_000, 20_000),
    "M": Size("M", 20_000, 200_000),
    "L": Size("L", 50_000, 1_000_000),
}


@dataclass
class BenchWorld:
    agency_id: int
    users: list[int] = field(default_factory=list)
    teams: list[int] = field(default_factory=list)
    big_groups: list[int] = field(default_factory=list)
    case_ids: list[str] = field(default_factory=list)
    top_user: int = 0  # a user whose role is at the top of the tree
    team_roles: list[int] = field(default_factory=list)


#: rows held before they are written (the L world's million cases were held at once: the
#: bench process peaked at 1 GiB before it measured anything)
CHUNK = 20_000


#: the columns of the ``cases`` rows ``_cases`` writes, in order
CASE_COLUMNS = [
    "pk",
    "agency_id",
    "case_id",
    "case_type",
    "name",
    "external_id",
    "owner",
    "owner_user_id",
    "opened_on",
    "opened_by",
    "modified_on",
    "server_modified_on",
    "modified_by",
    "closed",
    "deleted",
    "properties",
    "search",
]


class _Chunked:
    """Rows for one table, written ``CHUNK`` at a time."""

    def __init__(self, store: Store, table: str, columns: list[str]) -> None:
        self.store, self.table, self.columns = store, table, columns
        self.rows: list[tuple[Any, ...]] = []

    def add(self, row: tuple[Any, ...]) -> None:
        self.rows.append(row)
        if len(self.rows) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        self.store.bulk_insert(self.table, self.columns, self.rows)
        self.rows = []


def _zipf(rng: random.Random, n: int, s: float = 1.2) -> int:
    """An index in [0, n) drawn from a Zipf-like law (a few hot items, a long tail)."""
    return min(n - 1, int(n * rng.random() ** (1 + 2 * s)))


def build(store: Store, size: Size, seed: int = 1, slug: str = "bench") -> BenchWorld:
    rng = random.Random(seed)
    now = utcnow()
    settings = Settings.from_dict(
        {"case_sharing": True, "default_access": {"*": "private", "referral": "read"}}
    )
    with store.transaction():
        agency_id = store.create_agency(slug, f"Benchmark {size.name}", settings)
    world = BenchWorld(agency_id)
    base = agency_id * 10_000_000  # explicit ids, distinct per agency

    # roles: a tree of depth 5, fan-out 3 (121 roles)
    roles: list[tuple[int, int | None]] = [(base + 1, None)]
    frontier = [base + 1]
    for _ in range(4):
        nxt = []
        for parent in frontier:
            for _ in range(3):
                rid = base + len(roles) + 1
                roles.append((rid, parent))
                nxt.append(rid)
        frontier = nxt
    leaf_roles = frontier
    # locations: country → 5 regions → 25 districts → clinics (one per ~20 users)
    types = [
        (base + 1, "country", 0, 1),
        (base + 2, "region", 0, 1),
        (base + 3, "district", 1, 1),
        (base + 4, "clinic", 1, 0),
    ]
    locs: list[tuple[int, int, int | None]] = [(base + 1, base + 1, None)]
    regions = [base + 2 + i for i in range(5)]
    locs += [(r, base + 2, base + 1) for r in regions]
    districts = [base + 10 + i for i in range(25)]
    locs += [(d, base + 3, regions[i % 5]) for i, d in enumerate(districts)]
    n_clinics = max(5, size.users // 20)
    clinics = [base + 100 + i for i in range(n_clinics)]
    locs += [(c, base + 4, districts[i % 25]) for i, c in enumerate(clinics)]

    users = []
    user_locations = []
    for i in range(size.users):
        uid = base + 1 + i
        role = (
            roles[0][0]
            if i == 0
            else (rng.choice(leaf_roles) if rng.random() < 0.8 else rng.choice(roles)[0])
        )
        perms = "view_all" if i % 997 == 5 else ("transfer" if i % 50 == 7 else "")
        active = 0 if i % 101 == 13 else 1
        users.append(
            (uid, agency_id, f"u{i}", f"u{i}@bench.example", f"User {i}", active, role, perms)
        )
        if rng.random() < 0.3:
            user_locations.append((uid, clinics[i % n_clinics]))
    world.users = [u[0] for u in users]
    world.top_user = users[0][0]

    # groups: case-sharing teams of ~20, nested up to 6 levels, plus a few big groups
    groups = []
    members: list[tuple[int, str]] = []
    n_teams = max(4, size.users // 20)
    for t in range(n_teams):
        gid = base + 1 + t
        groups.append((gid, agency_id, f"team-{t}", 1, "group"))
        world.teams.append(gid)
    for i, uid in enumerate(world.users):
        if i % 40 != 17:  # a few users in no team (S-CRT-4 shows them)
            members.append((world.teams[i % n_teams], f"user:{uid}"))
    level = list(world.teams)
    next_gid = base + n_teams + 1
    for depth in range(5):  # parents of 4 groups each, up to 6 levels deep
        parents = []
        for j in range(0, len(level), 4):
            gid = next_gid
            next_gid += 1
            groups.append(
                (gid, agency_id, f"nest-{depth}-{j}", 0, "unit" if depth == 0 else "group")
            )
            members += [(gid, f"group:{g}") for g in level[j : j + 4]]
            parents.append(gid)
        level = parents
        if len(level) <= 1:
            break
    big_size = min(5_000, size.users // 2)
    for b in range(3):
        gid = next_gid
        next_gid += 1
        groups.append((gid, agency_id, f"big-{b}", 0, "group"))
        start = rng.randrange(size.users)
        chosen = {world.users[(start + k) % size.users] for k in range(big_size)}
        members += [(gid, f"user:{u}") for u in sorted(chosen)]
        world.big_groups.append(gid)

    team_roles = [
        (base + 1, agency_id, "observer", int(Level.READ)),
        (base + 2, agency_id, "editor", int(Level.EDIT)),
    ]
    world.team_roles = [r[0] for r in team_roles]

    with store.transaction():
        store.bulk_insert(
            "roles",
            ["id", "agency_id", "name", "parent_id"],
            [(r, agency_id, f"role-{r - base}", p) for r, p in roles],
        )
        store.bulk_insert(
            "location_types",
            ["id", "agency_id", "name", "shares_cases", "view_descendants"],
            [(t[0], agency_id, t[1], t[2], t[3]) for t in types],
        )
        store.bulk_insert(
            "locations",
            ["id", "agency_id", "name", "type_id", "parent_id"],
            [(loc, agency_id, f"loc-{loc - base}", t, p) for loc, t, p in locs],
        )
        store.bulk_insert(
            "users",
            [
                "id",
                "agency_id",
                "username",
                "email",
                "full_name",
                "active",
                "role_id",
                "permissions",
            ],
            users,
        )
        store.bulk_insert("user_locations", ["user_id", "location_id"], user_locations)
        store.bulk_insert(
            "agency_groups", ["id", "agency_id", "name", "case_sharing", "kind"], groups
        )
        store.bulk_insert("group_members", ["group_id", "member"], members)
        store.bulk_insert("team_roles", ["id", "agency_id", "name", "level"], team_roles)
        _cases(store, world, size, rng, base, clinics, now)
        _rules(store, world, rng, base, agency_id)
        store.reset_sequences(
            [
                ("roles", "id"),
                ("location_types", "id"),
                ("locations", "id"),
                ("users", "id"),
                ("agency_groups", "id"),
                ("team_roles", "id"),
                ("cases", "pk"),
                ("grants", "id"),
                ("rules", "id"),
            ]
        )
        store.bump(agency_id)
    store.analyze()
    return world


def _cases(
    store: Store,
    world: BenchWorld,
    size: Size,
    rng: random.Random,
    base: int,
    clinics: list[int],
    now: str,
) -> None:
    agency_id = world.agency_id
    types = ["household", "patient", "patient", "patient", "contact", "referral"]
    rows = _Chunked(store, "cases", CASE_COLUMNS)
    n_parents = size.cases // 10
    owners = []
    for i in range(size.cases):
        r = rng.random()
        if r < 0.4:
            owner = f"user:{rng.choice(world.users)}"
        elif r < 0.8:
            owner = f"group:{rng.choice(world.teams)}"
        else:
            owner = f"location:{rng.choice(clinics)}"
        owners.append(owner)
        ctype = "household" if i < n_parents else rng.choice(types[1:])
        props = {
            "priority": rng.choice(["high", "low", "medium"]),
            "district": f"d{rng.randrange(25)}",
        }
        stamp = f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00.{i % 1_000_000:06d}Z"
        owner_user = int(owner[5:]) if owner.startswith("user:") else None
        rows.add(
            (
                base + 1 + i,
                agency_id,
                f"c{i}",
                ctype,
                f"Case {i} {ctype}",
                "",
                owner,
                owner_user,
                stamp,
                None,
                stamp,
                now,
                None,
                int(rng.random() < 0.1),
                0,
                dumps(props),
                search_text(f"Case {i} {ctype}", "", props),
            )
        )
        world.case_ids.append(f"c{i}")
    rows.flush()
    indices = _Chunked(
        store, "case_indices", ["case_pk", "identifier", "ref_pk", "ref_type", "relationship"]
    )
    for i in range(n_parents, size.cases):
        if rng.random() < 0.7:
            parent = _zipf(rng, n_parents)
            ext = rng.random() < 0.1
            indices.add(
                (
                    base + 1 + i,
                    "host" if ext else "parent",
                    base + 1 + parent,
                    "household",
                    "extension" if ext else "child",
                )
            )
    indices.flush()
    grants: dict[tuple[int, str, str], tuple[Any, ...]] = {}
    gid = base
    for _ in range(size.cases // 5):  # manual shares, Zipf over cases
        case = _zipf(rng, size.cases)
        grantee = (
            f"user:{rng.choice(world.users)}"
            if rng.random() < 0.7
            else f"group:{rng.choice(world.teams)}"
        )
        if grantee == owners[case]:
            continue
        level = int(Level.EDIT) if rng.random() < 0.3 else int(Level.READ)
        gid += 1
        grants.setdefault(
            (case, "manual", grantee),
            (
                gid,
                agency_id,
                base + 1 + case,
                "manual",
                grantee,
                int(grantee[5:]) if grantee.startswith("user:") else None,
                level,
                None,
                "system",
                now,
                "system",
                now,
            ),
        )
    for _ in range(size.cases // 20):
        case = rng.randrange(size.cases)
        uid = rng.choice(world.users)
        gid += 1
        grants.setdefault(
            (case, "assigned", f"user:{uid}"),
            (
                gid,
                agency_id,
                base + 1 + case,
                "assigned",
                f"user:{uid}",
                uid,
                int(Level.FULL),
                None,
                "system",
                now,
                "system",
                now,
            ),
        )
        case = rng.randrange(size.cases)
        uid = rng.choice(world.users)
        gid += 1
        role = rng.choice(world.team_roles)
        grants.setdefault(
            (case, "team", f"user:{uid}"),
            (
                gid,
                agency_id,
                base + 1 + case,
                "team",
                f"user:{uid}",
                uid,
                int(Level.READ),
                role,
                "system",
                now,
                "system",
                now,
            ),
        )
    store.bulk_insert(
        "grants",
        [
            "id",
            "agency_id",
            "case_pk",
            "cause",
            "grantee",
            "grantee_user_id",
            "level",
            "team_role_id",
            "created_by",
            "created_at",
            "modified_by",
            "modified_at",
        ],
        list(grants.values()),
    )


def _rules(store: Store, world: BenchWorld, rng: random.Random, base: int, agency_id: int) -> None:
    rows: list[tuple[Any, ...]] = []
    for i in range(40):  # owner rules: one team's cases → read for another team
        rows.append(
            (
                base + 1 + i,
                agency_id,
                f"owner-{i}",
                "owner",
                f"group:{rng.choice(world.teams)}",
                None,
                f"group:{rng.choice(world.teams)}",
                int(Level.READ),
                1,
            )
        )
    for i in range(10):  # criteria rules
        crit = {
            "all": [
                {"field": "case_type", "op": "equals", "value": "patient"},
                {"field": "property", "key": "district", "op": "equals", "value": f"d{i}"},
            ]
        }
        rows.append(
            (
                base + 41 + i,
                agency_id,
                f"criteria-{i}",
                "criteria",
                None,
                dumps(crit),
                f"group:{rng.choice(world.big_groups)}",
                int(Level.READ),
                1,
            )
        )
    store.bulk_insert(
        "rules",
        ["id", "agency_id", "name", "kind", "owner_in", "criteria", "grantee", "level", "active"],
        rows,
    )
