"""The "My account" screen: who I am, my View cases setting, my password, my API tokens, and
signing out (here, or of every browser).

A new token's secret is shown once, on the page that answers the form (no redirect: the secret
never travels in a cookie or an address), and only its hash is kept.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import RedirectResponse

from caseshare.core.errors import CaseShareError
from caseshare.http.auth import SESSION_COOKIE, Service
from caseshare.http.routes.session import set_session
from caseshare.http.web.caselist import LAYOUT_NAMES
from caseshare.http.web.forms import FormState, form_text
from caseshare.http.web.templating import redirect, render
from caseshare.http.web.viewer import Posting, Viewer, Viewing, names
from caseshare.services import Caseshare

router = APIRouter(include_in_schema=False)

TokenId = Annotated[int, Path(ge=1, le=2**62)]
PERMISSION_WORDS = {
    "admin": "agency admin",
    "view_all": "view all cases",
    "modify_all": "modify all cases",
    "transfer": "change the owner of cases they can edit",
}
PASSWORD_FIELDS = {"current_password", "new_password", "confirm_password"}


def show(
    request: Request,
    svc: Caseshare,
    viewer: Viewer,
    *,
    password_form: FormState | None = None,
    token_form: FormState | None = None,
    layout_form: FormState | None = None,
    new_token: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    ctx, user = svc.user(viewer.user_id)
    words = names(svc, viewer)
    role = ctx.directory.roles.get(user.role_id) if user.role_id is not None else None
    belongs = [
        words.principal(p)
        for p in svc.owner_ids(viewer.user_id)
        if p.kind != "user"  # the groups and locations whose cases the user works
    ]
    layout = svc.view_layout(viewer.user_id)
    forms = [f for f in (password_form, token_form, layout_form) if f is not None]
    context = {
        "title": "My account",
        "user": user,
        "role": role.name if role else "",
        "permissions": [PERMISSION_WORDS.get(p, p) for p in sorted(user.permissions)],
        "belongs": belongs,
        "tokens": svc.tokens(viewer.user_id),
        "new_token": new_token,
        "password_form": password_form or FormState(),
        "token_form": token_form or FormState(),
        "layout_form": layout_form or FormState({"layout": layout}),
        "layout_options": list(LAYOUT_NAMES.items()),
        "summary": FormState(problems=[p for f in forms for p in f.problems]),
    }
    return render(request, "account.html", context, status)


@router.get("/account")
def my_account(request: Request, svc: Service, viewer: Viewing) -> Response:
    return show(request, svc, viewer)


@router.post("/account/layout")
async def save_layout(request: Request, svc: Service, viewer: Posting) -> Response:
    layout = form_text(await request.form(), "layout", 20)
    form = FormState({"layout": layout})
    try:
        svc.set_view_layout(viewer.user_id, layout)
    except CaseShareError as exc:
        form.refused(exc, {}, "layout")
        return show(request, svc, viewer, layout_form=form, status=422)
    return redirect(
        "/account", f"Your View cases setting is now {LAYOUT_NAMES[layout]}: View cases opens it."
    )


@router.post("/account/password")
async def change_password(request: Request, svc: Service, viewer: Posting) -> Response:
    posted = await request.form()
    current = form_text(posted, "current_password", 1024)
    new = form_text(posted, "new_password", 1024)
    confirm = form_text(posted, "confirm_password", 1024)
    form = FormState()  # passwords are never sent back to the browser
    if not current:
        form.refuse("current_password", "Enter your current password.")
    if not new:
        form.refuse("new_password", "Enter a new password.")
    elif new != confirm:
        form.refuse("confirm_password", "The two new passwords are not the same; type it again.")
    if form.ok:
        try:
            svc.change_own_password(viewer.user_id, current, new)
        except CaseShareError as exc:
            field = exc.details.get("field")
            if field not in PASSWORD_FIELDS:
                field = "current_password" if "retry_after" in exc.details else "new_password"
            form.refuse(field, exc.message, exc.code)
            status = 429 if "retry_after" in exc.details else 422
            response = show(request, svc, viewer, password_form=form, status=status)
            if "retry_after" in exc.details:
                response.headers["Retry-After"] = str(exc.details["retry_after"])
            return response
    if not form.ok:
        return show(request, svc, viewer, password_form=form, status=422)
    response = redirect(
        "/account",
        "Your password is changed. Every other browser signed in as you was signed out.",
    )
    # every session ended with the change; this browser stays signed in, on a new one
    set_session(request, response, svc.start_session(viewer.user_id))
    return response


@router.post("/account/tokens")
async def create_token(request: Request, svc: Service, viewer: Posting) -> Response:
    name = form_text(await request.form(), "token_name", 200).strip()
    form = FormState({"token_name": name})
    try:
        token_id, secret = svc.create_token(viewer.user_id, name)
    except CaseShareError as exc:
        form.refused(exc, {}, "token_name")
        return show(request, svc, viewer, token_form=form, status=422)
    created = {"id": token_id, "name": name, "secret": secret}
    return show(request, svc, viewer, new_token=created)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(svc: Service, viewer: Posting, token_id: TokenId) -> Response:
    name = next((t["name"] for t in svc.tokens(viewer.user_id) if t["id"] == token_id), None)
    svc.revoke_token(viewer.user_id, token_id)  # someone else's token: not found, the 404 page
    return redirect(
        "/account", f"Revoked the token “{name}”: programs using it can no longer sign in."
    )


@router.post("/account/sign-out-everywhere")
def sign_out_everywhere(svc: Service, viewer: Posting) -> Response:
    svc.end_all_sessions(viewer.user_id)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
