"""Finding people, groups, locations and roles by name, as the screens' people picker does."""

from __future__ import annotations

from dataclasses import dataclass

from caseshare.core.principals import Principal
from caseshare.services.base import ServiceBase

#: what a picker may offer
PICKABLE = ("user", "group", "location", "role", "role_tree", "agency")
MAX_MATCHES = 20


@dataclass(frozen=True)
class Match:
    """One principal a search found: what to store (``principal``) and what to show."""

    principal: Principal
    name: str
    detail: str  # the email of a person, what kind of thing the others are

    @property
    def value(self) -> str:
        return str(self.principal)


class PeopleService(ServiceBase):
    """Reads only: names of the agency and of its people, groups, locations and roles."""

    def agency_names(self, agency_id: int) -> tuple[str, str]:
        """The agency's (slug, name)."""
        _, slug, name, _ = self.store.agency(agency_id)
        return slug, name

    def search_principals(
        self,
        agency_id: int,
        text: str,
        kinds: tuple[str, ...] = ("user",),
        *,
        owners_only: bool = False,
        limit: int = MAX_MATCHES,
    ) -> list[Match]:
        """Active people (any part of the name, user name or email) and groups, locations and
        roles (any part of the name) of the agency, and the agency itself (its name, its short
        name, or "everyone"); with ``owners_only``, only those that can own a case (S-OWN-1:
        users, case-sharing groups, case-owning locations)."""
        needle = text.strip().casefold()
        if not needle:
            return []
        ctx = self.context(agency_id)
        directory = ctx.directory
        found: list[Match] = []
        if "user" in kinds:
            for u in directory.users.values():
                words = f"{u.full_name}\n{u.username}\n{u.email}".casefold()
                if u.active and needle in words:
                    found.append(Match(u.principal, u.full_name or u.username, u.email))
        if "group" in kinds:
            for g in directory.groups.values():
                if needle in g.name.casefold():
                    detail = "field unit" if g.kind == "unit" else "group"
                    if g.case_sharing:
                        detail = "case-sharing group"
                    found.append(Match(Principal("group", g.id), g.name, detail))
        if "location" in kinds:
            for loc in directory.locations.values():
                if needle in loc.name.casefold() and not loc.archived:
                    loc_type = directory.location_types.get(loc.type_id)
                    detail = f"location ({loc_type.name})" if loc_type else "location"
                    found.append(Match(Principal("location", loc.id), loc.name, detail))
        for role_kind in ("role", "role_tree"):
            if role_kind in kinds:
                for role in directory.roles.values():
                    if needle in role.name.casefold():
                        detail = "role" if role_kind == "role" else "role and every role below"
                        found.append(Match(Principal(role_kind, role.id), role.name, detail))
        if "agency" in kinds:  # "everyone": the agency by its name or short name
            slug, name = self.agency_names(agency_id)
            if any(needle in w.casefold() for w in (slug, f"everyone in {name}")):
                found.append(
                    Match(Principal("agency", agency_id), f"Everyone in {name}", "whole agency")
                )
        if owners_only:
            found = [m for m in found if directory.can_own(m.principal)]
        found.sort(key=lambda m: (m.name.casefold(), m.principal))
        return found[:limit]
