"""Agreements between agencies (S-AG-1): proposed by one agency's admins, answered by the
other's; each side switches its own flags; every transition checks the status it leaves in
one atomic statement; every change is audited in both agencies and told to the other side."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from caseshare.core import notices
from caseshare.core.agencyshares import CONTROL_IN_REASON
from caseshare.core.agreements import (
    Agreement,
    Flow,
    Side,
    Status,
    check_dates,
    data_flows,
    narrows,
    parse_day,
    search_allowed,
)
from caseshare.core.errors import CaseShareError
from caseshare.core.restore import has_invalid_xml_chars
from caseshare.services.base import actor_name
from caseshare.services.notifications import NotificationService, person
from caseshare.store import AgreementRow

#: "leave the date as it is" (None clears it)
UNCHANGED: Any = object()
MAX_REASON = 2000


def today() -> dt.date:
    """Agreement dates are UTC calendar days."""
    return dt.datetime.now(dt.UTC).date()


def flow_json(flow: Flow) -> dict[str, Any]:
    return {"allowed": flow.allowed, "condition": flow.condition, "reason": flow.reason}


def agreement_json(row: AgreementRow, viewer: int, on: dt.date | None = None) -> dict[str, Any]:
    """An agreement as one of its agencies sees it, with what it allows on ``on`` (today)."""
    a = row.agreement
    day = on or today()
    mine, theirs = a.side(viewer), a.other(viewer)
    assert mine is not None and theirs is not None

    def side(s: Side, slug: str) -> dict[str, Any]:
        return {"agency": {"id": s.agency_id, "slug": slug, "name": s.name}, **s.flags()}

    me, them = mine.agency_id, theirs.agency_id
    return {
        "id": a.id,
        "status": a.status.value,
        "role": "proposer" if me == a.proposer.agency_id else "partner",
        "proposer": side(a.proposer, row.proposer_slug),
        "partner": side(a.partner, row.partner_slug),
        "start_date": None if a.start is None else a.start.isoformat(),
        "end_date": None if a.end is None else a.end.isoformat(),
        "proposed_by": row.proposed_by,
        "proposed_at": row.proposed_at,
        "answered_by": row.answered_by,
        "answered_at": row.answered_at,
        "reason": row.reason,
        "closed_by": row.closed_by,
        "closed_at": row.closed_at,
        "superseded_by": row.superseded_by,
        "modified_by": row.modified_by,
        "modified_at": row.modified_at,
        "today": {
            "date": day.isoformat(),
            "send_data": flow_json(data_flows(a, me, them, day)),
            "receive_data": flow_json(data_flows(a, them, me, day)),
            "search_them": flow_json(search_allowed(a, me, them, day)),
            "searched_by_them": flow_json(search_allowed(a, them, me, day)),
        },
    }


def _flags(flags: Mapping[str, Any] | None) -> dict[str, Any]:
    return dict(flags or {})


def _reason(reason: str | None, *, required: bool, what: str) -> str:
    text = (reason or "").strip()
    if required and not text:
        raise CaseShareError("validation_error", f"Give a reason when you {what}.")
    if len(text) > MAX_REASON:
        raise CaseShareError(
            "validation_error", f"A reason is at most {MAX_REASON} characters long."
        )
    if has_invalid_xml_chars(text):  # PostgreSQL refused NUL, SQLite stored it for the emails
        raise CaseShareError("validation_error", CONTROL_IN_REASON)
    return text


class AgreementService(NotificationService):
    """Only admins of one of the two agencies see or touch an agreement; to everyone else an
    agreement of other agencies does not exist (``not_found``)."""

    # -- reading ----------------------------------------------------------------------------------

    def _agency_name(self, agency_id: int) -> str:
        return self.store.agency(agency_id)[2]

    def _visible_agreement(
        self, agency_id: int, actor: int | None, agreement_id: int, *, lock: bool = False
    ) -> AgreementRow:
        self.require_admin(actor, agency_id)
        row = self.store.agreement_row(agreement_id, lock=lock)
        if row is None or row.agreement.side(agency_id) is None:
            raise CaseShareError("not_found", f"Agreement {agreement_id} was not found.")
        return row

    def agreement(self, agency_id: int, actor: int | None, agreement_id: int) -> AgreementRow:
        return self._visible_agreement(agency_id, actor, agreement_id)

    def agreements(
        self,
        agency_id: int,
        actor: int | None,
        *,
        status: str | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> tuple[list[AgreementRow], int | None]:
        self.require_admin(actor, agency_id)
        if status is not None and status not in {s.value for s in Status}:
            raise CaseShareError(
                "validation_error",
                f"status is one of {', '.join(s.value for s in Status)}, not {status!r}.",
            )
        limit = max(1, min(int(limit), 500))
        rows = self.store.agreements_of(agency_id, status=status, after=after, limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, (rows[-1].id if more and rows else None)

    def partner_agencies(self, agency_id: int, actor: int | None) -> list[dict[str, Any]]:
        """The other agencies an admin may propose an agreement to (slug and name only)."""
        self.require_admin(actor, agency_id)
        return [
            {"id": a, "slug": slug, "name": name}
            for a, slug, name in self.store.agencies()
            if a != agency_id
        ]

    def agreement_between(self, a: int, b: int) -> Agreement | None:
        """The agreement that governs two agencies: the approved one, else a pending one."""
        for status in (Status.APPROVED, Status.PENDING):
            row = self.store.live_agreement(a, b, status)
            if row is not None:
                return row.agreement
        return None

    def data_flow(self, sender: int, receiver: int, on: dt.date | None = None) -> Flow:
        """S-AG-1 for two agencies today (``Flow.require()`` raises ``agreement_required``)."""
        names = {sender: self._agency_name(sender), receiver: self._agency_name(receiver)}
        return data_flows(
            self.agreement_between(sender, receiver), sender, receiver, on or today(), names
        )

    def search_flow(self, searcher: int, searched: int, on: dt.date | None = None) -> Flow:
        names = {searcher: self._agency_name(searcher), searched: self._agency_name(searched)}
        return search_allowed(
            self.agreement_between(searcher, searched), searcher, searched, on or today(), names
        )

    # -- proposing and answering ----------------------------------------------------------------

    def propose_agreement(
        self,
        agency_id: int,
        actor: int | None,
        partner_slug: str,
        flags: Mapping[str, Any] | None = None,
        *,
        start: Any = None,
        end: Any = None,
    ) -> AgreementRow:
        """Propose an agreement to the agency ``partner_slug``. ``flags`` are the proposer's own
        switches; the partner's start as their mirror (it may change them when it approves)."""
        start_day, end_day = parse_day(start, "start_date"), parse_day(end, "end_date")
        check_dates(start_day, end_day)
        with self.store.transaction():
            self.require_admin(actor, agency_id)
            partner_id = self.store.agency_by_slug(partner_slug)
            if partner_id is None:
                raise CaseShareError("not_found", f"Agency {partner_slug!r} was not found.")
            if partner_id == agency_id:
                raise CaseShareError(
                    "validation_error", "An agreement is between two agencies; name the other one."
                )
            mine = Side(agency_id, self._agency_name(agency_id)).with_flags(_flags(flags))
            theirs = mine.mirrored(partner_id, self._agency_name(partner_id))
            self._no_pending_agreement(agency_id, partner_id)
            new_id = self.store.insert_agreement(
                mine, theirs, start_day, end_day, actor_name(actor)
            )
            if new_id is None:  # another proposal between the two was committed meanwhile
                self._no_pending_agreement(agency_id, partner_id)
                raise CaseShareError(
                    "invalid_transition",
                    "Another proposal between the same agencies was made at the same moment;"
                    " nothing was changed. Look at the agreements and try again.",
                )
            row = self.store.agreement_row(new_id)
            assert row is not None
            self._audit_agreement(row, actor, "agreement.propose", None, row)
            by = person(self.acting_user(actor, agency_id))
            self.notify_admins(
                partner_id,
                notices.agreement_proposed(new_id, mine, theirs, by, start_day, end_day),
            )
        return row

    def _no_pending_agreement(self, a: int, b: int) -> None:
        pending = self.store.live_agreement(a, b, Status.PENDING)
        if pending is not None:
            raise CaseShareError(
                "invalid_transition",
                f"Agreement {pending.id} between {pending.agreement.proposer.label} and"
                f" {pending.agreement.partner.label} is pending already: answer or withdraw it"
                " first.",
                {"agreement": pending.id},
            )

    def answer_agreement(
        self,
        agency_id: int,
        actor: int | None,
        agreement_id: int,
        *,
        approve: bool,
        reason: str | None = None,
        flags: Mapping[str, Any] | None = None,
    ) -> AgreementRow:
        """The partner's admins approve (optionally setting their own switches) or reject (with a
        reason). Approving replaces an older approved agreement between the same two."""
        what = "approve" if approve else "reject"
        text = _reason(reason, required=not approve, what="reject an agreement")
        with self.store.transaction():
            row = self._visible_agreement(agency_id, actor, agreement_id)
            a = row.agreement
            if agency_id != a.partner.agency_id:
                raise CaseShareError(
                    "insufficient_access",
                    f"Only an admin of {a.partner.label} may {what} the agreement"
                    f" {a.proposer.label} proposed; you may withdraw it while it is pending.",
                )
            partner = a.partner.with_flags(_flags(flags)) if flags else a.partner
            if partner != a.partner and not self.store.update_agreement(
                a.id, (Status.PENDING,), a.proposer, partner, a.start, a.end, actor_name(actor)
            ):
                self._lost_race(a.id, what)
            if approve:
                old = self.store.live_agreement(
                    a.proposer.agency_id, a.partner.agency_id, Status.APPROVED
                )
                if old is not None:
                    self.store.transition(
                        old.id,
                        (Status.APPROVED,),
                        Status.SUPERSEDED,
                        actor_name(actor),
                        closed=True,
                        superseded_by=a.id,
                    )
                    self._audit_agreement(
                        old, actor, "agreement.supersede", old, self._reread_agreement(old.id)
                    )
            new = Status.APPROVED if approve else Status.REJECTED
            if not self.store.transition(
                a.id, (Status.PENDING,), new, actor_name(actor), answered=True, reason=text
            ):
                self._lost_race(a.id, what)
            after = self._reread_agreement(a.id)
            self._audit_agreement(row, actor, f"agreement.{what}", row, after, reason=text)
            by = person(self.acting_user(actor, agency_id))
            self.notify_admins(
                a.proposer.agency_id,
                notices.agreement_answered(
                    a.id, after.agreement.proposer, after.agreement.partner, by, approve, text
                ),
            )
        return after

    def withdraw_agreement(
        self, agency_id: int, actor: int | None, agreement_id: int, reason: str | None = None
    ) -> AgreementRow:
        """The proposer takes back a proposal that is still pending."""
        return self._close_agreement(
            agency_id, actor, agreement_id, Status.PENDING, Status.WITHDRAWN, reason
        )

    def end_agreement(
        self, agency_id: int, actor: int | None, agreement_id: int, reason: str | None = None
    ) -> AgreementRow:
        """Either side ends an approved agreement: nothing passes under it any more."""
        return self._close_agreement(
            agency_id, actor, agreement_id, Status.APPROVED, Status.ENDED, reason
        )

    def _close_agreement(
        self,
        agency_id: int,
        actor: int | None,
        agreement_id: int,
        expected: Status,
        new: Status,
        reason: str | None,
    ) -> AgreementRow:
        verb = "withdraw" if new is Status.WITHDRAWN else "end"
        text = _reason(reason, required=False, what=verb)
        with self.store.transaction():
            row = self._visible_agreement(agency_id, actor, agreement_id)
            a = row.agreement
            if new is Status.WITHDRAWN and agency_id != a.proposer.agency_id:
                raise CaseShareError(
                    "insufficient_access",
                    f"Only an admin of {a.proposer.label}, which proposed it, may withdraw this"
                    " agreement; reject it instead, with a reason.",
                )
            if not self.store.transition(
                a.id, (expected,), new, actor_name(actor), closed=True, reason=text
            ):
                self._lost_race(a.id, verb)
            after = self._reread_agreement(a.id)
            self._audit_agreement(row, actor, f"agreement.{verb}", row, after, reason=text)
            mine, other = a.side(agency_id), a.other(agency_id)
            assert mine is not None and other is not None
            by = person(self.acting_user(actor, agency_id))
            self.notify_admins(
                other.agency_id,
                notices.agreement_withdrawn(a.id, mine, other, by, expected.value, text),
            )
        return after

    def _lost_race(self, agreement_id: int, verb: str) -> None:
        """Another transition got there first: say what the agreement is now."""
        now = self._reread_agreement(agreement_id).status.value
        raise CaseShareError(
            "invalid_transition",
            f"Agreement {agreement_id} is {now} now, so you cannot {verb} it: someone else"
            " changed it a moment ago.",
            {"status": now},
        )

    def _reread_agreement(self, agreement_id: int) -> AgreementRow:
        row = self.store.agreement_row(agreement_id)
        assert row is not None
        return row

    # -- switches and dates -------------------------------------------------------------------------

    def update_agreement(
        self,
        agency_id: int,
        actor: int | None,
        agreement_id: int,
        flags: Mapping[str, Any] | None = None,
        *,
        start: Any = UNCHANGED,
        end: Any = UNCHANGED,
    ) -> AgreementRow:
        """Each side sets its own switches, at any time while pending or approved. The dates are
        the proposer's terms while pending; once approved either side may narrow them (a later
        start, an earlier end), and a wider window needs a new proposal."""
        with self.store.transaction():
            row = self._visible_agreement(agency_id, actor, agreement_id, lock=True)
            a = row.agreement
            if a.status not in (Status.PENDING, Status.APPROVED):
                raise CaseShareError(
                    "invalid_transition",
                    f"Agreement {a.id} is {a.status.value}: it can no longer change. Propose a"
                    " new one.",
                    {"status": a.status.value},
                )
            mine, other = a.side(agency_id), a.other(agency_id)
            assert mine is not None and other is not None
            changed_side = mine.with_flags(_flags(flags))
            new_start = a.start if start is UNCHANGED else parse_day(start, "start_date")
            new_end = a.end if end is UNCHANGED else parse_day(end, "end_date")
            check_dates(new_start, new_end)
            if (new_start, new_end) != (a.start, a.end):
                self._may_change_dates(a, agency_id, (new_start, new_end))
            proposer, partner = (
                (changed_side, a.partner)
                if agency_id == a.proposer.agency_id
                else (a.proposer, changed_side)
            )
            changes = _changes(mine, changed_side, (a.start, a.end), (new_start, new_end))
            if not changes:
                return row
            if not self.store.update_agreement(
                a.id, (a.status,), proposer, partner, new_start, new_end, actor_name(actor)
            ):
                self._lost_race(a.id, "change")
            after = self._reread_agreement(a.id)
            self._audit_agreement(row, actor, "agreement.update", row, after)
            by = person(self.acting_user(actor, agency_id))
            self.notify_admins(
                other.agency_id,
                notices.agreement_changed(a.id, changed_side, other, by, changes),
            )
        return after

    @staticmethod
    def _may_change_dates(
        a: Agreement, agency_id: int, new: tuple[dt.date | None, dt.date | None]
    ) -> None:
        if a.status is Status.PENDING and agency_id != a.proposer.agency_id:
            raise CaseShareError(
                "insufficient_access",
                f"The dates of a pending agreement are {a.proposer.label}'s terms; approve or"
                " reject it, or propose other dates once it is answered.",
            )
        if a.status is Status.APPROVED and not narrows((a.start, a.end), new):
            raise CaseShareError(
                "validation_error",
                "Once approved, an agreement's dates may only narrow (a later start, an earlier"
                " end): both agencies agreed to them. To extend it, propose a new agreement;"
                " approving that one replaces this one.",
            )

    # -- audit ---------------------------------------------------------------------------------------

    def _audit_agreement(
        self,
        row: AgreementRow,
        actor: int | None,
        action: str,
        before: AgreementRow | None,
        after: AgreementRow | None,
        *,
        reason: str = "",
    ) -> None:
        """One event in each agency's trail: both see every change of their agreement."""
        a = row.agreement
        for agency_id in (a.proposer.agency_id, a.partner.agency_id):
            # what flows between them changed (S-AG-4 listings): a new version, a cheap patch
            self.store.bump(agency_id, "settings")
            self.store.record(
                agency_id,
                actor_name(actor),
                action,
                f"agreement:{a.id}",
                before=None if before is None else _state(before),
                after=None if after is None else _state(after),
                reason=reason,
            )


def _state(row: AgreementRow) -> dict[str, Any]:
    a = row.agreement
    return {
        "status": a.status.value,
        "proposer": {"agency": a.proposer.agency_id, **a.proposer.flags()},
        "partner": {"agency": a.partner.agency_id, **a.partner.flags()},
        "start_date": None if a.start is None else a.start.isoformat(),
        "end_date": None if a.end is None else a.end.isoformat(),
    }


def _changes(
    before: Side,
    after: Side,
    old: tuple[dt.date | None, dt.date | None],
    new: tuple[dt.date | None, dt.date | None],
) -> list[str]:
    """The changes in words, for the other side's notice."""
    out = []
    for flag, was in before.flags().items():
        now = after.flags()[flag]
        if now != was:
            out.append(f"{after.label}'s {flag.replace('_', ' ')}: {'on' if now else 'off'}")
    for label, was_day, now_day in (("start date", old[0], new[0]), ("end date", old[1], new[1])):
        if was_day != now_day:
            out.append(f"{label}: {now_day.isoformat() if now_day else 'none'}")
    return out
