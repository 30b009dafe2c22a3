"""Targets of a case (SPEC §2): whoever may view the case reads them, whoever may edit it adds,
changes and removes them; every change is audited against the case (S-AUD-1)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from caseshare.core.errors import CaseShareError
from caseshare.core.levels import Action
from caseshare.core.model import CaseFacts
from caseshare.core.targets import MAX_IDENTIFIERS, check_kind, check_text, identifier
from caseshare.services.base import ServiceBase, actor_name
from caseshare.store import TargetRow


def target_json(case_id: str, row: TargetRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "case_id": case_id,
        "kind": row.kind,
        "name": row.name,
        "identifiers": [i.to_dict() for i in row.identifiers],
        "added_on": row.added_on,
        "added_by": row.added_by,
        "modified_on": row.modified_on,
        "modified_by": row.modified_by,
    }


def _snapshot(row: TargetRow) -> dict[str, Any]:
    """What an audit event keeps of a target."""
    return {
        "target": row.id,
        "kind": row.kind,
        "name": row.name,
        "identifiers": [
            {"type": i.type, "value": i.value, "deconfliction": i.deconfliction}
            for i in row.identifiers
        ],
    }


class TargetService(ServiceBase):
    """Load-and-authorise on the case first (an invisible case is not found), then the target."""

    def _target_case(
        self, agency_id: int, actor: int | None, case_id: str, action: Action
    ) -> CaseFacts:
        if actor is not None:
            self.require(actor, action, case_id, agency_id=agency_id)
        case = self.case(self.context(agency_id), case_id)
        if case.deleted:
            raise CaseShareError("not_found", f"Case {case_id!r} was not found.")
        return case

    def _target_of(self, case: CaseFacts, target_id: int) -> TargetRow:
        row = self.store.target(target_id)
        if row is None or row.case_pk != case.pk:
            raise CaseShareError(
                "not_found", f"Target {target_id} was not found on case {case.case_id!r}."
            )
        return row

    def targets(self, agency_id: int, actor: int | None, case_id: str) -> list[dict[str, Any]]:
        case = self._target_case(agency_id, actor, case_id, Action.VIEW)
        return [target_json(case_id, r) for r in self.store.targets_of(case.pk)]

    def target(
        self, agency_id: int, actor: int | None, case_id: str, target_id: int
    ) -> dict[str, Any]:
        case = self._target_case(agency_id, actor, case_id, Action.VIEW)
        return target_json(case_id, self._target_of(case, target_id))

    def add_target(
        self,
        agency_id: int,
        actor: int | None,
        case_id: str,
        kind: str,
        name: str,
        identifiers: Iterable[Mapping[str, Any]] = (),
    ) -> dict[str, Any]:
        """A new target with its identifiers (each ``{type, value, deconfliction}``)."""
        with self.store.transaction():
            case = self._target_case(agency_id, actor, case_id, Action.EDIT)
            kind = check_kind(kind)
            name = check_text("A target's name", name)
            idents = []
            for item in identifiers:
                if not isinstance(item, Mapping):
                    raise CaseShareError(
                        "validation_error", "An identifier is {type, value, deconfliction}."
                    )
                deconfliction = item.get("deconfliction", False)
                idents.append(identifier(item.get("type"), item.get("value"), deconfliction))
            _limit(len(idents))
            who = actor_name(actor)
            target_id = self.store.insert_target(agency_id, case.pk, kind, name, who)
            row = self.store.target(target_id)
            assert row is not None
            for ident in idents:
                self.store.insert_identifier(row, ident)
            for share_id in self.store.auto_include_shares(case.pk):  # S-AG-4 auto-include
                self.store.add_agency_share_target(share_id, target_id)
            row = self._target_of(case, target_id)
            self._audit_target(agency_id, actor, case, "target.create", None, row)
        return target_json(case_id, row)

    def change_target(
        self,
        agency_id: int,
        actor: int | None,
        case_id: str,
        target_id: int,
        *,
        kind: str | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        with self.store.transaction():
            case = self._target_case(agency_id, actor, case_id, Action.EDIT)
            self.store.lock_holder("targets", target_id)  # a change at once of the other field
            before = self._target_of(case, target_id)
            new_kind = None if kind is None else check_kind(kind)
            new_name = None if name is None else check_text("A target's name", name)
            self.store.update_target(
                target_id, new_kind or before.kind, new_name or before.name, actor_name(actor)
            )
            after = self._target_of(case, target_id)
            self._audit_target(agency_id, actor, case, "target.update", before, after)
        return target_json(case_id, after)

    def remove_target(
        self, agency_id: int, actor: int | None, case_id: str, target_id: int
    ) -> None:
        with self.store.transaction():
            case = self._target_case(agency_id, actor, case_id, Action.EDIT)
            before = self._target_of(case, target_id)
            self.store.delete_target(target_id)
            self._audit_target(agency_id, actor, case, "target.delete", before, None)

    # -- identifiers --------------------------------------------------------------------------

    def add_identifier(
        self,
        agency_id: int,
        actor: int | None,
        case_id: str,
        target_id: int,
        type: str,
        value: str,
        deconfliction: bool = False,
    ) -> dict[str, Any]:
        with self.store.transaction():
            case = self._target_case(agency_id, actor, case_id, Action.EDIT)
            self.store.lock_holder("targets", target_id)  # adds at once count one by one
            before = self._target_of(case, target_id)
            ident = identifier(type, value, deconfliction)
            _limit(len(before.identifiers) + 1)
            self.store.insert_identifier(before, ident)
            return self._touched(agency_id, actor, case, before, "target.identifier.create")

    def change_identifier(
        self,
        agency_id: int,
        actor: int | None,
        case_id: str,
        target_id: int,
        identifier_id: int,
        *,
        type: str | None = None,
        value: str | None = None,
        deconfliction: bool | None = None,
    ) -> dict[str, Any]:
        with self.store.transaction():
            case = self._target_case(agency_id, actor, case_id, Action.EDIT)
            before = self._target_of(case, target_id)
            old = _identifier_of(before, identifier_id)
            ident = identifier(
                old.type if type is None else type,
                old.value if value is None else value,
                old.deconfliction if deconfliction is None else deconfliction,
            )
            self.store.update_identifier(identifier_id, ident)
            return self._touched(agency_id, actor, case, before, "target.identifier.update")

    def remove_identifier(
        self, agency_id: int, actor: int | None, case_id: str, target_id: int, identifier_id: int
    ) -> dict[str, Any]:
        with self.store.transaction():
            case = self._target_case(agency_id, actor, case_id, Action.EDIT)
            before = self._target_of(case, target_id)
            _identifier_of(before, identifier_id)
            self.store.delete_identifier(identifier_id)
            return self._touched(agency_id, actor, case, before, "target.identifier.delete")

    def _touched(
        self, agency_id: int, actor: int | None, case: CaseFacts, before: TargetRow, action: str
    ) -> dict[str, Any]:
        self.store.touch_target(before.id, actor_name(actor))
        after = self._target_of(case, before.id)
        self._audit_target(agency_id, actor, case, action, before, after)
        return target_json(case.case_id, after)

    def _audit_target(
        self,
        agency_id: int,
        actor: int | None,
        case: CaseFacts,
        action: str,
        before: TargetRow | None,
        after: TargetRow | None,
    ) -> None:
        self.store.record(
            agency_id,
            actor_name(actor),
            action,
            f"case:{case.case_id}",
            case_pk=case.pk,
            before=None if before is None else _snapshot(before),
            after=None if after is None else _snapshot(after),
        )


def _identifier_of(row: TargetRow, identifier_id: int) -> Any:
    for ident in row.identifiers:
        if ident.id == identifier_id:
            return ident
    raise CaseShareError(
        "not_found", f"Identifier {identifier_id} was not found on target {row.id}."
    )


def _limit(count: int) -> None:
    if count > MAX_IDENTIFIERS:
        raise CaseShareError(
            "validation_error", f"A target holds at most {MAX_IDENTIFIERS} identifiers."
        )
