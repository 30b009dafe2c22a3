"""``Dialect.in_list`` on both stores: a list of texts or integers goes to PostgreSQL as one
array literal (``dialect._array_literal``), and matches exactly the values given — quotes,
backslashes, commas, braces, spaces, ``NULL``, the empty string, non-ASCII text and bigint's
ends included; anything else goes as a list, as before."""

from __future__ import annotations

from typing import Any

import pytest

from caseshare.store import Store
from caseshare.store.dialect import _array_literal

AWKWARD = [
    'it\'s "so"',
    "a\\b",
    "\\",
    '"',
    "a,b",
    "{x}",
    " padded ",
    "NULL",
    "null",
    "",
    "Zoë 東京 \u2028",
    "line\nbreak",
]
NUMBERS = [0, -1, 7, 2**63 - 1, -(2**63)]


def _matches(store: Store, values: list[Any], candidates: list[Any]) -> list[Any]:
    """Which of ``candidates`` ``in_list`` finds among ``values``, each tested in SQL."""
    found = []
    for candidate in candidates:
        where, params = store.dialect.in_list("v.x", values)
        sql = f"SELECT 1 FROM (SELECT ? AS x) v WHERE {where}"
        if store.is_postgres:
            kind = "text" if isinstance(candidate, str) else "bigint"
            sql = f"SELECT 1 FROM (SELECT CAST(? AS {kind}) AS x) v WHERE {where}"
        if store.rows(sql, (candidate, *params)):
            found.append(candidate)
    return found


def test_texts_match_exactly_themselves(store: Store) -> None:
    others = ["it's so", "a\\\\b", "ab", "x", "padded", "Zoe 東京", "", "NULL "]
    assert _matches(store, AWKWARD, AWKWARD + others) == [*AWKWARD, ""]
    assert _matches(store, ["only"], AWKWARD) == []


def test_integers_match_exactly_themselves(store: Store) -> None:
    assert _matches(store, NUMBERS, [*NUMBERS, 1, 8, 2**62]) == NUMBERS


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["a", "b"], "text[]"),
        ([1, 2], "bigint[]"),
        ([True, False], None),  # bools are ints to Python, not to PostgreSQL
        ([1, "a"], None),
        ([2**63], None),
        ([1.5], None),
    ],
)
def test_what_goes_as_a_literal(values: list[Any], kind: str | None) -> None:
    found = _array_literal(values)
    assert (found[0] if found else None) == kind
