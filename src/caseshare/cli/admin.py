"""An operator's console: ``caseshare agency``, ``submission``, ``recycle-bin``, ``audit`` and
``report``. Each acts as the system through the same services as the admin screens and the API."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import re
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from caseshare.core.errors import CaseShareError
from caseshare.store import open_store

if TYPE_CHECKING:
    from caseshare.services import Caseshare


@contextlib.contextmanager
def _agency_services(args: argparse.Namespace) -> Iterator[tuple[Caseshare, int]]:
    from caseshare.cli import _agency
    from caseshare.services import Caseshare

    store = open_store(args.database)
    try:
        yield Caseshare(store), _agency(store, args.agency)
    finally:
        store.close()


def _more(cursor: str | None) -> None:
    if cursor:
        print(f"(more: add --cursor {cursor})")


def _who(svc: Caseshare, agency_id: int, actor: str | None) -> str:
    if not actor or actor == "system":
        return "system"
    from caseshare.core.principals import Principal

    name = svc.context(agency_id).directory.name_of(Principal.parse(actor))
    return f"{actor} {name}" if name else actor


# -- agency -------------------------------------------------------------------------------------


def cmd_agency_create(args: argparse.Namespace) -> int:
    """A new agency with one admin, who does everything else from the screens."""
    from caseshare.services import Caseshare

    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CaseShareError("validation_error", "No password was given on stdin.")
    store = open_store(args.database)
    try:
        made = Caseshare(store).open_agency(
            args.slug,
            args.name or args.slug,
            args.admin,
            full_name=args.full_name or "",
            email=args.email or "",
            password=password,
        )
    finally:
        store.close()
    print(f"created agency {made.slug} ({made.name}) with its admin user:{made.admin_id}")
    print("first sign-in, at /signin of `caseshare serve`:")
    print(f"  agency:   {made.slug}")
    print(f"  user:     {made.username}")
    if made.generated:
        print(f"  password: {made.password}  (shown once; change it under My account)")
    else:
        print("  password: the one given on stdin")
    return 0


def cmd_agency_list(args: argparse.Namespace) -> int:
    store = open_store(args.database)
    try:
        for agency_id, slug, name in store.agencies():
            users = store.value("SELECT count(*) FROM users WHERE agency_id = ?", (agency_id,))
            cases = store.value(
                "SELECT count(*) FROM cases WHERE agency_id = ? AND deleted = 0", (agency_id,)
            )
            print(f"{slug}\t{name}\t{users} users\t{cases} cases")
    finally:
        store.close()
    return 0


# -- submissions (S-TX-8) -----------------------------------------------------------------------

#: what a terminal takes as a command, not text: C0 controls but tab and line breaks, DEL, C1
_TERMINAL_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def cmd_submission_list(args: argparse.Namespace) -> int:
    from caseshare.cli import _user

    with _agency_services(args) as (svc, agency_id):
        user_id = _user(svc.store, agency_id, args.user) if args.user else None
        page = svc.device_forms(
            agency_id,
            None,
            status=args.status,
            user_id=user_id,
            cursor=args.cursor,
            limit=args.limit,
        )
        counts = svc.form_case_counts(page.items)
        for f in page.items:
            who = _who(svc, agency_id, f"user:{f.user_id}" if f.user_id else None)
            problem = f"  {f.problem}" if f.problem else ""
            print(
                f"{f.received_on}\t{f.status}\t{f.instance_id}\t{who}"
                f"\t{counts.get(f.id, 0)} case(s){problem}"
            )
        _more(page.older)
    return 0


def cmd_submission_show(args: argparse.Namespace) -> int:
    with _agency_services(args) as (svc, agency_id):
        found = svc.device_form(agency_id, None, args.instance_id, args.version)
        form = found.form
        print(f"form {form.instance_id} (version {form.id}): {form.status}")
        print(f"  received {form.received_on} from {_who(svc, agency_id, f'user:{form.user_id}')}")
        if form.problem:
            print(f"  problem: {form.problem}")
        print(f"  cases: {', '.join(found.cases) or 'none'}")
        others = [f"{v.id} {v.status}" for v in found.versions if v.id != form.id]
        if others:
            print(f"  other versions: {', '.join(others)}")
        # a form refused as not XML is kept as sent: its control characters (an ESC sequence
        # retitles or rewrites the admin's terminal) are shown as U+FFFD
        print(_TERMINAL_CONTROL.sub("\ufffd", form.xml))
    return 0


def cmd_submission_archive(args: argparse.Namespace) -> int:
    archive = args.submission_command == "archive"
    with _agency_services(args) as (svc, agency_id):
        change = svc.archive_submission if archive else svc.unarchive_submission
        changed = change(agency_id, None, args.instance_id)
    print(f"form {args.instance_id} {'archived' if archive else 'unarchived'}; rebuilt:")
    for case_id in changed:
        print(f"  case:{case_id}")
    return 0


# -- the recycle bin (S-SHR-8) ------------------------------------------------------------------


def cmd_bin_list(args: argparse.Namespace) -> int:
    with _agency_services(args) as (svc, agency_id):
        page = svc.recycle_bin(agency_id, None, cursor=args.cursor, limit=args.limit)
        for row in page.items:
            print(
                f"{row.case_id}\t{row.case_type}\t{row.name}\tdeleted {row.deleted_at or '?'}"
                f" by {_who(svc, agency_id, row.deleted_by)}"
            )
        _more(page.older)
    return 0


def cmd_bin_change(args: argparse.Namespace) -> int:
    restore = args.bin_command == "restore"
    with _agency_services(args) as (svc, agency_id):
        (svc.restore_case if restore else svc.purge_case)(agency_id, None, args.case)
    print(f"case:{args.case} {'restored, with its manual shares' if restore else 'purged'}")
    return 0


# -- the audit log (S-AUD-1) and the case-sharing report (S-CRT-4) -----------------------------


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CaseShareError(
            "validation_error", f"{text!r} is not a day: write YYYY-MM-DD."
        ) from None


def _plain(value: Any) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def cmd_audit(args: argparse.Namespace) -> int:
    from caseshare.cli import _user

    with _agency_services(args) as (svc, agency_id):
        who = args.actor
        if who and who != "system":
            who = f"user:{_user(svc.store, agency_id, who)}"
        page = svc.audit_log(
            agency_id,
            None,
            who=who,
            kind=args.kind,
            case_id=args.case,
            since=_day(args.since) if args.since else None,
            until=_day(args.until) if args.until else None,
            cursor=args.cursor,
            limit=args.limit,
        )
        for e in page.items:
            change = " → ".join(p for p in (_plain(e.before), _plain(e.after)) if p)
            reason = f"  ({e.reason})" if e.reason else ""
            print(
                f"{e.at}\t{_who(svc, agency_id, e.actor)}\t{e.action}\t{e.subject}"
                f"\t{change}{reason}"
            )
        _more(page.older)
    return 0


def cmd_report_case_sharing(args: argparse.Namespace) -> int:
    from caseshare.core.principals import Principal

    with _agency_services(args) as (svc, agency_id):
        rows = svc.sharing_report(agency_id, None)
        directory = svc.context(agency_id).directory
        for row in rows:
            owners = [directory.name_of(Principal.parse(p)) or p for p in row["owners"]]
            where = f": {', '.join(owners)}" if owners else ""
            print(f"{row['username']}\t{row['problem']}{where}")
    print(f"{len(rows)} user(s) not in exactly one case-sharing group or location")
    return 0


# -- the parsers --------------------------------------------------------------------------------


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    def common(p: argparse.ArgumentParser, agency: bool = True) -> None:
        if agency:
            p.add_argument("--agency", help="agency slug (needed when there are several)")
        p.add_argument(
            "--database",
            help="database URL; default $CASESHARE_DATABASE_URL or sqlite:///caseshare.db",
        )

    def paged(p: argparse.ArgumentParser) -> None:
        p.add_argument("--limit", type=int, default=50, help="rows to print (1–200, 50)")
        p.add_argument("--cursor", help="where the last page said to go on")

    agency = sub.add_parser("agency", help="create an agency with its first admin; list agencies")
    asub = agency.add_subparsers(dest="agency_command", required=True, metavar="ACTION")
    create = asub.add_parser(
        "create", help="a new agency and its admin; prints the admin's first sign-in"
    )
    create.add_argument("slug", metavar="SLUG", help="what people type as the agency to sign in")
    create.add_argument("--name", help="the agency's name (default: the slug)")
    create.add_argument("--admin", required=True, metavar="USER", help="the admin's user name")
    create.add_argument("--full-name", help="the admin's full name")
    create.add_argument("--email", help="the admin's email")
    create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the admin's password from stdin (else one is made and shown once)",
    )
    common(create, agency=False)
    create.set_defaults(func=cmd_agency_create)
    listing = asub.add_parser("list", help="every agency with its users and cases")
    common(listing, agency=False)
    listing.set_defaults(func=cmd_agency_list)

    forms = sub.add_parser(
        "submission", help="device forms: list, show, archive or unarchive (S-TX-8)"
    )
    fsub = forms.add_subparsers(dest="submission_command", required=True, metavar="ACTION")
    flist = fsub.add_parser("list", help="forms, the last received first, errors included")
    flist.add_argument(
        "--status", choices=["normal", "archived", "error", "duplicate", "deprecated"]
    )
    flist.add_argument("--user", help="only the forms of this user (username or user:ID)")
    paged(flist)
    common(flist)
    flist.set_defaults(func=cmd_submission_list)
    show = fsub.add_parser("show", help="one form: status, cases and its XML")
    show.add_argument("instance_id", metavar="ID", help="the form's instanceID")
    show.add_argument("--version", type=int, help="a stored version's number (default: current)")
    common(show)
    show.set_defaults(func=cmd_submission_show)
    for name, text in (
        ("archive", "take the form out of every case's history; its cases are rebuilt"),
        ("unarchive", "put an archived form back; its cases are rebuilt with it"),
    ):
        p = fsub.add_parser(name, help=text)
        p.add_argument("instance_id", metavar="ID", help="the form's instanceID")
        common(p)
        p.set_defaults(func=cmd_submission_archive)

    recycle = sub.add_parser("recycle-bin", help="deleted cases: list, restore, purge (S-SHR-8)")
    rsub = recycle.add_subparsers(dest="bin_command", required=True, metavar="ACTION")
    rlist = rsub.add_parser("list", help="deleted cases, the last deleted first")
    paged(rlist)
    common(rlist)
    rlist.set_defaults(func=cmd_bin_list)
    for name, text in (
        ("restore", "bring a case back, with its manual shares"),
        ("purge", "remove a deleted case for good"),
    ):
        p = rsub.add_parser(name, help=text)
        p.add_argument("case", metavar="CASE", help="case id")
        common(p)
        p.set_defaults(func=cmd_bin_change)

    audit = sub.add_parser("audit", help="the agency's audit log, newest first (S-AUD-1)")
    audit.add_argument("--actor", help="who acted: a username, user:ID, or system")
    audit.add_argument("--kind", help="what changed: case, share, user, group, rule …")
    audit.add_argument("--case", help="events of one case")
    audit.add_argument("--since", help="first day, YYYY-MM-DD (UTC)")
    audit.add_argument("--until", help="last day, YYYY-MM-DD (UTC), included")
    paged(audit)
    common(audit)
    audit.set_defaults(func=cmd_audit)

    report = sub.add_parser("report", help="diagnostic reports")
    psub = report.add_subparsers(dest="report_command", required=True, metavar="REPORT")
    sharing = psub.add_parser(
        "case-sharing", help="users not in exactly one case-sharing group or location (S-CRT-4)"
    )
    common(sharing)
    sharing.set_defaults(func=cmd_report_case_sharing)
