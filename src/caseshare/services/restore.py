"""Device restores (SPEC §9): the live set, sync tokens and incremental restores."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from caseshare.core.engine import AgencyContext
from caseshare.core.errors import CaseShareError
from caseshare.core.principals import Principal
from caseshare.core.restore import Restore, RestoreCase, state_hash_matches
from caseshare.services.base import ServiceBase
from caseshare.store.base import utcnow
from caseshare.store.synclogs import DeviceEntry


class RestoreService(ServiceBase):
    """restore: what a field device of a user holds, in full or since its last sync token."""

    def restore(
        self, user_id: int, *, since: str | None = None, device_hash: str | None = None
    ) -> Restore:
        """S-SYNC-1/S-SYNC-2. ``since`` is the device's last restore id and ``device_hash`` its
        ``ccsh:`` case state hash; an unknown token or a mismatch is ``stale_sync_token`` (HTTP
        412): the device restores in full. Every restore records a new token."""
        agency_id = self.user(user_id)[0].agency_id
        with self.store.transaction():
            self.store.lock_case_transactions(agency_id)
            # who the user is, read under the lock: a membership or deactivation committed
            # while the restore waited is in force (S-OWN-2, S-ACC-4)
            ctx, user = self.user(user_id)
            if not user.active:
                raise CaseShareError("not_found", f"User {user_id} was not found.")
            owners = {str(p) for p in ctx.directory.owner_ids(user.id)}
            live = self.live_case_ids(user.id)
            send, left = set(live), set[str]()
            known: Mapping[str, DeviceEntry] = {}
            if since is not None:
                log = self.store.sync_log(since)
                if log is None or log.user_id != user.id or log.agency_id != agency_id:
                    raise CaseShareError(
                        "stale_sync_token",
                        f"Sync token {since!r} is not known for this user; restore in full"
                        " (without a token).",
                    )
                if device_hash is not None and not state_hash_matches(device_hash, log.case_ids):
                    raise CaseShareError(
                        "stale_sync_token",
                        "The device's cases do not match what the server sent it (state hash"
                        f" {device_hash!r}); restore in full (without a token).",
                    )
                send = (live - log.case_ids) | (self.store.changed_since(log) & live)
                left = set(log.case_ids - live)
                known = log.device or {}
            states = self.store.case_states(agency_id, sorted(send))
            # what the device knows after this restore: what was sent now, and for the rest
            # what it knew before (a log from before migration 8 knows nothing: read it now)
            unknown = sorted(c for c in live if c not in states and c not in known)
            states_known = {**states, **self.store.case_states(agency_id, unknown)}
            device = {
                c: known[c] if c not in states_known else _device_case(states_known[c])
                for c in live
                if c in known or c in states_known
            }
            token = uuid.uuid4().hex
            self.store.create_sync_log(
                token,
                agency_id,
                user.id,
                since,
                self.store.transaction_watermark(agency_id),
                device,
                owners,
            )
        # a case that left the scope (transferred, deleted, purged …) is sent as a bare close:
        # none of its current data, which the user may no longer be allowed to see
        return Restore(
            token=token,
            username=user.username,
            user_id=str(user.principal),
            groups=[
                (str(p), _owner_name(ctx, p)) for p in sorted(ctx.directory.owner_ids(user.id))
            ],
            cases=[c for c in (_restore_case(c, states.get(c)) for c in sorted(send)) if c],
            gone=sorted(left),
            incremental=since is not None,
            date=utcnow()[:10],
            case_ids=frozenset(device),
        )


def _device_case(found: tuple[int, dict[str, Any], list[tuple[str, str, str, str]]]) -> DeviceEntry:
    """What a device knows of a case the server sends it (``store.synclogs.DeviceEntry``)."""
    _, c, indices = found
    return [bool(c["closed"]), c["owner"], {i: [ref, rel] for i, ref, _, rel in indices}]


def _restore_case(
    case_id: str, found: tuple[int, dict[str, Any], list[tuple[str, str, str, str]]] | None
) -> RestoreCase | None:
    if found is None:
        return None
    _, c, indices = found
    return RestoreCase(
        case_id=case_id,
        case_type=c["case_type"],
        name=c["name"],
        owner_id=c["owner"],
        external_id=c["external_id"],
        closed=c["closed"],
        date_modified=c["modified_on"],
        user_id="" if c["modified_by"] is None else f"user:{c['modified_by']}",
        properties=c["properties"],
        indices=indices,
        opened_on=c["opened_on"] or "",
    )


def _owner_name(ctx: AgencyContext, principal: Principal) -> str:
    directory = ctx.directory
    if principal.kind == "user":
        return directory.users[principal.id].username
    if principal.kind == "group":
        return directory.groups[principal.id].name
    return directory.locations[principal.id].name
