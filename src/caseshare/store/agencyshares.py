"""Agency shares in the store (S-AG-2…S-AG-4). Every status change is one conditional UPDATE
naming the statuses it may leave, so of two racing transitions exactly one finds its status."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from caseshare.core.agencyshares import Status
from caseshare.core.model import CaseFacts, ReceivedShare
from caseshare.store.base import Connection, integrity_errors, utcnow
from caseshare.store.cases import CASE_COLS, case_facts

_COLS = (
    "s.id, s.case_pk, s.from_agency_id, s.to_agency_id, s.status, s.auto_include,"
    " s.receiving_user_id, s.local_case_pk, s.reason, s.created_by, s.created_at,"
    " s.answered_by, s.answered_at, s.modified_by, s.modified_at, c.case_id, l.case_id"
)
_FROM = (
    "agency_shares s JOIN cases c ON c.pk = s.case_pk LEFT JOIN cases l ON l.pk = s.local_case_pk"
)


@dataclass(frozen=True)
class AgencyShareRow:
    """A stored agency share, its field units and its shared targets (ids)."""

    id: int
    case_pk: int
    from_agency_id: int
    to_agency_id: int
    status: Status
    auto_include: bool
    receiving_user_id: int | None
    local_case_pk: int | None
    reason: str
    created_by: str
    created_at: str
    answered_by: str | None
    answered_at: str | None
    modified_by: str
    modified_at: str
    case_id: str
    local_case_id: str | None
    units: tuple[int, ...] = ()
    targets: tuple[int, ...] = field(default=())


def _row(r: Sequence[Any], units: Iterable[int], targets: Iterable[int]) -> AgencyShareRow:
    return AgencyShareRow(
        r[0],
        r[1],
        r[2],
        r[3],
        Status(r[4]),
        bool(r[5]),
        r[6],
        r[7],
        r[8],
        r[9],
        r[10],
        r[11],
        r[12],
        r[13],
        r[14],
        r[15],
        r[16],
        tuple(sorted(units)),
        tuple(sorted(targets)),
    )


class AgencyShareStore(Connection):
    """Rows of ``agency_shares`` with their units and targets."""

    def insert_agency_share(
        self,
        case_pk: int,
        from_agency: int,
        to_agency: int,
        auto_include: bool,
        units: Iterable[int],
        targets: Iterable[int],
        actor: str,
    ) -> int | None:
        """The new pending share's id; None when a live share of the case to that agency was
        committed first (the unique index ``agency_shares_live`` refused it)."""
        now = utcnow()
        try:
            with self.transaction():  # a savepoint: a refusal leaves the caller's work intact
                share_id = self.insert(
                    "INSERT INTO agency_shares (case_pk, from_agency_id, to_agency_id, status,"
                    " auto_include, created_by, created_at, modified_by, modified_at)"
                    " VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?)",
                    (case_pk, from_agency, to_agency, int(auto_include), actor, now, actor, now),
                )
        except integrity_errors():
            return None
        self.set_agency_share_members(share_id, units, targets)
        return share_id

    def set_agency_share_members(
        self, share_id: int, units: Iterable[int] | None, targets: Iterable[int] | None
    ) -> None:
        """Replace the share's units and/or targets (None leaves them as they are)."""
        if units is not None:
            self.execute("DELETE FROM agency_share_units WHERE share_id = ?", (share_id,))
            for group_id in sorted(set(units)):
                self.execute(
                    "INSERT INTO agency_share_units (share_id, group_id) VALUES (?, ?)",
                    (share_id, group_id),
                )
        if targets is not None:
            self.execute("DELETE FROM agency_share_targets WHERE share_id = ?", (share_id,))
            for target_id in sorted(set(targets)):
                self.add_agency_share_target(share_id, target_id)

    def add_agency_share_target(self, share_id: int, target_id: int) -> None:
        self.execute(
            "INSERT INTO agency_share_targets (share_id, target_id) VALUES (?, ?)",
            (share_id, target_id),
        )

    def _members(self, ids: list[int]) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
        units: dict[int, list[int]] = {i: [] for i in ids}
        targets: dict[int, list[int]] = {i: [] for i in ids}
        if not ids:
            return units, targets
        where, params = self.dialect.in_list("share_id", ids)
        for share_id, group_id in self.rows(
            f"SELECT share_id, group_id FROM agency_share_units WHERE {where}", params
        ):
            units[share_id].append(group_id)
        for share_id, target_id in self.rows(
            f"SELECT share_id, target_id FROM agency_share_targets WHERE {where}", params
        ):
            targets[share_id].append(target_id)
        return units, targets

    def _shares(self, where: str, params: Sequence[Any], limit: int = 500) -> list[AgencyShareRow]:
        rows = self.rows(
            f"SELECT {_COLS} FROM {_FROM} WHERE {where} ORDER BY s.id LIMIT {int(limit)}", params
        )
        units, targets = self._members([r[0] for r in rows])
        return [_row(r, units[r[0]], targets[r[0]]) for r in rows]

    def agency_share(self, share_id: int, *, lock: bool = False) -> AgencyShareRow | None:
        """One share; ``lock`` holds its row to the end of the transaction (PostgreSQL)."""
        if lock and self.is_postgres:
            self.execute("SELECT id FROM agency_shares WHERE id = ? FOR UPDATE", (share_id,))
        found = self._shares("s.id = ?", (share_id,), 1)
        return found[0] if found else None

    def agency_shares_of_case(self, case_pk: int) -> list[AgencyShareRow]:
        return self._shares("s.case_pk = ?", (case_pk,))

    def agency_shares_to(
        self, agency_id: int, *, status: str | None = None, after: int = 0, limit: int = 100
    ) -> list[AgencyShareRow]:
        where = "s.to_agency_id = ? AND s.id > ?"
        params: list[Any] = [agency_id, after]
        if status is not None:
            where += " AND s.status = ?"
            params.append(status)
        return self._shares(where, params, limit)

    def agency_shares_from(
        self, agency_id: int, *, status: str | None = None, after: int = 0, limit: int = 100
    ) -> list[AgencyShareRow]:
        where = "s.from_agency_id = ? AND s.id > ?"
        params: list[Any] = [agency_id, after]
        if status is not None:
            where += " AND s.status = ?"
            params.append(status)
        return self._shares(where, params, limit)

    def agency_shares_mapped_to(self, local_case_pk: int) -> list[AgencyShareRow]:
        return self._shares("s.local_case_pk = ? AND s.status = 'active'", (local_case_pk,))

    def auto_include_shares(self, case_pk: int) -> list[int]:
        """The live shares of a case that take targets added later."""
        return [
            int(r[0])
            for r in self.rows(
                "SELECT id FROM agency_shares WHERE case_pk = ? AND auto_include = 1"
                " AND status IN ('pending', 'active')",
                (case_pk,),
            )
        ]

    def case_by_pk(self, case_pk: int) -> CaseFacts | None:
        """A case of any agency by its key (no grants, no neighbours)."""
        row = self.row(f"SELECT {CASE_COLS} FROM cases WHERE pk = ?", (case_pk,))
        return None if row is None else case_facts(row)

    def received_shares(self, case_pk: int) -> tuple[ReceivedShare, ...]:
        """The active shares of a case, for the receiving side's decision (flowing unset)."""
        rows = self.rows(
            "SELECT id, from_agency_id, to_agency_id, status, receiving_user_id"
            " FROM agency_shares WHERE case_pk = ? AND status = 'active' ORDER BY id",
            (case_pk,),
        )
        units, _ = self._members([r[0] for r in rows])
        return tuple(ReceivedShare(r[0], r[1], r[2], r[3], r[4], tuple(units[r[0]])) for r in rows)

    def sharing_links(self, case_pks: Sequence[int]) -> list[tuple[int, str, int, int]]:
        """For S-AG-5, one query for a page of cases: (case pk, 'sent' or 'received', from
        agency, to agency) of each live share sent from them and each active one mapped to
        them."""
        if not case_pks:
            return []
        return self.sharing_links_of(self.rows(*self.sharing_links_query(case_pks)))

    def sharing_links_query(self, case_pks: Sequence[int]) -> tuple[str, list[Any]]:
        """``sharing_links``' statement (for ``rows_together``); its rows go to
        ``sharing_links_of``."""
        sent, p1 = self.dialect.in_list("case_pk", list(case_pks))
        got, p2 = self.dialect.in_list("local_case_pk", list(case_pks))
        return (
            "SELECT case_pk, 'sent', from_agency_id, to_agency_id FROM agency_shares"
            f" WHERE {sent} AND status IN ('pending', 'active')"
            " UNION ALL SELECT local_case_pk, 'received', from_agency_id, to_agency_id"
            f" FROM agency_shares WHERE {got} AND status = 'active'",
            [*p1, *p2],
        )

    @staticmethod
    def sharing_links_of(rows: Sequence[Sequence[Any]]) -> list[tuple[int, str, int, int]]:
        return [(int(r[0]), r[1], int(r[2]), int(r[3])) for r in rows]

    def sender_cards(self, case_pks: Sequence[int]) -> dict[int, dict[str, Any]]:
        """For cases of other agencies in a list (S-AG-4): the sending agency's name and the
        case owner's name and email (the opener's, when a group or location owns it)."""
        where, params = self.dialect.in_list("c.pk", list(case_pks))
        out = {}
        for pk, agency, owner_name, owner_user, email, opener, opener_email in self.rows(
            "SELECT c.pk, a.name, u.full_name, u.username, u.email, o.full_name, o.email"
            " FROM cases c JOIN agencies a ON a.id = c.agency_id"
            " LEFT JOIN users u ON u.id = c.owner_user_id"
            f" LEFT JOIN users o ON o.id = c.opened_by WHERE {where}",
            params,
        ):
            if owner_user is not None:
                name, mail = owner_name or owner_user, email
            else:
                name, mail = opener or "", opener_email or ""
            out[int(pk)] = {"agency": agency, "owner_name": name, "owner_email": mail}
        return out

    def transition_agency_share(
        self,
        share_id: int,
        expected: tuple[Status, ...],
        new: Status,
        actor: str,
        *,
        answered: bool = False,
        reason: str | None = None,
        receiving_user: int | None = None,
        local_case_pk: int | None = None,
    ) -> bool:
        """Move to ``new`` only from one of ``expected``, in one statement: False when another
        transition got there first."""
        now = utcnow()
        values: dict[str, Any] = {"status": new.value, "modified_by": actor, "modified_at": now}
        if answered:
            values |= {"answered_by": actor, "answered_at": now}
        if reason is not None:
            values["reason"] = reason
        if receiving_user is not None:
            values["receiving_user_id"] = receiving_user
        if local_case_pk is not None:
            values["local_case_pk"] = local_case_pk
        return self.move_status("agency_shares", share_id, [s.value for s in expected], values)

    def touch_agency_share(
        self, share_id: int, expected: tuple[Status, ...], actor: str, auto_include: bool | None
    ) -> bool:
        """Claim the share for an edit while its status is one of ``expected``."""
        sets = ["modified_by = ?", "modified_at = ?"]
        params: list[Any] = [actor, utcnow()]
        if auto_include is not None:
            sets.append("auto_include = ?")
            params.append(int(auto_include))
        marks = ", ".join("?" * len(expected))
        cur = self.execute(
            f"UPDATE agency_shares SET {', '.join(sets)} WHERE id = ? AND status IN ({marks})",
            [*params, share_id, *(s.value for s in expected)],
        )
        return int(cur.rowcount) == 1
