"""Issue 8, faults 4, 5, 8 and 9: requests that race each other get clean answers and leave a
state some serial order of them gives.

``caseshare serve`` runs in its own process (a real socket, its own pool of connections) on
SQLite and on PostgreSQL; each race starts its requests from threads behind one barrier, and is
repeated on fresh cases so that the interleavings vary.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher

from caseshare.core.levels import Cause
from caseshare.core.rules import MAX_CRITERIA_RULES, Condition
from caseshare.core.targets import MAX_IDENTIFIERS
from caseshare.services.accounts import MAX_FAILURES
from caseshare.services.personal import MAX_FILTERS
from caseshare.store import Store, open_store
from tests.conftest import module_url
from tests.http.cast import build_http_cast
from tests.http.live import LiveServer, serving
from tests.services.cast import Cast

API = "/api/v1"
ROUNDS = 12
#: the answers a racing request may get; never a 500
CLEAN = {200, 201, 204, 404, 409}


@dataclass
class Live:
    server: LiveServer
    cast: Cast
    store: Store

    def client(self, who: str) -> httpx.Client:
        token = self.cast.tokens[who]  # type: ignore[attr-defined]
        return httpx.Client(
            base_url=self.server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )

    def user(self, who: str) -> str:
        return f"user:{getattr(self.cast, who)}"

    def new_case(self, name: str) -> str:
        with self.client("owner") as owner:
            answer = owner.post(f"{API}/cases", json={"case_type": "patient", "name": name})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["case_id"])

    def pk(self, case_id: str) -> int:
        pk = self.store.case_pk(self.cast.agency, case_id)
        assert pk is not None
        return pk

    def owner_of(self, case_id: str) -> str:
        return str(self.store.value("SELECT owner FROM cases WHERE pk = ?", (self.pk(case_id),)))

    def stored(self, case_id: str, cause: Cause) -> list[str]:
        return [str(g.grantee) for g in self.store.grant_rows(self.pk(case_id), cause=cause)]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    url = module_url(request, tmp_path_factory)
    store = open_store(url)
    cast = build_http_cast(store)
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with serving(url, log, "--connections", "6") as server:
        yield Live(server, cast, store)
        assert "Traceback" not in server.output(), server.output()
    store.close()


def race(*calls: Callable[[], httpx.Response]) -> list[httpx.Response]:
    """Every call at the same moment, each from its own thread."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], httpx.Response]) -> httpx.Response:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def clean(*answers: httpx.Response, allowed: set[int] = CLEAN) -> None:
    for answer in answers:
        assert answer.status_code in allowed, (
            f"{answer.request.method} {answer.request.url.path}: {answer.status_code}"
            f" {answer.text[:300]}"
        )
        if answer.status_code >= 400:
            body: Any = answer.json()
            assert body["code"] and body["message"], body


# -- fault 4: a share outlives an owner change ----------------------------------------------------


def test_issue8_fault4_a_share_racing_a_transfer_never_outlives_it(live: Live) -> None:
    """The owner shares while an admin hands the case to herself. In either serial order the
    share is gone: made first, the transfer removes it (S-SHR-6); made second, the former owner
    no longer has the case to share."""
    with live.client("owner") as owner, live.client("admin") as admin:
        for n in range(ROUNDS):
            case_id = live.new_case(f"Transfer race {n}")
            shared, moved = race(
                lambda c=case_id: owner.post(
                    f"{API}/cases/{c}/shares",
                    json={"grantee": live.user("outsider"), "level": "edit"},
                ),
                lambda c=case_id: admin.post(
                    f"{API}/cases/{c}/owner", json={"owner": live.user("admin")}
                ),
            )
            clean(shared, allowed={201, 404})
            clean(moved, allowed={200})
            assert live.owner_of(case_id) == live.user("admin")
            assert live.stored(case_id, Cause.MANUAL) == [], (n, shared.status_code)


# -- fault 5: 500s from racing share writes -------------------------------------------------------


