"""Why a grant reaches a user, in words (S-ACC-6): the engine's path read back into its parts.

The engine writes each grant's path in one canonical text, such as
``owner → group:7 → group:2 ∋ user:5`` or ``hierarchy → role:1 above role:3 of user:5 (owner)``.
``read_why`` reads it back into a ``Why``; ``Why.words`` says it with names — "Owner: member of
Nurses (group), which is in Everyone North (group)" — and ``Why.key`` tells which grant on the
case (the owner, one share, one rule …) it comes from, so a case's grants can be listed once
each, as Salesforce's sharing detail lists them. The path stays the record: a path this module
cannot read is said with names put in (``named_text``), never dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from caseshare.core.levels import Cause
from caseshare.core.naming import Namer, named_text
from caseshare.core.principals import Principal

#: what the reason column says for each row cause
REASONS = {
    Cause.OWNER.value: "Owner",
    Cause.HIERARCHY.value: "Role hierarchy",
    Cause.ASSIGNED.value: "Assigned",
    Cause.MANUAL.value: "Manual share",
    Cause.TEAM.value: "Case team",
    Cause.RULE.value: "Sharing rule",
    Cause.DEFAULT.value: "Default access",
    Cause.PERMISSION.value: "Permission",
    Cause.IMPLICIT_CHILD.value: "Parent case",
    Cause.IMPLICIT_PARENT.value: "Child case",
    Cause.SYNC.value: "Device sync",
    Cause.AGENCY_SHARE.value: "Agency share",
}
#: the grant a manager stands above (hierarchy), said of the person named in it
SOURCE_WORDS = {
    Cause.OWNER.value: "who owns the case",
    Cause.ASSIGNED.value: "who is assigned to it",
    Cause.MANUAL.value: "who has a manual share",
    Cause.TEAM.value: "who is in its case team",
}
PERMISSION_WORDS = {
    "admin": "agency admin",
    "modify_all": "modify all cases",
    "view_all": "view all cases",
}
PERMISSION_WHOM = {
    "admin": "Agency admins",
    "modify_all": "People who modify all cases",
    "view_all": "People who view all cases",
}
DEFAULT_WORDS = {"read": "read", "edit": "edit", "transfer": "edit and transfer"}

_P = r"(user|group|location|role_tree|role|agency):(\d+)"
_ONE = re.compile(rf"^{_P}$")
_DESCENDANT = re.compile(r"^location:(\d+) ⊂ location:(\d+) \(view descendants\)$")
_ROLE_TREE = re.compile(r"^role_tree:(\d+) ⊇ role:(\d+)$")
_ABOVE = re.compile(r"^role:(\d+) above role:(\d+) of user:(\d+) \((\w+)\)$")
_AGENCY_SHARE = re.compile(
    r"^agency_share → agency_share:(\d+) → (?:(receiving user):\d+|unit .+)$"
)
_DEFAULT = re.compile(r"^(\w+) for case type (.+) ∋ user:(\d+)$")
_RULE = re.compile(r"^rule ('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\") → (.+)$")
_SYNC = re.compile(r"^case:(.*?) \((owner → .*?)\)((?: → (?:parent|host|extension) case:.*?)*)$")
_SYNC_STEP = re.compile(r" → (parent|host|extension) case:")
#: how each step of a sync route is said: "its parent k1", "its extension k3"
SYNC_STEP_WORDS = {"parent": "its parent", "host": "its host", "extension": "its extension"}
_IMPLICIT = re.compile(
    r"^(parent|child) case:(.*?) \(((?:owner|hierarchy|assigned|manual|team|rule|agency_share)"
    r"\b.*)\)$"
)


@dataclass(frozen=True)
class Membership:
    """How a principal reaches the user: ``chain`` runs from the principal the grant names
    down to what holds the user directly (empty: the grant names the user)."""

    chain: tuple[Principal, ...]
    user: Principal
    #: a location seen from the location above it whose type views descendants
    descendant: bool = False

    @property
    def grantee(self) -> Principal:
        return self.chain[0] if self.chain else self.user

    def words(self, name: Namer) -> str:
        """ "" for the user themself, else how they belong: "member of Nurses (group)" …"""
        if not self.chain:
            return ""
        top = self.chain[0]
        if self.descendant:
            below, at = self.chain
            return f"assigned to {name(at)}, which sees {name(below)} below it"
        if top.kind == "group":
            inner = [name(p) for p in reversed(self.chain)]
            return "member of " + ", which is in ".join(inner)
        if top.kind == "location":
            return f"assigned to {name(top)}"
        if top.kind == "role":
            return f"holds the role {_bare(name(top))}"
        if top.kind == "role_tree":
            own = _bare(name(Principal("role", self.chain[-1].id)))
            if self.chain[-1].id == top.id:
                return f"holds the role {own}"
            return f"holds the role {own}, below {_bare(name(Principal('role', top.id)))}"
        return name(top)  # the agency: "everyone in …"


def read_membership(text: str) -> Membership | None:
    """A path from a principal down to a user (``Directory.principals_of`` / ``owner_ids``)."""
    head, sep, tail = text.rpartition(" ∋ ")
    found = _ONE.match(tail.strip() if sep else text.strip())
    if found is None or found[1] != "user":
        return None
    user = Principal("user", int(found[2]))
    if not sep:
        return Membership((), user)
    descendant = _DESCENDANT.match(head)
    if descendant:
        return Membership(
            (Principal("location", int(descendant[1])), Principal("location", int(descendant[2]))),
            user,
            descendant=True,
        )
    tree = _ROLE_TREE.match(head)
    if tree:
        return Membership(
            (Principal("role_tree", int(tree[1])), Principal("role", int(tree[2]))), user
        )
    chain = []
    for part in head.split(" → "):
        one = _ONE.match(part.strip())
        if one is None:
            return None
        chain.append(Principal(one[1], int(one[2])))
    return Membership(tuple(chain), user)


@dataclass(frozen=True)
class Why:
    """One grant's path, read back: what it names and how it reaches the user."""

    cause: str
    path: str
    member: Membership | None = None
    rule: str = ""
    #: hierarchy: the manager's role, the role and user they stand above, and that user's cause
    above: tuple[Principal, Principal, Principal, str] | None = None
    default: tuple[str, str] = ("", "")  # default access: (private/read/edit/transfer, case type)
    permission: str = ""
    related_case: str = ""  # implicit: the parent or child case the access comes through
    inner: Why | None = None
    #: sync: the steps from the owned case (``related_case``) to this one, e.g. ("parent", "k1")
    route: tuple[tuple[str, str], ...] = ()

    @classmethod
    def naming(cls, cause: str, grantee: Principal) -> Why:
        """A stored grant that reaches no user today (a share with an empty group)."""
        member = Membership((grantee,) if grantee.kind != "user" else (), grantee)
        return cls(cause, f"{cause} → {grantee}", member)

    @property
    def reason(self) -> str:
        return REASONS.get(self.cause, self.cause.replace("_", " ").capitalize())

    @property
    def grantee(self) -> Principal | None:
        """The principal the grant names (the owner, a share's grantee, a rule's grantee)."""
        return self.member.grantee if self.member is not None else None

    def key(self) -> tuple[str, str]:
        """Which grant of the case this is: the same for every user it reaches."""
        if self.above is not None:
            return (self.cause, f"{self.above[2]} {self.above[3]}")
        if self.cause == Cause.RULE.value:
            return (self.cause, f"{self.rule} {self.grantee}")
        if self.member is not None:
            return (self.cause, str(self.grantee))
        if self.related_case:
            return (self.cause, self.related_case)
        if self.permission:
            return (self.cause, self.permission)
        return (self.cause, "")

    def whom(self, name: Namer) -> str:
        """Whom the grant names, for a list of a case's grants: "Nurses (group)", "Managers
        above Will Worker", "Agency admins" …"""
        if self.member is not None:
            return name(self.member.grantee)
        if self.above is not None:
            return f"Managers above {name(self.above[2])}"
        if self.cause == Cause.DEFAULT.value:
            return "Everyone in the agency"
        if self.permission:
            return PERMISSION_WHOM.get(self.permission, f"People with {self.permission}")
        if self.cause == Cause.SYNC.value and self.related_case:
            return f"Devices holding case {self.related_case}"
        if self.related_case:
            which = "parent" if self.cause == Cause.IMPLICIT_CHILD.value else "child"
            return f"People with access to the {which} case {self.related_case}"
        return self.reason

    def detail(self, name: Namer) -> str:
        """What the reason column leaves unsaid: the rule's name, whom a manager is above …"""
        if self.cause == Cause.OWNER.value:
            return (
                "owns the case; its members work it"
                if self.member and self.member.chain
                else "owns the case"
            )
        if self.cause == Cause.RULE.value:
            return f"“{self.rule}”"
        if self.above is not None:
            _, role, user, source = self.above
            said = SOURCE_WORDS.get(source, f"({source})")
            return f"above {name(user)} ({_bare(name(role))}), {said}"
        if self.cause == Cause.DEFAULT.value and self.default[0]:
            level = DEFAULT_WORDS.get(self.default[0], self.default[0])
            return f"{level} on every {self.default[1]} case"
        if self.cause == Cause.SYNC.value and self.related_case:
            return "a device that holds the case also holds this one (read)"
        if self.related_case:
            which = "parent" if self.cause == Cause.IMPLICIT_CHILD.value else "child"
            return f"a grant on the {which} case reaches this one"
        return ""

    def words(self, name: Namer, by: str = "", team_role: str = "") -> str:
        """The reason and the path as one sentence, e.g. "Manual share by Wendy Worker: member
        of Nurses (group)"; ``by`` names who made a stored grant and ``team_role`` a case team
        member's role, when known."""
        made = (f" as {team_role}" if team_role else "") + (f", added by {by}" if by else "")
        if self.cause != Cause.TEAM.value:
            made = f" by {by}" if by else ""
        how = self.member.words(name) if self.member is not None else ""
        cause = self.cause
        if cause == Cause.OWNER.value:
            return f"Owner: {how}" if how else "Owner: owns the case"
        if cause in (Cause.MANUAL.value, Cause.ASSIGNED.value, Cause.TEAM.value):
            return f"{self.reason}{made}" + (f": {how}" if how else "")
        if cause == Cause.RULE.value:
            return f"Sharing rule “{self.rule}”" + (f": {how}" if how else "")
        if self.above is not None:
            manager, role, user, source = self.above
            said = SOURCE_WORDS.get(source, f"({source})")
            return (
                f"Role hierarchy: as {_bare(name(manager))}, above {name(user)}"
                f" ({_bare(name(role))}), {said}"
            )
        if cause == Cause.DEFAULT.value and self.default[0]:
            level = DEFAULT_WORDS.get(self.default[0], self.default[0])
            return f"Default access: everyone has {level} on {self.default[1]} cases"
        if cause == Cause.PERMISSION.value and self.permission:
            return f"Permission: {PERMISSION_WORDS.get(self.permission, self.permission)}"
        if cause == Cause.SYNC.value and self.inner is not None:
            steps = "".join(f", {SYNC_STEP_WORDS[how]} {case}" for how, case in self.route)
            return (
                f"{self.reason}: their device holds case {self.related_case}"
                f" ({self.inner.words(name)}){steps}"
            )
        if self.inner is not None:
            return f"{self.reason} {self.related_case} — {self.inner.words(name)}"
        sent = _AGENCY_SHARE.match(self.path) if cause == Cause.AGENCY_SHARE.value else None
        if sent is not None:
            whom = "the receiving user" if sent[2] else "a member of a field unit it was sent to"
            return f"Agency share {sent[1]}: {whom} at the receiving agency"
        return f"{self.reason}: {named_text(self.path, name)}"


