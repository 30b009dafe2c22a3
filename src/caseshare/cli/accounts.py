"""``caseshare user …`` and ``caseshare token …``: accounts for administrators at the console."""

from __future__ import annotations

import argparse
import contextlib
import secrets
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from caseshare.core.errors import CaseShareError
from caseshare.store import open_store

if TYPE_CHECKING:
    from caseshare.services import Caseshare


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """The password from stdin (--password-stdin), else a new random one (to be shown once)."""
    if args.password_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise CaseShareError("validation_error", "No password was given on stdin.")
        return line, False
    return secrets.token_urlsafe(12), True


def cmd_user_create(args: argparse.Namespace) -> int:
    from caseshare.cli import _agency
    from caseshare.services import Caseshare

    password, generated = _password(args)
    store = open_store(args.database)
    try:
        agency_id = _agency(store, args.agency)
        svc = Caseshare(store)
        perms = list(args.permission or []) + (["admin"] if args.admin else [])
        with store.transaction():
            user_id = svc.create_user(
                agency_id,
                None,
                args.username,
                full_name=args.full_name or "",
                email=args.email or "",
                permissions=perms,
            )
            svc.set_password(agency_id, None, user_id, password)
    finally:
        store.close()
    print(f"created user:{user_id} {args.username}")
    if generated:
        print(f"password: {password}  (shown once; the user can change it)")
    return 0


@contextlib.contextmanager
def _account(args: argparse.Namespace) -> Iterator[tuple[Caseshare, int, int]]:
    """The services over ``--database``, the agency and the user USERNAME names; closed after."""
    from caseshare.cli import _agency, _user
    from caseshare.services import Caseshare

    store = open_store(args.database)
    try:
        agency_id = _agency(store, args.agency)
        yield Caseshare(store), agency_id, _user(store, agency_id, args.username)
    finally:
        store.close()


def cmd_user_active(args: argparse.Namespace) -> int:
    active = args.user_command == "activate"
    with _account(args) as (svc, agency_id, user_id):
        svc.set_active(agency_id, None, user_id, active)
    print(f"user:{user_id} {args.username} is now {'active' if active else 'inactive'}")
    return 0


def cmd_user_password(args: argparse.Namespace) -> int:
    password, generated = _password(args)
    with _account(args) as (svc, agency_id, user_id):
        svc.set_password(agency_id, None, user_id, password)
    print(f"password of user:{user_id} {args.username} changed; their sessions are ended")
    if generated:
        print(f"password: {password}  (shown once)")
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    with _account(args) as (svc, _, user_id):
        token_id, secret = svc.create_token(user_id, args.name)
    print(f"token {token_id} for user:{user_id} {args.username} ({args.name}):")
    print(secret)
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    with _account(args) as (svc, _, user_id):
        svc.revoke_token(user_id, args.token_id)
    print(f"token {args.token_id} of {args.username} revoked")
    return 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--agency", help="agency slug (needed when there are several)")
        p.add_argument(
            "--database",
            help="database URL; default $CASESHARE_DATABASE_URL or sqlite:///caseshare.db",
        )

    def password(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from the first line of stdin (else one is made and shown)",
        )

    user = sub.add_parser("user", help="create, deactivate or reactivate users; set passwords")
    usub = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    create = usub.add_parser("create", help="a new user with a password (admin with --admin)")
    create.add_argument("username", metavar="USERNAME")
    create.add_argument("--full-name")
    create.add_argument("--email")
    create.add_argument("--admin", action="store_true", help="give the admin permission")
    create.add_argument(
        "--permission",
        action="append",
        choices=["admin", "view_all", "modify_all", "transfer"],
        help="a permission to give (repeatable)",
    )
    password(create)
    common(create)
    create.set_defaults(func=cmd_user_create)
    for name, text in (
        ("deactivate", "take all access away at once (S-ACC-4); sessions and tokens stop working"),
        ("activate", "give a deactivated user their access back"),
    ):
        p = usub.add_parser(name, help=text)
        p.add_argument("username", metavar="USERNAME")
        common(p)
        p.set_defaults(func=cmd_user_active)
    pw = usub.add_parser("password", help="set a user's password (ends their sessions)")
    pw.add_argument("username", metavar="USERNAME")
    password(pw)
    common(pw)
    pw.set_defaults(func=cmd_user_password)

    token = sub.add_parser("token", help="API tokens for programs")
    tsub = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    tc = tsub.add_parser("create", help="a new API token for USERNAME; the secret is shown once")
    tc.add_argument("username", metavar="USERNAME")
    tc.add_argument("--name", required=True, help="what the token is for")
    common(tc)
    tc.set_defaults(func=cmd_token_create)
    tr = tsub.add_parser("revoke", help="revoke one of USERNAME's tokens by its id")
    tr.add_argument("username", metavar="USERNAME")
    tr.add_argument("token_id", metavar="ID", type=int)
    common(tr)
    tr.set_defaults(func=cmd_token_revoke)
