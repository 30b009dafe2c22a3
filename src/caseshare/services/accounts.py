"""Sign-in: passwords (argon2), browser sessions, API tokens and the failed-sign-in limit."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from caseshare.core.errors import Busy, CaseShareError
from caseshare.core.model import User
from caseshare.services.base import ServiceBase, actor_name
from caseshare.services.cases import check_text
from caseshare.services.recents import TokenUses

#: failed sign-ins for one user name within FAILURE_WINDOW before it is locked for a while
MAX_FAILURES = 5
FAILURE_WINDOW = dt.timedelta(minutes=15)
SESSION_LIFETIME = dt.timedelta(hours=12)
MIN_PASSWORD = 8
TOKEN_PREFIX = "cs_"

_hasher = PasswordHasher()
#: verified against when the user does not exist, so a wrong name costs what a wrong password does
_DUMMY_HASH = _hasher.hash("not a password anyone has")


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


#: HMAC tags of (user, stored hash, password) that argon2 accepted, under a key of this process.
#: A device signs in on every request (HTTP basic auth); argon2 costs ~0.2 s of CPU each time,
#: so a password once verified is recognised by its tag. A new password (a new stored hash)
#: never matches an old tag, and the user's row is read on every sign-in, so deactivation and
#: password changes take effect at once. Nothing here is a password or a hash of one alone.
_VERIFIED: set[bytes] = set()
_VERIFIED_MAX = 10_000
_CACHE_KEY = secrets.token_bytes(32)


def _tag(user_id: int, stored: str, password: str) -> bytes:
    return hmac.digest(_CACHE_KEY, f"{user_id}\0{stored}\0{password}".encode(), "sha256")


def _known_good(user_id: int, stored: str | None, password: str) -> bool:
    """True when argon2 accepted exactly this password for this stored hash before: no guess,
    so no sign-in attempt is spent on it."""
    return stored is not None and _tag(user_id, stored, password) in _VERIFIED


def _password_ok(user_id: int, stored: str | None, password: str) -> bool:
    """argon2's verdict, remembered for this exact stored hash (see ``_VERIFIED``)."""
    if stored is None:
        with contextlib.suppress(VerificationError, InvalidHashError):
            _hasher.verify(_DUMMY_HASH, password)  # the same time as a real check
        return False
    tag = _tag(user_id, stored, password)
    if tag in _VERIFIED:
        return True
    try:
        ok = bool(_hasher.verify(stored, password))
    except (VerificationError, InvalidHashError):
        return False
    if ok:
        if len(_VERIFIED) >= _VERIFIED_MAX:
            _VERIFIED.clear()
        _VERIFIED.add(tag)
    return ok


def _locked(username: str, failures: list[str]) -> CaseShareError:
    """429: the name had ``MAX_FAILURES`` failed sign-ins within the window."""
    first = dt.datetime.strptime(failures[-MAX_FAILURES], "%Y-%m-%dT%H:%M:%S.%fZ")
    unlock = first.replace(tzinfo=dt.UTC) + FAILURE_WINDOW
    wait = max(1, int((unlock - _now()).total_seconds()) + 1)
    return CaseShareError(
        "insufficient_access",
        f"Too many failed sign-ins for {username!r}; try again in"
        f" {(wait + 59) // 60} minute(s), or ask an admin to reset the password.",
        {"retry_after": wait},
    )


def secret_hash(secret: str) -> str:
    """Sessions and tokens are long random secrets: a plain SHA-256 is enough to store them."""
    return hashlib.sha256(secret.encode()).hexdigest()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise CaseShareError(
            "validation_error", f"A password needs at least {MIN_PASSWORD} characters."
        )
    return _hasher.hash(password)


@dataclass(frozen=True)
class Session:
    token: str
    csrf: str
    user_id: int
    expires_at: str


