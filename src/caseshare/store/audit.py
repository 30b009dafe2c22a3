"""The append-only audit trail (S-AUD-1): written in the same transaction as the change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from caseshare.store.base import Connection, dumps, loads, utcnow


@dataclass(frozen=True)
class AuditEvent:
    id: int
    agency_id: int | None
    actor: str
    at: str
    action: str
    subject: str
    case_pk: int | None
    before: Any
    after: Any
    reason: str


class AuditStore(Connection):
    """Appends audit events; nothing here updates or deletes one."""

    def record(
        self,
        agency_id: int | None,
        actor: str,
        action: str,
        subject: str,
        *,
        case_pk: int | None = None,
        before: Any = None,
        after: Any = None,
        reason: str = "",
    ) -> int:
        j = self.dialect.json_param()
        return self.insert(
            "INSERT INTO audit_events (agency_id, actor, at, action, subject, case_pk, before,"
            f" after, reason) VALUES (?, ?, ?, ?, ?, ?, {j}, {j}, ?)",
            (
                agency_id,
                actor,
                utcnow(),
                action,
                subject,
                case_pk,
                None if before is None else dumps(before),
                None if after is None else dumps(after),
                reason,
            ),
        )

    def record_many(
        self,
        agency_id: int,
        actor: str,
        events: Sequence[tuple[str, str, int | None, Any, Any]],
        reason: str = "",
    ) -> None:
        """Many events of one actor at once: (action, subject, case_pk, before, after) each."""
        now = utcnow()
        self.insert_many(
            "audit_events",
            (
                "agency_id",
                "actor",
                "at",
                "action",
                "subject",
                "case_pk",
                "before",
                "after",
                "reason",
            ),
            ("bigint", "text", "text", "text", "text", "bigint", "jsonb", "jsonb", "text"),
            [
                (
                    agency_id,
                    actor,
                    now,
                    action,
                    subject,
                    case_pk,
                    None if before is None else dumps(before),
                    None if after is None else dumps(after),
                    reason,
                )
                for action, subject, case_pk, before, after in events
            ],
            later=True,
        )

    def audit_events(
        self, agency_id: int, *, case_pk: int | None = None, limit: int = 200
    ) -> list[AuditEvent]:
        sql = (
            "SELECT id, agency_id, actor, at, action, subject, case_pk, before, after, reason"
            " FROM audit_events WHERE agency_id = ?"
        )
        params: list[Any] = [agency_id]
        if case_pk is not None:
            sql += " AND case_pk = ?"
            params.append(case_pk)
        rows = self.rows(sql + f" ORDER BY id LIMIT {int(limit)}", params)
        return [
            AuditEvent(r[0], r[1], r[2], r[3], r[4], r[5], r[6], loads(r[7]), loads(r[8]), r[9])
            for r in rows
        ]

    def case_audit_page(
        self,
        agency_id: int,
        case_pk: int,
        *,
        before_id: int | None = None,
        limit: int = 50,
        actions: Sequence[str] = (),
    ) -> list[AuditEvent]:
        """A case's events, newest first, keyset-paged by id (``before_id`` excluded); with
        ``actions``, only those whose action is one of them (``share.%`` names a family)."""
        sql = (
            "SELECT id, agency_id, actor, at, action, subject, case_pk, before, after, reason"
            " FROM audit_events WHERE agency_id = ? AND case_pk = ?"
        )
        params: list[Any] = [agency_id, case_pk]
        if actions:
            sql += " AND (" + " OR ".join("action LIKE ?" for _ in actions) + ")"
            params.extend(actions)
        if before_id is not None:
            sql += " AND id < ?"
            params.append(before_id)
        rows = self.rows(sql + f" ORDER BY id DESC LIMIT {int(limit)}", params)
        return [
            AuditEvent(r[0], r[1], r[2], r[3], r[4], r[5], r[6], loads(r[7]), loads(r[8]), r[9])
            for r in rows
        ]
