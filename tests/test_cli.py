"""The ``caseshare`` command run as a real subprocess: exit codes, output and error codes."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from caseshare.core.errors import CODES
from caseshare.store.schema import MIGRATIONS

PASSING = """\
# S-SHR-1 in miniature
agencies:
  - slug: north
users:
  - {id: olga}
  - {id: bob}
  - {id: eve}
cases:
  - {id: k1, type: complaint, owner: "user:olga"}
shares:
  - "case:k1#read@user:bob"
assertions:
  - "user:bob can view case:k1"
  - "user:bob cannot edit case:k1"
  - "user:eve cannot view case:k1"
  - "explain user:bob case:k1 = read by manual"
"""

FAILING = """\
agencies:
  - slug: north
users:
  - {id: olga}
  - {id: bob}
cases:
  - {id: k1, type: complaint, owner: "user:olga"}
assertions:
  - "user:olga can view case:k1"
  - "user:bob can view case:k1"
  - "explain user:bob case:k1 = edit by manual"
"""

INVALID = """\
agencies:
  - slug: north
    settings: {default_access: {"*": private, bulletin: read}}
users:
  - {id: olga}
  - {id: bob}
cases:
  - {id: k1, type: bulletin, owner: "user:olga"}
shares:
  - "case:k1#read@user:bob"
assertions:
  - "user:bob can view case:k1"
