"""Running a scenario file: load the world, then check each assertion and apply each action."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from caseshare.core.errors import CODES, CaseShareError
from caseshare.core.levels import Action, Level
from caseshare.scenario.world import World
from caseshare.scenario.yamlines import ScenarioError, line_of, load, read_text
from caseshare.store import Store


@dataclass(frozen=True)
class Outcome:
    """One assertion or action: where, what, whether it held, and what was found instead."""

    line: int | None
    text: str
    passed: bool
    got: str = ""


def _names(text: str) -> set[str]:
    return {n.strip() for n in text.split(",") if n.strip()}


def _bare(names: set[str]) -> set[str]:
    return {n.split(":", 1)[1] if ":" in n else n for n in names}


_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^user:(\S+) (can|cannot) (\w+) case:(\S+)$"), "can"),
    (re.compile(r"^user:(\S+) sees \[(.*)\]$"), "sees"),
    (re.compile(r"^explain user:(\S+) case:(\S+) = (\w+)(?: by (.+))?$"), "explain"),
    (re.compile(r"^who case:(\S+) = \[(.*)\]$"), "who"),
    (re.compile(r"^user:(\S+) owner-ids \[(.*)\]$"), "owner_ids"),
    (re.compile(r"^user:(\S+) syncs \[(.*)\]$"), "syncs"),
    (re.compile(r"^case-sharing report(?: (\S+))? \[(.*)\]$"), "report"),
    (re.compile(r"^case:(\S+) owner = (\S+)$"), "owner"),
    (
        re.compile(r"^agency:(\S+) (can|cannot) (send to|search) agency:(\S+)(?: on (\S+))?$"),
        "flow",
    ),
    (re.compile(r"^case:(\S+) targets \[(.*)\]$"), "targets"),
    (re.compile(r"^identifier (\w+):(.+?)(?: in agency:(\S+))? on \[(.*)\]$"), "identifier"),
    (re.compile(r"^case:(\S+) sharing = (\w+)$"), "sharing"),
    (re.compile(r"^user:(\S+) reads targets \[(.*)\] of case:(\S+)$"), "received_targets"),
    (re.compile(r"^user:(\S+) x-case case:(\S+) = \[(.*)\]$"), "xcase"),
]


def parse_assertion(text: str) -> tuple[str, tuple[str, ...]]:
    """Which assertion a string is, and its parts; ``validation_error`` when it is none."""
    clean = " ".join(text.split())
    for pattern, kind in _PATTERNS:
        match = pattern.match(clean)
        if match:
            return kind, tuple(g or "" for g in match.groups())
    raise CaseShareError(
        "validation_error",
        f"not an assertion: {text!r} (see docs/scenarios.md for the forms)",
    )


def _validate(kind: str, parts: tuple[str, ...]) -> None:
    if kind == "can":
        Action.parse(parts[2])
    if kind == "explain":
        Level.parse(parts[2])


def evaluate(world: World, kind: str, parts: tuple[str, ...]) -> tuple[bool, str]:
    """Check one parsed assertion against the world; (held, what was found)."""
    if kind == "can":
        user, verb, action, case = parts
        allowed = world.can(user, action, case)
        return allowed == (verb == "can"), "allowed" if allowed else "denied"
    if kind == "sees":
        got = world.sees(parts[0])
        return got == _bare(_names(parts[1])), f"sees [{', '.join(sorted(got))}]"
    if kind == "explain":
        user, case, level, causes = parts
        got_level, got_causes = world.explain(user, case)
        ok = got_level == Level.parse(level).label and got_causes == frozenset(_names(causes))
        return ok, f"{got_level} by {', '.join(sorted(got_causes)) or '-'}"
    if kind == "who":
        who = world.who(parts[0])
        levels: dict[str, str] = {}
        for item in _names(parts[1]):
            name, _, level = item.partition(" ")
            levels[name.removeprefix("user:")] = Level.parse(level or "read").label
        shown = ", ".join(f"{n} {lvl}" for n, lvl in sorted(who.items()))
        return who == levels, f"[{shown}]"
    if kind == "owner_ids":
        got = world.owner_ids(parts[0])
        want = _names(parts[1])
        ok = _bare(got) == _bare(want) if all(":" not in w for w in want) else got == want
        return ok, f"[{', '.join(sorted(got))}]"
    if kind == "syncs":
        got = world.svc.live_case_ids(world.user_id(parts[0]))
        names = {n for n, (_, cid) in world.cases.items() if cid in got}
        return names == _bare(_names(parts[1])), f"syncs [{', '.join(sorted(names))}]"
    if kind == "flow":
        sender, verb, what, receiver, day = parts
        allowed, reason = world.flow(
            "send" if what == "send to" else "search", sender, receiver, day or None
        )
        return allowed == (verb == "can"), reason
    if kind == "targets":
        got = world.case_targets(parts[0])
        return got == _names(parts[1]), f"targets [{', '.join(sorted(got))}]"
    if kind == "identifier":
        id_type, value, agency, expected = parts
        got = world.identifier_cases(id_type, value.strip(), agency or None)
        return got == _bare(_names(expected)), f"on [{', '.join(sorted(got))}]"
    if kind == "sharing":
        state = world.sharing_state(parts[0])
        return state == parts[1], state
    if kind == "received_targets":
        got = world.received_targets(parts[0], parts[2])
        return got == _names(parts[1]), f"[{', '.join(sorted(got))}]"
    if kind == "xcase":
        got = world.xcase(parts[0], parts[1])
        return got == _names(parts[2]), f"[{', '.join(sorted(got))}]"
    if kind == "report":
        agency_id = world.agencies[parts[0]] if parts[0] else world.first_agency
        got = {r["username"] for r in world.svc.case_sharing_report(agency_id)}
        return got == _bare(_names(parts[1])), f"[{', '.join(sorted(got))}]"
    agency_id, case_id = world.case(parts[0])
    owner = world.store.case_row(agency_id, case_id)
    got_owner = "missing" if owner is None else world.names.get(owner.owner, str(owner.owner))
    return got_owner == parts[1], got_owner


def _apply(world: World, item: Mapping[str, Any]) -> None:
    """Carry out one ``do:`` action as the named actor."""
    do = str(item.get("do"))
    actor = world.actor(item.get("as"))
    agency_of = world.agency
    fields = {k: v for k, v in item.items() if k not in ("do", "as", "expect")}
    actions: dict[str, Callable[[], Any]] = {
        "share": lambda: world.share(str(item["grant"]), actor),
        "unshare": lambda: world.unshare(str(item["grant"]), actor),
        "assign": lambda: world.assign(str(item["grant"]), actor),
        "unassign": lambda: world.unassign(str(item["grant"]), actor),
        "team_add": lambda: world.team_add(str(item["grant"]), actor),
        "team_remove": lambda: world.team_remove(str(item["grant"]), actor),
        "change_owner": lambda: world.svc.change_owner(
            *world.case(str(item["case"]))[:1],
            actor,
            world.case(str(item["case"]))[1],
            world.principal(str(item["owner"])),
        ),
        "create_case": lambda: world.create_case(
            {k: v for k, v in item.items() if k not in ("do", "as", "expect")}, actor
        ),
        "delete_case": lambda: world.svc.delete_case(*_case_args(world, item, actor)),
        "restore_case": lambda: world.svc.restore_case(*_case_args(world, item, actor)),
        "purge_case": lambda: world.svc.purge_case(*_case_args(world, item, actor)),
        "deactivate": lambda: world.svc.set_active(
            _user_agency(world, item), actor, world.user_id(str(item["user"])), False
        ),
        "activate": lambda: world.svc.set_active(
            _user_agency(world, item), actor, world.user_id(str(item["user"])), True
        ),
        "add_member": lambda: world.svc.add_member(
            agency_of(item),
            actor,
            world.principal(f"group:{item['group']}").id,
            world.principal(str(item["member"])),
        ),
        "remove_member": lambda: world.svc.remove_member(
            agency_of(item),
            actor,
            world.principal(f"group:{item['group']}").id,
            world.principal(str(item["member"])),
        ),
        "set_role": lambda: world.svc.set_role(
            _user_agency(world, item),
            actor,
            world.user_id(str(item["user"])),
            world.principal(f"role:{item['role']}").id if item.get("role") else None,
        ),
        "set_setting": lambda: world.svc.update_settings(
            agency_of(item), actor, {str(item["key"]): item["value"]}
        ),
        "set_rule_active": lambda: world.svc.set_rule_active(
            agency_of(item), actor, world.ids["rules"][str(item["rule"])], bool(item["active"])
        ),
        "delete_rule": lambda: world.svc.delete_rule(
            agency_of(item), actor, world.ids["rules"][str(item["rule"])]
        ),
        "add_rule": lambda: world.add_rule(
            {k: v for k, v in item.items() if k not in ("do", "as", "expect")}, actor
        ),
        "add_target": lambda: world.add_target(fields, actor),
        "remove_target": lambda: world.remove_target(fields, actor),
        "change_target": lambda: world.svc.change_target(
            *world.target(item["target"])[:1],
            actor,
            world.target(item["target"])[1],
            world.target(item["target"])[2],
            kind=item.get("kind"),
            name=item.get("name"),
        ),
        "propose_agreement": lambda: world.propose_agreement(fields, actor),
        "approve_agreement": lambda: world.svc.answer_agreement(
            _side(world, item, actor, "partner"),
            actor,
            world.agreement_id(item["agreement"]),
            approve=True,
            flags=item.get("flags"),
        ),
        "reject_agreement": lambda: world.svc.answer_agreement(
            _side(world, item, actor, "partner"),
            actor,
            world.agreement_id(item["agreement"]),
            approve=False,
            reason=item.get("reason"),
        ),
        "withdraw_agreement": lambda: world.svc.withdraw_agreement(
            _side(world, item, actor, "proposer"),
            actor,
            world.agreement_id(item["agreement"]),
            item.get("reason"),
        ),
        "end_agreement": lambda: world.svc.end_agreement(
            _side(world, item, actor, "proposer"),
            actor,
            world.agreement_id(item["agreement"]),
            item.get("reason"),
        ),
        "update_agreement": lambda: world.svc.update_agreement(
            _side(world, item, actor, "proposer"),
            actor,
            world.agreement_id(item["agreement"]),
            item.get("flags"),
            **{k: item[k] for k in ("start", "end") if k in item},
        ),
        "send_case": lambda: world.send_case(fields, actor),
        "accept_agency_share": lambda: world.accept_agency_share(fields, actor),
        "reject_agency_share": lambda: world.svc.reject_agency_share(
            _share_side(world, item, actor, "to"),
            actor,
            world.agency_share_id(item["share"]),
            str(item.get("reason") or ""),
        ),
        "revoke_agency_share": lambda: world.svc.revoke_agency_share(
            _share_side(world, item, actor, "from"),
            actor,
            world.agency_share_id(item["share"]),
            item.get("reason"),
            expected=item.get("status"),
        ),
        "edit_agency_share": lambda: world.svc.edit_agency_share(
            _share_side(world, item, actor, "from"),
            actor,
            world.agency_share_id(item["share"]),
            targets=None
            if item.get("targets") is None
            else [world.target(t)[2] for t in item["targets"]],
            units=None
            if item.get("units") is None
            else [world.principal(f"group:{u}").id for u in item["units"]],
            auto_include=item.get("auto_include"),
        ),
    }
    if do not in actions:
        raise CaseShareError(
            "validation_error", f"unknown action {do!r} (known: {', '.join(sorted(actions))})"
        )
    actions[do]()


def _side(world: World, item: Mapping[str, Any], actor: int | None, default: str) -> int:
    """The agency an agreement action acts for: the ``as:`` user's, else ``agency:``, else the
    agreement's proposer or partner (whichever the action belongs to)."""
    if actor is not None:
        return world.store.user(actor).agency_id
    if item.get("agency") is not None:
        return world.agency(item)
    row = world.store.agreement_row(world.agreement_id(item["agreement"]))
    assert row is not None
    side = row.agreement.partner if default == "partner" else row.agreement.proposer
    return side.agency_id


