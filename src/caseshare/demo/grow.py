"""Grows the hand-written demo world into a programme: a few dozen people and a few hundred cases.

Deterministic (a seeded generator), and built through the services, so every row has its audit
event and every rule of the engine decides what each person sees: cases owned by clinics, by a
nurses' group and by single workers; parent, child and extension cases; manual shares with users,
groups, locations, roles and the whole agency; assignments; case teams; two sharing rules; closed
and deleted cases; and a partner agency that sees none of it.
"""

from __future__ import annotations

import random

from caseshare.core.principals import Principal
from caseshare.scenario.world import World

FIRST = [
    "Amara",
    "Bilal",
    "Chen",
    "Dalia",
    "Emeka",
    "Farah",
    "Goran",
    "Hana",
    "Idris",
    "Jana",
    "Kofi",
    "Lina",
    "Mateo",
    "Nadia",
    "Oskar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sipho",
    "Tariq",
    "Uma",
    "Vikram",
    "Yara",
    "Zane",
    "Ines",
    "Jonas",
    "Leila",
    "Marco",
]
LAST = [
    "Okafor",
    "Haddad",
    "Novak",
    "Mensah",
    "Silva",
    "Kowalski",
    "Nguyen",
    "Costa",
    "Ahmed",
    "Fischer",
    "Moreau",
    "Rossi",
    "Tanaka",
    "Petrov",
    "Banda",
    "Diallo",
    "Larsen",
    "Ortiz",
    "Sato",
    "Khan",
    "Weber",
    "Dubois",
    "Jensen",
    "Ivanova",
    "Mbeki",
    "Ferreira",
    "Hale",
    "Kaya",
]
VILLAGES = [
    "Amani",
    "Baraka",
    "Cedar",
    "Dune",
    "Elm",
    "Fala",
    "Gara",
    "Hill",
    "Iris",
    "Juba",
    "Kora",
    "Lake",
]


def grow(world: World, seed: int = 7) -> None:
    rng = random.Random(seed)
    svc = world.svc
    demo = world.agencies["demo"]
    partner = world.agencies["partner"]
    users = world.ids["users"]
    groups = world.ids["groups"]
    locations = world.ids["locations"]
    roles = world.ids["roles"]
    types = world.ids["location_types"]
    team_roles = world.ids["team_roles"]

    # a second district with two clinics, and its supervisor
    south = svc.create_location(demo, None, "south", types["district"])
    clinics = {
        "clinic-a": locations["clinic-a"],
        "clinic-b": locations["clinic-b"],
        "clinic-c": svc.create_location(demo, None, "clinic-c", types["clinic"], parent_id=south),
        "clinic-d": svc.create_location(demo, None, "clinic-d", types["clinic"], parent_id=south),
    }
    sue = svc.create_user(
        demo,
        None,
        "sue",
        full_name="Sue Supervisor",
        email="sue@demo.example",
        role_id=roles["supervisor"],
        locations=[south],
    )
    # field workers: each at one clinic (their one case-owning location, as S-CRT-2 wants)
    workers: dict[int, int] = {}
    outreach = svc.create_group(demo, None, "outreach", case_sharing=False)
    data_unit = svc.create_group(demo, None, "data-unit", case_sharing=False, kind="unit")
    for n in range(24):
        first, last = FIRST[n], LAST[n]
        clinic = list(clinics.values())[n % len(clinics)]
        uid = svc.create_user(
            demo,
            None,
            f"{first.lower()}.{last.lower()}",
            full_name=f"{first} {last}",
            email=f"{first.lower()}.{last.lower()}@demo.example",
            role_id=roles["worker"],
            locations=[clinic],
        )
        workers[uid] = clinic
        if n % 3 == 0:
            svc.add_member(demo, None, outreach, Principal("user", uid))
        if n % 8 == 1:
            svc.add_member(demo, None, data_unit, Principal("user", uid))
    svc.add_member(demo, None, groups["everyone-north"], Principal("group", outreach))
    for name in ("wendy", "will"):
        workers[users[name]] = clinics["clinic-a" if name == "wendy" else "clinic-b"]

    svc.add_rule(
        demo,
        None,
        "south supervisors read clinic-c",
        "owner",
        Principal("user", sue),
        "read",
        owner_in=Principal("location", clinics["clinic-c"]),
    )

    people = sorted(workers)
    grantees = [
        *(Principal("user", u) for u in (users["nina"], users["omar"], sue, *people[:6])),
        Principal("group", groups["nurses"]),
        Principal("group", outreach),
        Principal("location", clinics["clinic-d"]),
        Principal("role", roles["supervisor"]),
        Principal("role_tree", roles["director"]),
        Principal("agency", demo),
    ]
    n_case = 0
    for worker in people:
        clinic = workers[worker]
        for _ in range(rng.randint(2, 4)):
            n_case += 1
            village = rng.choice(VILLAGES)
            household = svc.create_case(
                demo,
                None,
                "household",
                f"{rng.choice(LAST)} household, {village}",
                case_id=f"hh-{n_case:03d}",
                owner=Principal("location", clinic),
                opened_by=worker,
                properties={"village": village},
            )
            for k in range(rng.randint(1, 3)):
                patient = svc.create_case(
                    demo,
                    None,
                    "patient",
                    f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                    case_id=f"pt-{n_case:03d}-{k}",
                    owner=Principal("location", clinic) if k else Principal("user", worker),
                    opened_by=worker,
                    properties={
                        "priority": rng.choice(("low", "normal", "normal", "high")),
                        "village": village,
                    },
                    external_id=f"MRN-{rng.randint(10000, 99999)}",
                    indices={"parent": (household, "child")},
                    closed=rng.random() < 0.15,
                )
                if rng.random() < 0.3:
                    svc.create_case(
                        demo,
                        None,
                        "contact",
                        f"Contact of {patient}",
                        case_id=f"ct-{n_case:03d}-{k}",
                        owner=Principal("location", clinic),
                        opened_by=worker,
                        indices={"host": (patient, "extension")},
                    )
                roll = rng.random()
                if roll < 0.25:
                    owner = Principal("user", worker) if k == 0 else None
                    grantee = rng.choice([g for g in grantees if g != owner])
                    svc.share(demo, None, patient, grantee, rng.choice(("read", "read", "edit")))
                elif roll < 0.35:
                    svc.assign(demo, None, patient, rng.choice(people))
                elif roll < 0.42:
                    role = rng.choice(list(team_roles.values()))
                    svc.team_add(demo, None, patient, rng.choice(people), role)
        if rng.random() < 0.5:
            n_case += 1
            svc.create_case(
                demo,
                None,
                "referral",
                f"Referral from {rng.choice(VILLAGES)}",
                case_id=f"rf-{n_case:03d}",
                owner=Principal("group", groups["nurses"]),
                opened_by=users["nina"],
            )
    for case_id in ("hh-003", "pt-005-0"):
        svc.delete_case(demo, None, case_id)

    # the partner agency: a few people and cases of its own, out of the demo agency's sight
    for name in ("paulo", "petra"):
        uid = svc.create_user(
            partner,
            None,
            name,
            full_name=f"{name.title()} Partner",
            email=f"{name}@partner.example",
        )
        for k in range(5):
            svc.create_case(
                partner, uid, "referral", f"{name.title()}'s referral {k + 1}", owner=f"user:{uid}"
            )
