"""Case XML v2 parsing (S-TX-1, S-TX-5, §8.4) against CommCare's fixtures, and hostile XML."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from defusedxml.ElementTree import fromstring

from caseshare.core.casestate import CaseState, apply_blocks
from caseshare.core.casexml import (
    CASE_NS,
    MAX_BYTES,
    CaseBlock,
    IndexAction,
    parse_case_blocks,
    parse_client_datetime,
    parse_submission,
)
from caseshare.core.errors import CaseShareError

ROOT = Path(__file__).resolve().parents[2]
COMMCARE = ROOT.parent / "shared" / "conformance" / "commcare"
REJECTED = sorted((COMMCARE / "case_parse").glob("*.xml"))
CREATES = sorted(p for p in COMMCARE.glob("case_create_*.xml") if not p.stem.endswith("_output"))
WITH_OUTPUT = [p for p in CREATES if p.with_name(f"{p.stem}_output.xml").exists()]


def block(body: str, attrs: str = 'case_id="c1" user_id="u1"') -> str:
    return f'<case xmlns="{CASE_NS}" {attrs}>{body}</case>'


def form(*blocks: str, meta: str = "") -> str:
    return (
        '<data xmlns="http://example.org/form" xmlns:jrm="http://openrosa.org/jr/xforms">'
        f"{''.join(blocks)}{meta}</data>"
    )


def refused(data: str | bytes, **kwargs: int) -> CaseShareError:
    with pytest.raises(CaseShareError) as info:
        parse_submission(data, **kwargs)
    return info.value


# --- CommCare's fixtures -------------------------------------------------------------------------

#: fixture -> (code, field, words the message must contain)
EXPECTED_REJECTIONS = {
    "broken_self_index.xml": ("invalid_index", "index/broken", ["valid_case_id", "itself"]),
    # The fixture is named for its over-long case_name, but its case_id is also empty, and the
    # case_id is what CommCare (and we) reject first; the length rule is tested just below.
    "case_create_broken_length.xml": ("invalid_case_block", "case_id", ["case_id"]),
    "case_create_broken_no_caseid.xml": ("invalid_case_block", "case_id", ["case_id"]),
    "empty_relationship.xml": (
        "invalid_index",
        "index/broken/@relationship",
        ["second_case_id", "empty relationship"],
    ),
    "no_name.xml": ("invalid_case_block", "create/case_name", ["no_name", "case_name"]),
}


def test_every_rejection_fixture_has_an_expectation() -> None:
    assert {p.name for p in REJECTED} == set(EXPECTED_REJECTIONS)


@pytest.mark.parametrize("path", REJECTED, ids=[p.name for p in REJECTED])
def test_s_tx_5_commcare_rejections(path: Path) -> None:
    code, field, words = EXPECTED_REJECTIONS[path.name]
    error = refused(path.read_bytes())
    assert error.code == code
    assert error.details["field"] == field
    for word in words:
        assert word in error.message


def test_s_tx_5_over_long_case_name_fixture_with_a_case_id() -> None:
    text = (COMMCARE / "case_parse" / "case_create_broken_length.xml").read_text(encoding="utf-8")
    error = refused(text.replace('case_id=""', 'case_id="long_name"'))
    assert error.code == "invalid_case_block"
    assert error.details == {"case_id": "long_name", "block": 1, "field": "create/case_name"}
    assert "'long_name'" in error.message and "case_name" in error.message
    assert "255" in error.message


@pytest.mark.parametrize("path", CREATES, ids=[p.name for p in CREATES])
def test_commcare_create_fixtures_parse(path: Path) -> None:
    blocks = parse_case_blocks(path.read_bytes())
    assert blocks
    assert all(b.create is not None for b in blocks)
    assert blocks[0].date_modified == datetime(2014, 8, 4, 21, 9, 7, tzinfo=UTC)


def expected_cases(path: Path) -> dict[str, dict[str, object]]:
    """The device's casedb after the restore, as plain values."""
    skip = {"case_name", "date_opened", "last_modified", "userid", "index", "attachment"}
    out: dict[str, dict[str, object]] = {}
    for el in fromstring(path.read_bytes()).iter("case"):
        out[el.get("case_id", "")] = {
            "case_type": el.get("case_type"),
            "status": el.get("status"),
            "owner_id": el.get("owner_id"),
            "case_name": el.findtext("case_name"),
            "date_opened": el.findtext("date_opened"),
            "last_modified": el.findtext("last_modified"),
            "properties": {c.tag: (c.text or "") for c in el if c.tag not in skip},
            "indices": {c.tag: c.text for c in el.find("index") or []},
            "attachments": [c.tag for c in el.find("attachment") or []],
        }
    return out


