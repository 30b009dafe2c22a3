"""The operator's console on both stores: ``caseshare agency``, ``submission``, ``recycle-bin``,
``audit`` and ``report`` — a fresh installation run from nothing but these commands."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest

from caseshare.cli import main
from caseshare.services import Caseshare
from caseshare.store import open_store
from tests.services.forms import block, create, form, update


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_agency_create_prints_the_first_sign_in_of_a_fresh_installation(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ("--database", store_url)
    code, out, _ = _run(
        capsys, "agency", "create", "north", "--name", "North District", "--admin", "boss", *db
    )
    assert code == 0, out
    assert "agency:   north" in out and "user:     boss" in out
    found = re.search(r"password: (\S+)  \(shown once", out)
    assert found is not None
    store = open_store(store_url)
    try:
        svc = Caseshare(store)
        boss = svc.authenticate("north", "boss", found.group(1))
        assert boss is not None and "admin" in boss.permissions
        assert [slug for _, slug, _ in store.agencies()] == ["north"]  # no demo
    finally:
        store.close()
    code, out, _ = _run(capsys, "agency", "list", *db)
    assert code == 0 and "north\tNorth District\t1 users\t0 cases" in out
    code, _, err = _run(capsys, "agency", "create", "north", "--admin", "again", *db)
    assert code == 2 and "error: validation_error:" in err and "exists already" in err
    code, _, err = _run(capsys, "agency", "create", "Bad Slug", "--admin", "x", *db)
    assert code == 2 and "slug" in err


def test_agency_create_takes_the_password_from_stdin(
    sqlite_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("a long secret\n"))
    code, out, _ = _run(
        capsys, "agency", "create", "acme", "--admin", "ada", "--password-stdin",
        "--database", sqlite_url,
    )  # fmt: skip
    assert code == 0 and "the one given on stdin" in out
    store = open_store(sqlite_url)
    try:
        assert Caseshare(store).authenticate("acme", "ada", "a long secret") is not None
    finally:
        store.close()


def test_submissions_recycle_bin_audit_and_report_at_the_console(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = open_store(store_url)
    try:
        svc = Caseshare(store)
        made = svc.open_agency("acme", "Acme", "ada", password="a long secret")
        agency, ada = made.agency_id, made.admin_id
        svc.submit(agency, ada, form(block("k1", create(name="Kay")), instance="f1").encode())
        svc.submit(agency, ada, form(block("k1", update(colour="red")), instance="f2").encode())
        svc.create_case(agency, ada, "patient", "Binned", case_id="gone")
        svc.delete_case(agency, ada, "gone")
        svc.create_user(agency, ada, "loner")
    finally:
        store.close()
    db = ("--database", store_url)

    code, out, _ = _run(capsys, "submission", "list", *db)
    assert code == 0 and out.index("\tf2\t") < out.index("\tf1\t")
    code, out, _ = _run(capsys, "submission", "show", "f2", *db)
    assert code == 0 and "<colour>red</colour>" in out and "cases: k1" in out
    code, out, _ = _run(capsys, "submission", "archive", "f2", *db)
    assert code == 0 and "case:k1" in out
    code, out, _ = _run(capsys, "submission", "list", "--status", "archived", *db)
    assert "\tf2\t" in out and "\tf1\t" not in out
    code, _, err = _run(capsys, "submission", "archive", "f2", *db)
    assert code == 2 and "invalid_transition" in err
    code, out, _ = _run(capsys, "submission", "unarchive", "f2", *db)
    assert code == 0
    code, _, err = _run(capsys, "submission", "show", "nope", *db)
    assert code == 4 and "not_found" in err

    code, out, _ = _run(capsys, "recycle-bin", "list", *db)
    assert code == 0 and out.startswith("gone\tpatient\tBinned\tdeleted ")
    assert "by user:" in out and "ada" in out
    code, out, _ = _run(capsys, "recycle-bin", "restore", "gone", *db)
    assert code == 0 and "restored" in out
    code, out, _ = _run(capsys, "recycle-bin", "list", *db)
    assert out == ""

    code, out, _ = _run(capsys, "audit", "--kind", "submission", *db)
    lines = out.splitlines()
    assert code == 0 and [line.split("\t")[2] for line in lines] == [
        "submission.unarchive",
        "submission.archive",
    ]
    assert lines[0].split("\t")[1] == "system"  # the console acts as the system
    code, out, _ = _run(capsys, "audit", "--case", "gone", "--limit", "1", *db)
    assert "case.restore" in out and "(more: add --cursor " in out
    cursor = out.rsplit("--cursor ", 1)[1].split(")")[0]
    code, out, _ = _run(capsys, "audit", "--case", "gone", "--limit", "1", "--cursor", cursor, *db)
    assert "case.delete" in out
    code, out, _ = _run(capsys, "audit", "--actor", "ada", "--kind", "user", *db)
    assert "user.create" in out and "loner" not in out.split("\t")[1]
    today = dt.datetime.now(dt.UTC).date().isoformat()
    code, out, _ = _run(capsys, "audit", "--since", today, "--until", today, "--limit", "1", *db)
    assert code == 0 and out
    code, _, err = _run(capsys, "audit", "--since", "yesterday", *db)
    assert code == 2 and "YYYY-MM-DD" in err

    code, out, _ = _run(capsys, "report", "case-sharing", *db)
    assert code == 0 and "loner\tin no case-sharing group or location" in out
    assert out.rstrip().endswith("2 user(s) not in exactly one case-sharing group or location")


def test_submission_show_never_sends_a_forms_control_characters_to_the_terminal(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Hostile input (S-TX-5, a refused form is stored as sent): a form that is not XML may
    carry an ESC sequence (here one that retitles the terminal); `submission show` prints the
    stored text with each control character as U+FFFD, never the sequence itself."""
    from caseshare.core.errors import CaseShareError

    store = open_store(sqlite_url)
    try:
        svc = Caseshare(store)
        made = svc.open_agency("acme", "Acme", "ada", password="a long secret")
        hostile = b"<data>\x1b]0;owned\x07\x1b[2J\x9b</data>"
        with pytest.raises(CaseShareError) as info:
            svc.submit(made.agency_id, made.admin_id, hostile)
        assert info.value.code == "invalid_case_block"
        [row] = store.submissions(made.agency_id)
    finally:
        store.close()
    code, out, _ = _run(capsys, "submission", "show", row.instance_id, "--database", sqlite_url)
    assert code == 0 and "<data>" in out and "]0;owned" in out
    assert not any(ch in out for ch in "\x1b\x07\x9b"), repr(out)
