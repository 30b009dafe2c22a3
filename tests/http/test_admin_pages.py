"""The admin screens over the real app on both stores: the same access tests on every one of
their addresses (STYLE §7) — signed out, the sign-in page; a non-admin, the 404 page for a screen
and the 403 page for a form, and nothing changes; another agency's admin, the 404 page for this
agency's ids; this agency's admin, the page — and the refusals that come back beside a field."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from caseshare.core.rules import Condition
from tests.http.cast import PASSWORD, HttpCast
from tests.services.forms import block, create, form

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """One person's cookie jar over the app, signed in through the sign-in form."""

    def __init__(self, http: HttpCast, who: str | None) -> None:
        self.client = TestClient(http.client.app)
        self.csrf = ""
        if who is None:
            return
        page = self.client.get("/signin")
        slug = http.other_slug if who == "foreigner" else http.slug
        username = http.cast.store.user(http.id(who)).username
        fields = {"agency": slug, "username": username, "password": PASSWORD}
        token = CSRF.search(page.text)
        assert token is not None
        answer = self.client.post(
            "/signin", data={**fields, "csrf_token": token.group(1), "next": "/"}
        )
        assert answer.status_code == 200, answer.text[:300]
        found = CSRF.search(self.client.get("/cases").text)
        assert found is not None
        self.csrf = found.group(1)

    def get(self, path: str) -> Any:
        return self.client.get(path, follow_redirects=False)

    def post(self, path: str, data: dict[str, Any] | None = None, csrf: bool = True) -> Any:
        fields = {**(data or {}), **({"csrf_token": self.csrf} if csrf else {})}
        return self.client.post(path, data=fields, follow_redirects=False)


@pytest.fixture(scope="module")
def world(http: HttpCast) -> Iterator[dict[str, str]]:
    """North's ids of every kind an admin address names."""
    svc, north, ada = http.cast.fresh(), http.cast.agency, http.cast.admin
    kind = svc.create_location_type(north, ada, "Clinic type", shares_cases=True)
    loc = svc.create_location(north, ada, "Clinic 9", kind)
    role = svc.create_role(north, ada, "Boss")
    team_role = svc.create_team_role(north, ada, f"Watcher {uuid.uuid4().hex[:4]}", "read")
    rule = svc.add_rule(
        north, ada, "Cases to Rita", "criteria", f"user:{http.cast.reader}", "read",
        criteria=Condition("case_type", "equals", "visit"),
    )  # fmt: skip
    instance = f"uuid:{uuid.uuid4()}"
    made = form(
        block(f"dev-{uuid.uuid4().hex[:6]}", create(owner=f"user:{ada}")), instance=instance
    )
    svc.submit(north, ada, made.encode())
    binned = svc.create_case(north, ada, "visit", "Binned", owner=f"user:{ada}")
    svc.delete_case(north, ada, binned)
    # a third agency proposes an agreement to north: its notice waits in north's outbox
    east = svc.create_agency(f"east-{uuid.uuid4().hex[:6]}", "East Agency")
    slug = http.cast.store.agency(north)[1]
    proposal = svc.propose_agreement(east, None, slug, {"outbound_sharing": True})
    message = svc.outbox(north, ada, kind="agreement_proposed")[0][0]
    yield {
        "user_id": str(http.cast.reader),
        "group_id": str(http.cast.group),
        "role_id": str(role),
        "team_role_id": str(team_role),
        "loc_id": str(loc),
        "type_id": str(kind),
        "rule_id": str(rule),
        "instance_id": instance,
        "verb": "deactivate",
        "case": binned,
        "agreement_id": str(proposal.id),
        "message_id": str(message.id),
    }


def _addresses(http: HttpCast, world: dict[str, str], method: str) -> list[tuple[str, bool]]:
    """Every admin address of a method, each with whether it names one of north's rows."""
    out = []
    for route in http.client.app.routes:
        if not isinstance(route, APIRoute) or not route.path.startswith("/admin"):
            continue
        if method not in route.methods:
            continue
        path = route.path.replace("{instance_id:path}", world["instance_id"])
        if "team-roles/" in path:
            path = path.replace("{role_id}", world["team_role_id"])
        path = re.sub(r"\{(\w+)\}", lambda m: world[m.group(1)], path)
        if path.endswith("/recycle-bin/purge") and method == "GET":
            path += f"?case={world['case']}"
        names_a_row = "{" in route.path or "?case=" in path
        out.append((path, names_a_row))
    return out


def _events(http: HttpCast) -> int:
    return len(http.cast.store.audit_events(http.cast.agency, limit=100_000))


