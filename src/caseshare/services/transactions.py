"""Device submissions (SPEC §8): checked whole, applied in received order, every version kept."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from caseshare.core.casexml import (
    MAX_BYTES,
    CaseBlock,
    CaseSubmission,
    decode_submission,
    parse_stored,
    parse_submission,
)
from caseshare.core.engine import AgencyContext, evaluate
from caseshare.core.errors import CaseShareError
from caseshare.core.levels import Action
from caseshare.core.model import CaseFacts, User
from caseshare.core.principals import Principal
from caseshare.core.replay import prepare_block
from caseshare.core.sync import after_own_form
from caseshare.services.access import CHILD_SAMPLE
from caseshare.services.casehistory import parse_time
from caseshare.services.cases import choose_owner
from caseshare.services.formwrite import FormWriter
from caseshare.store.base import utcnow
from caseshare.store.casestates import Found
from caseshare.store.submissions import SubmissionRow
from caseshare.store.synclogs import SyncLog, device_cases


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


def _refusal(case_id: str, level: str, action: Action) -> CaseShareError:
    return CaseShareError(
        "insufficient_access",
        f"Case {case_id!r}: you have {'no' if level == 'none' else level} access, and a"
        f" submission may only {action.value}"
        f" cases you may {action.value}; the whole form was refused.",
        {"case_id": case_id, "level": level, "action": action.value},
    )


class _WholeAgency(Exception):
    """A form found, under its case locks, that it writes cases it has not locked: it is rolled
    back and applied again under the agency's lock taken whole."""