def _share(live: Live, case_id: str, who: str, level: str = "read") -> int:
    with live.client("owner") as owner:
        answer = owner.post(
            f"{API}/cases/{case_id}/shares", json={"grantee": live.user(who), "level": level}
        )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def test_issue8_fault5_patch_and_delete_of_one_share_both_answer_cleanly(live: Live) -> None:
    with live.client("owner") as owner, live.client("colleague") as colleague:
        for n in range(ROUNDS):
            case_id = live.new_case(f"Patch-delete race {n}")
            share_id = _share(live, case_id, "outsider")
            patched, deleted = race(
                lambda s=share_id: owner.patch(f"{API}/shares/{s}", json={"level": "edit"}),
                lambda s=share_id: colleague.delete(f"{API}/shares/{s}"),
            )
            clean(patched, allowed={200, 404})
            clean(deleted, allowed={204})
            # in either order the delete is last or the patch finds nothing: no share is left
            assert live.stored(case_id, Cause.MANUAL) == [], (n, patched.status_code)


def test_issue8_fault5_a_share_update_racing_a_transfer_answers_cleanly(live: Live) -> None:
    with live.client("owner") as owner, live.client("admin") as admin:
        for n in range(ROUNDS):
            case_id = live.new_case(f"Update-transfer race {n}")
            share_id = _share(live, case_id, "outsider")
            patched, moved = race(
                lambda s=share_id: owner.patch(f"{API}/shares/{s}", json={"level": "edit"}),
                lambda c=case_id: admin.post(
                    f"{API}/cases/{c}/owner", json={"owner": live.user("admin")}
                ),
            )
            clean(patched, allowed={200, 404})
            clean(moved, allowed={200})
            assert live.stored(case_id, Cause.MANUAL) == [], (n, patched.status_code)


def test_issue8_fault5_assign_and_unassign_racing_answer_cleanly(live: Live) -> None:
    colleague_id = live.cast.colleague
    with live.client("owner") as owner, live.client("admin") as admin:
        for n in range(ROUNDS):
            case_id = live.new_case(f"Assign race {n}")
            path = f"{API}/cases/{case_id}/assignees"
            assert owner.post(path, json={"user_id": colleague_id}).status_code == 201
            assigned, unassigned, again = race(
                lambda p=path: owner.post(p, json={"user_id": colleague_id}),
                lambda p=path: admin.delete(f"{p}/{colleague_id}"),
                lambda p=path: admin.post(p, json={"user_id": colleague_id}),
            )
            clean(assigned, again, allowed={200, 201})
            clean(unassigned, allowed={204, 404})
            for answer in (assigned, again):
                assert answer.json()["user_id"] == colleague_id


def test_issue8_fault5_assign_racing_a_transfer_answers_cleanly(live: Live) -> None:
    """The owner assigns while the case is handed away from her: assigned first, she is told
    so (201); second, the case is no longer hers to see (404). Never a 500."""
    with live.client("owner") as owner, live.client("admin") as admin:
        for n in range(ROUNDS):
            case_id = live.new_case(f"Assign-transfer race {n}")
            assigned, moved = race(
                lambda c=case_id: owner.post(
                    f"{API}/cases/{c}/assignees", json={"user_id": live.cast.reader}
                ),
                lambda c=case_id: admin.post(
                    f"{API}/cases/{c}/owner", json={"owner": live.user("admin")}
                ),
            )
            clean(assigned, allowed={201, 404})
            clean(moved, allowed={200})
            stored = live.stored(case_id, Cause.ASSIGNED)
            assert stored == ([live.user("reader")] if assigned.status_code == 201 else [])


def test_issue8_fault5_team_add_and_remove_racing_answer_cleanly(live: Live) -> None:
    role = live.cast.svc.create_team_role(live.cast.agency, None, "race-editor", "edit")
    member = live.cast.outsider
    with live.client("owner") as owner, live.client("admin") as admin:
        for n in range(ROUNDS):
            case_id = live.new_case(f"Team race {n}")
            path = f"{API}/cases/{case_id}/team"
            body = {"user_id": member, "team_role_id": role}
            assert owner.post(path, json=body).status_code == 201
            added, removed = race(
                lambda p=path, b=body: owner.post(p, json=b),
                lambda p=path: admin.delete(f"{p}/{member}"),
            )
            clean(added, allowed={200, 201})
            clean(removed, allowed={204})
            assert added.json()["user_id"] == member


def test_issue8_two_shares_with_one_grantee_at_once_are_one_upsert(live: Live) -> None:
    """S-SHR-3: sharing with the same grantee twice at once creates the share once and updates
    it once; neither request is refused."""
    with live.client("owner") as owner, live.client("colleague") as colleague:
        for n in range(ROUNDS):
            case_id = live.new_case(f"Upsert race {n}")
            body = {"grantee": live.user("outsider"), "level": "read"}
            first, second = race(
                lambda c=case_id, b=body: owner.post(f"{API}/cases/{c}/shares", json=b),
                lambda c=case_id, b=body: colleague.post(f"{API}/cases/{c}/shares", json=b),
            )
            assert sorted([first.status_code, second.status_code]) == [200, 201], (
                first.text,
                second.text,
            )
            assert live.stored(case_id, Cause.MANUAL) == [live.user("outsider")]


