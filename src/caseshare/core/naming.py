"""People, groups, locations and roles by the names people know them by, never by id."""

from __future__ import annotations

import re
from collections.abc import Callable

from caseshare.core.directory import Directory
from caseshare.core.principals import Principal

#: what each kind of principal is called, after its name
KIND_WORDS = {
    "user": "person",
    "group": "group",
    "location": "location",
    "role": "role",
    "role_tree": "role and below",
    "agency": "whole agency",
}
#: a principal inside a path or a reason, as the engine writes it
PRINCIPAL_IN_TEXT = re.compile(r"\b(user|group|location|role_tree|role|agency):(\d+)\b")

Namer = Callable[[Principal], str]


def display_name(
    principal: Principal, directory: Directory, agency_id: int, agency_name: str
) -> str:
    """``Nina Nurse``; ``Nurses (group)``; ``Worker (role)``; ``Supervisor and below (roles)``;
    ``everyone in Demo District Health``."""
    kind = principal.kind
    if kind == "user":
        user = directory.users.get(principal.id)
        if user is None:
            return "a person no longer known"
        return user.full_name or user.username
    if kind == "agency":
        return f"everyone in {agency_name}" if principal.id == agency_id else "another agency"
    if kind == "group" and principal.id in directory.groups:
        return f"{directory.groups[principal.id].name} (group)"
    if kind == "location" and principal.id in directory.locations:
        return f"{directory.locations[principal.id].name} (location)"
    if kind in ("role", "role_tree") and principal.id in directory.roles:
        name = directory.roles[principal.id].name
        return f"{name} (role)" if kind == "role" else f"{name} and below (roles)"
    return f"a {KIND_WORDS[kind]} no longer known"


def namer(directory: Directory, agency_id: int, agency_name: str) -> Namer:
    """``display_name`` for one agency, as one argument functions take."""
    return lambda principal: display_name(principal, directory, agency_id, agency_name)


def named_text(text: str, name: Namer) -> str:
    """The text with every principal it mentions replaced by its name (``path_text``)."""
    return PRINCIPAL_IN_TEXT.sub(lambda m: name(Principal(m[1], int(m[2]))), text)


def principals_in(*texts: str) -> list[Principal]:
    """Every principal the texts mention, once each, in order."""
    seen: dict[Principal, None] = {}
    for text in texts:
        for kind, key in PRINCIPAL_IN_TEXT.findall(text):
            seen.setdefault(Principal(kind, int(key)))
    return list(seen)