class TransactionService(FormWriter):
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
        # With per-case locks (PostgreSQL) the context is read before any lock is taken, inside
        # the transaction or out, so the one read for the acting user serves the form: one
        # version check per form, not two. On SQLite it is read again under BEGIN IMMEDIATE,
        # which holds every writer off (and costs no round trip).
        read = self.context(agency_id) if self.store.per_case_locks else None
        with self.pinned_context(agency_id, read):
            user = self.acting_user(user_id, agency_id)
        assert user is not None
        instance_id = f"sha256:{digest}"
        try:
            if len(raw) > MAX_BYTES:  # before decoding: the parser says it in its own words
                parse_submission(raw)
            text = decode_submission(raw)  # UTF-8, or the ISO-8859-1 the form declares
            parsed = parse_submission(text, max_bytes=2 * MAX_BYTES)  # Latin-1 grows in UTF-8
            instance_id = parsed.meta.instance_id or instance_id
            whole = False
            while True:
                try:
                    with self.store.transaction(), self.pinned_context(agency_id, read):
                        early = read is not None  # read before the locks: checked under them
                        read = None  # a retry under the agency's whole lock reads it again
                        whole = self._lock(agency_id, instance_id, parsed, sync_token, whole)
                        # S-SYNC-2: only the submitter's own restore counts; another user's (or
                        # an unknown) token is ignored, so it can never hide changes from its
                        # owner
                        log = self.store.sync_log(sync_token) if sync_token else None
                        own = log.token if log is not None and log.user_id == user.id else None
                        result = self._submit(
                            agency_id, user, text, digest, instance_id, parsed, own, whole, early
                        )
                        if log is not None and own is not None and result.status == "normal":
                            self._track_device(agency_id, log, parsed.blocks)
                        return result
                except _WholeAgency:
                    whole = True  # rolled back; again, with the agency's lock taken whole
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

    def _lock(
        self,
        agency_id: int,
        instance_id: str,
        parsed: CaseSubmission,
        sync_token: str | None,
        whole: bool,
    ) -> bool:
        """Make the form wait for the writes it must follow (S-TX-3, S-TX-6); returns whether
        the agency's lock was taken whole.

        A form waits only for writes to its own cases, the cases it indexes, its instanceID and
        its device's sync token (``lock_cases``, in one fixed order). What may write cases the
        form does not name takes the agency's lock whole instead: ``reconcile`` ordering (a
        replay), an extension close cascade, and (found under the case locks, by ``_submit``)
        an edit of an earlier version or a re-created case that other cases' histories index.
        """
        settings = self.context(agency_id).settings
        whole = whole or not self.store.per_case_locks or settings.ordering == "reconcile"
        if settings.extension_close_cascade and any(b.close for b in parsed.blocks):
            whole = True
        # the locks go with the form's first reads (``with_next``): the server runs those once
        # the locks are granted, so they read what the forms waited for wrote
        if whole:
            self.store.lock_case_transactions(agency_id, with_next=True)
            return True
        # the cases the form indexes too: one a form received earlier is creating is waited for
        keys = [f"case:{b.case_id}" for b in parsed.blocks] + [f"form:{instance_id}"]
        keys += [f"case:{i.referenced_id}" for b in parsed.blocks for i in b.indices]
        if sync_token:
            keys.append(f"sync:{sync_token}")
        self.store.lock_cases(agency_id, keys, with_next=True)
        return False

    def _track_device(self, agency_id: int, log: SyncLog, blocks: Sequence[CaseBlock]) -> None:
        """S-SYNC-2: what the device holds after its own form (``devicelog.after_own_form``)."""
        if log.device is None:  # a log from before migration 8
            self.store.add_sync_cases(log.token, [b.case_id for b in blocks])
            return
        # owner ids in canonical form, as the restore sent them
        now = datetime.now(UTC)
        blocks = [prepare_block(b, str(log.user_id), now) for b in blocks]
        made = [b.case_id for b in blocks if b.case_id not in log.device]
        owners = {c: f[1]["owner"] for c, f in self.store.case_states(agency_id, made).items()}
        device = after_own_form(device_cases(log.device), log.owner_ids, blocks, owners)
        self.store.set_device_cases(log.token, device, log.owner_ids)

    def _submit(
        self,
        agency_id: int,
        user: User,
        text: str,
        digest: str,
        instance_id: str,
        parsed: CaseSubmission,
        sync_token: str | None,
        whole: bool = True,
        early: bool = False,
    ) -> SubmitResult:
        # the form's first reads, together (one round trip on PostgreSQL), the facts of its
        # cases for the S-TX-7 check among them, as the check reads them under the same locks:
        # of the cases it only updates, which are expected to exist (those it creates seldom
        # do, and a 1,000-block form of creates would look up 1,000 missing cases for nothing)
        # and the referrers of the cases it creates (which cases' histories index them)
        case_ids = list(dict.fromkeys(b.case_id for b in parsed.blocks))
        creates = {b.case_id for b in parsed.blocks if b.create is not None}
        pg = self.store.is_postgres
        asked = [c for c in case_ids if c not in creates] if pg else []
        refs_asked = [c for c in case_ids if c in creates] if pg else []
        direct = self._direct_fragment(self.context(agency_id), user)
        also = (
            self.store.facts_statements(agency_id, asked, (direct.sql, direct.params))
            if asked
            else []
        )
        if refs_asked:
            also.append(self.store.referrers_statement(agency_id, refs_asked))
        if pg:  # the submission's id, drawn now: its writes then need no answer (``later``)
            also.append(self.store.draw_submission_id())
        current, found, history, version, also_rows = self.store.form_first_reads(
            agency_id, instance_id, case_ids, version=early, also=also
        )
        drawn = int(also_rows.pop()[0][0]) if pg and also_rows else None
        ref_rows = also_rows.pop() if refs_asked and also_rows else []
        facts = (
            (set(asked), self.store.facts_from_rows(also_rows, CHILD_SAMPLE))
            if asked and also_rows
            else None
        )
        if early and version is not None and version != self.context(agency_id).version:
            # S-OWN-2: a structural change (a membership removed, a user deactivated) committed
            # while the form waited for its locks; again, with the context read under them
            raise _WholeAgency
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
        if current is not None and not whole:
            raise _WholeAgency  # an edit rebuilds the cases of the old version too
        received = utcnow() if current is None else current.received_on
        received_at = parse_time(received)
        assert received_at is not None
        blocks = [prepare_block(b, str(user.id), received_at) for b in parsed.blocks]
        by_case: dict[str, list[CaseBlock]] = {}
        for block in blocks:
            by_case.setdefault(block.case_id, []).append(block)
        before = {cid: found.get(cid) for cid in by_case}
        created = [cid for cid, f in before.items() if f is None]
        # cases whose history indexes a case this form (re-)creates: their index rows follow it
        # (read with the first reads for the cases it creates, here for any other)
        made = set(created)
        referrers = {r[1] for r in ref_rows if r[0] in made}
        referrers |= self.store.referrers_of(agency_id, sorted(made - set(refs_asked)))
        if not whole and referrers - set(by_case):
            raise _WholeAgency
        self._check(agency_id, user, by_case, before, facts)
        if current is not None:
            self._check_edit(agency_id, user, current, by_case)

        # cases made outside forms start their history with a baseline; decided before the old
        # version (of an edit) is deprecated, which takes its transactions out of the history
        existing = [cid for cid, f in before.items() if f is not None]
        if history is None:  # SQLite: asked only when some case exists
            history = self.store.with_history(agency_id, existing)
        baseline = set(existing) - history
        if current is not None:
            self.store.set_submission_status(current.id, "deprecated")
        # a new form's states (and owners) follow from what it read, unless a case it names
        # must be replayed because a case it re-creates is indexed by that case's history
        known = None
        if current is None and not (referrers - set(created)) & set(by_case):
            known = self._new_states(agency_id, user, by_case, before)
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
            submission_id=drawn,
        )
        position = sub_id if current is None else current.position
        tx_ids = self._record(
            agency_id,
            sub_id,
            position,
            by_case,
            {cid: f for cid, f in before.items() if f is not None and cid in baseline},
            None if known is None else {c: str(st.owner_id) for c, st in known.items()},
        )
        reason = f"submission {instance_id}"
        ctx = self.context(agency_id)
        if current is not None:
            self.store.set_submission_status(current.id, "deprecated", replaced_by=sub_id)
            touched = list(dict.fromkeys([*self.store.cases_of_submission(current.id), *by_case]))
            found = self.store.case_states(agency_id, touched)
            pre = {cid: found.get(cid) for cid in touched}
            self._decide_owners(agency_id, user, tx_ids, replay=True)
            changed = self.rebuild_cases(
                agency_id, touched, f"user:{user.id}", f"{reason} edited", "case.rebuild", position
            )
        else:
            pre = dict(before)
            states = (
                known
                if known is not None
                else self._decide_owners(
                    agency_id,
                    user,
                    tx_ids,
                    replay=False,
                    by_case=by_case,
                    before=before,
                    referrers=referrers,
                )
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
                changed += self._follow_new_cases(agency_id, referrers - set(by_case), position)
        named = {b.case_id for b in blocks if _names_owner(b)}
        self._drop_shares_on_transfer(agency_id, user, {c: pre[c] for c in named}, reason)
        # §8.4 cascade: a form applied last, in received order, closes its hosts' open extensions
        # as they are now. An edit (applied at its old position) and a form under ``reconcile``
        # were rebuilt by replay, which re-derived every cascade in replay order
        # (``rebuild_cases``): closing here too would close an extension that, at the form's
        # place in the history, was not yet the host's, and the stored state would no longer be
        # what a replay gives (S-TX-8)
        rebuilt = current is not None or ctx.settings.ordering == "reconcile"
        if ctx.settings.extension_close_cascade and not rebuilt:
            changed += self._cascade(agency_id, sub_id, position, pre, reason)
        verb = "replaced its earlier version" if current is not None else "was applied"
        return SubmitResult(
            sub_id,
            instance_id,
            "normal",
            current is not None,
            tuple(dict.fromkeys(changed)),
            f"Form {instance_id} {verb}: {len(parsed.blocks)} case block(s).",
        )

    # -- checking ------------------------------------------------------------------------------

    def _check(
        self,
        agency_id: int,
        user: User,
        by_case: Mapping[str, Sequence[CaseBlock]],
        before: Mapping[str, Found | None],
        facts: tuple[set[str], Mapping[str, CaseFacts]] | None = None,
    ) -> None:
        """Indices (§8.4), owners (S-CRT-1) and access (S-TX-7), before anything is written;
        ``facts``: the cases whose facts the form's first reads asked for, and those facts."""
        ctx = self.context(agency_id)
        actions: dict[str, Action] = {}  # what each existing case needs (S-TX-7)
        viewable: set[str] = set()  # each referenced case is checked once
        for case_id, blocks in by_case.items():
            for block in blocks:
                for index in block.indices:
                    ref = index.referenced_id
                    if index.deletes or ref in by_case or ref in viewable:
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
                    viewable.add(ref)
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
            actions[case_id] = action
        self._require_device_many(ctx, user, actions, facts)

    def _require_device_many(
        self,
        ctx: AgencyContext,
        user: User,
        actions: Mapping[str, Action],
        facts: tuple[set[str], Mapping[str, CaseFacts]] | None = None,
    ) -> None:
        """S-TX-7 for every existing case of a form at once: the cases' facts are read in a
        few queries (those of the cases ``facts`` did not ask for) and each decided by the
        engine, as ``access`` decides one."""
        asked, known = facts if facts is not None else (set(), {})
        missing = [c for c in actions if c not in asked]
        read: Mapping[str, CaseFacts] = {}
        if missing:
            direct = self._direct_fragment(ctx, user)
            read = self.store.facts_many(
                ctx.agency_id,
                missing,
                child_filter=(direct.sql, direct.params),
                child_limit=CHILD_SAMPLE,
            )
        found = {**known, **read}
        for case_id, action in actions.items():
            access = evaluate(ctx, user, found[case_id])
            if not access.allows(action):
                raise _refusal(case_id, access.level.label, action)

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
            raise _refusal(case_id, access.level.label, action)