"""
INVALID_LINE = 10  # the manual read share at the default read (S-SHR-2)


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CASESHARE_DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "caseshare.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """The demo loaded once into a SQLite file, shared by the read-only CLI tests."""
    where = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{where / 'demo.db'}"
    result = run("demo", "--database", url, cwd=where)
    assert result.returncode == 0, result.stderr
    return url, where


# -- scenario test (SPEC §15) --------------------------------------------------------------------


def test_s_15_scenario_test_passing_file_exits_0(tmp_path: Path) -> None:
    path = write(tmp_path, "ok.yaml", PASSING)
    result = run("scenario", "test", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert last_line(result.stdout) == "4 passed, 0 failed"
    assert "FAILED" not in result.stdout


def test_s_15_scenario_test_failing_assertions_exit_1_and_say_what_was_got(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "bad.yaml", FAILING)
    result = run("scenario", "test", str(path), cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert last_line(result.stdout) == "1 passed, 2 failed"
    assert f"{path}:10: FAILED user:bob can view case:k1" in result.stdout
    assert "got: denied" in result.stdout
    assert f"{path}:11: FAILED explain user:bob case:k1 = edit by manual" in result.stdout


def test_s_15_scenario_test_invalid_file_exits_2_naming_line_and_code(tmp_path: Path) -> None:
    path = write(tmp_path, "invalid.yaml", INVALID)
    result = run("scenario", "test", str(path), cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{path}:{INVALID_LINE}: invalid: access_level_too_low:" in result.stdout
    assert last_line(result.stdout) == "0 passed, 0 failed"


def test_s_15_scenario_test_several_files_sum_up_and_invalid_wins(tmp_path: Path) -> None:
    ok = write(tmp_path, "ok.yaml", PASSING)
    bad = write(tmp_path, "bad.yaml", FAILING)
    result = run("scenario", "test", str(ok), str(bad), cwd=tmp_path)
    assert result.returncode == 1
    assert last_line(result.stdout) == "5 passed, 2 failed"
    invalid = write(tmp_path, "invalid.yaml", INVALID)
    result = run("scenario", "test", str(ok), str(invalid), cwd=tmp_path)
    assert result.returncode == 2
    assert last_line(result.stdout) == "4 passed, 0 failed"


def test_s_15_scenario_test_unreadable_file_is_invalid(tmp_path: Path) -> None:
    result = run("scenario", "test", str(tmp_path / "missing.yaml"), cwd=tmp_path)
    assert result.returncode == 2
    assert "validation_error" in result.stdout
    assert "Traceback" not in result.stderr


LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        ("laughs.yaml", LAUGHS.encode(), "an alias (*name) repeats a list or mapping"),
        ("deep.yaml", b"agencies: " + b"[" * 50_000 + b"]" * 50_000, "nested too deeply"),
        ("deeper.yaml", b"agencies: " + b"{a: " * 20_000 + b"1" + b"}" * 20_000, "too deeply"),
        ("latin1.yaml", "agencies:\n  - slug: café\n".encode("latin-1"), "not UTF-8 text"),
    ],
)
def test_s_15_a_hostile_scenario_file_is_invalid_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes, said: str
) -> None:
    """SPEC §15 and §14: a scenario file that would expand to billions of items (aliases of
    aliases, "billion laughs"), nest past the parser's recursion, or is not UTF-8 is invalid
    (exit 2) with a sentence, at once: it hung, ended in a RecursionError traceback (exit 1,
    the code of failed assertions) or quoted the codec and stopped the other files."""
    from caseshare.cli import main

    path = tmp_path / name
    path.write_bytes(content)
    ok = write(tmp_path, "ok.yaml", PASSING)
    for argv in (("scenario", "test", str(path), str(ok)), ("scenario", "load", str(path))):
        database = ("--database", f"sqlite:///{tmp_path / 'load.db'}")
        code = main([*argv, *database] if argv[1] == "load" else list(argv))
        out = capsys.readouterr().out
        assert code == 2, out
        assert f"{path}:" in out and "invalid: validation_error: " in out and said in out, out
        if argv[1] == "test":
            assert last_line(out) == "4 passed, 0 failed"  # the next file still ran


def test_s_15_scenario_test_on_a_given_database(tmp_path: Path) -> None:
    path = write(tmp_path, "ok.yaml", PASSING)
    url = f"sqlite:///{tmp_path / 'given.db'}"
    for _ in range(2):  # agencies get unique slugs on a given database: it can run twice
        result = run("scenario", "test", str(path), "--database", url, cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
    with sqlite3.connect(tmp_path / "given.db") as conn:
        assert conn.execute("SELECT count(*) FROM agencies").fetchone()[0] == 2


# -- scenario load ------------------------------------------------------------------------------


def test_s_15_scenario_load_into_sqlite_then_check_it(tmp_path: Path) -> None:
    path = write(tmp_path, "ok.yaml", FAILING)  # assertions are ignored by load
    url = f"sqlite:///{tmp_path / 'loaded.db'}"
    result = run("scenario", "load", str(path), "--database", url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"loaded 1 agencies, 2 users, 1 cases into {url}"
    allowed = run("check", "olga", "edit", "k1", "--database", url, cwd=tmp_path)
    assert (allowed.returncode, allowed.stdout.splitlines()[0]) == (0, "allow")


@pytest.mark.postgres
def test_s_15_scenario_load_into_postgresql(tmp_path: Path, fresh_postgres_url: str) -> None:
    path = write(tmp_path, "ok.yaml", PASSING)
    result = run("scenario", "load", str(path), "--database", fresh_postgres_url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "loaded 1 agencies, 3 users, 1 cases" in result.stdout
    check = run("check", "bob", "view", "k1", "--database", fresh_postgres_url, cwd=tmp_path)
    assert check.returncode == 0 and check.stdout.startswith("allow")
    deny = run("check", "eve", "view", "k1", "--database", fresh_postgres_url, cwd=tmp_path)
    assert deny.returncode == 3 and deny.stdout.startswith("deny")


def test_s_15_scenario_load_of_an_invalid_file_exits_2_and_loads_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, "invalid.yaml", INVALID)
    db = tmp_path / "half.db"
    result = run("scenario", "load", str(path), "--database", f"sqlite:///{db}", cwd=tmp_path)
    assert result.returncode == 2
    assert f"{path}:{INVALID_LINE}: invalid: access_level_too_low" in result.stdout
    with sqlite3.connect(db) as conn:
        left = conn.execute("SELECT slug FROM agencies").fetchall()
    assert left == [], "an invalid world must not be half loaded"


def test_s_15_scenario_load_of_a_missing_file_is_a_clean_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    result = run(
        "scenario", "load", str(tmp_path / "missing.yaml"), "--database", url, cwd=tmp_path
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "validation_error" in result.stdout + result.stderr


# -- check and explain -----------------------------------------------------------------------------


def test_s_15_check_allow_prints_level_and_reasons_and_exits_0(demo_db: tuple[str, Path]) -> None:
    url, where = demo_db
    result = run(
        "check", "nina", "view", "patient-2", "--database", url, "--agency", "demo", cwd=where
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "allow"
    assert lines[1].strip() == "effective level: read"
    assert any(re.match(r"\s+manual read: manual → user:\d+$", line) for line in lines[2:])


def test_s_15_check_deny_exits_3_with_reasons(demo_db: tuple[str, Path]) -> None:
    url, where = demo_db
    result = run(
        "check", "omar", "edit", "patient-2", "--database", url, "--agency", "demo", cwd=where
    )
    assert result.returncode == 3
    lines = result.stdout.splitlines()
    assert lines[0] == "deny"
    assert lines[1].strip() == "effective level: none"
    assert lines[2].strip() == "no grant applies"


def test_s_15_check_deny_for_too_little_access_names_the_grant(demo_db: tuple[str, Path]) -> None:
    url, where = demo_db
    result = run(
        "check", "nina", "edit", "patient-2", "--database", url, "--agency", "demo", cwd=where
    )
    assert result.returncode == 3
    assert result.stdout.splitlines()[0] == "deny"
    assert "manual read" in result.stdout


def test_s_acc_6_explain_prints_every_grant_with_its_path(demo_db: tuple[str, Path]) -> None:
    url, where = demo_db
    result = run("explain", "wendy", "patient-1", "--database", url, "--agency", "demo", cwd=where)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert re.match(r"user:\d+ has full access to case:patient-1$", lines[0])
    assert any(re.match(r"\s+owner full: owner → location:\d+ ∋ user:\d+$", x) for x in lines)
    assert any("implicit_child read: implicit_child → parent case:household-1" in x for x in lines)


def test_s_acc_6_explain_without_access_says_so(demo_db: tuple[str, Path]) -> None:
    url, where = demo_db
    result = run("explain", "omar", "patient-2", "--database", url, "--agency", "demo", cwd=where)
    assert result.returncode == 0
    assert re.match(r"user:\d+ has none access to case:patient-2$", result.stdout.splitlines()[0])
    assert result.stdout.splitlines()[1].strip() == "no grant applies"


def _error_code(stderr: str) -> str:
    match = re.match(r"error: (\w+): ", stderr)
    assert match, stderr
    return match.group(1)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("check", "nina", "view", "no-such-case"), "not_found"),
        (("explain", "nina", "no-such-case"), "not_found"),
        (("check", "ghost", "view", "patient-2"), "not_found"),
        (("check", "nina", "view", "patient-2", "--agency", "nowhere"), "not_found"),
    ],
)
def test_s_14_unknown_things_give_a_spec_code_on_stderr_and_a_nonzero_exit(
    demo_db: tuple[str, Path], args: tuple[str, ...], code: str
) -> None:
    url, where = demo_db
    extra = () if "--agency" in args else ("--agency", "demo")
    result = run(*args, *extra, "--database", url, cwd=where)
    assert result.returncode not in (0, 3)
    assert _error_code(result.stderr) == code
    assert code in CODES
    assert result.stdout == ""


def test_s_14_several_agencies_without_agency_is_a_validation_error(
    demo_db: tuple[str, Path],
) -> None:
    url, where = demo_db
    result = run("check", "nina", "view", "patient-2", "--database", url, cwd=where)
    assert result.returncode == 2
    assert _error_code(result.stderr) == "validation_error"
    assert "--agency" in result.stderr


def test_s_14_an_unknown_action_is_a_validation_error_not_a_traceback(
    demo_db: tuple[str, Path],
) -> None:
    url, where = demo_db
    result = run(
        "check", "nina", "fly", "patient-2", "--database", url, "--agency", "demo", cwd=where
    )
    assert "Traceback" not in result.stderr
    assert result.returncode == 2
    assert _error_code(result.stderr) == "validation_error"


# -- migrate and demo --------------------------------------------------------------------------------


def test_migrate_creates_the_schema_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    first = run("migrate", "--database", url, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    latest = MIGRATIONS[-1][0]
    applied = [m[0] for m in MIGRATIONS]
    assert first.stdout.strip() == f"schema at version {latest} (applied {applied})"
    second = run("migrate", "--database", url, cwd=tmp_path)
    assert second.returncode == 0
    assert second.stdout.strip() == f"schema at version {latest}"


def test_migrate_uses_the_environment_database(tmp_path: Path) -> None:
    env = {**os.environ, "CASESHARE_DATABASE_URL": f"sqlite:///{tmp_path / 'env.db'}"}
    result = subprocess.run(
        [sys.executable, "-m", "caseshare.cli", "migrate"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "env.db").exists()


TABLES_THE_DEMO_FILLS = (
    "agencies",
    "users",
    "cases",
    "grants",
    "rules",
    "targets",
    "agreements",
    "agency_shares",
    "outbox",
)


def test_demo_loads_once_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    first = run("demo", "--database", url, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[0] == f"loaded the demo agency into {url}"
    assert re.search(r"agency demo \(.*\): \d+ users, \d+ cases", first.stdout)
    with sqlite3.connect(tmp_path / "demo.db") as conn:
        counts = [
            conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES_THE_DEMO_FILLS
        ]
    second = run("demo", "--database", url, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines()[0] == f"the demo agency is in {url}"
    assert second.stdout.splitlines()[1:] == first.stdout.splitlines()[1:]
    with sqlite3.connect(tmp_path / "demo.db") as conn:
        again = [
            conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES_THE_DEMO_FILLS
        ]
    assert again == counts


def test_unsupported_database_url_is_a_validation_error(tmp_path: Path) -> None:
    result = run("migrate", "--database", "mysql://localhost/x", cwd=tmp_path)
    assert result.returncode == 2
    assert _error_code(result.stderr) == "validation_error"


# -- submit (SPEC §8) ------------------------------------------------------------------------------

FORM = """\
<data xmlns="http://example.org/form">
  <case xmlns="http://commcarehq.org/case/transaction/v2" case_id="{case}"
        date_modified="2024-01-01T10:00:00Z">{body}</case>
  <meta xmlns="http://openrosa.org/jr/xforms"><instanceID>{instance}</instanceID></meta>
