"""``caseshare outbox …`` and ``caseshare agreement …``: notifications and agreements at the
console (an operator acts as the system; everything is audited)."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from caseshare.core.agreements import FLAGS
from caseshare.core.errors import CaseShareError
from caseshare.store import AgreementRow, Store, open_store

if TYPE_CHECKING:
    from caseshare.services import Caseshare


@contextlib.contextmanager
def _services(args: argparse.Namespace) -> Iterator[tuple[Caseshare, Store]]:
    from caseshare.services import Caseshare

    store = open_store(args.database)
    try:
        yield Caseshare(store), store
    finally:
        store.close()


# -- outbox ----------------------------------------------------------------------------------------


def cmd_outbox_deliver(args: argparse.Namespace) -> int:
    from caseshare.services.delivery import Courier, base_url, smtp_config

    config = smtp_config(args.smtp)
    if config is None:
        raise CaseShareError(
            "validation_error",
            "No mail server: give --smtp smtp://host:port (or set CASESHARE_SMTP_URL).",
        )
    store = open_store(args.database)
    try:
        report = Courier(store, config, base_url=base_url(args.base_url)).deliver(limit=args.limit)
    finally:
        store.close()
    print(f"{config.describe()}: {report}")
    return 0


def cmd_outbox_list(args: argparse.Namespace) -> int:
    from caseshare.cli import _agency

    with _services(args) as (_, store):
        agency_id = _agency(store, args.agency) if args.agency else None
        rows = store.outbox_page(agency_id, status=args.status, limit=args.limit)
        counts = store.outbox_counts(agency_id)
    print(", ".join(f"{n} {s}" for s, n in counts.items()))
    for m in rows:
        to = f"{m.recipient_name} <{m.recipient_email or 'no email'}>"
        line = f"{m.id:>6}  {m.status:<8} {m.kind:<22} {to}  attempts {m.attempts}  {m.subject}"
        print(line)
        if m.last_error:
            print(f"        {m.last_error}")
    return 0


def cmd_outbox_retry(args: argparse.Namespace) -> int:
    with _services(args) as (svc, store):
        row = store.outbox_row(args.message_id)
        if row is None or row.agency_id is None:
            raise CaseShareError("not_found", f"Message {args.message_id} was not found.")
        svc.retry_message(row.agency_id, None, row.id)
    print(f"message {args.message_id} is queued again")
    return 0


# -- agreements ----------------------------------------------------------------------------------


def _line(row: AgreementRow) -> str:
    a = row.agreement

    def switches(slug: str, flags: dict[str, bool]) -> str:
        on = [f.replace("_", "-") for f in FLAGS if f != "enabled" and flags[f]]
        state = "" if flags["enabled"] else " (disabled)"
        return f"{slug}: {' '.join(on) or 'nothing'}{state}"

    dates = f"{a.start or 'any time'} to {a.end or 'no end'}"
    return (
        f"{a.id:>5}  {row.proposer_slug} → {row.partner_slug}  {a.status.value:<10} {dates}  "
        f"{switches(row.proposer_slug, a.proposer.flags())}; "
        f"{switches(row.partner_slug, a.partner.flags())}"
    )


def _flags(args: argparse.Namespace) -> dict[str, bool]:
    return {f: True for f in FLAGS if f != "enabled" and getattr(args, f, False)}


def cmd_agreement_list(args: argparse.Namespace) -> int:
    from caseshare.cli import _agency

    with _services(args) as (_, store):
        ids = [_agency(store, args.agency)] if args.agency else [a[0] for a in store.agencies()]
        seen: dict[int, AgreementRow] = {}
        for agency_id in ids:
            for row in store.agreements_of(agency_id, limit=10_000):
                seen[row.id] = row
    for row in sorted(seen.values(), key=lambda r: r.id):
        print(_line(row))
    if not seen:
        print("no agreements")
    return 0


def cmd_agreement_propose(args: argparse.Namespace) -> int:
    from caseshare.cli import _agency

    with _services(args) as (svc, store):
        row = svc.propose_agreement(
            _agency(store, args.agency),
            None,
            args.to,
            _flags(args),
            start=args.start,
            end=args.end,
        )
    print(_line(row))
    return 0


def _agreement(store: Store, agreement_id: int) -> AgreementRow:
    row = store.agreement_row(agreement_id)
    if row is None:
        raise CaseShareError("not_found", f"Agreement {agreement_id} was not found.")
    return row


def cmd_agreement_answer(args: argparse.Namespace) -> int:
    with _services(args) as (svc, store):
        a = _agreement(store, args.agreement_id).agreement
        approve = args.agreement_command == "approve"
        row = svc.answer_agreement(
            a.partner.agency_id,
            None,
            a.id,
            approve=approve,
            reason=getattr(args, "reason", None),
            flags=_flags(args) or None,
        )
    print(_line(row))
    return 0


def cmd_agreement_close(args: argparse.Namespace) -> int:
    from caseshare.cli import _agency

    with _services(args) as (svc, store):
        a = _agreement(store, args.agreement_id).agreement
        if args.agreement_command == "withdraw":
            row = svc.withdraw_agreement(a.proposer.agency_id, None, a.id, args.reason)
        else:
            side = _agency(store, args.agency) if args.agency else a.proposer.agency_id
            row = svc.end_agreement(side, None, a.id, args.reason)
    print(_line(row))
    return 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    def db(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--database",
            help="database URL; default $CASESHARE_DATABASE_URL or sqlite:///caseshare.db",
        )

    outbox = sub.add_parser("outbox", help="the notification outbox: deliver, list, retry")
    osub = outbox.add_subparsers(dest="outbox_command", required=True, metavar="ACTION")
    deliver = osub.add_parser(
        "deliver", help="send every message that is due, once (for cron), then exit"
    )
    deliver.add_argument(
        "--smtp",
        metavar="URL",
        help="smtp://[user[:password]@]host[:port][?starttls=true&from=ADDR] or smtps://…;"
        " default $CASESHARE_SMTP_URL",
    )
    deliver.add_argument(
        "--base-url",
        metavar="URL",
        help="the server's address, put before page paths in messages; default $CASESHARE_BASE_URL",
    )
    deliver.add_argument("--limit", type=int, help="send at most this many messages")
    db(deliver)
    deliver.set_defaults(func=cmd_outbox_deliver)
    listing = osub.add_parser("list", help="messages, newest first, with counts by status")
    listing.add_argument("--agency", help="one agency's messages (default: every agency's)")
    listing.add_argument("--status", choices=["pending", "sent", "failed", "skipped"])
    listing.add_argument("--limit", type=int, default=50)
    db(listing)
    listing.set_defaults(func=cmd_outbox_list)
    retry = osub.add_parser("retry", help="queue a failed message again")
    retry.add_argument("message_id", metavar="ID", type=int)
    db(retry)
    retry.set_defaults(func=cmd_outbox_retry)

    agreement = sub.add_parser(
        "agreement", help="agreements between agencies (S-AG-1), as the system"
    )
    asub = agreement.add_subparsers(dest="agreement_command", required=True, metavar="ACTION")

    def switches(p: argparse.ArgumentParser, whose: str) -> None:
        for flag in FLAGS:
            if flag != "enabled":
                p.add_argument(
                    f"--{flag.replace('_', '-')}", action="store_true", help=f"{whose} switch on"
                )

    lst = asub.add_parser("list", help="every agreement (or one agency's)")
    lst.add_argument("--agency", help="agency slug")
    db(lst)
    lst.set_defaults(func=cmd_agreement_list)
    propose = asub.add_parser("propose", help="propose an agreement from --agency to --to")
    propose.add_argument("--agency", required=True, help="the proposing agency's slug")
    propose.add_argument("--to", required=True, help="the partner agency's slug")
    propose.add_argument("--start", help="first day, YYYY-MM-DD (UTC)")
    propose.add_argument("--end", help="last day, YYYY-MM-DD (UTC)")
    switches(propose, "the proposer's")
    db(propose)
    propose.set_defaults(func=cmd_agreement_propose)
    approve = asub.add_parser("approve", help="approve as the partner agency")
    approve.add_argument("agreement_id", metavar="ID", type=int)
    switches(approve, "the partner's (given ones replace the mirrored defaults)")
    db(approve)
    approve.set_defaults(func=cmd_agreement_answer)
    reject = asub.add_parser("reject", help="reject as the partner agency, with a reason")
    reject.add_argument("agreement_id", metavar="ID", type=int)
    reject.add_argument("--reason", required=True)
    db(reject)
    reject.set_defaults(func=cmd_agreement_answer)
    for name, text in (
        ("withdraw", "withdraw a pending proposal, as the proposer"),
        ("end", "end an approved agreement (as --agency, default the proposer)"),
    ):
        p = asub.add_parser(name, help=text)
        p.add_argument("agreement_id", metavar="ID", type=int)
        p.add_argument("--reason")
        if name == "end":
            p.add_argument("--agency", help="the side that ends it")
        db(p)
        p.set_defaults(func=cmd_agreement_close)
