"""Building OpenRosa forms with case blocks for the submission and restore tests."""

from __future__ import annotations

import uuid

from caseshare.core.casexml import CASE_NS, META_NS


def block(case_id: str, body: str = "", date: str = "2024-01-01T10:00:00Z") -> str:
    return f'<case xmlns="{CASE_NS}" case_id="{case_id}" date_modified="{date}">{body}</case>'


def create(case_type: str = "patient", name: str = "N", owner: str | None = None) -> str:
    owner_el = "" if owner is None else f"<owner_id>{owner}</owner_id>"
    return f"<create><case_type>{case_type}</case_type><case_name>{name}</case_name>{owner_el}</create>"


def update(**props: str) -> str:
    return "<update>" + "".join(f"<{k}>{v}</{k}>" for k, v in props.items()) + "</update>"


def index(ident: str, ref: str, relationship: str = "child", case_type: str = "patient") -> str:
    return (
        f'<index><{ident} case_type="{case_type}" relationship="{relationship}">{ref}</{ident}>'
        "</index>"
    )


def form(*blocks: str, instance: str | None = None) -> str:
    instance = instance or uuid.uuid4().hex
    return (
        '<data xmlns="http://example.org/form"><group>'
        + "".join(blocks)
        + f'</group><meta xmlns="{META_NS}"><instanceID>{instance}</instanceID></meta></data>'
    )
