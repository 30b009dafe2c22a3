"""Loading a scenario world into a store through the services, keeping file-local names."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from caseshare.core.engine import Access
from caseshare.core.errors import CaseShareError
from caseshare.core.levels import Action, Level
from caseshare.core.principals import Principal, parse_grant, parse_ref
from caseshare.core.rules import parse_criteria
from caseshare.scenario.yamlines import ScenarioError, line_of
from caseshare.services import Caseshare
from caseshare.store import Store

T = TypeVar("T")
SECTIONS = (
    "agencies",
    "roles",
    "location_types",
    "locations",
    "users",
    "groups",
    "team_roles",
    "cases",
    "targets",
    "shares",
    "assignments",
    "team",
    "rules",
    "agreements",
    "agency_shares",
    "assertions",
)
TABLES = {
    "user": "users",
    "group": "groups",
    "location": "locations",
    "role": "roles",
    "role_tree": "roles",
}


def _entries(data: Mapping[str, Any], key: str) -> list[tuple[int | None, Any]]:
    items = data.get(key) or []
    if not isinstance(items, list):
        raise ScenarioError("validation_error", f"'{key}' must be a list", line_of(data, key))
    return [(line_of(items, i), item) for i, item in enumerate(items)]


class World:
    """A loaded world: the services over the store, and the names the file gave to things."""

    def __init__(self, store: Store, suffix: str = "") -> None:
        self.store = store
        self.svc = Caseshare(store)
        self.suffix = suffix
        self.agencies: dict[str, int] = {}
        self.agency_names: dict[int, str] = {}
        self.ids: dict[str, dict[str, int]] = {
            k: {}
            for k in (
                "users",
                "groups",
                "locations",
                "roles",
                "location_types",
                "team_roles",
                "rules",
            )
        }
        self.agency_of: dict[tuple[str, str], int] = {}
        self.cases: dict[str, tuple[int, str]] = {}
        self.targets: dict[str, tuple[int, str, int]] = {}  # name → agency, case id, target id
        self.agreements: dict[str, int] = {}
        self.agency_shares: dict[str, int] = {}
        self.names: dict[Principal, str] = {}
        self._line: int | None = None

    # -- loading ------------------------------------------------------------------------------------

    @classmethod
    def load(cls, store: Store, data: Mapping[str, Any], unique: bool = False) -> World:
        """Build the world; an invalid one raises ``ScenarioError`` naming the line and code."""
        world = cls(store, "-" + uuid.uuid4().hex[:10] if unique else "")
        if not isinstance(data, Mapping):
            raise ScenarioError("validation_error", "a scenario file is a mapping", 1)
        unknown = set(data) - set(SECTIONS)
        if unknown:
            key = sorted(unknown)[0]
            raise ScenarioError(
                "validation_error",
                f"unknown section {key!r} (known: {', '.join(SECTIONS)})",
                line_of(data, key),
            )
        world._build(data)
        return world

    def _at(self, line: int | None, fn: Callable[..., T], *args: Any) -> T:
        self._line = line
        try:
            return fn(*args)
        except CaseShareError as exc:
            raise ScenarioError(exc.code, exc.message, line) from None
        except (KeyError, ValueError) as exc:
            raise ScenarioError("validation_error", str(exc).strip("'\""), line) from None
        except (TypeError, AttributeError) as exc:  # e.g. ``indices: 5`` where a mapping goes
            raise ScenarioError(
                "validation_error",
                "a value of this entry has the wrong shape (a number, list or mapping where"
                f" another is expected): {exc}",
                line,
            ) from None

    def _build(self, data: Mapping[str, Any]) -> None:
        agencies = _entries(data, "agencies") or [(None, {"slug": "default"})]
        for line, entry in agencies:
            self._at(line, self._agency, entry)
        self.first_agency = next(iter(self.agencies.values()))
        steps: list[tuple[str, Callable[..., Any]]] = [
            ("roles", self._role),
            ("roles", self._role_parent),
            ("location_types", self._location_type),
            ("locations", self._location),
            ("users", self._user),
            ("groups", self._group),
            ("groups", self._members),
            ("team_roles", self._team_role),
            ("cases", self.create_case),
            ("targets", self.add_target),
            ("shares", self.share),
            ("assignments", self.assign),
            ("team", self.team_add),
            ("rules", self.add_rule),
            ("agreements", self.add_agreement),
            ("agency_shares", self.add_agency_share),
        ]
        for section, step in steps:
            for line, entry in _entries(data, section):
                self._at(line, step, entry, None)
        for line, entry in _entries(data, "cases"):
            if isinstance(entry, Mapping) and entry.get("deleted"):
                agency_id, case_id = self.case(str(entry["id"]))
                self._at(line, self.svc.delete_case, agency_id, None, case_id)

    def _role(self, e: Mapping[str, Any], actor: int | None) -> None:
        self._named("roles", e, lambda a: self.svc.create_role(a, actor, str(e["id"])))

    def _location_type(self, e: Mapping[str, Any], actor: int | None) -> None:
        self._named(
            "location_types",
            e,
            lambda a: self.svc.create_location_type(
                a,
                actor,
                str(e["id"]),
                shares_cases=bool(e.get("shares_cases", False)),
                view_descendants=bool(e.get("view_descendants", False)),
            ),
        )

    def _location(self, e: Mapping[str, Any], actor: int | None) -> None:
        def create(a: int) -> int:
            parent = e.get("parent")
            return self.svc.create_location(
                a,
                actor,
                str(e["id"]),
                self._id("location_types", e["type"], a),
                parent_id=None if parent is None else self._id("locations", parent, a),
                archived=bool(e.get("archived", False)),
            )

        self._named("locations", e, create)

    def _group(self, e: Mapping[str, Any], actor: int | None) -> None:
        self._named(
            "groups",
            e,
            lambda a: self.svc.create_group(
                a,
                actor,
                str(e["id"]),
                case_sharing=bool(e.get("case_sharing", False)),
                kind=str(e.get("kind", "group")),
            ),
        )

    def _members(self, e: Mapping[str, Any], actor: int | None) -> None:
        members = e.get("members") or []
        for i, member in enumerate(members):
            self._at(line_of(members, i) or self._line, self._member, e, member)

    def _team_role(self, e: Mapping[str, Any], actor: int | None) -> None:
        self._named(
            "team_roles",
            e,
            lambda a: self.svc.create_team_role(a, actor, str(e["id"]), str(e["level"])),
        )

    def _agency(self, e: Mapping[str, Any], actor: int | None = None) -> None:
        slug = str(e["slug"])
        if slug in self.agencies:
            raise CaseShareError("validation_error", f"agency {slug!r} is listed twice")
        settings = dict(e.get("settings") or {})
        agency_id = self.svc.create_agency(slug + self.suffix, str(e.get("name") or slug), settings)
        self.agencies[slug] = agency_id
        self.agency_names[agency_id] = slug
        self.names[Principal("agency", agency_id)] = f"agency:{slug}"

    def agency(self, e: Mapping[str, Any]) -> int:
        slug = e.get("agency")
        if slug is None:
            return self.first_agency
        if str(slug) not in self.agencies:
            raise CaseShareError("validation_error", f"unknown agency {slug!r}")
        return self.agencies[str(slug)]

    def _named(self, table: str, e: Mapping[str, Any], create: Callable[[int], int]) -> int:
        name = str(e["id"])
        if name in self.ids[table]:
            raise CaseShareError("validation_error", f"{table[:-1]} {name!r} is listed twice")
        agency_id = self.agency(e)
        new_id = create(agency_id)
        self.ids[table][name] = new_id
        self.agency_of[(table, name)] = agency_id
        kind = {"users": "user", "groups": "group", "locations": "location", "roles": "role"}
        if table in kind:
            self.names[Principal(kind[table], new_id)] = f"{kind[table]}:{name}"
        if table == "roles":
            self.names[Principal("role_tree", new_id)] = f"role_tree:{name}"
        return new_id

    def _id(self, table: str, name: Any, agency_id: int | None = None) -> int:
        key = str(name)
        if key not in self.ids[table]:
            raise CaseShareError(
                "validation_error", f"unknown {table[:-1].replace('_', ' ')} {key!r}"
            )
        if agency_id is not None and self.agency_of[(table, key)] != agency_id:
            raise CaseShareError(
                "validation_error", f"{table[:-1]} {key!r} belongs to another agency"
            )
        return self.ids[table][key]

    def _role_parent(self, e: Mapping[str, Any], actor: int | None) -> None:
        if e.get("parent") is None:
            return
        agency_id = self.agency(e)
        role_id = self._id("roles", e["id"])
        parent = self._id("roles", e["parent"], agency_id)
        directory = self.svc.context(agency_id).directory
        if directory.role_would_cycle(role_id, parent):
            raise CaseShareError("validation_error", f"role {e['id']!r} would be its own ancestor")
        with self.store.transaction():
            self.store.set_role_parent(agency_id, role_id, parent)

    def _user(self, e: Mapping[str, Any], actor: int | None) -> None:
        agency_id = self.agency(e)
        locations = [self._id("locations", loc, agency_id) for loc in e.get("locations") or []]
        role = self._id("roles", e["role"], agency_id) if e.get("role") is not None else None
        name = str(e["id"])
        self._named(
            "users",
            e,
            lambda a: self.svc.create_user(
                a,
                None,
                name,
                email=str(e.get("email") or ""),
                full_name=str(e.get("name") or name),
                active=bool(e.get("active", True)),
                role_id=role,
                permissions=[str(p) for p in e.get("permissions") or []],
                locations=locations,
            ),
        )

    def principal(self, text: str) -> Principal:
        """``kind:name`` of the file → the store's principal."""
        kind, key = parse_ref(str(text))
        if kind == "agency":
            if key not in self.agencies:
                raise CaseShareError("validation_error", f"unknown agency {key!r}")
            return Principal("agency", self.agencies[key])
        return Principal(kind, self._id(TABLES[kind], key))

    def _member(self, e: Mapping[str, Any], member: Any) -> None:
        agency_id = self.agency(e)
        who = self.principal(str(member))
        if who.kind not in ("user", "group"):
            raise CaseShareError("validation_error", f"a group member is a user or group: {member}")
        self.svc.add_member(agency_id, None, self._id("groups", e["id"]), who)

    # -- actions (also used by the loader) -----------------------------------------------------------

    def user_id(self, name: str) -> int:
        return self._id("users", name.removeprefix("user:"))

    def case(self, name: str) -> tuple[int, str]:
        key = name.removeprefix("case:")
        if key not in self.cases:
            raise CaseShareError("validation_error", f"unknown case {key!r}")
        return self.cases[key]

    def actor(self, name: Any) -> int | None:
        return None if name is None else self.user_id(str(name))

    def create_case(self, e: Mapping[str, Any], actor: int | None) -> None:
        name = str(e["id"])
        if name in self.cases:
            raise CaseShareError("validation_error", f"case {name!r} is listed twice")
        agency_id = self.agency(e)
        opened_by = self.user_id(str(e["opened_by"])) if e.get("opened_by") is not None else None
        indices = {}
        for identifier, spec in (e.get("indices") or {}).items():
            if not isinstance(spec, Mapping) or "case" not in spec:
                raise CaseShareError(
                    "validation_error", f"index {identifier!r} names its case: {{case: NAME}}"
                )
            ref_agency, ref = self.case(str(spec["case"]))
            if ref_agency != agency_id:
                raise CaseShareError(
                    "invalid_index", f"index {identifier!r} names a case of another agency"
                )
            indices[str(identifier)] = (ref, str(spec.get("relationship", "child")))
        owner = self.principal(str(e["owner"])) if e.get("owner") is not None else None
        self.svc.create_case(
            agency_id,
            actor,
            str(e.get("type") or ""),
            str(e.get("name") or name),
            owner=owner,
            case_id=name,
            opened_by=opened_by,
            properties={str(k): str(v) for k, v in (e.get("properties") or {}).items()},
            external_id=str(e.get("external_id") or ""),
            indices=indices,
            closed=bool(e.get("closed", False)),
        )
        self.cases[name] = (agency_id, name)

    def share(self, text: str, actor: int | None) -> None:
        grant = parse_grant(text)
        agency_id, case_id = self.case(grant.case)
        if grant.level is None:
            raise CaseShareError("validation_error", f"{text!r}: a share names its level")
        self.svc.share(
            agency_id,
            actor,
            case_id,
            self.principal(f"{grant.grantee_kind}:{grant.grantee_key}"),
            grant.level,
        )

    def unshare(self, text: str, actor: int | None) -> None:
        grant = parse_grant(text)
        agency_id, case_id = self.case(grant.case)
        self.svc.unshare(
            agency_id, actor, case_id, self.principal(f"{grant.grantee_kind}:{grant.grantee_key}")
        )

    def _user_grant(self, text: str) -> tuple[int, str, int, str | None]:
        grant = parse_grant(text)
        if grant.grantee_kind != "user":
            raise CaseShareError(
                "invalid_grantee", f"{text!r}: only users are assigned or on teams"
            )
        agency_id, case_id = self.case(grant.case)
        return agency_id, case_id, self.user_id(grant.grantee_key), grant.level

    def assign(self, text: str, actor: int | None) -> None:
        agency_id, case_id, user_id, _ = self._user_grant(text)
        self.svc.assign(agency_id, actor, case_id, user_id)

    def unassign(self, text: str, actor: int | None) -> None:
        agency_id, case_id, user_id, _ = self._user_grant(text)
        self.svc.unassign(agency_id, actor, case_id, user_id)

    def team_add(self, text: str, actor: int | None) -> None:
        agency_id, case_id, user_id, role = self._user_grant(text)
        if role is None:
            raise CaseShareError("validation_error", f"{text!r}: name the team role after #")
        self.svc.team_add(
            agency_id, actor, case_id, user_id, self._id("team_roles", role, agency_id)
        )

    def team_remove(self, text: str, actor: int | None) -> None:
        agency_id, case_id, user_id, _ = self._user_grant(text)
        self.svc.team_remove(agency_id, actor, case_id, user_id)

    def add_rule(self, e: Mapping[str, Any], actor: int | None) -> None:
        agency_id = self.agency(e)
        level, _, grantee = str(e["grant"]).partition("@")
        kind = str(e.get("kind") or "")
        criteria = None
        if kind == "criteria":
            criteria = parse_criteria(self._resolve_owners(e.get("when")))
        owner_in = self.principal(str(e["owner_in"])) if e.get("owner_in") else None
        name = str(e.get("id") or f"rule{len(self.ids['rules']) + 1}")
        self._named(
            "rules",
            {**e, "id": name},
            lambda a: self.svc.add_rule(
                a,
                actor,
                name,
                kind,
                self.principal(grantee),
                level,
                owner_in=owner_in,
                criteria=criteria,
                active=bool(e.get("active", True)),
            ),
        )
        del agency_id

    def _resolve_owners(self, when: Any) -> Any:
        """Owner conditions name principals by file name; the store knows them by id."""
        if isinstance(when, Mapping):
            out = {}
            for key, value in when.items():
                if key == "owner" or (key == "value" and when.get("field") == "owner"):
                    out[key] = (
                        [str(self.principal(v)) for v in value]
                        if isinstance(value, list)
                        else str(self.principal(value))
                    )
                else:
                    out[key] = self._resolve_owners(value)
            return out
        if isinstance(when, list):
            return [self._resolve_owners(v) for v in when]
        return when

    # -- targets and agreements ------------------------------------------------------------------

    def add_target(self, e: Mapping[str, Any], actor: int | None) -> None:
        """``{id, case, kind, name?, identifiers: [{type, value, deconfliction}]}``."""
        name = str(e["id"])
        if name in self.targets:
            raise CaseShareError("validation_error", f"target {name!r} is listed twice")
        agency_id, case_id = self.case(str(e["case"]))
        identifiers = e.get("identifiers") or []
        if not isinstance(identifiers, list):
            raise CaseShareError("validation_error", "a target's identifiers are a list")
        made = self.svc.add_target(
            agency_id,
            actor,
            case_id,
            str(e.get("kind") or ""),
            str(e.get("name") or name),
            identifiers,
        )
        self.targets[name] = (agency_id, case_id, int(made["id"]))

    def target(self, name: Any) -> tuple[int, str, int]:
        key = str(name)
        if key not in self.targets:
            raise CaseShareError("validation_error", f"unknown target {key!r}")
        return self.targets[key]

    def remove_target(self, e: Mapping[str, Any], actor: int | None) -> None:
        agency_id, case_id, target_id = self.target(e["target"])
        self.svc.remove_target(agency_id, actor, case_id, target_id)

    def _agency_slug(self, slug: Any) -> int:
        if str(slug) not in self.agencies:
            raise CaseShareError("validation_error", f"unknown agency {slug!r}")
        return self.agencies[str(slug)]

    def add_agreement(self, e: Mapping[str, Any], actor: int | None) -> None:
        """``{id, from, to, status [approved], from_flags {}, to_flags {}, start?, end?,
        reason?}``: proposed by ``from``, then answered or closed as ``status`` says."""
        status = str(e.get("status") or "approved")
        known = ("pending", "approved", "rejected", "withdrawn", "ended")
        if status not in known:
            raise CaseShareError(
                "validation_error", f"agreement status is one of {', '.join(known)}"
            )
        self.propose_agreement(
            {**e, "agency": e["from"], "flags": e.get("from_flags") or {}}, actor
        )
        name = str(e.get("id") or len(self.agreements))
        agreement_id = self.agreements[name]
        proposer, partner = self._agency_slug(e["from"]), self._agency_slug(e["to"])
        to_flags = dict(e.get("to_flags") or {})
        if status == "pending" and to_flags:
            self.svc.update_agreement(partner, actor, agreement_id, to_flags)
        if status in ("approved", "rejected", "ended"):
            self.svc.answer_agreement(
                partner,
                actor,
                agreement_id,
                approve=status != "rejected",
                reason=str(e.get("reason") or "rejected in the scenario"),
                flags=to_flags,
            )
        if status == "withdrawn":
            self.svc.withdraw_agreement(proposer, actor, agreement_id)
        if status == "ended":
            self.svc.end_agreement(proposer, actor, agreement_id)

    def propose_agreement(self, e: Mapping[str, Any], actor: int | None) -> None:
        name = str(e.get("id") or len(self.agreements))
        if name in self.agreements:
            raise CaseShareError("validation_error", f"agreement {name!r} is listed twice")
        if e.get("agency") is not None:
            proposer = self._agency_slug(e["agency"])
        elif actor is not None:
            proposer = self.store.user(actor).agency_id
        else:
            proposer = self.first_agency
        row = self.svc.propose_agreement(
            proposer,
            actor,
            self.store.agency(self._agency_slug(e["to"]))[1],
            dict(e.get("flags") or {}),
            start=e.get("start"),
            end=e.get("end"),
        )
        self.agreements[name] = row.id

    def agreement_id(self, name: Any) -> int:
        if str(name) not in self.agreements:
            raise CaseShareError("validation_error", f"unknown agreement {name!r}")
        return self.agreements[str(name)]

    def flow(self, kind: str, sender: str, receiver: str, day: str | None) -> tuple[bool, str]:
        """``send`` (data sharing) or ``search`` from one agency to another, on ``day``."""
        from caseshare.core.agreements import parse_day

        a, b = self._agency_slug(sender), self._agency_slug(receiver)
        on = parse_day(day, "the day") if day else None
        flow = self.svc.data_flow(a, b, on) if kind == "send" else self.svc.search_flow(a, b, on)
        return flow.allowed, flow.reason

    def case_targets(self, case: str) -> set[str]:
        agency_id, case_id = self.case(case)
        ids = {t["id"] for t in self.svc.targets(agency_id, None, case_id)}
        return {
            n
            for n, (a, c, t) in self.targets.items()
            if (a, c) == (agency_id, case_id) and t in ids
        }

    def identifier_cases(self, kind: str, value: str, agency: str | None) -> set[str]:
        """The cases whose targets carry this identifier with deconfliction on (S-XC-1)."""
        from caseshare.core.targets import identifier

        agency_id = self._agency_slug(agency) if agency else self.first_agency
        ident = identifier(kind, value)
        pks = set(self.store.cases_with_identifier(agency_id, ident.type, ident.normalized))
        return {
            name
            for name, (a, cid) in self.cases.items()
            if a == agency_id and self.store.case_pk(a, cid) in pks
        }

    # -- agency shares (S-AG-2…S-AG-4) -----------------------------------------------------------

    def add_agency_share(self, e: Mapping[str, Any], actor: int | None) -> None:
        """``{id, case, to, targets [], units [], auto_include [false], status [active],
        receiving_user?, local_case? | new_case?, reason?}``: sent by the system, then
        finalised (``active``), rejected or revoked as ``status`` says."""
        status = str(e.get("status") or "active")
        known = ("pending", "active", "rejected", "revoked")
        if status not in known:
            raise CaseShareError(
                "validation_error", f"agency share status is one of {', '.join(known)}"
            )
        self.send_case(e, actor)
        share_id = self.agency_share_id(e["id"])
        if status in ("active", "revoked"):
            self.accept_agency_share({**e, "share": e["id"]}, None)
        if status == "rejected":
            to_agency = self._agency_slug(e["to"])
            reason = str(e.get("reason") or "rejected in the scenario")
            self.svc.reject_agency_share(to_agency, None, share_id, reason)
        if status == "revoked":
            agency_id, _ = self.case(str(e["case"]))
            self.svc.revoke_agency_share(agency_id, None, share_id, e.get("reason"))

    def send_case(self, e: Mapping[str, Any], actor: int | None) -> None:
        """``{id, case, to, targets [], units [], auto_include [false]}``, as ``actor``."""
        name = str(e["id"])
        if name in self.agency_shares:
            raise CaseShareError("validation_error", f"agency share {name!r} is listed twice")
        agency_id, case_id = self.case(str(e["case"]))
        slug = str(e["to"])
        to_agency = self._agency_slug(slug)
        targets = [self.target(t)[2] for t in e.get("targets") or []]
        units = [self.principal(f"group:{u}").id for u in e.get("units") or []]
        rows = self.svc.send_case(
            agency_id,
            actor,
            case_id,
            [self.store.agency(to_agency)[1]],
            targets=targets,
            units={self.store.agency(to_agency)[1]: units},
            auto_include=bool(e.get("auto_include", False)),
        )
        self.agency_shares[name] = rows[0].id

    def agency_share_id(self, name: Any) -> int:
        if str(name) not in self.agency_shares:
            raise CaseShareError("validation_error", f"unknown agency share {name!r}")
        return self.agency_shares[str(name)]

    def accept_agency_share(self, e: Mapping[str, Any], actor: int | None) -> None:
        """``{share, receiving_user, local_case? | new_case?}``: ``new_case`` names the new
        local case in the file."""
        share_id = self.agency_share_id(e["share"])
        row = self.store.agency_share(share_id)
        assert row is not None
        local = None
        if e.get("local_case") is not None:
            local_agency, local = self.case(str(e["local_case"]))
            if local_agency != row.to_agency_id:
                raise CaseShareError(
                    "validation_error", "the local case belongs to the receiving agency"
                )
        new_name = str(e["new_case"]) if e.get("new_case") is not None else None
        if new_name is not None and new_name in self.cases:
            raise CaseShareError("validation_error", f"case {new_name!r} is listed twice")
        after = self.svc.accept_agency_share(
            row.to_agency_id,
            actor,
            share_id,
            self.user_id(str(e["receiving_user"])),
            local_case_id=local,
            new_case_name=new_name,
        )
        if new_name is not None and after.local_case_id is not None:
            self.cases[new_name] = (row.to_agency_id, after.local_case_id)

    def sharing_state(self, case: str) -> str:
        """S-AG-5: ``sending``, ``receiving``, ``both``, ``inactive`` or ``none``."""
        agency_id, case_id = self.case(case)
        pk = self.store.case_pk(agency_id, case_id)
        assert pk is not None
        return self.svc.sharing_states([pk])[pk] or "none"

    def received_targets(self, user: str, case: str) -> set[str]:
        """S-AG-4: the file's targets the user reads on a case sent to their agency."""
        user_id = self.user_id(user)
        agency_id, case_id = self.case(case)
        pk = self.store.case_pk(agency_id, case_id)
        to_agency = self.store.user(user_id).agency_id
        ids: set[int] = set()
        for row in self.store.agency_shares_of_case(pk or 0):
            if row.to_agency_id != to_agency:
                continue
            try:
                summary = self.svc.received_case(to_agency, user_id, row.id)
            except CaseShareError:
                continue
            ids.update(int(t["id"]) for t in summary["targets"])
        return {n for n, (_, _, t) in self.targets.items() if t in ids}

    def xcase(self, user: str, case: str) -> set[str]:
        """S-XC-1 as the user sees it: file case names in full, ``pointer:EMAIL`` otherwise."""
        agency_id, case_id = self.case(case)
        out = set()
        for alert in self.svc.xcase_alerts(agency_id, self.user_id(user), case_id):
            if alert["case"] is None:
                out.add(f"pointer:{alert['owner']['email']}")
                continue
            out.update(
                n
                for n, (a, cid) in self.cases.items()
                if (a, cid) == (agency_id, alert["case"]["case_id"])
            )
        return out

    def _received(self, user_id: int, case_pk: int) -> Access:
        return self.svc.access_received(user_id, case_pk)

    # -- questions ---------------------------------------------------------------------------------

    def can(self, user: str, action: str, case: str) -> bool:
        agency_id, case_id = self.case(case)
        user_id = self.user_id(user)
        if self.store.user(user_id).agency_id != agency_id:  # S-ACC-3: only agency_share
            pk = self.store.case_pk(agency_id, case_id)
            return pk is not None and self._received(user_id, pk).allows(Action.parse(action))
        return self.svc.check(user_id, Action.parse(action), case_id).allowed

    def sees(self, user: str, *, rowwise: bool = False) -> set[str]:
        """The cases the user's list holds; ``rowwise`` tests each row on its own (the plan
        of a list that walks a sort index) instead of building the user's candidate set."""
        user_id = self.user_id(user)
        pks = self.svc.visible_case_pks(user_id, rowwise=rowwise)
        return {name for name, (a, cid) in self.cases.items() if self.store.case_pk(a, cid) in pks}

    def listed(self, user: str, limit: int = 3) -> list[str]:
        """The user's case list read page by page (keyset cursors), in list order."""
        user_id = self.user_id(user)
        agency_id = self.store.user(user_id).agency_id
        names = {cid: name for name, (a, cid) in self.cases.items() if a == agency_id}
        out: list[str] = []
        cursor = None
        while True:
            page = self.svc.list_cases(user_id, limit=limit, cursor=cursor)
            out += [names[i["case_id"]] for i in page.items if i["case_id"] in names]
            cursor = page.next_cursor
            if cursor is None:
                return out

    def explain(self, user: str, case: str) -> tuple[str, frozenset[str]]:
        agency_id, case_id = self.case(case)
        user_id = self.user_id(user)
        if self.store.user(user_id).agency_id != agency_id:
            pk = self.store.case_pk(agency_id, case_id)
            if pk is None:
                return "none", frozenset()
            access = self._received(user_id, pk)
        else:
            access = self.svc.explain(user_id, case_id)
        return access.level.label, frozenset(c.value for c in access.causes)

    def owner_ids(self, user: str) -> set[str]:
        return {self.names.get(p, str(p)) for p in self.svc.owner_ids(self.user_id(user))}

    def syncs(self, user: str) -> set[str]:
        """The cases a full restore sends a device of the user (S-SYNC-1); none when inactive."""
        user_id = self.user_id(user)
        agency_id = self.store.user(user_id).agency_id
        if not self.store.user(user_id).active:
            return set()
        ids = {c.case_id for c in self.svc.restore(user_id).cases}
        return {name for name, (a, cid) in self.cases.items() if a == agency_id and cid in ids}

    def who(self, case: str) -> dict[str, str]:
        agency_id, case_id = self.case(case)
        return {
            self.names.get(Principal("user", a.user_id), str(a.user_id)).removeprefix(
                "user:"
            ): a.level.label
            for a in self.svc.who_has_access(agency_id, case_id)
        }

    def level(self, user: str, case: str) -> Level:
        return Level.parse(self.explain(user, case)[0])
