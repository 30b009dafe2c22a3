"""Writing what a form did (SPEC §8): its case transactions, the cases' new state, owners chosen
by S-CRT-2, shares a transfer drops, and the extension close cascade — a whole form at a time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from caseshare.core.casestate import CaseState, apply_block
from caseshare.core.casexml import CaseBlock
from caseshare.core.levels import Cause
from caseshare.core.model import User
from caseshare.core.replay import block_kinds, fold_transaction
from caseshare.services.casehistory import (
    HistoryService,
    Snapshot,
    changes,
    columns_of,
    fmt_time,
    parse_time,
    state_of,
)
from caseshare.services.cases import choose_owner
from caseshare.store.casestates import Found

SYSTEM = "system"


class FormWriter(HistoryService):
    """The recording half of a submission; every method runs in the submission's transaction."""

    def _record(
        self,
        agency_id: int,
        sub_id: int,
        position: int,
        by_case: Mapping[str, Sequence[CaseBlock]],
        baselines: Mapping[str, Found],
        owners: Mapping[str, str] | None = None,
    ) -> dict[str, int]:
        """The case transactions of one submission, one per case (after a baseline of the
        state of each case made outside forms), with the owner each case has after it when
        ``owners`` (``_new_states``) knows it. Returns each case's transaction id, or, when
        ``owners`` is given (no owner to write after), nothing on PostgreSQL when no
        transaction has refs (``add_form_transactions``)."""
        for case_id, found in baselines.items():
            self._baseline(agency_id, case_id, position, found)
        rows = []
        for case_id, blocks in by_case.items():
            dates = [b.date_modified for b in blocks if b.date_modified is not None]
            refs = [i.referenced_id for b in blocks for i in b.indices if not i.deletes]  # §8.4
            rows.append(
                (case_id, block_kinds(blocks), fmt_time(max(dates)) if dates else None, refs)
            )
        return self.store.add_form_transactions(
            agency_id, sub_id, position, rows, owners, need_ids=owners is None
        )

    def _ensure_baseline(self, agency_id: int, case_id: str, position: int, found: Found) -> None:
        """A case made outside submissions gets its current state as the start of its history."""
        if not self.store.has_transactions(agency_id, case_id):
            self._baseline(agency_id, case_id, position, found)

    def _baseline(self, agency_id: int, case_id: str, position: int, found: Found) -> None:
        self.store.add_transaction(
            agency_id,
            case_id,
            None,
            position,
            ["baseline"],
            client_date=found[1]["modified_on"],
            refs=[i[1] for i in found[2]],
            snapshot=[found[1], found[2]],
        )

    def _new_states(
        self,
        agency_id: int,
        user: User,
        by_case: Mapping[str, Sequence[CaseBlock]],
        before: Mapping[str, Found | None],
    ) -> dict[str, CaseState]:
        """The states a new form leaves its cases in, S-CRT-2 owners included, folded from
        what the form read: decided before its transactions are written, so each is written
        with its owner at once (no UPDATE after). ``_decide_owners`` gives the same states;
        only a case whose history must be replayed (``refer_back``) needs it instead."""
        ctx = self.context(agency_id)
        states: dict[str, CaseState] = {}
        for case_id, blocks in by_case.items():
            found = before[case_id]
            start = None if found is None else state_of(case_id, found[1], found[2])
            state = fold_transaction(start, blocks)
            assert state is not None  # a form's blocks always leave their case existing
            if state.owner_id is None:
                state = replace(state, owner_id=str(choose_owner(ctx, user, None)))
            states[case_id] = state
        return states

    def _decide_owners(
        self,
        agency_id: int,
        user: User,
        tx_ids: Mapping[str, int],
        *,
        replay: bool,
        by_case: Mapping[str, Sequence[CaseBlock]] | None = None,
        before: Mapping[str, Found | None] | None = None,
        referrers: set[str] | None = None,
    ) -> dict[str, CaseState]:
        """S-CRT-2 for every case this submission leaves without owner. Each transaction
        records the owner the case has after it, so that a replay in which an earlier
        transaction has gone (archived) still gives the case an owner. Returns the new states."""
        ctx = self.context(agency_id)
        states: dict[str, CaseState] = {}
        # cases whose history indexes a case this form brings back: the stored row lacks that
        # index (S-TX-8 writes no row to a missing case), the replay has it
        refer_back: set[str] = set()
        if not replay:
            assert by_case is not None and before is not None
            created = [c for c in by_case if before[c] is None]
            if referrers is None:
                referrers = self.store.referrers_of(agency_id, created)
            refer_back = referrers - set(created)
        owners: dict[int, str] = {}
        # on a replay, the owner right after this transaction, not after the whole history
        replayed = self.replay_cases(agency_id, list(tx_ids), until=tx_ids) if replay else {}
        for case_id, tx_id in tx_ids.items():
            if replay:
                state = replayed[case_id]
            else:
                assert by_case is not None and before is not None
                found = before[case_id]
                if found is not None and case_id in refer_back:
                    state = self.replay_case(agency_id, case_id)
                else:
                    start = None if found is None else state_of(case_id, found[1], found[2])
                    state = fold_transaction(start, by_case[case_id])
            assert state is not None
            if state.owner_id is None:
                state = replace(state, owner_id=str(choose_owner(ctx, user, None)))
            assert state.owner_id is not None
            owners[tx_id] = state.owner_id
            states[case_id] = state
        self.store.set_transaction_owners(owners)
        return states

    def _write(
        self,
        agency_id: int,
        actor: str,
        states: Mapping[str, CaseState],
        before: Mapping[str, Found | None],
        reason: str,
    ) -> list[str]:
        """The cases' new rows and index rows, and one audit event each, in a few statements."""
        snaps: dict[str, Snapshot] = {cid: columns_of(s) for cid, s in states.items()}
        existing = {cid: found for cid, found in before.items() if found is not None}
        pks = self.store.write_case_states(agency_id, snaps, existing)
        events = []
        for case_id, (columns, _) in snaps.items():
            found = before[case_id]
            old, new = changes(None if found is None else found[1], columns)
            action = "case.create" if found is None else "case.update"
            events.append((action, f"case:{case_id}", pks[case_id], old, new))
        self.store.record_many(agency_id, actor, events, reason)
        return list(snaps)

    def _follow_new_cases(self, agency_id: int, referrers: set[str], position: int) -> list[str]:
        """Cases whose history indexes a case that (again) exists get their index row back, and
        a ``rebuild`` transaction that tells sync so. Returns those cases."""
        followed: list[str] = []
        for case_id in sorted(referrers):
            found = self.store.case_state_columns(agency_id, case_id)
            state = self.replay_case(agency_id, case_id)
            if found is None or state is None:
                continue
            indices = columns_of(state)[1]
            self.store.write_case_state(agency_id, case_id, found[1], indices)
            if self.store.case_state_columns(agency_id, case_id) != found:
                self.store.add_transaction(
                    agency_id, case_id, None, position, ["rebuild"], client_date=None
                )
                followed.append(case_id)
        return followed

    def _drop_shares_on_transfer(
        self, agency_id: int, user: User, pre: Mapping[str, Found | None], reason: str
    ) -> None:
        """S-SHR-6: a case a form hands to another owner loses its manual shares."""
        existing = [c for c, found in pre.items() if found is not None]
        for case_id, now in self.store.case_states(agency_id, existing).items():
            found = pre[case_id]
            if found is None or now[1]["owner"] == found[1]["owner"]:
                continue
            for grant in self.store.grant_rows(now[0], cause=Cause.MANUAL, include_deleted=True):
                self.store.delete_grant(grant.id)
                self.store.record(
                    agency_id,
                    f"user:{user.id}",
                    "share.delete",
                    f"case:{case_id}",
                    case_pk=now[0],
                    before={"grantee": str(grant.grantee), "level": grant.level.label},
                    reason=f"owner changed by {reason} (S-SHR-6)",
                )

    def _cascade(
        self,
        agency_id: int,
        sub_id: int,
        position: int,
        pre: Mapping[str, Found | None],
        reason: str,
    ) -> list[str]:
        """§8.4: closing a host closes its open extensions, recursively, one system transaction
        each (``extension_close_cascade``)."""
        queue = []
        for case_id, now in self.store.case_states(agency_id, list(pre)).items():
            found = pre[case_id]
            if now[1]["closed"] and not (found and found[1]["closed"]):
                queue.append(case_id)
        closed: list[str] = []
        while queue:
            host_id = queue.pop(0)
            host = self.store.case_state_columns(agency_id, host_id)
            assert host is not None
            moment = parse_time(host[1]["closed_on"])
            for ext in self.store.open_extensions(host[0]):
                found = self.store.case_state_columns(agency_id, ext)
                assert found is not None
                self._ensure_baseline(agency_id, ext, position, found)
                state = apply_block(
                    state_of(ext, found[1], found[2]),
                    CaseBlock(case_id=ext, date_modified=moment, close=True),
                )
                self.store.add_transaction(
                    agency_id,
                    ext,
                    sub_id,
                    position,
                    ["close", "cascade"],
                    client_date=fmt_time(moment),
                    snapshot={"host": host_id},
                )
                columns, indices = columns_of(state)
                pk = self.store.write_case_state(agency_id, ext, columns, indices)
                self.audit_case(
                    agency_id,
                    SYSTEM,
                    ext,
                    pk,
                    found[1],
                    columns,
                    f"{reason}: host case closed (extension_close_cascade)",
                )
                closed.append(ext)
                queue.append(ext)
        return closed
