"""Safe parsing of CommCare case XML v2 blocks out of an OpenRosa submission (SPEC §8)."""

from __future__ import annotations

import codecs
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Final
from xml.etree.ElementTree import Element, ParseError
from xml.etree.ElementTree import fromstring as _plain_fromstring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from caseshare.core.errors import CaseShareError

CASE_NS: Final = "http://commcarehq.org/case/transaction/v2"
META_NS: Final = "http://openrosa.org/jr/xforms"
#: a device report log: CommCare HQ never processes the case blocks inside one
DEVICE_REPORT_NS: Final = "http://code.javarosa.org/devicereport"
MAX_BYTES: Final = 5 * 1024 * 1024
#: the most case blocks one form may hold: it bounds how long one form holds the write lock
MAX_CASE_BLOCKS: Final = 1000
#: the longest case_id, user_id, case_type, case_name, owner_id, external_id or index part, and
#: the longest property name (the API's limits)
MAX_FIELD_LENGTH: Final = 255
#: the longest property value, in characters (the API's limit)
MAX_PROPERTY_LENGTH: Final = 10_000
#: the encodings a form may declare, as ``codecs`` names them (CommCare sends UTF-8; other
#: OpenRosa clients may declare ISO-8859-1)
ENCODINGS: Final = frozenset({"utf-8", "iso8859-1", "ascii"})
RELATIONSHIPS: Final = ("child", "extension")

_CASE_TAG: Final = f"{{{CASE_NS}}}case"
_DEVICE_REPORT: Final = f"{{{DEVICE_REPORT_NS}}}"
_DECLARATION: Final = re.compile(
    rb"""\A(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']"""
)
#: the byte order marks of UTF-32 and UTF-16, which a form may not be encoded in
_WIDE_BOMS: Final = (
    codecs.BOM_UTF32_LE,
    codecs.BOM_UTF32_BE,
    codecs.BOM_UTF16_LE,
    codecs.BOM_UTF16_BE,
)
_META_TAG: Final = f"{{{META_NS}}}meta"
_CREATE_FIELDS: Final = ("case_type", "case_name", "owner_id")
#: update keys that land in a case's own columns and so are held to MAX_FIELD_LENGTH
_LIMITED_UPDATE_KEYS: Final = frozenset({*_CREATE_FIELDS, "external_id"})
_DATETIME: Final = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[T ](?P<h>\d{2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<frac>\d+))?)?"
    r"(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?)?",
    re.ASCII,  # "٢٠١٤" is a digit to \d and to int(), but not a date CommCare sends
)


@dataclass(frozen=True)
class CreateAction:
    case_type: str
    case_name: str
    #: None when the create names no owner: the engine applies S-CRT-2
    owner_id: str | None = None


@dataclass(frozen=True)
class IndexAction:
    identifier: str
    case_type: str
    #: '' deletes the index with this identifier
    referenced_id: str
    relationship: str = "child"

    @property
    def deletes(self) -> bool:
        return self.referenced_id == ""


@dataclass(frozen=True)
class AttachmentAction:
    identifier: str
    src: str = ""
    from_: str = ""
    name: str = ""

    @property
    def removes(self) -> bool:
        """An attachment element with neither ``src`` nor ``from`` removes the attachment."""
        return self.src == "" and self.from_ == ""


@dataclass(frozen=True)
class CaseBlock:
    """One ``<case>`` transaction; its actions apply in the order create, update, close, index,
    attachment (S-TX-1)."""

    case_id: str
    user_id: str | None = None
    date_modified: datetime | None = None
    create: CreateAction | None = None
    #: None when the block has no ``<update>``; ``{}`` for an empty one
    update: dict[str, str] | None = None
    close: bool = False
    indices: tuple[IndexAction, ...] = ()
    attachments: tuple[AttachmentAction, ...] = ()


@dataclass(frozen=True)
class FormMeta:
    """The OpenRosa ``<meta>`` of a form; every field is None when the form does not give it."""

    instance_id: str | None = None
    user_id: str | None = None
    device_id: str | None = None
    time_start: datetime | None = None
    time_end: datetime | None = None


@dataclass(frozen=True)
class CaseSubmission:
    meta: FormMeta
    blocks: tuple[CaseBlock, ...]


