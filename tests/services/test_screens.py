"""What the web screens read from the services, on SQLite and PostgreSQL: the View cases setting,
keyset pages in both directions, tree tops, related cases and the people picker's search."""

from __future__ import annotations

from caseshare.core.principals import Principal
from caseshare.services import CaseFilter
from tests.services.cast import Cast, code_of


def test_s_view_1_the_view_cases_setting_is_each_users_own(cast: Cast) -> None:
    svc = cast.svc
    assert svc.view_layout(cast.owner) == "advanced"  # everyone's until they choose
    svc.set_view_layout(cast.owner, "tree")
    svc.set_view_layout(cast.owner, "grid")  # a second choice replaces the first
    assert svc.view_layout(cast.owner) == "grid"
    assert svc.view_layout(cast.colleague) == "advanced"
    assert code_of(svc.set_view_layout, cast.owner, "cards") == "validation_error"
    assert svc.view_layout(cast.owner) == "grid"


def test_s_view_1_keyset_pages_walk_back_to_the_very_same_pages(cast: Cast) -> None:
    svc = cast.svc
    for n in range(7):
        svc.create_case(cast.agency, cast.owner, "visit", f"Visit {n}", case_id=f"visit-{n}")
    flt = CaseFilter(case_type="visit", sort="name")
    forward = []
    page = svc.list_cases(cast.owner, flt, limit=3)
    assert page.prev_cursor is None  # the first page has none before it
    while True:
        forward.append([r["case_id"] for r in page.items])
        if page.next_cursor is None:
            break
        page = svc.list_cases(cast.owner, flt, limit=3, cursor=page.next_cursor)
    assert forward == [
        ["visit-0", "visit-1", "visit-2"],
        ["visit-3", "visit-4", "visit-5"],
        ["visit-6"],
    ]
    back = svc.list_cases(cast.owner, flt, limit=3, cursor=page.prev_cursor, backwards=True)
    assert [r["case_id"] for r in back.items] == forward[1]
    first = svc.list_cases(cast.owner, flt, limit=3, cursor=back.prev_cursor, backwards=True)
    assert [r["case_id"] for r in first.items] == forward[0]
    assert first.prev_cursor is None
    again = svc.list_cases(cast.owner, flt, limit=3, cursor=first.next_cursor)
    assert [r["case_id"] for r in again.items] == forward[1]
    down = svc.list_cases(
        cast.owner, CaseFilter(case_type="visit", sort="name", descending=True), limit=3
    )
    assert [r["case_id"] for r in down.items] == ["visit-6", "visit-5", "visit-4"]


def test_s_acc_7_tree_tops_and_branches_hold_only_cases_the_user_may_view(cast: Cast) -> None:
    """A case whose parent the user cannot see tops a tree of its own; a child the user cannot
    see is never drawn."""
    svc, agency = cast.svc, cast.agency
    home = svc.create_case(agency, cast.owner, "household", "Tree home", case_id="tree-home")
    kid = svc.create_case(
        agency,
        cast.owner,
        "patient",
        "Tree kid",
        case_id="tree-kid",
        indices={"parent": (home, "child")},
    )
    hidden = svc.create_case(
        agency,
        cast.owner,
        "contact",
        "Tree secret",
        case_id="tree-secret",
        owner=f"user:{cast.owner}",
        indices={"host": (kid, "extension")},
        closed=True,  # open, the group's devices would hold it: row cause sync (S-SYNC-1)
    )
    svc.share(agency, cast.owner, kid, f"user:{cast.reader}", "read")
    flt = CaseFilter(q="tree ")
    owner_tops = [r["case_id"] for r in svc.list_cases(cast.colleague, flt, roots=True).items]
    assert owner_tops == ["tree-home"]  # the kid is below its parent, the secret is Olga's own
    assert svc.count_cases(cast.colleague, flt, roots=True) == 1
    tree = svc.case_tree(cast.colleague, owner_tops)
    assert [r.case["case_id"] for r in tree["tree-home"]] == ["tree-kid"]
    assert tree["tree-home"][0].children == ()  # tree-secret is not the colleague's to see
    reader_tops = [r["case_id"] for r in svc.list_cases(cast.reader, flt, roots=True).items]
    assert reader_tops == ["tree-home"]  # implicit_parent: read on the parent of a shared child
    olga = svc.case_tree(cast.owner, ["tree-home"])["tree-home"]
    assert [(r.case["case_id"], [k.case["case_id"] for k in r.children]) for r in olga] == [
        ("tree-kid", [hidden])
    ]
    assert olga[0].children[0].relationship == "extension"
    outsider = svc.list_cases(cast.outsider, flt, roots=True)
    assert outsider.items == []


def test_s_acc_7_related_cases_are_those_the_reader_may_view(cast: Cast) -> None:
    svc, agency = cast.svc, cast.agency
    home = svc.create_case(agency, cast.owner, "household", "Rel home", case_id="rel-home")
    kid = svc.create_case(
        agency,
        cast.owner,
        "patient",
        "Rel kid",
        case_id="rel-kid",
        indices={"parent": (home, "child")},
    )
    svc.create_case(
        agency,
        cast.owner,
        "contact",
        "Rel secret",
        case_id="rel-secret",
        owner=f"user:{cast.owner}",
        indices={"host": (kid, "extension")},
        closed=True,  # open, the group's devices would hold it: row cause sync (S-SYNC-1)
    )
    pk = svc.access(cast.colleague, kid).case_pk
    parents, children = svc.related_cases(cast.colleague, pk)
    assert [(p.identifier, p.relationship, p.case["case_id"]) for p in parents] == [
        ("parent", "child", "rel-home")
    ]
    assert children == []  # the colleague cannot see Olga's own extension
    _, mine = svc.related_cases(cast.owner, pk)
    assert [(c.identifier, c.case["case_id"]) for c in mine] == [("host", "rel-secret")]


def test_the_people_picker_finds_any_part_of_a_name_or_email_by_kind(cast: Cast) -> None:
    svc = cast.svc
    found = svc.search_principals(cast.agency, "OLG", ("user",))
    assert [m.principal for m in found] == [Principal("user", cast.owner)]
    assert found[0].name == "Olga Owner" and found[0].detail == "olga@north.example"
    by_mail = svc.search_principals(cast.agency, "rr@north", ("user",))
    assert [m.principal for m in by_mail] == [Principal("user", cast.reader)]
    assert svc.search_principals(cast.agency, "fred", ("user",)) == []  # another agency
    groups = svc.search_principals(cast.agency, "", ("group",))
    assert groups == []  # no words, no matches
    team = svc.search_principals(cast.agency, "case t", ("user", "group"), owners_only=True)
    assert [(m.principal, m.detail) for m in team] == [
        (Principal("group", cast.group), "case-sharing group")
    ]
    plain = svc.create_group(cast.agency, None, "Case readers", case_sharing=False)
    readers = svc.search_principals(cast.agency, "case r", ("group",))
    assert [m.principal for m in readers] == [Principal("group", plain)]
    assert svc.search_principals(cast.agency, "case r", ("group",), owners_only=True) == []
    slug, name = svc.agency_names(cast.agency)
    assert slug and name
