"""People, groups, roles and locations by name, and dates in the reader's words."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from markupsafe import Markup, escape

from caseshare.core.directory import Directory
from caseshare.core.errors import CaseShareError
from caseshare.core.naming import KIND_WORDS, display_name
from caseshare.core.principals import Principal

#: a principal's text inside a sentence, e.g. the "group:7" of a service's refusal
PRINCIPAL_IN_TEXT = re.compile(r"\b(?:user|group|location|role_tree|role|agency):[0-9]+\b")


@dataclass(frozen=True)
class Names:
    """Turns the ids the services speak in into the names people know."""

    directory: Directory
    agency_id: int
    agency_name: str

    def user(self, user_id: int | str | None) -> str:
        if user_id is None or user_id == "":
            return "nobody"
        if isinstance(user_id, str):
            if user_id == "system":
                return "the system"
            if not (user_id.isascii() and user_id.isdigit()):
                return self.principal(user_id)
        found = self.directory.users.get(int(user_id))
        if found is None:
            return "a person no longer known"
        return found.full_name or found.username

    def principal(self, text: str | Principal | None) -> str:
        """``group:7`` → ``Nurses (group)``; a user is their full name."""
        if text is None or text == "":
            return "nobody"
        if text == "system":
            return "the system"
        try:
            principal = text if isinstance(text, Principal) else Principal.parse(str(text))
        except CaseShareError:
            return str(text)
        return self.name(principal)

    def name(self, principal: Principal) -> str:
        """The one way a principal is named (``core.naming``), as ``core.why`` takes it."""
        return display_name(principal, self.directory, self.agency_id, self.agency_name)

    def said(self, sentence: str) -> str:
        """A service's sentence with the principals it names by id named by their names."""
        return PRINCIPAL_IN_TEXT.sub(lambda m: self.principal(m.group(0)), sentence)

    def kind(self, text: str) -> str:
        return KIND_WORDS.get(text.partition(":")[0], "")


def parse_moment(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def in_words(moment: datetime, now: datetime | None = None) -> str:
    """ "just now", "5 minutes ago", "today at 14:05", "yesterday at 09:12", "3 March at 10:00",
    "3 March 2024" — times in UTC, which the page says."""
    now = now or datetime.now(UTC)
    moment = moment.astimezone(UTC)
    seconds = (now - moment).total_seconds()
    if 0 <= seconds < 60:
        return "just now"
    if 0 <= seconds < 3600:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''} ago"
    clock = moment.strftime("%H:%M")
    days = (now.date() - moment.date()).days
    if days == 0:
        return f"today at {clock}"
    if days == 1:
        return f"yesterday at {clock}"
    day = f"{moment.day} {moment.strftime('%B')}"
    if moment.year == now.year:
        return f"{day} at {clock}"
    return f"{day} {moment.year}"


def when(text: str | None) -> Markup:
    """A stored time as ``<time>``: words to read, the exact UTC time on hover."""
    moment = parse_moment(text)
    if moment is None:
        return Markup("—")
    exact = moment.astimezone(UTC).strftime("%d %B %Y, %H:%M UTC")
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        moment.isoformat(), exact, in_words(moment)
    )


def plain(value: object) -> str:
    return str(escape(value))


IDENTIFIER_TYPE_WORDS = {
    "phone": "Phone",
    "email": "Email",
    "plate": "Vehicle plate",
    "imei": "IMEI",
}


def kind_words(kind: str) -> str:
    """A target's kind in words: ``person_of_interest`` → ``Person of interest``."""
    return kind.replace("_", " ").capitalize()


def type_words(kind: str) -> str:
    """An identifier's type in words: ``plate`` → ``Vehicle plate``."""
    return IDENTIFIER_TYPE_WORDS.get(kind, kind.replace("_", " ").capitalize())
