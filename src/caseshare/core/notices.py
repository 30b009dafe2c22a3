"""What each email notification says (SPEC S-NOT-1): plain text naming people by name, with the
path of the page it is about. Pure: the services fill in names and write one outbox row per
recipient."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import quote

from caseshare.core.agreements import Side

#: every kind of notice, for the outbox's filters and the docs
KINDS = (
    "agreement_proposed",
    "agreement_answered",
    "agreement_withdrawn",
    "agreement_changed",
    "case_assigned",
    "case_shared",
    "agency_share_waiting",
    "agency_share_answered",
    "agency_share_revoked",
)


@dataclass(frozen=True, slots=True)
class Notice:
    """One message before it is addressed: the same text goes to every recipient, each greeted
    by name, as a message of its own with its own Message-ID."""

    kind: str
    about: str  # what it is about, canonical: ``agreement:3``, ``case:k1``, ``agency_share:5``
    subject: str
    body: str
    link: str  # the page's path; the delivery prefixes the server's base URL when it knows it

    def text_for(self, name: str) -> str:
        """The body as stored for one recipient: a greeting by name, then the notice."""
        return f"Hello {name or 'there'},\n\n{self.body}"


def compose(body: str, link: str, base_url: str = "") -> str:
    """The plain text as sent: the stored body, the page's address (the server's base URL, when
    the delivery knows it, before the path) and a signature."""
    where = f"{base_url.rstrip('/')}{link}" if link else ""
    tail = f"\n\nOpen it: {where}" if where else ""
    return f"{body}{tail}\n\n-- \ncaseshare\n"


def case_path(case_id: str) -> str:
    return f"/cases/{quote(case_id, safe='')}"


def agreement_path(agreement_id: int) -> str:
    return f"/agreements/{agreement_id}"


def agency_share_path(share_id: int) -> str:
    return f"/agency-shares/{share_id}"


def _dates(start: dt.date | None, end: dt.date | None) -> str:
    if start is None and end is None:
        return "It has no start or end date."
    if end is None:
        return f"It starts on {start.isoformat() if start else ''} and has no end date."
    if start is None:
        return f"It starts at once and ends on {end.isoformat()}."
    return f"It runs from {start.isoformat()} to {end.isoformat()}, both days included."


def _terms(side: Side, other: str) -> str:
    def yes(flag: bool) -> str:
        return "yes" if flag else "no"

    return (
        f"{side.label}: sends case data to {other}: {yes(side.outbound_sharing)}; receives case"
        f" data from {other}: {yes(side.inbound_sharing)}; searches {other}:"
        f" {yes(side.outbound_search)}; may be searched by {other}: {yes(side.inbound_search)};"
        f" enabled: {yes(side.enabled)}."
    )


def agreement_proposed(
    agreement_id: int,
    proposer: Side,
    partner: Side,
    by: str,
    start: dt.date | None,
    end: dt.date | None,
) -> Notice:
    return Notice(
        "agreement_proposed",
        f"agreement:{agreement_id}",
        f"{proposer.label} proposes a data-sharing agreement with {partner.label}",
        f"{by} of {proposer.label} proposes an agreement between {proposer.label} and"
        f" {partner.label}. Nothing is shared until an admin of {partner.label} approves it.\n\n"
        f"{_terms(proposer, partner.label)}\n"
        f"{_terms(partner, proposer.label)} ({partner.label} may change its own switches when"
        f" it approves.)\n{_dates(start, end)}\n\n"
        f"As an admin of {partner.label}, approve or reject it (with a reason) on its page.",
        agreement_path(agreement_id),
    )


def agreement_answered(
    agreement_id: int,
    proposer: Side,
    partner: Side,
    by: str,
    approved: bool,
    reason: str = "",
) -> Notice:
    verb = "approved" if approved else "rejected"
    why = f'\n\nThe reason given: "{reason}"' if reason else ""
    after = (
        f"It is in force within its dates; case data flows as both sides' switches allow.\n\n"
        f"{_terms(proposer, partner.label)}\n{_terms(partner, proposer.label)}"
        if approved
        else "Nothing is shared under it. You may propose another."
    )
    return Notice(
        "agreement_answered",
        f"agreement:{agreement_id}",
        f"{partner.label} {verb} your agreement proposal",
        f"{by} of {partner.label} {verb} the agreement {proposer.label} proposed.{why}\n\n{after}",
        agreement_path(agreement_id),
    )


def agreement_withdrawn(
    agreement_id: int, by_side: Side, other: Side, by: str, was: str, reason: str = ""
) -> Notice:
    what = "withdrew its proposal of" if was == "pending" else "ended"
    why = f'\n\nThe reason given: "{reason}"' if reason else ""
    return Notice(
        "agreement_withdrawn",
        f"agreement:{agreement_id}",
        f"{by_side.label} {what} the agreement with {other.label}",
        f"{by} of {by_side.label} {what} the agreement between {by_side.label} and"
        f" {other.label}.{why}\n\nNo case data or search passes under it any more.",
        agreement_path(agreement_id),
    )


def agreement_changed(
    agreement_id: int,
    by_side: Side,
    other: Side,
    by: str,
    changes: list[str],
) -> Notice:
    listed = "\n".join(f"- {c}" for c in changes)
    return Notice(
        "agreement_changed",
        f"agreement:{agreement_id}",
        f"{by_side.label} changed its agreement with {other.label}",
        f"{by} of {by_side.label} changed the agreement between {by_side.label} and"
        f" {other.label}:\n{listed}",
        agreement_path(agreement_id),
    )


def case_assigned(case_id: str, case_name: str, by: str) -> Notice:
    return Notice(
        "case_assigned",
        f"case:{case_id}",
        f"You were assigned to case {case_name}",
        f'{by} assigned you to the case "{case_name}" ({case_id}). People assigned to a case'
        " have the same permissions as its creator: you may view, change, close and share it.",
        case_path(case_id),
    )


def case_shared(case_id: str, case_name: str, by: str, level: str) -> Notice:
    can = "view and change" if level == "edit" else "view"
    return Notice(
        "case_shared",
        f"case:{case_id}",
        f"{by} shared case {case_name} with you",
        f'{by} shared the case "{case_name}" ({case_id}) with you: you may {can} it.',
        case_path(case_id),
    )


def agency_share_waiting(
    share_id: int, from_agency: str, to_agency: str, by: str, case_name: str
) -> Notice:
    """To the receiving agency's admins: a case was sent and waits for one of them (S-AG-3)."""
    return Notice(
        "agency_share_waiting",
        f"agency_share:{share_id}",
        f"{from_agency} sent a case to {to_agency}: action needed",
        f'{by} of {from_agency} sent the case "{case_name}" to {to_agency}. It stays pending'
        f" until an admin of {to_agency} finalises it (assigns a receiving user and maps it to a"
        " new or existing case) or rejects it with a reason.",
        agency_share_path(share_id),
    )


