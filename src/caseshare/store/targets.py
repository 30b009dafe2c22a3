"""Targets of cases and their identifiers; the deconfliction index answers "which cases of this
agency carry this identifier" without a scan (S-XC-1)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from caseshare.core.targets import Identifier
from caseshare.store.base import Connection, utcnow

_TARGET_COLS = "id, agency_id, case_pk, kind, name, added_on, added_by, modified_on, modified_by"
_IDENT_COLS = "id, target_id, type, value, normalized, deconfliction"


@dataclass(frozen=True)
class IdentifierRow:
    id: int
    target_id: int
    type: str
    value: str
    normalized: str
    deconfliction: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "value": self.value,
            "normalized": self.normalized,
            "deconfliction": self.deconfliction,
        }


@dataclass(frozen=True)
class TargetRow:
    id: int
    agency_id: int
    case_pk: int
    kind: str
    name: str
    added_on: str
    added_by: str
    modified_on: str
    modified_by: str
    identifiers: tuple[IdentifierRow, ...] = ()


def _ident(r: tuple[Any, ...]) -> IdentifierRow:
    return IdentifierRow(r[0], r[1], r[2], r[3], r[4], bool(r[5]))


def _target(r: tuple[Any, ...], idents: Iterable[IdentifierRow]) -> TargetRow:
    return TargetRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], tuple(idents))


class TargetStore(Connection):
    """Targets are stored apart from the case row: adding one does not touch the case."""

    def insert_target(self, agency_id: int, case_pk: int, kind: str, name: str, actor: str) -> int:
        now = utcnow()
        return self.insert(
            "INSERT INTO targets (agency_id, case_pk, kind, name, added_on, added_by,"
            " modified_on, modified_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (agency_id, case_pk, kind, name, now, actor, now, actor),
        )

    def update_target(self, target_id: int, kind: str, name: str, actor: str) -> None:
        self.execute(
            "UPDATE targets SET kind = ?, name = ?, modified_on = ?, modified_by = ? WHERE id = ?",
            (kind, name, utcnow(), actor, target_id),
        )

    def touch_target(self, target_id: int, actor: str) -> None:
        self.execute(
            "UPDATE targets SET modified_on = ?, modified_by = ? WHERE id = ?",
            (utcnow(), actor, target_id),
        )

    def delete_target(self, target_id: int) -> None:
        self.execute("DELETE FROM agency_share_targets WHERE target_id = ?", (target_id,))
        self.execute("DELETE FROM target_identifiers WHERE target_id = ?", (target_id,))
        self.execute("DELETE FROM targets WHERE id = ?", (target_id,))

    def insert_identifier(self, target: TargetRow, ident: Identifier) -> int:
        return self.insert(
            "INSERT INTO target_identifiers (target_id, agency_id, case_pk, type, value,"
            " normalized, deconfliction) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                target.id,
                target.agency_id,
                target.case_pk,
                ident.type,
                ident.value,
                ident.normalized,
                int(ident.deconfliction),
            ),
        )

    def update_identifier(self, identifier_id: int, ident: Identifier) -> None:
        self.execute(
            "UPDATE target_identifiers SET type = ?, value = ?, normalized = ?,"
            " deconfliction = ? WHERE id = ?",
            (ident.type, ident.value, ident.normalized, int(ident.deconfliction), identifier_id),
        )

    def delete_identifier(self, identifier_id: int) -> None:
        self.execute("DELETE FROM target_identifiers WHERE id = ?", (identifier_id,))

    def targets_of(self, case_pk: int) -> list[TargetRow]:
        """A case's targets in the order they were added, each with its identifiers."""
        rows = self.rows(
            f"SELECT {_TARGET_COLS} FROM targets WHERE case_pk = ? ORDER BY id", (case_pk,)
        )
        idents: dict[int, list[IdentifierRow]] = {}
        for r in self.rows(
            f"SELECT {_IDENT_COLS} FROM target_identifiers WHERE case_pk = ? ORDER BY id",
            (case_pk,),
        ):
            idents.setdefault(r[1], []).append(_ident(r))
        return [_target(r, idents.get(r[0], ())) for r in rows]

    def target(self, target_id: int) -> TargetRow | None:
        row = self.row(f"SELECT {_TARGET_COLS} FROM targets WHERE id = ?", (target_id,))
        if row is None:
            return None
        idents = self.rows(
            f"SELECT {_IDENT_COLS} FROM target_identifiers WHERE target_id = ? ORDER BY id",
            (target_id,),
        )
        return _target(row, [_ident(r) for r in idents])

    def cases_with_identifier(self, agency_id: int, kind: str, normalized: str) -> list[int]:
        """The cases (pks) of an agency whose targets carry this identifier with deconfliction
        on: an index range of ``target_identifiers_deconfliction``, no scan."""
        return [
            int(r[0])
            for r in self.rows(
                "SELECT DISTINCT case_pk FROM target_identifiers WHERE agency_id = ? AND type = ?"
                " AND normalized = ? AND deconfliction = 1 ORDER BY case_pk",
                (agency_id, kind, normalized),
            )
        ]