def test_every_admin_screen_is_for_this_agencys_admins_only(
    http: HttpCast, world: dict[str, str]
) -> None:
    anonymous, outsider = Browser(http, None), Browser(http, "outsider")
    foreigner, admin = Browser(http, "foreigner"), Browser(http, "admin")
    screens = _addresses(http, world, "GET")
    assert len(screens) >= 20
    for path, names_a_row in screens:
        assert anonymous.get(path).headers["location"].startswith("/signin"), path
        refused = outsider.get(path)
        assert refused.status_code == 404 and "Page not found" in refused.text, path
        shown = admin.get(path)
        assert shown.status_code == 200, (path, shown.text[-500:])
        assert 'aria-current="page"' in shown.text, path
        theirs = foreigner.get(path)  # their own agency's list, never north's rows
        assert theirs.status_code == (404 if names_a_row else 200), path


def test_a_non_admins_post_to_any_admin_form_is_the_403_page_and_changes_nothing(
    http: HttpCast, world: dict[str, str]
) -> None:
    outsider, admin = Browser(http, "outsider"), Browser(http, "admin")
    foreigner = Browser(http, "foreigner")
    before = _events(http)
    forms = _addresses(http, world, "POST")
    assert len(forms) >= 25
    fields = {
        "name": "Taken over",
        "username": "intruder",
        "perm_admin": "1",
        "case_id": world["case"],
        "instance_id": world["instance_id"],
        "change": "archive",
        "member": f"user:{http.cast.outsider}",
        "groups": world["group_id"],
        "access_all": "edit",
    }
    for path, names_a_row in forms:
        refused = outsider.post(path, fields)
        assert refused.status_code == 403, (path, refused.status_code)
        assert "You cannot do that" in refused.text and 'data-code="insufficient_access"' in (
            refused.text
        )
        stale = admin.post(path, fields, csrf=False)  # no token: a forged form
        assert stale.status_code == 403, path
        if names_a_row or path.endswith(("/restore", "/purge", "/forms")):
            assert foreigner.post(path, fields).status_code == 404, path
    assert _events(http) == before  # nothing changed, not even an audit event


def test_refusals_come_back_beside_their_field_in_names(
    http: HttpCast, world: dict[str, str]
) -> None:
    admin = Browser(http, "admin")
    group = world["group_id"]
    inner = http.cast.fresh().create_group(http.cast.agency, None, f"Inner {uuid.uuid4().hex[:4]}")
    http.cast.fresh().add_member(http.cast.agency, None, inner, _group(group))
    cycle = admin.post(f"/admin/people/groups/{inner}/members", {"member": f"group:{inner}"})
    assert cycle.status_code == 422
    cycle = admin.post(f"/admin/people/groups/{group}/members", {"member": f"group:{inner}"})
    assert cycle.status_code == 422 and "Case team (group)" in cycle.text
    assert f"group:{group}" not in re.sub(r'value="[^"]*"', "", cycle.text)  # names, not ids
    taken = admin.post("/admin/people/new", {"username": "olga"})
    assert taken.status_code == 422 and 'id="username-error"' in taken.text
    assert 'value="olga"' in taken.text  # the input is kept
    me = str(http.cast.admin)
    own = admin.post(f"/admin/people/users/{me}/deactivate")
    assert own.status_code == 422 and "cannot deactivate yourself" in own.text
    limit = admin.post("/admin/people/team-roles", {"name": "Boss", "level": "full"})
    assert limit.status_code == 422 and 'id="level-error"' in limit.text


def _group(text: str) -> Any:
    from caseshare.core.principals import Principal

    return Principal("group", int(text))


def test_s_rule_1_the_rule_limits_are_refused_beside_the_form(
    http: HttpCast, world: dict[str, str]
) -> None:
    """At 50 criteria rules the 51st is refused on the form, saying which limit; an owner rule
    still fits (300 in all)."""
    from caseshare.core.levels import Level
    from caseshare.core.principals import Principal
    from caseshare.core.rules import Rule

    store, north = http.cast.store, http.cast.agency
    have = sum(r.kind == "criteria" for r in store.rules(north))
    made = []
    with store.transaction():
        for i in range(50 - have):
            rule = Rule(
                0, north, f"filler {i}", "criteria", Principal("agency", north), Level.READ,
                False, criteria=Condition("case_type", "equals", f"t{i}"),
            )  # fmt: skip
            made.append(store.create_rule(rule))
    admin = Browser(http, "admin")
    try:
        fields = {
            "kind": "criteria",
            "rows": "1",
            "name": "One too many",
            "level": "read",
            "field_0": "case_type",
            "op_0": "equals",
            "value_0": "visit",
            "everyone": "1",
        }
        refused = admin.post("/admin/sharing/rules/new", fields)
        assert refused.status_code == 422
        assert 'id="name-error"' in refused.text and "at most 50 criteria rules" in refused.text
        assert 'value="One too many"' in refused.text
        listed = admin.get("/admin/sharing/rules").text
        assert "50 of 50 criteria rules" in listed
    finally:
        with store.transaction():
            for rule_id in made:
                store.delete_rule(north, rule_id)


