"""Sign-in at the service level: the verified-password cache never outlives what it verified."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from caseshare.services import accounts
from tests.services.cast import Cast

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


def test_a_wrong_password_is_checked_every_time(cast: Cast, verifications: list[str]) -> None:
    slug, name = _slug(cast), _name(cast, cast.colleague)
    cast.svc.set_password(cast.agency, None, cast.colleague, PASSWORD)
    for _ in range(2):
        assert cast.svc.authenticate(slug, name, "not it at all") is None
    assert verifications == ["not it at all", "not it at all"]


def test_an_unknown_name_costs_an_argon2_check_too(cast: Cast, verifications: list[str]) -> None:
    assert cast.svc.authenticate(_slug(cast), "nobody-here", PASSWORD) is None
    assert verifications == [PASSWORD]
