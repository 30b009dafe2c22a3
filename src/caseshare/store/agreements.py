"""Agreements between agencies; every status change is one conditional UPDATE, so of two
racing transitions exactly one finds the status it expects (S-AG-1)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from caseshare.core.agreements import FLAGS, Agreement, Side, Status
from caseshare.store.base import Connection, dumps, integrity_errors, loads, utcnow

_COLS = (
    "a.id, a.proposer_id, a.partner_id, a.status, a.proposer_flags, a.partner_flags,"
    " a.start_date, a.end_date, a.proposed_by, a.proposed_at, a.answered_by, a.answered_at,"
    " a.reason, a.closed_by, a.closed_at, a.superseded_by, a.modified_by, a.modified_at,"
    " p.name, q.name, p.slug, q.slug"
)
_FROM = (
    "agreements a JOIN agencies p ON p.id = a.proposer_id JOIN agencies q ON q.id = a.partner_id"
)


@dataclass(frozen=True)
class AgreementRow:
    """The stored agreement: the pure :class:`Agreement` and who did what when."""

    agreement: Agreement
    proposer_slug: str
    partner_slug: str
    proposed_by: str
    proposed_at: str
    answered_by: str | None
    answered_at: str | None
    reason: str
    closed_by: str | None
    closed_at: str | None
    superseded_by: int | None
    modified_by: str
    modified_at: str

    @property
    def id(self) -> int:
        return self.agreement.id

    @property
    def status(self) -> Status:
        return self.agreement.status


def _day(value: Any) -> dt.date | None:
    return None if value in (None, "") else dt.date.fromisoformat(str(value))


def _side(agency_id: int, name: str, flags: Any) -> Side:
    data = loads(flags) or {}
    return Side(agency_id, name, **{f: bool(data.get(f, False)) for f in FLAGS})


def _row(r: tuple[Any, ...]) -> AgreementRow:
    agreement = Agreement(
        r[0],
        _side(r[1], r[18], r[4]),
        _side(r[2], r[19], r[5]),
        Status(r[3]),
        _day(r[6]),
        _day(r[7]),
    )
    return AgreementRow(agreement, r[20], r[21], *r[8:18])


def _text(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


class AgreementStore(Connection):
    """Agreements are read whole; transitions and edits name the status they expect."""

    def insert_agreement(
        self,
        proposer: Side,
        partner: Side,
        start: dt.date | None,
        end: dt.date | None,
        actor: str,
    ) -> int | None:
        """The new pending agreement's id; None when another pending one between the same two
        agencies was committed first (the unique index ``agreements_pending`` refused it)."""
        now = utcnow()
        j = self.dialect.json_param()
        low, high = sorted((proposer.agency_id, partner.agency_id))
        params = (
            proposer.agency_id,
            partner.agency_id,
            low,
            high,
            dumps(proposer.flags()),
            dumps(partner.flags()),
            _text(start),
            _text(end),
            actor,
            now,
            actor,
            now,
        )
        try:
            with self.transaction():  # a savepoint: a refusal leaves the caller's work intact
                return self.insert(
                    "INSERT INTO agreements (proposer_id, partner_id, pair_low, pair_high,"
                    " status, proposer_flags, partner_flags, start_date, end_date, proposed_by,"
                    " proposed_at, modified_by, modified_at)"
                    f" VALUES (?, ?, ?, ?, 'pending', {j}, {j}, ?, ?, ?, ?, ?, ?)",
                    params,
                )
        except integrity_errors():
            return None

    def agreement_row(self, agreement_id: int, *, lock: bool = False) -> AgreementRow | None:
        """One agreement; ``lock`` holds its row until the transaction ends (PostgreSQL's
        ``FOR UPDATE``; SQLite's write transactions hold the whole database already), so an
        edit reads, checks and writes with no other change in between."""
        if lock and self.is_postgres:
            self.execute("SELECT id FROM agreements WHERE id = ? FOR UPDATE", (agreement_id,))
        found = self.row(f"SELECT {_COLS} FROM {_FROM} WHERE a.id = ?", (agreement_id,))
        return None if found is None else _row(found)

    def agreements_of(
        self, agency_id: int, *, status: str | None = None, after: int = 0, limit: int = 100
    ) -> list[AgreementRow]:
        """The agreements an agency is a side of, by id."""
        sql = (
            f"SELECT {_COLS} FROM {_FROM} WHERE (a.proposer_id = ? OR a.partner_id = ?)"
            " AND a.id > ?"
        )
        params: list[Any] = [agency_id, agency_id, after]
        if status is not None:
            sql += " AND a.status = ?"
            params.append(status)
        return [_row(r) for r in self.rows(sql + f" ORDER BY a.id LIMIT {int(limit)}", params)]

    def live_agreement(self, a: int, b: int, status: Status) -> AgreementRow | None:
        """The pending or approved agreement between two agencies, whichever proposed it."""
        low, high = sorted((a, b))
        found = self.row(
            f"SELECT {_COLS} FROM {_FROM} WHERE a.pair_low = ? AND a.pair_high = ?"
            " AND a.status = ?",
            (low, high, status.value),
        )
        return None if found is None else _row(found)

    def transition(
        self,
        agreement_id: int,
        expected: tuple[Status, ...],
        new: Status,
        actor: str,
        *,
        answered: bool = False,
        closed: bool = False,
        reason: str | None = None,
        superseded_by: int | None = None,
    ) -> bool:
        """Move to ``new`` only from one of ``expected``, in one statement: False when the status
        was something else by the time the row was locked (another transition won)."""
        now = utcnow()
        values: dict[str, Any] = {"status": new.value, "modified_by": actor, "modified_at": now}
        if answered:
            values |= {"answered_by": actor, "answered_at": now}
        if closed:
            values |= {"closed_by": actor, "closed_at": now}
        if reason is not None:
            values["reason"] = reason
        if superseded_by is not None:
            values["superseded_by"] = superseded_by
        return self.move_status("agreements", agreement_id, [s.value for s in expected], values)

    def update_agreement(
        self,
        agreement_id: int,
        expected: tuple[Status, ...],
        proposer: Side,
        partner: Side,
        start: dt.date | None,
        end: dt.date | None,
        actor: str,
    ) -> bool:
        """New switches and dates, only while the status is one of ``expected``."""
        j = self.dialect.json_param()
        marks = ", ".join("?" * len(expected))
        cur = self.execute(
            f"UPDATE agreements SET proposer_flags = {j}, partner_flags = {j}, start_date = ?,"
            " end_date = ?, modified_by = ?, modified_at = ?"
            f" WHERE id = ? AND status IN ({marks})",
            [
                dumps(proposer.flags()),
                dumps(partner.flags()),
                _text(start),
                _text(end),
                actor,
                utcnow(),
                agreement_id,
                *(s.value for s in expected),
            ],
        )
        return int(cur.rowcount) == 1
