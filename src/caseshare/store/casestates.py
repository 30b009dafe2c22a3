"""Case rows written from case state (what a replay of the case's history decides), one case
at a time or a whole form's cases at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from caseshare.core.principals import Principal
from caseshare.store.base import Connection, Row, dumps, loads, rows_as_json, utcnow
from caseshare.store.cases import owner_user, search_text

#: the columns of ``cases`` that a replay of the case's transactions decides
STATE_COLS: Final = (
    "case_type",
    "name",
    "external_id",
    "owner",
    "opened_on",
    "opened_by",
    "modified_on",
    "modified_by",
    "closed",
    "closed_on",
    "closed_by",
    "properties",
)
#: (identifier, referenced case id, referenced case type, relationship)
IndexRow = tuple[str, str, str, str]
_COLS: Final = [c for c in STATE_COLS if c != "properties"]
#: the columns of ``cases`` a form writes, in the order ``write_case_states`` gives them
_WRITTEN: Final = (*_COLS, "owner_user_id", "server_modified_on", "search", "properties")
#: the PostgreSQL types of those that are not text (``insert_many`` casts each column's array)
_PG_TYPES: Final = {
    "agency_id": "bigint",
    "opened_by": "bigint",
    "modified_by": "bigint",
    "closed": "integer",
    "closed_by": "bigint",
    "owner_user_id": "bigint",
    "properties": "jsonb",
    "pk": "bigint",
}
#: a case as ``case_state_columns`` gives it: (pk, state columns, indices)
Found = tuple[int, dict[str, Any], list[IndexRow]]


def _changed(columns: Mapping[str, Any], before: Mapping[str, Any]) -> tuple[str, ...]:
    """The columns of ``_WRITTEN`` an update to state ``columns`` changes in a case whose state
    columns were ``before`` (both as ``case_state_columns`` gives them): on SQLite an UPDATE
    rewrites the entries of every index on a column it sets, changed or not (nine indexes on
    ``cases``, and the text index's trigrams through ``search``), where a form's update
    changes three or four columns. The derived columns follow their sources, and
    ``server_modified_on`` is always written."""
    changed = {c for c in STATE_COLS if c != "properties" and columns[c] != before[c]}
    if dict(columns["properties"]) != before["properties"]:
        changed.add("properties")
    if "owner" in changed:
        changed.add("owner_user_id")
    if changed & {"name", "external_id", "properties"}:
        changed.add("search")
    changed.add("server_modified_on")
    return tuple(c for c in _WRITTEN if c in changed)


class CaseStateStore(Connection):
    """Repository for the part of a case row its history decides, and its index rows."""

    def case_pks(self, agency_id: int, case_ids: Sequence[str]) -> dict[str, int]:
        """The pks of those of ``case_ids`` that exist in the agency, in one query."""
        if not case_ids:
            return {}
        wanted, params = self.dialect.in_list("case_id", list(case_ids))
        rows = self.rows(
            f"SELECT case_id, pk FROM cases WHERE agency_id = ? AND {wanted}",
            (agency_id, *params),
        )
        return {r[0]: int(r[1]) for r in rows}

    def write_case_state(
        self,
        agency_id: int,
        case_id: str,
        columns: Mapping[str, Any],
        indices: Sequence[IndexRow],
    ) -> int:
        """Insert or overwrite a case's state columns and its indices; returns the case's pk.

        Indices to a case that does not exist (any more) in the agency are left out.
        """
        return self.write_case_states(agency_id, {case_id: (columns, indices)})[case_id]

    def write_case_states(
        self,
        agency_id: int,
        states: Mapping[str, tuple[Mapping[str, Any], Sequence[IndexRow]]],
        existing: Mapping[str, Found] | None = None,
    ) -> dict[str, int]:
        """``write_case_state`` for many cases in a few statements: every row first, then every
        index row, so indices to cases written in the same call resolve. Returns their pks.

        ``existing``: those of the cases that exist, as ``case_states`` read them in this
        transaction (a form, under its locks): saves a query, and on SQLite each row is
        updated in the columns that changed only (``_changed``)."""
        ids = list(states)
        if existing is None:
            pks = self.case_pks(agency_id, ids)
        else:
            pks = {c: existing[c][0] for c in ids if c in existing}
        now = utcnow()
        j = self.dialect.json_param()
        inserts, updates = [], []
        written: list[tuple[str, ...]] = []  # SQLite: per update, the columns it sets
        for case_id, (columns, _) in states.items():
            owner = Principal.parse(columns["owner"])
            props: Mapping[str, str] = columns["properties"]
            values = [int(v) if isinstance(v, bool) else v for v in (columns[c] for c in _COLS)]
            extra = [
                owner_user(owner),
                now,
                search_text(columns["name"], columns["external_id"], props),
                dumps(dict(props)),
            ]
            if case_id in pks:
                updates.append((*values, *extra, pks[case_id]))
                known = None if existing is None else existing.get(case_id)
                # PostgreSQL gives an updated row new entries in every index whatever it sets
                # (never a HOT update: server_modified_on is indexed)
                if not self.is_postgres:
                    written.append(_WRITTEN if known is None else _changed(columns, known[1]))
            else:
                inserts.append((agency_id, case_id, *values, *extra))
        # only a case that existed before can have index rows to replace (pks are never reused),
        # and none that had none and gets none (what ``existing`` read is every row it has:
        # each index row's referenced case exists, by its foreign key)
        replaced = [
            pk
            for case_id, pk in pks.items()
            if existing is None or existing[case_id][2] or states[case_id][1]
        ]
        if inserts:
            made = self.insert_many(
                "cases",
                ("agency_id", "case_id", *_WRITTEN),
                [_PG_TYPES.get(c, "text") for c in ("agency_id", "case_id", *_WRITTEN)],
                inserts,
                returning="case_id, pk",
            )
            pks.update((r[0], int(r[1])) for r in made)
        if updates and self.is_postgres:
            self._update_cases_pg(updates)
        elif updates:
            by_columns: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
            for row, cols in zip(updates, written, strict=True):
                by_columns.setdefault(cols, []).append(
                    (*(row[_WRITTEN.index(c)] for c in cols), row[-1])
                )
            for cols, rows in by_columns.items():
                sets = ", ".join(f"{c} = {j if c == 'properties' else '?'}" for c in cols)
                self.executemany(f"UPDATE cases SET {sets} WHERE pk = ?", rows)
        if replaced:
            mine, params = self.dialect.in_list("case_pk", replaced)
            self.later(f"DELETE FROM case_indices WHERE {mine}", params)
        refs = self.case_pks(agency_id, sorted({i[1] for _, idx in states.values() for i in idx}))
        rows = [
            (pks[case_id], identifier, refs[ref], ref_type, relationship)
            for case_id, (_, indices) in states.items()
            for identifier, ref, ref_type, relationship in indices
            if ref in refs
        ]
        self.insert_many(
            "case_indices",
            ("case_pk", "identifier", "ref_pk", "ref_type", "relationship"),
            ("bigint", "text", "bigint", "text", "text"),
            rows,
            later=True,
        )
        return pks

    def _update_cases_pg(self, updates: Sequence[Sequence[Any]]) -> None:
        """The ``UPDATE cases`` of ``write_case_states`` as one statement on PostgreSQL, the
        rows as one JSON parameter (``rows_as_json`` says why): one plan and run for a form's
        cases, not a statement per case."""
        names = [*_WRITTEN, "pk"]
        source, _, param = rows_as_json(names, [_PG_TYPES.get(n, "text") for n in names], updates)
        sets = ", ".join(
            f"{n} = CAST(v.{n} AS jsonb)" if _PG_TYPES.get(n) == "jsonb" else f"{n} = v.{n}"
            for n in _WRITTEN
        )
        self.later(f"UPDATE cases AS c SET {sets} FROM {source} WHERE c.pk = v.pk", [param])

    def case_state_columns(
        self, agency_id: int, case_id: str
    ) -> tuple[int, dict[str, Any], list[IndexRow]] | None:
        """A case's pk, its state columns and its indices, as ``write_case_state`` takes them."""
        row = self.row(
            f"SELECT pk, {', '.join(STATE_COLS)} FROM cases WHERE agency_id = ? AND case_id = ?",
            (agency_id, case_id),
        )
        if row is None:
            return None
        columns = dict(zip(STATE_COLS, row[1:], strict=True))
        columns["closed"] = bool(columns["closed"])
        columns["properties"] = loads(columns["properties"]) or {}
        indices = [
            (r[0], r[1], r[2], r[3])
            for r in self.rows(
                "SELECT i.identifier, c.case_id, i.ref_type, i.relationship FROM case_indices i"
                " JOIN cases c ON c.pk = i.ref_pk WHERE i.case_pk = ? ORDER BY i.identifier",
                (row[0],),
            )
        ]
        return int(row[0]), columns, indices

    def case_states(
        self, agency_id: int, case_ids: list[str]
    ) -> dict[str, tuple[int, dict[str, Any], list[IndexRow]]]:
        """``case_state_columns`` for many cases in two queries (a restore sends thousands); on
        PostgreSQL both name the cases by id and go in one pipeline (one round trip)."""
        return self.case_states_with(agency_id, case_ids, ())[0]

    def case_states_with(
        self,
        agency_id: int,
        case_ids: list[str],
        extra: Sequence[tuple[str, Sequence[Any]]],
    ) -> tuple[dict[str, tuple[int, dict[str, Any], list[IndexRow]]], list[list[Row]]]:
        """``case_states``, and the rows of other queries that read nothing it reads: on
        PostgreSQL all sent in the same pipeline."""
        if not case_ids:
            return {}, self.rows_together(extra)
        wanted, params = self.dialect.in_list("case_id", case_ids)
        out: dict[str, tuple[int, dict[str, Any], list[IndexRow]]] = {}
        by_pk: dict[int, str] = {}
        agency = self.dialect.agency_is("agency_id")
        cases_sql = (
            f"SELECT pk, case_id, {', '.join(STATE_COLS)} FROM cases WHERE {agency} AND {wanted}"
        )
        index_sql = (
            "SELECT i.case_pk, i.identifier, c.case_id, i.ref_type, i.relationship"
            " FROM case_indices i JOIN cases c ON c.pk = i.ref_pk WHERE {}"
            " ORDER BY i.case_pk, i.identifier"
        )
        indices: list[Row] | None = None
        if self.is_postgres:
            key = (agency_id, *params)
            found, indices, *others = self.rows_together(
                [
                    (cases_sql, key),
                    (
                        index_sql.format(
                            f"i.case_pk IN (SELECT pk FROM cases WHERE {agency} AND {wanted})"
                        ),
                        key,
                    ),
                    *extra,
                ]
            )
        else:
            others = self.rows_together(extra)
            found = self.rows(cases_sql, (agency_id, *params))
        for row in found:
            columns = dict(zip(STATE_COLS, row[2:], strict=True))
            columns["closed"] = bool(columns["closed"])
            columns["properties"] = loads(columns["properties"]) or {}
            out[row[1]] = (int(row[0]), columns, [])
            by_pk[int(row[0])] = row[1]
        if indices is None and by_pk:
            pks, pk_params = self.dialect.in_list("i.case_pk", list(by_pk))
            indices = self.rows(index_sql.format(pks), pk_params)
        for r in indices or ():
            out[by_pk[r[0]]][2].append((r[1], r[2], r[3], r[4]))
        return out, others

    def open_extensions(self, case_pk: int) -> list[str]:
        """Open cases that index this one as their host (relationship ``extension``)."""
        rows = self.rows(
            "SELECT DISTINCT c.case_id FROM case_indices i JOIN cases c ON c.pk = i.case_pk"
            " WHERE i.ref_pk = ? AND i.relationship = 'extension' AND c.closed = 0"
            " AND c.deleted = 0 ORDER BY c.case_id",
            (case_pk,),
        )
        return [r[0] for r in rows]
