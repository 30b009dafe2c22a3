"""Cross-case alerts (S-XC-1) and the deconfliction search across agencies (S-XC-2)."""

from __future__ import annotations

from typing import Any

from caseshare.core.errors import CaseShareError
from caseshare.core.levels import Action
from caseshare.core.targets import identifier
from caseshare.services.agreements import AgreementService
from caseshare.services.base import actor_name


class XCaseService(AgreementService):
    """An identifier with deconfliction on that targets of two or more cases of an agency carry
    puts an alert on each of those cases; the matches come from the deconfliction index."""

    def xcase_alerts(self, agency_id: int, actor: int | None, case_id: str) -> list[dict[str, Any]]:
        """The other cases of the agency that share an identifier with this one. A case the
        user may view comes with its details; any other only as a pointer: the owner's name
        and email, nothing of the case."""
        if actor is not None:
            self.require(actor, Action.VIEW, case_id, agency_id=agency_id)
        case = self.case(self.context(agency_id), case_id)
        matches = self.store.xcase_matches([case.pk])
        others = sorted({m[3] for m in matches})
        viewable = set(others) if actor is None else set(self.visible_summaries(actor, others))
        cards = self.store.xcase_owner_cards(others)
        by_case: dict[int, list[dict[str, str]]] = {}
        for _, kind, normalized, other in matches:
            by_case.setdefault(other, []).append({"type": kind, "value": normalized})
        out = []
        for other in others:
            card = cards[other]
            owner = {"name": card["owner_name"], "email": card["owner_email"]}
            detail = None
            if other in viewable:
                detail = {
                    "case_id": card["case_id"],
                    "name": card["name"],
                    "case_type": card["case_type"],
                    "status": "closed" if card["closed"] else "open",
                }
            out.append({"case": detail, "owner": owner, "identifiers": by_case[other]})
        return out

    def deconfliction_search(
        self, agency_id: int, actor: int | None, kind: str, value: str
    ) -> dict[str, Any]:
        """S-XC-2: which agencies (under an approved agreement that lets this agency search
        them today) hold cases with the identifier: pointers only — the agency and the case
        owner's name and email — never case data. Audited in the searching agency and in
        every agency searched."""
        ident = identifier(kind, value)
        with self.store.transaction():
            self.acting_user(actor, agency_id)
            searched: list[dict[str, Any]] = []
            pointers: list[dict[str, str]] = []
            for other, _slug, name in self.store.agencies():
                if other == agency_id or not self.search_flow(agency_id, other).allowed:
                    continue
                pks = self.store.identifier_cases(other, ident.type, ident.normalized)
                searched.append({"id": other, "name": name, "hits": len(pks)})
                seen = set()
                for card in self.store.xcase_owner_cards(pks).values():
                    key = (card["owner_name"], card["owner_email"])
                    if key not in seen:
                        seen.add(key)
                        pointers.append(
                            {"agency": name, "owner_name": key[0], "owner_email": key[1]}
                        )
            if not searched:
                raise CaseShareError(
                    "agreement_required",
                    "No agreement lets your agency search another agency today: an admin"
                    " proposes one with outbound search on, and the other agency approves it"
                    " with inbound search on.",
                )
            query = {"type": ident.type, "value": ident.normalized}
            who = actor_name(actor)
            self.store.record(
                agency_id,
                who,
                "deconfliction.search",
                f"identifier:{ident.type}",
                after={**query, "agencies": [s["id"] for s in searched], "hits": len(pointers)},
            )
            for s in searched:
                self.store.record(
                    s["id"],
                    who,
                    "deconfliction.searched",
                    f"identifier:{ident.type}",
                    after={**query, "by_agency": agency_id, "hits": s["hits"]},
                )
        return {
            "identifier": query,
            "agencies": [{"name": s["name"]} for s in searched],
            "pointers": pointers,
        }
