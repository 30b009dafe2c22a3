"""Cross-case alerts (S-XC-1, S-XC-2) from the index ``target_identifiers_deconfliction``
on (agency, type, normalised value, case) over identifiers with deconfliction on: every lookup
is an index range, never a scan of the agency's targets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from caseshare.store.base import Connection


class XCaseStore(Connection):
    def xcase_matches(self, case_pks: Sequence[int]) -> list[tuple[int, str, str, int]]:
        """(case pk, identifier type, normalised value, other case pk) for each identifier with
        deconfliction on of these cases that another live case of the same agency also carries
        with deconfliction on."""
        if not case_pks:
            return []
        return self.xcase_matches_of(self.rows(*self.xcase_matches_query(case_pks)))

    def xcase_matches_query(self, case_pks: Sequence[int]) -> tuple[str, list[Any]]:
        """``xcase_matches``' statement (for ``rows_together``); its rows go to
        ``xcase_matches_of``."""
        mine, params = self.dialect.in_list("m.case_pk", list(case_pks))
        return (
            "SELECT DISTINCT m.case_pk, m.type, m.normalized, o.case_pk"
            " FROM target_identifiers m JOIN target_identifiers o"
            " ON o.agency_id = m.agency_id AND o.type = m.type"
            " AND o.normalized = m.normalized AND o.deconfliction = 1"
            " AND o.case_pk <> m.case_pk"
            " JOIN cases c ON c.pk = o.case_pk AND c.deleted = 0"
            f" WHERE {mine} AND m.deconfliction = 1"
            " ORDER BY m.case_pk, m.type, m.normalized, o.case_pk",
            params,
        )

    @staticmethod
    def xcase_matches_of(rows: Sequence[Sequence[Any]]) -> list[tuple[int, str, str, int]]:
        return [(int(r[0]), r[1], r[2], int(r[3])) for r in rows]

    def xcase_owner_cards(self, case_pks: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Per case: its id, name, type, closed, agency's name and its owner's contact (the
        opener's when a group or location owns it)."""
        if not case_pks:
            return {}
        where, params = self.dialect.in_list("c.pk", list(case_pks))
        out = {}
        for r in self.rows(
            "SELECT c.pk, c.case_id, c.name, c.case_type, c.closed, a.name,"
            " u.full_name, u.username, u.email, o.full_name, o.username, o.email"
            " FROM cases c JOIN agencies a ON a.id = c.agency_id"
            " LEFT JOIN users u ON u.id = c.owner_user_id"
            f" LEFT JOIN users o ON o.id = c.opened_by WHERE {where}",
            params,
        ):
            if r[7] is not None:
                name, email = r[6] or r[7], r[8]
            else:
                name, email = (r[9] or r[10] or ""), (r[11] or "")
            out[int(r[0])] = {
                "case_id": r[1],
                "name": r[2],
                "case_type": r[3],
                "closed": bool(r[4]),
                "agency": r[5],
                "owner_name": name,
                "owner_email": email,
            }
        return out

    def identifier_cases(self, agency_id: int, kind: str, normalized: str) -> list[int]:
        """Live cases of an agency carrying the identifier with deconfliction on (S-XC-2)."""
        return [
            int(r[0])
            for r in self.rows(
                "SELECT DISTINCT i.case_pk FROM target_identifiers i"
                " JOIN cases c ON c.pk = i.case_pk AND c.deleted = 0"
                " WHERE i.agency_id = ? AND i.type = ? AND i.normalized = ?"
                " AND i.deconfliction = 1 ORDER BY i.case_pk",
                (agency_id, kind, normalized),
            )
        ]
