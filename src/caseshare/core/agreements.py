"""Inter-agency agreements (SPEC §10, S-AG-1): whether data or a search may pass between two
agencies on a given day, and the sentence that says which condition fails."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from caseshare.core.errors import CaseShareError


class Status(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"  # the proposer took it back before an answer
    ENDED = "ended"  # an approved agreement that one side ended
    SUPERSEDED = "superseded"  # replaced by a newer approved agreement between the same two


#: the flags each side of an agreement holds for itself
FLAGS = ("enabled", "inbound_search", "outbound_search", "inbound_sharing", "outbound_sharing")


@dataclass(frozen=True, slots=True)
class Side:
    """One agency's own switches in an agreement: only that agency's admins change them."""

    agency_id: int
    name: str = ""
    enabled: bool = True
    inbound_search: bool = False
    outbound_search: bool = False
    inbound_sharing: bool = False
    outbound_sharing: bool = False

    @property
    def label(self) -> str:
        return self.name or f"agency:{self.agency_id}"

    def flags(self) -> dict[str, bool]:
        return {f: bool(getattr(self, f)) for f in FLAGS}

    def with_flags(self, changes: dict[str, Any]) -> Side:
        unknown = set(changes) - set(FLAGS)
        if unknown:
            raise CaseShareError(
                "validation_error",
                f"Unknown agreement flag(s) {', '.join(sorted(unknown))}; the flags are"
                f" {', '.join(FLAGS)}.",
            )
        flags = self.flags()
        flags.update({k: bool(v) for k, v in changes.items()})
        return Side(self.agency_id, self.name, **flags)

    def mirrored(self, agency_id: int, name: str = "") -> Side:
        """The other side's flags that match these: what one sends out, the other takes in."""
        return Side(
            agency_id,
            name,
            enabled=True,
            inbound_search=self.outbound_search,
            outbound_search=self.inbound_search,
            inbound_sharing=self.outbound_sharing,
            outbound_sharing=self.inbound_sharing,
        )


@dataclass(frozen=True, slots=True)
class Agreement:
    """Between a proposing agency and its partner; dates are UTC calendar days, both inclusive."""

    id: int
    proposer: Side
    partner: Side
    status: Status
    start: dt.date | None = None
    end: dt.date | None = None

    def side(self, agency_id: int) -> Side | None:
        if agency_id == self.proposer.agency_id:
            return self.proposer
        if agency_id == self.partner.agency_id:
            return self.partner
        return None

    def other(self, agency_id: int) -> Side | None:
        if agency_id == self.proposer.agency_id:
            return self.partner
        if agency_id == self.partner.agency_id:
            return self.proposer
        return None

    def in_force(self, today: dt.date) -> bool:
        return (self.start is None or self.start <= today) and (
            self.end is None or today <= self.end
        )

    def actions(self, agency_id: int) -> frozenset[str]:
        """What an admin of ``agency_id`` may do with the agreement now, as the service allows:
        ``answer`` (approve or reject) and ``withdraw`` a pending one — the partner answers, the
        proposer withdraws —; ``switch`` its own flags while pending or approved; ``dates`` —
        the proposer's terms while pending, either side (narrowing only) once approved —; and
        ``end`` an approved one. An agency not in it may do nothing."""
        if self.side(agency_id) is None:
            return frozenset()
        proposer = agency_id == self.proposer.agency_id
        if self.status is Status.PENDING:
            return frozenset({"withdraw", "switch", "dates"} if proposer else {"answer", "switch"})
        if self.status is Status.APPROVED:
            return frozenset({"switch", "dates", "end"})
        return frozenset()


@dataclass(frozen=True, slots=True)
class Flow:
    """The answer for one direction: allowed, or the first condition that fails and why.

    ``condition`` is a stable word: ``ok``, ``no_agreement``, ``status``, ``disabled``,
    ``not_started``, ``expired``, ``outbound_off`` or ``inbound_off``.
    """

    allowed: bool
    condition: str
    reason: str

    def require(self) -> None:
        """``agreement_required`` with the reason when the flow is not allowed."""
        if not self.allowed:
            raise CaseShareError("agreement_required", self.reason, {"condition": self.condition})

    @property
    def inactive(self) -> bool:
        """An approved agreement that is switched off or outside its dates (S-AG-5 ``inactive``)."""
        return self.condition in ("disabled", "not_started", "expired")