def test_s_aud_1_the_audit_log_reads_in_sentences_and_names(
    http: HttpCast, world: dict[str, str]
) -> None:
    svc, north, ada = http.cast.fresh(), http.cast.agency, http.cast.admin
    before = svc.context(north).settings
    svc.update_settings(north, ada, {"default_access": {"*": "private", "contact": "read"}})
    admin = Browser(http, "admin")
    try:
        page = admin.get("/admin/reports/audit?kind=agency").text
        assert "changed the sharing settings" in page
        assert "default access of contact: default → read" in page
        rules = admin.get("/admin/reports/audit?kind=rule").text
        assert "created the sharing rule" in rules and "rule “Cases to Rita”" in rules
        shares = admin.get(f"/admin/reports/audit?case={http.cast.case}").text
        assert "shared the case with Rita Reader (read)" in shares
        assert f"user:{http.cast.reader}" not in shares  # names, never ids
        who = admin.get("/admin/reports/audit?actor_q=ada&kind=agency").text
        assert "changed the sharing settings" in who
        system = admin.get("/admin/reports/audit?system=1&kind=agency").text
        assert "changed the sharing settings" not in system
    finally:
        svc.update_settings(north, None, {"default_access": dict(before.default_access)})


def test_s_ag_1_and_s_not_1_agreement_and_outbox_pages_answer_and_refuse_beside_the_field(
    http: HttpCast, world: dict[str, str]
) -> None:
    admin = Browser(http, "admin")
    agreement = f"/admin/agreements/{world['agreement_id']}"
    page = admin.get(agreement)
    assert "Incoming: East Agency proposed it" in page.text
    assert "Approve agreement" in page.text and "Withdraw proposal" not in page.text
    refused = admin.post(f"{agreement}/reject", {"reason": "  "})
    assert refused.status_code == 422 and 'id="reason-error"' in refused.text
    assert 'data-code="validation_error"' in refused.text
    done = admin.post(f"{agreement}/approve", {"enabled": "1", "inbound_sharing": "1"})
    assert done.status_code == 303 and done.headers["location"] == agreement
    page = admin.get(agreement)
    assert "Approved" in page.text and "They send us cases: yes." in page.text
    again = admin.post(f"{agreement}/approve", {"enabled": "1"})  # answered already
    assert again.status_code == 422 and "is approved now" in again.text
    proposed = admin.post(
        "/admin/agreements/new", {"partner": http.other_slug, "start_date": "2030-02-30"}
    )
    assert proposed.status_code == 422 and 'id="start_date-error"' in proposed.text
    outbox = admin.get("/admin/outbox")
    assert "No mail server is configured" in outbox.text
    assert "East Agency proposes a data-sharing agreement" in outbox.text
    app = http.client.app
    app.state.mail = "smtp://127.0.0.1:25 (from caseshare@localhost)"  # as serve --smtp sets it
    try:
        assert (
            "This server sends the outbox to smtp://127.0.0.1:25" in admin.get("/admin/outbox").text
        )
    finally:
        app.state.mail = None
    pending = admin.post(f"/admin/outbox/{world['message_id']}/retry")
    assert pending.status_code == 409  # only a failed message is sent again
    assert "only a failed message can be sent again" in pending.text


def test_odd_digits_in_any_admin_form_get_a_clean_answer_never_a_500(
    http: HttpCast, world: dict[str, str]
) -> None:
    """ "²" and "١٢" are digits to ``str.isdigit`` yet not to ``int``: every admin form takes
    ASCII digits only, and answers anything else with a page, never a server error."""
    admin = Browser(http, "admin")
    for odd in ("²", "١٢", "9" * 30):
        fields = {
            key: odd
            for key in (
                "role",
                "locations",
                "groups",
                "count",
                "rows",
                "member",
                "user",
                "rule",
                "level",
                "parent",
                "location_type",
                "team_role",
                "receiving_user",
                "case",
            )
        }
        for path, _ in _addresses(http, world, "POST"):
            answer = admin.post(path, fields)
            assert answer.status_code < 500, (path, odd, answer.text[-300:])


def test_a_users_page_past_the_last_user_is_an_empty_page_with_a_way_back(http: HttpCast) -> None:
    """The users screen pages by name (``after``/``before``): a cursor past every name — the
    last page's "next" link once its users were deactivated, or one typed by hand — is an
    empty page whose "previous" link leads back to the last users, never a server error."""
    admin = Browser(http, "admin")
    for after in ("zzzz", "~", "\uffff"):
        answer = admin.get(f"/admin/people?status=all&after={after}")
        assert answer.status_code == 200, answer.text[-300:]
        back = re.search(r'href="(/admin/people\?[^"]*before=[^"]*)"', answer.text)
        assert back is not None, answer.text[-2000:]
        previous = admin.get(back.group(1).replace("&amp;", "&"))
        assert previous.status_code == 200
        assert http.cast.store.user(http.id("owner")).username in previous.text
