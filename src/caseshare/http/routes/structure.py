"""The agency's structure: locations, roles, team roles, sharing rules and the case-sharing report."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from caseshare.core.errors import CaseShareError
from caseshare.core.model import Location, LocationType, Role, TeamRole
from caseshare.core.principals import Principal
from caseshare.core.rules import Rule, criteria_to_data, parse_criteria
from caseshare.http.auth import CurrentActor, Service
from caseshare.services import Caseshare

router = APIRouter(prefix="/api/v1")

Id = Annotated[int, Field(ge=1, le=2**62)]
PathId = Annotated[int, Path(ge=1, le=2**62)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
PRINCIPAL = re.compile(r"^(user|group|location|role|role_tree|agency):[0-9]{1,18}$")
MAX_CRITERIA_DEPTH = 8
T = TypeVar("T")
MAX_CRITERIA_NODES = 200


class NewLocationType(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    shares_cases: bool = Field(False, description="Locations of this type own cases.")
    view_descendants: bool = Field(False, description="Users here see the child locations' data.")


class NewLocation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    type_id: Id
    parent_id: Id | None = None


class LocationTypeChange(BaseModel):
    """Only the fields given change; every location of the type follows at once."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str | None = Field(None, max_length=200)
    shares_cases: bool | None = None
    view_descendants: bool | None = None


class LocationChange(BaseModel):
    """Only the fields given change."""

    model_config = ConfigDict(extra="forbid", strict=True)

    archived: bool | None = Field(
        None, description="An archived location owns no cases and grants nothing."
    )
    name: str | None = Field(None, max_length=200)
    parent_id: Id | None = Field(None, description="null: a top location.")


class RoleChange(BaseModel):
    """Only the fields given change."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str | None = Field(None, max_length=200)
    parent_id: Id | None = Field(None, description="The role above it; null: a top role.")


class NewRole(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    parent_id: Id | None = Field(None, description="The role above it (S-HIER-1).")


class NewTeamRole(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    level: Literal["none", "read", "edit"]


class TeamRoleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: Literal["none", "read", "edit"]


class NewRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    kind: Literal["owner", "criteria"]
    grantee: str = Field(max_length=40, description="Who gets access, e.g. group:7 or role_tree:2.")
    level: Literal["read", "edit"]
    owner_in: str | None = Field(
        None, max_length=40, description="owner rules: cases owned in this principal."
    )
    criteria: dict[str, Any] | None = Field(
        None,
        description="criteria rules: {case_type: x, properties: {k: v}} or the all/any form.",
    )
    active: bool = True


class RuleChange(BaseModel):
    """Only the fields given change; a rule's kind never does."""

    model_config = ConfigDict(extra="forbid")

    active: bool | None = None
    name: Name | None = None
    grantee: str | None = Field(None, max_length=40)
    level: Literal["read", "edit"] | None = None
    owner_in: str | None = Field(None, max_length=40, description="owner rules only")
    criteria: dict[str, Any] | None = Field(None, description="criteria rules only")


# -- shapes -----------------------------------------------------------------------------------


def location_type_json(t: LocationType) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "shares_cases": t.shares_cases,
        "view_descendants": t.view_descendants,
    }


def location_json(loc: Location) -> dict[str, Any]:
    return {
        "id": loc.id,
        "name": loc.name,
        "type_id": loc.type_id,
        "parent_id": loc.parent_id,
        "archived": loc.archived,
    }


def role_json(role: Role) -> dict[str, Any]:
    return {"id": role.id, "name": role.name, "parent_id": role.parent_id}


def team_role_json(role: TeamRole) -> dict[str, Any]:
    return {"id": role.id, "name": role.name, "level": role.level.label}


def rule_json(svc: Caseshare, rule: Rule) -> dict[str, Any]:
    directory = svc.context(rule.agency_id).directory
    return {
        "id": rule.id,
        "name": rule.name,
        "kind": rule.kind,
        "grantee": str(rule.grantee),
        "grantee_name": directory.name_of(rule.grantee),
        "level": rule.level.label,
        "active": rule.active,
        "owner_in": str(rule.owner_in) if rule.owner_in else None,
        "criteria": criteria_to_data(rule.criteria) if rule.criteria else None,
    }


