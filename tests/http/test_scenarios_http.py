"""Every scenario file of tests/scenarios/ also holds through the HTTP API, on both stores.

The world loads through the services; the assertions and the actions of a named actor go over
HTTP as that user (tests/http/scenario_http.py). One app per store serves every file, each file
loading with unique names into the same database.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from caseshare.http import create_app
from caseshare.scenario.runner import Outcome, run_data
from caseshare.scenario.yamlines import load
from caseshare.store import Store, open_store
from tests.conftest import module_url
from tests.http.scenario_http import run_http

HERE = Path(__file__).parent.parent / "scenarios"
FILES = sorted(HERE.glob("*.yaml"))

#: per store: what went over HTTP and what fell back to the services, by kind
TALLY: dict[str, tuple[Counter[str], Counter[str]]] = {}
#: per store: the files that ran (the tally is only meaningful when they all did)
RAN: dict[str, set[str]] = {}


class App:
    def __init__(self, kind: str, store: Store, client: TestClient) -> None:
        self.kind = kind
        self.store = store
        self.client = client


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """One real app per store (argon2 is cheap in tests/http: see its conftest)."""
    url = module_url(request, tmp_path_factory)
    store = open_store(url)
    try:
        with TestClient(create_app(url, pool_size=2)) as client:
            yield App(request.param, store, client)
    finally:
        store.close()


def _report(path: Path, outcomes: list[Outcome]) -> str:
    return "\n".join(
        f"{path.name}:{o.line}: {o.text}\n    got: {o.got}" for o in outcomes if not o.passed
    )


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_scenario_over_http(path: Path, app: App) -> None:
    data = load(path.read_text(encoding="utf-8"))
    outcomes, http = run_http(app.store, data, app.client, unique=True)
    over, back = TALLY.setdefault(app.kind, (Counter(), Counter()))
    over.update(http.http)
    back.update(http.fallback)
    RAN.setdefault(app.kind, set()).add(path.name)
    assert outcomes, f"{path.name} asserts nothing"
    assert all(o.passed for o in outcomes), _report(path, outcomes)


def test_most_assertions_went_over_http(app: App) -> None:
    if RAN.get(app.kind) != {p.name for p in FILES}:
        pytest.skip("the tally needs every scenario file run first (run the whole module)")
    over, back = TALLY.get(app.kind, (Counter(), Counter()))
    asked = sum(n for k, n in over.items() if not k.startswith("do "))
    fell = sum(n for k, n in back.items() if not k.startswith("do "))
    done = sum(n for k, n in over.items() if k.startswith("do "))
    system = sum(n for k, n in back.items() if k.startswith("do "))
    print(f"\n[{app.kind}] assertions over HTTP {asked}, fell back {fell}")
    print(f"[{app.kind}] actions over HTTP {done}, on the services {system}")
    for name, tally in (("over HTTP", over), ("fell back", back)):
        print(f"[{app.kind}] {name}: " + ", ".join(f"{k}={n}" for k, n in sorted(tally.items())))
    assert asked > 0 and asked >= 4 * fell, (over, back)


#: the files' actor actions are mostly about cases; admin actions as a user get their own world
ADMIN_ACTIONS = """
agencies:
  - slug: north
roles:
  - {id: lead}
  - {id: worker, parent: lead}
users:
  - {id: ada, permissions: [admin]}
  - {id: bob, role: worker}
  - {id: carl}
  - {id: dan}
groups:
  - {id: crew, case_sharing: true, members: ["user:bob"]}
cases:
  - {id: k_b, type: visit, owner: "user:bob"}
  - {id: k_g, type: visit, owner: "group:crew"}
assertions:
  - {do: deactivate, as: ada, user: bob}
  - "user:bob cannot view case:k_b"
  - {do: activate, as: ada, user: bob}
  - "user:bob can delete case:k_b"
  - {do: deactivate, as: bob, user: carl, expect: insufficient_access}
  - "user:carl sees []"

  - {do: add_member, as: ada, group: crew, member: "user:carl"}
  - "explain user:carl case:k_g = full by owner"
  - {do: remove_member, as: ada, group: crew, member: "user:carl"}
  - "user:carl cannot view case:k_g"
  - {do: add_member, as: bob, group: crew, member: "user:carl", expect: insufficient_access}

  - {do: set_role, as: ada, user: carl, role: lead}
  - "explain user:carl case:k_b = full by hierarchy"
  - {do: set_setting, as: ada, key: hierarchy_access, value: false}
  - "user:carl cannot view case:k_b"
  - {do: set_setting, as: bob, key: hierarchy_access, value: true, expect: insufficient_access}
  - {do: set_setting, as: ada, key: hierarchy_access, value: true}
  - "user:carl can view case:k_b"
  - {do: set_role, as: ada, user: carl, role: null}
  - "user:carl cannot view case:k_b"
  - {do: set_role, as: bob, user: carl, role: lead, expect: insufficient_access}

  - {do: add_rule, as: ada, id: crew_to_dan, kind: owner, owner_in: "group:crew",
     grant: "read@user:dan"}
  - "explain user:dan case:k_g = read by rule"
  - {do: set_rule_active, as: ada, rule: crew_to_dan, active: false}
  - "user:dan cannot view case:k_g"
  - {do: set_rule_active, as: bob, rule: crew_to_dan, active: true, expect: insufficient_access}
  - {do: set_rule_active, as: ada, rule: crew_to_dan, active: true}
  - "user:dan sees [k_b, k_g]"            # owner rules cover what the members own
  - {do: delete_rule, as: bob, rule: crew_to_dan, expect: insufficient_access}
  - {do: delete_rule, as: ada, rule: crew_to_dan}
  - "user:dan sees []"
  - {do: add_rule, as: bob, id: r2, kind: owner, owner_in: "group:crew", grant: "read@user:dan",
     expect: insufficient_access}

  - {do: share, as: bob, grant: "case:k_b#edit@user:dan"}
  - {do: unshare, as: bob, grant: "case:k_b@user:dan"}
  - "user:dan cannot view case:k_b"
  - {do: delete_case, as: bob, case: k_b}
  - "user:bob sees [k_g]"
  - {do: restore_case, as: bob, case: k_b}
  - "user:bob sees [k_b, k_g]"
  - {do: delete_case, as: bob, case: k_b}
  - {do: purge_case, as: dan, case: k_b, expect: not_found}
  - {do: purge_case, as: bob, case: k_b}
  - {do: restore_case, as: bob, case: k_b, expect: not_found}
"""


def test_admin_actions_over_http_agree_with_the_services(app: App) -> None:
    data = load(ADMIN_ACTIONS)
    on_services = run_data(app.store, data, unique=True)
    assert all(o.passed for o in on_services), _report(Path("admin-actions"), on_services)
    outcomes, http = run_http(app.store, data, app.client, unique=True)
    assert all(o.passed for o in outcomes), _report(Path("admin-actions"), outcomes)
    assert not [k for k in http.fallback if k.startswith("do ")], http.fallback
    for kind in (
        "deactivate",
        "activate",
        "add_member",
        "remove_member",
        "set_role",
        "set_setting",
        "add_rule",
        "set_rule_active",
        "delete_rule",
        "purge_case",
    ):
        assert http.http[f"do {kind}"] > 0, kind
