"""Creating cases with the right owner (S-CRT), changing owners (S-SHR-6) and the recycle bin."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from caseshare.core.casexml import MAX_FIELD_LENGTH, MAX_PROPERTY_LENGTH, unaddressable
from caseshare.core.engine import AgencyContext
from caseshare.core.errors import CaseShareError
from caseshare.core.levels import Action, Cause
from caseshare.core.model import CaseFacts, User
from caseshare.core.principals import Principal
from caseshare.core.restore import RESERVED_PROPERTIES, has_invalid_xml_chars, is_xml_name
from caseshare.services.base import actor_name
from caseshare.services.casehistory import HistoryService

MAX_FIELD = MAX_FIELD_LENGTH


def choose_owner(
    ctx: AgencyContext, creator: User | None, owner: Principal | None, *, check_creator: bool = True
) -> Principal:
    """S-CRT-1…3: the owner a new case gets, or the refusal that says what to do."""
    directory = ctx.directory
    if owner is not None:
        if not directory.can_own(owner) or (
            owner.kind == "user" and directory.users[owner.id].agency_id != ctx.agency_id
        ):
            raise CaseShareError(
                "invalid_owner",
                f"{owner} cannot own cases: only a user, a case-sharing group or a location that"
                " shares cases (and is not archived) of this agency can.",
            )
        if check_creator and creator is not None:
            mine = directory.owner_ids(creator.id)
            trusted = creator.permissions & {"transfer", "admin"}
            if owner not in mine and not trusted:
                raise CaseShareError(
                    "invalid_owner",
                    f"You may give a new case to yourself or one of your groups or locations;"
                    f" {owner} is neither. Ask someone with the transfer permission.",
                )
        return owner
    if creator is None:
        raise CaseShareError("invalid_owner", "A case needs an owner or a creator.")
    if not ctx.settings.case_sharing:
        return creator.principal
    options = directory.case_sharing_owners(creator.id)
    if not options:
        raise CaseShareError(
            "no_case_sharing_group",
            f"user:{creator.id} is in no case-sharing group or case-owning location, so a new"
            " case has no owner. Join exactly one case-sharing group, or give an owner"
            " explicitly.",
        )
    if len(options) > 1:
        names = ", ".join(str(p) for p in options)
        raise CaseShareError(
            "multiple_case_sharing_groups",
            f"user:{creator.id} is in several case-sharing groups or locations ({names}), so it"
            " is not clear who should own a new case. Stay in exactly one, or give an owner"
            " explicitly.",
            {"owners": [str(p) for p in options]},
        )
    return options[0]


def checked_properties(properties: Mapping[str, str] | None) -> dict[str, str]:
    """Properties a device can be sent (S-SYNC-3): each name an XML name that is not one of the
    case's own fields, each value free of characters XML cannot carry; else
    ``validation_error``."""
    checked = {str(k): str(v) for k, v in (properties or {}).items()}
    for key, value in checked.items():
        if len(key) > MAX_FIELD:
            raise CaseShareError(
                "validation_error",
                f"Property name {key[:40]!r}… is {len(key)} characters long; the limit is"
                f" {MAX_FIELD}.",
            )
        if len(value) > MAX_PROPERTY_LENGTH:
            raise CaseShareError(
                "validation_error",
                f"Property {key!r} is {len(value):,} characters long; the limit for a property"
                f" value is {MAX_PROPERTY_LENGTH:,}.",
            )
        if key in RESERVED_PROPERTIES:
            raise CaseShareError(
                "validation_error",
                f"{key!r} is one of the case's own fields, not a property; set it through its own"
                " field (case type, name, owner or external id) instead.",
            )
        if not is_xml_name(key):
            raise CaseShareError(
                "validation_error",
                f"Property name {key!r} is not allowed: it must start with a letter or _ and hold"
                " only letters, digits, _, - and . (no spaces or colons).",
            )
        check_text(f"Property {key!r}", value)
    return checked


def _check_name(name: str) -> None:
    """A case's name: some text (a device form's blank ``<case_name>`` is refused alike, as
    its text is read stripped), within ``MAX_FIELD``."""
    if not name.strip():
        raise CaseShareError(
            "validation_error", "A case needs a name; it cannot be empty or only spaces."
        )
    if len(name) > MAX_FIELD:
        raise CaseShareError("validation_error", f"name is longer than {MAX_FIELD} characters.")


def check_text(label: str, value: str) -> None:
    """``validation_error`` when ``value`` holds a control character XML cannot carry."""
    if has_invalid_xml_chars(value):
        raise CaseShareError(
            "validation_error",
            f"{label} holds a control character; only text, tabs and line breaks are allowed.",
        )


class CaseService(HistoryService):
    """Case lifecycle operations that touch access."""

    def create_case(
        self,
        agency_id: int,
        actor: int | None,
        case_type: str,
        name: str,
        *,
        owner: Principal | str | None = None,
        case_id: str | None = None,
        opened_by: int | None = None,
        properties: Mapping[str, str] | None = None,
        external_id: str = "",
        indices: Mapping[str, tuple[str, str]] | None = None,
        closed: bool = False,
    ) -> str:
        """Create a case; ``indices`` maps identifier → (referenced case id, relationship)."""
        checked = checked_properties(properties)
        for label, text in (("case_type", case_type), ("name", name), ("external_id", external_id)):
            check_text(label, text)
        _check_name(name)
        with self.store.transaction():
            self.store.lock_case_transactions(agency_id)
            ctx = self.context(agency_id)
            actor_user = self.acting_user(actor, agency_id)
            if actor_user is not None and opened_by not in (None, actor):
                raise CaseShareError(
                    "validation_error",
                    "A user creates cases as themselves: opened_by may only name another user"
                    " when the system creates the case (an import).",
                )
            creator_id = opened_by if opened_by is not None else actor
            creator = ctx.directory.users.get(creator_id) if creator_id is not None else None
            if creator_id is not None and (creator is None or creator.agency_id != agency_id):
                raise CaseShareError("validation_error", f"Creator user:{creator_id} is unknown.")
            if isinstance(owner, str):
                owner = Principal.parse(owner)
            chosen = choose_owner(ctx, creator, owner, check_creator=actor_user is not None)
            case_id = case_id or uuid.uuid4().hex
            for label, value in (
                ("case_id", case_id),
                ("case_type", case_type),
                ("name", name),
                ("external_id", external_id),
            ):
                if len(value) > MAX_FIELD:
                    raise CaseShareError(
                        "validation_error", f"{label} is longer than {MAX_FIELD} characters."
                    )
            problem = unaddressable(case_id)
            if problem is not None:
                raise CaseShareError("validation_error", problem)
            if not case_type:
                raise CaseShareError("validation_error", "A case needs a case type.")
            if not name:
                raise CaseShareError("validation_error", "A case needs a name.")
            if self.store.case_pk(agency_id, case_id) is not None:
                raise CaseShareError("validation_error", f"Case {case_id!r} exists already.")
            pk = self.store.insert_case(
                agency_id,
                case_id,
                case_type,
                name,
                chosen,
                opened_by=creator_id,
                properties=checked,
                external_id=external_id,
            )
            for identifier, (ref, relationship) in (indices or {}).items():
                self._set_index(agency_id, pk, case_id, identifier, ref, relationship)
            if closed:
                self.store.set_closed(pk, True, creator_id)
            self.store.note_outside_change(pk, "create")
            self.store.record(
                agency_id,
                actor_name(actor),
                "case.create",
                f"case:{case_id}",
                case_pk=pk,
                after={"owner": str(chosen), "case_type": case_type},
            )
        return case_id

    def _set_index(
        self, agency_id: int, pk: int, case_id: str, identifier: str, ref: str, relationship: str
    ) -> None:
        if relationship not in ("child", "extension"):
            raise CaseShareError(
                "invalid_index", f"Index {identifier!r}: relationship is child or extension."
            )
        if ref == case_id:
            raise CaseShareError("invalid_index", f"Case {case_id!r} cannot index itself.")
        target = self.store.case_row(agency_id, ref)
        if target is None:
            raise CaseShareError(
                "invalid_index",
                f"Index {identifier!r} of case {case_id!r} names case {ref!r}, which does not"
                " exist in this agency.",
            )
        self.store.set_index(pk, identifier, target.pk, target.case_type, relationship)

    def change_owner(
        self,
        agency_id: int,
        actor: int | None,
        case_id: str,
        owner: Principal | str,
        reason: str = "",
    ) -> list[str]:
        """Transfer a case (S-SHR-6): its manual shares go, the new owner decides who sees it."""
        with self.store.transaction():
            ctx, case = self._authorised_case(agency_id, actor, case_id, Action.TRANSFER)
            new_owner = Principal.parse(owner) if isinstance(owner, str) else owner
            choose_owner(ctx, None, new_owner, check_creator=False)
            if new_owner == case.owner:  # not a change: its shares stay (as a form's, S-SHR-6)
                return []
            removed = []
            for row in self.store.grant_rows(case.pk, cause=Cause.MANUAL, include_deleted=True):
                self.store.delete_grant(row.id)
                removed.append(f"case:{case_id}#{row.level.label}@{row.grantee}")
                self.store.record(
                    agency_id,
                    actor_name(actor),
                    "share.delete",
                    f"case:{case_id}",
                    case_pk=case.pk,
                    before={"grantee": str(row.grantee), "level": row.level.label},
                    reason="owner changed (S-SHR-6)",
                )
            self.store.set_owner(case.pk, new_owner)
            self.store.touch(case.pk, actor)
            self.store.record(
                agency_id,
                actor_name(actor),
                "case.owner",
                f"case:{case_id}",
                case_pk=case.pk,
                before={"owner": str(case.owner)},
                after={"owner": str(new_owner)},
                reason=reason,
            )
        return removed

    def delete_case(self, agency_id: int, actor: int | None, case_id: str) -> None:
        """S-SHR-8: to the recycle bin, with its shares."""
        with self.store.transaction():
            _ctx, case = self._authorised_case(agency_id, actor, case_id, Action.DELETE)
            if case.deleted:
                raise CaseShareError("not_found", f"Case {case_id!r} was not found.")
            self.store.set_deleted(case.pk, True)
            self.store.record(
                agency_id, actor_name(actor), "case.delete", f"case:{case_id}", case_pk=case.pk
            )

    def _authorised_case(
        self,
        agency_id: int,
        actor: int | None,
        case_id: str,
        action: Action,
        *,
        include_deleted: bool = False,
    ) -> tuple[AgencyContext, CaseFacts]:
        """Inside a transaction: wait for the agency's submissions (S-TX-6), then load the case
        and authorise the actor (the system, ``None``, may do anything)."""
        self.store.lock_case_transactions(agency_id)
        ctx = self.context(agency_id)
        if actor is not None:
            self.require(
                actor, action, case_id, agency_id=agency_id, include_deleted=include_deleted
            )
        return ctx, self.case(ctx, case_id)

    def _binned(self, agency_id: int, actor: int | None, case_id: str) -> int:
        # access first: whoever may not see the case learns nothing of its state
        _, case = self._authorised_case(
            agency_id, actor, case_id, Action.DELETE, include_deleted=True
        )
        if not case.deleted:
            raise CaseShareError(
                "invalid_transition", f"Case {case_id!r} is not in the recycle bin."
            )
        return case.pk

    def restore_case(self, agency_id: int, actor: int | None, case_id: str) -> None:
        """S-SHR-8: back from the recycle bin, with its manual shares."""
        with self.store.transaction():
            pk = self._binned(agency_id, actor, case_id)
            self.store.set_deleted(pk, False)
            self.store.record(
                agency_id, actor_name(actor), "case.restore", f"case:{case_id}", case_pk=pk
            )

    def purge_case(self, agency_id: int, actor: int | None, case_id: str) -> None:
        """S-SHR-8: gone for good — the case, its shares, indices, favourites, recent views and
        its history — so that a new case of the same id starts clean (issue 8, fault 2). The
        forms that touched it stay stored (the audit trail) but never replay into it again."""
        with self.store.transaction():
            pk = self._binned(agency_id, actor, case_id)
            # every case whose history indexes it records that the link was cut, so neither a
            # rebuild nor a new case of the same id re-attaches it
            position = self.store.received_position(agency_id)
            others = {
                *self.store.indexing_cases(pk),
                *self.store.ever_referrers(agency_id, case_id),
            }
            for other in sorted(others - {case_id}):
                if not self.store.has_any_history(agency_id, other):  # made before migration 8
                    self.store.add_baseline(agency_id, other, position)
                self.store.add_transaction(
                    agency_id,
                    other,
                    None,
                    position,
                    ["unlink"],
                    client_date=None,
                    snapshot={"unlink": case_id},
                )
            self.store.purge_case(pk)
            self.store.forget_case(agency_id, case_id)
            self.store.record(agency_id, actor_name(actor), "case.purge", f"case:{case_id}")

    def update_case(
        self,
        agency_id: int,
        actor: int | None,
        case_id: str,
        *,
        name: str | None = None,
        properties: Mapping[str, str] | None = None,
        closed: bool | None = None,
    ) -> None:
        """Change a case through the sharing API; it waits for the agency's submissions (S-TX-6)
        so that neither overwrites the other."""
        checked = None if properties is None else checked_properties(properties)
        if name is not None:
            check_text("name", name)
            _check_name(name)
        with self.store.transaction():
            action = Action.CLOSE if closed else Action.EDIT
            ctx, case = self._authorised_case(agency_id, actor, case_id, action)
            if closed is False and case.closed:
                raise CaseShareError(
                    "invalid_transition",
                    f"Case {case_id!r} is closed, and a close is final (S-TX-4): open a new case.",
                )
            merged = None
            if checked is not None:
                merged = {**case.properties, **checked}
            self.store.update_case(case.pk, name=name, properties=merged)
            newly_closed = closed is True and not case.closed
            if newly_closed:
                self.store.set_closed(case.pk, True, actor)
            self.store.touch(case.pk, actor)
            self.store.record(
                agency_id,
                actor_name(actor),
                "case.update",
                f"case:{case_id}",
                case_pk=case.pk,
                before={
                    "name": case.name,
                    "closed": case.closed,
                    "properties": dict(case.properties),
                },
                after={"name": name, "closed": closed, "properties": merged},
            )
            if newly_closed:
                self._cascade_close(ctx, case.pk)

    def edit_case(
        self,
        agency_id: int,
        actor: int | None,
        case_id: str,
        *,
        name: str | None = None,
        external_id: str | None = None,
        properties: Mapping[str, str | None] | None = None,
    ) -> None:
        """The JSON API's edit: name, external id and properties merged in (a ``None`` value
        removes a property). Needs edit; never opens or closes the case (S-TX-4)."""
        removed = {k for k, v in (properties or {}).items() if v is None}
        checked = checked_properties({k: v for k, v in (properties or {}).items() if v is not None})
        if name is not None:
            _check_name(name)
        for label, text in (("name", name), ("external_id", external_id)):
            if text is not None:
                check_text(label, text)
                if len(text) > MAX_FIELD:
                    raise CaseShareError(
                        "validation_error", f"{label} is longer than {MAX_FIELD} characters."
                    )
        with self.store.transaction():
            _ctx, case = self._authorised_case(agency_id, actor, case_id, Action.EDIT)
            merged = None
            if properties is not None:
                merged = {
                    k: v for k, v in {**case.properties, **checked}.items() if k not in removed
                }
            self.store.update_case(case.pk, name=name, external_id=external_id, properties=merged)
            self.store.touch(case.pk, actor)
            self.store.record(
                agency_id,
                actor_name(actor),
                "case.update",
                f"case:{case_id}",
                case_pk=case.pk,
                before={
                    "name": case.name,
                    "external_id": case.external_id,
                    "properties": dict(case.properties),
                },
                after={"name": name, "external_id": external_id, "properties": merged},
            )

    def close_case(self, agency_id: int, actor: int | None, case_id: str) -> bool:
        """Close a case (needs the close action, i.e. edit); closing a closed case changes
        nothing and answers False. Closing is sticky: the API has no reopen (S-TX-4)."""
        with self.store.transaction():
            ctx, case = self._authorised_case(agency_id, actor, case_id, Action.CLOSE)
            if case.closed:
                return False
            self._close(agency_id, actor, case_id, case.pk)
            self._cascade_close(ctx, case.pk)
        return True

    def _close(
        self, agency_id: int, actor: int | None, case_id: str, pk: int, reason: str = ""
    ) -> None:
        self.store.set_closed(pk, True, actor)
        self.store.touch(pk, actor)
        self.store.record(
            agency_id,
            actor_name(actor),
            "case.close",
            f"case:{case_id}",
            case_pk=pk,
            before={"closed": False},
            after={"closed": True},
            reason=reason,
        )

    def _cascade_close(self, ctx: AgencyContext, host_pk: int) -> list[str]:
        """§8.4 ``extension_close_cascade`` for a close made outside forms: the host's open
        extensions close, recursively, each by the system user. Each is an outside change like
        the host's own close (``touch`` records it in a case's history), so rebuilds keep it."""
        if not ctx.settings.extension_close_cascade:
            return []
        closed: list[str] = []
        hosts = [host_pk]
        while hosts:
            for ext_id in self.store.open_extensions(hosts.pop(0)):
                ext = self.case(ctx, ext_id)
                reason = "host case closed (extension_close_cascade)"
                self._close(ctx.agency_id, None, ext_id, ext.pk, reason)
                closed.append(ext_id)
                hosts.append(ext.pk)
        return closed