def actual(state: CaseState) -> dict[str, object]:
    assert state.opened_on is not None and state.modified_on is not None
    return {
        "case_type": state.case_type,
        "status": "closed" if state.closed else "open",
        "owner_id": state.owner_id,
        "case_name": state.case_name,
        "date_opened": state.opened_on.date().isoformat(),
        "last_modified": state.modified_on.date().isoformat(),
        "properties": dict(state.properties),
        "indices": {k: v.referenced_id for k, v in state.indices.items()},
        "attachments": list(state.attachments),
    }


@pytest.mark.parametrize("path", WITH_OUTPUT, ids=[p.name for p in WITH_OUTPUT])
def test_s_tx_2_applying_commcare_fixtures_gives_the_device_state(path: Path) -> None:
    cases = apply_blocks(parse_case_blocks(path.read_bytes()))
    expected = expected_cases(path.with_name(f"{path.stem}_output.xml"))
    assert {cid: actual(state) for cid, state in cases.items()} == expected


def test_external_id_fixture_sets_the_field_not_a_property() -> None:
    cases = apply_blocks(parse_case_blocks((COMMCARE / "case_create_external_id.xml").read_bytes()))
    assert [c.case_name for c in cases.values()] == ["One", "Two", "Three"]
    assert cases["case_two"].external_id == "123"
    assert cases["case_one"].external_id is None
    assert "external_id" not in cases["case_two"].properties