def _share_side(world: World, item: Mapping[str, Any], actor: int | None, side: str) -> int:
    """The agency an agency-share action acts for: the ``as:`` user's, else the share's
    sending (``from``) or receiving (``to``) agency."""
    if actor is not None:
        return world.store.user(actor).agency_id
    row = world.store.agency_share(world.agency_share_id(item["share"]))
    assert row is not None
    return row.from_agency_id if side == "from" else row.to_agency_id


def _case_args(world: World, item: Mapping[str, Any], actor: int | None) -> tuple[int, Any, str]:
    agency_id, case_id = world.case(str(item["case"]))
    return agency_id, actor, case_id


def _user_agency(world: World, item: Mapping[str, Any]) -> int:
    return world.store.user(world.user_id(str(item["user"]))).agency_id


def run_data(
    store: Store,
    data: Any,
    *,
    unique: bool = False,
    load: Callable[[Store, Any, bool], World] | None = None,
) -> list[Outcome]:
    """Load the world and run every assertion and action in order.

    ``load`` builds the world (default ``World.load``): a World subclass that answers the
    assertions and carries out the actions another way (over HTTP, say) runs the same loop."""
    world = (
        load(store, data, unique) if load is not None else World.load(store, data, unique=unique)
    )
    items = data.get("assertions") or []
    outcomes: list[Outcome] = []
    parsed: list[tuple[int | None, Any, tuple[str, tuple[str, ...]] | None]] = []
    for i, item in enumerate(items):  # validate them all before running any
        line = line_of(items, i)
        if isinstance(item, str):
            try:
                kind, parts = parse_assertion(item)
                _validate(kind, parts)
            except (CaseShareError, ValueError) as exc:
                raise ScenarioError("validation_error", str(exc), line) from None
            parsed.append((line, item, (kind, parts)))
        elif isinstance(item, Mapping) and "do" in item:
            expect = item.get("expect")
            if expect is not None and expect not in CODES:
                raise ScenarioError(
                    "validation_error", f"expect: {expect!r} is not a SPEC §14 code", line
                )
            parsed.append((line, item, None))
        else:
            raise ScenarioError(
                "validation_error", "an assertion is a string or an action with do:", line
            )
    for line, item, assertion in parsed:
        if assertion is not None:
            try:
                held, got = evaluate(world, *assertion)
            except CaseShareError as exc:
                raise ScenarioError(exc.code, exc.message, line) from None
            outcomes.append(Outcome(line, str(item), held, got))
            continue
        expect = item.get("expect")
        text = f"{item.get('do')} {', '.join(f'{k}={v}' for k, v in item.items() if k != 'do')}"
        try:
            _apply(world, item)
        except CaseShareError as exc:
            if expect is None and exc.code == "validation_error" and "unknown" in exc.message:
                raise ScenarioError(exc.code, exc.message, line) from None
            ok = expect == exc.code
            outcomes.append(Outcome(line, text, ok, f"refused: {exc.code}: {exc.message}"))
            continue
        except (KeyError, TypeError, AttributeError) as exc:
            raise ScenarioError(
                "validation_error", f"action is missing a field: {exc}", line
            ) from None
        outcomes.append(Outcome(line, text, expect is None, "succeeded"))
    return outcomes


def run_file(store: Store, path: Path, *, unique: bool = False) -> list[Outcome]:
    return run_data(store, load(read_text(path)), unique=unique)
