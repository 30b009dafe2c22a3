"""Agency shares (SPEC §10, S-AG-2…S-AG-5): a user with full access sends a case to partner
agencies; the receiving admins finalise or reject; the sender edits or revokes. Every status
change is one conditional update (of two racing transitions exactly one wins), is audited in
both agencies and told to the other side through the outbox, in the change's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from caseshare.core import notices
from caseshare.core.agencyshares import LIVE, Status, check_reason
from caseshare.core.agreements import data_flows
from caseshare.core.errors import CaseShareError
from caseshare.core.levels import Action, Cause, Level
from caseshare.core.model import CaseFacts, User
from caseshare.core.principals import Principal
from caseshare.services.agreements import AgreementService, today
from caseshare.services.base import actor_name
from caseshare.services.notifications import person
from caseshare.services.targets import target_json
from caseshare.store import AgencyShareRow


def _not_found(share_id: int) -> CaseShareError:
    return CaseShareError("not_found", f"Agency share {share_id} was not found.")


class AgencyShareService(AgreementService):
    """Who sees a share: users of the sending agency who may view its case; admins of the
    receiving agency; and, once active, the receiving user and members of its units. To
    everyone else it does not exist (``not_found``)."""

    if TYPE_CHECKING:  # given by CaseService and SharingService in ``Caseshare``

        def create_case(
            self,
            agency_id: int,
            actor: int | None,
            case_type: str,
            name: str,
            *,
            owner: Principal | str | None = None,
        ) -> str: ...

        def assign(self, agency_id: int, actor: int | None, case_id: str, user_id: int) -> bool: ...

    # -- reading --------------------------------------------------------------------------------

    def _agency_card(self, agency_id: int) -> dict[str, Any]:
        _, slug, name, _ = self.store.agency(agency_id)
        return {"id": agency_id, "slug": slug, "name": name}

    def _user_card(self, agency_id: int, user_id: int | None) -> dict[str, Any] | None:
        if user_id is None:
            return None
        user = self.context(agency_id).directory.users.get(user_id)
        if user is None:
            return {"id": user_id, "username": "", "full_name": "", "email": ""}
        return {
            "id": user.id,
            "username": user.username,
            "full_name": user.full_name,
            "email": user.email,
        }

    def agency_share_json(
        self, row: AgencyShareRow, viewer_agency: int, viewer: int | None
    ) -> dict[str, Any]:
        """A share as one side sees it. The local case is the receiving agency's own: it is
        named only to a viewer there who may view it (S-ACC-3: a case one cannot see is not
        named to them, not even by its id); ``viewer`` None is the system."""
        directory = self.context(row.to_agency_id).directory
        flow = data_flows(
            self.agreement_between(row.from_agency_id, row.to_agency_id),
            row.from_agency_id,
            row.to_agency_id,
            today(),
        )
        receiving = viewer_agency == row.to_agency_id
        return {
            "id": row.id,
            "status": row.status.value,
            "direction": "received" if receiving else "sent",
            "case_id": row.case_id,
            "from_agency": self._agency_card(row.from_agency_id),
            "to_agency": self._agency_card(row.to_agency_id),
            "units": [
                {"id": g, "name": directory.groups[g].name if g in directory.groups else ""}
                for g in row.units
            ],
            "targets": list(row.targets),
            "auto_include_new_targets": row.auto_include,
            "receiving_user": self._user_card(row.to_agency_id, row.receiving_user_id),
            "local_case_id": row.local_case_id
            if receiving and self._sees_local(row, viewer)
            else None,
            "reason": row.reason,
            "agreement": {"allowed": flow.allowed, "condition": flow.condition},
            "created_by": row.created_by,
            "created_at": row.created_at,
            "answered_by": row.answered_by,
            "answered_at": row.answered_at,
            "modified_by": row.modified_by,
            "modified_at": row.modified_at,
        }

    def _sees_local(self, row: AgencyShareRow, viewer: int | None) -> bool:
        if row.local_case_id is None or viewer is None:
            return True
        try:
            return self.access(viewer, row.local_case_id).level is not Level.NONE
        except CaseShareError:  # the local case is gone, or the viewer is
            return False

    def _share_for(
        self, agency_id: int, actor: int | None, share_id: int, *, lock: bool = False
    ) -> AgencyShareRow:
        """The share if the actor may see it at all, else ``not_found``."""
        row = self.store.agency_share(share_id, lock=lock)
        if row is None:
            raise _not_found(share_id)
        if actor is None:
            if agency_id not in (row.from_agency_id, row.to_agency_id):
                raise _not_found(share_id)
            return row
        ctx, user = self.user(actor)
        if ctx.agency_id != agency_id or not user.active:
            raise _not_found(share_id)
        if agency_id == row.from_agency_id:
            if self.access(actor, row.case_id).level is Level.NONE:
                raise _not_found(share_id)
            return row
        if agency_id == row.to_agency_id:
            if "admin" in user.permissions:
                return row
            grants = self.access_received(actor, row.case_pk).grants
            if any(g.path.startswith(f"agency_share → agency_share:{row.id} ") for g in grants):
                return row
        raise _not_found(share_id)

    def agency_share(self, agency_id: int, actor: int | None, share_id: int) -> AgencyShareRow:
        return self._share_for(agency_id, actor, share_id)

    def agency_shares_of_case(
        self, agency_id: int, actor: int | None, case_id: str
    ) -> list[AgencyShareRow]:
        """The shares sent from a case, for whoever may view it."""
        if actor is not None:
            self.require(actor, Action.VIEW, case_id, agency_id=agency_id)
        case = self.case(self.context(agency_id), case_id)
        return self.store.agency_shares_of_case(case.pk)

    def agency_shares_received(
        self, agency_id: int, actor: int | None, *, status: str | None = None, after: int = 0
    ) -> list[AgencyShareRow]:
        """Shares sent to the agency (admins): the pending ones wait for one of them."""
        self.require_admin(actor, agency_id)
        _status(status)
        return self.store.agency_shares_to(agency_id, status=status, after=after)

    def agency_shares_sent(
        self, agency_id: int, actor: int | None, *, status: str | None = None, after: int = 0
    ) -> list[AgencyShareRow]:
        """Shares the agency sent (admins)."""
        self.require_admin(actor, agency_id)
        _status(status)
        return self.store.agency_shares_from(agency_id, status=status, after=after)

    def share_recipients(self, agency_id: int, actor: int | None) -> list[dict[str, Any]]:
        """The agencies a case may be sent to today (a valid agreement, S-AG-1), each with its
        field units (groups of kind ``unit``)."""
        self.acting_user(actor, agency_id)
        out = []
        for other, slug, name in self.store.agencies():
            if other == agency_id or not self.data_flow(agency_id, other).allowed:
                continue
            groups = self.context(other).directory.groups.values()
            units = [{"id": g.id, "name": g.name} for g in groups if g.kind == "unit"]
            out.append({"id": other, "slug": slug, "name": name, "units": units})
        return out

    def received_case(self, agency_id: int, actor: int, share_id: int) -> dict[str, Any]:
        """S-AG-4: what the receiving user and units read: the source case's summary and the
        shared targets, nothing else."""
        row = self._share_for(agency_id, actor, share_id)
        if agency_id != row.to_agency_id:
            raise _not_found(share_id)
        access = self.access_received(actor, row.case_pk)
        if not any(g.cause is Cause.AGENCY_SHARE for g in access.grants):
            raise _not_found(share_id)  # an admin of the receiving agency reads the share only
        return self._summary(row)

    def received_for_local_case(
        self, agency_id: int, actor: int, local_case_id: str
    ) -> list[dict[str, Any]]:
        """The cases sent here that are mapped to a local case, as this user may read them."""
        self.require(actor, Action.VIEW, local_case_id, agency_id=agency_id)
        local = self.case(self.context(agency_id), local_case_id)
        out = []
        for row in self.store.agency_shares_mapped_to(local.pk):
            access = self.access_received(actor, row.case_pk)
            if any(g.cause is Cause.AGENCY_SHARE for g in access.grants):
                out.append({"share": row.id, **self._summary(row)})
        return out

    def _summary(self, row: AgencyShareRow) -> dict[str, Any]:
        record = self.store.case_record(row.case_pk)
        sender = self.context(row.from_agency_id).directory
        owner = Principal.parse(record["owner"])
        owner_user = sender.users.get(owner.id) if owner.kind == "user" else None
        if owner_user is None and record.get("opened_by") is not None:
            owner_user = sender.users.get(record["opened_by"])
        targets = [
            target_json(row.case_id, t)
            for t in self.store.targets_of(row.case_pk)
            if t.id in set(row.targets)
        ]
        return {
            "case_id": record["case_id"],
            "name": record["name"],
            "case_type": record["case_type"],
            "status": "closed" if record["closed"] else "open",
            "opened_on": record["opened_on"],
            "modified_on": record["server_modified_on"],
            "sending_agency": self._agency_card(row.from_agency_id)["name"],
            "owner": {
                "name": sender.name_of(owner) if owner_user is None else _name(owner_user),
                "email": "" if owner_user is None else owner_user.email,
            },
            "targets": targets,
        }

    # -- the sender -------------------------------------------------------------------------------

    def _sender_case(self, agency_id: int, actor: int | None, case_id: str) -> CaseFacts:
        """S-AG-2: only a user with full access on the case sends it, edits or revokes."""
        if actor is not None:
            self.require(actor, Action.SHARE, case_id, agency_id=agency_id)
        case = self.case(self.context(agency_id), case_id)
        if case.deleted:
            raise CaseShareError("not_found", f"Case {case_id!r} was not found.")
        return case

    def _check_targets(self, case: CaseFacts, targets: Iterable[int]) -> list[int]:
        have = {t.id for t in self.store.targets_of(case.pk)}
        wanted = sorted({int(t) for t in targets})
        missing = [t for t in wanted if t not in have]
        if missing:
            raise CaseShareError(
                "validation_error",
                f"Target {missing[0]} is not a target of case {case.case_id!r}; choose among the"
                " case's own targets.",
            )
        return wanted

    def _check_units(self, to_agency: int, units: Iterable[int]) -> list[int]:
        groups = self.context(to_agency).directory.groups
        wanted = sorted({int(u) for u in units})
        for unit in wanted:
            group = groups.get(unit)
            if group is None or group.kind != "unit":
                name = self._agency_card(to_agency)["name"]
                raise CaseShareError(
                    "invalid_grantee",
                    f"group:{unit} is not a field unit of {name}: choose among its units.",
                )
        return wanted

    def send_case(
        self,
        agency_id: int,
        actor: int | None,
        case_id: str,
        agencies: Iterable[str],
        *,
        targets: Iterable[int] = (),
        units: Mapping[str, Iterable[int]] | None = None,
        auto_include: bool = False,
    ) -> list[AgencyShareRow]:
        """Send a case to agencies (by slug), each share ``pending`` until a receiving admin
        finalises it; ``units`` maps an agency's slug to its chosen field units."""
        slugs = sorted(set(agencies))
        if not slugs:
            raise CaseShareError("validation_error", "Choose at least one agency to send to.")
        units = dict(units or {})
        stray = set(units) - set(slugs)
        if stray:
            raise CaseShareError(
                "validation_error",
                f"Field units were chosen for {', '.join(sorted(stray))}, which is not among the"
                " agencies the case is sent to.",
            )
        rows = []
        with self.store.transaction():
            case = self._sender_case(agency_id, actor, case_id)
            chosen = self._check_targets(case, targets)
            for slug in slugs:
                to_agency = self.store.agency_by_slug(slug)
                if to_agency is None or to_agency == agency_id:
                    raise CaseShareError("not_found", f"Agency {slug!r} was not found.")
                self.data_flow(agency_id, to_agency).require()
                unit_ids = self._check_units(to_agency, units.get(slug, ()))
                who = actor_name(actor)
                share_id = self.store.insert_agency_share(
                    case.pk, agency_id, to_agency, auto_include, unit_ids, chosen, who
                )
                if share_id is None:
                    raise CaseShareError(
                        "invalid_transition",
                        f"Case {case_id!r} is sent to {slug} already; edit that share instead.",
                    )
                row = self.store.agency_share(share_id)
                assert row is not None
                self._audit_share(row, actor, "agency_share.create", None, row)
                by = person(self.acting_user(actor, agency_id))
                self.notify_admins(
                    to_agency,
                    notices.agency_share_waiting(
                        share_id,
                        self._agency_card(agency_id)["name"],
                        self._agency_card(to_agency)["name"],
                        by,
                        case.name,
                    ),
                )
                rows.append(row)
        return rows

    def edit_agency_share(
        self,
        agency_id: int,
        actor: int | None,
        share_id: int,
        *,
        targets: Iterable[int] | None = None,
        units: Iterable[int] | None = None,
        auto_include: bool | None = None,
    ) -> AgencyShareRow:
        """Change the shared targets, the field units or auto-include while pending or active."""
        with self.store.transaction():
            row = self._share_for(agency_id, actor, share_id, lock=True)
            if agency_id != row.from_agency_id:
                raise CaseShareError(
                    "insufficient_access",
                    "Only the sending agency changes what a share holds.",
                )
            case = self._sender_case(agency_id, actor, row.case_id)
            chosen = None if targets is None else self._check_targets(case, targets)
            unit_ids = None if units is None else self._check_units(row.to_agency_id, units)
            if not self.store.touch_agency_share(share_id, LIVE, actor_name(actor), auto_include):
                self._lost(share_id, "change")
            self.store.set_agency_share_members(share_id, unit_ids, chosen)
            after = self._reread(share_id)
            self._audit_share(row, actor, "agency_share.update", row, after)
        return after

    def revoke_agency_share(
        self,
        agency_id: int,
        actor: int | None,
        share_id: int,
        reason: str | None = None,
        *,
        expected: str | None = None,
    ) -> AgencyShareRow:
        """The sender ends the share: the receivers lose access at their next request.

        ``expected`` is the status the sender saw (``pending`` or ``active``): the revoke
        happens only if the share is still in it, so a revoke of a pending share and the
        receiving admin's accept never both succeed (S-AG-3); without it any live share is
        revoked."""
        text = check_reason(reason, required=False)
        if expected is not None and expected not in (s.value for s in LIVE):
            raise CaseShareError(
                "validation_error", "The status you saw is pending or active; others end a share."
            )
        states = LIVE if expected is None else (Status(expected),)
        with self.store.transaction():
            row = self._share_for(agency_id, actor, share_id)
            if agency_id != row.from_agency_id:
                raise CaseShareError(
                    "insufficient_access", "Only the sending agency revokes a share."
                )
            self._sender_case(agency_id, actor, row.case_id)
            if not self.store.transition_agency_share(
                share_id, states, Status.REVOKED, actor_name(actor), reason=text
            ):
                self._lost(share_id, "revoke")
            after = self._reread(share_id)
            self._audit_share(row, actor, "agency_share.revoke", row, after, reason=text)
            self._tell_receiver(row, actor, reason=text or "")
        return after

    # -- the receiving admin ------------------------------------------------------------------------

    def _receiving_admin(self, agency_id: int, actor: int | None, share_id: int) -> AgencyShareRow:
        row = self._share_for(agency_id, actor, share_id)
        if agency_id != row.to_agency_id:
            raise CaseShareError(
                "insufficient_access",
                "Only an admin of the receiving agency finalises or rejects a share.",
            )
        self.require_admin(actor, agency_id)
        return row

    def accept_agency_share(
        self,
        agency_id: int,
        actor: int | None,
        share_id: int,
        receiving_user: int,
        *,
        local_case_id: str | None = None,
        new_case_type: str = "received",
        new_case_name: str | None = None,
    ) -> AgencyShareRow:
        """S-AG-3: finalise: a receiving user, and a local case (an existing one, to which the
        receiving user is assigned, or a new one they own)."""
        with self.store.transaction():
            row = self._receiving_admin(agency_id, actor, share_id)
            user = self.context(agency_id).directory.users.get(receiving_user)
            if user is None or not user.active:
                raise CaseShareError(
                    "invalid_grantee",
                    f"user:{receiving_user} is not an active user of this agency.",
                )
            self.data_flow(row.from_agency_id, agency_id).require()
            if row.status is not Status.PENDING:
                self._lost(share_id, "accept")
            source = self.store.case_record(row.case_pk)
            if local_case_id:
                local = self.case(self.context(agency_id), local_case_id)
                if local.deleted:
                    raise CaseShareError("not_found", f"Case {local_case_id!r} was not found.")
                self.assign(agency_id, actor, local_case_id, receiving_user)
            else:
                local_case_id = self.create_case(
                    agency_id,
                    actor,
                    new_case_type,
                    new_case_name or str(source["name"]),
                    owner=Principal("user", receiving_user),
                )
                local = self.case(self.context(agency_id), local_case_id)
                by = person(self.acting_user(actor, agency_id))
                self.notify_user(
                    agency_id, notices.case_assigned(local_case_id, local.name, by), user.id, actor
                )
            if not self.store.transition_agency_share(
                share_id,
                (Status.PENDING,),
                Status.ACTIVE,
                actor_name(actor),
                answered=True,
                receiving_user=receiving_user,
                local_case_pk=local.pk,
            ):
                self._lost(share_id, "accept")
            after = self._reread(share_id)
            self._audit_share(row, actor, "agency_share.accept", row, after)
            self._tell_sender(after, actor, accepted=True)
        return after

    def reject_agency_share(
        self, agency_id: int, actor: int | None, share_id: int, reason: str
    ) -> AgencyShareRow:
        text = check_reason(reason, required=True)
        with self.store.transaction():
            row = self._receiving_admin(agency_id, actor, share_id)
            if not self.store.transition_agency_share(
                share_id,
                (Status.PENDING,),
                Status.REJECTED,
                actor_name(actor),
                answered=True,
                reason=text,
            ):
                self._lost(share_id, "reject")
            after = self._reread(share_id)
            self._audit_share(row, actor, "agency_share.reject", row, after, reason=text)
            self._tell_sender(after, actor, accepted=False, reason=text)
        return after

    def _tell_sender(
        self, row: AgencyShareRow, actor: int | None, *, accepted: bool, reason: str = ""
    ) -> None:
        """The sender (the user who sent it) and the sending agency's admins hear the answer."""
        by = person(self.acting_user(actor, row.to_agency_id))
        notice = notices.agency_share_answered(
            row.id,
            self._agency_card(row.from_agency_id)["name"],
            self._agency_card(row.to_agency_id)["name"],
            by,
            str(self.store.case_record(row.case_pk)["name"]),
            accepted,
            reason,
        )
        people: list[User] = list(self.admins_of(row.from_agency_id))
        if row.created_by.startswith("user:"):
            sender = self.context(row.from_agency_id).directory.users.get(
                int(row.created_by.split(":", 1)[1])
            )
            if sender is not None and sender.active:
                people.insert(0, sender)
        self.notify(row.from_agency_id, notice, people)

    def _tell_receiver(self, row: AgencyShareRow, actor: int | None, *, reason: str) -> None:
        """S-NOT-1: a revoke is told to the receiving agency's admins and, once the share was
        finalised, to its receiving user; ``row`` is the share as it was before."""
        notice = notices.agency_share_revoked(
            row.id,
            self._agency_card(row.from_agency_id)["name"],
            self._agency_card(row.to_agency_id)["name"],
            person(self.acting_user(actor, row.from_agency_id)),
            str(self.store.case_record(row.case_pk)["name"]),
            row.status.value,
            reason,
        )
        people: list[User] = list(self.admins_of(row.to_agency_id))
        if row.receiving_user_id is not None:
            receiver = self.context(row.to_agency_id).directory.users.get(row.receiving_user_id)
            if receiver is not None and receiver.active:
                people.append(receiver)
        self.notify(row.to_agency_id, notice, people)

    # -- shared helpers ------------------------------------------------------------------------------

    def _lost(self, share_id: int, verb: str) -> None:
        now = self._reread(share_id).status.value
        raise CaseShareError(
            "invalid_transition",
            f"Agency share {share_id} is {now} now, so you cannot {verb} it: someone else"
            " changed it a moment ago.",
            {"status": now},
        )

    def _reread(self, share_id: int) -> AgencyShareRow:
        row = self.store.agency_share(share_id)
        assert row is not None
        return row

    def _audit_share(
        self,
        row: AgencyShareRow,
        actor: int | None,
        action: str,
        before: AgencyShareRow | None,
        after: AgencyShareRow | None,
        *,
        reason: str = "",
    ) -> None:
        """One event in each agency's trail (S-AUD-1); the sender's is on the case's history
        and, like the share the sender reads, never names the receiver's local case (S-ACC-3)."""
        for agency_id in (row.from_agency_id, row.to_agency_id):
            local = agency_id == row.to_agency_id
            self.store.record(
                agency_id,
                actor_name(actor),
                action,
                f"agency_share:{row.id}",
                case_pk=None if local else row.case_pk,
                before=None if before is None else _state(before, local=local),
                after=None if after is None else _state(after, local=local),
                reason=reason,
            )


def _status(status: str | None) -> None:
    if status is not None and status not in {s.value for s in Status}:
        raise CaseShareError(
            "validation_error",
            f"status is one of {', '.join(s.value for s in Status)}, not {status!r}.",
        )


def _name(user: User) -> str:
    return user.full_name or user.username


def _state(row: AgencyShareRow, *, local: bool) -> dict[str, Any]:
    """The share's state for an audit event; ``local`` (the receiver's trail) names the local
    case it is mapped to."""
    state: dict[str, Any] = {
        "status": row.status.value,
        "to_agency": row.to_agency_id,
        "units": list(row.units),
        "targets": list(row.targets),
        "auto_include": row.auto_include,
        "receiving_user": row.receiving_user_id,
    }
    if local:
        state["local_case"] = row.local_case_id
    return state