def parse_submission(
    data: bytes | str, *, max_bytes: int = MAX_BYTES, max_blocks: int | None = MAX_CASE_BLOCKS
) -> CaseSubmission:
    """Parse a submission (or restore payload): its meta and every case block, in document order
    except that one case's blocks apply create first (``order_case_blocks``, CommCare HQ's order).

    Raises ``CaseShareError`` with code ``invalid_case_block`` (``invalid_index`` for a bad index)
    and a sentence naming the case and the field; nothing is returned for a partly bad document.
    A bad block's error carries the form's ``instance_id`` in its details when the meta has one.
    Case blocks inside a device report log are not the form's (CommCare HQ ignores them), and a
    form may hold at most ``max_blocks`` blocks (None: no limit, e.g. for a restore payload).
    """
    root = _parse_xml(data, max_bytes)
    meta = _parse_meta(root)
    try:
        elements = _case_elements(root)
        if max_blocks is not None and len(elements) > max_blocks:
            raise _invalid(
                f"The form holds {len(elements):,} case blocks; the limit is {max_blocks:,} per"
                " form. Split the work into several forms.",
                blocks=len(elements),
                limit=max_blocks,
            )
        blocks = tuple(_parse_block(el, n) for n, el in enumerate(elements, start=1))
    except CaseShareError as exc:  # the refusal can still be filed under the form's instanceID
        if meta.instance_id is not None:
            exc.details.setdefault("instance_id", meta.instance_id)
        raise
    return CaseSubmission(meta=meta, blocks=order_case_blocks(blocks))


#: CommCare HQ's ranks of case actions (``casexml.apps.case.const.CASE_ACTIONS``); a block
#: without actions ranks as an update (it only touches the case)
_ACTION_RANK: Final = {"create": 0, "update": 1, "index": 2, "close": 3, "attachment": 4}


def _block_rank(block: CaseBlock) -> int:
    """The rank of a block's first action in CommCare HQ's order (create, update, index,
    close, attachment)."""
    if block.create is not None:
        return _ACTION_RANK["create"]
    if block.update is not None:
        return _ACTION_RANK["update"]
    if block.indices:
        return _ACTION_RANK["index"]
    if block.close:
        return _ACTION_RANK["close"]
    if block.attachments:
        return _ACTION_RANK["attachment"]
    return _ACTION_RANK["update"]


def order_case_blocks(blocks: Sequence[CaseBlock]) -> tuple[CaseBlock, ...]:
    """A form's blocks in the order they apply (S-TX-1): document order, except that the blocks
    of one case are stably sorted by their first action, as CommCare HQ does (``order_updates``,
    its test ``test_case_block_ordering``): a block that creates a case applies before the
    form's other blocks of that case, wherever it stands, so an update written above the create
    is not undone by the create's own values.

    Each case keeps the positions its blocks hold in the document; only which of its blocks
    fills each position changes, so blocks of different cases keep their relative order (a
    replay of a stored form orders it the same way, so a rebuild agrees with the first apply).
    """
    by_case: dict[str, list[int]] = {}
    for position, block in enumerate(blocks):
        by_case.setdefault(block.case_id, []).append(position)
    ordered = list(blocks)
    for positions in by_case.values():
        if len(positions) > 1:
            ranked = sorted((blocks[p] for p in positions), key=_block_rank)  # stable
            for position, block in zip(positions, ranked, strict=True):
                ordered[position] = block
    return tuple(ordered)


def parse_stored(text: str) -> CaseSubmission:
    """A stored form parsed again for a replay: it passed every check when it was received, so
    the limits of that day (size once encoded, block count) are not applied again."""
    return parse_submission(text, max_bytes=4 * MAX_BYTES, max_blocks=None)


def decode_submission(raw: bytes) -> str:
    """A form's bytes as text, in the encoding its XML declaration names (UTF-8 without one).

    UTF-8, US-ASCII and ISO-8859-1 are read; any other declared encoding, or bytes that are not
    valid in the encoding, is ``invalid_case_block``.
    """
    match = _DECLARATION.match(raw)
    declared = match.group(1).decode("ascii") if match else "UTF-8"
    try:
        codec = codecs.lookup(declared).name
    except LookupError:
        codec = ""
    if codec not in ENCODINGS:
        raise _invalid(
            f"The form declares the encoding {_shorten(declared)}; send it encoded as UTF-8"
            " (or ISO-8859-1, declared as such).",
            field="encoding",
        )
    if raw.startswith(_WIDE_BOMS) or _wide(raw[:8]):
        # UTF-16 or UTF-32 (with or without a byte order mark): its NUL bytes are valid UTF-8
        # and Latin-1, and expat would read the decoded text as UTF-16 all the same, so such a
        # form was applied on SQLite and could not be stored on PostgreSQL
        raise _invalid(
            "The submission is UTF-16 or UTF-32 encoded; send the form encoded as UTF-8.",
            field="encoding",
        )
    try:
        text = raw.decode("utf-8-sig" if codec == "utf-8" else codec)
    except UnicodeDecodeError as exc:
        raise _invalid(
            f"The submission is not {declared} text (byte {exc.start} is not valid {declared});"
            " send the form encoded as UTF-8.",
            field="encoding",
        ) from None
    return text


