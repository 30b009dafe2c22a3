"""Agency shares (SPEC §10, S-AG-2…S-AG-5): a case sent to another agency. Pure: the status
machine, the receiving side's grant and a case's sharing state."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from caseshare.core.errors import CaseShareError
from caseshare.core.restore import has_invalid_xml_chars

MAX_REASON = 2000


class Status(StrEnum):
    PENDING = "pending"  # sent, waiting for an admin of the receiving agency
    ACTIVE = "active"  # finalised: a receiving user, a local case
    REJECTED = "rejected"  # the receiving admin said no, with a reason
    REVOKED = "revoked"  # the sender took it back


#: where each transition may start: every one is a conditional update on these (S-AG-3)
TRANSITIONS: dict[str, tuple[tuple[Status, ...], Status]] = {
    "accept": ((Status.PENDING,), Status.ACTIVE),
    "reject": ((Status.PENDING,), Status.REJECTED),
    "revoke": ((Status.PENDING, Status.ACTIVE), Status.REVOKED),
    "edit": ((Status.PENDING, Status.ACTIVE), Status.PENDING),  # the target is unused: no move
}

LIVE = (Status.PENDING, Status.ACTIVE)

#: S-AG-5, as the API and the case list say it
STATES = ("sending", "receiving", "both", "inactive")


def sharing_state(sent: Iterable[bool], received: Iterable[bool]) -> str | None:
    """A case's sharing state from its live outgoing shares and the active shares mapped to it,
    each given as whether its agreement lets data flow today. ``None``: no share at all."""
    sent, received = list(sent), list(received)
    if not sent and not received:
        return None
    sending, receiving = any(sent), any(received)
    if sending and receiving:
        return "both"
    if sending:
        return "sending"
    if receiving:
        return "receiving"
    return "inactive"


CONTROL_IN_REASON = (
    "A reason holds a control character; write plain text (tabs and line breaks are fine)."
)


def check_reason(reason: str | None, *, required: bool) -> str:
    text = (reason or "").strip()
    if required and not text:
        raise CaseShareError(
            "validation_error", "Give a reason when you reject a case sent to your agency."
        )
    if len(text) > MAX_REASON:
        raise CaseShareError("validation_error", f"A reason is at most {MAX_REASON} characters.")
    if has_invalid_xml_chars(text):  # PostgreSQL refused NUL, SQLite stored it for the emails
        raise CaseShareError("validation_error", CONTROL_IN_REASON)
    return text
