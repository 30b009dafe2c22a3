"""The demo agency: a small world that shows every way a case can be shared."""

from __future__ import annotations

from importlib import resources

from caseshare.demo.grow import grow
from caseshare.scenario.world import World
from caseshare.scenario.yamlines import load
from caseshare.services import Caseshare
from caseshare.services.accounts import hash_password
from caseshare.store import Store

DEMO_SLUG = "demo"


def demo_text() -> str:
    return resources.files("caseshare.demo").joinpath("demo.yaml").read_text(encoding="utf-8")


#: every demo person signs in with this password (the demo is for trying things out, never for data)
DEMO_PASSWORD = "caseshare-demo"
#: the people worth signing in as, each showing a different way of seeing cases
DEMO_SIGN_INS = (
    ("admin", "agency admin: sees and manages everything"),
    ("dora", "director: sees what everyone below her role sees (S-HIER-1)"),
    ("sam", "supervisor of district north: every clinic below it"),
    ("wendy", "field worker at clinic-a: her clinic's cases, a case Partner Agency sent her"),
    ("nina", "nurse: the nurses' group, shares, a sharing rule"),
    ("omar", "in no group or location: a case team and agency-wide shares"),
    ("vera", "view_all: reads every case, edits none"),
    ("padma", "admin of agency partner: a case sent by the demo agency waits for her"),
    ("pat", "of agency partner: reads patient-1, which the demo agency sent her"),
)


def load_demo(store: Store, *, passwords: bool = True) -> bool:
    """Load the demo world unless it is there already; True when it was loaded now."""
    if store.agency_by_slug(DEMO_SLUG) is not None:
        return False
    with store.transaction():
        world = World.load(store, load(demo_text()))
        grow(world)
        if passwords:
            # One argon2 hash (0.2 s of CPU) for the one public demo password, not one per person:
            # a salt protects secret passwords from being cracked together, and this one is printed.
            hashed = hash_password(DEMO_PASSWORD)
            for agency_id in world.agencies.values():
                for (user_id,) in store.rows(
                    "SELECT id FROM users WHERE agency_id = ?", (agency_id,)
                ):
                    store.set_password_hash(int(user_id), hashed)
    return True


def summary(store: Store) -> str:
    """What the database holds, agency by agency, with a few decisions explained."""
    svc = Caseshare(store)
    lines = []
    for agency_id, slug, name in store.agencies():
        users = store.rows(
            "SELECT id, username FROM users WHERE agency_id = ? ORDER BY id", (agency_id,)
        )
        cases = store.value("SELECT count(*) FROM cases WHERE agency_id = ?", (agency_id,))
        lines.append(f"agency {slug} ({name}): {len(users)} users, {cases} cases")
        for user_id, username in users[:12]:
            count = svc.count_cases(user_id)
            lines.append(f"  {username:<10} sees {count} case(s)")
    return "\n".join(lines)
