"""Email notifications (S-NOT-1): written to the outbox in the change's own transaction, one
message per recipient; and the outbox as admins see it."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from caseshare.core.errors import CaseShareError
from caseshare.core.model import User
from caseshare.core.notices import KINDS, Notice
from caseshare.services.base import ServiceBase
from caseshare.store import OutboxRow
from caseshare.store.base import utcnow
from caseshare.store.outbox import STATUSES

#: the right-hand side of every Message-ID: stable per message, unique by its random left side
MESSAGE_ID_DOMAIN = "caseshare"


def person(user: User | None) -> str:
    """How a message names someone: their full name, else their user name."""
    if user is None:
        return "An operator at the caseshare console"
    return user.full_name or user.username


class NotificationService(ServiceBase):
    """Addresses notices to people and writes them to the outbox."""

    def notify(self, agency_id: int, notice: Notice, recipients: Iterable[User]) -> list[int]:
        """One outbox row per recipient (each user once), in the caller's transaction: a change
        that rolls back sends nothing. A recipient without an email address gets a ``skipped``
        row that says so, where admins see it."""
        if not self.store.in_transaction:
            raise RuntimeError("notify() runs inside the change's own transaction")
        now = utcnow()
        ids = []
        seen: set[int] = set()
        for user in recipients:
            if user.id in seen:
                continue
            seen.add(user.id)
            name = person(user)
            email = user.email.strip()
            ids.append(
                self.store.enqueue(
                    agency_id=agency_id,
                    kind=notice.kind,
                    about=notice.about,
                    message_id=f"<{uuid.uuid4().hex}@{MESSAGE_ID_DOMAIN}>",
                    user_id=user.id,
                    name=name,
                    email=email,
                    subject=notice.subject,
                    body=notice.text_for(name),
                    link=notice.link,
                    status="pending" if email else "skipped",
                    now=now,
                    error=""
                    if email
                    else f"{name} has no email address, so nothing was sent; an admin can add"
                    " one to their account for the next notice.",
                )
            )
        return ids

    def admins_of(self, agency_id: int) -> list[User]:
        """The active admins of an agency: who is told of agreements and agency shares."""
        users = self.context(agency_id).directory.users.values()
        return sorted(
            (u for u in users if u.active and "admin" in u.permissions), key=lambda u: u.id
        )

    def notify_admins(self, agency_id: int, notice: Notice) -> list[int]:
        """The hook for agreement and agency-share notices (``agency_share_waiting``,
        ``agency_share_answered`` …): every active admin of the agency gets the message."""
        return self.notify(agency_id, notice, self.admins_of(agency_id))

    def notify_user(self, agency_id: int, notice: Notice, user_id: int, actor: int | None) -> None:
        """A notice to one user of the agency about a change a person made, unless they made it
        themselves; the system's changes (imports, scenario worlds, the demo) tell nobody."""
        if actor is None or user_id == actor:
            return
        user = self.context(agency_id).directory.users.get(user_id)
        if user is not None and user.active:
            self.notify(agency_id, notice, [user])

    # -- the outbox, for admins -----------------------------------------------------------------

    def outbox(
        self,
        agency_id: int,
        actor: int | None,
        *,
        status: str | None = None,
        kind: str | None = None,
        before_id: int | None = None,
        limit: int = 50,
    ) -> tuple[list[OutboxRow], int | None, dict[str, int]]:
        """One page of the agency's messages, newest first; the id to go on before; counts."""
        self.require_admin(actor, agency_id)
        if status is not None and status not in STATUSES:
            raise CaseShareError(
                "validation_error", f"status is one of {', '.join(STATUSES)}, not {status!r}."
            )
        if kind is not None and kind not in KINDS:
            raise CaseShareError(
                "validation_error", f"kind is one of {', '.join(KINDS)}, not {kind!r}."
            )
        limit = max(1, min(int(limit), 500))
        rows = self.store.outbox_page(
            agency_id, status=status, kind=kind, before_id=before_id, limit=limit + 1
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, (rows[-1].id if more and rows else None), self.store.outbox_counts(agency_id)

    def outbox_message(self, agency_id: int, actor: int | None, message_id: int) -> OutboxRow:
        self.require_admin(actor, agency_id)
        row = self.store.outbox_row(message_id)
        if row is None or row.agency_id != agency_id:
            raise CaseShareError("not_found", f"Message {message_id} was not found.")
        return row

    def retry_message(self, agency_id: int, actor: int | None, message_id: int) -> OutboxRow:
        """Put a failed message back in the queue (after the mail server or address was fixed)."""
        with self.store.transaction():
            row = self.outbox_message(agency_id, actor, message_id)
            if not self.store.requeue(message_id, utcnow()):
                raise CaseShareError(
                    "invalid_transition",
                    f"Message {message_id} is {row.status}; only a failed message can be sent"
                    " again.",
                    {"status": row.status},
                )
            self.store.record(
                agency_id,
                "system" if actor is None else f"user:{actor}",
                "outbox.retry",
                f"outbox:{message_id}",
                before={"status": row.status, "last_error": row.last_error},
                after={"status": "pending"},
            )
            found = self.store.outbox_row(message_id)
            assert found is not None
            return found


def message_json(row: OutboxRow) -> dict[str, Any]:
    """An outbox row as the API and the console show it."""
    return row.to_dict()