def agency_share_answered(
    share_id: int,
    from_agency: str,
    to_agency: str,
    by: str,
    case_name: str,
    accepted: bool,
    reason: str = "",
) -> Notice:
    """To the sender (and the sending agency's admins): the receiving admin's answer."""
    verb = "accepted" if accepted else "rejected"
    why = f'\n\nThe reason given: "{reason}"' if reason else ""
    return Notice(
        "agency_share_answered",
        f"agency_share:{share_id}",
        f"{to_agency} {verb} the case {case_name}",
        f'{by} of {to_agency} {verb} the case "{case_name}" that {from_agency} sent.{why}',
        agency_share_path(share_id),
    )


def agency_share_revoked(
    share_id: int, from_agency: str, to_agency: str, by: str, case_name: str, was: str, reason: str
) -> Notice:
    """To the receiving agency's admins and the receiving user: the sender ended the share."""
    why = f'\n\nThe reason given: "{reason}"' if reason else ""
    before = (
        "It was still waiting to be finalised; there is nothing left to finalise or reject."
        if was == "pending"
        else f"Nobody of {to_agency} reads the case or its targets any more; the local case it"
        " was mapped to stays as it is."
    )
    return Notice(
        "agency_share_revoked",
        f"agency_share:{share_id}",
        f"{from_agency} revoked the case {case_name}",
        f'{by} of {from_agency} revoked the case "{case_name}" it had sent to {to_agency}.'
        f"{why}\n\n{before}",
        agency_share_path(share_id),
    )
