"""caseshare itself, through its public service API, on SQLite."""

from __future__ import annotations

from typing import ClassVar

from bench.peers.engine import PAGE
from bench.peers.world import FEATURES
from caseshare.core.levels import Action
from caseshare.core.principals import Principal
from caseshare.services import Caseshare


class CaseshareEngine:
    name = "caseshare"
    leaves_out: ClassVar[list[tuple[str, str]]] = []

    def __init__(
        self, svc: Caseshare, agency_id: int, users: list[int], features: frozenset[str]
    ) -> None:
        self.svc = svc
        self.agency_id = agency_id
        self.users = users  # ids by position in the generated world
        self.features = features
        self.name = "caseshare" if features == frozenset(FEATURES) else "caseshare (restricted)"

    def check(self, user: int, case_id: str) -> bool:
        return self.svc.check(self.users[user], Action.VIEW, case_id).allowed

    def first_page(self, user: int) -> list[str]:
        page = self.svc.list_cases(self.users[user], limit=PAGE)
        return [item["case_id"] for item in page.items]

    def share(self, actor: int, case_id: str, grantee: int) -> None:
        who = Principal("user", self.users[grantee])
        self.svc.share(self.agency_id, self.users[actor], case_id, who, "edit")

    def revoke(self, actor: int, case_id: str, grantee: int) -> None:
        who = Principal("user", self.users[grantee])
        assert self.svc.unshare(self.agency_id, self.users[actor], case_id, who)
