"""Device submissions (SPEC §8): checked whole, applied in received order, every version kept."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from caseshare.core.casestate import CaseState, apply_block
from caseshare.core.casexml import (
    MAX_BYTES,
    CaseBlock,
    CaseSubmission,
    decode_submission,
    parse_stored,
    parse_submission,
)
from caseshare.core.errors import CaseShareError
from caseshare.core.levels import Action, Cause
from caseshare.core.model import User
from caseshare.core.principals import Principal
from caseshare.core.replay import block_kinds, canonical_owner, fold_transaction, prepare_block
from caseshare.core.sync import DeviceCase, device_holds
from caseshare.services.casehistory import (
    HistoryService,
    Snapshot,
    columns_of,
    fmt_time,
    parse_time,
    state_of,
)
from caseshare.services.cases import choose_owner
from caseshare.store.base import utcnow
from caseshare.store.submissions import IndexRow, SubmissionRow
from caseshare.store.synclogs import SyncLog

SYSTEM = "system"
_Found = tuple[int, dict[str, Any], list[IndexRow]]


@dataclass(frozen=True)
class SubmitResult:
    """The answer to a submission that was accepted (refusals raise ``CaseShareError``)."""

    submission_id: int
    instance_id: str
    #: ``normal`` (applied) or ``duplicate`` (the same form again: nothing changed)
    status: str
    #: True when this replaced an earlier version of the same instanceID (S-TX-5)
    edited: bool
    #: the cases whose state changed, extension cases closed by the cascade included
    cases: tuple[str, ...]
    message: str


def _names_owner(block: CaseBlock) -> bool:
    return (block.create is not None and block.create.owner_id is not None) or (
        "owner_id" in (block.update or {})
    )


class TransactionService(HistoryService):
    """submit: one device form, checked whole and applied in received order."""

    def submit(
        self, agency_id: int, user_id: int, xml: bytes | str, *, sync_token: str | None = None
    ) -> SubmitResult:
        """Apply one OpenRosa submission whole or not at all (S-TX-5 … S-TX-7).

        ``sync_token`` is the device's last restore id: the cases of the form count as held by
        that device, and its next incremental restore does not send them back (S-SYNC-2).
        A refused submission is stored with status ``error`` and the problem, and the
        ``CaseShareError`` is raised with ``details["submission"]`` naming the stored row.
        """
        raw = xml.encode("utf-8") if isinstance(xml, str) else bytes(xml)
        digest = hashlib.sha256(raw).hexdigest()
        user = self.acting_user(user_id, agency_id)
        assert user is not None
        instance_id = f"sha256:{digest}"
        try:
            if len(raw) > MAX_BYTES:  # before decoding: the parser says it in its own words
                parse_submission(raw)
            text = decode_submission(raw)  # UTF-8, or the ISO-8859-1 the form declares
            parsed = parse_submission(text, max_bytes=2 * MAX_BYTES)  # Latin-1 grows in UTF-8
            instance_id = parsed.meta.instance_id or instance_id
            with self.store.transaction():
                self.store.lock_case_transactions(agency_id)
                # S-SYNC-2: only the submitter's own restore counts; another user's (or an
                # unknown) token is ignored, so it can never hide changes from its owner
                log = self.store.sync_log(sync_token) if sync_token else None
                own = log.token if log is not None and log.user_id == user.id else None
                result = self._submit(agency_id, user, text, digest, instance_id, parsed, own)
                if log is not None and own is not None and result.status == "normal":
                    self._track_device(agency_id, log, parsed.blocks)
                return result
        except CaseShareError as exc:
            found_id = exc.details.get("instance_id")
            if isinstance(found_id, str) and instance_id.startswith("sha256:"):
                instance_id = found_id  # a bad block of a form whose meta names it
            stored = raw.decode("utf-8", errors="replace") if len(raw) <= MAX_BYTES else ""
            # PostgreSQL text cannot hold NUL: the error row keeps U+FFFD in its place
            stored = stored.replace("\x00", "\ufffd")
            with self.store.transaction():
                exc.details["submission"] = self.store.insert_submission(
                    agency_id,
                    instance_id,
                    user.id,
                    stored,
                    digest,
                    "error",
                    problem=f"{exc.code}: {exc.message}".replace("\x00", "\ufffd"),
                )
            raise

    def _track_device(self, agency_id: int, log: SyncLog, blocks: Sequence[CaseBlock]) -> None:
        """S-SYNC-2, as CommCare HQ prunes its sync log: the device's own form changes what it
        knows (cases it made, closed, gave away, indexed), and it keeps only what is still live
        in its own view; the rest it dropped itself, so no restore needs to tell it."""
        if log.device is None:  # a log from before migration 5
            self.store.add_sync_cases(log.token, [b.case_id for b in blocks])
            return
        device = dict(log.device)
        for block in blocks:
            known = device.get(block.case_id)
            owner = known.owner if known is not None else None
            named = [
                o
                for o in (
                    block.create.owner_id if block.create else None,
                    (block.update or {}).get("owner_id"),
                )
                if o
            ]
            if named:
                owner = canonical_owner(named[-1], block.case_id)
            if owner is None:  # a new case without owner: the one S-CRT-2 gave it
                found = self.store.case_state_columns(agency_id, block.case_id)
                owner = found[1]["owner"] if found is not None else ""
            indices = dict(known.indices) if known is not None else {}
            for index in block.indices:
                if index.deletes:
                    indices.pop(index.identifier, None)
                else:
                    indices[index.identifier] = (index.referenced_id, index.relationship)
            closed = (known is not None and known.closed) or block.close
            device[block.case_id] = DeviceCase(closed, owner, indices)
        holds = device_holds(device, log.owner_ids)
        self.store.set_device_cases(
            log.token, {c: d for c, d in device.items() if c in holds}, log.owner_ids
        )

    def _submit(
        self,
        agency_id: int,
        user: User,
        text: str,
        digest: str,
        instance_id: str,
        parsed: CaseSubmission,
        sync_token: str | None,
    ) -> SubmitResult:
        current = self.store.current_submission(agency_id, instance_id)
        if current is not None and current.content_hash == digest:
            sub_id = self.store.insert_submission(
                agency_id,
                instance_id,
                user.id,
                text,
                digest,
                "duplicate",
                position=current.position,
            )
            return SubmitResult(
                sub_id,
                instance_id,
                "duplicate",
                False,
                (),
                f"Form {instance_id} was received before with the same content; nothing changed.",
            )
        received = utcnow() if current is None else current.received_on
        received_at = parse_time(received)
        assert received_at is not None
        blocks = [prepare_block(b, str(user.id), received_at) for b in parsed.blocks]
        by_case: dict[str, list[CaseBlock]] = {}
        for block in blocks:
            by_case.setdefault(block.case_id, []).append(block)
        before = {cid: self.store.case_state_columns(agency_id, cid) for cid in by_case}
        self._check(agency_id, user, by_case, before)
        if current is not None:
            self._check_edit(agency_id, user, current, by_case)

        # cases made outside forms start their history with a baseline; decided before the old
        # version (of an edit) is deprecated, which takes its transactions out of the history
        baseline = {
            cid
            for cid, found in before.items()
            if found is not None and not self.store.has_transactions(agency_id, cid)
        }
        if current is not None:
            self.store.set_submission_status(current.id, "deprecated")
        sub_id = self.store.insert_submission(
            agency_id,
            instance_id,
            user.id,
            text,
            digest,
            "normal",
            position=None if current is None else current.position,
            received_on=received,
            sync_token=sync_token,
        )
        position = sub_id if current is None else current.position
        tx_ids = {
            cid: self._record(
                agency_id,
                cid,
                sub_id,
                position,
                case_blocks,
                before[cid] if cid in baseline else None,
            )
            for cid, case_blocks in by_case.items()
        }
        reason = f"submission {instance_id}"
        ctx = self.context(agency_id)
        if current is not None:
            self.store.set_submission_status(current.id, "deprecated", replaced_by=sub_id)
            touched = list(dict.fromkeys([*self.store.cases_of_submission(current.id), *by_case]))
            pre = {cid: self.store.case_state_columns(agency_id, cid) for cid in touched}
            self._decide_owners(agency_id, user, tx_ids, replay=True)
            changed = self.rebuild_cases(
                agency_id, touched, f"user:{user.id}", f"{reason} edited", "case.rebuild", position
            )
        else:
            pre = dict(before)
            states = self._decide_owners(
                agency_id, user, tx_ids, replay=False, by_case=by_case, before=before
            )
            if ctx.settings.ordering == "reconcile":
                changed = self.rebuild_cases(
                    agency_id, list(by_case), f"user:{user.id}", reason, None
                )
                for case_id in changed:  # cases the form does not name: sync must see them
                    if case_id not in by_case:
                        self.store.add_transaction(
                            agency_id, case_id, None, position, ["rebuild"], client_date=None
                        )
            else:
                changed = self._write(agency_id, f"user:{user.id}", states, before, reason)
                changed += self._follow_new_cases(
                    agency_id, [c for c in by_case if before[c] is None], set(by_case), position
                )
        named = {b.case_id for b in blocks if _names_owner(b)}
        self._drop_shares_on_transfer(agency_id, user, {c: pre[c] for c in named}, reason)
        if ctx.settings.extension_close_cascade:
            changed += self._cascade(agency_id, sub_id, position, pre, reason)
        verb = "replaced its earlier version" if current is not None else "was applied"
        return SubmitResult(
            sub_id,
            instance_id,
            "normal",
            current is not None,
            tuple(dict.fromkeys(changed)),
            f"Form {instance_id} {verb}: {len(by_case)} case block(s).",
        )

    # -- checking ------------------------------------------------------------------------------

    def _check(
        self,
        agency_id: int,
        user: User,
        by_case: Mapping[str, Sequence[CaseBlock]],
        before: Mapping[str, _Found | None],
    ) -> None:
        """Indices (§8.4), owners (S-CRT-1) and access (S-TX-7), before anything is written."""
        ctx = self.context(agency_id)
        for case_id, blocks in by_case.items():
            for block in blocks:
                for index in block.indices:
                    ref = index.referenced_id
                    if index.deletes or ref in by_case:
                        continue
                    # S-TX-7: only a case the submitter may view; one they may not is
                    # reported exactly as a missing one, so its existence does not leak
                    if self.store.case_pk(agency_id, ref) is None or not self.access(
                        user.id, ref
                    ).allows(Action.VIEW):
                        raise CaseShareError(
                            "invalid_index",
                            f"Case {case_id!r}: index {index.identifier!r} names case {ref!r},"
                            " which was not found in this agency.",
                            {"case_id": case_id, "field": f"index/{index.identifier}"},
                        )
            named = [
                owner
                for b in blocks
                for owner in (
                    b.create.owner_id if b.create else None,
                    (b.update or {}).get("owner_id"),
                )
                if owner is not None
            ]
            found = before[case_id]
            if found is None:
                for owner in named:
                    choose_owner(ctx, user, Principal.parse(owner))
                continue
            action = Action.CLOSE if any(b.close for b in blocks) else Action.EDIT
            for owner in named:
                if owner != found[1]["owner"]:
                    choose_owner(ctx, None, Principal.parse(owner), check_creator=False)
                    action = Action.TRANSFER
            self._require_device(user, action, case_id)

    def _check_edit(
        self,
        agency_id: int,
        user: User,
        current: SubmissionRow,
        by_case: Mapping[str, Sequence[CaseBlock]],
    ) -> None:
        """S-TX-5/S-TX-7 for an edit: only the user who sent a form may send a new version of it,
        and the rebuild it causes may only change cases that user may edit, so every case the
        old version touched (and the new one does not) is checked too."""
        if current.user_id != user.id:
            raise CaseShareError(
                "insufficient_access",
                f"Form {current.instance_id!r} was sent by another user; only the user who sent"
                " a form may send a new version of it (same instanceID). The whole form was"
                " refused.",
                {"instance_id": current.instance_id},
            )
        # the old version's own blocks (its cascade closes follow their host on the rebuild),
        # of the cases it still has transactions on (not those purged since)
        kept = set(self.store.cases_of_submission(current.id))
        old = dict.fromkeys(b.case_id for b in parse_stored(current.xml).blocks)
        for case_id in (c for c in old if c in kept):
            if case_id in by_case or self.store.case_pk(agency_id, case_id) is None:
                continue
            self._require_device(user, Action.EDIT, case_id)

    def _require_device(self, user: User, action: Action, case_id: str) -> None:
        access = self.access(user.id, case_id)
        if not access.allows(action):
            raise CaseShareError(
                "insufficient_access",
                f"Case {case_id!r}: you have {access.level.label} access, and a submission may"
                f" only {action.value} cases you may {action.value}; the whole form was refused.",
                {"case_id": case_id, "level": access.level.label, "action": action.value},
            )

    # -- recording and applying ---------------------------------------------------------------

    def _record(
        self,
        agency_id: int,
        case_id: str,
        sub_id: int,
        position: int,
        blocks: Sequence[CaseBlock],
        found: _Found | None,
    ) -> int:
        """The case transaction of one submission (a baseline first of ``found``, the state of a
        case made outside forms)."""
        if found is not None:
            self._baseline(agency_id, case_id, position, found)
        dates = [b.date_modified for b in blocks if b.date_modified is not None]
        refs = [i.referenced_id for b in blocks for i in b.indices if not i.deletes]  # §8.4
        return self.store.add_transaction(
            agency_id,
            case_id,
            sub_id,
            position,
            block_kinds(blocks),
            client_date=fmt_time(max(dates)) if dates else None,
            refs=refs,
        )

    def _ensure_baseline(self, agency_id: int, case_id: str, position: int, found: _Found) -> None:
        """A case made outside submissions gets its current state as the start of its history."""
        if not self.store.has_transactions(agency_id, case_id):
            self._baseline(agency_id, case_id, position, found)

    def _baseline(self, agency_id: int, case_id: str, position: int, found: _Found) -> None:
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

    def _decide_owners(
        self,
        agency_id: int,
        user: User,
        tx_ids: Mapping[str, int],
        *,
        replay: bool,
        by_case: Mapping[str, Sequence[CaseBlock]] | None = None,
        before: Mapping[str, _Found | None] | None = None,
    ) -> dict[str, CaseState]:
        """S-CRT-2 for every case this submission leaves without owner. Each transaction
        records the owner the case has after it, so that a replay in which an earlier
        transaction has gone (archived) still gives the case an owner. Returns the new states."""
        ctx = self.context(agency_id)
        states: dict[str, CaseState] = {}
        for case_id, tx_id in tx_ids.items():
            if replay:  # the owner right after this transaction, not after the whole history
                state = self.replay_case(agency_id, case_id, until=tx_id)
            else:
                assert by_case is not None and before is not None
                found = before[case_id]
                if found is not None and any(
                    before[c] is None and case_id in self.store.referrers(agency_id, c)
                    for c in by_case
                    if c != case_id
                ):
                    # its history indexes a case this form brings back: the stored row lacks
                    # that index (S-TX-8 writes no row to a missing case), the replay has it
                    state = self.replay_case(agency_id, case_id)
                else:
                    start = None if found is None else state_of(case_id, found[1], found[2])
                    state = fold_transaction(start, by_case[case_id])
            assert state is not None
            if state.owner_id is None:
                state = replace(state, owner_id=str(choose_owner(ctx, user, None)))
            assert state.owner_id is not None
            self.store.set_transaction_owner(tx_id, state.owner_id)
            states[case_id] = state
        return states

    def _write(
        self,
        agency_id: int,
        actor: str,
        states: Mapping[str, CaseState],
        before: Mapping[str, _Found | None],
        reason: str,
    ) -> list[str]:
        snaps: dict[str, Snapshot] = {cid: columns_of(s) for cid, s in states.items()}
        for case_id, snap in snaps.items():
            pk = self.store.write_case_state(agency_id, case_id, *snap)
            found = before[case_id]
            old = None if found is None else found[1]
            self.audit_case(agency_id, actor, case_id, pk, old, snap[0], reason)
        for case_id, snap in snaps.items():  # indices to cases created later in the form
            if snap[1]:
                self.store.write_case_state(agency_id, case_id, *snap)
        return list(snaps)

    def _follow_new_cases(
        self, agency_id: int, created: Sequence[str], skip: set[str], position: int
    ) -> list[str]:
        """Cases whose history indexes a case that (again) exists get their index row back, and
        a ``rebuild`` transaction that tells sync so. Returns those cases."""
        followed: list[str] = []
        for case_id in sorted({r for c in created for r in self.store.referrers(agency_id, c)}):
            if case_id in skip:
                continue
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
        self, agency_id: int, user: User, pre: Mapping[str, _Found | None], reason: str
    ) -> None:
        """S-SHR-6: a case a form hands to another owner loses its manual shares."""
        for case_id, found in pre.items():
            now = self.store.case_state_columns(agency_id, case_id)
            if found is None or now is None or now[1]["owner"] == found[1]["owner"]:
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
        pre: Mapping[str, _Found | None],
        reason: str,
    ) -> list[str]:
        """§8.4: closing a host closes its open extensions, recursively, one system transaction
        each (``extension_close_cascade``)."""
        queue = []
        for case_id, found in pre.items():
            now = self.store.case_state_columns(agency_id, case_id)
            if now is not None and now[1]["closed"] and not (found and found[1]["closed"]):
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