# --- hostile and malformed XML -------------------------------------------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<data><case xmlns="http://commcarehq.org/case/transaction/v2" case_id="c1">
<update><p>&lol4;</p></update></case></data>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE data [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<data><case xmlns="http://commcarehq.org/case/transaction/v2" case_id="c1">
<update><p>&xxe;</p></update></case></data>"""

EXTERNAL_DTD = '<?xml version="1.0"?><!DOCTYPE data SYSTEM "http://evil.example/x.dtd"><data/>'


@pytest.mark.parametrize(
    "payload",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD],
    ids=["billion-laughs", "external-entity", "external-dtd"],
)
def test_dtds_and_entities_are_refused(payload: str) -> None:
    error = refused(payload)
    assert error.code == "invalid_case_block"
    assert "document type declaration" in error.message
    assert error.details["construct"] == "dtd"


def test_undeclared_entity_is_malformed() -> None:
    error = refused(form(block("<update><p>&xxe;</p></update>")))
    assert error.code == "invalid_case_block"
    assert "not well-formed XML" in error.message and "undefined entity" in error.message


@pytest.mark.parametrize(
    "payload", ["<data>", "<data></datum>", "<a/><b/>", "not xml at all", b"\xff\xfe<a"]
)
def test_malformed_xml_is_refused_with_its_position(payload: str | bytes) -> None:
    error = refused(payload)
    assert error.code == "invalid_case_block"
    assert error.message.startswith("The submission is not well-formed XML")
    assert "line" in error.message and "column" in error.message


@pytest.mark.parametrize("payload", ["", b"  \n"])
def test_an_empty_submission_is_refused(payload: str | bytes) -> None:
    error = refused(payload)
    assert error.code == "invalid_case_block" and "empty" in error.message


def test_oversize_is_refused_before_parsing() -> None:
    payload = form(block(f"<update><p>{'x' * 2048}</p></update>"))
    error = refused(payload, max_bytes=1024)
    assert error.code == "invalid_case_block"
    assert "limit" in error.message and "1.0 KiB" in error.message
    assert error.details["limit"] == 1024
    assert parse_case_blocks(payload)  # well under the default limit


def test_the_default_limit_is_5_mib() -> None:
    assert MAX_BYTES == 5 * 1024 * 1024
    padding = "x" * MAX_BYTES
    error = refused(form(block(f"<update><p>{padding}</p></update>")))
    assert "5.0 MiB limit" in error.message


# --- where blocks are found, and the meta --------------------------------------------------------


def test_blocks_nested_deep_in_a_form_are_found_in_document_order() -> None:
    inner = block("<update><p>deep</p></update>", 'case_id="deep"')
    for depth in range(300):
        inner = f"<group{depth}>{inner}</group{depth}>"
    payload = form(
        block("", 'case_id="first"'), inner, "<repeat>" + block("", 'case_id="last"') + "</repeat>"
    )
    blocks = parse_case_blocks(payload)
    assert [b.case_id for b in blocks] == ["first", "deep", "last"]
    assert blocks[1].update == {"p": "deep"}


def test_elements_named_case_in_other_namespaces_are_not_blocks() -> None:
    payload = form(
        "<case case_id='not-a-block'/>", block("<update><case>a property</case></update>")
    )
    blocks = parse_case_blocks(payload)
    assert [b.case_id for b in blocks] == ["c1"]
    assert blocks[0].update == {"case": "a property"}


def test_a_form_without_blocks_has_none() -> None:
    assert parse_submission(form()).blocks == ()


def test_meta_is_read_from_the_openrosa_namespace() -> None:
    meta = (
        '<meta xmlns="http://openrosa.org/jr/xforms">'
        "<deviceID>dev-1</deviceID><timeStart>2024-03-01T10:00:00.000+02:00</timeStart>"
        "<timeEnd>2024-03-01T08:05:00Z</timeEnd><userID>u-7</userID>"
        "<instanceID>uuid:1234</instanceID></meta>"
    )
    submission = parse_submission(form(block(""), meta=meta))
    assert submission.meta.instance_id == "uuid:1234"
    assert submission.meta.user_id == "u-7"
    assert submission.meta.device_id == "dev-1"
    assert submission.meta.time_start == datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    assert submission.meta.time_end == datetime(2024, 3, 1, 8, 5, tzinfo=UTC)


def test_prefixed_meta_and_missing_meta() -> None:
    meta = "<jrm:meta><jrm:instanceID>abc</jrm:instanceID></jrm:meta>"
    assert parse_submission(form(meta=meta)).meta.instance_id == "abc"
    assert parse_submission(form()).meta.instance_id is None
    # a <meta> in the form's own namespace is not OpenRosa's
    assert (
        parse_submission(form(meta="<meta><instanceID>x</instanceID></meta>")).meta.instance_id
        is None
    )


def test_unparseable_meta_time_is_refused() -> None:
    meta = '<meta xmlns="http://openrosa.org/jr/xforms"><timeStart>yesterday</timeStart></meta>'
    error = refused(form(meta=meta))
    assert error.details["field"] == "meta/timeStart" and "yesterday" in error.message


def test_an_over_long_instance_id_is_refused() -> None:
    ns = "http://openrosa.org/jr/xforms"
    meta = f'<meta xmlns="{ns}"><instanceID>{"i" * 256}</instanceID></meta>'
    error = refused(form(meta=meta))
    assert error.code == "invalid_case_block" and error.details["field"] == "meta/instanceID"
    meta = meta.replace("i" * 256, "i" * 255)
    assert parse_submission(form(meta=meta)).meta.instance_id == "i" * 255


def test_a_bad_block_names_the_forms_instance_id() -> None:
    meta = '<meta xmlns="http://openrosa.org/jr/xforms"><instanceID>f-9</instanceID></meta>'
    error = refused(form(block("<update/>", 'case_id=""'), meta=meta))
    assert error.details["instance_id"] == "f-9"


# --- the block rules -----------------------------------------------------------------------------


def only(body: str, attrs: str = 'case_id="c1" user_id="u1"') -> CaseBlock:
    [parsed] = parse_case_blocks(form(block(body, attrs)))
    return parsed


def test_a_full_block() -> None:
    parsed = only(
        "<create><case_type>person</case_type><case_name>Ana</case_name></create>"
        "<update><age>31</age><case_name>Ana B</case_name></update><close/>"
        '<index><parent case_type="household">h1</parent>'
        '<host case_type="household" relationship="extension">h2</host></index>'
        '<attachment><photo src="photo.jpg" from="local" name="p.jpg"/><old/></attachment>',
        'case_id="c1" user_id="u1" date_modified="2024-05-06T07:08:09.5-04:00"',
    )
    assert parsed.case_id == "c1" and parsed.user_id == "u1"
    assert parsed.date_modified == datetime(2024, 5, 6, 11, 8, 9, 500000, tzinfo=UTC)
    assert parsed.create is not None and parsed.create.owner_id is None
    assert parsed.update == {"age": "31", "case_name": "Ana B"}
    assert parsed.close
    assert parsed.indices == (
        IndexAction("parent", "household", "h1", "child"),
        IndexAction("host", "household", "h2", "extension"),
    )
    assert [(a.identifier, a.src, a.from_, a.name, a.removes) for a in parsed.attachments] == [
        ("photo", "photo.jpg", "local", "p.jpg", False),
        ("old", "", "", "", True),
    ]


def test_absent_and_empty_update_differ() -> None:
    assert only("").update is None
    assert only("<update/>").update == {}
    assert only("<update></update>").update == {}
    assert not only("").close
    assert only("").date_modified is None
    assert only("", 'case_id="c1"').user_id is None


def test_last_duplicate_wins() -> None:
    parsed = only(
        "<create><case_type>a</case_type><case_name>n1</case_name><case_name>n2</case_name>"
        "<owner_id>o1</owner_id><owner_id>o2</owner_id></create>"
        "<update><p>1</p><q>x</q><p>2</p></update><update><q>y</q></update>"
        '<index><parent case_type="t">p1</parent><parent case_type="t">p2</parent></index>'
    )
    assert parsed.create is not None
    assert (parsed.create.case_name, parsed.create.owner_id) == ("n2", "o2")
    assert parsed.update == {"p": "2", "q": "y"}
    assert parsed.indices == (IndexAction("parent", "t", "p2", "child"),)


def test_duplicate_blocks_for_one_case_apply_in_order() -> None:
    blocks = parse_case_blocks(
        form(
            block("<create><case_type>t</case_type><case_name>a</case_name></create>"),
            block("<update><case_name>b</case_name></update>"),
        )
    )
    assert apply_blocks(blocks)["c1"].case_name == "b"


def test_hq_a_cases_blocks_apply_create_first_whatever_their_place() -> None:
    """CommCare HQ test_bugs.CaseBugTest.test_case_block_ordering: updates written above the
    creates of their cases, interleaved with another case's, are not undone by the creates."""
    create = "<create><case_type>t</case_type><case_name>a</case_name></create>"
    blocks = parse_case_blocks(
        form(
            block("<update><p>2</p><case_name>upd</case_name></update>", 'case_id="c1"'),
            block("<update><p>2</p></update>", 'case_id="c2"'),
            block(create + "<update><p>1</p></update>", 'case_id="c1"'),
            block(create + "<update><p>1</p></update>", 'case_id="c2"'),
        )
    )
    # each case's positions are kept; only which of its blocks fills them changes
    assert [(b.case_id, b.create is not None) for b in blocks] == [
        ("c1", True),
        ("c2", True),
        ("c1", False),
        ("c2", False),
    ]
    states = apply_blocks(blocks)
    assert states["c1"].properties == {"p": "2"} and states["c1"].case_name == "upd"
    assert states["c2"].properties == {"p": "2"} and states["c2"].case_name == "a"


def test_hq_a_cases_blocks_rank_by_their_first_action_in_hqs_order() -> None:
    """HQ's ``order_updates`` ranks a block by its first action: create, update, index, close,
    attachment (a block without actions ranks as an update); equal ranks keep document order."""
    bodies = [
        "<close/>",
        '<attachment><a src="x" from="local"/></attachment>',
        '<index><parent case_type="t">p</parent></index>',
        "",
        "<update><p>1</p></update>",
        "<create><case_type>t</case_type><case_name>a</case_name></create><close/>",
    ]
    blocks = parse_case_blocks(form(*(block(b) for b in bodies)))
    kinds = [
        "create"
        if b.create
        else "update"
        if b.update is not None
        else "index"
        if b.indices
        else "close"
        if b.close
        else "attachment"
        if b.attachments
        else "none"
        for b in blocks
    ]
    assert kinds == ["create", "none", "update", "index", "close", "attachment"]


def test_values_are_trimmed() -> None:
    parsed = only("<update><p>\n   spaced  \n</p></update>", 'case_id=" c1 "')
    assert parsed.case_id == "c1"
    assert parsed.update == {"p": "spaced"}


def test_an_empty_index_deletes() -> None:
    [index] = only('<index><parent case_type="t"/></index>').indices
    assert index.deletes and index.referenced_id == ""
    [index] = only("<index><parent/></index>").indices  # no case_type needed to delete
    assert index.deletes


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ('<index><p case_type="t">c1</p></index>', "index/p", ["'c1'", "itself"]),
        (
            '<index><p case_type="t" relationship="">x</p></index>',
            "index/p/@relationship",
            ["empty"],
        ),
        (
            '<index><p case_type="t" relationship=" ">x</p></index>',
            "index/p/@relationship",
            ["empty"],
        ),
        (
            '<index><p case_type="t" relationship="sibling">x</p></index>',
            "index/p/@relationship",
            ["'sibling'"],
        ),
        ('<index><p relationship="child">x</p></index>', "index/p/@case_type", ["case_type"]),
        (f'<index><p case_type="t">{"x" * 256}</p></index>', "index/p", ["256", "255"]),
        (f'<index><p case_type="{"t" * 300}">x</p></index>', "index/p/@case_type", ["300"]),
    ],
    ids=[
        "self",
        "empty-relationship",
        "blank-relationship",
        "unknown-relationship",
        "no-case-type",
        "long-reference",
        "long-case-type",
    ],
)
def test_s_tx_5_bad_indices(body: str, field: str, words: list[str]) -> None:
    error = refused(form(block(body)))
    assert error.code == "invalid_index"
    assert error.details == {"case_id": "c1", "block": 1, "field": field}
    assert error.message.startswith("Case 'c1':")
    for word in words:
        assert word in error.message


