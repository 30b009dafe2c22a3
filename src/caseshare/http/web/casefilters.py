"""The case list's filters as an address: every view is a URL (filters, sort, page)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from caseshare.core.errors import CaseShareError
from caseshare.http.web.forms import FormState
from caseshare.services import CaseFilter, case_filter

#: the S-VIEW-1 "which cases" filters, with the words the screens use
SCOPES = (
    ("created_by_me", "Created by me"),
    ("assigned_to_me", "Assigned to me"),
    ("owned_by_me", "Owned by me or my groups"),
    ("shared_with_me", "Shared with me"),
)
#: the Grid view's one "Case filter" (OSS-ESPA's default is the cases you created)
GRID_SCOPES = (
    ("created", "Created by me", "created_by_me"),
    ("assigned", "Assigned cases", "assigned_to_me"),
    ("owned", "Owned by me or my groups", "owned_by_me"),
    ("shared", "Shared with me", "shared_with_me"),
    ("all", "All cases I can see", ""),
)
STATUSES = (("all", "Open and closed"), ("open", "Open"), ("closed", "Closed"))
SORT_LABELS = {
    "name": "Name",
    "case_id": "Case ID",
    "opened_on": "Opened",
    "modified": "Last changed",
}
#: the address's words for the filter, in the order they are written
FILTER_PARAMS = (
    *(name for name, _ in SCOPES),
    "status",
    "case_type",
    "owner",
    "owner_q",
    "q",
    "sort",
    "desc",
)
_CURSOR = re.compile(r"^[A-Za-z0-9_-]{1,2000}$")
_ONE_LINE = re.compile(r"^[^\x00-\x1f\x7f]*$")


@dataclass
class CaseQuery:
    """What the address asks of the list, already checked."""

    flt: CaseFilter = field(default_factory=CaseFilter)
    owner_q: str = ""
    after: str | None = None
    before: str | None = None

    def params(self) -> dict[str, Any]:
        """The filter as address parameters (no page): the same list, from the first page."""
        f = self.flt
        out: dict[str, Any] = {name: getattr(f, name) for name, _ in SCOPES}
        out.update(
            status=f.status or "all",
            case_type=f.case_type,
            owner=f.owner,
            owner_q=self.owner_q if f.owner or self.owner_q else None,
            q=f.q,
            sort=f.sort,
            desc="1" if f.descending else "0",
        )
        return out


def from_filter(flt: CaseFilter, owner_label: str = "") -> CaseQuery:
    return CaseQuery(flt, owner_q=owner_label if flt.owner else "")


def read_query(query: Mapping[str, str], form: FormState) -> CaseQuery:
    """The list's filter from the address; a value it cannot use is refused beside its field
    and left out, so the list still shows."""
    raw: dict[str, Any] = {}
    for name, _ in SCOPES:
        if query.get(name) in ("1", "on", "true"):
            raw[name] = True
    status = query.get("status", "all")
    if status in ("open", "closed"):
        raw["status"] = status
    elif status not in ("all", ""):
        form.refuse("status", "Choose open, closed, or open and closed.")
    for name in ("case_type", "owner", "q"):
        value = query.get(name, "").strip()
        if not value:
            continue
        if len(value) > 200 or not _ONE_LINE.match(value):
            form.refuse(name, "This is too long or holds characters a search cannot use.")
            continue
        raw[name] = value
    sort = query.get("sort", "modified")
    if sort in SORT_LABELS:
        raw["sort"] = sort
    else:
        form.refuse("q", f"A list sorts by {', '.join(SORT_LABELS.values()).lower()}.")
    # newest change first unless the address says otherwise; other columns A→Z
    desc = query.get("desc")
    if desc in ("1", "on", "true") or (desc is None and raw.get("sort", "modified") == "modified"):
        raw["descending"] = True
    try:
        flt = case_filter(raw)
    except CaseShareError as exc:  # reason: every field was checked above; the service's word wins
        form.refuse("q", exc.message, exc.code)
        flt = CaseFilter()
    owner_q = query.get("owner_q", "").strip()[:200]
    return CaseQuery(
        flt, owner_q, _cursor(query.get("after"), form), _cursor(query.get("before"), form)
    )


def _cursor(text: str | None, form: FormState) -> str | None:
    """A page cursor the listing can compare, else none (and a word why)."""
    if not text:
        return None
    problem = "The page you asked for no longer exists; this is the first page."
    if not _CURSOR.match(text):
        form.refuse("q", problem)
        return None
    try:
        value, pk = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, TypeError, binascii.Error):
        form.refuse("q", problem)
        return None
    if not (value is None or (isinstance(value, str) and _ONE_LINE.match(value))) or not (
        isinstance(pk, int) and not isinstance(pk, bool) and 0 <= pk < 2**62
    ):
        form.refuse("q", problem)
        return None
    return text


def filter_fields(flt: CaseFilter) -> dict[str, str]:
    """The filter as the values of the filter panel's fields."""
    values = {
        k: ("1" if v is True else "" if v in (False, None) else str(v))
        for k, v in asdict(flt).items()
    }
    values["status"] = flt.status or "all"
    values["desc"] = values.pop("descending")
    return values


def saved_params(raw: Mapping[str, Any], owner_label: str) -> dict[str, Any]:
    """A saved filter (as the service keeps it) as the list's address parameters."""
    flt = case_filter(dict(raw))
    return from_filter(flt, owner_label).params()
