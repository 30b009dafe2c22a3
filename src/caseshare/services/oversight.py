"""What an agency's admins oversee: the recycle bin (S-SHR-8), the audit log (S-AUD-1), device
forms (S-TX-8) and the case-sharing report (S-CRT-4). Reads only, admins only; the changes they
lead to (restore, purge, archive) are the services that already make them."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from caseshare.core.errors import CaseShareError
from caseshare.core.model import CaseFacts
from caseshare.core.principals import Principal
from caseshare.services.admin import AdminService
from caseshare.store import AuditEvent, AuditQuery, BinnedCase, FormSummary, SubmissionRow

T = TypeVar("T")
MAX_PAGE = 200
FORM_STATUSES = ("normal", "archived", "error", "duplicate", "deprecated")
#: the first word of the audit log's actions: what kind of thing changed
AUDIT_KINDS = (
    "agency",
    "user",
    "token",
    "group",
    "location",
    "location_type",
    "role",
    "team_role",
    "rule",
    "case",
    "share",
    "assignment",
    "team",
    "submission",
)
_KIND = re.compile(r"^[a-z_]{1,40}$")
_ACTOR = re.compile(r"^(system|user:[0-9]{1,18})$")
_ID_CURSOR = re.compile(r"^[0-9]{1,18}$")
_BIN_CURSOR = re.compile(r"^([0-9]{1,18})\.([0-9]{1,18})$")


@dataclass(frozen=True)
class Listing(Generic[T]):
    """One page, newest first, with the cursors of the pages on either side (None: no more).

    Pass ``older`` back for the next page down; ``newer`` with ``newer=True`` for the one up."""

    items: list[T]
    older: str | None
    newer: str | None


@dataclass(frozen=True)
class DeviceForm:
    """One device form: the version asked for, every stored version of its instanceID, and
    the cases its transactions touched."""

    form: SubmissionRow
    versions: list[SubmissionRow]
    cases: list[str]
    #: each touched case as it is now: None when it no longer exists (S-TX-8: none left)
    now: dict[str, CaseFacts | None]


def _bad_cursor() -> CaseShareError:
    return CaseShareError(
        "validation_error", "The page cursor is not valid; start again from the first page."
    )


def _page(
    rows: list[T], more: bool, newer: bool, cursor: Any, key: Any
) -> tuple[str | None, str | None]:
    """(older, newer) cursors of a newest-first page walked older (or ``newer``)."""
    if not rows:
        return (None, None) if cursor is None else ((None, cursor) if not newer else (cursor, None))
    first, last = key(rows[0]), key(rows[-1])
    if newer:
        return last, first if more else None
    return (last if more else None), (first if cursor is not None else None)


def day_start(day: dt.date) -> str:
    """The stored form of midnight UTC at the start of a day."""
    return f"{day.isoformat()}T00:00:00.000000Z"


class OversightService(AdminService):
    """Admins' agency-wide reads."""

    def _limit(self, limit: int) -> int:
        return max(1, min(int(limit), MAX_PAGE))

    # -- the recycle bin (S-SHR-8) ----------------------------------------------------------------

    def recycle_bin(
        self,
        agency_id: int,
        actor: int | None,
        *,
        cursor: str | None = None,
        newer: bool = False,
        limit: int = 50,
    ) -> Listing[BinnedCase]:
        """Every deleted case of the agency, the most recently deleted first."""
        self.require_admin(actor, agency_id)
        key = None
        if cursor:
            found = _BIN_CURSOR.match(cursor)
            if found is None:
                raise _bad_cursor()
            key = (int(found[1]), int(found[2]))
        rows, more = self.store.binned_cases(
            agency_id, cursor=key, newer=newer, limit=self._limit(limit)
        )
        older, newer_cursor = _page(rows, more, newer, cursor, lambda r: f"{r.event_id}.{r.pk}")
        return Listing(rows, older, newer_cursor)

    def binned_case(self, agency_id: int, actor: int | None, case_id: str) -> BinnedCase:
        """One case of the recycle bin; any other case id is not found."""
        self.require_admin(actor, agency_id)
        rows, _ = self.store.binned_cases(
            agency_id, cursor=None, newer=False, limit=1, case_id=case_id
        )
        if not rows:
            raise CaseShareError("not_found", f"Case {case_id!r} is not in the recycle bin.")
        return rows[0]

    # -- the audit log (S-AUD-1) ------------------------------------------------------------------

    def audit_log(
        self,
        agency_id: int,
        actor: int | None,
        *,
        who: str | None = None,
        kind: str | None = None,
        case_id: str | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
        cursor: str | None = None,
        newer: bool = False,
        limit: int = 50,
    ) -> Listing[AuditEvent]:
        """The agency's events, newest first: by whom (``user:ID`` or ``system``), of what kind
        (the action's first word, e.g. ``share``), about which case, between two days (UTC,
        both included)."""
        self.require_admin(actor, agency_id)
        if who is not None and not _ACTOR.match(who):
            raise CaseShareError(
                "validation_error", f"{who!r}: name a person as user:ID, or the system."
            )
        users = self.context(agency_id).directory.users
        if who is not None and who != "system" and Principal.parse(who).id not in users:
            raise CaseShareError("validation_error", f"{who} is not a person of this agency.")
        if kind is not None and not _KIND.match(kind):
            raise CaseShareError(
                "validation_error",
                f"A kind of event is one word, such as {', '.join(AUDIT_KINDS[:4])}.",
            )
        if case_id is not None and not 0 < len(case_id) <= 255:
            raise CaseShareError("validation_error", "A case id has 1 to 255 characters.")
        if since is not None and until is not None and until < since:
            raise CaseShareError(
                "validation_error", "The last day comes before the first: swap them."
            )
        if cursor is not None and not _ID_CURSOR.match(cursor):
            raise _bad_cursor()
        query = AuditQuery(
            actor=who,
            kind=kind,
            subject=None if case_id is None else f"case:{case_id}",
            since=None if since is None else day_start(since),
            until=None if until is None else day_start(until + dt.timedelta(days=1)),
        )
        rows, more = self.store.audit_page(
            agency_id,
            query,
            cursor=None if cursor is None else int(cursor),
            newer=newer,
            limit=self._limit(limit),
        )
        older, newer_cursor = _page(rows, more, newer, cursor, lambda e: str(e.id))
        return Listing(rows, older, newer_cursor)

    def audit_actions(self, agency_id: int, actor: int | None) -> list[str]:
        self.require_admin(actor, agency_id)
        return self.store.audit_actions(agency_id)

    # -- device forms (S-TX-8) --------------------------------------------------------------------

    def device_forms(
        self,
        agency_id: int,
        actor: int | None,
        *,
        status: str | None = None,
        user_id: int | None = None,
        cursor: str | None = None,
        newer: bool = False,
        limit: int = 50,
    ) -> Listing[FormSummary]:
        """Stored submissions of the agency, the last received first, errors included."""
        self.require_admin(actor, agency_id)
        if status is not None and status not in FORM_STATUSES:
            raise CaseShareError(
                "validation_error", f"A form's status is one of {', '.join(FORM_STATUSES)}."
            )
        if cursor is not None and not _ID_CURSOR.match(cursor):
            raise _bad_cursor()
        rows, more = self.store.form_page(
            agency_id,
            status=status,
            user_id=user_id,
            cursor=None if cursor is None else int(cursor),
            newer=newer,
            limit=self._limit(limit),
        )
        older, newer_cursor = _page(rows, more, newer, cursor, lambda f: str(f.id))
        return Listing(rows, older, newer_cursor)

    def form_case_counts(self, forms: list[FormSummary]) -> dict[int, int]:
        return self.store.case_counts_of_forms([f.id for f in forms])

    def device_form(
        self, agency_id: int, actor: int | None, instance_id: str, version: int | None = None
    ) -> DeviceForm:
        """One form by its instanceID: the version that counts (normal or archived), else the
        last stored one, or the stored ``version`` asked for; another agency's is not found."""
        self.require_admin(actor, agency_id)
        versions = self.store.submissions(agency_id, instance_id) if instance_id else []
        if version is not None:
            chosen = next((v for v in versions if v.id == version), None)
        else:
            current = [v for v in versions if v.status in ("normal", "archived")]
            found = current or versions
            chosen = found[-1] if found else None
        if chosen is None:
            raise CaseShareError("not_found", f"Form {instance_id!r} was not found.")
        cases = self.store.cases_of_submission(chosen.id)
        now = {case_id: self.store.case_row(agency_id, case_id) for case_id in cases}
        return DeviceForm(chosen, versions, cases, now)

    # -- the case-sharing report (S-CRT-4) --------------------------------------------------------

    def sharing_report(self, agency_id: int, actor: int | None) -> list[dict[str, Any]]:
        """S-CRT-4 for an admin: active users not in exactly one case-sharing group or location,
        each with the groups and locations they are in."""
        self.require_admin(actor, agency_id)
        return self.case_sharing_report(agency_id)