@pytest.mark.parametrize(
    ("body", "attrs", "field"),
    [
        ("", 'user_id="u1"', "case_id"),
        ("", 'case_id="   "', "case_id"),
        ("", f'case_id="{"c" * 256}"', "case_id"),
        ("", f'case_id="c1" user_id="{"u" * 256}"', "user_id"),
        ("", 'case_id="c1" date_modified="04/08/2014"', "date_modified"),
        ("", 'case_id="c1" date_modified="2014-13-01"', "date_modified"),
        ("", 'case_id="c1" date_modified="2014-08-04T25:00:00Z"', "date_modified"),
        ("<create><case_name>n</case_name></create>", 'case_id="c1"', "create/case_type"),
        (
            "<create><case_type/><case_name>n</case_name></create>",
            'case_id="c1"',
            "create/case_type",
        ),
        ("<create><case_type>t</case_type></create>", 'case_id="c1"', "create/case_name"),
        (
            "<create><case_type>t</case_type><case_name>n</case_name><x>1</x></create>",
            'case_id="c1"',
            "create/x",
        ),
        (
            f"<create><case_type>t</case_type><case_name>{'n' * 256}</case_name></create>",
            'case_id="c1"',
            "create/case_name",
        ),
        (
            f"<create><case_type>t</case_type><case_name>n</case_name><owner_id>{'o' * 256}"
            "</owner_id></create>",
            'case_id="c1"',
            "create/owner_id",
        ),
        (
            f"<update><external_id>{'e' * 256}</external_id></update>",
            'case_id="c1"',
            "update/external_id",
        ),
        (f"<update><{'p' * 256}>v</{'p' * 256}></update>", 'case_id="c1"', "update property name"),
    ],
)
def test_s_tx_5_bad_blocks(body: str, attrs: str, field: str) -> None:
    error = refused(form(block(body, attrs)))
    assert error.code == "invalid_case_block"
    assert error.details["field"] == field
    assert field.split("/")[-1] in error.message
    if field != "case_id":
        assert error.message.startswith("Case 'c1':")