def _wide(head: bytes) -> bool:
    """Whether a document's first bytes are ``<`` or white space in UTF-16 or UTF-32 (each
    ASCII character with NUL bytes beside it, as the XML autodetection table has it)."""
    return b"\x00" in head and head.replace(b"\x00", b"")[:1] in (b"<", b" ", b"\t", b"\r", b"\n")


def parse_case_blocks(
    data: bytes | str, *, max_bytes: int = MAX_BYTES, max_blocks: int | None = MAX_CASE_BLOCKS
) -> tuple[CaseBlock, ...]:
    """The case blocks of a document, in the order they apply (see ``parse_submission``)."""
    return parse_submission(data, max_bytes=max_bytes, max_blocks=max_blocks).blocks


@functools.lru_cache(maxsize=4096)
def parse_client_datetime(value: str) -> datetime:
    """A device time in the ISO forms CommCare sends, as an aware UTC datetime.

    Remembered for the last few thousand texts (a datetime is immutable): a form's blocks
    mostly carry the form's one time (issue 12 item 4).

    Accepts a date alone (midnight), or a date and time with optional seconds and fraction and
    an optional ``Z`` or ``±HH[:MM]`` offset; a time without offset is taken as UTC.
    Raises ``ValueError`` for anything else.
    """
    match = _DATETIME.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"not an ISO date or date-time: {value!r}")
    # what strptime("%Y-%m-%d") gives (ValueError for a day or month out of range), at a
    # tenth of its cost: a form of 1,000 blocks parses 1,000 dates
    year, month, mday = match["date"].split("-")
    day = datetime(int(year), int(month), int(mday))
    if match["h"] is None:
        return day.replace(tzinfo=UTC)
    micro = int((match["frac"] or "0")[:6].ljust(6, "0"))
    moment = day.replace(
        hour=int(match["h"]), minute=int(match["m"]), second=int(match["s"] or 0), microsecond=micro
    )
    tz = match["tz"]
    if tz is None or tz == "Z":
        return moment.replace(tzinfo=UTC)
    sign = -1 if tz[0] == "-" else 1
    digits = tz[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
    if offset >= timedelta(hours=24):
        raise ValueError(f"offset out of range: {value!r}")
    try:
        return moment.replace(tzinfo=timezone(sign * offset)).astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00 is before year 1 in UTC
        raise ValueError(f"outside the supported date range in UTC: {value!r}") from None


# --- the document ------------------------------------------------------------------------------


def unaddressable(case_id: str) -> str | None:
    """Why (a sentence) a case id cannot be a case's address (``/api/v1/cases/{case_id}``, the web's case
    pages), or None when it can: a ``/`` splits the path (``%2F`` too, decoded before a route is
    matched), a control character is refused in every address, and ``.`` or ``..`` are folded
    away by every client. Forms and the services both refuse such ids, so no case is listed
    that no address reaches."""
    if "/" in case_id:
        return "A case_id may not hold '/', which no address of the case could carry."
    if any(ch < " " or ch == "\x7f" for ch in case_id):
        return "A case_id may not hold a control character, which no address of it may carry."
    if case_id in (".", ".."):
        return f"A case_id may not be {case_id!r}, which clients fold out of an address."
    return None


def _invalid(message: str, **details: object) -> CaseShareError:
    return CaseShareError("invalid_case_block", message, dict(details))


def _parse_xml(data: bytes | str, max_bytes: int) -> Element:
    # text is parsed as text (its declared encoding was applied when it was decoded); bytes are
    # parsed in the encoding they declare
    size = len(data.encode("utf-8")) if isinstance(data, str) else len(data)
    if size > max_bytes:
        raise _invalid(
            f"The submission is {_size(size)}, over the {_size(max_bytes)} limit; "
            "send smaller forms or move large data to attachments.",
            size=size,
            limit=max_bytes,
        )
    if not data.strip():
        raise _invalid("The submission is empty; it must be an XML document.")
    try:
        root: Element
        if isinstance(data, str) and "<!" not in data:
            # no markup declaration of any kind: no <!DOCTYPE>, so no entity can be declared
            # (an undeclared one is malformed in both parsers), nothing for defusedxml to
            # refuse; the standard library's C parser builds the same tree at ~45 % of the cost
            # of defusedxml's pure-Python one (a form of ten blocks: 88 → 41 µs). Text only:
            # bytes in another encoding need not hold "<!" as these two bytes.
            root = _plain_fromstring(data)
        else:
            root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        # forbid_dtd refuses every <!DOCTYPE>, so entity declarations (billion laughs) and
        # external entities never get as far as being declared.
        raise _invalid(
            "The submission contains a document type declaration (<!DOCTYPE>); submissions may "
            "not declare DTDs or entities.",
            construct="dtd",
        ) from exc
    except ParseError as exc:
        line, column = exc.position
        reason = str(exc).split(":", 1)[0]
        raise _invalid(
            f"The submission is not well-formed XML ({reason} at line {line}, column {column}).",
            line=line,
            column=column,
        ) from exc
    return root


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MiB"
    if n >= 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n} bytes"


