"""``caseshare user …`` and ``caseshare token …`` on a real database."""

from __future__ import annotations

import io
import re

import pytest

from caseshare.cli import main
from caseshare.services import Caseshare
from caseshare.store import open_store


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_user_create_password_token_deactivate(
    sqlite_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(sqlite_url)
    agency = Caseshare(store).create_agency("acme", "Acme")
    store.close()
    db = ("--database", sqlite_url)
    monkeypatch.setattr("sys.stdin", io.StringIO("a long secret\n"))
    code, out, _ = _run(capsys, "user", "create", "alice", "--admin", "--password-stdin", *db)
    assert code == 0 and "created user:" in out and "password:" not in out
    code, out, _ = _run(capsys, "user", "create", "bob", *db)
    generated = re.search(r"password: (\S+)", out)
    assert code == 0 and generated is not None
    code, out, _ = _run(capsys, "token", "create", "alice", "--name", "backup job", *db)
    assert code == 0
    secret = out.strip().splitlines()[-1]
    assert secret.startswith("cs_")

    store = open_store(sqlite_url)
    svc = Caseshare(store)
    alice = svc.authenticate("acme", "alice", "a long secret")
    bob = svc.authenticate("acme", "bob", generated.group(1))
    assert alice is not None and "admin" in alice.permissions and bob is not None
    assert svc.token_user(secret) == alice.id
    store.close()

    code, out, _ = _run(capsys, "user", "deactivate", "alice", *db)
    assert code == 0 and "inactive" in out
    store = open_store(sqlite_url)
    svc = Caseshare(store)
    assert svc.token_user(secret) is None
    assert svc.authenticate("acme", "alice", "a long secret") is None
    store.close()
    assert agency


def test_refusals_have_codes(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    store = open_store(sqlite_url)
    Caseshare(store).create_agency("acme", "Acme")
    store.close()
    code, _, err = _run(capsys, "user", "deactivate", "nobody", "--database", sqlite_url)
    assert code == 4 and "not_found" in err
    code, _, err = _run(
        capsys, "token", "create", "nobody", "--name", "x", "--database", sqlite_url
    )
    assert code == 4 and "not_found" in err


def test_an_id_past_64_bits_is_not_found_on_both_stores(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """§14: an id too large for any row names nothing: ``not_found`` (exit 4) on SQLite as on
    PostgreSQL, never a traceback (SQLite raised OverflowError comparing it)."""
    url = store_url
    store_ = open_store(url)
    svc = Caseshare(store_)
    agency = svc.create_agency("acme", "Acme")
    svc.create_user(agency, None, "alice")
    store_.close()
    db = ("--database", url)
    acme = (*db, "--agency", "acme")  # the PostgreSQL database may hold other agencies
    huge = str(2**64)
    for argv in (
        ("token", "revoke", "alice", huge, *acme),
        ("outbox", "retry", huge, *db),
        ("audit", "--actor", f"user:{huge}", *acme),
        ("submission", "list", "--user", f"user:{huge}", *acme),
        ("check", f"user:{huge}", "view", "k1", *acme),
    ):
        code, _, err = _run(capsys, *argv)
        assert code == 4 and err.startswith("error: not_found: "), (argv, err)


def test_a_word_that_is_not_utf8_is_a_refusal_in_words(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """§14: a command-line word whose bytes are not UTF-8 (Python hands it over with surrogate
    escapes) is ``validation_error`` with a sentence naming the word, not the codec's
    "'utf-8' codec can't encode character '\\udcff'"."""
    store = open_store(sqlite_url)
    svc = Caseshare(store)
    agency = svc.create_agency("acme", "Acme")
    svc.create_user(agency, None, "alice")
    store.close()
    db = ("--database", sqlite_url)
    for argv in (
        ("check", "--agency", "ac\udcffme", "alice", "view", "k1"),
        ("check", "alice", "view", "k\udcff1"),
    ):
        code, _, err = _run(capsys, *argv, *db)
        assert code == 2, err
        assert err.startswith("error: validation_error: The word ") and "\\xff" in err, err
        assert "is not UTF-8 text" in err and "codec" not in err, err
