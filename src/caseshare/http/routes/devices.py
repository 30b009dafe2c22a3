"""Field devices (SPEC §8, §9): the OpenRosa form receiver and the CommCare restore.

Not under /api/v1: the paths, authentication (HTTP basic) and bodies are those CommCare devices
already speak. Refusals are OpenRosa XML, with the SPEC §14 code leading the message.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, Callable
from typing import Annotated, TypeVar
from xml.etree.ElementTree import Element, SubElement, tostring

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from caseshare.core.casexml import MAX_BYTES
from caseshare.core.errors import CaseShareError
from caseshare.core.restore import RESPONSE_NS, to_json, to_xml
from caseshare.http.auth import Service, basic_user
from caseshare.http.errors import body, status_of
from caseshare.http.pool import ServicePool
from caseshare.services import Caseshare

router = APIRouter(tags=["devices"])
T = TypeVar("T")

#: the largest request body the receiver reads (the whole body, attachments included)
MAX_BODY = MAX_BYTES
#: CommCare sends the device's last restore id with each form in this header
SYNC_TOKEN_HEADER = "X-CommCareHQ-LastSyncToken"
XML_PART = "xml_submission_file"
OPENROSA_HEADERS = {"X-OpenRosa-Version": "1.0"}
XML_TYPES = ("text/xml", "application/xml")

_NOT_XML_CHAR = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

Agency = Annotated[str, Path(min_length=1, max_length=100, description="The agency's slug.")]


class _TooLarge(Exception):
    pass


def openrosa(nature: str, message: str, status: int) -> Response:
    """An OpenRosa response body with one message."""
    root = Element("OpenRosaResponse", {"xmlns": RESPONSE_NS})
    # a message may quote the form: characters XML 1.0 cannot carry become U+FFFD
    SubElement(root, "message", {"nature": nature}).text = _NOT_XML_CHAR.sub("\ufffd", message)
    return Response(
        tostring(root, encoding="unicode"),
        status_code=status,
        media_type="application/xml",
        headers=OPENROSA_HEADERS,
    )


def refusal(exc: CaseShareError, nature: str = "processing_failure") -> Response:
    response = openrosa(nature, f"{exc.code}: {exc.message}", status_of(exc))
    if "retry_after" in exc.details:  # a busy server: the device tries again later
        response.headers["Retry-After"] = str(exc.details["retry_after"])
    return response


def _too_large() -> Response:
    return openrosa(
        "processing_failure",
        f"validation_error: The request is larger than {MAX_BODY // (1024 * 1024)} MiB;"
        " it was not read.",
        413,
    )


async def _read_body(request: Request) -> bytes:
    """The request body, refusing (before reading it all) one over ``MAX_BODY`` bytes."""
    length = request.headers.get("content-length", "")
    if length.isascii() and length.isdigit() and int(length) > MAX_BODY:
        raise _TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


async def _form_xml(request: Request, body: bytes) -> bytes:
    """The form's XML: the ``xml_submission_file`` part of a multipart body, or the raw body."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":

        async def stream() -> AsyncGenerator[bytes]:
            yield body

        parser = MultiPartParser(
            request.headers, stream(), max_files=100, max_fields=100, max_part_size=MAX_BODY
        )
        try:
            form = await parser.parse()
        except MultiPartException as exc:
            raise CaseShareError(
                "validation_error", f"The multipart body cannot be read: {exc.message}"
            ) from None
        try:
            part = form.get(XML_PART)
            if isinstance(part, UploadFile):
                return await part.read()
            if isinstance(part, str):
                return part.encode("utf-8")
            raise CaseShareError(
                "validation_error", f"The multipart body has no {XML_PART!r} part (the form)."
            )
        finally:
            await form.close()
    if content_type in XML_TYPES:
        return body
    raise CaseShareError(
        "validation_error",
        "Send the form as multipart/form-data (part xml_submission_file) or as a text/xml"
        " or application/xml body.",
    )