def _case_elements(root: Element) -> list[Element]:
    """Every case block at any depth, in document order; a block's own content is not searched,
    and neither is a device report log (``<log xmlns="http://code.javarosa.org/devicereport">``,
    or a whole form in that namespace): CommCare HQ never applies the blocks inside one."""
    found: list[Element] = []
    stack = [root]
    while stack:
        el = stack.pop()
        if el.tag == _CASE_TAG:
            found.append(el)
            continue
        if isinstance(el.tag, str) and el.tag.startswith(_DEVICE_REPORT):
            continue
        stack.extend(reversed(el))
    return found


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _text(el: Element) -> str:
    if not len(el):  # a leaf, as nearly every field is: its text is all ``itertext`` gives
        return (el.text or "").strip()
    return "".join(el.itertext()).strip()


def _parse_meta(root: Element) -> FormMeta:
    meta = next(root.iter(_META_TAG), None)
    if meta is None:
        return FormMeta()
    values: dict[str, str] = {}
    for child in meta:
        values[_local(child.tag)] = _text(child)

    def time(key: str) -> datetime | None:
        value = values.get(key, "")
        if not value:
            return None
        try:
            return parse_client_datetime(value)
        except ValueError as exc:
            raise _invalid(
                f"The form's meta/{key} {_shorten(value)} is not a date-time.", field=f"meta/{key}"
            ) from exc

    instance_id = values.get("instanceID") or None
    if instance_id is not None and len(instance_id) > MAX_FIELD_LENGTH:
        raise _invalid(
            f"The form's meta/instanceID is {len(instance_id)} characters long;"
            f" the limit is {MAX_FIELD_LENGTH}.",
            field="meta/instanceID",
        )
    return FormMeta(
        instance_id=instance_id,
        user_id=values.get("userID") or None,
        device_id=values.get("deviceID") or None,
        time_start=time("timeStart"),
        time_end=time("timeEnd"),
    )


def _shorten(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "…")


# --- one block ---------------------------------------------------------------------------------


def _parse_block(el: Element, position: int) -> CaseBlock:
    case_id = (el.get("case_id") or "").strip()
    if not case_id:
        raise _invalid(
            f"Case block {position} has no case_id: every <case> needs a non-empty case_id "
            "attribute.",
            block=position,
            field="case_id",
        )
    check = _Checker(case_id, position)
    check.length("case_id", case_id)
    problem = unaddressable(case_id)
    if problem is not None:
        raise check.error(problem, "case_id")
    user_id = check.length("user_id", (el.get("user_id") or "").strip()) or None
    date_modified = check.date("date_modified", el.get("date_modified"))

    create: dict[str, str] | None = None
    update: dict[str, str] | None = None
    close = False
    indices: dict[str, IndexAction] = {}
    attachments: dict[str, AttachmentAction] = {}
    for action in el:  # the parser drops comments and processing instructions
        kind = _local(action.tag)
        if kind == "create":
            create = create if create is not None else {}
            for child in action:
                key = _local(child.tag)
                if key not in _CREATE_FIELDS:
                    raise check.error(
                        f"<create> may hold only case_type, case_name and owner_id, not <{key}>.",
                        f"create/{key}",
                    )
                create[key] = check.length(f"create/{key}", _text(child))
        elif kind == "update":
            update = update if update is not None else {}
            for child in action:
                key = check.length("update property name", _local(child.tag))
                update[key] = check.update(key, _text(child))
        elif kind == "close":
            close = True
        elif kind == "index":
            for child in action:
                index = check.index(child)
                indices[index.identifier] = index
        elif kind == "attachment":
            for child in action:
                attachment = check.attachment(child)
                attachments[attachment.identifier] = attachment
        # other elements are not case actions: CommCare ignores them, and so do we

    return CaseBlock(
        case_id=case_id,
        user_id=user_id,
        date_modified=date_modified,
        create=None if create is None else check.create(create),
        update=update,
        close=close,
        indices=tuple(indices.values()),
        attachments=tuple(attachments.values()),
    )


