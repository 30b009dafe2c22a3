"""Targets (SPEC §2): the people and entities on a case, their identifiers, and how an
identifier is normalised so that the same phone, email, plate or IMEI matches across cases."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from caseshare.core.errors import CaseShareError

#: what a target is to its case (OSS-ESPA's target roles), in the order screens offer them
KINDS = (
    "suspect",
    "victim",
    "witness",
    "associate",
    "complainant",
    "informant",
    "person_of_interest",
    "organisation",
    "vehicle",
    "other",
)
#: the identifier types with a normalisation of their own; any other lower-case word is allowed
KNOWN_TYPES = ("phone", "email", "plate", "imei")
MAX_TEXT = 255
MAX_IDENTIFIERS = 50
_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Identifier:
    """One identifier of a target: ``normalized`` is what deconfliction (S-XC-1) compares."""

    type: str
    value: str
    normalized: str
    deconfliction: bool = False


def normalize(kind: str, value: str) -> str:
    """The comparable form of an identifier.

    - ``phone``: the digits only (``+44 20 7946-0000`` → ``442079460000``);
    - ``email``: trimmed and lower-cased, whole (``Ann.Smith@Example.ORG`` → ``ann.smith@example.org``);
    - ``plate``: letters and digits only, upper-case (``ab-12 cde`` → ``AB12CDE``);
    - ``imei``: the digits only;
    - any other type: Unicode NFKC, case-folded, runs of white space made one space, trimmed.
    """
    text = unicodedata.normalize("NFKC", value).strip()
    if kind in ("phone", "imei"):
        return "".join(ch for ch in text if ch.isascii() and ch.isdigit())
    if kind == "email":
        return text.lower()
    if kind == "plate":
        return "".join(ch for ch in text if ch.isalnum()).upper()
    return " ".join(text.casefold().split())


def identifier(kind: Any, value: Any, deconfliction: Any = False) -> Identifier:
    """A checked identifier, else ``validation_error`` with a sentence that says what to write."""
    kind = str(kind or "").strip().lower()
    if not _TYPE.match(kind):
        raise CaseShareError(
            "validation_error",
            f"Identifier type {kind!r} is not valid: use phone, email, plate, imei or another"
            " lower-case word (letters, digits, _).",
        )
    text = check_text(f"The {kind} identifier", value)
    normalized = normalize(kind, text)
    problem = ""
    if kind == "phone" and not 3 <= len(normalized) <= 20:
        problem = "a phone number has between 3 and 20 digits"
    elif kind == "imei" and not 14 <= len(normalized) <= 16:
        problem = "an IMEI has 15 digits (14 to 16 with or without the check digit or version)"
    elif kind == "email" and not re.fullmatch(r"[^@\s]+@[^@\s]+", normalized):
        problem = "an email address is name@domain"
    elif kind == "plate" and not normalized:
        problem = "a plate has letters or digits"
    elif not normalized:
        problem = "it holds nothing to compare"
    if problem:
        raise CaseShareError(
            "validation_error", f"{text!r} is not a valid {kind} identifier: {problem}."
        )
    return Identifier(kind, text, normalized, bool(deconfliction))


def check_kind(kind: Any) -> str:
    text = str(kind or "").strip().lower()
    if text not in KINDS:
        raise CaseShareError(
            "validation_error",
            f"Target kind {kind!r} is not one of {', '.join(KINDS)}.",
        )
    return text


def check_text(label: str, value: Any) -> str:
    """Trimmed text of 1 to 255 characters without control characters."""
    if not isinstance(value, str):
        raise CaseShareError("validation_error", f"{label} must be text.")
    text = value.strip()
    if not text:
        raise CaseShareError("validation_error", f"{label} is empty.")
    if len(text) > MAX_TEXT:
        raise CaseShareError("validation_error", f"{label} is longer than {MAX_TEXT} characters.")
    if _CONTROL.search(text):
        raise CaseShareError(
            "validation_error", f"{label} holds a control character; write plain text."
        )
    return text