class AccountService(ServiceBase):
    """Who is calling: every request resolves to one active user of one agency, or to nobody."""

    def set_password(self, agency_id: int, actor: int | None, user_id: int, password: str) -> None:
        """A user sets their own password; an admin (or the system) sets anyone's."""
        hashed = hash_password(password)
        with self.store.transaction():
            if actor != user_id:
                self.require_admin(actor, agency_id)
            user = self.store.user(user_id)
            if user.agency_id != agency_id:
                raise CaseShareError("not_found", f"User {user_id} was not found.")
            self.store.set_password_hash(user_id, hashed)
            self.store.delete_user_sessions(user_id)
            # a reset is the way out of a sign-in lock (the 429 message says so)
            self.store.clear_signin_failures(agency_id, user.username.strip().casefold())
            self.store.record(agency_id, actor_name(actor), "user.password", f"user:{user_id}")

    def change_own_password(self, user_id: int, current: str, new: str) -> None:
        """A user changes their own password, proving the current one. A wrong current password
        counts as a failed sign-in (the same limit: a stolen session or token cannot guess it).
        Every session of the user ends (a browser that stays signed in starts a new one)."""
        user = self.store.user(user_id)
        key = user.username.strip().casefold()
        # the attempt is spent before the password is checked, as one step with counting them
        self._spend_attempt(user.agency_id, key, user.username, _iso(_now() - FAILURE_WINDOW))
        if not _password_ok(user_id, self.store.password_hash(user_id), current):
            raise CaseShareError(
                "insufficient_access",
                "Your current password is wrong, so nothing was changed.",
                {"field": "current_password"},
            )
        with self.store.transaction():
            self.store.clear_signin_failures(user.agency_id, key)
        if new == current:
            raise CaseShareError(
                "validation_error",
                "The new password is the same as the current one; choose another.",
                {"field": "new_password"},
            )
        self.set_password(user.agency_id, user_id, user_id, new)

    def end_all_sessions(self, user_id: int) -> None:
        """Sign out everywhere: every browser session of the user ends (API tokens stay)."""
        user = self.store.user(user_id)
        with self.store.transaction():
            self.store.delete_user_sessions(user_id)
            self.store.record(
                user.agency_id, actor_name(user_id), "user.sign_out_everywhere", f"user:{user_id}"
            )

    def authenticate(self, agency_slug: str, username: str, password: str) -> User | None:
        """The user these credentials name, or None; refuses while the name is locked.

        Each password that is checked spends one of the name's ``MAX_FAILURES`` attempts
        *before* it is checked, in one atomic step with counting them (``_spend_attempt``), so
        guesses sent in parallel get no more checks than guesses sent one by one. A sign-in
        that succeeds gives its attempt back (and clears the others).
        """
        agency_id = self.store.agency_by_slug(agency_slug)
        key = username.strip().casefold()
        if agency_id is None or "\x00" in key:  # a NUL names no one (and no attempt to count)
            _password_ok(0, None, password)  # the same time as any other wrong answer
            return None
        since = _iso(_now() - FAILURE_WINDOW)
        failures = self.store.signin_failures_since(agency_id, key, since)
        if len(failures) >= MAX_FAILURES:  # locked: refused without a write
            raise _locked(username, failures)
        user = self.store.user_by_name(agency_id, username.strip())
        stored = None if user is None else self.store.password_hash(user.id)
        if user is not None and user.active and _known_good(user.id, stored, password):
            if failures:
                with self.store.transaction():
                    self.store.clear_signin_failures(agency_id, key)
            return user
        self._spend_attempt(agency_id, key, username, since)
        ok = _password_ok(0 if user is None else user.id, stored, password)
        if not ok or user is None or not user.active:
            return None  # the attempt spent stays as the failure
        assert stored is not None
        with self.store.transaction():
            self.store.clear_signin_failures(agency_id, key)
            if _hasher.check_needs_rehash(stored):
                self.store.set_password_hash(user.id, _hasher.hash(password))
        return user

    def _spend_attempt(self, agency_id: int, key: str, username: str, since: str) -> None:
        """Count the name's recent attempts and spend one, as one step; refuse when none is
        left."""
        with self.store.transaction():
            self.store.lock_signin(agency_id, key)
            failures = self.store.signin_failures_since(agency_id, key, since)
            if len(failures) >= MAX_FAILURES:
                raise _locked(username, failures)
            self.store.record_signin_failure(agency_id, key)

    # -- sessions ---------------------------------------------------------------------------

    def start_session(self, user_id: int) -> Session:
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24)
        expires = _iso(_now() + SESSION_LIFETIME)
        with self.store.transaction():
            self.store.delete_expired_sessions(_iso(_now()))
            self.store.create_session(secret_hash(token), user_id, csrf, expires)
        return Session(token, csrf, user_id, expires)

    def session_owner(self, token: str) -> tuple[Session, User] | None:
        """Read only: the live session this cookie names and its active user, or None."""
        found = self.store.session_and_user(secret_hash(token))
        if found is None:
            return None
        row, user = found
        if row.expires_at < _iso(_now()) or not user.active:
            return None
        return Session(token, row.csrf, row.user_id, row.expires_at), user

    def session(self, token: str) -> Session | None:
        """The live session of an active user this cookie names, or None."""
        found = self.session_owner(token)
        return None if found is None else found[0]

    def end_session(self, token: str) -> None:
        with self.store.transaction():
            self.store.delete_session(secret_hash(token))

    # -- API tokens -------------------------------------------------------------------------

    def create_token(self, user_id: int, name: str) -> tuple[int, str]:
        """A new token for the user: the secret is shown once, only its hash is kept."""
        name = name.strip()
        if not name or len(name) > 100:
            raise CaseShareError("validation_error", "Give the token a name of 1–100 characters.")
        check_text("The token's name", name)
        user = self.store.user(user_id)
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.store.transaction():
            token_id = self.store.create_token(user_id, name, secret_hash(secret))
            self.store.record(
                user.agency_id,
                actor_name(user_id),
                "token.create",
                f"user:{user_id}",
                after={"token": token_id, "name": name},
            )
        return token_id, secret

    def tokens(self, user_id: int) -> list[dict[str, Any]]:
        """The user's tokens; a use this process noted and has not written yet counts too."""
        return [
            {
                "id": t.id,
                "name": t.name,
                "created_at": t.created_at,
                "last_used_at": self._last_use(t.id, t.last_used_at),
                "revoked": t.revoked_at is not None,
                "revoked_at": t.revoked_at,
            }
            for t in self.store.tokens_of(user_id)
        ]

    def revoke_token(self, user_id: int, token_id: int) -> None:
        user = self.store.user(user_id)
        with self.store.transaction():
            if not self.store.revoke_token(user_id, token_id):
                raise CaseShareError("not_found", f"Token {token_id} was not found.")
            self.store.record(
                user.agency_id,
                actor_name(user_id),
                "token.revoke",
                f"user:{user_id}",
                before={"token": token_id},
            )

    def token_owner(self, secret: str) -> tuple[User, int | None] | None:
        """Read only: the active user a bearer token belongs to, and the token's id when its
        last use is to be recorded (at most once a minute); None for an unknown, revoked or
        inactive user's token."""
        if not secret.startswith(TOKEN_PREFIX):
            return None
        found = self.store.token_and_user(secret_hash(secret))
        if found is None:
            return None
        row, user = found
        if row.revoked_at is not None or not user.active:
            return None
        stale = row.last_used_at is None or row.last_used_at[:16] != _iso(_now())[:16]
        return user, row.id if stale else None

    #: the HTTP app's buffer of token uses (``services.recents.TokenUses``); None writes each
    #: at once
    token_uses: TokenUses | None = None

    def touch_token(self, token_id: int) -> None:
        """Bookkeeping that never fails a request: with a buffer (the HTTP app) the use is only
        put there, for the background flush; without one it is written at once, and when the
        database is busy the token's next use records it instead."""
        if self.token_uses is not None:
            self.token_uses.note(token_id)
            return
        with contextlib.suppress(Busy), self.store.in_passing():
            self.store.touch_token(token_id)

    def _last_use(self, token_id: int, stored: str | None) -> str | None:
        noted = None if self.token_uses is None else self.token_uses.pending(token_id)
        if noted is None or (stored is not None and stored >= noted):
            return stored
        return noted

    def flush_token_uses(self) -> int:
        """Write the buffered token uses in one transaction; returns how many. Uses the
        database refuses (busy) go back to the buffer for the next flush."""
        if self.token_uses is None:
            return 0
        uses = self.token_uses.take()
        if not uses:
            return 0
        try:
            with self.store.in_passing():
                self.store.touch_tokens(uses)
        except CaseShareError:  # Busy, or a deadlock the database resolved
            self.token_uses.settle(uses, again=True)
            return 0
        except Exception:
            self.token_uses.settle(uses, again=False)
            raise
        self.token_uses.settle(uses, again=False)
        return len(uses)

    def token_user(self, secret: str) -> int | None:
        """The active user a bearer token belongs to, or None (unknown, revoked, inactive)."""
        found = self.token_owner(secret)
        if found is None:
            return None
        user, touch = found
        if touch is not None:
            self.touch_token(touch)
        return user.id