@dataclass(frozen=True)
class _Checker:
    """The rules of one block; every error names the case (or block position) and the field."""

    case_id: str
    position: int

    def error(self, problem: str, field: str, code: str = "invalid_case_block") -> CaseShareError:
        return CaseShareError(
            code,
            f"Case {self.case_id!r}: {problem}",
            {"case_id": self.case_id, "block": self.position, "field": field},
        )

    def length(self, field: str, value: str) -> str:
        if len(value) > MAX_FIELD_LENGTH:
            raise self.error(
                f"{field} is {len(value)} characters long; the limit is {MAX_FIELD_LENGTH}.",
                field,
                "invalid_index" if field.startswith("index/") else "invalid_case_block",
            )
        return value

    def date(self, field: str, value: str | None) -> datetime | None:
        if value is None or not value.strip():
            return None
        try:
            return parse_client_datetime(value)
        except ValueError as exc:
            raise self.error(
                f"{field} {_shorten(value)} is not a date or date-time "
                "(expected e.g. 2014-08-04T21:09:07.000Z).",
                field,
            ) from exc

    def update(self, key: str, value: str) -> str:
        """One property of an ``<update>``: the case's own fields are held to their limits,
        ``date_opened`` must be a date, and other values to ``MAX_PROPERTY_LENGTH``."""
        field = f"update/{key}"
        if key in _LIMITED_UPDATE_KEYS:
            self.length(field, value)
        elif len(value) > MAX_PROPERTY_LENGTH:
            raise self.error(
                f"{field} is {len(value):,} characters long; the limit for a property value is"
                f" {MAX_PROPERTY_LENGTH:,}.",
                field,
            )
        if key == "case_name" and not value:
            raise self.error("<case_name> cannot be emptied; a case needs a name.", field)
        if key == "date_opened":
            self.date(field, value)
        return value

    def create(self, fields: dict[str, str]) -> CreateAction:
        if not fields.get("case_type"):
            raise self.error("<create> needs a non-empty <case_type>.", "create/case_type")
        if not fields.get("case_name"):
            raise self.error("<create> needs a non-empty <case_name>.", "create/case_name")
        return CreateAction(
            case_type=fields["case_type"],
            case_name=fields["case_name"],
            owner_id=fields.get("owner_id") or None,
        )

    def index(self, el: Element) -> IndexAction:
        identifier = _local(el.tag)
        field = f"index/{identifier}"
        self.length(field, identifier)
        referenced_id = self.length(field, _text(el))
        case_type = self.length(f"{field}/@case_type", (el.get("case_type") or "").strip())
        relationship = el.get("relationship")
        if relationship is None:
            relationship = "child"
        elif relationship.strip() == "":
            raise self.error(
                f"index {identifier!r} has an empty relationship; use child or extension "
                "(or leave the attribute out for child).",
                f"{field}/@relationship",
                "invalid_index",
            )
        elif relationship not in RELATIONSHIPS:
            raise self.error(
                f"index {identifier!r} has relationship {_shorten(relationship)}; it must be "
                "child or extension.",
                f"{field}/@relationship",
                "invalid_index",
            )
        if referenced_id == self.case_id:
            raise self.error(
                f"index {identifier!r} points at the case itself; a case cannot index itself.",
                field,
                "invalid_index",
            )
        if referenced_id and not case_type:
            raise self.error(
                f"index {identifier!r} has no case_type attribute; give the referenced case's "
                "type.",
                f"{field}/@case_type",
                "invalid_index",
            )
        return IndexAction(identifier, case_type, referenced_id, relationship)

    def attachment(self, el: Element) -> AttachmentAction:
        identifier = self.length("attachment name", _local(el.tag))
        return AttachmentAction(
            identifier=identifier,
            src=(el.get("src") or "").strip(),
            from_=(el.get("from") or "").strip(),
            name=(el.get("name") or "").strip(),
        )
