"""Replaying a case's history: block preparation, transaction folds and the S-TX-3 ordering."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Final, Generic, TypeVar

from caseshare.core.casestate import CaseState, apply_block
from caseshare.core.casexml import CaseBlock, CreateAction
from caseshare.core.errors import CaseShareError
from caseshare.core.principals import Principal

#: S-TX-3 `reconcile`: one user's transactions received this close together replay by device time
RECONCILE_WINDOW: Final = timedelta(hours=12)

T = TypeVar("T")


def canonical_owner(text: str, case_id: str) -> str:
    """An owner_id as the canonical principal text (``group:7``), else ``invalid_owner``."""
    try:
        principal = Principal.parse(text)
    except CaseShareError:
        principal = None
    if principal is None or principal.kind not in ("user", "group", "location"):
        raise CaseShareError(
            "invalid_owner",
            f"Case {case_id!r}: owner_id {text!r} is not an owner; write user:ID, group:ID or"
            " location:ID (the ids the restore's user-groups fixture lists).",
            {"case_id": case_id, "field": "owner_id"},
        )
    return str(principal)


def prepare_block(block: CaseBlock, user_id: str, received: datetime) -> CaseBlock:
    """A block as the server applies it: made by the submitting user, dated (the received time
    when the device gave none), with its owner ids in canonical form."""
    create = block.create
    if create is not None and create.owner_id is not None:
        create = CreateAction(
            create.case_type, create.case_name, canonical_owner(create.owner_id, block.case_id)
        )
    update = block.update
    if update is not None and "owner_id" in update:
        update = {**update, "owner_id": canonical_owner(update["owner_id"], block.case_id)}
    # every field given: a direct construction, at half the cost of ``dataclasses.replace``
    return CaseBlock(
        case_id=block.case_id,
        user_id=user_id,
        date_modified=block.date_modified or received,
        create=create,
        update=update,
        close=block.close,
        indices=block.indices,
        attachments=block.attachments,
    )


def block_kinds(blocks: Iterable[CaseBlock]) -> list[str]:
    """The kinds of one case transaction, in action order; ``touch`` for blocks without actions."""
    found: set[str] = set()
    for b in blocks:
        found.update(
            kind
            for kind, present in (
                ("create", b.create is not None),
                ("update", b.update is not None),
                ("close", b.close),
                ("index", bool(b.indices)),
                ("attachment", bool(b.attachments)),
            )
            if present
        )
    order = ("create", "update", "close", "index", "attachment")
    return [k for k in order if k in found] or ["touch"]


def fold_transaction(
    state: CaseState | None, blocks: Sequence[CaseBlock], owner: str | None = None
) -> CaseState | None:
    """One case transaction (every block of a submission for that case, in the order
    ``parse_submission`` gives them: document order, create first, ``order_case_blocks``).

    ``owner`` is the owner the case had right after the transaction when it was received: it
    fills in when a replay leaves the case without one (S-CRT-2 chose it, or the transaction that
    named the owner has been archived since).
    """
    for block in blocks:
        state = apply_block(state, block)
    if state is not None and state.owner_id is None and owner is not None:
        state = replace(state, owner_id=owner)
    return state


@dataclass(frozen=True)
class Step:
    """One transaction of a case's history, ready to replay.

    A ``baseline`` replaces the state (a case's state recorded outside forms); ``blocks`` are the
    transaction's blocks, with ``owner`` the owner the case had right after it. A cascade close
    (``cascade_host`` set) applies only while the case is still an extension of that host, and
    never brings a case into being. ``unlink`` drops every index to that case id (it was purged).
    """

    tx_id: int
    baseline: CaseState | None = None
    blocks: tuple[CaseBlock, ...] = ()
    owner: str | None = None
    cascade: bool = False
    cascade_host: str | None = None
    unlink: str | None = None


def is_extension_of(state: CaseState, host: str) -> bool:
    return any(
        i.referenced_id == host and i.relationship == "extension" for i in state.indices.values()
    )


def apply_step(state: CaseState | None, step: Step) -> CaseState | None:
    """One step of a replay (S-TX-8)."""
    if step.baseline is not None:
        state = step.baseline
    if step.unlink is not None:
        if state is None:
            return None
        kept = {k: i for k, i in state.indices.items() if i.referenced_id != step.unlink}
        return replace(state, indices=MappingProxyType(kept))
    if step.cascade:
        if state is None or (
            step.cascade_host is not None and not is_extension_of(state, step.cascade_host)
        ):
            return state  # the case is no longer that host's extension: the cascade is void
        return fold_transaction(state, step.blocks)
    return fold_transaction(state, step.blocks, step.owner)


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One transaction of a case's history, in received order."""

    user: str | None
    received: datetime
    device: datetime | None
    item: T


def replay_order(entries: Sequence[Entry[T]], ordering: str = "received") -> list[T]:
    """The order a case's transactions apply in (S-TX-3).

    ``received``: as received. ``reconcile``: each run of consecutive transactions by one user,
    each received within 12 hours of the one before, replays by device time (ties and missing
    device times keep received order); transactions of the system (cascades) never join a run.
    """
    if ordering != "reconcile":
        return [e.item for e in entries]
    out: list[T] = []
    run: list[tuple[int, Entry[T]]] = []

    def flush() -> None:
        run.sort(key=lambda p: (p[1].device or p[1].received, p[0]))
        out.extend(e.item for _, e in run)
        run.clear()

    for n, entry in enumerate(entries):
        if run:
            last = run[-1][1]
            if (
                entry.user is None
                or entry.user != last.user
                or entry.received - last.received > RECONCILE_WINDOW
            ):
                flush()
        run.append((n, entry))
    flush()
    return out
