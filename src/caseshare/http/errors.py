"""One table from SPEC §14 codes to HTTP statuses, and the JSON error body every refusal has."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from caseshare.core.errors import Busy, CaseShareError

STATUS = {
    "not_found": 404,
    "insufficient_access": 403,
    "invalid_access_level": 422,
    "access_level_too_low": 422,
    "reserved_row_cause": 422,
    "read_only_share": 409,
    "cannot_share_with_owner": 422,
    "invalid_grantee": 422,
    "invalid_owner": 422,
    "no_case_sharing_group": 422,
    "multiple_case_sharing_groups": 422,
    "invalid_case_block": 422,
    "invalid_index": 422,
    "stale_sync_token": 412,
    "agreement_required": 403,
    "invalid_transition": 409,
    "validation_error": 422,
}

#: the error body's schema, for the OpenAPI document
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["code", "message", "details"],
    "properties": {
        "code": {"type": "string", "enum": sorted(STATUS)},
        "message": {"type": "string"},
        "details": {"type": "object"},
    },
}


#: one sentence per code, as the OpenAPI document's examples show each refusal
EXAMPLE_MESSAGES = {
    "not_found": "Case 'k1' was not found.",
    "insufficient_access": "You have read access to case 'k1'; to share it you need more.",
    "invalid_access_level": "A manual share gives read or edit, not full.",
    "access_level_too_low": "Everyone in the agency has read access to 'referral' cases already;"
    " a share must give more than that.",
    "reserved_row_cause": "Row cause 'rule' is reserved: only manual shares can be created.",
    "read_only_share": "Share 17 comes from team; only manual shares can be changed.",
    "cannot_share_with_owner": "group:7 owns case 'k1' already; a share would add nothing.",
    "invalid_grantee": "group:99 is not a user, group, location or role of this agency.",
    "invalid_owner": "location:3 cannot own cases: its type does not share cases.",
    "no_case_sharing_group": "You are in no case-sharing group or location; join one, or give"
    " the case an owner.",
    "multiple_case_sharing_groups": "You are in several case-sharing groups (Nurses, Clinic A);"
    " give the case an owner.",
    "invalid_case_block": "A case block has no case_id.",
    "invalid_index": "Index 'parent' names case 'k9', which does not exist in this agency.",
    "stale_sync_token": "This sync token is unknown; restore in full.",
    "agreement_required": "No approved agreement lets this agency send to that one.",
    "invalid_transition": "Another request changed the same thing at the same moment; nothing"
    " was changed. Try again.",
    "validation_error": "The request is not valid: level: Field required",
}
#: 401 has no code of its own: the nearest, insufficient_access, with signed_in false
UNAUTHENTICATED_EXAMPLE = {
    "code": "insufficient_access",
    "message": "Sign in first: send an API token (Authorization: Bearer …) or a session cookie.",
    "details": {"signed_in": False},
}


def error_content(status: int) -> dict[str, Any]:
    """The OpenAPI content of a refusal with this status: only the codes it can carry, each
    with an example (Swagger UI showed ``access_level_too_low`` for every status before)."""
    if status == 401:
        codes, examples = ["insufficient_access"], {"signed_out": UNAUTHENTICATED_EXAMPLE}
    else:
        codes = sorted(c for c, s in STATUS.items() if s == status)
        examples = {c: body(c, EXAMPLE_MESSAGES[c]) for c in codes}
    schema = {**ERROR_SCHEMA, "properties": {**ERROR_SCHEMA["properties"]}}
    schema["properties"]["code"] = {"type": "string", "enum": codes}
    return {
        "application/json": {
            "schema": schema,
            "examples": {
                name: {"summary": name, "value": value} for name, value in examples.items()
            },
        }
    }


class Unauthenticated(Exception):
    """No valid credentials: 401, with a challenge the caller can answer."""

    def __init__(self, message: str, *, basic_realm: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.basic_realm = basic_realm


def body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "details": details or {}}


def status_of(error: CaseShareError) -> int:
    if isinstance(error, Busy):  # not the caller's fault: come back later
        return 503
    if "retry_after" in error.details:  # the caller's own doing: too many failed sign-ins
        return 429
    return STATUS.get(error.code, 422)


async def domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CaseShareError)
    headers = {}
    if "retry_after" in exc.details:
        headers["Retry-After"] = str(exc.details["retry_after"])
    return JSONResponse(
        body(exc.code, exc.message, exc.details), status_code=status_of(exc), headers=headers
    )


async def unauthenticated(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Unauthenticated)
    challenge = f'Basic realm="{exc.basic_realm}", charset="UTF-8"' if exc.basic_realm else "Bearer"
    # §14 has no code of its own for "who are you?": the nearest is insufficient_access.
    return JSONResponse(
        body("insufficient_access", exc.message, {"signed_in": False}),
        status_code=401,
        headers={"WWW-Authenticate": challenge},
    )


async def invalid_request(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        problems.append(f"{where or 'body'}: {err.get('msg', 'invalid')}")
    message = "The request is not valid: " + "; ".join(problems[:5])
    return JSONResponse(
        body("validation_error", message, {"problems": problems[:20]}), status_code=422
    )


async def http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        payload = body("not_found", "There is nothing at this address.")
    elif exc.status_code == 405:
        payload = body("validation_error", "This address does not take that method.")
    elif exc.status_code == 400:  # a body that could not be read at all (e.g. nested too deep)
        return JSONResponse(
            body("validation_error", f"The request body could not be read: {exc.detail}"),
            status_code=422,
        )
    else:
        payload = body("validation_error", str(exc.detail))
    return JSONResponse(payload, status_code=exc.status_code, headers=exc.headers)


async def database_refused(_: Request, exc: Exception) -> JSONResponse:
    """Values the database cannot hold (NUL in text, a number out of range) are the caller's
    error, never a 500; SQLite would take some of them, PostgreSQL refuses them."""
    return JSONResponse(
        body(
            "validation_error",
            "A value in the request cannot be stored: text may not contain NUL or control"
            " characters, and numbers must fit in 64 bits.",
        ),
        status_code=422,
    )


async def concurrent_change(_: Request, exc: Exception) -> JSONResponse:
    """Two requests that create the same row at the same instant: the second loses, cleanly."""
    return JSONResponse(
        body(
            "invalid_transition",
            "Another request changed the same thing at the same moment; nothing was changed."
            " Try again.",
        ),
        status_code=409,
    )
