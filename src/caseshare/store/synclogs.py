"""Sync logs (S-SYNC-2): what each restore gave a device, so the next one sends only the news."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from caseshare.core.sync import DeviceCase
from caseshare.store.base import Connection, dumps, loads, utcnow


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


class SyncLogStore(Connection):
    """Repository for sync logs."""

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