def test_ordinary_property_values_may_be_long() -> None:
    """The 255 limit is for a case's own fields; free-text properties are only size-limited."""
    assert only(f"<update><notes>{'n' * 5000}</notes></update>").update == {"notes": "n" * 5000}


def test_one_bad_block_rejects_the_whole_submission() -> None:
    good = block("<update><p>1</p></update>")
    bad = block("<update/>", 'case_id=""')
    error = refused(form(good, good, bad))
    assert error.details["block"] == 3


def test_unknown_case_actions_are_ignored() -> None:
    assert only("<something><x/></something>") == CaseBlock(case_id="c1", user_id="u1")


# --- device times --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2014-08-04T21:09:07.000000Z", datetime(2014, 8, 4, 21, 9, 7, tzinfo=UTC)),
        ("2014-08-04T21:09:07Z", datetime(2014, 8, 4, 21, 9, 7, tzinfo=UTC)),
        ("2014-08-04T21:09:07", datetime(2014, 8, 4, 21, 9, 7, tzinfo=UTC)),
        ("2014-08-04T21:09", datetime(2014, 8, 4, 21, 9, tzinfo=UTC)),
        ("2014-08-04 21:09:07.123", datetime(2014, 8, 4, 21, 9, 7, 123000, tzinfo=UTC)),
        ("2014-08-04T21:09:07.1234567891Z", datetime(2014, 8, 4, 21, 9, 7, 123456, tzinfo=UTC)),
        ("2014-08-04T21:09:07.000+05:30", datetime(2014, 8, 4, 15, 39, 7, tzinfo=UTC)),
        ("2014-08-04T21:09:07-0700", datetime(2014, 8, 5, 4, 9, 7, tzinfo=UTC)),
        ("2014-08-04T21:09:07+02", datetime(2014, 8, 4, 19, 9, 7, tzinfo=UTC)),
        ("2014-08-04", datetime(2014, 8, 4, tzinfo=UTC)),
        ("  2014-08-04  ", datetime(2014, 8, 4, tzinfo=UTC)),
    ],
)
def test_device_times(text: str, expected: datetime) -> None:
    parsed = parse_client_datetime(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "2014-8-4",
        "2014-08-04T",
        "2014-08-04Z",
        "2014-W32-1",
        "2014-02-30",
        "2014-08-04T21:09:07+25:00",
        "2014-08-04T21:09:07 UTC",
        "20140804T210907",
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        "9999-12-31T23:00:00-02:00",  # after year 9999 in UTC
        "٢٠١٤-٠٨-٠٤",  # other scripts' digits: \d and int() take them, devices never send them
        "2014-08-04T٢١:09:07Z",
        "2014-08-04T21:09:07.١٢٣Z",
        "2014-08-04T21:09:07+٠٥:30",
    ],
)
def test_bad_device_times(text: str) -> None:
    with pytest.raises(ValueError):
        parse_client_datetime(text)


