"""Each user's own lists: favourite cases, recently opened cases and saved filters (S-VIEW-1)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from caseshare.store.base import Connection, dumps, loads, utcnow

#: how many recently opened cases are kept per user
RECENT_KEEP = 20


class PersonalStore(Connection):
    """Rows that belong to one user and change nobody's access."""

    def set_favourite(self, user_id: int, case_pk: int, on: bool) -> bool:
        """Star or unstar; True when that changed something. Two at once are both fine."""
        if on:
            cur = self.execute(
                "INSERT INTO favourites (user_id, case_pk, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (user_id, case_pk) DO NOTHING",
                (user_id, case_pk, utcnow()),
            )
        else:
            cur = self.execute(
                "DELETE FROM favourites WHERE user_id = ? AND case_pk = ?", (user_id, case_pk)
            )
        return bool(cur.rowcount)

    def favourite_pks(self, user_id: int) -> list[int]:
        return [
            int(r[0])
            for r in self.rows(
                "SELECT case_pk FROM favourites WHERE user_id = ? ORDER BY created_at DESC",
                (user_id,),
            )
        ]

    def note_recent(self, user_id: int, case_pk: int) -> None:
        """One row per user and case, the newest ``RECENT_KEEP`` kept; two first reads of one case
        at once both land on the one row (an upsert, never a unique violation)."""
        self.execute(
            "INSERT INTO recent_cases (user_id, case_pk, viewed_at) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id, case_pk) DO UPDATE SET viewed_at = excluded.viewed_at",
            (user_id, case_pk, utcnow()),
        )
        self.execute(
            "DELETE FROM recent_cases WHERE user_id = ? AND case_pk NOT IN ("
            " SELECT case_pk FROM recent_cases WHERE user_id = ?"
            f" ORDER BY viewed_at DESC LIMIT {RECENT_KEEP})",
            (user_id, user_id),
        )

    def note_recents(self, views: Sequence[tuple[int, int, str]]) -> None:
        """Many views at once — (user id, case pk, viewed at) each — in three statements: the
        upserts (an older time never replaces a newer one; a case or user gone meanwhile is
        left out), then each user's list trimmed to the newest ``RECENT_KEEP``."""
        self.executemany(
            "INSERT INTO recent_cases (user_id, case_pk, viewed_at)"
            " SELECT CAST(? AS bigint), CAST(? AS bigint), ? WHERE EXISTS (SELECT 1 FROM cases WHERE pk = ?)"
            " AND EXISTS (SELECT 1 FROM users WHERE id = ?)"
            " ON CONFLICT (user_id, case_pk) DO UPDATE SET viewed_at = excluded.viewed_at"
            " WHERE recent_cases.viewed_at < excluded.viewed_at",
            [(user, pk, at, pk, user) for user, pk, at in views],
        )
        users = sorted({user for user, _, _ in views})
        self.executemany(
            "DELETE FROM recent_cases WHERE user_id = ? AND case_pk NOT IN ("
            " SELECT case_pk FROM recent_cases WHERE user_id = ?"
            f" ORDER BY viewed_at DESC LIMIT {RECENT_KEEP})",
            [(user, user) for user in users],
        )

    def recent_pks(self, user_id: int) -> list[tuple[int, str]]:
        return [
            (int(r[0]), r[1])
            for r in self.rows(
                "SELECT case_pk, viewed_at FROM recent_cases WHERE user_id = ?"
                " ORDER BY viewed_at DESC",
                (user_id,),
            )
        ]

    def saved_filters(self, user_id: int) -> list[dict[str, Any]]:
        return [
            {"id": int(r[0]), "name": r[1], "filter": loads(r[2]), "default": bool(r[3])}
            for r in self.rows(
                "SELECT id, name, filter, is_default FROM saved_filters WHERE user_id = ?"
                " ORDER BY name",
                (user_id,),
            )
        ]

    def save_filter(self, user_id: int, name: str, flt: dict[str, Any], default: bool) -> int:
        """Save under a name, replacing the user's filter of that name (an upsert: two saves of
        one name at once both succeed, the later one wins)."""
        j = self.dialect.json_param()
        if default:
            self.execute("UPDATE saved_filters SET is_default = 0 WHERE user_id = ?", (user_id,))
        return self.insert(
            f"INSERT INTO saved_filters (user_id, name, filter, is_default) VALUES (?, ?, {j}, ?)"
            " ON CONFLICT (user_id, name) DO UPDATE"
            " SET filter = excluded.filter, is_default = excluded.is_default",
            (user_id, name, dumps(flt), int(default)),
        )

    def delete_filter(self, user_id: int, filter_id: int) -> bool:
        cur = self.execute(
            "DELETE FROM saved_filters WHERE id = ? AND user_id = ?", (filter_id, user_id)
        )
        return bool(cur.rowcount)

    def view_layout(self, user_id: int) -> str | None:
        """The user's View cases setting, or None when they never chose one."""
        found = self.value("SELECT view_cases FROM user_preferences WHERE user_id = ?", (user_id,))
        return None if found is None else str(found)

    def set_view_layout(self, user_id: int, layout: str) -> None:
        updated = self.execute(
            "UPDATE user_preferences SET view_cases = ? WHERE user_id = ?", (layout, user_id)
        )
        if not updated.rowcount:
            self.execute(
                "INSERT INTO user_preferences (user_id, view_cases) VALUES (?, ?)",
                (user_id, layout),
            )