def _find(found: T | None, what: str, key: int) -> T:
    if found is None:
        raise CaseShareError("not_found", f"{what} {key} was not found.")
    return found


def _principal(text: str, field: str) -> str:
    if PRINCIPAL.match(text.strip()) is None:
        raise CaseShareError(
            "invalid_grantee", f"{field} {text!r} is not a principal: write kind:id, e.g. group:7."
        )
    return text.strip()


def _check_shape(data: Any, depth: int = 0, seen: list[int] | None = None) -> None:
    """Refuse criteria nested too deep or too large before parsing them."""
    seen = [0] if seen is None else seen
    seen[0] += 1
    if depth > MAX_CRITERIA_DEPTH or seen[0] > MAX_CRITERIA_NODES:
        raise CaseShareError(
            "validation_error",
            f"Criteria are at most {MAX_CRITERIA_DEPTH} levels deep"
            f" and {MAX_CRITERIA_NODES} parts in all.",
        )
    children = data.values() if isinstance(data, dict) else data if isinstance(data, list) else ()
    for child in children:
        _check_shape(child, depth + 1, seen)


# -- locations --------------------------------------------------------------------------------


@router.get("/location-types", summary="Location types of my agency", tags=["structure"])
def list_location_types(actor: CurrentActor, svc: Service) -> dict[str, Any]:
    types = svc.context(actor.agency_id).directory.location_types
    return {"items": [location_type_json(types[k]) for k in sorted(types)]}


@router.post(
    "/location-types",
    status_code=201,
    summary="Create a location type (admins)",
    tags=["structure"],
)
def create_location_type(
    body: NewLocationType, actor: CurrentActor, svc: Service
) -> dict[str, Any]:
    type_id = svc.create_location_type(
        actor.agency_id,
        actor.user_id,
        body.name.strip(),
        shares_cases=body.shares_cases,
        view_descendants=body.view_descendants,
    )
    return location_type_json(svc.context(actor.agency_id).directory.location_types[type_id])


@router.patch(
    "/location-types/{type_id}",
    summary="Rename a location type or change its flags (admins)",
    tags=["structure"],
)
def update_location_type(
    type_id: PathId, body: LocationTypeChange, actor: CurrentActor, svc: Service
) -> dict[str, Any]:
    types = svc.context(actor.agency_id).directory.location_types
    _find(types.get(type_id), "Location type", type_id)
    svc.update_location_type(actor.agency_id, actor.user_id, type_id, _given(body))
    return location_type_json(svc.context(actor.agency_id).directory.location_types[type_id])


