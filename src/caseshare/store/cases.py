"""Cases, their indices and their stored grants in the store; loading the facts a decision reads."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from caseshare.core.errors import CaseShareError
from caseshare.core.levels import Cause, Level
from caseshare.core.model import CaseFacts, StoredGrant
from caseshare.core.principals import Principal, principal_of
from caseshare.store.base import Connection, Row, dumps, loads, utcnow

_CAUSE = {c.value: c for c in Cause}
_LEVEL = tuple(Level)
CASE_COLS = (
    "pk, agency_id, case_id, case_type, name, owner, properties, closed, deleted, external_id"
)
_C_COLS = ", ".join(f"c.{c.strip()}" for c in CASE_COLS.split(","))
GRANT_COLS = (
    "id, case_pk, cause, grantee, level, team_role_id, created_by, created_at,"
    " modified_by, modified_at, is_deleted"
)


@dataclass(frozen=True)
class GrantRow:
    """A stored grant as the share API shows it."""

    id: int
    case_pk: int
    cause: Cause
    grantee: Principal
    level: Level
    team_role_id: int | None
    created_by: str
    created_at: str
    modified_by: str
    modified_at: str
    is_deleted: bool

    def stored(self) -> StoredGrant:
        return StoredGrant(
            self.id, self.case_pk, self.cause, self.grantee, self.level, self.team_role_id
        )


def _grant_row(r: tuple[Any, ...]) -> GrantRow:
    return GrantRow(
        r[0],
        r[1],
        Cause(r[2]),
        Principal.parse(r[3]),
        Level(r[4]),
        r[5],
        r[6],
        r[7],
        r[8],
        r[9],
        bool(r[10]),
    )


def _facts(
    row: Sequence[Any],
    grants: tuple[StoredGrant, ...] = (),
    parents: tuple[CaseFacts, ...] = (),
    children: tuple[CaseFacts, ...] = (),
) -> CaseFacts:
    return CaseFacts(
        pk=row[0],
        agency_id=row[1],
        case_id=row[2],
        case_type=row[3],
        name=row[4],
        owner=principal_of(row[5]),
        properties=loads(row[6]) or {},
        closed=bool(row[7]),
        deleted=bool(row[8]),
        external_id=row[9],
        grants=grants,
        parents=parents,
        children=children,
    )


#: a ``StoredGrant`` from its six values in order: ``tuple.__new__`` skips the named tuple's
#: Python-level ``__new__`` (a check builds one per grant of the case and its neighbours)
_grant = partial(tuple.__new__, StoredGrant)


def case_facts(row: tuple[Any, ...]) -> CaseFacts:
    """A row of ``CASE_COLS`` as facts without grants or neighbours."""
    return _facts(row)


def search_text(name: str, external_id: str, properties: Mapping[str, str]) -> str:
    """What text search looks in: the name, the external id and property values, case-folded."""
    return "\n".join([name, external_id, *properties.values()]).casefold()


def owner_user(owner: Principal) -> int | None:
    return owner.id if owner.kind == "user" else None


class CaseStore(Connection):
    """Repository for cases, indices and stored grants."""

    # -- cases --------------------------------------------------------------------------------------

    def insert_case(
        self,
        agency_id: int,
        case_id: str,
        case_type: str,
        name: str,
        owner: Principal,
        *,
        opened_by: int | None,
        properties: Mapping[str, str] | None = None,
        external_id: str = "",
        opened_on: str | None = None,
    ) -> int:
        now = utcnow()
        return self.insert(
            "INSERT INTO cases (agency_id, case_id, case_type, name, external_id, owner,"
            " owner_user_id, opened_on, opened_by, modified_on, server_modified_on, modified_by,"
            " search, properties)"
            f" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {self.dialect.json_param()})",
            (
                agency_id,
                case_id,
                case_type,
                name,
                external_id,
                str(owner),
                owner_user(owner),
                opened_on or now,
                opened_by,
                opened_on or now,
                now,
                opened_by,
                search_text(name, external_id, properties or {}),
                dumps(dict(properties or {})),
            ),
            key="pk",
        )

    def case_pk(self, agency_id: int, case_id: str) -> int | None:
        found = self.value(
            "SELECT pk FROM cases WHERE agency_id = ? AND case_id = ?", (agency_id, case_id)
        )
        return None if found is None else int(found)

    def case_row(self, agency_id: int, case_id: str) -> CaseFacts | None:
        row = self.row(
            f"SELECT {CASE_COLS} FROM cases WHERE agency_id = ? AND case_id = ?",
            (agency_id, case_id),
        )
        return None if row is None else _facts(row)

    def case_record(self, pk: int) -> dict[str, Any]:
        row = self.row(
            "SELECT pk, agency_id, case_id, case_type, name, external_id, owner, opened_on,"
            " opened_by, modified_on, server_modified_on, modified_by, closed, closed_on,"
            " closed_by, deleted, properties FROM cases WHERE pk = ?",
            (pk,),
        )
        if row is None:
            raise CaseShareError("not_found", "The case was not found.")
        keys = (
            "pk",
            "agency_id",
            "case_id",
            "case_type",
            "name",
            "external_id",
            "owner",
            "opened_on",
            "opened_by",
            "modified_on",
            "server_modified_on",
            "modified_by",
            "closed",
            "closed_on",
            "closed_by",
            "deleted",
            "properties",
        )
        out = dict(zip(keys, row, strict=True))
        out["closed"] = bool(out["closed"])
        out["deleted"] = bool(out["deleted"])
        out["properties"] = loads(out["properties"]) or {}
        return out

    def touch(self, pk: int, actor: int | None) -> None:
        now = utcnow()
        self.execute(
            "UPDATE cases SET server_modified_on = ?, modified_on = ?, modified_by = ? WHERE pk = ?",
            (now, now, actor, pk),
        )
        # the last step of every sharing-API change to a case: its history records the result
        self._note_change(pk)

    def _note_change(self, pk: int, *what: str) -> None:
        from caseshare.store.submissions import SubmissionStore  # cycle: it imports this module

        if isinstance(self, SubmissionStore):
            self.note_outside_change(pk, *what)

    def set_owner(self, pk: int, owner: Principal) -> None:
        self.execute(
            "UPDATE cases SET owner = ?, owner_user_id = ? WHERE pk = ?",
            (str(owner), owner_user(owner), pk),
        )

    def update_case(
        self,
        pk: int,
        *,
        name: str | None = None,
        case_type: str | None = None,
        external_id: str | None = None,
        properties: Mapping[str, str] | None = None,
    ) -> None:
        sets: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("name", name),
            ("case_type", case_type),
            ("external_id", external_id),
        ):
            if value is not None:
                sets.append(f"{column} = ?")
                params.append(value)
        if properties is not None:
            sets.append(f"properties = {self.dialect.json_param()}")
            params.append(dumps(dict(properties)))
        if sets:
            self.execute(f"UPDATE cases SET {', '.join(sets)} WHERE pk = ?", (*params, pk))
            row = self.row("SELECT name, external_id, properties FROM cases WHERE pk = ?", (pk,))
            if row is not None:
                text = search_text(row[0], row[1], loads(row[2]) or {})
                self.execute("UPDATE cases SET search = ? WHERE pk = ?", (text, pk))

    def set_closed(self, pk: int, closed: bool, actor: int | None) -> None:
        self.execute(
            "UPDATE cases SET closed = ?, closed_on = ?, closed_by = ? WHERE pk = ?",
            (int(closed), utcnow() if closed else None, actor if closed else None, pk),
        )

    def set_deleted(self, pk: int, deleted: bool) -> None:
        """S-SHR-8: the case and its stored grants move to (or out of) the recycle bin; the
        case's history records it (a device holding it learns it left)."""
        self.execute("UPDATE cases SET deleted = ? WHERE pk = ?", (int(deleted), pk))
        self.execute("UPDATE grants SET is_deleted = ? WHERE case_pk = ?", (int(deleted), pk))
        self._note_change(pk, "delete" if deleted else "restore")

    def purge_case(self, pk: int) -> None:
        self.execute("DELETE FROM grants WHERE case_pk = ?", (pk,))
        shares = "share_id IN (SELECT id FROM agency_shares WHERE case_pk = ?)"
        self.execute(f"DELETE FROM agency_share_units WHERE {shares}", (pk,))
        self.execute(f"DELETE FROM agency_share_targets WHERE {shares}", (pk,))
        self.execute("DELETE FROM agency_shares WHERE case_pk = ?", (pk,))
        self.execute("UPDATE agency_shares SET local_case_pk = NULL WHERE local_case_pk = ?", (pk,))
        self.execute("DELETE FROM target_identifiers WHERE case_pk = ?", (pk,))
        self.execute("DELETE FROM targets WHERE case_pk = ?", (pk,))
        self.execute("DELETE FROM favourites WHERE case_pk = ?", (pk,))
        self.execute("DELETE FROM recent_cases WHERE case_pk = ?", (pk,))
        self.execute("DELETE FROM case_indices WHERE case_pk = ? OR ref_pk = ?", (pk, pk))
        self.execute("DELETE FROM cases WHERE pk = ?", (pk,))

    # -- indices ------------------------------------------------------------------------------------

    def set_index(
        self, case_pk: int, identifier: str, ref_pk: int, ref_type: str, relationship: str
    ) -> None:
        self.execute(
            "DELETE FROM case_indices WHERE case_pk = ? AND identifier = ?", (case_pk, identifier)
        )
        self.execute(
            "INSERT INTO case_indices (case_pk, identifier, ref_pk, ref_type, relationship)"
            " VALUES (?, ?, ?, ?, ?)",
            (case_pk, identifier, ref_pk, ref_type, relationship),
        )

    def remove_index(self, case_pk: int, identifier: str) -> None:
        self.execute(
            "DELETE FROM case_indices WHERE case_pk = ? AND identifier = ?", (case_pk, identifier)
        )

    def indices(self, case_pk: int) -> list[tuple[str, str, str, str]]:
        """(identifier, referenced case id, referenced type, relationship) of one case."""
        return [
            (r[0], r[1], r[2], r[3])
            for r in self.rows(
                "SELECT i.identifier, c.case_id, i.ref_type, i.relationship FROM case_indices i"
                " JOIN cases c ON c.pk = i.ref_pk WHERE i.case_pk = ? ORDER BY i.identifier",
                (case_pk,),
            )
        ]

    def index_links(
        self, *, case_pks: Sequence[int] = (), ref_pks: Sequence[int] = ()
    ) -> list[tuple[int, int, str, str]]:
        """(case pk, referenced pk, identifier, relationship) of the index rows of these cases
        (``case_pks``: their parents and hosts) or pointing at them (``ref_pks``: their children
        and extensions)."""
        column, pks = ("case_pk", case_pks) if case_pks else ("ref_pk", ref_pks)
        if not pks:
            return []
        sql, params = self.dialect.in_list(f"i.{column}", list(pks))
        return [
            (int(r[0]), int(r[1]), r[2], r[3])
            for r in self.rows(
                "SELECT i.case_pk, i.ref_pk, i.identifier, i.relationship FROM case_indices i"
                f" WHERE {sql} ORDER BY i.case_pk, i.identifier",
                params,
            )
        ]

    def case_pks(self, agency_id: int, case_ids: Sequence[str]) -> dict[str, int]:
        """case id → pk of those of these cases the agency has."""
        if not case_ids:
            return {}
        sql, params = self.dialect.in_list("case_id", list(case_ids))
        return {
            r[1]: int(r[0])
            for r in self.rows(
                f"SELECT pk, case_id FROM cases WHERE {self.dialect.agency_is('agency_id')}"
                f" AND {sql}",
                [agency_id, *params],
            )
        }

    def case_types(self, agency_id: int) -> list[str]:
        """The case types the agency's cases have, in order."""
        return [
            r[0]
            for r in self.rows(
                "SELECT DISTINCT case_type FROM cases WHERE agency_id = ? ORDER BY case_type",
                (agency_id,),
            )
        ]

    # -- facts for the engine -------------------------------------------------------------------

    def grants_for(self, case_pks: Iterable[int]) -> dict[int, tuple[StoredGrant, ...]]:
        pks = list(case_pks)
        out: dict[int, list[StoredGrant]] = {pk: [] for pk in pks}
        if not pks:
            return {}
        clause, params = self.dialect.in_list("case_pk", pks)
        for r in self.rows(
            f"SELECT id, case_pk, cause, grantee, level, team_role_id FROM grants"
            f" WHERE {clause} ORDER BY id",  # a deleted case is blocked as a whole
            params,
        ):
            out[r[1]].append(
                _grant((r[0], r[1], _CAUSE[r[2]], principal_of(r[3]), _LEVEL[r[4]], r[5]))
            )
        return {pk: tuple(gs) for pk, gs in out.items()}

    def facts(
        self,
        case: CaseFacts,
        *,
        child_filter: tuple[str, list[Any]] | None = None,
        child_limit: int | None = None,
    ) -> CaseFacts:
        """The case with its grants, its parents and (optionally filtered) children."""
        parent_rows = self.rows(
            f"SELECT {_C_COLS} FROM case_indices i JOIN cases c ON c.pk = i.ref_pk"
            " WHERE i.case_pk = ? AND i.relationship = 'child' AND c.deleted = 0",
            (case.pk,),
        )
        where, params = child_filter or ("1 = 1", [])
        limit = f" LIMIT {int(child_limit)}" if child_limit else ""
        child_rows = self.rows(
            f"SELECT DISTINCT {_C_COLS} FROM case_indices i CROSS JOIN cases c"  # index first
            f" WHERE i.ref_pk = ? AND c.pk = i.case_pk AND c.deleted = 0 AND ({where})"
            f" ORDER BY c.pk{limit}",
            (case.pk, *params),
        )
        grants = self.grants_for(
            [case.pk, *(r[0] for r in parent_rows), *(r[0] for r in child_rows)]
        )
        return CaseFacts(
            **{**_fields(case), "grants": grants.get(case.pk, ())},
            parents=tuple(_facts(r, grants.get(r[0], ())) for r in parent_rows),
            children=tuple(_facts(r, grants.get(r[0], ())) for r in child_rows),
        )

    def facts_many(
        self,
        agency_id: int,
        case_ids: list[str],
        *,
        child_filter: tuple[str, list[Any]],
        child_limit: int,
    ) -> dict[str, CaseFacts]:
        """``facts_by_id`` for many cases in four queries (a form's cases checked at once)."""
        if not case_ids:
            return {}
        if self.is_postgres:
            return self._facts_many_at_once(
                agency_id, case_ids, child_filter=child_filter, child_limit=child_limit
            )
        wanted, params = self.dialect.in_list("case_id", case_ids)
        own = self.rows(
            f"SELECT {CASE_COLS} FROM cases WHERE agency_id = ? AND {wanted}", (agency_id, *params)
        )
        pks = [r[0] for r in own]
        if not pks:
            return {}
        mine, pk_params = self.dialect.in_list("i.case_pk", pks)
        parents = self.rows(
            f"SELECT i.case_pk, {_C_COLS} FROM case_indices i JOIN cases c ON c.pk = i.ref_pk"
            f" WHERE {mine} AND i.relationship = 'child' AND c.deleted = 0",
            pk_params,
        )
        refs, ref_params = self.dialect.in_list("i.ref_pk", pks)
        where, filter_params = child_filter
        children = self.rows(
            f"SELECT DISTINCT i.ref_pk, {_C_COLS} FROM case_indices i JOIN cases c"
            f" ON c.pk = i.case_pk WHERE {refs} AND c.deleted = 0 AND ({where})"
            " ORDER BY i.ref_pk, c.pk",
            (*ref_params, *filter_params),
        )
        grants = self.grants_for({*pks, *(r[1] for r in parents), *(r[1] for r in children)})
        return _assemble(own, parents, children, grants, child_limit)

    def _facts_many_at_once(
        self,
        agency_id: int,
        case_ids: list[str],
        *,
        child_filter: tuple[str, list[Any]],
        child_limit: int,
    ) -> dict[str, CaseFacts]:
        """``facts_many`` on PostgreSQL: the same four queries, each naming the cases by id
        rather than by the pks the first one finds, so all four go in one pipeline (one round
        trip instead of four: issue 12 item 4)."""
        rows = self.rows_together(self.facts_statements(agency_id, case_ids, child_filter))
        return self.facts_from_rows(rows, child_limit)

    def facts_statements(
        self, agency_id: int, case_ids: list[str], child_filter: tuple[str, list[Any]]
    ) -> list[tuple[str, Sequence[Any]]]:
        """The four queries of ``facts_many`` on PostgreSQL, none reading another's answer:
        a caller may send them in a pipeline of its own (``facts_from_rows`` reads them)."""
        wanted, params = self.dialect.in_list("case_id", case_ids)
        agency = self.dialect.agency_is("agency_id")
        own_pks = f"SELECT pk FROM cases WHERE {agency} AND {wanted}"
        where, filter_params = child_filter
        parents_sql = (
            f"FROM case_indices i JOIN cases c ON c.pk = i.ref_pk WHERE i.case_pk IN ({own_pks})"
            " AND i.relationship = 'child' AND c.deleted = 0"
        )
        children_sql = (
            f"FROM case_indices i JOIN cases c ON c.pk = i.case_pk WHERE i.ref_pk IN ({own_pks})"
            f" AND c.deleted = 0 AND ({where})"
        )
        key = (agency_id, *params)
        return [
            (f"SELECT {CASE_COLS} FROM cases WHERE {agency} AND {wanted}", key),
            (f"SELECT i.case_pk, {_C_COLS} {parents_sql}", key),
            (
                f"SELECT DISTINCT i.ref_pk, {_C_COLS} {children_sql} ORDER BY i.ref_pk, c.pk",
                (*key, *filter_params),
            ),
            (
                # one array of pks the index on grants.case_pk is probed with: three
                # ORed IN-subqueries filtered every grant row instead
                "SELECT id, case_pk, cause, grantee, level, team_role_id FROM grants"
                f" WHERE case_pk = ANY(ARRAY({own_pks} UNION SELECT c.pk {parents_sql}"
                f" UNION SELECT c.pk {children_sql})) ORDER BY id",
                (*key, *key, *key, *filter_params),
            ),
        ]

    def facts_from_rows(self, rows: Sequence[list[Row]], child_limit: int) -> dict[str, CaseFacts]:
        """``facts_many``'s answer from the rows of ``facts_statements``."""
        own, parents, children, grant_rows = rows
        found: dict[int, list[StoredGrant]] = {}
        for r in grant_rows:
            found.setdefault(r[1], []).append(
                _grant((r[0], r[1], _CAUSE[r[2]], principal_of(r[3]), _LEVEL[r[4]], r[5]))
            )
        grants = {pk: tuple(gs) for pk, gs in found.items()}
        return _assemble(own, parents, children, grants, child_limit)

    def facts_by_id(
        self,
        agency_id: int,
        case_id: str,
        *,
        child_filter: tuple[str, list[Any]] | None = None,
        child_limit: int = 10,
    ) -> CaseFacts | None:
        """``facts`` in one statement on both stores: the case (``part`` 0), its parents (1),
        its filtered, limited children (2), each with its grants as a JSON array."""
        sql, params = self._facts_query(agency_id, case_id, child_filter, child_limit)
        return _facts_found(self.rows(sql, params, hot=True))

    def facts_and_state(
        self,
        agency_id: int,
        case_id: str,
        *,
        child_filter: tuple[str, list[Any]],
        child_limit: int,
        probe: tuple[str, Sequence[Any]] | None = None,
    ) -> tuple[tuple[int, int], CaseFacts | None, bool]:
        """The agency's (version, change count), as ``agency_state`` reads it, ``facts_by_id``
        and whether ``probe`` (a query; the check's ``may_sync_query``) finds a row (False
        without one): in one statement, so a check whose context is cached already pays one
        round trip. One statement, not a pipeline of three: on PostgreSQL a pipeline's entry,
        sync and exit cost the client about 100 µs more than the one statement (measured at
        size S), and the server binds and runs one portal instead of three. The agency's row
        is the left side of the join, so its state comes back even when the case is not
        found (then one row, its facts columns NULL)."""
        sql, params = self._facts_query(agency_id, case_id, child_filter, child_limit)
        maybe, probe_params = ("FALSE", ()) if probe is None else (f"EXISTS ({probe[0]})", probe[1])
        rows = self.rows(
            f"SELECT s.version, s.change_seq, s.maybe, f.* FROM (SELECT version, change_seq,"
            f" {maybe} AS maybe FROM agencies WHERE id = ?) s LEFT JOIN ({sql}) f ON TRUE"
            " ORDER BY f.part, f.pk",
            (*probe_params, agency_id, *params),
            hot=True,
        )
        if not rows:
            raise CaseShareError("not_found", f"Agency {agency_id} was not found.")
        version, seq, found = rows[0][:3]
        facts = _facts_found([r[3:] for r in rows if r[3] is not None])
        return (int(version), int(seq)), facts, bool(found)

    def _facts_query(
        self,
        agency_id: int,
        case_id: str,
        child_filter: tuple[str, list[Any]] | None,
        child_limit: int,
    ) -> tuple[str, tuple[Any, ...]]:
        where, params = child_filter or ("1 = 1", [])
        key = (agency_id, case_id)
        if self.is_postgres:
            me = f"me AS (SELECT {CASE_COLS} FROM cases WHERE agency_id = ? AND case_id = ?)"
            union = (
                f"WITH {me} SELECT 0 AS part, {CASE_COLS} FROM me"
                f" UNION ALL SELECT 1, {_C_COLS} FROM me"
                " JOIN case_indices i ON i.case_pk = me.pk AND i.relationship = 'child'"
                " JOIN cases c ON c.pk = i.ref_pk WHERE c.deleted = 0"
                f" UNION ALL SELECT * FROM (SELECT DISTINCT 2, {_C_COLS} FROM me"
                " CROSS JOIN case_indices i CROSS JOIN cases c"
                " WHERE i.ref_pk = me.pk AND c.pk = i.case_pk AND c.deleted = 0"
                f" AND ({where}) ORDER BY c.pk LIMIT {int(child_limit)}) kids"
            )
            return (
                "SELECT u.*, (SELECT jsonb_agg(jsonb_build_array(g.id, g.cause, g.grantee,"
                " g.level, g.team_role_id) ORDER BY g.id) FROM grants g WHERE g.case_pk = u.pk)"
                f" FROM ({union}) u ORDER BY u.part, u.pk",
                (*key, *params),
            )
        # the case's pk as a scalar subquery, not a joined CTE: joined, SQLite cannot tell it
        # is one row and builds a Bloom filter over every case (milliseconds)
        pk = "(SELECT pk FROM cases WHERE agency_id = ? AND case_id = ?)"
        ups = (
            f"SELECT {_C_COLS} FROM case_indices i CROSS JOIN cases c"
            f" WHERE i.case_pk = {pk} AND i.relationship = 'child'"
            " AND c.pk = i.ref_pk AND c.deleted = 0"
        )
        # CROSS JOIN keeps SQLite's join order (the case's indices → cases): left free, it
        # scans every case in pk order to satisfy ORDER BY … LIMIT.
        kids = (
            f"SELECT DISTINCT {_C_COLS} FROM case_indices i CROSS JOIN cases c"
            f" WHERE i.ref_pk = {pk} AND c.pk = i.case_pk AND c.deleted = 0"
            f" AND ({where}) ORDER BY c.pk LIMIT {int(child_limit)}"
        )
        # each case's grants as one JSON array: measured at S, about half the time of typed
        # grant rows in the same statement, and less than the four statements of ``facts``
        return (
            f"WITH ups AS ({ups}), kids AS ({kids})"
            " SELECT u.*, (SELECT json_group_array(json_array(g.id, g.cause, g.grantee,"
            " g.level, g.team_role_id)) FROM grants g WHERE g.case_pk = u.pk)"
            f" FROM (SELECT 0 AS part, {CASE_COLS} FROM cases WHERE agency_id = ? AND case_id = ?"
            " UNION ALL SELECT 1, * FROM ups UNION ALL SELECT 2, * FROM kids) u",
            (*key, *key, *params, *key),
        )

    # -- stored grants --------------------------------------------------------------------------------

    def grant_rows(
        self, case_pk: int, *, cause: Cause | None = None, include_deleted: bool = False
    ) -> list[GrantRow]:
        sql = f"SELECT {GRANT_COLS} FROM grants WHERE case_pk = ?"
        params: list[Any] = [case_pk]
        if cause is not None:
            sql += " AND cause = ?"
            params.append(cause.value)
        if not include_deleted:
            sql += " AND is_deleted = 0"
        return [_grant_row(r) for r in self.rows(sql + " ORDER BY id", params)]

    def grant_row(self, grant_id: int) -> GrantRow | None:
        row = self.row(f"SELECT {GRANT_COLS} FROM grants WHERE id = ?", (grant_id,))
        return None if row is None else _grant_row(row)

    def find_grant(self, case_pk: int, cause: Cause, grantee: Principal) -> GrantRow | None:
        row = self.row(
            f"SELECT {GRANT_COLS} FROM grants WHERE case_pk = ? AND cause = ? AND grantee = ?",
            (case_pk, cause.value, str(grantee)),
        )
        return None if row is None else _grant_row(row)

    def put_grant(
        self,
        agency_id: int,
        case_pk: int,
        cause: Cause,
        grantee: Principal,
        level: Level,
        actor: str,
        team_role_id: int | None = None,
    ) -> tuple[GrantRow, GrantRow | None]:
        """Create or update the one grant per (case, cause, grantee); returns (new, before)."""
        before = self.find_grant(case_pk, cause, grantee)
        now = utcnow()
        if before is None:
            self.execute(
                "INSERT INTO grants (agency_id, case_pk, cause, grantee, grantee_user_id, level,"
                " team_role_id, created_by, created_at, modified_by, modified_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    agency_id,
                    case_pk,
                    cause.value,
                    str(grantee),
                    owner_user(grantee),
                    int(level),
                    team_role_id,
                    actor,
                    now,
                    actor,
                    now,
                ),
            )
        else:
            self.execute(
                "UPDATE grants SET level = ?, team_role_id = ?, modified_by = ?, modified_at = ?,"
                " is_deleted = 0 WHERE id = ?",
                (int(level), team_role_id, actor, now, before.id),
            )
        after = self.find_grant(case_pk, cause, grantee)
        assert after is not None
        return after, before

    def delete_grant(self, grant_id: int) -> None:
        self.execute("DELETE FROM grants WHERE id = ?", (grant_id,))

    def replace_team_role(self, old_id: int, new_id: int) -> int:
        cur = self.execute(
            "UPDATE grants SET team_role_id = ? WHERE team_role_id = ? AND cause = 'team'",
            (new_id, old_id),
        )
        return int(cur.rowcount)


