"""The agency admin's screens: People, Structure, Sharing, and Reports and repair.

Admins only (anyone else gets the 404 page, and the 403 page for a form they post anyway).
Every handler calls the same services as the JSON API and the CLI."""

from __future__ import annotations

from fastapi import APIRouter

from caseshare.http.web.admin import (
    agreements,
    auditlog,
    devices,
    groups,
    outbox,
    people,
    reports,
    roles,
    rules,
    settings,
    structure,
)

router = APIRouter(include_in_schema=False)
for _module in (
    people,
    groups,
    roles,
    structure,
    settings,
    rules,
    reports,
    auditlog,
    devices,
    agreements,
    outbox,
):
    router.routes.extend(_module.router.routes)
