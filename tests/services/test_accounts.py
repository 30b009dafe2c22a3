"""Sign-in at the service level: the verified-password cache never outlives what it verified."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from caseshare.core.errors import CaseShareError
from caseshare.services import accounts
from tests.services.cast import Cast, code_of

PASSWORD = "first password"


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Counts argon2 verifications (the real hasher still does each one)."""
    calls: list[str] = []

    class Counting(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            calls.append(str(password))
            return super().verify(hash, password)

    monkeypatch.setattr(accounts, "_hasher", Counting())
    yield calls


def _slug(cast: Cast) -> str:
    return cast.store.agency(cast.agency)[1]


def _name(cast: Cast, user_id: int) -> str:
    return cast.store.user(user_id).username


def test_a_device_signing_in_again_costs_no_second_argon2_check(
    cast: Cast, verifications: list[str]
) -> None:
    cast.svc.set_password(cast.agency, None, cast.colleague, PASSWORD)
    for _ in range(3):
        user = cast.svc.authenticate(_slug(cast), _name(cast, cast.colleague), PASSWORD)
        assert user is not None and user.id == cast.colleague
    assert len(verifications) == 1


def test_a_changed_password_ends_the_old_one_at_once(cast: Cast) -> None:
    slug, name = _slug(cast), _name(cast, cast.colleague)
    cast.svc.set_password(cast.agency, None, cast.colleague, PASSWORD)
    assert cast.svc.authenticate(slug, name, PASSWORD) is not None
    cast.svc.set_password(cast.agency, None, cast.colleague, "second password")
    assert cast.svc.authenticate(slug, name, PASSWORD) is None
    assert cast.svc.authenticate(slug, name, "second password") is not None


def test_a_deactivated_user_is_refused_though_the_password_was_verified(cast: Cast) -> None:
    slug, name = _slug(cast), _name(cast, cast.colleague)
    cast.svc.set_password(cast.agency, None, cast.colleague, PASSWORD)
    assert cast.svc.authenticate(slug, name, PASSWORD) is not None
    cast.svc.set_active(cast.agency, None, cast.colleague, False)
    assert cast.svc.authenticate(slug, name, PASSWORD) is None


@pytest.mark.usefixtures("cheap")
def test_reactivating_a_user_gives_back_the_attempts_spent_while_inactive(cast: Cast) -> None:
    """A deactivated user who keeps signing in (with the right password) spends attempts; an
    admin who reactivates them acts for them, as a reset does: the name is not left locked."""
    slug, name = _slug(cast), _name(cast, cast.colleague)
    cast.svc.set_password(cast.agency, None, cast.colleague, PASSWORD)
    cast.svc.set_active(cast.agency, None, cast.colleague, False)
    for _ in range(accounts.MAX_FAILURES):
        assert cast.svc.authenticate(slug, name, PASSWORD) is None
    assert code_of(cast.svc.authenticate, slug, name, PASSWORD) == "insufficient_access"
    cast.svc.set_active(cast.agency, None, cast.colleague, True)
    user = cast.svc.authenticate(slug, name, PASSWORD)
    assert user is not None and user.id == cast.colleague


def test_a_wrong_password_is_checked_every_time(cast: Cast, verifications: list[str]) -> None:
    slug, name = _slug(cast), _name(cast, cast.colleague)
    cast.svc.set_password(cast.agency, None, cast.colleague, PASSWORD)
    for _ in range(2):
        assert cast.svc.authenticate(slug, name, "not it at all") is None
    assert verifications == ["not it at all", "not it at all"]


def test_an_unknown_name_costs_an_argon2_check_too(cast: Cast, verifications: list[str]) -> None:
    assert cast.svc.authenticate(_slug(cast), "nobody-here", PASSWORD) is None
    assert verifications == [PASSWORD]


@pytest.fixture
def cheap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters: these tests verify many passwords, not argon2's cost."""
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.mark.usefixtures("cheap")
def test_my_account_changes_the_password_with_the_current_one(cast: Cast) -> None:
    """Issue 9, My account (and PUT /users/{me}/password): the current password proves it is
    the user; every session ends."""
    slug, name = _slug(cast), _name(cast, cast.colleague)
    cast.svc.set_password(cast.agency, None, cast.colleague, PASSWORD)
    elsewhere = cast.svc.start_session(cast.colleague)
    cast.svc.change_own_password(cast.colleague, PASSWORD, "second password")
    assert cast.svc.session(elsewhere.token) is None
    assert cast.svc.authenticate(slug, name, PASSWORD) is None
    assert cast.svc.authenticate(slug, name, "second password") is not None
    (event,) = [
        e
        for e in cast.store.audit_events(cast.agency)
        if e.action == "user.password" and e.subject == f"user:{cast.colleague}"
    ][-1:]
    assert event.actor == f"user:{cast.colleague}"


@pytest.mark.usefixtures("cheap")
def test_my_account_refuses_a_wrong_current_password_and_counts_it(cast: Cast) -> None:
    cast.svc.set_password(cast.agency, None, cast.colleague, PASSWORD)
    session = cast.svc.start_session(cast.colleague)
    for _ in range(accounts.MAX_FAILURES):
        with pytest.raises(CaseShareError) as refused:
            cast.svc.change_own_password(cast.colleague, "not it", "second password")
        assert refused.value.code == "insufficient_access"
        assert refused.value.details == {"field": "current_password"}
    assert cast.svc.session(session.token) is not None  # nothing changed
    with pytest.raises(CaseShareError) as locked:  # a stolen session cannot keep guessing
        cast.svc.change_own_password(cast.colleague, PASSWORD, "second password")
    assert "retry_after" in locked.value.details
    name = _name(cast, cast.colleague)
    assert code_of(cast.svc.authenticate, _slug(cast), name, PASSWORD) == "insufficient_access"


@pytest.mark.usefixtures("cheap")
def test_my_account_refuses_a_short_or_unchanged_new_password(cast: Cast) -> None:
    cast.svc.set_password(cast.agency, None, cast.colleague, PASSWORD)
    short = code_of(cast.svc.change_own_password, cast.colleague, PASSWORD, "short")
    same = code_of(cast.svc.change_own_password, cast.colleague, PASSWORD, PASSWORD)
    assert short == same == "validation_error"


def test_signing_out_everywhere_ends_every_session_but_not_tokens(cast: Cast) -> None:
    one, two = (cast.svc.start_session(cast.colleague) for _ in range(2))
    _, secret = cast.svc.create_token(cast.colleague, "export")
    cast.svc.end_all_sessions(cast.colleague)
    assert cast.svc.session(one.token) is None and cast.svc.session(two.token) is None
    assert cast.svc.token_user(secret) == cast.colleague
