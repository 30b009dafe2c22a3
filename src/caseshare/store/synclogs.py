"""Sync logs (S-SYNC-2): what each restore gave a device, so the next one sends only the news."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from caseshare.store.base import Connection, dumps, loads, utcnow

#: audit actions only the sharing API writes; it writes ``case.create`` and ``case.update``
#: too, always without a reason, while the submission pipeline always gives one
API_ONLY_ACTIONS: Final = ("case.owner", "case.delete", "case.restore")


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


class SyncLogStore(Connection):
    """Repository for sync logs."""

    def create_sync_log(
        self,
        token: str,
        agency_id: int,
        user_id: int,
        previous: str | None,
        watermark: int,
        case_ids: Iterable[str],
    ) -> None:
        self.execute(
            "INSERT INTO sync_logs (token, agency_id, user_id, created_on, previous, watermark,"
            f" case_ids) VALUES (?, ?, ?, ?, ?, ?, {self.dialect.json_param()})",
            (token, agency_id, user_id, utcnow(), previous, watermark, dumps(sorted(case_ids))),
        )

    def sync_log(self, token: str) -> SyncLog | None:
        row = self.row(
            "SELECT token, agency_id, user_id, created_on, previous, watermark, case_ids"
            " FROM sync_logs WHERE token = ?",
            (token,),
        )
        if row is None:
            return None
        return SyncLog(
            row[0], row[1], row[2], row[3], row[4], row[5], frozenset(loads(row[6]) or ())
        )

    def add_sync_cases(self, token: str, case_ids: Iterable[str]) -> None:
        """The device made or changed these cases itself: it holds them."""
        log = self.sync_log(token)
        if log is not None:
            self.execute(
                f"UPDATE sync_logs SET case_ids = {self.dialect.json_param()} WHERE token = ?",
                (dumps(sorted(log.case_ids | set(case_ids))), token),
            )

    def transaction_watermark(self, agency_id: int) -> int:
        found = self.value(
            "SELECT max(id) FROM case_transactions WHERE agency_id = ?", (agency_id,)
        )
        return int(found or 0)

    def changed_since(self, log: SyncLog) -> set[str]:
        """Cases changed after the restore by anyone but the device that holds the token."""
        rows = self.rows(
            "SELECT DISTINCT t.case_id FROM case_transactions t"
            " LEFT JOIN submissions s ON s.id = t.submission_id"
            " WHERE t.agency_id = ? AND t.id > ? AND t.kinds <> 'baseline'"
            " AND (s.sync_token IS NULL OR s.sync_token <> ?"
            " OR t.kinds LIKE '%cascade%')"
            " UNION SELECT c.case_id FROM cases c WHERE c.agency_id = ?"
            " AND c.server_modified_on > ? AND NOT EXISTS (SELECT 1 FROM case_transactions t"
            " WHERE t.agency_id = c.agency_id AND t.case_id = c.case_id AND t.id > ?)"
            # a sharing-API change (S-SYNC-2) is news even when the device changed the case too:
            # the API writes no transaction, only its audit event
            " UNION SELECT c.case_id FROM audit_events a JOIN cases c ON c.pk = a.case_pk"
            " WHERE a.agency_id = ? AND c.agency_id = ? AND a.at > ?"
            f" AND (a.action IN ({', '.join('?' * len(API_ONLY_ACTIONS))})"
            " OR (a.action IN ('case.create', 'case.update') AND a.reason = ''))",
            (
                log.agency_id,
                log.watermark,
                log.token,
                log.agency_id,
                log.created_on,
                log.watermark,
                log.agency_id,
                log.agency_id,
                log.created_on,
                *API_ONLY_ACTIONS,
            ),
        )
        return {r[0] for r in rows}