@router.head(
    "/a/{agency}/receiver/",
    status_code=204,
    summary="OpenRosa pre-flight: the largest body the receiver accepts",
)
def receiver_head(agency: Agency, request: Request, svc: Service) -> Response:
    basic_user(request, svc, agency)
    return Response(
        status_code=204,
        headers=OPENROSA_HEADERS | {"X-OpenRosa-Accept-Content-Length": str(MAX_BODY)},
    )


@router.post(
    "/a/{agency}/receiver/",
    status_code=201,
    summary="Receive one OpenRosa form with case blocks (SPEC §8), as CommCare sends it",
    response_class=Response,
    responses={
        201: {"description": "Accepted (a duplicate too)", "content": {"application/xml": {}}},
        401: {"description": "No or wrong HTTP basic credentials"},
        413: {"description": "Body over 5 MiB: validation_error"},
        422: {"description": "Refused form: invalid_case_block, invalid_index …"},
    },
)
async def receiver(agency: Agency, request: Request) -> Response:
    # a pooled connection is borrowed twice (sign-in, then the form), never held while a slow
    # phone uploads its body
    user = await _with_service(request, lambda svc: basic_user(request, svc, agency))
    try:
        body = await _read_body(request)
    except _TooLarge:
        return _too_large()
    token = request.headers.get(SYNC_TOKEN_HEADER) or None
    try:
        xml = await _form_xml(request, body)
        result = await _with_service(
            request, lambda svc: svc.submit(user.agency_id, user.id, xml, sync_token=token)
        )
    except CaseShareError as exc:
        return refusal(exc)
    return openrosa("submit_success", result.message, 201)


async def _with_service(request: Request, fn: Callable[[Caseshare], T]) -> T:
    """``fn`` in a worker thread with a service borrowed (on the event loop) for that long."""
    pool: ServicePool = request.app.state.pool
    svc = await pool.borrow()
    try:
        return await run_in_threadpool(fn, svc)
    finally:
        pool.give_back(svc)


@router.get(
    "/a/{agency}/phone/restore/",
    summary="A device restore (SPEC §9): the cases the user's device holds, in full or since",
    response_class=Response,
    responses={
        200: {
            "description": "OpenRosa restore payload, or JSON with format=json",
            "content": {"application/xml": {}, "application/json": {}},
        },
        401: {"description": "No or wrong HTTP basic credentials"},
        412: {"description": "stale_sync_token: restore in full (without since)"},
    },
)
def restore(
    agency: Agency,
    request: Request,
    svc: Service,
    version: Annotated[str, Query(max_length=10, description="Case XML version: 2.0")] = "2.0",
    since: Annotated[
        str | None, Query(max_length=100, description="The device's last restore_id")
    ] = None,
    state: Annotated[
        str | None, Query(max_length=100, description="The device's case state hash, ccsh:…")
    ] = None,
    format: Annotated[
        str,
        Query(
            max_length=10,
            description="xml (OpenRosa, what CommCare reads) or json (the same data, S-SYNC-3)",
        ),
    ] = "xml",
) -> Response:
    user = basic_user(request, svc, agency)
    as_json = format == "json"
    try:
        if format not in ("xml", "json"):
            raise CaseShareError(
                "validation_error", f"Restore format {format!r} is not served; use xml or json."
            )
        if version != "2.0":
            raise CaseShareError(
                "validation_error", f"Restore version {version!r} is not served; use 2.0."
            )
        result = svc.restore(user.id, since=since or None, device_hash=state or None)
    except CaseShareError as exc:
        if as_json:
            return JSONResponse(body(exc.code, exc.message, exc.details), status_of(exc))
        return refusal(exc, "ota_restore_error")
    if as_json:
        return JSONResponse(to_json(result), headers=OPENROSA_HEADERS)
    return Response(
        to_xml(result), status_code=200, media_type="application/xml", headers=OPENROSA_HEADERS
    )
