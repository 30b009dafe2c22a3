"""Credentials: password hashes, browser sessions, API tokens and failed sign-ins."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from caseshare.core.model import User
from caseshare.store.base import Connection, utcnow
from caseshare.store.structure import user_columns, user_from_row

#: the class of PostgreSQL advisory locks that serialise counting one name's sign-ins ("SI")
_SIGNIN_LOCK = 0x5349


@dataclass(frozen=True)
class SessionRow:
    id: int
    user_id: int
    csrf: str
    expires_at: str


@dataclass(frozen=True)
class TokenRow:
    id: int
    user_id: int
    name: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None


class AccountStore(Connection):
    """Only hashes are stored: a leaked table gives no session, token or password."""

    def password_hash(self, user_id: int) -> str | None:
        value = self.value("SELECT password_hash FROM users WHERE id = ?", (user_id,))
        return None if value is None else str(value)

    def set_password_hash(self, user_id: int, password_hash: str | None) -> None:
        self.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))

    # -- sessions ---------------------------------------------------------------------------

    def create_session(self, token_hash: str, user_id: int, csrf: str, expires_at: str) -> int:
        return self.insert(
            "INSERT INTO sessions (token_hash, user_id, csrf, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (token_hash, user_id, csrf, utcnow(), expires_at),
        )

    def session_and_user(self, token_hash: str) -> tuple[SessionRow, User] | None:
        """The session a cookie's hash names, and its user: one statement (every request a
        browser makes reads both)."""
        row = self.row(
            f"SELECT s.id, s.user_id, s.csrf, s.expires_at, {user_columns('u')} FROM sessions s"
            " JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?",
            (token_hash,),
            hot=True,
        )
        if row is None:
            return None
        return SessionRow(int(row[0]), int(row[1]), row[2], row[3]), user_from_row(row[4:])

    def delete_session(self, token_hash: str) -> None:
        self.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))

    def delete_user_sessions(self, user_id: int) -> None:
        self.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))

    def delete_expired_sessions(self, now: str) -> None:
        self.execute("DELETE FROM sessions WHERE expires_at < ?", (now,))

    # -- API tokens -------------------------------------------------------------------------

    def create_token(self, user_id: int, name: str, token_hash: str) -> int:
        return self.insert(
            "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?)",
            (user_id, name, token_hash, utcnow()),
        )

    def token_and_user(self, token_hash: str) -> tuple[TokenRow, User] | None:
        """The token a bearer secret's hash names, and its user: one statement (every request
        a program makes reads both)."""
        row = self.row(
            "SELECT t.id, t.user_id, t.name, t.created_at, t.last_used_at, t.revoked_at,"
            f" {user_columns('u')} FROM api_tokens t JOIN users u ON u.id = t.user_id"
            " WHERE t.token_hash = ?",
            (token_hash,),
            hot=True,
        )
        if row is None:
            return None
        return TokenRow(int(row[0]), int(row[1]), *row[2:6]), user_from_row(row[6:])

    def tokens_of(self, user_id: int) -> list[TokenRow]:
        return [
            TokenRow(int(r[0]), int(r[1]), *r[2:])
            for r in self.rows(
                "SELECT id, user_id, name, created_at, last_used_at, revoked_at FROM api_tokens"
                " WHERE user_id = ? ORDER BY id",
                (user_id,),
            )
        ]

    def revoke_token(self, user_id: int, token_id: int) -> bool:
        cur = self.execute(
            "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND user_id = ?"
            " AND revoked_at IS NULL",
            (utcnow(), token_id, user_id),
        )
        return bool(cur.rowcount)

    def touch_token(self, token_id: int) -> None:
        self.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (utcnow(), token_id))

    def touch_tokens(self, uses: Mapping[int, str]) -> None:
        """Record tokens' last uses (token id -> when); a later use already recorded stays."""
        for token_id, at in sorted(uses.items()):
            self.execute(
                "UPDATE api_tokens SET last_used_at = ? WHERE id = ?"
                " AND (last_used_at IS NULL OR last_used_at < ?)",
                (at, token_id, at),
            )

    # -- failed sign-ins --------------------------------------------------------------------

    def lock_signin(self, agency_id: int, username: str) -> None:
        """Until the transaction ends, be the only one counting this name's sign-ins
        (PostgreSQL; SQLite's BEGIN IMMEDIATE serialises every writer already)."""
        if self.is_postgres:
            self.execute(
                "SELECT pg_advisory_xact_lock(CAST(? AS integer), hashtext(?))",
                (_SIGNIN_LOCK, f"{agency_id}:{username}"),
            )

    def record_signin_failure(self, agency_id: int, username: str) -> int:
        return self.insert(
            "INSERT INTO signin_failures (agency_id, username, at) VALUES (?, ?, ?)",
            (agency_id, username, utcnow()),
        )

    def signin_failures_since(self, agency_id: int, username: str, since: str) -> list[str]:
        return [
            r[0]
            for r in self.rows(
                "SELECT at FROM signin_failures WHERE agency_id = ? AND username = ? AND at >= ?"
                " ORDER BY at",
                (agency_id, username, since),
            )
        ]

    def clear_signin_failures(self, agency_id: int, username: str) -> None:
        self.execute(
            "DELETE FROM signin_failures WHERE agency_id = ? AND username = ?",
            (agency_id, username),
        )
