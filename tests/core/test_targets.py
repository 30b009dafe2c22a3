"""Targets (SPEC §2): kinds, identifiers and the normalisation deconfliction compares (S-XC-1)."""

from __future__ import annotations

import pytest

from caseshare.core.errors import CaseShareError
from caseshare.core.targets import KINDS, check_kind, check_text, identifier, normalize


@pytest.mark.parametrize(
    ("kind", "a", "b"),
    [
        ("phone", "+44 20 7946-0000", "(44) 2079460000"),
        ("phone", "０２０ ７９４６", "0207946"),  # full-width digits are digits
        ("email", " Ann.Smith@Example.ORG ", "ann.smith@example.org"),
        ("plate", "ab-12 cde", "AB12CDE"),
        ("imei", "35-209900-176148-1", "352099001761481"),
        ("passport", "  X  1234 ", "x 1234"),
    ],
)
def test_s_xc_1_the_same_identifier_written_two_ways_normalises_to_one(
    kind: str, a: str, b: str
) -> None:
    assert normalize(kind, a) == normalize(kind, b)
    assert identifier(kind, a).normalized == identifier(kind, b).normalized


def test_s_xc_1_different_identifiers_stay_apart() -> None:
    assert normalize("phone", "555 0100") != normalize("phone", "555 0101")
    assert normalize("email", "ann@example.org") != normalize("email", "ann@example.com")
    assert normalize("plate", "AB12CDE") != normalize("plate", "AB12CDF")


def test_target_identifier_keeps_what_was_written_and_its_opt_in() -> None:
    ident = identifier("Phone", " +1 (555) 0100 ", deconfliction=True)
    assert ident.type == "phone"
    assert ident.value == "+1 (555) 0100"
    assert ident.normalized == "15550100"
    assert ident.deconfliction is True
    assert identifier("email", "a@b").deconfliction is False


@pytest.mark.parametrize(
    ("kind", "value", "words"),
    [
        ("phone", "12", "between 3 and 20 digits"),
        ("phone", "call me", "between 3 and 20 digits"),
        ("imei", "1234", "15 digits"),
        ("email", "ann.example.org", "name@domain"),
        ("plate", "--", "letters or digits"),
        ("Phone Number", "555 0100", "not valid"),
        ("phone", "", "is empty"),
        ("phone", "555\x000100", "control character"),
        ("email", "a" * 250 + "@b.org", "longer than 255"),
        ("other", "   ", "is empty"),
    ],
)
def test_target_a_bad_identifier_is_refused_saying_what_to_write(
    kind: str, value: str, words: str
) -> None:
    with pytest.raises(CaseShareError) as info:
        identifier(kind, value)
    assert info.value.code == "validation_error"
    assert words in info.value.message


def test_target_kinds_are_a_fixed_list() -> None:
    assert {"suspect", "victim", "witness", "associate"} <= set(KINDS)
    assert check_kind(" Suspect ") == "suspect"
    with pytest.raises(CaseShareError) as info:
        check_kind("villain")
    assert info.value.code == "validation_error" and "suspect" in info.value.message


def test_target_text_is_trimmed_and_checked() -> None:
    assert check_text("A name", "  Ann  ") == "Ann"
    for bad in (None, 5, "", " ", "a\x07b"):
        with pytest.raises(CaseShareError):
            check_text("A name", bad)
