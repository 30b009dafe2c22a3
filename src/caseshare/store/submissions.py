"""Device submissions, the case transactions they made, and case rows written from case state."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from caseshare.store.base import Row, dumps, loads, planned_each_run, utcnow
from caseshare.store.casestates import STATE_COLS, CaseStateStore, Found, IndexRow

__all__ = ["STATE_COLS", "IndexRow", "SubmissionRow", "SubmissionStore", "TransactionRow"]

#: the advisory-lock class that serialises one agency's case transactions on PostgreSQL
_LOCK_CLASS: Final = 0x4353  # "CS"
#: the columns of the case transactions a form writes (``add_form_transactions``)
_FORM_TX_COLS: Final = (
    "agency_id",
    "case_id",
    "submission_id",
    "position",
    "server_date",
    "client_date",
    "kinds",
    "owner",
)
SUBMISSION_COLS: Final = (
    "id, agency_id, instance_id, user_id, received_on, position, xml, content_hash, status, problem"
)
_CURRENT: Final = (
    f"SELECT {SUBMISSION_COLS} FROM submissions WHERE agency_id = ? AND instance_id = ?"
    " AND status IN ('normal', 'archived')"
)
_WITH_HISTORY: Final = (
    "SELECT DISTINCT case_id FROM case_transactions WHERE agency_id = ?"
    " AND revoked = 0 AND kinds <> 'rebuild' AND {}"
)
#: ``_WITH_HISTORY`` on PostgreSQL: each case probes (agency_id, case_id, position) for its first
#: live transaction. The IN-list form let the planner, misled by statistics older than the
#: agency's transactions, walk every transaction of the agency by (agency_id, id) and filter
#: (issue 12 item 4); the agency is a parameter for the same reason (``Dialect.agency_is``).
#: Never prepared: a generic plan made while the agency's transactions were few scanned them
#: all for each case (``planned_each_run``).
_WITH_HISTORY_PG: Final = planned_each_run(
    "SELECT w.id FROM unnest(CAST(? AS text[])) AS w(id) CROSS JOIN LATERAL (SELECT 1 FROM"
    " case_transactions t WHERE t.agency_id = (SELECT CAST(? AS bigint)) AND t.case_id = w.id"
    " AND t.revoked = 0 AND t.kinds <> 'rebuild'"
    " ORDER BY t.agency_id, t.case_id, t.position LIMIT 1) AS h"
)
TRANSACTION_COLS: Final = (
    "id, case_id, submission_id, position, server_date, client_date, kinds, owner, revoked,"
    " snapshot"
)


def lock_key(agency_id: int, key: str) -> int:
    """The 64-bit advisory-lock key of one case (or other name) of an agency."""
    digest = hashlib.blake2b(f"{agency_id}\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass(frozen=True)
class SubmissionRow:
    id: int
    agency_id: int
    instance_id: str
    user_id: int | None
    received_on: str
    #: where the submission sits in the agency's received order (an edit keeps the original's)
    position: int
    xml: str
    content_hash: str
    status: str
    problem: str


@dataclass(frozen=True)
class TransactionRow:
    id: int
    case_id: str
    submission_id: int | None
    position: int
    server_date: str
    client_date: str | None
    #: comma-separated: create, update, close, index, attachment, touch, cascade, baseline,
    #: rebuild, api (a baseline recording a change made outside forms, with what it was:
    #: create, delete, restore), unlink (indices to a purged case were cut)
    kinds: str
    #: the owner the case had right after this transaction was received (S-CRT-2 included)
    owner: str | None
    revoked: bool
    #: a ``baseline``'s case state: (columns, indices) as ``case_state_columns`` gives them
    snapshot: Any = None

    @property
    def kind_set(self) -> frozenset[str]:
        return frozenset(self.kinds.split(","))


class SubmissionStore(CaseStateStore):
    """Repository for submissions and case transactions; the history a case is rebuilt from."""

    @property
    def per_case_locks(self) -> bool:
        """Whether ``lock_cases`` lets writes to distinct cases run side by side (PostgreSQL);
        SQLite admits one writer at a time whatever is locked (``BEGIN IMMEDIATE``)."""
        return self.is_postgres

    def lock_case_transactions(self, agency_id: int, *, with_next: bool = False) -> None:
        """Serialise every case write of one agency until the transaction ends (S-TX-6).

        SQLite serialises every writer already (``BEGIN IMMEDIATE``); on PostgreSQL this is the
        agency's transaction-scoped advisory lock taken whole: it waits for every form holding
        its cases (``lock_cases``), and every later form waits for it. ``with_next``: sent with
        the transaction's next statement (``later``), which the server runs once the lock is
        granted: a round trip fewer.
        """
        if self.is_postgres:
            (self.later if with_next else self.execute)(
                "SELECT pg_advisory_xact_lock(CAST(? AS integer), CAST(? AS integer))",
                (_LOCK_CLASS, agency_id),
            )

    def lock_cases(self, agency_id: int, keys: Iterable[str], *, with_next: bool = False) -> None:
        """Serialise writes to the same cases only, until the transaction ends (S-TX-6).

        On PostgreSQL: the agency's lock shared (so ``lock_case_transactions`` still waits for
        every form, and they for it), then one transaction-scoped advisory lock per key — a case
        id, or any other name a form writes under (its instanceID, its device's sync token) —
        taken in one statement in the order of the keys' hashes, the same order for every form,
        so two forms naming cases A and B and B and A never wait for each other in a cycle. Two
        keys whose hashes collide merely wait for each other. SQLite: nothing to do.
        ``with_next`` as for ``lock_case_transactions`` (a form's locks go with its first reads).
        """
        if not self.is_postgres:
            return
        hashes = sorted({lock_key(agency_id, key) for key in keys})
        (self.later if with_next else self.execute)(
            "SELECT pg_advisory_xact_lock_shared(CAST(? AS integer), CAST(? AS integer))"
            " UNION ALL SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(? AS bigint[])) AS k",
            (_LOCK_CLASS, agency_id, hashes),
        )

    # -- submissions ------------------------------------------------------------------------------

    def insert_submission(
        self,
        agency_id: int,
        instance_id: str,
        user_id: int | None,
        xml: str,
        content_hash: str,
        status: str,
        *,
        problem: str = "",
        position: int | None = None,
        received_on: str | None = None,
        sync_token: str | None = None,
        submission_id: int | None = None,
    ) -> int:
        """Store a submission; returns its id. ``submission_id``: on PostgreSQL, an id drawn
        already (``draw_submission_id``): the row is then written with the form's other
        writes (``later``), not in a round trip of its own."""
        values = (
            agency_id,
            instance_id,
            user_id,
            received_on or utcnow(),
            position,
            xml,
            content_hash,
            status,
            problem,
            sync_token,
        )
        if self.is_postgres and submission_id is not None:
            self.later(
                "INSERT INTO submissions (id, agency_id, instance_id, user_id, received_on,"
                " position, xml, content_hash, status, problem, sync_token)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    submission_id,
                    *values[:4],
                    submission_id if position is None else position,
                    *values[5:],
                ),
            )
            return submission_id
        if self.is_postgres:
            # one round trip: the id is drawn first, so a new form's position (its id) is
            # written by the INSERT itself rather than by a second UPDATE
            return self.insert(
                "INSERT INTO submissions (id, agency_id, instance_id, user_id, received_on,"
                " position, xml, content_hash, status, problem, sync_token)"
                " SELECT n.id, ?, ?, ?, ?, COALESCE(?::bigint, n.id), ?, ?, ?, ?, ? FROM"
                " (SELECT nextval(pg_get_serial_sequence('submissions', 'id')) AS id) n",
                values,
            )
        sub_id = self.insert(
            "INSERT INTO submissions (agency_id, instance_id, user_id, received_on, position, xml,"
            " content_hash, status, problem, sync_token) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            values,
        )
        if position is None:
            self.execute("UPDATE submissions SET position = id WHERE id = ?", (sub_id,))
        return sub_id

    @staticmethod
    def draw_submission_id() -> tuple[str, Sequence[Any]]:
        """PostgreSQL: the query that draws the next submission id, for a pipeline (a form's
        first reads, under its locks: the id is its received position, S-TX-3). An id drawn
        for a form that is then refused or found a duplicate is never used."""
        return "SELECT nextval(pg_get_serial_sequence('submissions', 'id'))", ()

    def submission(self, submission_id: int) -> SubmissionRow | None:
        row = self.row(f"SELECT {SUBMISSION_COLS} FROM submissions WHERE id = ?", (submission_id,))
        return None if row is None else SubmissionRow(*row)

    def current_submission(self, agency_id: int, instance_id: str) -> SubmissionRow | None:
        """The version of an instanceID that counts (normal or archived), if any."""
        row = self.row(_CURRENT, (agency_id, instance_id))
        return None if row is None else SubmissionRow(*row)

    def current_submission_and_states(
        self, agency_id: int, instance_id: str, case_ids: list[str]
    ) -> tuple[SubmissionRow | None, dict[str, Found], set[str] | None]:
        """``current_submission``, ``case_states`` and (on PostgreSQL) ``with_history`` of the
        cases at once: a form's first reads, one round trip on PostgreSQL (one pipeline). The
        third is None on SQLite, where a form that creates every case it names need not ask."""
        current, states, history, _, _ = self.form_first_reads(
            agency_id, instance_id, case_ids, version=False
        )
        return current, states, history

    def form_first_reads(
        self,
        agency_id: int,
        instance_id: str,
        case_ids: list[str],
        *,
        version: bool = True,
        also: Sequence[tuple[str, Sequence[Any]]] = (),
    ) -> tuple[
        SubmissionRow | None, dict[str, Found], set[str] | None, int | None, list[list[Row]] | None
    ]:
        """``current_submission_and_states`` and, on PostgreSQL, the agency's version read in
        the same pipeline (None on SQLite): a form that read the agency's context before it
        waited for its case locks learns whether a structural change committed meanwhile.

        ``also``: more independent queries for the same pipeline on PostgreSQL (the facts of
        the form's cases, so the S-TX-7 check costs no round trip of its own); their rows come
        last. On SQLite they are not run (None), and the caller asks them itself."""
        extra: list[tuple[str, Sequence[Any]]] = [(_CURRENT, (agency_id, instance_id))]
        version = version and self.is_postgres
        if version:
            extra.append(("SELECT version FROM agencies WHERE id = ?", (agency_id,)))
        if self.is_postgres and case_ids:
            extra.append((_WITH_HISTORY_PG, (list(case_ids), agency_id)))
        if self.is_postgres:
            extra += also
        states, (rows, *more) = self.case_states_with(agency_id, case_ids, extra)
        current = SubmissionRow(*rows[0]) if rows else None
        if not self.is_postgres:
            return current, states, None, None, None
        also_rows = more[len(more) - len(also) :]
        more = more[: len(more) - len(also)]
        found = None
        if version:
            read, *more = more
            found = int(read[0][0]) if read else None
        history = {r[0] for r in more[0]} if more else set()
        return current, states, history, found, also_rows

    def submissions(self, agency_id: int, instance_id: str | None = None) -> list[SubmissionRow]:
        """Every stored submission of the agency (or of one instanceID), oldest first."""
        sql = f"SELECT {SUBMISSION_COLS} FROM submissions WHERE agency_id = ?"
        params: list[Any] = [agency_id]
        if instance_id is not None:
            sql += " AND instance_id = ?"
            params.append(instance_id)
        return [SubmissionRow(*r) for r in self.rows(sql + " ORDER BY id", params)]

    def set_submission_status(
        self, submission_id: int, status: str, replaced_by: int | None = None
    ) -> None:
        self.execute(
            "UPDATE submissions SET status = ?, replaced_by = ? WHERE id = ?",
            (status, replaced_by, submission_id),
        )
        revoked = int(status in ("archived", "deprecated"))
        self.execute(
            "UPDATE case_transactions SET revoked = ? WHERE submission_id = ?",
            (revoked, submission_id),
        )

    # -- case transactions ----------------------------------------------------------------------

    def add_transaction(
        self,
        agency_id: int,
        case_id: str,
        submission_id: int | None,
        position: int,
        kinds: Sequence[str],
        *,
        client_date: str | None,
        owner: str | None = None,
        refs: Sequence[str] = (),
        snapshot: Any = None,
    ) -> int:
        tx_id = self.insert(
            "INSERT INTO case_transactions (agency_id, case_id, submission_id, position,"
            " server_date, client_date, kinds, owner, snapshot)"
            f" VALUES (?, ?, ?, ?, ?, ?, ?, ?, {self.dialect.json_param()})",
            (
                agency_id,
                case_id,
                submission_id,
                position,
                utcnow(),
                client_date,
                ",".join(kinds),
                owner,
                None if snapshot is None else dumps(snapshot),
            ),
        )
        for ref in sorted(set(refs)):
            self.execute(
                "INSERT INTO transaction_refs (transaction_id, agency_id, ref_case_id)"
                " VALUES (?, ?, ?)",
                (tx_id, agency_id, ref),
            )
        return tx_id

    def delete_transaction(self, transaction_id: int) -> None:
        """Take back a transaction recorded in the same database transaction (never history)."""
        self.execute("DELETE FROM transaction_refs WHERE transaction_id = ?", (transaction_id,))
        self.execute("DELETE FROM case_transactions WHERE id = ?", (transaction_id,))

    def forget_case(self, agency_id: int, case_id: str) -> None:
        """Purge for good (S-SHR-8): the case's transactions go, and so does every record that
        another transaction's index named it (a new case of that id is not their referent)."""
        self.execute(
            "DELETE FROM transaction_refs WHERE transaction_id IN (SELECT id FROM"
            " case_transactions WHERE agency_id = ? AND case_id = ?)",
            (agency_id, case_id),
        )
        self.execute(
            "DELETE FROM case_transactions WHERE agency_id = ? AND case_id = ?",
            (agency_id, case_id),
        )
        self.execute(
            "DELETE FROM transaction_refs WHERE agency_id = ? AND ref_case_id = ?",
            (agency_id, case_id),
        )

    def ever_referrers(self, agency_id: int, case_id: str) -> list[str]:
        """Cases any of whose transactions (revoked ones too) index ``case_id``."""
        rows = self.rows(
            "SELECT DISTINCT t.case_id FROM transaction_refs r"
            " JOIN case_transactions t ON t.id = r.transaction_id"
            " WHERE r.agency_id = ? AND r.ref_case_id = ? ORDER BY t.case_id",
            (agency_id, case_id),
        )
        return [r[0] for r in rows]

    def received_position(self, agency_id: int) -> int:
        """Where a change made now sits in the agency's received order: after every form
        received so far (a form received later gets a larger position)."""
        found = self.value("SELECT max(id) FROM submissions WHERE agency_id = ?", (agency_id,))
        return int(found or 0)

    def with_history(self, agency_id: int, case_ids: Sequence[str]) -> set[str]:
        """Those of ``case_ids`` that have a live history (``has_transactions``), in one query."""
        if not case_ids:
            return set()
        if self.is_postgres:
            return {r[0] for r in self.rows(_WITH_HISTORY_PG, (list(case_ids), agency_id))}
        wanted, params = self.dialect.in_list("case_id", list(case_ids))
        rows = self.rows(_WITH_HISTORY.format(wanted), (agency_id, *params))
        return {r[0] for r in rows}

    def referrers_of(self, agency_id: int, case_ids: Sequence[str]) -> set[str]:
        """``referrers`` of many cases at once."""
        if not case_ids:
            return set()
        sql, params = self.referrers_statement(agency_id, case_ids)
        return {r[1] for r in self.rows(sql, params)}

    def referrers_statement(
        self, agency_id: int, case_ids: Sequence[str]
    ) -> tuple[str, Sequence[Any]]:
        """The query of ``referrers_of``, for a pipeline (``form_first_reads``' ``also``): rows
        of (referenced case, referring case). Planned at every run on PostgreSQL: the table of
        references grows from empty, as the history does (``planned_each_run``)."""
        wanted, params = self.dialect.in_list("r.ref_case_id", list(case_ids))
        sql = (
            "SELECT DISTINCT r.ref_case_id, t.case_id FROM transaction_refs r"
            " JOIN case_transactions t ON t.id = r.transaction_id"
            f" WHERE r.agency_id = ? AND {wanted} AND t.revoked = 0"
        )
        return (planned_each_run(sql) if self.is_postgres else sql), (agency_id, *params)

    def set_transaction_owners(self, owners: Mapping[int, str]) -> None:
        """``set_transaction_owner`` for many transactions at once."""
        self.executemany(
            "UPDATE case_transactions SET owner = ? WHERE id = ?",
            [(owner, tx_id) for tx_id, owner in owners.items()],
        )

    def has_any_history(self, agency_id: int, case_id: str) -> bool:
        """Whether any transaction (revoked ones too) was ever recorded for the case: a case
        without one was made outside forms before every API write became a transaction."""
        return (
            self.value(
                "SELECT 1 FROM case_transactions WHERE agency_id = ? AND case_id = ?"
                " AND kinds <> 'rebuild' LIMIT 1",
                (agency_id, case_id),
            )
            is not None
        )

    def has_transactions(self, agency_id: int, case_id: str) -> bool:
        """Whether the case has a live history (revoked and ``rebuild`` rows do not count: a
        case re-made outside forms after its forms were archived starts a new history)."""
        return (
            self.value(
                "SELECT 1 FROM case_transactions WHERE agency_id = ? AND case_id = ?"
                " AND revoked = 0 AND kinds <> 'rebuild' LIMIT 1",
                (agency_id, case_id),
            )
            is not None
        )

    def add_baseline(
        self,
        agency_id: int,
        case_id: str,
        position: int,
        kinds: Sequence[str] = ("baseline",),
    ) -> None:
        """Record the case's stored state as a ``baseline`` its replay starts from (S-TX-8); the
        cases its indices name are recorded as its refs, so their comeback re-links it."""
        found = self.case_state_columns(agency_id, case_id)
        if found is None:
            return
        self.add_transaction(
            agency_id,
            case_id,
            None,
            position,
            kinds,
            client_date=found[1]["modified_on"],
            refs=[i[1] for i in found[2]],
            snapshot=[found[1], found[2]],
        )

    def note_outside_change(self, case_pk: int, *what: str) -> None:
        """Every change of a case made outside forms (the sharing API: create, close, owner,
        name, properties, delete, restore) is a case transaction: the case's new state as a
        ``baseline,api`` after every form received so far. A rebuild keeps the change (S-TX-4,
        S-TX-8), and incremental restores find it like any other transaction (S-SYNC-2)."""
        row = self.row("SELECT agency_id, case_id FROM cases WHERE pk = ?", (case_pk,))
        if row is not None:
            position = self.received_position(row[0])
            self.add_baseline(row[0], row[1], position, ("baseline", "api", *what))

    def indexing_cases(self, case_pk: int) -> list[str]:
        """The case ids of the cases whose index rows point at this case."""
        rows = self.rows(
            "SELECT DISTINCT c.case_id FROM case_indices i JOIN cases c ON c.pk = i.case_pk"
            " WHERE i.ref_pk = ? ORDER BY c.case_id",
            (case_pk,),
        )
        return [r[0] for r in rows]

    def set_transaction_owner(self, transaction_id: int, owner: str) -> None:
        self.execute("UPDATE case_transactions SET owner = ? WHERE id = ?", (owner, transaction_id))

    def transactions(
        self, agency_id: int, case_id: str, *, live_only: bool = False
    ) -> list[TransactionRow]:
        """A case's transactions in replay order (received order, then as recorded)."""
        sql = (
            f"SELECT {TRANSACTION_COLS} FROM case_transactions WHERE agency_id = ? AND case_id = ?"
        )
        if live_only:
            sql += " AND revoked = 0 AND kinds <> 'rebuild'"
        rows = self.rows(sql + " ORDER BY position, id", (agency_id, case_id))
        return [
            TransactionRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8]), loads(r[9]))
            for r in rows
        ]

    def add_form_transactions(
        self,
        agency_id: int,
        submission_id: int,
        position: int,
        rows: Sequence[tuple[str, Sequence[str], str | None, Sequence[str]]],
        owners: Mapping[str, str] | None = None,
        *,
        need_ids: bool = True,
    ) -> dict[str, int]:
        """One transaction per case of a form, in two statements: (case id, kinds, client
        date, refs) each, and the owner each case has after it when the caller knows it
        already (else ``set_transaction_owners`` writes it). Returns each case's transaction
        id; with ``need_ids`` False, when no transaction has refs, nothing (the rows are written
        with the form's other writes, ``later``)."""
        now = utcnow()
        owners = owners or {}
        later = not need_ids and not any(refs for _, _, _, refs in rows)
        found = self.insert_many(
            "case_transactions",
            _FORM_TX_COLS,
            ("bigint", "text", "bigint", "bigint", "text", "text", "text", "text"),
            [
                (
                    agency_id,
                    case_id,
                    submission_id,
                    position,
                    now,
                    date,
                    ",".join(kinds),
                    owners.get(case_id),
                )
                for case_id, kinds, date, _ in rows
            ],
            returning="" if later else "case_id, id",
            later=later,
        )
        if later:
            return {}
        ids = {r[0]: int(r[1]) for r in found}
        self.insert_many(
            "transaction_refs",
            ("transaction_id", "agency_id", "ref_case_id"),
            ("bigint", "bigint", "text"),
            [
                (ids[case_id], agency_id, ref)
                for case_id, _, _, refs in rows
                for ref in sorted(set(refs))
            ],
        )
        return ids

    def transactions_of(
        self, agency_id: int, case_ids: Sequence[str]
    ) -> dict[str, list[TransactionRow]]:
        """``transactions(live_only=True)`` of many cases in one query."""
        if not case_ids:
            return {}
        wanted, params = self.dialect.in_list("case_id", list(case_ids))
        rows = self.rows(
            f"SELECT {TRANSACTION_COLS} FROM case_transactions WHERE agency_id = ? AND {wanted}"
            " AND revoked = 0 AND kinds <> 'rebuild' ORDER BY case_id, position, id",
            (agency_id, *params),
        )
        out: dict[str, list[TransactionRow]] = {}
        for r in rows:
            out.setdefault(r[1], []).append(
                TransactionRow(
                    r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8]), loads(r[9])
                )
            )
        return out

    def add_rebuild_transactions(
        self, agency_id: int, case_ids: Sequence[str], position: int
    ) -> None:
        """A ``rebuild`` transaction (never replayed; it tells sync the case changed) for each."""
        now = utcnow()
        self.executemany(
            "INSERT INTO case_transactions (agency_id, case_id, submission_id, position,"
            " server_date, client_date, kinds) VALUES (?, ?, NULL, ?, ?, NULL, 'rebuild')",
            [(agency_id, case_id, position, now) for case_id in case_ids],
        )

    def cases_of_submission(self, submission_id: int) -> list[str]:
        rows = self.rows(
            "SELECT DISTINCT case_id FROM case_transactions WHERE submission_id = ?"
            " ORDER BY case_id",
            (submission_id,),
        )
        return [r[0] for r in rows]

    def referrers(self, agency_id: int, case_id: str) -> list[str]:
        """Cases whose live history indexes ``case_id`` (their index rows follow it)."""
        rows = self.rows(
            "SELECT DISTINCT t.case_id FROM transaction_refs r"
            " JOIN case_transactions t ON t.id = r.transaction_id"
            " WHERE r.agency_id = ? AND r.ref_case_id = ? AND t.revoked = 0 ORDER BY t.case_id",
            (agency_id, case_id),
        )
        return [r[0] for r in rows]
