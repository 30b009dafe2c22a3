"""What the "Case share details" screen reads: every grant of a case once, as Salesforce's
sharing detail lists it; who has access and why (S-ACC-6); the sharing history (S-AUD-1).

Every grant comes from the engine's own ``who_has_access``: the rows are the users' grants
grouped by the grant they come from (``Why.key``), so the screen and a check never disagree.
Stored rows that reach nobody today (a share with an empty group) are listed too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caseshare.core.engine import Access
from caseshare.core.levels import Action, Cause, Level
from caseshare.core.model import TeamRole
from caseshare.core.principals import Principal
from caseshare.core.why import Why, read_why
from caseshare.services.sharing import ShareEntry, SharingService
from caseshare.store.audit import AuditEvent

#: the order grants are listed in: the owner side first, then what was shared, then the rest
CAUSE_ORDER = (
    Cause.OWNER,
    Cause.ASSIGNED,
    Cause.TEAM,
    Cause.MANUAL,
    Cause.RULE,
    Cause.HIERARCHY,
    Cause.DEFAULT,
    Cause.IMPLICIT_CHILD,
    Cause.IMPLICIT_PARENT,
    Cause.SYNC,
    Cause.AGENCY_SHARE,
    Cause.PERMISSION,
)
#: the audit actions that change who has access to one case (its sharing history)
SHARING_ACTIONS = (
    "share.%",
    "assignment.%",
    "team.%",
    "case.create",
    "case.owner",
    "case.delete",
    "case.restore",
)


@dataclass(frozen=True)
class CaseGrant:
    """One grant of the case: the same for every user it reaches."""

    why: Why
    level: Level
    uncapped: Level
    people: tuple[int, ...]  # the users who reach the case through it
    stored: ShareEntry | None = None  # a manual share, assignment or team row: id, maker, time

    @property
    def cause(self) -> str:
        return self.why.cause


@dataclass(frozen=True)
class SharingDetail:
    """Everything the screen shows about who reaches the case, and what the viewer may change."""

    grants: list[CaseGrant]
    who: list[Access]  # every user with access, strongest first
    stored: dict[tuple[str, str], ShareEntry]  # (cause, grantee) → its stored row
    assignees: list[dict[str, Any]]
    team: list[dict[str, Any]]
    team_roles: list[TeamRole]


class ShareDetailsService(SharingService):
    """Reads only, for a viewer of the case (S-SHR-7: whoever sees a case sees its shares)."""

    def sharing_detail(self, agency_id: int, actor: int, case_id: str) -> SharingDetail:
        self.require(actor, Action.VIEW, case_id, agency_id=agency_id)
        entries = self.query_shares(agency_id, actor, case_id, derived=False)
        stored = {(e.row_cause, e.grantee): e for e in entries if not e.is_deleted}
        who = self.who_has_access(agency_id, case_id)
        grouped: dict[tuple[str, str], list[tuple[Why, Access, Level, Level]]] = {}
        for access in who:
            for grant in access.grants:
                why = read_why(grant.cause.value, grant.path)
                grouped.setdefault(why.key(), []).append((why, access, grant.level, grant.uncapped))
        grants = [
            CaseGrant(
                items[0][0],
                max(level for _, _, level, _ in items),
                max(uncapped for _, _, _, uncapped in items),
                tuple(dict.fromkeys(a.user_id for _, a, _, _ in items)),
                stored.get(key),
            )
            for key, items in grouped.items()
        ]
        reached = {g.why.key() for g in grants}
        for (cause, grantee), entry in stored.items():
            if (cause, grantee) not in reached:  # a share nobody holds today still shows
                level = Level.parse(entry.access_level)
                why = Why.naming(cause, Principal.parse(grantee))
                grants.append(CaseGrant(why, level, level, (), entry))
        order = {c.value: i for i, c in enumerate(CAUSE_ORDER)}
        grants.sort(key=lambda g: (order.get(g.cause, len(order)), -g.level, g.why.key()))
        roles = sorted(self.context(agency_id).team_roles.values(), key=lambda r: r.name)
        return SharingDetail(
            grants,
            who,
            stored,
            self.assignees(agency_id, actor, case_id),
            self.team_members(agency_id, actor, case_id),
            roles,
        )

    def sharing_history(
        self, agency_id: int, case_pk: int, *, before_id: int | None = None, limit: int = 20
    ) -> tuple[list[AuditEvent], int | None]:
        """A page of the events that changed who reaches the case, newest first, and the id to
        page on from (for a viewer who passed load-and-authorise on the case)."""
        limit = max(1, min(limit, 200))
        events = self.store.case_audit_page(
            agency_id, case_pk, before_id=before_id, limit=limit + 1, actions=SHARING_ACTIONS
        )
        more = len(events) > limit
        events = events[:limit]
        return events, events[-1].id if more and events else None
