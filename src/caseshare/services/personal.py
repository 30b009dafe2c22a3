"""A user's own lists (S-VIEW-1): favourite cases, recent cases and saved filters."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from caseshare.core.errors import CaseShareError
from caseshare.core.levels import Action
from caseshare.services.access import SORTS, CaseFilter
from caseshare.services.base import ServiceBase
from caseshare.services.cases import check_text
from caseshare.services.names import check_texts
from caseshare.services.recents import FLUSH_BATCH, RecentViews
from caseshare.store.contention import is_integrity_error
from caseshare.store.personal import RECENT_KEEP

FILTER_FIELDS = tuple(f.name for f in fields(CaseFilter))
MAX_FILTERS = 50
#: the three layouts of OSS-ESPA's "View cases" setting; the first is everyone's until they choose
VIEW_LAYOUTS = ("advanced", "grid", "tree")
#: each listing re-checks every favourite with the engine, so the list stays short
MAX_FAVOURITES = 200


def case_filter(raw: dict[str, Any]) -> CaseFilter:
    """A ``CaseFilter`` from its JSON form, refusing unknown fields and impossible values."""
    unknown = set(raw) - set(FILTER_FIELDS)
    if unknown:
        raise CaseShareError(
            "validation_error",
            f"Unknown filter field(s) {', '.join(sorted(unknown))}"
            f" (known: {', '.join(FILTER_FIELDS)}).",
        )
    flt = CaseFilter(**raw)
    for name in ("created_by_me", "assigned_to_me", "owned_by_me", "shared_with_me", "descending"):
        if not isinstance(getattr(flt, name), bool):
            raise CaseShareError("validation_error", f"Filter field {name} is true or false.")
    for name in ("case_type", "owner", "q"):
        value = getattr(flt, name)
        if value is not None and (not isinstance(value, str) or len(value) > 200):
            raise CaseShareError("validation_error", f"Filter field {name} is a short text.")
    if flt.status not in (None, "open", "closed"):
        raise CaseShareError("validation_error", "Filter field status is 'open' or 'closed'.")
    if flt.sort not in SORTS:
        raise CaseShareError("validation_error", f"Filter field sort is one of {', '.join(SORTS)}.")
    return flt


class PersonalService(ServiceBase):
    """Favourites and recents list only cases the user can still view (checked by the engine)."""

    def _visible_pk(self, user_id: int, case_id: str) -> int:
        ctx, _ = self.user(user_id)
        self.require(user_id, Action.VIEW, case_id, agency_id=ctx.agency_id)
        return self.case(ctx, case_id).pk

    def _still_visible(self, user_id: int, pks: list[int]) -> list[dict[str, Any]]:
        """The rows of these cases the user may still view, in the order given."""
        rows = self.visible_summaries(user_id, pks)
        return [{**rows[pk], "pk": pk} for pk in pks if pk in rows]

    def set_favourite(self, user_id: int, case_id: str, on: bool) -> None:
        pk = self._visible_pk(user_id, case_id)
        with self.store.transaction():
            if on:  # stars at once count one after the other
                self.store.lock_holder("users", user_id)
            starred = self.store.favourite_pks(user_id) if on else []
            if len(starred) >= MAX_FAVOURITES and pk not in starred:
                raise CaseShareError(
                    "validation_error",
                    f"A user stars at most {MAX_FAVOURITES} cases; unstar one first.",
                )
            self.store.set_favourite(user_id, pk, on)

    def favourites(self, user_id: int) -> list[dict[str, Any]]:
        rows = self._still_visible(user_id, self.store.favourite_pks(user_id))
        for row in rows:
            del row["pk"]
        return rows

    #: the HTTP app's buffer of case views (``services.recents``); None writes each at once
    recents: RecentViews | None = None

    def note_recent(self, user_id: int, case_pk: int) -> None:
        """Bookkeeping of a read, which never fails the read. With a buffer (the HTTP app) the
        view is only put there: nothing is written on the read's path. Without one it is
        written at once; when the database is busy, two reads deadlock on the list, or the
        case is purged meanwhile, the list stays as it was."""
        if self.recents is not None:
            self.recents.note(user_id, case_pk)
            return
        try:
            with self.store.in_passing():
                self.store.note_recent(user_id, case_pk)
        except CaseShareError:  # Busy, or a deadlock the database resolved (store.contention)
            pass
        except Exception as exc:
            if not is_integrity_error(exc):
                raise

    def flush_recents(self, limit: int = FLUSH_BATCH) -> int:
        """Write up to ``limit`` buffered views in one transaction; returns how many were
        written. A batch the database refuses (busy, a case purged meanwhile) goes back to the
        buffer, to be tried again by the next flush, and 0 is returned."""
        if self.recents is None:
            return 0
        views = self.recents.take(limit)
        if not views:
            return 0
        try:
            with self.store.in_passing():
                self.store.note_recents(views)
        except Exception as exc:
            # Busy (a lost connection too), a deadlock the database resolved, a case purged
            # between check and write: kept for the next flush. Anything else would fail every
            # flush after it: the batch (recent-case entries only) is dropped and said.
            again = isinstance(exc, CaseShareError) or is_integrity_error(exc)
            self.recents.settle(views, again=again)
            if again:
                return 0
            raise
        self.recents.settle(views, again=False)
        return len(views)

    def recent_cases(self, user_id: int) -> list[dict[str, Any]]:
        """The cases the user opened last (newest first), with when; views still in this
        process's buffer count too."""
        recent = self.store.recent_pks(user_id)
        if self.recents is not None:
            pending = self.recents.pending(user_id)
            if pending:
                merged = dict(recent)
                for pk, at in pending:
                    if at > merged.get(pk, ""):
                        merged[pk] = at
                recent = sorted(merged.items(), key=lambda v: v[1], reverse=True)[:RECENT_KEEP]
        rows = self._still_visible(user_id, [pk for pk, _ in recent])
        viewed = dict(recent)
        for row in rows:
            row["viewed_at"] = viewed[row.pop("pk")]
        return rows

    def saved_filters(self, user_id: int) -> list[dict[str, Any]]:
        return self.store.saved_filters(user_id)

    def save_filter(
        self, user_id: int, name: str, raw: dict[str, Any], *, default: bool = False
    ) -> dict[str, Any]:
        name = name.strip()
        if not name or len(name) > 100:
            raise CaseShareError("validation_error", "Give the filter a name of 1–100 characters.")
        check_text("The filter's name", name)
        flt = case_filter(raw)
        stored = {k: v for k, v in asdict(flt).items() if v != getattr(CaseFilter(), k)}
        check_texts("A saved filter's field", stored)
        with self.store.transaction():
            self.store.lock_holder("users", user_id)  # saves at once count one after the other
            existing = self.store.saved_filters(user_id)
            if len(existing) >= MAX_FILTERS and all(f["name"] != name for f in existing):
                raise CaseShareError(
                    "validation_error", f"A user keeps at most {MAX_FILTERS} saved filters."
                )
            filter_id = self.store.save_filter(user_id, name, stored, default)
        return {"id": filter_id, "name": name, "filter": stored, "default": default}

    def delete_filter(self, user_id: int, filter_id: int) -> None:
        with self.store.transaction():
            if not self.store.delete_filter(user_id, filter_id):
                raise CaseShareError("not_found", f"Saved filter {filter_id} was not found.")

    def saved_filter(self, user_id: int, filter_id: int | str) -> CaseFilter:
        """A saved filter by id, or the user's default one for ``"default"``."""
        for f in self.store.saved_filters(user_id):
            if str(f["id"]) == str(filter_id) or (filter_id == "default" and f["default"]):
                return case_filter(f["filter"])
        if filter_id == "default":
            return CaseFilter()
        raise CaseShareError("not_found", f"Saved filter {filter_id} was not found.")

    def view_layout(self, user_id: int) -> str:
        """The user's "View cases" setting: which screen the main menu's View cases opens."""
        return self.store.view_layout(user_id) or VIEW_LAYOUTS[0]

    def set_view_layout(self, user_id: int, layout: str) -> None:
        if layout not in VIEW_LAYOUTS:
            raise CaseShareError(
                "validation_error",
                f"The View cases setting is one of {', '.join(VIEW_LAYOUTS)}, not {layout!r}.",
            )
        self.user(user_id)  # a user that exists
        with self.store.transaction():
            self.store.set_view_layout(user_id, layout)
