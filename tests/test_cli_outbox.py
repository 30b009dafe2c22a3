"""``caseshare agreement …`` and ``caseshare outbox …`` on a real database and a real SMTP
server on loopback."""

from __future__ import annotations

import pytest

from caseshare.cli import main
from caseshare.services import Caseshare
from caseshare.store import open_store
from tests.smtpserver import Handler, free_port, running


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _agencies(url: str) -> None:
    store = open_store(url)
    svc = Caseshare(store)
    north = svc.create_agency("north", "North")
    south = svc.create_agency("south", "South")
    svc.create_user(north, None, "ada", full_name="Ada Admin", email="ada@north.example",
                    permissions=["admin"])  # fmt: skip
    svc.create_user(south, None, "sol", full_name="Sol South", email="sol@south.example",
                    permissions=["admin"])  # fmt: skip
    svc.create_user(south, None, "sam", full_name="Sam Silent", permissions=["admin"])
    store.close()


def test_s_ag_1_agreements_at_the_console(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _agencies(sqlite_url)
    db = ("--database", sqlite_url)
    code, out, _ = _run(
        capsys, "agreement", "propose", "--agency", "north", "--to", "south",
        "--outbound-sharing", "--start", "2026-01-01", *db,
    )  # fmt: skip
    assert code == 0, out
    assert "north → south  pending" in out and "north: outbound-sharing" in out
    assert "south: inbound-sharing" in out and "2026-01-01 to no end" in out
    agreement_id = out.split()[0]
    code, _, err = _run(capsys, "agreement", "propose", "--agency", "north", "--to", "south", *db)
    assert code == 2 and "error: invalid_transition:" in err and "pending already" in err
    code, _, err = _run(capsys, "agreement", "propose", "--agency", "north", "--to", "x", *db)
    assert code == 4 and "error: not_found: Agency 'x' was not found." in err
    code, _, err = _run(capsys, "agreement", "reject", agreement_id, "--reason", " ", *db)
    assert code == 2 and "error: validation_error: Give a reason" in err
    code, out, _ = _run(capsys, "agreement", "approve", agreement_id, *db)
    assert code == 0 and "approved" in out
    code, out, _ = _run(capsys, "agreement", "list", "--agency", "south", *db)
    assert out.count("\n") == 1 and "north → south  approved" in out
    code, out, _ = _run(capsys, "agreement", "end", agreement_id, "--agency", "south", *db)
    assert code == 0 and "ended" in out
    code, _, err = _run(capsys, "agreement", "withdraw", agreement_id, *db)
    assert code == 2 and "is ended now" in err
    code, _, err = _run(capsys, "agreement", "approve", "999", *db)
    assert code == 4


def test_s_not_1_the_outbox_at_the_console(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _agencies(sqlite_url)
    db = ("--database", sqlite_url)
    _run(capsys, "agreement", "propose", "--agency", "north", "--to", "south", *db)
    code, out, _ = _run(capsys, "outbox", "list", *db)
    assert code == 0
    assert out.splitlines()[0] == "1 pending, 0 sent, 0 failed, 1 skipped"
    assert "Sol South <sol@south.example>" in out and "Sam Silent <no email>" in out
    assert "Sam Silent has no email address" in out
    code, _, err = _run(capsys, "outbox", "deliver", *db)
    assert code == 2 and "give --smtp" in err
    code, _, err = _run(capsys, "outbox", "deliver", "--smtp", "http://x", *db)
    assert code == 2 and "is not an SMTP URL" in err
    sol = "sol@south.example"
    with running(Handler(refuse={sol: "550 5.1.1 unknown"})) as server:
        code, out, _ = _run(capsys, "outbox", "deliver", "--smtp", server.url, *db)
        assert code == 0 and "sent 0, to retry 0, failed 1" in out
        code, out, _ = _run(capsys, "outbox", "list", "--status", "failed", *db)
        assert "550 5.1.1 unknown" in out
        message_id = out.splitlines()[1].split()[0]
        server.handler.refuse.clear()
        code, out, _ = _run(capsys, "outbox", "retry", message_id, *db)
        assert code == 0 and "queued again" in out
        code, out, _ = _run(capsys, "outbox", "deliver", "--smtp", server.url, *db)
        assert "sent 1, to retry 0, failed 0" in out
    assert [r.recipients for r in server.handler.received] == [[sol]]
    code, out, _ = _run(
        capsys, "outbox", "deliver", "--smtp", f"smtp://127.0.0.1:{free_port()}", *db
    )
    assert code == 0 and "sent 0" in out
    code, _, err = _run(capsys, "outbox", "retry", "999", *db)
    assert code == 4
