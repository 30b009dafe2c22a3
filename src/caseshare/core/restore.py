"""A device restore (S-SYNC-1…3) as OpenRosa XML and as JSON, and the CommCare case state hash."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from xml.etree.ElementTree import Element, SubElement, tostring

from caseshare.core.casexml import CASE_NS

RESPONSE_NS: Final = "http://openrosa.org/http/response"
SYNC_NS: Final = "http://commcarehq.org/sync"
REGISTRATION_NS: Final = "http://openrosa.org/user/registration"
HASH_PREFIX: Final = "ccsh:"
#: update keys a CommCare device reads as the case's own fields, not as properties; a restore
#: writes them from the case's columns only (the sharing API refuses them as property names)
RESERVED_PROPERTIES: Final = frozenset(
    {
        "case_id",
        "case_type",
        "case_name",
        "owner_id",
        "external_id",
        "date_opened",
        "date_modified",
        "user_id",
    }
)
#: restore keys written from the case's columns: a stored property of that name never overrides
_COLUMN_KEYS: Final = frozenset(
    {"case_id", "case_type", "case_name", "owner_id", "external_id", "date_opened"}
)
# an XML name without a colon (a property is one element of <update>); letters and digits
# below U+00C0 other than ASCII ones are not name characters
_XML_NAME: Final = re.compile(r"(?![\u0080-\u00bf])[^\W\d](?:(?![\u0080-\u00bf])[\w.\-])*")
# characters XML 1.0 does not allow at all
_NOT_XML_CHAR: Final = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def is_xml_name(name: str) -> bool:
    """Whether ``name`` can be an element name of a case block (an XML name, no colon)."""
    return _XML_NAME.fullmatch(name) is not None


def has_invalid_xml_chars(text: str) -> bool:
    """Whether ``text`` holds a character XML 1.0 cannot carry (control characters …)."""
    return _NOT_XML_CHAR.search(text) is not None


def _xml_text(text: str) -> str:
    return _NOT_XML_CHAR.sub("", text)


def state_hash(case_ids: Iterable[str]) -> str:
    """CommCare's case state hash: ``ccsh:`` and the XOR of the MD5 digests of the case ids.

    No cases hash to the empty digest, ``ccsh:`` alone, as CommCare HQ's ``Checksum`` gives
    (``EMPTY_HASH = ""``) and so as a device holding nothing sends it.
    """
    ids = set(case_ids)
    if not ids:
        return HASH_PREFIX
    acc = 0
    for case_id in ids:
        acc ^= int.from_bytes(hashlib.md5(case_id.encode("utf-8")).digest(), "big")
    return HASH_PREFIX + acc.to_bytes(16, "big").hex()


def state_hash_matches(device_hash: str, case_ids: Iterable[str]) -> bool:
    """Whether a device's ``ccsh:`` hash is the hash of ``case_ids`` (S-SYNC-2).

    Read as CommCare HQ reads it (``CaseStateHash.parse``): the prefix in any case, then the
    digest, here in lower case. For no cases both the empty digest (CommCare's) and 32 zeros
    (the XOR of nothing, which restores of ours sent before) match.
    """
    if device_hash[: len(HASH_PREFIX)].lower() != HASH_PREFIX:
        return False
    digest = device_hash[len(HASH_PREFIX) :].strip().lower()
    expected = state_hash(case_ids)[len(HASH_PREFIX) :]
    if not expected:
        return digest in ("", "0" * 32)
    return digest == expected


@dataclass(frozen=True)
class RestoreCase:
    case_id: str
    case_type: str
    name: str
    owner_id: str
    external_id: str
    closed: bool
    date_modified: str
    user_id: str
    properties: Mapping[str, str]
    #: (identifier, referenced case id, referenced case type, relationship)
    indices: Sequence[tuple[str, str, str, str]] = ()
    #: when the case was opened (the store's UTC text); sent as ``date_opened``, a date
    opened_on: str = ""


@dataclass(frozen=True)
class Restore:
    token: str
    username: str
    user_id: str
    #: (owner id, name) for the ``user-groups`` fixture
    groups: Sequence[tuple[str, str]]
    cases: Sequence[RestoreCase]
    #: cases the device held that left its scope: sent as a bare close like ``gone``, never
    #: with their data (kept for callers that build a Restore by hand)
    removed: Sequence[RestoreCase] = ()
    #: ids of cases the device held that left its scope or no longer exist (incremental
    #: restores only): sent as a bare close, so the device drops them
    gone: Sequence[str] = ()
    incremental: bool = False
    date: str = ""
    case_ids: frozenset[str] = field(default_factory=frozenset)


def _case_element(parent: Element, case: RestoreCase) -> None:
    el = SubElement(
        parent,
        "case",
        {
            "xmlns": CASE_NS,
            "case_id": _xml_text(case.case_id),
            "date_modified": _xml_text(case.date_modified),
            "user_id": _xml_text(case.user_id),
        },
    )
    create = SubElement(el, "create")
    for tag, value in (
        ("case_type", case.case_type),
        ("case_name", case.name),
        ("owner_id", case.owner_id),
    ):
        SubElement(create, tag).text = _xml_text(value)
    # as CommCare HQ sends it: <update> holds external_id, date_opened, then the properties. A
    # property that would override one of the case's own fields, or whose name cannot be an
    # element, is left out: the restore stays well-formed and the device gets the real fields
    own = [("external_id", case.external_id), ("date_opened", case.opened_on[:10])]
    props = sorted(
        (key, value)
        for key, value in case.properties.items()
        if key not in _COLUMN_KEYS and is_xml_name(key)
    )
    fields = [(k, v) for k, v in own if v] + props
    if fields:
        update = SubElement(el, "update")
        for key, value in fields:
            SubElement(update, key).text = _xml_text(value)
    if case.closed:
        SubElement(el, "close")
    if case.indices:
        index = SubElement(el, "index")
        for identifier, ref, ref_type, relationship in case.indices:
            if not is_xml_name(identifier):
                continue
            attrs = {"case_type": _xml_text(ref_type)}
            if relationship != "child":
                attrs["relationship"] = _xml_text(relationship)
            SubElement(index, identifier, attrs).text = _xml_text(ref)


def _removed_element(parent: Element, case_id: str, date: str) -> None:
    el = SubElement(
        parent, "case", {"xmlns": CASE_NS, "case_id": _xml_text(case_id), "date_modified": date}
    )
    SubElement(el, "close")


def to_xml(restore: Restore) -> str:
    """The OpenRosa restore payload a CommCare device reads."""
    root = Element("OpenRosaResponse", {"xmlns": RESPONSE_NS})
    SubElement(root, "message", {"nature": "ota_restore_success"}).text = _xml_text(
        f"Successfully restored account {restore.username}!"
    )
    sync = SubElement(root, "Sync", {"xmlns": SYNC_NS})
    SubElement(sync, "restore_id").text = restore.token
    reg = SubElement(root, "Registration", {"xmlns": REGISTRATION_NS})
    SubElement(reg, "username").text = _xml_text(restore.username)
    SubElement(reg, "uuid").text = restore.user_id
    SubElement(reg, "date").text = restore.date
    fixture = SubElement(root, "fixture", {"id": "user-groups", "user_id": restore.user_id})
    groups = SubElement(fixture, "groups")
    for owner_id, name in restore.groups:
        SubElement(SubElement(groups, "group", {"id": owner_id}), "name").text = _xml_text(name)
    for case in restore.cases:
        _case_element(root, case)
    for case_id in sorted({*(c.case_id for c in restore.removed), *restore.gone}):
        _removed_element(root, case_id, restore.date)
    return tostring(root, encoding="unicode")


def to_json(restore: Restore) -> dict[str, Any]:
    """The same restore as plain data."""
    return {
        "removed": sorted({*(c.case_id for c in restore.removed), *restore.gone}),
        "restore_id": restore.token,
        "incremental": restore.incremental,
        "user": {"id": restore.user_id, "username": restore.username},
        "owner_ids": [{"id": o, "name": n} for o, n in restore.groups],
        "cases": [
            {
                "case_id": c.case_id,
                "case_type": c.case_type,
                "case_name": c.name,
                "owner_id": c.owner_id,
                "external_id": c.external_id,
                "closed": c.closed,
                "date_modified": c.date_modified,
                "date_opened": c.opened_on[:10],
                "user_id": c.user_id,
                "properties": dict(c.properties),
                "indices": {
                    ident: {"case_id": ref, "case_type": t, "relationship": rel}
                    for ident, ref, t, rel in c.indices
                },
            }
            for c in restore.cases
        ],
        "state_hash": state_hash(restore.case_ids),
    }


def dumps(restore: Restore) -> str:
    return json.dumps(to_json(restore), indent=2, sort_keys=True)