def _decide(
    agreement: Agreement | None,
    out_id: int,
    in_id: int,
    today: dt.date,
    names: Mapping[int, str] | None,
    *,
    what: str,
    out_flag: str,
    in_flag: str,
) -> Flow:
    sender = agreement.side(out_id) if agreement else None
    receiver = agreement.side(in_id) if agreement else None

    def label(agency_id: int, side: Side | None) -> str:
        return (names or {}).get(agency_id) or (side.label if side else f"agency:{agency_id}")

    s, r = label(out_id, sender), label(in_id, receiver)
    what = what.format(sender=s, receiver=r)
    if agreement is None or sender is None or receiver is None or out_id == in_id:
        return Flow(
            False,
            "no_agreement",
            f"There is no agreement between {s} and {r}: an admin of one proposes it and an"
            f" admin of the other approves it before {what}.",
        )
    pair = f"{s} and {r}"
    if agreement.status is not Status.APPROVED:
        return Flow(
            False,
            "status",
            f"The agreement between {pair} is {agreement.status.value}, not approved;"
            f" {what} needs an approved agreement.",
        )
    for side, name, partner in ((sender, s, r), (receiver, r, s)):
        if not side.enabled:
            return Flow(
                False,
                "disabled",
                f"{name} has disabled its agreement with {partner}: no {what} until it enables"
                " it again.",
            )
    if agreement.start is not None and today < agreement.start:
        return Flow(
            False,
            "not_started",
            f"The agreement between {pair} starts on {agreement.start.isoformat()}:"
            f" no {what} before then.",
        )
    if agreement.end is not None and today > agreement.end:
        return Flow(
            False,
            "expired",
            f"The agreement between {pair} ended on {agreement.end.isoformat()}:"
            f" no {what} after it.",
        )
    if not getattr(sender, out_flag):
        return Flow(
            False,
            "outbound_off",
            f"{s} has {out_flag.replace('_', ' ')} off in its agreement with {r}: no {what}.",
        )
    if not getattr(receiver, in_flag):
        return Flow(
            False,
            "inbound_off",
            f"{r} has {in_flag.replace('_', ' ')} off in its agreement with {s}: no {what}.",
        )
    return Flow(True, "ok", f"The agreement between {pair} allows {what} today.")


def data_flows(
    agreement: Agreement | None,
    sender: int,
    receiver: int,
    today: dt.date,
    names: Mapping[int, str] | None = None,
) -> Flow:
    """S-AG-1: case data flows from ``sender`` to ``receiver`` only under an approved agreement
    that both sides have enabled, inside its dates, with outbound sharing on at the sender and
    inbound sharing on at the receiver. ``names`` words the sentence (agency id → name)."""
    return _decide(
        agreement,
        sender,
        receiver,
        today,
        names,
        what="case data sent from {sender} to {receiver}",
        out_flag="outbound_sharing",
        in_flag="inbound_sharing",
    )


def search_allowed(
    agreement: Agreement | None,
    searcher: int,
    searched: int,
    today: dt.date,
    names: Mapping[int, str] | None = None,
) -> Flow:
    """S-AG-1 / S-XC-2: users of ``searcher`` may search ``searched`` under the same conditions,
    with outbound search on at the searcher (the query goes out) and inbound search on at the
    searched agency (the query comes in)."""
    return _decide(
        agreement,
        searcher,
        searched,
        today,
        names,
        what="a search of {receiver} by {sender}",
        out_flag="outbound_search",
        in_flag="inbound_search",
    )


def parse_day(value: Any, label: str) -> dt.date | None:
    """A calendar day ``YYYY-MM-DD`` (or a date), None for none; else ``validation_error``."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise CaseShareError(
            "validation_error", f"{label} {value!r} is not a day written YYYY-MM-DD."
        ) from None


def check_dates(start: dt.date | None, end: dt.date | None) -> None:
    if start is not None and end is not None and end < start:
        raise CaseShareError(
            "validation_error",
            f"The end date {end.isoformat()} is before the start date {start.isoformat()}.",
        )


def narrows(
    old: tuple[dt.date | None, dt.date | None], new: tuple[dt.date | None, dt.date | None]
) -> bool:
    """Whether the window ``new`` lies inside ``old`` (a later start, an earlier end, or both)."""
    (old_start, old_end), (new_start, new_end) = old, new
    start_ok = old_start is None or (new_start is not None and new_start >= old_start)
    end_ok = old_end is None or (new_end is not None and new_end <= old_end)
    return start_ok and end_ok
