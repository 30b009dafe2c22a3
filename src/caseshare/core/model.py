"""The domain records the engine decides on: people, structure, cases and stored grants."""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from operator import attrgetter
from typing import NamedTuple

from caseshare.core.levels import Cause, Level
from caseshare.core.principals import Principal

PERMISSIONS = ("admin", "view_all", "modify_all", "transfer")


@dataclass(frozen=True, slots=True)
class User:
    id: int
    agency_id: int
    username: str
    email: str = ""
    full_name: str = ""
    active: bool = True
    role_id: int | None = None
    permissions: frozenset[str] = frozenset()

    @property
    def principal(self) -> Principal:
        return Principal("user", self.id)


@dataclass(frozen=True, slots=True)
class Group:
    id: int
    agency_id: int
    name: str
    case_sharing: bool = False
    kind: str = "group"


@dataclass(frozen=True, slots=True)
class LocationType:
    id: int
    agency_id: int
    name: str
    shares_cases: bool = False
    view_descendants: bool = False


@dataclass(frozen=True, slots=True)
class Location:
    id: int
    agency_id: int
    name: str
    type_id: int
    parent_id: int | None = None
    archived: bool = False


@dataclass(frozen=True, slots=True)
class Role:
    id: int
    agency_id: int
    name: str
    parent_id: int | None = None


@dataclass(frozen=True, slots=True)
class TeamRole:
    id: int
    agency_id: int
    name: str
    level: Level


class StoredGrant(NamedTuple):
    """A stored access row: a manual share, an assignment or a team membership.

    A named tuple, as ``Principal`` is: a check builds one per grant of the case and its
    neighbours (17 a check on average at size S), and a frozen dataclass's ``__init__``
    cost ~1 µs each against ~0.15 µs for a tuple (``store.cases._grant``)."""

    id: int
    case_pk: int
    cause: Cause
    grantee: Principal
    level: Level  # manual: the share's level; assigned: full; team: resolved from the team role
    team_role_id: int | None = None


@dataclass(frozen=True, slots=True)
class ReceivedShare:
    """An agency share of a case as the receiving side's decision reads it (S-AG-4): who
    receives it, and whether its agreement lets data flow today (``flowing``)."""

    id: int
    from_agency_id: int
    to_agency_id: int
    status: str
    receiving_user_id: int | None
    units: tuple[int, ...] = ()
    flowing: bool = True


@dataclass(frozen=True, slots=True)
class SyncRoute:
    """Why a case is in a user's S-SYNC-1 live set: a route from a case the user owns.

    ``steps`` is ``core.sync.live_routes``' route: ``(case id, how)`` pairs, the first one the
    owned case (how = ``"owned"``), each next one its ``"parent"``, ``"host"`` or
    ``"extension"``; ``owner`` is the owner of the first case (one of the user's owner ids).
    """

    owner: Principal
    steps: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What the engine needs to know of one case; neighbours carry no neighbours of their own."""

    pk: int
    agency_id: int
    case_id: str
    case_type: str
    name: str
    owner: Principal
    properties: Mapping[str, str] = field(default_factory=dict)
    closed: bool = False
    deleted: bool = False
    external_id: str = ""
    grants: tuple[StoredGrant, ...] = ()
    #: cases this case indexes with relationship ``child`` (implicit_child comes from them)
    parents: tuple[CaseFacts, ...] = ()
    #: cases that index this case, child or extension (implicit_parent comes from them)
    children: tuple[CaseFacts, ...] = ()
    #: for one user: how the case is in their S-SYNC-1 live set (None: it is not, or unknown)
    sync: SyncRoute | None = None
    #: its agency shares, loaded only when a user of another agency asks (S-AG-4)
    agency_shares: tuple[ReceivedShare, ...] = ()
    #: the grantees of ``grants``, gathered on first use by ``grants_to`` (a derived memo, so
    #: ``replace`` starts it afresh)
    _grantees: frozenset[Principal] | None = field(
        default=None, init=False, compare=False, repr=False
    )

    def grants_to(self, principals: AbstractSet[Principal]) -> tuple[StoredGrant, ...]:
        """The grants whose grantee is one of ``principals``, in ``grants`` order.

        A decision on a case that many grants reach asks this instead of testing every grant:
        the case's grantees are gathered once per facts object (in C), and most users hold none
        of them, so the answer is one set intersection, walked from the user's few principals;
        only a user who holds some walks the grants."""
        grantees = self._grantees
        if grantees is None:
            grantees = frozenset(map(_GRANTEE, self.grants))
            object.__setattr__(self, "_grantees", grantees)  # a memo of immutable data
        hits = grantees.intersection(principals)
        if not hits:
            return ()
        return tuple(grant for grant in self.grants if grant.grantee in hits)


_GRANTEE = attrgetter("grantee")