def _fields(case: CaseFacts) -> dict[str, Any]:
    return {
        "pk": case.pk,
        "agency_id": case.agency_id,
        "case_id": case.case_id,
        "case_type": case.case_type,
        "name": case.name,
        "owner": case.owner,
        "properties": case.properties,
        "closed": case.closed,
        "deleted": case.deleted,
        "external_id": case.external_id,
    }


def _grants_found(pk: int, found: Any) -> tuple[StoredGrant, ...]:
    """A case's grants from ``facts_by_id``'s JSON array of them: SQLite hands back text
    (``[]`` when there are none, not decoded), PostgreSQL a decoded list (None when none)."""
    if found is None or found == "[]":
        return ()
    found = loads(found)
    if len(found) > 1:
        found.sort()  # by grant id, as ``grants_for`` gives them
    return tuple(
        [_grant((g[0], pk, _CAUSE[g[1]], principal_of(g[2]), _LEVEL[g[3]], g[4])) for g in found]
    )


def _facts_found(rows: Sequence[Any]) -> CaseFacts | None:
    """``facts_by_id``'s answer from its rows: (part, facts columns…, grants as JSON)."""
    own = None
    parents: list[CaseFacts] = []
    children: list[CaseFacts] = []
    for r in rows:
        part = r[0]
        if part == 0:
            own = r
        else:
            (parents if part == 1 else children).append(_facts(r[1:-1], _grants_found(r[1], r[-1])))
    if own is None:
        return None
    return _facts(own[1:-1], _grants_found(own[1], own[-1]), tuple(parents), tuple(children))


def _assemble(
    own: Sequence[Any],
    parents: Sequence[Any],
    children: Sequence[Any],
    grants: Mapping[int, tuple[StoredGrant, ...]],
    child_limit: int,
) -> dict[str, CaseFacts]:
    """``facts_many``'s answer from its four result sets: each case by id with its grants, its
    parents and up to ``child_limit`` children (rows of ``(own pk, facts columns…)``)."""
    up: dict[int, list[CaseFacts]] = {}
    for r in parents:
        up.setdefault(r[0], []).append(_facts(r[1:], grants.get(r[1], ())))
    down: dict[int, list[CaseFacts]] = {}
    for r in children:
        if len(down.setdefault(r[0], [])) < child_limit:
            down[r[0]].append(_facts(r[1:], grants.get(r[1], ())))
    return {
        r[2]: _facts(r, grants.get(r[0], ()), tuple(up.get(r[0], ())), tuple(down.get(r[0], ())))
        for r in own
    }
