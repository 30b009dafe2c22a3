"""What every service shares: the store, the context cache and how an actor is named."""

from __future__ import annotations

from caseshare.core.engine import AgencyContext
from caseshare.core.errors import CaseShareError
from caseshare.core.model import User
from caseshare.core.principals import Principal
from caseshare.services.access import AccessService


def actor_name(actor: int | None) -> str:
    return "system" if actor is None else f"user:{actor}"


class ServiceBase(AccessService):
    """Mutations run inside ``store.transaction()`` and write their audit event there too."""

    def bump_agency(self, agency_id: int) -> None:
        self.store.bump(agency_id)

    def acting_user(self, actor: int | None, agency_id: int) -> User | None:
        """The acting user, who must be an active user of the agency (None = the system)."""
        if actor is None:
            return None
        ctx = self.context(agency_id)
        user = ctx.directory.users.get(actor)
        if user is None or not user.active:
            raise CaseShareError("not_found", "The acting user was not found in this agency.")
        return user

    def require_admin(self, actor: int | None, agency_id: int) -> None:
        user = self.acting_user(actor, agency_id)
        if user is not None and "admin" not in user.permissions:
            raise CaseShareError(
                "insufficient_access", "Only an agency admin may change this; ask an admin."
            )

    def resolve_principal(self, ctx: AgencyContext, principal: Principal | str) -> Principal:
        """A principal of the agency, else ``invalid_grantee`` (S-SHR-5)."""
        if isinstance(principal, str):
            try:
                principal = Principal.parse(principal)
            except CaseShareError as exc:
                raise CaseShareError("invalid_grantee", exc.message) from None
        ok = (
            principal.id == ctx.agency_id
            if principal.kind == "agency"
            else ctx.directory.exists(principal)
        )
        if not ok:
            raise CaseShareError(
                "invalid_grantee",
                f"{principal} is not a user, group, location or role of this agency.",
            )
        return principal