def _given(body: BaseModel, nullable: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields a PATCH body gives; null only where it means something."""
    changes = body.model_dump(exclude_unset=True)
    for key, value in changes.items():
        if value is None and key not in nullable:
            raise CaseShareError("validation_error", f"{key} cannot be null.")
    return changes


@router.get(
    "/locations", summary="Locations of my agency (a tree by parent_id)", tags=["structure"]
)
def list_locations(
    actor: CurrentActor,
    svc: Service,
    archived: Annotated[bool | None, Query(description="Only archived (or live) ones")] = None,
) -> dict[str, Any]:
    locations = svc.context(actor.agency_id).directory.locations
    return {
        "items": [
            location_json(locations[k])
            for k in sorted(locations)
            if archived is None or locations[k].archived == archived
        ]
    }


@router.post(
    "/locations", status_code=201, summary="Create a location (admins)", tags=["structure"]
)
def create_location(body: NewLocation, actor: CurrentActor, svc: Service) -> dict[str, Any]:
    loc_id = svc.create_location(
        actor.agency_id, actor.user_id, body.name.strip(), body.type_id, parent_id=body.parent_id
    )
    return location_json(svc.context(actor.agency_id).directory.locations[loc_id])


@router.patch(
    "/locations/{location_id}",
    summary="Archive or restore a location, rename it or move it in the tree (admins)",
    tags=["structure"],
)
def update_location(
    location_id: PathId, body: LocationChange, actor: CurrentActor, svc: Service
) -> dict[str, Any]:
    locations = svc.context(actor.agency_id).directory.locations
    _find(locations.get(location_id), "Location", location_id)
    changes = _given(body, nullable=("parent_id",))
    svc.update_location(actor.agency_id, actor.user_id, location_id, changes)
    return location_json(svc.context(actor.agency_id).directory.locations[location_id])


# -- roles ------------------------------------------------------------------------------------


@router.get("/roles", summary="Roles of my agency (the hierarchy)", tags=["structure"])
def list_roles(actor: CurrentActor, svc: Service) -> dict[str, Any]:
    roles = svc.context(actor.agency_id).directory.roles
    return {"items": [role_json(roles[k]) for k in sorted(roles)]}


@router.post(
    "/roles",
    status_code=201,
    summary="Create a role, optionally below another (admins)",
    tags=["structure"],
)
def create_role(body: NewRole, actor: CurrentActor, svc: Service) -> dict[str, Any]:
    role_id = svc.create_role(actor.agency_id, actor.user_id, body.name.strip(), body.parent_id)
    return role_json(svc.context(actor.agency_id).directory.roles[role_id])


@router.patch(
    "/roles/{role_id}",
    summary="Rename a role or move it in the hierarchy (admins; cycles refused)",
    tags=["structure"],
)
def update_role(
    role_id: PathId, body: RoleChange, actor: CurrentActor, svc: Service
) -> dict[str, Any]:
    _find(svc.context(actor.agency_id).directory.roles.get(role_id), "Role", role_id)
    changes = _given(body, nullable=("parent_id",))
    svc.update_role(actor.agency_id, actor.user_id, role_id, changes)
    return role_json(svc.context(actor.agency_id).directory.roles[role_id])


# -- team roles (S-TEAM-1) --------------------------------------------------------------------


@router.get("/team-roles", summary="Team roles of my agency", tags=["structure"])
def list_team_roles(actor: CurrentActor, svc: Service) -> dict[str, Any]:
    roles = svc.context(actor.agency_id).team_roles
    return {"items": [team_role_json(roles[k]) for k in sorted(roles)]}


@router.post(
    "/team-roles", status_code=201, summary="Create a team role (admins)", tags=["structure"]
)
def create_team_role(body: NewTeamRole, actor: CurrentActor, svc: Service) -> dict[str, Any]:
    role_id = svc.create_team_role(actor.agency_id, actor.user_id, body.name.strip(), body.level)
    return team_role_json(svc.context(actor.agency_id).team_roles[role_id])


@router.patch(
    "/team-roles/{team_role_id}",
    summary="Change a team role's level: every team using it changes at once (admins)",
    tags=["structure"],
)
def update_team_role(
    team_role_id: PathId, body: TeamRoleChange, actor: CurrentActor, svc: Service
) -> dict[str, Any]:
    _find(svc.context(actor.agency_id).team_roles.get(team_role_id), "Team role", team_role_id)
    svc.set_team_role_level(actor.agency_id, actor.user_id, team_role_id, body.level)
    return team_role_json(svc.context(actor.agency_id).team_roles[team_role_id])


@router.delete(
    "/team-roles/{team_role_id}",
    status_code=204,
    summary="Delete a team role; one in use needs ?replacement= (admins)",
    tags=["structure"],
)
def delete_team_role(
    team_role_id: PathId,
    actor: CurrentActor,
    svc: Service,
    replacement: Annotated[
        int | None, Query(ge=1, le=2**62, description="Team role taking over its members")
    ] = None,
) -> Response:
    _find(svc.context(actor.agency_id).team_roles.get(team_role_id), "Team role", team_role_id)
    if replacement == team_role_id:
        raise CaseShareError("validation_error", "A team role cannot replace itself.")
    svc.delete_team_role(actor.agency_id, actor.user_id, team_role_id, replacement)
    return Response(status_code=204)


# -- sharing rules (S-RULE-1) -----------------------------------------------------------------


def _rule(svc: Caseshare, agency_id: int, rule_id: int) -> Rule:
    found = {r.id: r for r in svc.context(agency_id).rules}.get(rule_id)
    return _find(found, "Rule", rule_id)


@router.get("/rules", summary="Sharing rules of my agency (admins)", tags=["rules"])
def list_rules(actor: CurrentActor, svc: Service) -> dict[str, Any]:
    svc.require_admin(actor.user_id, actor.agency_id)
    return {"items": [rule_json(svc, r) for r in svc.context(actor.agency_id).rules]}


@router.post(
    "/rules",
    status_code=201,
    summary="Create an owner or criteria sharing rule (admins; ≤300, ≤50 criteria)",
    tags=["rules"],
)
def create_rule(body: NewRule, actor: CurrentActor, svc: Service) -> dict[str, Any]:
    svc.require_admin(actor.user_id, actor.agency_id)
    grantee = _principal(body.grantee, "grantee")
    owner_in = None
    criteria = None
    if body.kind == "owner":
        if body.criteria is not None:
            raise CaseShareError("validation_error", "An owner rule takes owner_in, not criteria.")
        if body.owner_in is None:
            raise CaseShareError("validation_error", "An owner rule names owner_in.")
        owner_in = _principal(body.owner_in, "owner_in")
    else:
        if body.owner_in is not None:
            raise CaseShareError(
                "validation_error", "A criteria rule takes criteria, not owner_in."
            )
        if body.criteria is None:
            raise CaseShareError("validation_error", "A criteria rule needs criteria.")
        _check_shape(body.criteria)
        criteria = parse_criteria(body.criteria)
    rule_id = svc.add_rule(
        actor.agency_id,
        actor.user_id,
        body.name.strip(),
        body.kind,
        grantee,
        body.level,
        owner_in=owner_in,
        criteria=criteria,
        active=body.active,
    )
    return rule_json(svc, _rule(svc, actor.agency_id, rule_id))


@router.patch(
    "/rules/{rule_id}",
    summary="Change a rule or (de)activate it: its access follows at once (admins)",
    tags=["rules"],
)
def update_rule(
    rule_id: PathId, body: RuleChange, actor: CurrentActor, svc: Service
) -> dict[str, Any]:
    svc.require_admin(actor.user_id, actor.agency_id)
    rule = _rule(svc, actor.agency_id, rule_id)
    changes = _given(body)
    if set(changes) == {"active"}:
        svc.set_rule_active(actor.agency_id, actor.user_id, rule_id, changes["active"])
        return rule_json(svc, _rule(svc, actor.agency_id, rule_id))
    wrong = "criteria" if rule.kind == "owner" else "owner_in"
    if wrong in changes:
        raise CaseShareError(
            "validation_error", f"A rule's kind never changes: a {rule.kind} rule takes no {wrong}."
        )
    if "criteria" in changes:
        _check_shape(changes["criteria"])
        changes["criteria"] = parse_criteria(changes["criteria"])
    for key in ("grantee", "owner_in"):
        if key in changes:
            changes[key] = _principal(changes[key], key)
    # the fields not given keep the values they have when the change is applied (a rule
    # deactivated at the same moment stays inactive), not those read here
    svc.change_rule(actor.agency_id, actor.user_id, rule_id, changes)
    return rule_json(svc, _rule(svc, actor.agency_id, rule_id))


@router.delete(
    "/rules/{rule_id}",
    status_code=204,
    summary="Delete a rule: its access ends at once (admins)",
    tags=["rules"],
)
def delete_rule(rule_id: PathId, actor: CurrentActor, svc: Service) -> Response:
    svc.require_admin(actor.user_id, actor.agency_id)
    _rule(svc, actor.agency_id, rule_id)
    svc.delete_rule(actor.agency_id, actor.user_id, rule_id)
    return Response(status_code=204)


# -- diagnostics (S-CRT-4) --------------------------------------------------------------------


@router.get(
    "/reports/case-sharing",
    summary="Users not in exactly one case-sharing group or location (admins)",
    tags=["reports"],
)
def case_sharing_report(actor: CurrentActor, svc: Service) -> dict[str, Any]:
    svc.require_admin(actor.user_id, actor.agency_id)
    directory = svc.context(actor.agency_id).directory
    items = []
    for row in svc.case_sharing_report(actor.agency_id):
        user = directory.users[row["user_id"]]
        owners = [
            {"principal": p, "name": directory.name_of(Principal.parse(p))} for p in row["owners"]
        ]
        items.append(row | {"full_name": user.full_name, "owners": owners})
    return {"items": items}
