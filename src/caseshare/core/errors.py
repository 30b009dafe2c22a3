"""Typed refusals: every error carries a SPEC §14 code and a sentence a person understands."""

from __future__ import annotations

from typing import Final

CODES: Final = frozenset(
    {
        "not_found",
        "insufficient_access",
        "invalid_access_level",
        "access_level_too_low",
        "reserved_row_cause",
        "read_only_share",
        "cannot_share_with_owner",
        "invalid_grantee",
        "invalid_owner",
        "no_case_sharing_group",
        "multiple_case_sharing_groups",
        "invalid_case_block",
        "invalid_index",
        "stale_sync_token",
        "agreement_required",
        "invalid_transition",
        "validation_error",
    }
)


class CaseShareError(Exception):
    """A refusal with a stable machine code (SPEC §14), a message and optional details."""

    def __init__(self, code: str, message: str, details: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details: dict[str, object] = details or {}

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"CaseShareError({self.code!r}, {self.message!r})"


def not_found(what: str) -> CaseShareError:
    return CaseShareError("not_found", f"{what} was not found.")


def invalid(message: str, **details: object) -> CaseShareError:
    return CaseShareError("validation_error", message, dict(details))


class Busy(CaseShareError):
    """Nothing is wrong with the request, but it cannot be served now: every connection is taken
    and the queue is full, or the database kept a lock longer than the lock timeout.

    §14 has no code of its own for this; ``invalid_transition`` ("not in this state, not now") is
    the nearest. Transports answer it as "try again after ``retry_after`` seconds" (HTTP 503).
    """

    def __init__(self, message: str, retry_after: int = 2) -> None:
        super().__init__(
            "invalid_transition",
            f"{message} Nothing was changed; try again in {retry_after} second(s).",
            {"retry_after": retry_after, "busy": True},
        )
        self.retry_after = retry_after
