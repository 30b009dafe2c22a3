"""Manual shares with Salesforce CaseShare semantics (S-SHR-*), assignments and case teams."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caseshare.core import notices
from caseshare.core.errors import CaseShareError
from caseshare.core.levels import STORED_CAUSES, Action, Cause, Level
from caseshare.core.model import CaseFacts
from caseshare.core.principals import Principal
from caseshare.services.base import actor_name
from caseshare.services.notifications import NotificationService, person
from caseshare.store import GrantRow
from caseshare.store.cases import GRANT_COLS, _grant_row

#: S-SHR-7 describe: the fields of a share entry and what may be done with each
SHARE_FIELDS: dict[str, dict[str, Any]] = {
    "id": {"type": "id", "create": False, "update": False, "filter": True},
    "case_id": {"type": "reference", "create": True, "update": False, "filter": True},
    "grantee": {"type": "principal", "create": True, "update": False, "filter": True},
    "access_level": {
        "type": "picklist",
        "values": ["read", "edit", "full"],
        "create": True,
        "update": True,
        "filter": True,
        "note": "full is not valid for creating or updating a manual share",
    },
    "row_cause": {
        "type": "picklist",
        "values": [c.value for c in Cause],
        "create": True,
        "update": False,
        "filter": True,
        "note": "only manual can be created",
    },
    "created_by": {"type": "principal", "create": False, "update": False, "filter": True},
    "created_at": {"type": "datetime", "create": False, "update": False, "filter": True},
    "last_modified_by": {"type": "principal", "create": False, "update": False, "filter": True},
    "last_modified_at": {"type": "datetime", "create": False, "update": False, "filter": True},
    "is_deleted": {"type": "boolean", "create": False, "update": False, "filter": True},
    "derived": {"type": "boolean", "create": False, "update": False, "filter": True},
}

#: the largest id a store holds (a 64-bit integer on both dialects)
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class ShareEntry:
    """A row of the share API: stored (manual, assigned, team) or derived from the engine."""

    id: int | None
    case_id: str
    grantee: str
    access_level: str
    row_cause: str
    derived: bool
    path: str = ""
    created_by: str = ""
    created_at: str = ""
    last_modified_by: str = ""
    last_modified_at: str = ""
    is_deleted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _entry(case_id: str, row: GrantRow, level: Level | None = None) -> ShareEntry:
    return ShareEntry(
        row.id,
        case_id,
        str(row.grantee),
        (level or row.level).label,
        row.cause.value,
        False,
        "",
        row.created_by,
        row.created_at,
        row.modified_by,
        row.modified_at,
        row.is_deleted,
    )


class SharingService(NotificationService):
    """Share, assign, team: each needs full access on the case (S-SHR-1).

    Every write here first waits for the agency's other case writes (``_writing``): a share
    made while the case is handed to another owner either comes first (and the transfer
    removes it, S-SHR-6) or second (and is checked against the new owner), never in between.
    """

    def _writing(self, agency_id: int) -> None:
        """Inside a write transaction: wait for the agency's case writes, transfers and device
        forms to finish (PostgreSQL; SQLite's BEGIN IMMEDIATE serialises every writer already),
        so that what is read next is what this write changes."""
        self.store.lock_case_transactions(agency_id)

    def _full(self, agency_id: int, actor: int | None, case_id: str) -> CaseFacts:
        ctx = self.context(agency_id)
        if actor is not None:
            self.require(actor, Action.SHARE, case_id, agency_id=agency_id)
        case = self.case(ctx, case_id)
        if case.deleted:
            raise CaseShareError("not_found", f"Case {case_id!r} was not found.")
        return case

    # -- manual shares ----------------------------------------------------------------------------

    def share(
        self,
        agency_id: int,
        actor: int | None,
        case_id: str,
        grantee: Principal | str,
        level: Level | str,
        *,
        row_cause: str = "manual",
    ) -> ShareEntry:
        """Create a manual share, or update the level of the existing one (S-SHR-3 upsert)."""
        if row_cause != Cause.MANUAL.value:
            raise CaseShareError(
                "reserved_row_cause",
                f"Row cause {row_cause!r} is reserved: only manual shares can be created.",
            )
        with self.store.transaction():
            self._writing(agency_id)
            case = self._full(agency_id, actor, case_id)
            ctx = self.context(agency_id)
            lvl = self._manual_level(
                ctx.settings.default_for(case.case_type),
                ctx.settings.default_level(case.case_type),
                level,
                case.case_type,
            )
            who = self.resolve_principal(ctx, grantee)
            if who == case.owner:
                raise CaseShareError(
                    "cannot_share_with_owner",
                    f"{who} owns case {case_id!r} already; a share would add nothing.",
                )
            row, before = self.store.put_grant(
                agency_id, case.pk, Cause.MANUAL, who, lvl, actor_name(actor)
            )
            self.store.record(
                agency_id,
                actor_name(actor),
                "share.update" if before else "share.create",
                f"case:{case_id}",
                case_pk=case.pk,
                before=None
                if before is None
                else {"grantee": str(who), "level": before.level.label},
                after={"grantee": str(who), "level": lvl.label},
            )
            if before is None and who.kind == "user":  # S-NOT-1: "a case shared with you"
                by = person(self.acting_user(actor, agency_id))
                notice = notices.case_shared(case_id, case.name, by, lvl.label)
                self.notify_user(agency_id, notice, who.id, actor)
        return _entry(case_id, row)

    @staticmethod
    def _manual_level(
        default: str, default_level: Level, level: Level | str, case_type: str
    ) -> Level:
        try:
            lvl = level if isinstance(level, Level) else Level.parse(level)
        except ValueError:
            raise CaseShareError(
                "invalid_access_level", f"Access level {level!r} is not read or edit."
            ) from None
        if lvl in (Level.FULL, Level.NONE):
            raise CaseShareError(
                "invalid_access_level",
                f"A manual share gives read or edit, not {lvl.label}: full access comes from"
                " ownership or assignment.",
            )
        if lvl <= default_level:
            raise CaseShareError(
                "access_level_too_low",
                f"Everyone in the agency has {default} access to {case_type!r} cases already;"
                f" a share must give more than that.",
                {"default_access": default},
            )
        return lvl

    def update_share(
        self, agency_id: int, actor: int | None, share_id: int, level: Level | str
    ) -> ShareEntry:
        with self.store.transaction():
            self._writing(agency_id)
            row, case = self._manual(agency_id, actor, share_id, "changed")
            return self.share(agency_id, actor, case.case_id, row.grantee, level)

    def unshare(
        self, agency_id: int, actor: int | None, case_id: str, grantee: Principal | str
    ) -> bool:
        with self.store.transaction():
            self._writing(agency_id)
            case = self._full(agency_id, actor, case_id)
            who = Principal.parse(grantee) if isinstance(grantee, str) else grantee
            row = self.store.find_grant(case.pk, Cause.MANUAL, who)
            if row is None:
                return False
            return self._delete_row(agency_id, actor, case, row)

    def delete_share(self, agency_id: int, actor: int | None, share_id: int) -> bool:
        with self.store.transaction():
            self._writing(agency_id)
            row, case = self._manual(agency_id, actor, share_id, "deleted")
            self._full(agency_id, actor, case.case_id)
            return self._delete_row(agency_id, actor, case, row)

    def _delete_row(
        self, agency_id: int, actor: int | None, case: CaseFacts, row: GrantRow
    ) -> bool:
        self.store.delete_grant(row.id)
        self.store.record(
            agency_id,
            actor_name(actor),
            f"{_kind(row.cause)}.delete",
            f"case:{case.case_id}",
            case_pk=case.pk,
            before={"grantee": str(row.grantee), "level": row.level.label},
        )
        return True

    def _manual(
        self, agency_id: int, actor: int | None, share_id: int, verb: str
    ) -> tuple[GrantRow, CaseFacts]:
        """S-SHR-4: only manual rows can be changed or deleted through the share API."""
        row, case = self._visible_share(agency_id, actor, share_id)
        if row.cause is not Cause.MANUAL:
            raise CaseShareError(
                "read_only_share",
                f"Share {share_id} comes from {row.cause.value}; only manual shares can be"
                f" {verb} through the share API.",
            )
        return row, case

    def _stored(self, agency_id: int, share_id: int) -> tuple[GrantRow, CaseFacts]:
        row = self.store.grant_row(share_id)
        case = None
        if row is not None:
            rec = self.store.case_record(row.case_pk)
            if rec["agency_id"] == agency_id:
                case = self.store.case_row(agency_id, rec["case_id"])
        if row is None or case is None:
            raise CaseShareError("not_found", f"Share {share_id} was not found.")
        return row, case

    def _visible_share(
        self, agency_id: int, actor: int | None, share_id: int
    ) -> tuple[GrantRow, CaseFacts]:
        """A share of a case the actor may view; any other is "not found", worded as a share id
        that does not exist, so share ids tell an outsider nothing (S-ACC-3)."""
        row, case = self._stored(agency_id, share_id)
        if actor is not None:
            try:
                self.require(actor, Action.VIEW, case.case_id, agency_id=agency_id)
            except CaseShareError as exc:
                if exc.code == "not_found":
                    raise CaseShareError("not_found", f"Share {share_id} was not found.") from None
                raise
        return row, case

    def retrieve_share(self, agency_id: int, actor: int | None, share_id: int) -> ShareEntry:
        row, case = self._visible_share(agency_id, actor, share_id)
        return _entry(case.case_id, row, self._level(agency_id, row))

    def _level(self, agency_id: int, row: GrantRow) -> Level:
        return self.context(agency_id).stored_level(row.stored())

    def query_shares(
        self,
        agency_id: int,
        actor: int | None,
        case_id: str,
        *,
        grantee: str | None = None,
        cause: str | None = None,
        level: str | None = None,
        derived: bool = True,
    ) -> list[ShareEntry]:
        """S-SHR-7 query: stored entries and (flagged) derived ones, for a case one can see."""
        if actor is not None:
            self.require(actor, Action.VIEW, case_id, agency_id=agency_id)
        ctx = self.context(agency_id)
        case = self.case(ctx, case_id)
        out = [
            _entry(case_id, r, self._level(agency_id, r))
            for r in self.store.grant_rows(case.pk, include_deleted=True)
        ]
        if derived and not case.deleted:
            for access in self.who_has_access(agency_id, case_id):
                for g in access.grants:
                    if g.cause not in STORED_CAUSES:
                        out.append(
                            ShareEntry(
                                None,
                                case_id,
                                f"user:{access.user_id}",
                                g.level.label,
                                g.cause.value,
                                True,
                                g.path,
                            )
                        )
        return [
            e
            for e in out
            if (grantee is None or e.grantee == grantee)
            and (cause is None or e.row_cause == cause)
            and (level is None or e.access_level == level)
        ]

    # -- assignments (S-ASG-1) ------------------------------------------------------------------------

    def assign(self, agency_id: int, actor: int | None, case_id: str, user_id: int) -> bool:
        """Give an active colleague full access; assigning twice changes nothing."""
        with self.store.transaction():
            self._writing(agency_id)
            case = self._full(agency_id, actor, case_id)
            who = self._active_colleague(agency_id, user_id)
            if self.store.find_grant(case.pk, Cause.ASSIGNED, who) is not None:
                return False
            self.store.put_grant(
                agency_id, case.pk, Cause.ASSIGNED, who, Level.FULL, actor_name(actor)
            )
            self.store.record(
                agency_id,
                actor_name(actor),
                "assignment.create",
                f"case:{case_id}",
                case_pk=case.pk,
                after={"user": str(who)},
            )
            by = person(self.acting_user(actor, agency_id))
            notice = notices.case_assigned(case_id, case.name, by)
            self.notify_user(agency_id, notice, who.id, actor)  # S-NOT-1
        return True

    def unassign(self, agency_id: int, actor: int | None, case_id: str, user_id: int) -> bool:
        with self.store.transaction():
            self._writing(agency_id)
            case = self._full(agency_id, actor, case_id)
            row = self.store.find_grant(case.pk, Cause.ASSIGNED, Principal("user", user_id))
            if row is None:
                return False
            return self._delete_row(agency_id, actor, case, row)

    def _active_colleague(self, agency_id: int, user_id: int) -> Principal:
        user = self.context(agency_id).directory.users.get(user_id)
        if user is None or not user.active:
            raise CaseShareError(
                "invalid_grantee", f"user:{user_id} is not an active user of this agency."
            )
        return user.principal

    def search_users(self, agency_id: int, text: str, limit: int = 20) -> list[dict[str, Any]]:
        """Active users whose name, username or email contains ``text`` (any part, any case)."""
        needle = text.strip().lower()
        users = self.context(agency_id).directory.users.values()
        found = [
            u
            for u in users
            if u.active
            and (
                needle in u.full_name.lower()
                or needle in u.email.lower()
                or needle in u.username.lower()
            )
        ]
        found.sort(key=lambda u: (u.full_name.lower(), u.username))
        return [
            {"id": u.id, "username": u.username, "full_name": u.full_name, "email": u.email}
            for u in found[:limit]
        ]

    # -- case teams (S-TEAM-1) --------------------------------------------------------------------------

    def team_add(
        self, agency_id: int, actor: int | None, case_id: str, user_id: int, team_role_id: int
    ) -> bool:
        """Add a member (True) or change their role (False); the grant changes at once."""
        with self.store.transaction():
            self._writing(agency_id)
            case = self._full(agency_id, actor, case_id)
            who = self._active_colleague(agency_id, user_id)
            role = self.context(agency_id).team_roles.get(team_role_id)
            if role is None:
                raise CaseShareError("validation_error", f"Team role {team_role_id} is unknown.")
            _, before = self.store.put_grant(
                agency_id,
                case.pk,
                Cause.TEAM,
                who,
                role.level,
                actor_name(actor),
                team_role_id=role.id,
            )
            self.store.record(
                agency_id,
                actor_name(actor),
                "team.update" if before else "team.create",
                f"case:{case_id}",
                case_pk=case.pk,
                after={"user": str(who), "role": role.name},
            )
        return before is None

    def team_remove(self, agency_id: int, actor: int | None, case_id: str, user_id: int) -> bool:
        with self.store.transaction():
            self._writing(agency_id)
            case = self._full(agency_id, actor, case_id)
            row = self.store.find_grant(case.pk, Cause.TEAM, Principal("user", user_id))
            if row is None:
                return False
            return self._delete_row(agency_id, actor, case, row)

    # -- for the HTTP share API: upsert status, agency-wide query, assignees, team ---------------

    def share_upsert(
        self,
        agency_id: int,
        actor: int | None,
        case_id: str,
        grantee: str,
        level: str,
        *,
        row_cause: str = "manual",
    ) -> tuple[ShareEntry, bool]:
        """:meth:`share`, also saying whether the share was created (True) or updated (S-SHR-3)."""
        with self.store.transaction():
            self._writing(agency_id)
            existing = None
            try:
                case = self.case(self.context(agency_id), case_id)
                who = Principal.parse(grantee)
                existing = self.store.find_grant(case.pk, Cause.MANUAL, who)
            except CaseShareError:
                pass  # share() below refuses with the right code
            entry = self.share(agency_id, actor, case_id, grantee, level, row_cause=row_cause)
        return entry, existing is None

    def query_agency_shares(
        self,
        agency_id: int,
        actor: int,
        *,
        grantee: str | None = None,
        cause: str | None = None,
        level: str | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> tuple[list[ShareEntry], int | None]:
        """S-SHR-7 query on every case the actor may view: stored rows, and the id to go on after."""
        ctx, user = self.user(actor)
        if ctx.agency_id != agency_id or not user.active:
            return [], None
        limit = max(1, min(int(limit), 500))
        where = self.store.visible_where(ctx, user)
        cols = ", ".join(f"sg.{c.strip()}" for c in GRANT_COLS.split(","))
        effective = "CASE WHEN sg.cause = 'team' THEN COALESCE(tr.level, 0) ELSE sg.level END"
        sql = (
            f"SELECT {cols}, c.case_id, {effective} FROM grants sg"
            " JOIN cases c ON c.pk = sg.case_pk"
            " LEFT JOIN team_roles tr ON tr.id = sg.team_role_id"
            f" WHERE sg.agency_id = ? AND sg.id > ? AND {where.sql}"
        )
        params: list[Any] = [agency_id, after, *where.params]
        if grantee is not None:
            sql += " AND sg.grantee = ?"
            params.append(grantee)
        if cause is not None:
            sql += " AND sg.cause = ?"
            params.append(cause)
        if level is not None:
            sql += f" AND {effective} = ?"
            params.append(int(Level.parse(level)))
        rows = self.store.rows(sql + f" ORDER BY sg.id LIMIT {limit + 1}", params)
        more = len(rows) > limit
        rows = rows[:limit]
        n = len(GRANT_COLS.split(","))
        entries = [_entry(r[n], _grant_row(r[:n]), Level(r[n + 1])) for r in rows]
        return entries, (rows[-1][0] if more and rows else None)

    def _stored_of(
        self, agency_id: int, actor: int | None, case_id: str, cause: Cause
    ) -> list[tuple[GrantRow, dict[str, Any]]]:
        """The stored rows of one cause on a case the actor may view, with each user's card."""
        if actor is not None:
            self.require(actor, Action.VIEW, case_id, agency_id=agency_id)
        ctx = self.context(agency_id)
        case = self.case(ctx, case_id)
        out = []
        for row in self.store.grant_rows(case.pk, cause=cause):
            u = ctx.directory.users.get(row.grantee.id)
            card: dict[str, Any] = {"user_id": row.grantee.id, "active": bool(u and u.active)}
            for name in ("username", "full_name", "email"):
                card[name] = getattr(u, name) if u else ""
            out.append((row, card))
        return out

    def assignees(self, agency_id: int, actor: int | None, case_id: str) -> list[dict[str, Any]]:
        """S-ASG-1: the users assigned to a case (each with full access, row cause assigned)."""
        rows = self._stored_of(agency_id, actor, case_id, Cause.ASSIGNED)
        return [
            card | {"share_id": r.id, "assigned_by": r.created_by, "assigned_at": r.created_at}
            for r, card in rows
        ]

    def assignment(
        self, agency_id: int, actor: int | None, case_id: str, user_id: int
    ) -> tuple[dict[str, Any], bool]:
        """:meth:`assign`, answering the assignee's entry as it is when the assignment commits
        (and whether it was new): a concurrent unassign or transfer cannot come in between."""
        with self.store.transaction():
            created = self.assign(agency_id, actor, case_id, user_id)
            entry = _one(self.assignees(agency_id, actor, case_id), user_id)
        return entry, created

    def team_membership(
        self, agency_id: int, actor: int | None, case_id: str, user_id: int, team_role_id: int
    ) -> tuple[dict[str, Any], bool]:
        """:meth:`team_add`, answering the member's entry as it is when the change commits (and
        whether the member is new)."""
        with self.store.transaction():
            created = self.team_add(agency_id, actor, case_id, user_id, team_role_id)
            entry = _one(self.team_members(agency_id, actor, case_id), user_id)
        return entry, created

    def team_members(self, agency_id: int, actor: int | None, case_id: str) -> list[dict[str, Any]]:
        """S-TEAM-1: a case's team, each member with their team role and its current level."""
        roles = self.context(agency_id).team_roles
        out = []
        for row, card in self._stored_of(agency_id, actor, case_id, Cause.TEAM):
            role = roles.get(row.team_role_id or -1)
            out.append(
                card
                | {
                    "share_id": row.id,
                    "team_role": None
                    if role is None
                    else {"id": role.id, "name": role.name, "level": role.level.label},
                    "access_level": self._level(agency_id, row).label,
                    "added_by": row.created_by,
                    "added_at": row.created_at,
                    "last_modified_by": row.modified_by,
                    "last_modified_at": row.modified_at,
                }
            )
        return out


def _one(entries: list[dict[str, Any]], user_id: int) -> dict[str, Any]:
    """The entry of ``user_id``, which the write just made inside this transaction."""
    for entry in entries:
        if entry["user_id"] == user_id:
            return entry
    raise AssertionError(f"user:{user_id} is missing right after the write")  # a bug, not a race


def _kind(cause: Cause) -> str:
    return {Cause.MANUAL: "share", Cause.ASSIGNED: "assignment", Cause.TEAM: "team"}[cause]