# -- fault 8: bookkeeping never fails a read ------------------------------------------------------


def test_issue8_fault8_two_first_reads_of_one_case_both_answer_200(live: Live) -> None:
    with live.client("owner") as one, live.client("owner") as two:
        for n in range(ROUNDS * 2):
            case_id = live.new_case(f"First read {n}")
            answers = race(
                lambda c=case_id: one.get(f"{API}/cases/{c}"),
                lambda c=case_id: two.get(f"{API}/cases/{c}"),
            )
            clean(*answers, allowed={200})
        recent = one.get(f"{API}/me/recent").json()
    items = recent["items"] if isinstance(recent, dict) else recent
    assert len(items) == 20  # kept per user: the newest 20, each once


def test_issue8_a_users_own_rows_are_upserts_under_races(live: Live) -> None:
    """Starring one case twice at once, or saving one filter name twice at once: both answer
    as if they came one after the other (204 and 204; 201 and 201, one filter)."""
    with live.client("owner") as one, live.client("owner") as two:
        for n in range(ROUNDS // 2):
            case_id = live.new_case(f"Star race {n}")
            stars = race(
                lambda c=case_id: one.put(f"{API}/me/favourites/{c}"),
                lambda c=case_id: two.put(f"{API}/me/favourites/{c}"),
            )
            clean(*stars, allowed={204})
            body = {"name": f"race {n}", "filter": {"case_type": "patient"}}
            saves = race(
                lambda b=body: one.post(f"{API}/me/filters", json=b),
                lambda b=body: two.post(f"{API}/me/filters", json=b),
            )
            clean(*saves, allowed={201})
            assert saves[0].json()["id"] == saves[1].json()["id"]
        favourites = one.get(f"{API}/me/favourites").json()["items"]
    assert len(favourites) == ROUNDS // 2


# -- fault 9: the sign-in limit ---------------------------------------------------------------------


def test_issue8_fault9_parallel_wrong_passwords_evaluate_exactly_five(live: Live) -> None:
    """Twelve wrong passwords at once for one name: five are checked (401), the rest are
    refused unchecked (429 with Retry-After). The user's hash has argon2's full cost, so each
    check takes long enough for the others to overlap it."""
    svc = live.cast.svc
    user_id = svc.create_user(live.cast.agency, None, "guessed", full_name="Gus Guessed")
    with live.store.transaction():
        live.store.set_password_hash(user_id, PasswordHasher().hash("the right one"))
    slug = live.store.agency(live.cast.agency)[1]
    attempt = {"agency": slug, "username": "guessed", "password": "wrong guess"}
    with httpx.Client(base_url=live.server.url, timeout=60) as client:
        answers = race(*[lambda: client.post(f"{API}/session", json=attempt) for _ in range(12)])
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [401] * MAX_FAILURES + [429] * (12 - MAX_FAILURES), statuses
    for answer in answers:
        if answer.status_code == 429:
            assert int(answer.headers["Retry-After"]) > 0
            assert answer.json()["code"] == "insufficient_access"


# -- S-RULE-1: the rule limits hold under racing creates -------------------------------------------


def test_s_rule_1_racing_creates_never_pass_the_criteria_rule_limit(live: Live) -> None:
    """At 49 criteria rules, four admins' creates at once: one is made (the 50th), the others
    are refused with the limit's message; never 51 or more (S-RULE-1: at most 50)."""
    svc, agency = live.cast.fresh(), live.cast.agency
    nobody = Condition("case_type", "equals", "no-such-type")  # grants nothing to anyone
    made = [
        svc.add_rule(
            agency, None, f"limit {n}", "criteria", live.user("admin"), "read", criteria=nobody
        )
        for n in range(MAX_CRITERIA_RULES - 1 - _criteria_rules(live))
    ]
    body = {
        "kind": "criteria",
        "grantee": live.user("admin"),
        "level": "read",
        "criteria": {"case_type": "no-such-type"},
    }
    try:
        with live.client("admin") as admin:
            for n in range(ROUNDS // 2):
                answers = race(
                    *[
                        lambda k=k, n=n: admin.post(
                            f"{API}/rules", json={**body, "name": f"racing {n}.{k}"}
                        )
                        for k in range(4)
                    ]
                )
                won = [int(a.json()["id"]) for a in answers if a.status_code == 201]
                made += won
                clean(*answers, allowed={201, 422})
                assert len(won) == 1 and _criteria_rules(live) == MAX_CRITERIA_RULES, n
                refused = [a.json() for a in answers if a.status_code == 422]
                assert all("at most 50 criteria rules" in r["message"] for r in refused)
                svc.delete_rule(agency, None, made.pop())  # 49 again
    finally:
        for rule_id in made:
            svc.delete_rule(agency, None, rule_id)


def _criteria_rules(live: Live) -> int:
    return int(
        live.store.value(
            "SELECT count(*) FROM rules WHERE agency_id = ? AND kind = 'criteria'",
            (live.cast.agency,),
        )
    )


# -- hierarchies: two moves at once never make a cycle ---------------------------------------------


def test_s_hier_1_two_roles_moved_below_each_other_at_once_never_make_a_cycle(
    live: Live,
) -> None:
    """Role A moved below B while B is moved below A: in either serial order the second move
    is refused (a role cannot move below itself), so the hierarchy S-HIER-1 walks stays a
    tree."""
    svc, agency = live.cast.fresh(), live.cast.agency
    with live.client("admin") as admin:
        for n in range(ROUNDS // 2):
            a = svc.create_role(agency, None, f"Race role A{n}")
            b = svc.create_role(agency, None, f"Race role B{n}")
            answers = race(
                lambda a=a, b=b: admin.patch(f"{API}/roles/{a}", json={"parent_id": b}),
                lambda a=a, b=b: admin.patch(f"{API}/roles/{b}", json={"parent_id": a}),
            )
            clean(*answers, allowed={200, 409, 422})
            assert sorted(r.status_code for r in answers)[0] == 200
            parents = {
                r[0]: r[1]
                for r in live.store.rows(
                    "SELECT id, parent_id FROM roles WHERE id IN (?, ?)", (a, b)
                )
            }
            assert not (parents[a] == b and parents[b] == a), (n, parents)


def test_s_own_2_two_groups_nested_in_each_other_at_once_never_make_a_cycle(
    live: Live,
) -> None:
    """Group A added to B while B is added to A: the second is refused (a group cannot contain
    itself), so membership (S-OWN-2) stays a hierarchy."""
    svc, agency = live.cast.fresh(), live.cast.agency
    with live.client("admin") as admin:
        for n in range(ROUNDS // 2):
            a = svc.create_group(agency, None, f"Race group A{n}")
            b = svc.create_group(agency, None, f"Race group B{n}")
            answers = race(
                lambda a=a, b=b: admin.post(
                    f"{API}/groups/{a}/members", json={"member": f"group:{b}"}
                ),
                lambda a=a, b=b: admin.post(
                    f"{API}/groups/{b}/members", json={"member": f"group:{a}"}
                ),
            )
            clean(*answers, allowed={201, 409, 422})
            assert sorted(r.status_code for r in answers)[0] == 201
            assert not (live.store.group_contains(a, b) and live.store.group_contains(b, a)), n


# -- per-user and per-target limits hold under racing writes ---------------------------------------


def test_issue8_racing_saved_filters_never_pass_the_limit(live: Live) -> None:
    """At 49 saved filters, four new names at once: one is kept (the 50th), the others are
    refused with the limit's message."""
    svc, user = live.cast.fresh(), live.cast.reader
    for n in range(len(svc.saved_filters(user)), MAX_FILTERS - 1):
        svc.save_filter(user, f"kept {n}", {})
    with live.client("reader") as reader:
        for n in range(ROUNDS // 2):
            answers = race(
                *[
                    lambda k=k, n=n: reader.post(
                        f"{API}/me/filters", json={"name": f"race {n}.{k}"}
                    )
                    for k in range(4)
                ]
            )
            clean(*answers, allowed={201, 422})
            won = [a.json()["id"] for a in answers if a.status_code == 201]
            assert len(won) == 1 and len(svc.saved_filters(user)) == MAX_FILTERS, n
            svc.delete_filter(user, won[0])


def test_issue8_racing_identifiers_never_pass_a_targets_limit(live: Live) -> None:
    """At 49 identifiers on a target, four more at once: one is added (the 50th), the others
    are refused with the limit's message."""
    svc, agency = live.cast.fresh(), live.cast.agency
    case_id = live.new_case("Identifier race")
    target = svc.add_target(
        agency,
        live.cast.owner,
        case_id,
        "suspect",
        "Racing target",
        [{"type": "email", "value": f"p{n}@race.example"} for n in range(MAX_IDENTIFIERS - 1)],
    )
    url = f"{API}/cases/{case_id}/targets/{target['id']}/identifiers"
    with live.client("owner") as owner:
        answers = race(
            *[
                lambda k=k: owner.post(url, json={"type": "email", "value": f"r{k}@race.example"})
                for k in range(4)
            ]
        )
        clean(*answers, allowed={201, 422})
        assert sorted(a.status_code for a in answers) == [201, 422, 422, 422]
        stored = owner.get(f"{API}/cases/{case_id}/targets").json()["items"]
        assert [len(t["identifiers"]) for t in stored] == [MAX_IDENTIFIERS]


# -- S-ACC-4: two admins never lock the agency out -------------------------------------------------


@pytest.mark.parametrize("how", ["deactivate", "demote"])
def test_s_acc_4_two_admins_removing_each_other_at_once_leave_one_admin(
    live: Live, how: str
) -> None:
    """An admin cannot deactivate themselves (nor take their own admin permission), so an
    agency is never locked out. Two admins doing it to each other at the same moment: in either
    serial order the second is no admin any more and is refused, so one admin stays."""
    svc, agency = live.cast.fresh(), live.cast.agency
    admins = [
        svc.create_user(agency, None, f"race-{how}-{n}", permissions=["admin"]) for n in range(2)
    ]
    tokens = [svc.create_token(a, "tests")[1] for a in admins]
    clients = [
        httpx.Client(base_url=live.server.url, headers={"Authorization": f"Bearer {t}"})
        for t in tokens
    ]

    def remove(actor: int, other: int) -> Callable[[], httpx.Response]:
        if how == "deactivate":
            return lambda: clients[actor].post(f"{API}/users/{admins[other]}/deactivate")
        return lambda: clients[actor].patch(
            f"{API}/users/{admins[other]}", json={"permissions": []}
        )

    try:
        for n in range(ROUNDS // 2):
            answers = race(remove(0, 1), remove(1, 0))
            clean(*answers, allowed={200, 401, 403, 404})
            users = [live.store.user(a) for a in admins]
            left = [u for u in users if u.active and "admin" in u.permissions]
            assert len(left) == 1, (n, [a.status_code for a in answers])
            for a in admins:  # both admins again, for the next round
                svc.set_active(agency, None, a, True)
                svc.set_permissions(agency, None, a, ["admin"])
    finally:
        for client in clients:
            client.close()
        for a in admins:
            svc.set_active(agency, None, a, False)


# -- settings: two admins changing different settings at once --------------------------------------


def test_spec_1_1_two_agency_settings_changed_at_once_are_both_kept(live: Live) -> None:
    """SPEC §1.1, PATCH /agency/settings changes only the settings given: two admins changing different
    settings at the same moment both find their change in force afterwards (no lost update)."""
    svc, agency = live.cast.fresh(), live.cast.agency
    second = svc.create_user(agency, None, "race-settings-admin", permissions=["admin"])
    token = svc.create_token(second, "tests")[1]
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with (
            live.client("admin") as one,
            httpx.Client(base_url=live.server.url, headers=headers) as two,
        ):
            for n in range(ROUNDS // 2):
                on = n % 2 == 0
                answers = race(
                    lambda on=on: one.patch(
                        f"{API}/agency/settings", json={"extension_close_cascade": on}
                    ),
                    lambda on=on: two.patch(
                        f"{API}/agency/settings",
                        json={"ordering": "reconcile" if on else "received"},
                    ),
                )
                clean(*answers, allowed={200})
                settings = one.get(f"{API}/agency").json()["settings"]
                assert settings["extension_close_cascade"] is on, (n, settings)
                assert settings["ordering"] == ("reconcile" if on else "received"), (n, settings)
    finally:
        svc.update_settings(
            agency, None, {"extension_close_cascade": False, "ordering": "received"}
        )
        svc.set_active(agency, None, second, False)


def test_s_rule_1_a_rule_deactivated_while_renamed_stays_inactive(live: Live) -> None:
    """S-RULE-1: deactivating a rule removes its access at once. A rename of the rule at the
    same moment (PATCH with the name only) keeps the state the rule has when it is applied:
    in either serial order the rule ends inactive, and its grant is never served again."""
    svc, agency = live.cast.fresh(), live.cast.agency
    with live.client("admin") as admin, live.client("outsider") as outsider:
        for n in range(ROUNDS // 2):
            rule = svc.add_rule(
                agency,
                None,
                f"Renamed race {n}",
                "owner",
                live.user("outsider"),
                "read",
                owner_in=live.cast.group_principal,
            )
            off, renamed = race(
                lambda r=rule: admin.patch(f"{API}/rules/{r}", json={"active": False}),
                lambda r=rule, n=n: admin.patch(f"{API}/rules/{r}", json={"name": f"Now {n}"}),
            )
            clean(off, renamed, allowed={200})
            stored = admin.get(f"{API}/rules").json()["items"]
            (found,) = [r for r in stored if r["id"] == rule]
            assert found["active"] is False and found["name"] == f"Now {n}", (n, found)
            seen = outsider.get(f"{API}/cases/{live.cast.case}")
            assert seen.status_code == 404, (n, seen.status_code)
            svc.delete_rule(agency, None, rule)


def test_s_own_2_a_group_renamed_while_its_case_sharing_changes_keeps_both(live: Live) -> None:
    """PATCH /groups/{id} changes only the fields given: a rename and a change of
    ``case_sharing`` (which decides who owns and sees its cases, S-OWN-2, S-CRT-2) at the same
    moment are both in force afterwards."""
    svc, agency = live.cast.fresh(), live.cast.agency
    with live.client("admin") as admin:
        for n in range(ROUNDS // 2):
            group = svc.create_group(agency, None, f"Race rename {n}")
            sharing, renamed = race(
                lambda g=group: admin.patch(f"{API}/groups/{g}", json={"case_sharing": True}),
                lambda g=group, n=n: admin.patch(f"{API}/groups/{g}", json={"name": f"Now {n}"}),
            )
            clean(sharing, renamed, allowed={200})
            found = admin.get(f"{API}/groups/{group}").json()
            assert found["case_sharing"] is True and found["name"] == f"Now {n}", (n, found)


def test_issue8_a_targets_kind_and_name_changed_at_once_are_both_kept(live: Live) -> None:
    """PATCH of a target changes only the fields given: its kind and its name changed at the
    same moment are both in force afterwards."""
    svc, agency = live.cast.fresh(), live.cast.agency
    case_id = live.new_case("Target rename race")
    with live.client("owner") as owner:
        for n in range(ROUNDS // 2):
            target = svc.add_target(agency, live.cast.owner, case_id, "suspect", f"T{n}")
            url = f"{API}/cases/{case_id}/targets/{target['id']}"
            kind, name = race(
                lambda url=url: owner.patch(url, json={"kind": "witness"}),
                lambda url=url, n=n: owner.patch(url, json={"name": f"Now {n}"}),
            )
            clean(kind, name, allowed={200})
            items = owner.get(f"{API}/cases/{case_id}/targets").json()["items"]
            (found,) = [t for t in items if t["id"] == target["id"]]
            assert (found["kind"], found["name"]) == ("witness", f"Now {n}"), (n, found)


def test_s_own_2_two_locations_moved_below_each_other_at_once_never_make_a_cycle(
    live: Live,
) -> None:
    """Location A moved below B while B is moved below A: the second is refused (a location
    cannot move below itself), so the location tree (S-OWN-2: users of a location and of its
    descendants) stays a tree."""
    svc, agency = live.cast.fresh(), live.cast.agency
    kind = svc.create_location_type(agency, None, "Race district")
    with live.client("admin") as admin:
        for n in range(ROUNDS // 2):
            a = svc.create_location(agency, None, f"Race place A{n}", kind)
            b = svc.create_location(agency, None, f"Race place B{n}", kind)
            answers = race(
                lambda a=a, b=b: admin.patch(f"{API}/locations/{a}", json={"parent_id": b}),
                lambda a=a, b=b: admin.patch(f"{API}/locations/{b}", json={"parent_id": a}),
            )
            clean(*answers, allowed={200, 409, 422})
            assert sorted(r.status_code for r in answers)[0] == 200
            parents = dict(
                live.store.rows("SELECT id, parent_id FROM locations WHERE id IN (?, ?)", (a, b))
            )
            assert not (parents[a] == b and parents[b] == a), (n, parents)
