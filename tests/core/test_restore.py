"""Restore rendering (S-SYNC-2, S-SYNC-3): the case state hash and the XML a device reads."""

from __future__ import annotations

import hashlib

from caseshare.core.casestate import apply_blocks
from caseshare.core.casexml import parse_submission
from caseshare.core.restore import (
    Restore,
    RestoreCase,
    state_hash,
    state_hash_matches,
    to_json,
    to_xml,
)


def test_state_hash_is_the_xor_of_md5s() -> None:
    assert state_hash([]) == "ccsh:"  # CommCare HQ's EMPTY_HASH
    assert state_hash(["a"]) == "ccsh:" + hashlib.md5(b"a").hexdigest()
    assert state_hash(["a", "b"]) == state_hash(["b", "a", "a"])
    both = int(state_hash(["a", "b"])[5:], 16)
    assert both == int(state_hash(["a"])[5:], 16) ^ int(state_hash(["b"])[5:], 16)


def test_hq_state_hash_vectors_and_how_a_device_hash_is_read() -> None:
    """CommCare HQ's ``Checksum`` doctests: ``abc123`` and ``123abc`` hash to 409c5c59…, no
    cases to the empty digest. A device's hash is read as HQ's ``CaseStateHash.parse`` reads
    it; for no cases the 32 zeros we sent before still match."""
    assert state_hash(["abc123", "123abc"]) == "ccsh:409c5c597fa2c2a693b769f0d2ad432b"
    assert state_hash_matches("ccsh:409c5c597fa2c2a693b769f0d2ad432b", ["123abc", "abc123"])
    assert state_hash_matches("CCSH:409C5C597FA2C2A693B769F0D2AD432B", ["123abc", "abc123"])
    assert not state_hash_matches("409c5c597fa2c2a693b769f0d2ad432b", ["123abc", "abc123"])
    assert not state_hash_matches("ccsh:thisisntright", ["abc123"])
    assert state_hash_matches("ccsh:", []) and state_hash_matches("ccsh:" + "0" * 32, [])
    assert not state_hash_matches("ccsh:", ["abc123"])
    assert not state_hash_matches("ccsh:" + "0" * 32, ["abc123"])
    assert not state_hash_matches("ccsh:" + hashlib.md5(b"x").hexdigest(), [])


def test_restore_xml_parses_back_into_the_same_cases() -> None:
    host = RestoreCase(
        "h",
        "house",
        "Home",
        "group:1",
        "ext-1",
        True,
        "2024-01-01T00:00:00.000000Z",
        "user:2",
        {"p": "1"},
    )
    kid = RestoreCase(
        "k",
        "person",
        "Kid",
        "user:2",
        "",
        False,
        "2024-01-02T00:00:00Z",
        "user:2",
        {},
        [("parent", "h", "house", "child"), ("host", "h", "house", "extension")],
    )
    restore = Restore("tok", "nina", "user:2", [("group:1", "Nurses")], [host, kid], gone=["x"])
    states = apply_blocks(parse_submission(to_xml(restore)).blocks)
    assert states["h"].closed and states["h"].external_id == "ext-1"
    assert dict(states["h"].properties) == {"p": "1"} and states["h"].owner_id == "group:1"
    assert {k: v.relationship for k, v in states["k"].indices.items()} == {
        "parent": "child",
        "host": "extension",
    }
    assert states["x"].closed
    data = to_json(restore)
    assert [c["case_id"] for c in data["cases"]] == ["h", "k"] and data["removed"] == ["x"]


def test_hq_a_a_restore_case_carries_update_with_date_opened_and_the_properties() -> None:
    """As CommCare HQ's V2 generator: <update> holds external_id, date_opened (a date), then the
    properties; a stored property named date_opened never overrides the case's own."""
    from datetime import UTC, datetime

    from defusedxml.ElementTree import fromstring

    from caseshare.core.casexml import CASE_NS

    case = RestoreCase(
        "c",
        "person",
        "Ann",
        "user:2",
        "ext-9",
        False,
        "2024-03-05T10:00:00.000000Z",
        "user:2",
        {"b": "2", "a": "1", "date_opened": "1999-01-01"},
        opened_on="2024-03-04T09:30:00.000000Z",
    )
    bare = RestoreCase(
        "d",
        "person",
        "Bo",
        "user:2",
        "",
        False,
        "2024-03-05",
        "user:2",
        {},
        opened_on="2024-03-01T00:00:00.000000Z",
    )
    xml = to_xml(Restore("tok", "nina", "user:2", [], [case, bare]))
    root = fromstring(xml)
    updates = {
        el.get("case_id"): [
            (child.tag.split("}")[1], child.text) for child in el.find(f"{{{CASE_NS}}}update")
        ]
        for el in root.iter(f"{{{CASE_NS}}}case")
    }
    assert updates["c"] == [
        ("external_id", "ext-9"),
        ("date_opened", "2024-03-04"),
        ("a", "1"),
        ("b", "2"),
    ]
    assert updates["d"] == [("date_opened", "2024-03-01")]
    states = apply_blocks(parse_submission(xml).blocks)
    assert states["c"].opened_on == datetime(2024, 3, 4, tzinfo=UTC)
    assert dict(states["c"].properties) == {"a": "1", "b": "2"}
    assert (
        to_json(Restore("tok", "nina", "user:2", [], [case]))["cases"][0]["date_opened"]
        == "2024-03-04"
    )
