"""The standard cast of the service tests (STYLE §7).

Agency *north* (case sharing on, everything private by default):

- ``owner`` (Olga Owner) creates ``case`` → it goes to her one case-sharing group ``group``;
- ``colleague`` (Colin Colleague) is in that group too: full access by ownership;
- ``reader`` (Rita Reader) holds a manual read share on ``case``;
- ``outsider`` (Otto Outsider) has no grant at all;
- ``admin`` (Ada Admin) has the admin permission.

Also ``private``, a case Olga keeps for herself (S-CRT-3). Agency *south* holds ``foreigner``
(Fred Foreign, an admin there) and a case of his own with the *same id* as ``case``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from caseshare.core.errors import CaseShareError
from caseshare.core.principals import Principal
from caseshare.services import Caseshare
from caseshare.store import Store


@dataclass
class Cast:
    store: Store
    svc: Caseshare
    agency: int
    other_agency: int
    owner: int
    colleague: int
    reader: int
    outsider: int
    admin: int
    foreigner: int
    group: int
    case: str
    private: str

    @property
    def group_principal(self) -> Principal:
        return Principal("group", self.group)

    def fresh(self) -> Caseshare:
        """A second service over the same store with its own context cache."""
        return Caseshare(self.store)


def unique(slug: str) -> str:
    return f"{slug}-{uuid.uuid4().hex[:10]}"


def build_cast(store: Store) -> Cast:
    svc = Caseshare(store)
    north = svc.create_agency(unique("north"), "North", {"case_sharing": True})
    south = svc.create_agency(unique("south"), "South")
    owner = svc.create_user(north, None, "olga", full_name="Olga Owner", email="olga@north.example")
    colleague = svc.create_user(
        north, None, "colin", full_name="Colin Colleague", email="colin@north.example"
    )
    reader = svc.create_user(north, None, "rita", full_name="Rita Reader", email="rr@north.example")
    outsider = svc.create_user(
        north, None, "otto", full_name="Otto Outsider", email="otto@north.example"
    )
    admin = svc.create_user(
        north, None, "ada", full_name="Ada Admin", email="ada@north.example", permissions=["admin"]
    )
    foreigner = svc.create_user(
        south,
        None,
        "fred",
        full_name="Fred Foreign",
        email="fred@south.example",
        permissions=["admin"],
    )
    group = svc.create_group(north, None, "Case team", case_sharing=True)
    for uid in (owner, colleague):
        svc.add_member(north, None, group, Principal("user", uid))
    case = svc.create_case(north, owner, "patient", "Ann Smith", case_id="k1")
    private = svc.create_case(
        north, owner, "patient", "Olga's own", case_id="k-private", owner=f"user:{owner}"
    )
    svc.share(north, owner, case, f"user:{reader}", "read")
    svc.create_case(south, foreigner, "patient", "Fred's k1", case_id="k1")
    return Cast(
        store,
        svc,
        north,
        south,
        owner,
        colleague,
        reader,
        outsider,
        admin,
        foreigner,
        group,
        case,
        private,
    )


def code_of(fn: object, *args: object, **kwargs: object) -> str:
    """The SPEC §14 code a call is refused with (fails the test when it succeeds)."""
    assert callable(fn)
    try:
        fn(*args, **kwargs)
    except CaseShareError as exc:
        return exc.code
    raise AssertionError(f"{getattr(fn, '__name__', fn)} succeeded; a refusal was expected")
