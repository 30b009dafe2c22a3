"""Every scenario file of tests/scenarios/ runs through the real engine on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from caseshare.scenario.runner import run_file
from caseshare.scenario.yamlines import ScenarioError
from caseshare.store import open_store

HERE = Path(__file__).parent / "scenarios"
FILES = sorted(HERE.glob("*.yaml"))
INVALID = sorted((HERE / "invalid").glob("*.yaml"))


def _report(path: Path, outcomes: list) -> str:
    return "\n".join(
        f"{path.name}:{o.line}: {o.text}\n    got: {o.got}" for o in outcomes if not o.passed
    )


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_scenario_sqlite(path: Path, sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    try:
        outcomes = run_file(store, path)
    finally:
        store.close()
    assert outcomes, f"{path.name} asserts nothing"
    assert all(o.passed for o in outcomes), _report(path, outcomes)


@pytest.mark.postgres
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_scenario_postgres(path: Path, postgres_url: str) -> None:
    store = open_store(postgres_url)
    try:
        outcomes = run_file(store, path, unique=True)
    finally:
        store.close()
    assert outcomes, f"{path.name} asserts nothing"
    assert all(o.passed for o in outcomes), _report(path, outcomes)


def _expected_code(path: Path) -> str:
    match = re.search(r"^# expect: (\w+)", path.read_text(encoding="utf-8"), re.MULTILINE)
    assert match, f"{path.name} has no '# expect: CODE' line"
    return match.group(1)


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_world_is_refused_with_its_code_and_line(path: Path, sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    try:
        with pytest.raises(ScenarioError) as info:
            run_file(store, path)
    finally:
        store.close()
    assert info.value.code == _expected_code(path), str(info.value)
    assert info.value.line, f"{path.name}: the error names no line: {info.value}"


def test_every_rule_of_the_engine_issue_has_a_scenario() -> None:
    text = " ".join(p.read_text(encoding="utf-8") for p in FILES)
    rules = [
        "S-OWN-1",
        "S-OWN-2",
        "S-ACC-1",
        "S-ACC-2",
        "S-ACC-3",
        "S-ACC-4",
        "S-ACC-5",
        "S-ACC-6",
        "S-ACC-7",
        "S-ACC-8",
        "S-SHR-1",
        "S-SHR-2",
        "S-SHR-3",
        "S-SHR-5",
        "S-SHR-6",
        "S-SHR-8",
        "S-ASG-1",
        "S-TEAM-1",
        "S-RULE-1",
        "S-HIER-1",
        "S-CRT-1",
        "S-CRT-2",
        "S-CRT-3",
        "S-CRT-4",
        "S-AG-1",
        "S-XC-1",
    ]
    missing = [r for r in rules if r not in text]
    assert not missing, f"no scenario names {missing}"


@pytest.mark.parametrize(
    ("entry", "said"),
    [
        ('agencies:\n  - slug: "no\\0rth"\n', "The agency's slug holds a control character"),
        ('agencies:\n  - slug: north\n    name: "No\\0rth"\n', "The agency's name holds"),
        (
            "agencies:\n  - slug: north\n  - slug: south\nagreements:\n"
            '  - {id: a, from: north, to: south, status: rejected, reason: "no\\0"}\n',
            "A reason holds a control character",
        ),
    ],
)
def test_s_15_a_control_character_is_an_invalid_world_on_both_stores(
    store_url: str, tmp_path: Path, entry: str, said: str
) -> None:
    """SPEC §15 and §14: an agency slug, agency name or agreement reason holding a control
    character is an invalid file (validation_error) on SQLite and PostgreSQL alike: SQLite
    stored the NUL, PostgreSQL ended in a psycopg.DataError traceback."""
    path = tmp_path / "nul.yaml"
    path.write_text(entry, encoding="utf-8")
    store = open_store(store_url)
    try:
        with pytest.raises(ScenarioError) as info:
            run_file(store, path, unique=True)
    finally:
        store.close()
    assert info.value.code == "validation_error" and said in info.value.message, info.value


@pytest.mark.parametrize(
    "cases",
    [
        "  - {id: k, type: t, owner: 'user:olga', indices: 5}\n",
        "  - {id: k, type: t, owner: 'user:olga', properties: 5}\n",
    ],
)
def test_s_15_a_value_of_the_wrong_shape_is_an_invalid_file(
    sqlite_url: str, tmp_path: Path, cases: str
) -> None:
    """SPEC §15 and §14: a number where a mapping goes (``indices: 5``) is an invalid file
    (validation_error, naming the line and saying what is wrong), not an AttributeError
    traceback."""
    path = tmp_path / "shape.yaml"
    path.write_text(
        "agencies:\n  - slug: north\nusers:\n  - {id: olga}\ncases:\n" + cases, encoding="utf-8"
    )
    store = open_store(sqlite_url)
    try:
        with pytest.raises(ScenarioError) as info:
            run_file(store, path)
    finally:
        store.close()
    assert info.value.code == "validation_error" and info.value.line == 6, info.value
    assert "wrong shape" in info.value.message or "propert" in info.value.message, info.value
