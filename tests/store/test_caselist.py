"""S-VIEW-1 text search from each store's own index (schema version 9), on both stores.

The meaning is the one the list always had: the case-folded query is a substring of the case's
case-folded name, external id or a property value. SQLite answers it from the FTS5 trigram table
``cases_fts`` (kept in step with ``cases.search`` by triggers), PostgreSQL from the ``pg_trgm``
GIN index on ``cases.search``; both confirm with ``LIKE``. These tests hold the two stores to the
same answers through creates, edits, form updates, deletes and purges, and check that the plan
uses the index.
"""

from __future__ import annotations

import uuid

import pytest

from caseshare.core.principals import Principal
from caseshare.services import CaseFilter, Caseshare
from caseshare.store import Store
from caseshare.store.caselist import CaseListQuery


class World:
    def __init__(self, store: Store) -> None:
        self.svc = Caseshare(store)
        self.agency = self.svc.create_agency(f"search-{uuid.uuid4().hex[:8]}", "Search")
        self.admin = self.svc.create_user(self.agency, None, "admin", permissions=["admin"])
        self.worker = self.svc.create_user(self.agency, None, "worker")

    def case(self, case_id: str, name: str, **props: str) -> None:
        self.svc.create_case(
            self.agency,
            None,
            "patient",
            name,
            case_id=case_id,
            owner=Principal("user", self.worker),
            properties=props,
            external_id=f"EXT-{case_id}",
        )

    def found(self, q: str, user: int | None = None) -> set[str]:
        uid = self.admin if user is None else user
        flt = CaseFilter(q=q)
        ids = self.svc.visible_case_ids(uid, flt)
        assert self.svc.count_cases(uid, flt) == len(ids)
        paged = {i["case_id"] for i in self.svc.list_cases(uid, flt, limit=500).items}
        assert paged == ids
        return ids


@pytest.fixture
def world(store: Store) -> World:
    w = World(store)
    w.case("a1", "Amina Okafor", district="Nørrebro", note="50% done_now")
    w.case("a2", "Bertil Okafor", district="Vesterbro")
    w.case("a3", "Çelik Straße", district="Østerbro")
    return w


def test_s_view_1_search_is_a_case_folded_substring_of_name_external_id_and_values(
    world: World,
) -> None:
    assert world.found("okaf") == {"a1", "a2"}
    assert world.found("OKAFOR") == {"a1", "a2"}
    assert world.found("ina oka") == {"a1"}  # across a space inside the name
    assert world.found("ext-a3") == {"a3"}  # the external id
    assert world.found("rrebro") == {"a1"}  # a property value, non-ASCII around it
    assert world.found("STRASSE") == {"a3"}  # case-folded: ß is ss
    assert world.found("bro") == {"a1", "a2", "a3"}
    assert world.found("ok") == {"a1", "a2"}  # shorter than a trigram: the scan answers
    assert world.found("zzz") == set()


def test_s_view_1_search_wildcards_and_quotes_are_plain_text(world: World) -> None:
    assert world.found("50%") == {"a1"}
    assert world.found("e_n") == {"a1"}
    assert world.found("%_") == set()
    assert world.found('"okafor"') == set()
    assert world.found("o*") == set()


def test_s_view_1_search_follows_edits_forms_deletes_and_purges(world: World) -> None:
    svc = world.svc
    svc.update_case(world.agency, None, "a2", name="Bertil Lund", properties={"district": "Amager"})
    assert world.found("okafor") == {"a1"}
    assert world.found("lund") == {"a2"}
    assert world.found("amager") == {"a2"}
    assert world.found("vesterbro") == set()
    svc.delete_case(world.agency, None, "a1")
    assert world.found("okafor") == set()
    svc.purge_case(world.agency, None, "a1")
    world.case("a1", "Okafor again")
    assert world.found("okafor") == {"a1"}
    assert world.found("nørrebro") == set()


def test_s_acc_7_search_lists_only_what_the_user_may_view(world: World) -> None:
    other = world.svc.create_user(world.agency, None, "other")
    assert world.found("okafor", world.worker) == {"a1", "a2"}
    assert world.found("okafor", other) == set()


def test_s_view_1_search_uses_the_stores_trigram_index(world: World, store: Store) -> None:
    """The search condition is one the store's trigram index answers (the planner picks it
    over the agency's rows once they outnumber the matches; on these few rows it is forced)."""
    ctx, user = world.svc.user(world.admin)
    search = CaseListQuery(store, ctx, user).search("okafor")
    sql = f"SELECT c.pk FROM cases c WHERE {search.sql}"
    mine = f"{sql} AND c.agency_id = ?"
    with store.transaction():
        if store.is_postgres:
            store.execute("SET LOCAL enable_seqscan = off")
            plan = "\n".join(str(r[0]) for r in store.rows(f"EXPLAIN {sql}", search.params))
            assert "cases_search_trgm" in plan, plan
        else:
            rows = store.rows(f"EXPLAIN QUERY PLAN {sql}", search.params)
            plan = "\n".join(str(r[-1]) for r in rows)
            assert "cases_fts" in plan, plan
        assert {r[0] for r in store.rows(mine, [*search.params, world.agency])} == {
            store.case_pk(world.agency, "a1"),
            store.case_pk(world.agency, "a2"),
        }


HOSTILE_NAMES = {
    "h1": ("O'Brien \\ back", {"p": "100% _sure_"}),
    "h2": ("İstanbul ﬀ café", {"p": "a\\%b"}),
    "h3": ("日本語テキスト 😀x", {"p": "tab\there"}),
    "h4": ("Quote \"double\" ''", {"p": "line one"}),
}

HOSTILE_QUERIES = [
    "'",
    "''",
    '"',
    '""',
    "\\",
    "\\\\",
    "\\%",
    "%",
    "_",
    "__",
    "%%",
    "a\\%b",
    "\\ b",
    "i̇",
    "İ",
    "ı",
    "ﬀ",
    "FF",
    "ff c",
    "é",
    "e\u0301",
    "😀",
    "😀x",
    "日本",
    "日本語",
    "\t",
    "t\th",
    " ",
    "  ",
    "   ",
    "o'b",
    "_su",
    "% _",
    "x" * 5000,
    "é" * 3,
    "MATCH",
    "NEAR(a b)",
    "a OR b",
    "*",
    "^o",
    "-",
    "(",
    ")",
    "{p}:",
    "p:100",
]


def test_s_view_1_hostile_queries_match_a_plain_substring_on_both_stores(world: World) -> None:
    """S-VIEW-1: any query is the case-folded substring test, never an error."""
    texts = {}
    for cid, (name, props) in HOSTILE_NAMES.items():
        world.case(cid, name, **props)
        texts[cid] = "\n".join([name, f"EXT-{cid}", *props.values()]).casefold()
    for q in HOSTILE_QUERIES:
        want = {c for c, t in texts.items() if q.casefold() in t}
        for user in (world.admin, world.worker):  # the walk, and the candidate set
            got = world.found(q, user) & set(HOSTILE_NAMES)
            assert got == want, (q, user, got, want)
