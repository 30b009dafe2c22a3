"""What the names of people and things may be: the same refusal from the API, screens and CLI."""

from __future__ import annotations

import re
from dataclasses import fields, is_dataclass
from typing import Any

from caseshare.core.errors import CaseShareError
from caseshare.services.cases import check_text

NAME_LIMIT = 200
USERNAME = re.compile(r"^[A-Za-z0-9._@+-]{1,150}$")


def checked_name(text: str, what: str) -> str:
    """A name as stored: trimmed, one line, not empty, at most 200 characters."""
    name = text.strip()
    if not name:
        raise CaseShareError("validation_error", f"Give the {what} a name.")
    if len(name) > NAME_LIMIT:
        raise CaseShareError(
            "validation_error", f"A {what}'s name has at most {NAME_LIMIT} characters."
        )
    if "\n" in name or "\r" in name:
        raise CaseShareError("validation_error", f"A {what}'s name is one line.")
    check_text(f"The {what}'s name", name)
    return name


def checked_username(text: str) -> str:
    """A user name people type to sign in: letters, digits and . _ @ + -, no spaces."""
    name = text.strip()
    if not USERNAME.match(name):
        raise CaseShareError(
            "validation_error",
            "A user name is 1 to 150 letters, digits and . _ @ + - (no spaces), such as"
            " “nina” or “nina.nurse@clinic”.",
        )
    return name


def checked_email(text: str) -> str:
    """An email address as stored (or '' for none): trimmed, and without a line break or any
    other character no mail header carries (S-NOT-1: one would be a header injection)."""
    email = text.strip()
    if not email.isprintable():
        raise CaseShareError(
            "validation_error",
            "An email address is one line of text without tabs or other control characters,"
            " such as “nina@clinic.example”.",
        )
    return email


def check_texts(label: str, value: Any) -> None:
    """``check_text`` on every text inside ``value`` — a rule's conditions, a saved filter's
    fields: keys and items of dicts, lists and tuples, and the fields of dataclasses. They are
    stored as JSON, and a NUL that SQLite would keep PostgreSQL cannot: both refuse it alike."""
    if isinstance(value, str):
        check_text(label, value)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_texts(label, key)
            check_texts(label, item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            check_texts(label, item)
    elif is_dataclass(value) and not isinstance(value, type):
        for field in fields(value):
            check_texts(label, getattr(value, field.name))
