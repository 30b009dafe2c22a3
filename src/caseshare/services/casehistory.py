"""Case state from history: rows ↔ state, replaying a case's transactions, writing the result."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from caseshare.core.casestate import CaseState, IndexState
from caseshare.core.casexml import CaseBlock, parse_stored
from caseshare.core.engine import AgencyContext
from caseshare.core.errors import CaseShareError
from caseshare.core.replay import Entry, Step, apply_step, prepare_block, replay_order
from caseshare.services.base import ServiceBase, actor_name
from caseshare.store.submissions import IndexRow, TransactionRow

#: a case as the store holds what history decides: (state columns, indices)
Snapshot = tuple[dict[str, Any], list[IndexRow]]


@functools.lru_cache(maxsize=4096)
def fmt_time(moment: datetime | None) -> str | None:
    """A datetime in the store's fixed-width UTC text form (remembered for the last few
    thousand: a form's blocks mostly share one time, and each block's is formatted four times).

    The year is zero-padded to four digits by hand: ``strftime("%Y")`` does not pad years below
    1000 on Linux, and ``parse_time`` (``fromisoformat``) needs four digits."""
    if moment is None:
        return None
    u = moment.astimezone(UTC)
    return (
        f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"
        f".{u.microsecond:06d}Z"
    )


@functools.lru_cache(maxsize=4096)
def parse_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _user(value: str | None) -> int | None:
    return int(value) if value is not None and value.isascii() and value.isdigit() else None


def columns_of(state: CaseState) -> Snapshot:
    """The ``cases`` columns and index rows of a case state (its owner must be decided)."""
    assert state.owner_id is not None, "S-CRT-2 decides an owner before a case is written"
    columns = {
        "case_type": state.case_type,
        "name": state.case_name,
        "external_id": state.external_id or "",
        "owner": state.owner_id,
        "opened_on": fmt_time(state.opened_on),
        "opened_by": _user(state.opened_by),
        "modified_on": fmt_time(state.modified_on),
        "modified_by": _user(state.modified_by),
        "closed": state.closed,
        "closed_on": fmt_time(state.closed_on),
        "closed_by": _user(state.closed_by),
        "properties": dict(state.properties),
    }
    indices = sorted(
        (identifier, i.referenced_id, i.case_type, i.relationship)
        for identifier, i in state.indices.items()
    )
    return columns, indices


def state_of(case_id: str, columns: Mapping[str, Any], indices: Iterable[IndexRow]) -> CaseState:
    """The case state a stored row stands for (``columns_of`` inverted)."""

    def user(value: Any) -> str | None:
        return None if value is None else str(value)

    return CaseState(
        case_id=case_id,
        case_type=columns["case_type"],
        case_name=columns["name"],
        owner_id=columns["owner"],
        external_id=columns["external_id"] or None,
        closed=bool(columns["closed"]),
        opened_on=parse_time(columns["opened_on"]),
        opened_by=user(columns["opened_by"]),
        modified_on=parse_time(columns["modified_on"]),
        modified_by=user(columns["modified_by"]),
        closed_on=parse_time(columns["closed_on"]),
        closed_by=user(columns["closed_by"]),
        properties=MappingProxyType(dict(columns["properties"])),
        indices=MappingProxyType(
            {ident: IndexState(ref_type, ref, rel) for ident, ref, ref_type, rel in indices}
        ),
    )


def summary(columns: Mapping[str, Any] | None) -> dict[str, Any]:
    """What an audit event shows of a case state."""
    if columns is None:
        return {}
    keys = ("case_type", "name", "external_id", "owner", "closed", "properties")
    return {k: columns[k] for k in keys}


def changes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> tuple[Any, Any]:
    """(before, after) of an audit event: only the fields that changed."""
    old, new = summary(before), summary(after)
    keys = [k for k in (*old, *new) if old.get(k) != new.get(k)]
    keys = list(dict.fromkeys(keys))
    return (
        {k: old[k] for k in keys if k in old} or None,
        {k: new[k] for k in keys if k in new} or None,
    )


@dataclass(frozen=True)
class _Form:
    """A stored form as replays need it: who sent it, when, and its blocks by case."""

    user: str | None
    received: datetime
    blocks: Mapping[str, tuple[CaseBlock, ...]]


#: how many parsed forms a service keeps for replays (a form's XML never changes)
_FORM_CACHE = 64


class HistoryService(ServiceBase):
    """Replays and rebuilds cases from their transactions (S-TX-8, S-TX-3)."""

    def context(self, agency_id: int) -> AgencyContext:
        pinned: AgencyContext | None = self.__dict__.get("_pinned")
        if pinned is not None and pinned.agency_id == agency_id:
            return pinned
        return super().context(agency_id)

    @contextmanager
    def pinned_context(self, agency_id: int, read: AgencyContext | None = None) -> Iterator[None]:
        """The agency's context read once for a whole form or rebuild, not once per case (a
        version check is a round trip: a thousand of them cost seconds on PostgreSQL).

        ``read``: a context the caller has just read, used instead of reading it again."""
        self.__dict__["_pinned"] = read if read is not None else super().context(agency_id)
        try:
            yield
        finally:
            self.__dict__.pop("_pinned", None)

    def _form(self, submission_id: int) -> _Form:
        """A stored form, parsed once per service: a rebuild of the cases of a form of 1,000
        blocks reads and parses it once, not once per case."""
        cache: dict[int, _Form] = self.__dict__.setdefault("_forms", {})
        found = cache.get(submission_id)
        if found is None:
            sub = self.store.submission(submission_id)
            assert sub is not None
            received = parse_time(sub.received_on)
            assert received is not None
            user = None if sub.user_id is None else str(sub.user_id)
            by_case: dict[str, list[CaseBlock]] = {}
            for b in parse_stored(sub.xml).blocks:
                by_case.setdefault(b.case_id, []).append(prepare_block(b, user or "", received))
            found = _Form(user, received, {c: tuple(bs) for c, bs in by_case.items()})
            if len(cache) >= _FORM_CACHE:
                cache.pop(next(iter(cache)))
            cache[submission_id] = found
        return found

    def replay_case(
        self, agency_id: int, case_id: str, until: int | None = None
    ) -> CaseState | None:
        """What the case's live transactions, replayed in order, make of it (None: no case).

        With ``until`` (a transaction id), the replay stops right after that transaction."""
        state: CaseState | None = None
        for step in self._steps(agency_id, case_id):
            state = apply_step(state, step)
            if step.tx_id == until:
                break
        return state

    def _steps(
        self, agency_id: int, case_id: str, txs: Sequence[TransactionRow] | None = None
    ) -> list[Step]:
        """The case's live transactions in the order they replay (S-TX-3)."""
        ordering = self.context(agency_id).settings.ordering
        if txs is None:
            txs = self.store.transactions(agency_id, case_id, live_only=True)
        return replay_order([self._entry(case_id, tx) for tx in txs], ordering)

    def _entry(self, case_id: str, tx: TransactionRow) -> Entry[Step]:
        device = parse_time(tx.client_date)
        received = parse_time(tx.server_date)
        assert received is not None
        kinds = tx.kind_set
        if "baseline" in kinds:
            columns, indices = tx.snapshot
            base = state_of(case_id, columns, [tuple(i) for i in indices])
            return Entry(None, received, device, Step(tx.id, baseline=base))
        if "unlink" in kinds:
            return Entry(None, received, device, Step(tx.id, unlink=tx.snapshot["unlink"]))
        if "cascade" in kinds:
            close = CaseBlock(case_id=case_id, date_modified=device, close=True)
            host = tx.snapshot.get("host") if isinstance(tx.snapshot, dict) else None
            step = Step(tx.id, blocks=(close,), cascade=True, cascade_host=host)
            return Entry(None, received, device, step)
        assert tx.submission_id is not None
        form = self._form(tx.submission_id)
        step = Step(tx.id, blocks=form.blocks.get(case_id, ()), owner=tx.owner)
        return Entry(form.user, form.received, device, step)

    def history_snapshot(self, agency_id: int, case_id: str) -> Snapshot | None:
        """The replayed state as the store would hold it (indices to missing cases left out)."""
        state = self.replay_case(agency_id, case_id)
        if state is None:
            return None
        columns, indices = columns_of(state)
        existing = [i for i in indices if self.store.case_pk(agency_id, i[1]) is not None]
        return columns, existing

    def stored_snapshot(self, agency_id: int, case_id: str) -> Snapshot | None:
        found = self.store.case_state_columns(agency_id, case_id)
        return None if found is None else (found[1], found[2])

    def rebuild_cases(
        self,
        agency_id: int,
        case_ids: Sequence[str],
        actor: str,
        reason: str,
        action: str | None = "case.rebuild",
        position: int | None = None,
    ) -> list[str]:
        """Rebuild cases from history (S-TX-8): deleted when none is left, restored when some is.

        Cases whose history indexes a case that appears or disappears are rebuilt too, so their
        index rows follow. With a ``position``, each changed case gets a ``rebuild`` transaction
        there (never replayed; it tells sync that the case changed). Returns the case ids whose state changed.
        Runs in the caller's transaction.
        """
        todo = list(dict.fromkeys(case_ids))
        seen = set(todo)
        changed: list[str] = []
        written: dict[str, Snapshot] = {}
        while todo:  # in rounds: a round's cases are read, replayed and written together
            batch, todo = todo, []
            befores = self.store.case_states(agency_id, batch)
            states = self.replay_cases(agency_id, batch)
            snaps: dict[str, Snapshot] = {}
            for case_id in batch:
                before, state = befores.get(case_id), states[case_id]
                if state is not None:
                    snaps[case_id] = columns_of(state)
                elif before is not None:
                    # purging drops the index rows that point at the case; a case made outside
                    # forms keeps its index in a baseline, so it is re-linked when this case
                    # comes back (unarchive)
                    for other in self.store.indexing_cases(before[0]):
                        if not self.store.has_any_history(agency_id, other):
                            self.store.add_baseline(agency_id, other, position or 0)
                    self.store.purge_case(before[0])
                    self.audit_case(
                        agency_id, actor, case_id, before[0], before[1], None, reason, action
                    )
                    changed.append(case_id)
            if snaps:
                pks = self.store.write_case_states(agency_id, snaps)
                afters = self.store.case_states(agency_id, list(snaps))
                events = []
                for case_id in snaps:
                    before, after = befores.get(case_id), afters[case_id]
                    if before is not None and before[1:] == after[1:]:
                        continue
                    old, new = changes(None if before is None else before[1], after[1])
                    verb = action or ("case.create" if before is None else "case.update")
                    events.append((verb, f"case:{case_id}", pks[case_id], old, new))
                    changed.append(case_id)
                self.store.record_many(agency_id, actor, events, reason)
                written.update(snaps)
            created = [c for c in snaps if c not in befores]
            for other in sorted(self.store.referrers_of(agency_id, created)):
                if other not in seen:
                    seen.add(other)
                    todo.append(other)
        if written:  # index rows to cases written after them
            self.store.write_case_states(agency_id, written)
        if written and self.context(agency_id).settings.extension_close_cascade:
            changed += self._rederive_cascades(agency_id, list(written), reason)
        if position is not None:
            self.store.add_rebuild_transactions(agency_id, changed, position)
        return changed

    def replay_cases(
        self, agency_id: int, case_ids: Sequence[str], until: Mapping[str, int] | None = None
    ) -> dict[str, CaseState | None]:
        """``replay_case`` for many cases, their transactions read in one query; with ``until``,
        a case's replay stops right after that transaction of it."""
        txs = self.store.transactions_of(agency_id, case_ids)
        out: dict[str, CaseState | None] = {}
        for case_id in case_ids:
            stop = None if until is None else until.get(case_id)
            state: CaseState | None = None
            for step in self._steps(agency_id, case_id, txs.get(case_id, [])):
                state = apply_step(state, step)
                if step.tx_id == stop:
                    break
            out[case_id] = state
        return out

    def _closing_transaction(self, agency_id: int, case_id: str) -> TransactionRow | None:
        """The live form transaction that closed the case, in replay order (so by device time
        under ``reconcile``); None when it is open or was closed outside forms (a baseline)."""
        txs = {tx.id: tx for tx in self.store.transactions(agency_id, case_id, live_only=True)}
        state: CaseState | None = None
        closer: TransactionRow | None = None
        for step in self._steps(agency_id, case_id, list(txs.values())):
            was_closed = state is not None and state.closed
            state = apply_step(state, step)
            if state is None or not state.closed:
                closer = None
            elif not was_closed:
                tx = txs[step.tx_id]
                outside = tx.submission_id is None or "baseline" in tx.kind_set
                closer = None if outside else tx
        return closer

    def _rederive_cascades(self, agency_id: int, case_ids: Sequence[str], reason: str) -> list[str]:
        """§8.4 ``extension_close_cascade`` after a rebuild: every open extension of a host that a
        form closed gets that form's ``close,cascade`` transaction (the one the form would have
        recorded, had the remaining forms been received alone), recursively. Returns the cases
        it closed."""
        todo = list(dict.fromkeys(case_ids))
        expanded: set[str] = set()
        closed: list[str] = []
        tried: set[tuple[str, int | None]] = set()  # each (extension, closing form) once
        while todo:
            case_id = todo.pop(0)
            found = self.store.case_state_columns(agency_id, case_id)
            if found is None:
                continue
            pk, columns, indices = found
            if columns["closed"]:
                if case_id not in expanded:
                    expanded.add(case_id)
                    todo.extend(self.store.open_extensions(pk))
                continue
            facts = self.store.case_row(agency_id, case_id)
            if facts is None or facts.deleted:
                continue
            for _, ref, _, relationship in indices:
                host = self.store.case_state_columns(agency_id, ref)
                if relationship != "extension" or host is None or not host[1]["closed"]:
                    continue
                closer = self._closing_transaction(agency_id, ref)
                if closer is None or (case_id, closer.submission_id) in tried:
                    continue
                tried.add((case_id, closer.submission_id))
                tx_id = self.store.add_transaction(
                    agency_id,
                    case_id,
                    closer.submission_id,
                    closer.position,
                    ["close", "cascade"],
                    client_date=host[1]["closed_on"],
                    snapshot={"host": ref},
                )
                state = self.replay_case(agency_id, case_id)
                assert state is not None
                if not state.closed:
                    # in replay order the host closed before the case became its extension (or
                    # before the case began): no form would have cascaded, so record nothing
                    self.store.delete_transaction(tx_id)
                    continue
                new = columns_of(state)
                self.store.write_case_state(agency_id, case_id, *new)
                self.audit_case(
                    agency_id,
                    "system",
                    case_id,
                    pk,
                    columns,
                    new[0],
                    f"{reason}: host case closed (extension_close_cascade)",
                )
                closed.append(case_id)
                todo.append(case_id)
                break
        return closed

    def audit_case(
        self,
        agency_id: int,
        actor: str,
        case_id: str,
        pk: int | None,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
        reason: str,
        action: str | None = None,
    ) -> None:
        """S-AUD-1: one event per case change, with the fields that changed."""
        old, new = changes(before, after)
        if action is None:
            action = "case.create" if before is None else "case.update"
        self.store.record(
            agency_id,
            actor,
            action,
            f"case:{case_id}",
            case_pk=pk,
            before=old,
            after=new,
            reason=reason,
        )

    # -- archive (S-TX-8) ---------------------------------------------------------------------

    def archive_submission(self, agency_id: int, actor: int | None, instance_id: str) -> list[str]:
        """Take a form out of every case's history; the cases it touched are rebuilt."""
        return self._set_archived(agency_id, actor, instance_id, True)

    def unarchive_submission(
        self, agency_id: int, actor: int | None, instance_id: str
    ) -> list[str]:
        """Put an archived form back; the cases it touched are rebuilt (and restored)."""
        return self._set_archived(agency_id, actor, instance_id, False)

    def _set_archived(
        self, agency_id: int, actor: int | None, instance_id: str, archive: bool
    ) -> list[str]:
        with self.store.transaction():
            # the agency's lock first, then the context read under it: a change committed
            # while this waited (an admin permission taken away) is in force (S-OWN-2)
            self.store.lock_case_transactions(agency_id)
            with self.pinned_context(agency_id):
                self.require_admin(actor, agency_id)
                sub = self.store.current_submission(agency_id, instance_id)
                want, new = ("normal", "archived") if archive else ("archived", "normal")
                if sub is None:
                    # received but never applied (refused whole): 409 with its status, as for
                    # any form in the wrong state; 404 only for one never received
                    stored = self.store.submissions(agency_id, instance_id)
                    if not stored:
                        raise CaseShareError("not_found", f"Form {instance_id!r} was not found.")
                    raise CaseShareError(
                        "invalid_transition",
                        f"Form {instance_id!r} is {stored[-1].status}; only a {want} form can be"
                        f" {'archived' if archive else 'unarchived'}.",
                    )
                if sub.status != want:
                    raise CaseShareError(
                        "invalid_transition",
                        f"Form {instance_id!r} is {sub.status}; only a {want} form can be"
                        f" {'archived' if archive else 'unarchived'}.",
                    )
                self.store.set_submission_status(sub.id, new)
                verb = "archived" if archive else "unarchived"
                changed = self.rebuild_cases(
                    agency_id,
                    self.store.cases_of_submission(sub.id),
                    actor_name(actor),
                    f"submission {instance_id} {verb}",
                    position=sub.position,
                )
                self.store.record(
                    agency_id,
                    actor_name(actor),
                    f"submission.{'archive' if archive else 'unarchive'}",
                    f"submission:{instance_id}",
                    before={"status": want},
                    after={"status": new, "cases": changed},
                )
        return changed