def test_offsets_keep_the_instant() -> None:
    local = datetime(2024, 1, 1, 12, tzinfo=timezone(timedelta(hours=-3)))
    assert parse_client_datetime("2024-01-01T12:00:00-03:00") == local


# --- the fold (casestate) ------------------------------------------------------------------------


def fold(*blocks: tuple[str, str]) -> dict[str, CaseState]:
    """Each block as its own form, folded in turn: a case's history (one form's blocks of one
    case would apply create first, ``order_case_blocks``)."""
    parsed = [b for body, attrs in blocks for b in parse_case_blocks(form(block(body, attrs)))]
    return apply_blocks(parsed)


CREATE = "<create><case_type>t</case_type><case_name>n</case_name><owner_id>o1</owner_id></create>"


def test_s_tx_4_close_is_sticky() -> None:
    case = fold(
        (CREATE, 'case_id="c1" user_id="u1" date_modified="2024-01-01"'),
        ("<close/>", 'case_id="c1" user_id="u2" date_modified="2024-01-02"'),
        ("<update><p>after</p></update><close/>", 'case_id="c1" user_id="u3"'),
        (CREATE, 'case_id="c1" user_id="u3"'),
    )["c1"]
    assert case.closed and case.properties == {"p": "after"}
    assert case.closed_by == "u2" and case.closed_on == datetime(2024, 1, 2, tzinfo=UTC)


def test_s_tx_2_create_on_an_existing_case_keeps_its_properties() -> None:
    case = fold(
        (CREATE + "<update><keep>1</keep></update>", 'case_id="c1" user_id="u1"'),
        ("<create><case_type>t2</case_type><case_name>m</case_name></create>", 'case_id="c1"'),
    )["c1"]
    assert (case.case_type, case.case_name, case.owner_id) == ("t2", "m", "o1")
    assert case.properties == {"keep": "1"}
    assert case.opened_by == "u1"


def test_s_tx_2_an_update_creates_a_missing_case_and_fields_are_not_properties() -> None:
    case = fold(
        (
            "<update><case_type>t</case_type><case_name>n</case_name><owner_id>o</owner_id>"
            "<external_id>e</external_id><p>v</p></update>",
            'case_id="c1"',
        )
    )["c1"]
    assert (case.case_type, case.case_name, case.owner_id, case.external_id) == ("t", "n", "o", "e")
    assert case.properties == {"p": "v"} and not case.closed


def test_a_create_without_owner_leaves_the_owner_to_the_caller() -> None:
    case = fold(
        ("<create><case_type>t</case_type><case_name>n</case_name></create>", 'case_id="c1"')
    )
    assert case["c1"].owner_id is None


