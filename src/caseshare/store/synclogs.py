"""Sync logs (S-SYNC-2): what each restore gave a device, so the next one sends only the news."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from caseshare.core.sync import DeviceCase, SyncNode
from caseshare.store.base import Connection, dumps, loads, utcnow
from caseshare.store.dialect import SQLITE


@dataclass(frozen=True)
class SyncLog:
    token: str
    agency_id: int
    user_id: int
    created_on: str
    previous: str | None
    #: the largest case transaction id when the restore was made
    watermark: int
    #: the case ids the device holds after that restore (and after its own forms since)
    case_ids: frozenset[str]
    #: what the device knows of each case it holds, as stored: case id -> [closed, owner,
    #: {identifier: [case id, relationship]}] (``device_cases`` reads it); None for a log
    #: written before migration 8
    device: Mapping[str, DeviceEntry] | None = None
    #: the owner ids that restore gave the device (its user-groups fixture)
    owner_ids: frozenset[str] = frozenset()


#: one case a device holds, as stored: [closed, owner, {identifier: [case id, relationship]}]
DeviceEntry = list[Any]


def device_entry(case: DeviceCase) -> DeviceEntry:
    return [case.closed, case.owner, {k: list(v) for k, v in case.indices.items()}]


def device_cases(entries: Mapping[str, DeviceEntry]) -> dict[str, DeviceCase]:
    """The stored entries as ``DeviceCase``s (only the device's own forms need them)."""
    return {
        case_id: DeviceCase(bool(closed), owner, {k: (v[0], v[1]) for k, v in idx.items()})
        for case_id, (closed, owner, idx) in entries.items()
    }


def _device_json(device: Mapping[str, DeviceEntry], owner_ids: Iterable[str]) -> str:
    # not sorted: a restore of 10,000 cases writes this whole map, and its order means nothing
    return json.dumps({"owner_ids": sorted(owner_ids), "cases": device}, separators=(",", ":"))


def _device(raw: Any) -> tuple[dict[str, DeviceEntry] | None, frozenset[str]]:
    data = loads(raw)
    if data is None:
        return None, frozenset()
    return data["cases"], frozenset(data["owner_ids"])


#: an index row of which neither end is in the recycle bin (no join to ``cases``: on SQLite a
#: join inside a recursive step builds a Bloom filter over the whole table at every step)
_LIVE_ENDS = (
    "i.case_pk <> i.ref_pk AND NOT EXISTS (SELECT 1 FROM cases d"
    " WHERE d.pk IN (i.case_pk, i.ref_pk) AND d.deleted <> 0)"
)
#: the most cases ``may_sync`` walks back from a case before it answers "maybe"
PROBE_CASES = 2_000

#: the other end of index row ``i`` from the walk's current case ``w.pk``
_OTHER = "CASE WHEN i.case_pk = w.pk THEN i.ref_pk ELSE i.case_pk END"


class SyncLogStore(Connection):
    """Repository for sync logs."""

    def may_sync(self, agency_id: int, case_pk: int, owner_ids: Iterable[str]) -> bool:
        """False when the case is surely not in the S-SYNC-1 live set of a user with these owner
        ids: no open case of theirs reaches it. One recursive query walking back from the case
        — to the cases indexing it, and from an open case to its hosts — so its cost follows the
        case's family below it, not the user's cases. True means "maybe": ``sync_graph`` and
        ``core.sync`` decide; so does a case whose family holds more than ``PROBE_CASES``.
        """
        query = self.may_sync_query(agency_id, owner_ids, case_pk=case_pk)
        return query is not None and bool(self.rows(*query, hot=True))

    def may_sync_query(
        self,
        agency_id: int,
        owner_ids: Iterable[str],
        *,
        case_pk: int | None = None,
        case_id: str | None = None,
    ) -> tuple[str, tuple[Any, ...]] | None:
        """``may_sync``'s statement (a row: maybe; none: surely not), the case named by pk or
        by id: by id, it needs no answer of another statement, so a check reads it in the
        statement of its facts (``facts_and_state``). None when there are no owner ids (surely
        not)."""
        # the owner of each case walked, one lookup by pk each (a plain join lets SQLite build a
        # Bloom filter over every case, and PostgreSQL read every case of the user's owners)
        owner = "(SELECT c.owner FROM cases c WHERE c.pk = w.pk AND c.closed = 0)"
        owned, params = self.dialect.in_list(owner, sorted(set(owner_ids)))
        if not params:
            return None
        seed, key = ("c.case_id = ?", case_id) if case_pk is None else ("c.pk = ?", case_pk)
        # SQLite: a LIMIT on the recursive step ends the walk there (its reader's LIMIT does
        # not); PostgreSQL refuses one there, and walks only as far as its reader reads
        inner = f" LIMIT {PROBE_CASES + 1}" if self.dialect is SQLITE else ""
        # at most PROBE_CASES of the walk are read: past them the answer is "maybe", which the
        # caller settles from the user's own cases. A case of a big family (an extension of a
        # household with 21,000 children at size L) cost a walk of all of it on every check
        return (
            f"WITH RECURSIVE w(pk) AS (SELECT c.pk FROM cases c WHERE {seed} AND c.agency_id = ?"
            f" AND c.deleted = 0 UNION SELECT {_OTHER} FROM w"
            " JOIN case_indices i ON i.ref_pk = w.pk"
            " OR (i.case_pk = w.pk AND i.relationship = 'extension')"
            f" WHERE {_LIVE_ENDS} AND (i.ref_pk = w.pk OR NOT EXISTS (SELECT 1 FROM cases y"
            f" WHERE y.pk = i.case_pk AND y.closed <> 0)){inner})"
            f" SELECT count(*) FROM (SELECT CASE WHEN {owned} THEN 1 ELSE 0 END AS owned FROM w"
            f" LIMIT {PROBE_CASES + 1}) x HAVING count(*) > {PROBE_CASES} OR max(x.owned) = 1",
            (key, agency_id, *params),
        )

    def sync_graph(
        self, agency_id: int, owner_ids: Iterable[str], *, around: int | None = None
    ) -> tuple[dict[str, SyncNode], dict[str, str]]:
        """The cases an S-SYNC-1 live set is decided on, with their indices, in one query.

        Without ``around``: the cases the user owns and every case reached from them by
        following indices to what they index, or back from a host to its extensions — a
        recursive walk over ``case_indices``, so the cost follows the user's cases, not the
        agency. With ``around`` (a case pk): that case's whole family instead (every case
        connected to it by indices, either way), which holds the live set's part around it for
        any user. ``core.sync.live_cases`` over the nodes gives the live set (it needs nothing
        outside them). Returns the nodes by case id, and each case's owner.
        """
        owners = sorted(set(owner_ids))
        if around is None:
            owned, params = self.dialect.in_list("c.owner", owners)
            seed = f"SELECT c.pk FROM cases c WHERE c.agency_id = ? AND c.deleted = 0 AND {owned}"
            seed_params: list[Any] = [agency_id, *params]
            step = "i.case_pk = w.pk OR (i.ref_pk = w.pk AND i.relationship = 'extension')"
        else:
            seed = "SELECT c.pk FROM cases c WHERE c.pk = ? AND c.agency_id = ? AND c.deleted = 0"
            seed_params = [around, agency_id]
            step = "i.case_pk = w.pk OR i.ref_pk = w.pk"
        walk = (
            f"WITH RECURSIVE w(pk) AS ({seed} UNION SELECT {_OTHER} FROM w"
            f" JOIN case_indices i ON {step} WHERE {_LIVE_ENDS})"
        )
        rows = self.rows(
            f"{walk} SELECT 0, c.pk, c.case_id, c.owner, c.closed FROM cases c"
            " WHERE c.pk IN (SELECT pk FROM w)"
            " UNION ALL SELECT 1, i.case_pk, CAST(i.ref_pk AS TEXT), i.relationship, 0"
            " FROM case_indices i"
            " WHERE i.case_pk IN (SELECT pk FROM w)",
            seed_params,
        )
        names = {r[1]: r[2] for r in rows if r[0] == 0}
        mine = set(owners)
        facts: dict[str, tuple[bool, str]] = {}
        indices: dict[str, list[tuple[str, str]]] = {}
        for kind, pk, second, third, closed in rows:
            if kind == 0:
                facts[second] = (bool(closed), third)
            elif pk in names and int(second) in names:  # an index to a binned case: none
                indices.setdefault(names[pk], []).append((names[int(second)], third))
        nodes = {
            case_id: SyncNode(case_id, closed, owner in mine, tuple(indices.get(case_id, ())))
            for case_id, (closed, owner) in facts.items()
        }
        return nodes, {case_id: owner for case_id, (_, owner) in facts.items()}

    def create_sync_log(
        self,
        token: str,
        agency_id: int,
        user_id: int,
        previous: str | None,
        watermark: int,
        device: Mapping[str, DeviceEntry],
        owner_ids: Iterable[str],
    ) -> None:
        j = "?"  # JSON as text on both stores (migration 9): never parsed by the database
        self.execute(
            "INSERT INTO sync_logs (token, agency_id, user_id, created_on, previous, watermark,"
            f" case_ids, device_cases) VALUES (?, ?, ?, ?, ?, ?, {j}, {j})",
            (
                token,
                agency_id,
                user_id,
                utcnow(),
                previous,
                watermark,
                dumps(sorted(device)),
                _device_json(device, owner_ids),
            ),
        )

    def sync_log(self, token: str) -> SyncLog | None:
        row = self.row(
            "SELECT token, agency_id, user_id, created_on, previous, watermark, case_ids,"
            " device_cases FROM sync_logs WHERE token = ?",
            (token,),
        )
        if row is None:
            return None
        device, owner_ids = _device(row[7])
        return SyncLog(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            frozenset(loads(row[6]) or ()),
            device,
            owner_ids,
        )

    def set_device_cases(
        self, token: str, device: Mapping[str, DeviceCase], owner_ids: Iterable[str]
    ) -> None:
        """The device's own form changed what it holds (S-SYNC-2, as CommCare HQ prunes)."""
        j = "?"
        entries = {case_id: device_entry(c) for case_id, c in device.items()}
        self.execute(
            f"UPDATE sync_logs SET case_ids = {j}, device_cases = {j} WHERE token = ?",
            (dumps(sorted(device)), _device_json(entries, owner_ids), token),
        )

    def add_sync_cases(self, token: str, case_ids: Iterable[str]) -> None:
        """A log from before migration 8 (no device view): the device holds these cases too."""
        log = self.sync_log(token)
        if log is not None:
            self.execute(
                "UPDATE sync_logs SET case_ids = ? WHERE token = ?",
                (dumps(sorted(log.case_ids | set(case_ids))), token),
            )

    def transaction_watermark(self, agency_id: int) -> int:
        found = self.value(
            "SELECT max(id) FROM case_transactions WHERE agency_id = ?", (agency_id,)
        )
        return int(found or 0)

    def changed_since(self, log: SyncLog) -> set[str]:
        """Cases changed after the restore by anyone but the device that holds the token: every
        change of a case is a case transaction (forms, the sharing API, rebuilds, purges' cut
        links), so one query finds them all. The device's own forms are left out, except the
        extension cases the server closed by cascade, which the device cannot know about."""
        rows = self.rows(
            "SELECT DISTINCT t.case_id FROM case_transactions t"
            " LEFT JOIN submissions s ON s.id = t.submission_id"
            " WHERE t.agency_id = ? AND t.id > ? AND t.kinds <> 'baseline'"
            " AND (s.sync_token IS NULL OR s.sync_token <> ? OR t.kinds LIKE '%cascade%')",
            (log.agency_id, log.watermark, log.token),
        )
        return {r[0] for r in rows}
