"""What the case screens read: a case's record, its related cases, trees of cases, its history.

Every case these return is one the user may view: related cases and trees are filtered through
the listing's own condition (``visible_summaries``), which the property test holds equal to
the check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caseshare.services.base import ServiceBase
from caseshare.store.audit import AuditEvent

#: how deep a tree of cases is drawn below each of its tops
TREE_DEPTH = 4
MAX_HISTORY = 200


@dataclass(frozen=True)
class Related:
    """A case next to another one: how they are linked, and the related case's list row."""

    identifier: str  # the index's name, e.g. parent or host
    relationship: str  # child or extension
    case: dict[str, Any]
    children: tuple[Related, ...] = ()


class CasePageService(ServiceBase):
    """Reads only, for a user who already passed load-and-authorise on the case."""

    def case_record(self, case_pk: int) -> dict[str, Any]:
        return self.store.case_record(case_pk)

    def case_history(
        self, agency_id: int, case_pk: int, *, before_id: int | None = None, limit: int = 20
    ) -> tuple[list[AuditEvent], int | None]:
        """A page of the case's audit events, newest first, and the id to page on from."""
        limit = max(1, min(limit, MAX_HISTORY))
        events = self.store.case_audit_page(
            agency_id, case_pk, before_id=before_id, limit=limit + 1
        )
        more = len(events) > limit
        events = events[:limit]
        return events, events[-1].id if more and events else None

    def case_types(self, agency_id: int) -> list[str]:
        return self.store.case_types(agency_id)

    def readable_indices(self, user_id: int, case_pk: int) -> list[dict[str, str]]:
        """The case's indices (identifier, case id, case type, relationship) to cases the user
        may view (issue 8 item 10): an index to a case they cannot see is left out, so a record
        never names a case its reader cannot open. One listing query decides, as for
        ``related_cases``."""
        links = self.store.index_links(case_pks=[case_pk])
        if not links:
            return []
        rows = self.visible_summaries(user_id, [ref for _, ref, _, _ in links])
        declared = {i: kind for i, _, kind, _ in self.store.indices(case_pk)}
        return [
            {
                "identifier": identifier,
                "case_id": rows[ref]["case_id"],
                "case_type": declared.get(identifier, rows[ref]["case_type"]),
                "relationship": relationship,
            }
            for _, ref, identifier, relationship in links
            if ref in rows
        ]

    def related_cases(self, user_id: int, case_pk: int) -> tuple[list[Related], list[Related]]:
        """(the cases this case indexes — parents and hosts —, the cases indexing it — children
        and extensions), each only when the user may view it."""
        up = self.store.index_links(case_pks=[case_pk])
        down = self.store.index_links(ref_pks=[case_pk])
        rows = self.visible_summaries(
            user_id, [r for _, r, _, _ in up] + [c for c, _, _, _ in down]
        )
        parents = [Related(i, rel, rows[ref]) for _, ref, i, rel in up if ref in rows]
        children = [Related(i, rel, rows[pk]) for pk, _, i, rel in down if pk in rows]
        return parents, children

    def case_tree(
        self, user_id: int, top_ids: list[str], depth: int = TREE_DEPTH
    ) -> dict[str, tuple[Related, ...]]:
        """The children and extensions the user may view below each of these cases (case ids
        of the user's agency), nested ``depth`` levels deep; a case in an index cycle is not
        drawn twice on one branch."""
        ctx, _ = self.user(user_id)
        pks = self.store.case_pks(ctx.agency_id, top_ids)
        top_pks = [pks[c] for c in top_ids if c in pks]
        below: dict[int, list[tuple[int, str, str]]] = {}
        rows: dict[int, dict[str, Any]] = {}
        frontier = list(dict.fromkeys(top_pks))
        seen = set(frontier)
        for _ in range(depth):
            links = self.store.index_links(ref_pks=frontier)
            visible = self.visible_summaries(user_id, [c for c, _, _, _ in links])
            rows.update(visible)
            frontier = []
            for child, parent, identifier, relationship in links:
                if child in visible:
                    below.setdefault(parent, []).append((child, identifier, relationship))
                    if child not in seen:
                        seen.add(child)
                        frontier.append(child)
            if not frontier:
                break
        return {c: _branch(pks[c], below, rows, {pks[c]}) for c in top_ids if c in pks}


def _branch(
    pk: int,
    below: dict[int, list[tuple[int, str, str]]],
    rows: dict[int, dict[str, Any]],
    path: set[int],
) -> tuple[Related, ...]:
    out = []
    for child, identifier, relationship in below.get(pk, []):
        if child not in path:
            kids = _branch(child, below, rows, path | {child})
            out.append(Related(identifier, relationship, rows[child], kids))
    return tuple(out)