def test_indices_and_attachments_are_set_replaced_and_deleted() -> None:
    cases = fold(
        (
            '<index><parent case_type="p">a</parent><host case_type="h" relationship="extension">'
            'b</host></index><attachment><pic src="x.jpg" from="local"/></attachment>',
            'case_id="c1"',
        ),
        (
            '<index><parent case_type="p">z</parent><host/></index><attachment><pic/></attachment>',
            'case_id="c1"',
        ),
    )
    assert {k: (v.referenced_id, v.relationship) for k, v in cases["c1"].indices.items()} == {
        "parent": ("z", "child")
    }
    assert dict(cases["c1"].attachments) == {}


def test_s_tx_3_modified_on_is_the_latest_device_time_and_modified_by_the_last_user() -> None:
    case = fold(
        ("", 'case_id="c1" user_id="u1" date_modified="2024-01-05T00:00:00Z"'),
        ("", 'case_id="c1" user_id="u2" date_modified="2024-01-03T00:00:00Z"'),
    )["c1"]
    assert case.modified_on == datetime(2024, 1, 5, tzinfo=UTC)
    assert case.modified_by == "u2"
    assert case.opened_on == datetime(2024, 1, 5, tzinfo=UTC)


def test_the_fold_does_not_touch_its_input() -> None:
    first = fold((CREATE, 'case_id="c1"'))
    before = dict(first)
    later = apply_blocks(parse_case_blocks(form(block("<update><p>1</p></update>"))), first)
    assert first == before and dict(first["c1"].properties) == {}
    assert later["c1"].properties == {"p": "1"}


# --- issue 8: device report logs, limits, encodings (CommCare HQ's behaviours) -------------------

DEVICE_REPORT = "http://code.javarosa.org/devicereport"


def test_hq_b_case_blocks_inside_a_device_report_log_are_not_processed() -> None:
    """As HQ's CaseExclusionTest: a block inside <log xmlns=devicereport> is not the form's."""
    payload = form(
        block(
            "<create><case_type>t</case_type><case_name>form case</case_name></create>",
            'case_id="case_in_form"',
        ),
        f'<log xmlns="{DEVICE_REPORT}">'
        + block(
            "<create><case_type>t</case_type><case_name>x</case_name></create>",
            'case_id="case_in_device"',
        )
        + "</log>",
    )
    assert [b.case_id for b in parse_case_blocks(payload)] == ["case_in_form"]
    whole = (
        f'<device_report xmlns="{DEVICE_REPORT}">' + block("", 'case_id="c"') + "</device_report>"
    )
    assert parse_case_blocks(whole) == ()


def test_fault_7_a_form_may_hold_at_most_1000_case_blocks() -> None:
    from caseshare.core.casexml import MAX_CASE_BLOCKS

    assert MAX_CASE_BLOCKS == 1000
    at_limit = form(*(block("", f'case_id="c{n}"') for n in range(1000)))
    assert len(parse_case_blocks(at_limit)) == 1000
    error = refused(form(*(block("", f'case_id="c{n}"') for n in range(1001))))
    assert error.code == "invalid_case_block"
    assert "1,001 case blocks" in error.message and "limit is 1,000" in error.message
    assert error.details["limit"] == 1000
    # a restore payload (or a stored form replayed) is read without the limit
    assert (
        len(
            parse_case_blocks(
                form(*(block("", f'case_id="c{n}"') for n in range(1001))), max_blocks=None
            )
        )
        == 1001
    )


def test_property_values_and_names_have_the_apis_limits() -> None:
    from caseshare.core.casexml import MAX_PROPERTY_LENGTH

    assert MAX_PROPERTY_LENGTH == 10_000
    ok = parse_case_blocks(form(block(f"<update><p>{'v' * 10_000}</p></update>")))
    assert len(ok[0].update["p"]) == 10_000  # type: ignore[index]
    error = refused(form(block(f"<update><p>{'v' * 10_001}</p></update>")))
    assert error.code == "invalid_case_block" and error.details["field"] == "update/p"
    assert "10,001 characters" in error.message and "10,000" in error.message
    name = "p" * 256
    error = refused(form(block(f"<update><{name}>v</{name}></update>")))
    assert error.code == "invalid_case_block" and "limit is 255" in error.message


def test_an_empty_case_name_on_create_is_refused() -> None:
    error = refused(form(block("<create><case_type>t</case_type><case_name/></create>")))
    assert error.code == "invalid_case_block" and error.details["field"] == "create/case_name"
    assert "non-empty <case_name>" in error.message
    error = refused(form(block("<update><case_name></case_name></update>")))
    assert error.code == "invalid_case_block" and "cannot be emptied" in error.message


