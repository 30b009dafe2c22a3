"""What an agency's admins read across the agency: the recycle bin, the audit log and device
forms, each newest first and keyset-paged (stable while others write)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caseshare.store.audit import AuditEvent
from caseshare.store.base import Connection, loads

_AUDIT_COLS = "id, agency_id, actor, at, action, subject, case_pk, before, after, reason"


@dataclass(frozen=True)
class BinnedCase:
    """A case in the recycle bin (S-SHR-8), with who put it there and when."""

    pk: int
    case_id: str
    case_type: str
    name: str
    owner: str
    opened_on: str
    closed: bool
    #: the audit event of its deletion (0 when it was deleted without one, e.g. by an import)
    event_id: int
    deleted_at: str | None = None
    deleted_by: str | None = None


@dataclass(frozen=True)
class FormSummary:
    """A stored device submission without its XML: what a list of forms shows."""

    id: int
    instance_id: str
    user_id: int | None
    received_on: str
    status: str
    problem: str
    size: int


@dataclass(frozen=True)
class AuditQuery:
    """The audit log's filters; each one narrows it (None: any)."""

    actor: str | None = None  # "user:ID" or "system"
    kind: str | None = None  # the action's first word: case, share, user, rule …
    subject: str | None = None  # e.g. "case:patient-1"
    since: str | None = None  # stored times, inclusive
    until: str | None = None  # stored times, exclusive


def _newest_first(rows: list[Any], newer: bool, limit: int) -> tuple[list[Any], bool]:
    """A page in newest-first order and whether more lie beyond it in the direction walked."""
    more = len(rows) > limit
    rows = rows[:limit]
    if newer:
        rows.reverse()
    return rows, more


class OversightStore(Connection):
    """Agency-wide reads for admins; nothing here writes."""

    # -- the recycle bin --------------------------------------------------------------------------

    def binned_cases(
        self,
        agency_id: int,
        *,
        cursor: tuple[int, int] | None,
        newer: bool,
        limit: int,
        case_id: str | None = None,
    ) -> tuple[list[BinnedCase], bool]:
        """Deleted cases (or the one ``case_id``), most recently deleted first; ``cursor`` is
        (event id, pk) of the row the page starts after (``newer``: before). Returns the rows
        and whether more follow."""
        inner = (
            "SELECT c.pk, c.case_id, c.case_type, c.name, c.owner, c.opened_on, c.closed,"
            " COALESCE((SELECT max(a.id) FROM audit_events a WHERE a.case_pk = c.pk"
            " AND a.action = 'case.delete'), 0) AS ev"
            " FROM cases c WHERE c.agency_id = ? AND c.deleted = 1"
        )
        params: list[Any] = [agency_id]
        if case_id is not None:
            inner += " AND c.case_id = ?"
            params.append(case_id)
        op, order = (">", "ASC") if newer else ("<", "DESC")
        sql = f"SELECT * FROM ({inner}) b"
        if cursor is not None:
            sql += f" WHERE (b.ev {op} ? OR (b.ev = ? AND b.pk {op} ?))"
            params += [cursor[0], cursor[0], cursor[1]]
        rows = self.rows(f"{sql} ORDER BY b.ev {order}, b.pk {order} LIMIT {limit + 1}", params)
        rows, more = _newest_first(rows, newer, limit)
        events = {
            int(r[0]): (r[1], r[2])
            for r in self.rows(
                "SELECT id, at, actor FROM audit_events WHERE id IN"
                f" ({', '.join('?' * len(rows)) or 'NULL'})",
                [r[7] for r in rows],
            )
        }
        return [
            BinnedCase(
                int(r[0]),
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                bool(r[6]),
                int(r[7]),
                *events.get(int(r[7]), (None, None)),
            )
            for r in rows
        ], more

    # -- the audit log (S-AUD-1) ------------------------------------------------------------------

    def audit_page(
        self,
        agency_id: int,
        query: AuditQuery,
        *,
        cursor: int | None,
        newer: bool,
        limit: int,
    ) -> tuple[list[AuditEvent], bool]:
        """Events newest first: older than event ``cursor``, or (``newer``) newer than it."""
        sql = f"SELECT {_AUDIT_COLS} FROM audit_events WHERE agency_id = ?"
        params: list[Any] = [agency_id]
        if query.actor is not None:
            sql += " AND actor = ?"
            params.append(query.actor)
        if query.kind is not None:
            sql += " AND (action = ? OR substr(action, 1, ?) = ?)"
            params += [query.kind, len(query.kind) + 1, f"{query.kind}."]
        if query.subject is not None:
            sql += " AND subject = ?"
            params.append(query.subject)
        if query.since is not None:
            sql += " AND at >= ?"
            params.append(query.since)
        if query.until is not None:
            sql += " AND at < ?"
            params.append(query.until)
        op, order = (">", "ASC") if newer else ("<", "DESC")
        if cursor is not None:
            sql += f" AND id {op} ?"
            params.append(cursor)
        rows = self.rows(f"{sql} ORDER BY id {order} LIMIT {limit + 1}", params)
        rows, more = _newest_first(rows, newer, limit)
        return [
            AuditEvent(r[0], r[1], r[2], r[3], r[4], r[5], r[6], loads(r[7]), loads(r[8]), r[9])
            for r in rows
        ], more

    def audit_actions(self, agency_id: int) -> list[str]:
        """The actions the agency's log holds, for the log's "what happened" filter."""
        return [
            r[0]
            for r in self.rows(
                "SELECT DISTINCT action FROM audit_events WHERE agency_id = ? ORDER BY action",
                (agency_id,),
            )
        ]

    # -- device forms (S-TX-8) --------------------------------------------------------------------

    def form_page(
        self,
        agency_id: int,
        *,
        status: str | None,
        user_id: int | None,
        cursor: int | None,
        newer: bool,
        limit: int,
    ) -> tuple[list[FormSummary], bool]:
        """Stored submissions, last received first, with the size of their XML."""
        sql = (
            "SELECT id, instance_id, user_id, received_on, status, problem, length(xml)"
            " FROM submissions WHERE agency_id = ?"
        )
        params: list[Any] = [agency_id]
        if status is not None:
            sql += " AND status = ?"
            params.append(status)
        if user_id is not None:
            sql += " AND user_id = ?"
            params.append(user_id)
        op, order = (">", "ASC") if newer else ("<", "DESC")
        if cursor is not None:
            sql += f" AND id {op} ?"
            params.append(cursor)
        rows = self.rows(f"{sql} ORDER BY id {order} LIMIT {limit + 1}", params)
        rows, more = _newest_first(rows, newer, limit)
        return [
            FormSummary(int(r[0]), r[1], r[2], r[3], r[4], r[5] or "", int(r[6] or 0)) for r in rows
        ], more

    def case_counts_of_forms(self, submission_ids: list[int]) -> dict[int, int]:
        """How many cases each of these submissions touched."""
        if not submission_ids:
            return {}
        marks = ", ".join("?" * len(submission_ids))
        return {
            int(r[0]): int(r[1])
            for r in self.rows(
                "SELECT submission_id, count(DISTINCT case_id) FROM case_transactions"
                f" WHERE submission_id IN ({marks}) GROUP BY submission_id",
                submission_ids,
            )
        }