def read_why(cause: str, path: str) -> Why:
    """The parts of one grant's path as ``core.engine`` writes it; what cannot be read keeps
    only its cause and path (and is said with names put in)."""
    head, sep, rest = path.partition(" → ")
    if not sep:
        return Why(cause, path)
    if cause == Cause.RULE.value:
        rule = _RULE.match(path)
        member = read_membership(rule[2]) if rule else None
        if rule is None or member is None:
            return Why(cause, path)
        return Why(cause, path, member, rule=_unquote(rule[1]))
    if head != cause:
        return Why(cause, path)
    if cause == Cause.HIERARCHY.value:
        above = _ABOVE.match(rest)
        if above is None:
            return Why(cause, path)
        return Why(
            cause,
            path,
            above=(
                Principal("role", int(above[1])),
                Principal("role", int(above[2])),
                Principal("user", int(above[3])),
                above[4],
            ),
        )
    if cause == Cause.DEFAULT.value:
        default = _DEFAULT.match(rest)
        if default is None:
            return Why(cause, path)
        return Why(cause, path, default=(default[1], _unquote(default[2])))
    if cause == Cause.PERMISSION.value:
        return Why(cause, path, permission=rest.strip())
    if cause in (Cause.IMPLICIT_CHILD.value, Cause.IMPLICIT_PARENT.value):
        implicit = _IMPLICIT.match(rest)
        if implicit is None:
            return Why(cause, path)
        inner_cause = implicit[3].partition(" → ")[0]
        inner_cause = "rule" if inner_cause.startswith("rule ") else inner_cause
        return Why(cause, path, related_case=implicit[2], inner=read_why(inner_cause, implicit[3]))
    if cause == Cause.SYNC.value:
        synced = _SYNC.match(rest)
        if synced is None:
            return Why(cause, path)
        pieces = _SYNC_STEP.split(synced[3])[1:]  # how, case, how, case …
        route = tuple(zip(pieces[0::2], pieces[1::2], strict=True))
        return Why(
            cause,
            path,
            related_case=synced[1],
            inner=read_why(Cause.OWNER.value, synced[2]),
            route=route,
        )
    member = read_membership(rest)
    return Why(cause, path, member) if member is not None else Why(cause, path)


def _bare(role_name: str) -> str:
    return role_name.removesuffix(" (role)")


def _unquote(text: str) -> str:
    """A name as Python's repr() quoted it in the path."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        body = text[1:-1]
        return body.replace("\\'", "'").replace('\\"', '"').replace("\\\\", "\\")
    return text