def test_hq_date_opened_in_an_update_sets_the_opened_date() -> None:
    payload = form(
        block(
            "<create><case_type>t</case_type><case_name>n</case_name></create>"
            "<update><date_opened>2020-02-03</date_opened><p>1</p></update>",
            'case_id="c1" date_modified="2024-01-01T10:00:00Z"',
        )
    )
    [state] = apply_blocks(parse_case_blocks(payload)).values()
    assert state.opened_on == datetime(2020, 2, 3, tzinfo=UTC)
    assert dict(state.properties) == {"p": "1"}
    error = refused(form(block("<update><date_opened>soon</date_opened></update>")))
    assert error.code == "invalid_case_block" and error.details["field"] == "update/date_opened"


def test_a_form_declared_iso_8859_1_is_read_as_iso_8859_1() -> None:
    from caseshare.core.casexml import decode_submission

    text = '<?xml version="1.0" encoding="ISO-8859-1"?>' + form(
        block("<update><name_note>Zoë Müller</name_note></update>")
    )
    raw = text.encode("latin-1")
    decoded = decode_submission(raw)
    assert parse_case_blocks(decoded)[0].update == {"name_note": "Zoë Müller"}
    assert parse_case_blocks(raw)[0].update == {"name_note": "Zoë Müller"}
    # UTF-8, declared or not, with or without a byte order mark
    plain = form(block("<update><n>Zoë</n></update>"))
    for data in (
        plain.encode(),
        b"\xef\xbb\xbf" + plain.encode(),
        ('<?xml version="1.0" encoding="utf-8"?>' + plain).encode(),
    ):
        assert parse_case_blocks(decode_submission(data))[0].update == {"n": "Zoë"}
    with pytest.raises(CaseShareError) as info:
        decode_submission(('<?xml version="1.0" encoding="UTF-16"?>' + plain).encode())
    assert info.value.code == "invalid_case_block" and "UTF-8" in info.value.message
    with pytest.raises(CaseShareError) as info:
        decode_submission(plain.encode("latin-1"))  # undeclared, so UTF-8, and it is not
    assert "not UTF-8 text" in info.value.message


# Text without any "<!" is parsed by the standard library's C parser, anything else (and bytes)
# by defusedxml's: both must give the same blocks, and the same refusal, word for word.
SAME_EITHER_WAY = [
    form(block("<create><case_type>t</case_type><case_name>N</case_name></create>")),
    form(block("<update><p>a &amp; b &lt;c&gt; &#233;t&#xE9;</p><q> spaced </q></update>")),
    form(block("<update><p>Zoë 東京</p></update><close/>")),
    '<?xml version="1.0" encoding="ISO-8859-1"?>' + form(block("<update><p>é</p></update>")),
    form(block("<!-- a comment --><update><p>x</p></update>")),
    form(block("<update><p><![CDATA[<b>&raw</b>]]></p></update>")),
]


@pytest.mark.parametrize("payload", SAME_EITHER_WAY)
def test_text_and_its_bytes_parse_alike(payload: str) -> None:
    raw = payload.replace('encoding="ISO-8859-1"', 'encoding="UTF-8"').encode("utf-8")
    assert parse_submission(payload) == parse_submission(raw)


@pytest.mark.parametrize(
    "payload",
    ["<data>", "<data></datum>", "<a/><b/>", "not xml", form(block("<update><p>&x;</p></update>"))],
)
def test_text_and_its_bytes_are_refused_alike(payload: str) -> None:
    assert refused(payload).message == refused(payload.encode("utf-8")).message


@pytest.mark.parametrize("case_id", ["dev/1", "/", "a/b/c", "a\x7fb", ".", ".."])
def test_s_tx_5_a_case_id_no_address_can_carry_is_a_bad_block(case_id: str) -> None:
    """A case id with '/', or '.' or '..', could be created but never opened: every address of
    the case (``/api/v1/cases/{case_id}``, the web's case pages) would miss it."""
    error = refused(form(block("<update/>", f'case_id="{case_id}"')))
    assert error.code == "invalid_case_block" and error.details["field"] == "case_id"
    assert "case_id may not" in error.message
    assert [b.case_id for b in parse_case_blocks(form(block("<update/>", 'case_id="dev.1"')))]
