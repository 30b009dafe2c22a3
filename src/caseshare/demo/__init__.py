"""The demo agency: a small world that shows every way a case can be shared."""

from __future__ import annotations

from importlib import resources

from caseshare.scenario.world import World
from caseshare.scenario.yamlines import load
from caseshare.services import Caseshare
from caseshare.store import Store

DEMO_SLUG = "demo"


def demo_text() -> str:
    return resources.files("caseshare.demo").joinpath("demo.yaml").read_text(encoding="utf-8")


def load_demo(store: Store) -> bool:
    """Load the demo world unless it is there already; True when it was loaded now."""
    if store.agency_by_slug(DEMO_SLUG) is not None:
        return False
    World.load(store, load(demo_text()))
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
