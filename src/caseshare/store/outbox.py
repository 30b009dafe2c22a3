"""The notification outbox (S-NOT-1): messages are written in the change's own transaction and
claimed by delivery workers with a lease, so none is lost and no two workers send one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caseshare.store.base import Connection

_COLS = (
    "id, agency_id, kind, about, message_id, recipient_user_id, recipient_name,"
    " recipient_email, subject, body, link, status, attempts, created_at, next_attempt_at,"
    " claimed_by, lease_until, last_error, sent_at"
)
#: ``pending``: waiting or being retried; ``sent``; ``failed``: refused for good or out of
#: attempts; ``skipped``: the recipient has no email address
STATUSES = ("pending", "sent", "failed", "skipped")


@dataclass(frozen=True)
class OutboxRow:
    id: int
    agency_id: int | None
    kind: str
    about: str
    message_id: str
    recipient_user_id: int | None
    recipient_name: str
    recipient_email: str
    subject: str
    body: str
    link: str
    status: str
    attempts: int
    created_at: str
    next_attempt_at: str
    claimed_by: str | None
    lease_until: str | None
    last_error: str
    sent_at: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _row(r: tuple[Any, ...]) -> OutboxRow:
    return OutboxRow(*r)


class OutboxStore(Connection):
    """Writes and claims outbox rows; the services decide what is sent and when."""

    def enqueue(
        self,
        *,
        agency_id: int | None,
        kind: str,
        about: str,
        message_id: str,
        user_id: int | None,
        name: str,
        email: str,
        subject: str,
        body: str,
        link: str,
        status: str,
        now: str,
        error: str = "",
    ) -> int:
        return self.insert(
            "INSERT INTO outbox (agency_id, kind, about, message_id, recipient_user_id,"
            " recipient_name, recipient_email, subject, body, link, status, created_at,"
            " next_attempt_at, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                agency_id,
                kind,
                about,
                message_id,
                user_id,
                name,
                email,
                subject,
                body,
                link,
                status,
                now,
                now,
                error,
            ),
        )

    def claim(self, worker: str, now: str, lease_until: str, limit: int) -> list[OutboxRow]:
        """Lease up to ``limit`` due messages to ``worker``, each counted as one more attempt.

        Due = pending, its next attempt time reached, and no lease, or one that expired (its
        worker died). On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets workers claim side by side;
        SQLite runs one write transaction at a time, so the UPDATE is atomic as it stands.
        """
        skip = " FOR UPDATE SKIP LOCKED" if self.is_postgres else ""
        rows = self.rows(
            "UPDATE outbox SET claimed_by = ?, lease_until = ?, attempts = attempts + 1"
            " WHERE id IN (SELECT id FROM outbox WHERE status = 'pending'"
            " AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)"
            f" ORDER BY next_attempt_at, id LIMIT {int(limit)}{skip})"
            f" RETURNING {_COLS}",
            (worker, lease_until, now, now),
        )
        return sorted((_row(r) for r in rows), key=lambda m: m.id)

    def renew(self, message_id: int, worker: str, lease_until: str) -> bool:
        """Extend the lease just before sending; False when the message is no longer ours."""
        cur = self.execute(
            "UPDATE outbox SET lease_until = ? WHERE id = ? AND claimed_by = ?"
            " AND status = 'pending'",
            (lease_until, message_id, worker),
        )
        return int(cur.rowcount) == 1

    def mark_sent(self, message_id: int, now: str) -> None:
        self.execute(
            "UPDATE outbox SET status = 'sent', sent_at = ?, claimed_by = NULL,"
            " lease_until = NULL, last_error = '' WHERE id = ?",
            (now, message_id),
        )

    def mark_retry(self, message_id: int, next_attempt_at: str, error: str) -> None:
        self.execute(
            "UPDATE outbox SET next_attempt_at = ?, last_error = ?, claimed_by = NULL,"
            " lease_until = NULL WHERE id = ? AND status = 'pending'",
            (next_attempt_at, error, message_id),
        )

    def mark_failed(self, message_id: int, error: str) -> None:
        self.execute(
            "UPDATE outbox SET status = 'failed', last_error = ?, claimed_by = NULL,"
            " lease_until = NULL WHERE id = ? AND status = 'pending'",
            (error, message_id),
        )

    def requeue(self, message_id: int, now: str) -> bool:
        """A failed message goes back in the queue, due now, with its attempts counted anew."""
        cur = self.execute(
            "UPDATE outbox SET status = 'pending', next_attempt_at = ?, attempts = 0,"
            " claimed_by = NULL, lease_until = NULL WHERE id = ? AND status = 'failed'",
            (now, message_id),
        )
        return int(cur.rowcount) == 1

    def outbox_row(self, message_id: int) -> OutboxRow | None:
        found = self.row(f"SELECT {_COLS} FROM outbox WHERE id = ?", (message_id,))
        return None if found is None else _row(found)

    def outbox_page(
        self,
        agency_id: int | None,
        *,
        status: str | None = None,
        kind: str | None = None,
        before_id: int | None = None,
        limit: int = 50,
    ) -> list[OutboxRow]:
        """Newest first; ``agency_id`` None = every agency (the console's view)."""
        where: list[str] = ["1 = 1"]
        params: list[Any] = []
        if agency_id is not None:
            where.append("agency_id = ?")
            params.append(agency_id)
        for column, value in (("status", status), ("kind", kind)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if before_id is not None:
            where.append("id < ?")
            params.append(before_id)
        rows = self.rows(
            f"SELECT {_COLS} FROM outbox WHERE {' AND '.join(where)}"
            f" ORDER BY id DESC LIMIT {int(limit)}",
            params,
        )
        return [_row(r) for r in rows]

    def outbox_counts(self, agency_id: int | None) -> dict[str, int]:
        sql = "SELECT status, count(*) FROM outbox"
        params: list[Any] = []
        if agency_id is not None:
            sql += " WHERE agency_id = ?"
            params.append(agency_id)
        found: dict[str, int] = {
            r[0]: int(r[1]) for r in self.rows(sql + " GROUP BY status", params)
        }
        return {s: int(found.get(s, 0)) for s in STATUSES}