</data>
"""


@pytest.fixture
def writable_demo(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert run("demo", "--database", url, cwd=tmp_path).returncode == 0
    return url


def test_s_tx_submit_applies_a_form_and_a_resend_changes_nothing(
    writable_demo: str, tmp_path: Path
) -> None:
    body = "<create><case_type>patient</case_type><case_name>Dev</case_name></create>"
    path = write(tmp_path, "form.xml", FORM.format(case="dev-1", body=body, instance="f-1"))
    args = ("--user", "nina", "--agency", "demo", "--database", writable_demo)
    result = run("submit", str(path), *args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "normal: Form f-1 was applied: 1 case block(s).",
        "  case:dev-1",
    ]
    again = run("submit", str(path), *args, cwd=tmp_path)
    assert again.returncode == 0 and again.stdout.startswith("duplicate: ")
    check = run(
        "check",
        "nina",
        "edit",
        "dev-1",
        "--agency",
        "demo",
        "--database",
        writable_demo,
        cwd=tmp_path,
    )
    assert check.returncode == 0 and check.stdout.startswith("allow")


def test_s_tx_submit_refusals_exit_with_their_code(writable_demo: str, tmp_path: Path) -> None:
    args = ("--user", "nina", "--agency", "demo", "--database", writable_demo)
    read_only = write(
        tmp_path,
        "update.xml",
        FORM.format(case="patient-2", body="<update><x>1</x></update>", instance="f-2"),
    )
    result = run("submit", str(read_only), *args, cwd=tmp_path)
    assert result.returncode == 3
    assert result.stderr.startswith("error: insufficient_access: Case 'patient-2'")
    broken = write(tmp_path, "broken.xml", "<data><case")
    result = run("submit", str(broken), *args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: invalid_case_block: The submission is not well-formed")
    result = run("submit", str(tmp_path / "missing.xml"), *args, cwd=tmp_path)
    assert result.returncode == 2 and "validation_error" in result.stderr
    assert "Traceback" not in result.stderr


# -- restore (SPEC §9) -----------------------------------------------------------------------------


def test_s_sync_restore_prints_xml_or_json_and_refuses_stale_tokens(
    writable_demo: str, tmp_path: Path
) -> None:
    import json

    args = ("--agency", "demo", "--database", writable_demo)
    xml = run("restore", "nina", *args, cwd=tmp_path)
    assert xml.returncode == 0, xml.stderr
    assert xml.stdout.startswith('<OpenRosaResponse xmlns="http://openrosa.org/http/response">')
    assert 'id="user-groups"' in xml.stdout
    full = run("restore", "nina", "--json", *args, cwd=tmp_path)
    assert full.returncode == 0, full.stderr
    data = json.loads(full.stdout)
    assert data["cases"] and data["incremental"] is False
    since = run("restore", "nina", "--json", "--since", data["restore_id"], *args, cwd=tmp_path)
    assert since.returncode == 0, since.stderr
    assert json.loads(since.stdout)["cases"] == []
    stale = run("restore", "nina", "--since", "nope", *args, cwd=tmp_path)
    assert stale.returncode == 2
    assert stale.stderr.startswith("error: stale_sync_token: ")
