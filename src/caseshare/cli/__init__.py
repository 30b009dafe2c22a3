"""The ``caseshare`` command: the server, agencies and accounts, scenarios, checks, device forms,
the recycle bin and audit log, the demo, migrations and benchmarks."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from caseshare.core.errors import CaseShareError
from caseshare.core.levels import Action
from caseshare.scenario.yamlines import ScenarioError
from caseshare.store import Store, database_url, open_store

#: one table from SPEC §14 codes to exit codes (0 allow/ok, 1 failed assertions, 3 deny)
EXIT_CODES = {"not_found": 4, "insufficient_access": 3}
EXIT_INVALID = 2
#: every id is a 64-bit integer: a larger one names nothing (PostgreSQL finds no row; SQLite
#: cannot even compare it)
MAX_ID = 2**63


def exit_code(error: CaseShareError) -> int:
    return EXIT_CODES.get(error.code, EXIT_INVALID)


def _fail(error: CaseShareError) -> int:
    print(f"error: {error.code}: {error.message}", file=sys.stderr)
    return exit_code(error)


def _agency(store: Store, slug: str | None) -> int:
    if slug:
        found = store.agency_by_slug(slug)
        if found is None:
            raise CaseShareError("not_found", f"Agency {slug!r} was not found.")
        return found
    agencies = store.agencies()
    if len(agencies) != 1:
        names = ", ".join(a[1] for a in agencies) or "none"
        raise CaseShareError(
            "validation_error", f"Name the agency with --agency (agencies here: {names})."
        )
    return agencies[0][0]


def _user(store: Store, agency_id: int, name: str) -> int:
    key = name.removeprefix("user:")
    found = store.user_by_name(agency_id, key)
    if found is None and key.isascii() and key.isdigit() and int(key) < MAX_ID:
        user = store.user(int(key))
        if user.agency_id == agency_id:
            return user.id
    if found is None:
        raise CaseShareError("not_found", f"User {name!r} was not found.")
    return found.id


# -- commands ---------------------------------------------------------------------------------------


def cmd_scenario_test(args: argparse.Namespace) -> int:
    from caseshare.scenario.runner import run_file

    passed = failed = 0
    invalid = False
    for name in args.files:
        path = Path(name)
        try:
            with _scenario_store(args.database) as store:
                outcomes = run_file(store, path, unique=bool(args.database))
        except ScenarioError as exc:
            print(f"{path}:{exc.line or 0}: invalid: {exc.code}: {exc.message}")
            invalid = True
            continue
        except OSError as exc:
            print(f"{path}: invalid: validation_error: cannot read the file: {exc.strerror}")
            invalid = True
            continue
        for o in outcomes:
            if o.passed:
                passed += 1
            else:
                failed += 1
                print(f"{path}:{o.line}: FAILED {o.text}\n    got: {o.got}")
    print(f"{passed} passed, {failed} failed")
    if invalid:
        return EXIT_INVALID
    return 1 if failed else 0


class _scenario_store:
    """A temporary SQLite file per scenario file, or the given database."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        self.tmp: tempfile.TemporaryDirectory[str] | None = None
        self.store: Store | None = None

    def __enter__(self) -> Store:
        if self.url:
            self.store = open_store(self.url)
        else:
            self.tmp = tempfile.TemporaryDirectory(prefix="caseshare-scenario-")
            self.store = open_store(f"sqlite:///{self.tmp.name}/scenario.db")
        return self.store

    def __exit__(self, *exc: object) -> None:
        if self.store is not None:
            self.store.close()
        if self.tmp is not None:
            self.tmp.cleanup()


def cmd_scenario_load(args: argparse.Namespace) -> int:
    """Load a world all or nothing: an invalid file leaves the database as it was."""
    from caseshare.scenario.world import World
    from caseshare.scenario.yamlines import load, read_text

    try:
        text = read_text(Path(args.file))
    except OSError as exc:
        raise CaseShareError(
            "validation_error", f"Cannot read {args.file}: {exc.strerror}."
        ) from None
    except ScenarioError as exc:
        print(f"{args.file}:{exc.line or 0}: invalid: {exc.code}: {exc.message}")
        return EXIT_INVALID
    store = open_store(args.database)
    try:
        with store.transaction():
            world = World.load(store, load(text))
    except ScenarioError as exc:
        print(f"{args.file}:{exc.line or 0}: invalid: {exc.code}: {exc.message}")
        return EXIT_INVALID
    finally:
        store.close()
    print(
        f"loaded {len(world.agencies)} agencies, {len(world.ids['users'])} users,"
        f" {len(world.cases)} cases into {database_url(args.database)}"
    )
    return 0


def _access_args(args: argparse.Namespace) -> tuple[Store, int, int]:
    store = open_store(args.database)
    agency_id = _agency(store, args.agency)
    return store, agency_id, _user(store, agency_id, args.user)


def _legend(svc: Any, agency_id: int, lines: list[str]) -> list[str]:
    """The names behind the canonical ids the lines mention (``user:6 = nina (Nina Nurse)``)."""
    names = svc.context(agency_id).directory.legend(*lines)
    return ["  where:", *(f"    {n}" for n in names)] if names else []


def cmd_check(args: argparse.Namespace) -> int:
    from caseshare.services import Caseshare

    store, agency_id, user_id = _access_args(args)
    try:
        svc = Caseshare(store)
        decision = svc.check(user_id, Action.parse(args.action), args.case)
        lines = [f"  effective level: {decision.access.level.label}"]
        lines += [f"  {reason}" for reason in decision.reasons]
        lines += _legend(svc, agency_id, [f"user:{user_id}", *lines])
    finally:
        store.close()
    print("allow" if decision.allowed else "deny")
    print("\n".join(lines))
    return 0 if decision.allowed else 3


def cmd_explain(args: argparse.Namespace) -> int:
    from caseshare.services import Caseshare

    store, agency_id, user_id = _access_args(args)
    try:
        svc = Caseshare(store)
        access = svc.explain(user_id, args.case)
        lines = [f"user:{user_id} has {access.level.label} access to case:{access.case_id}"]
        if access.blocked:
            lines.append(f"  {access.blocked}")
        lines += [f"  {grant}" for grant in access.grants]
        if not access.grants and not access.blocked:
            lines.append("  no grant applies")
        lines += _legend(svc, agency_id, lines)
    finally:
        store.close()
    print("\n".join(lines))
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    """Apply one OpenRosa form as the given user; a refused form is stored with status error."""
    from caseshare.services import Caseshare

    try:
        data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        raise CaseShareError(
            "validation_error", f"Cannot read {args.file}: {exc.strerror}."
        ) from None
    store, agency_id, user_id = _access_args(args)
    try:
        result = Caseshare(store).submit(agency_id, user_id, data, sync_token=args.sync_token)
    finally:
        store.close()
    status = "edited" if result.edited else result.status
    print(f"{status}: {result.message}")
    for case_id in result.cases:
        print(f"  case:{case_id}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """A device restore of USER: OpenRosa XML, or JSON; prints nothing else on stdout."""
    from caseshare.core.restore import dumps, to_xml
    from caseshare.services import Caseshare

    store, _, user_id = _access_args(args)
    try:
        restore = Caseshare(store).restore(user_id, since=args.since, device_hash=args.state_hash)
    finally:
        store.close()
    print(dumps(restore) if args.json else to_xml(restore))
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    store = open_store(args.database, migrate=False)
    try:
        applied = store.migrate()
        version = store.schema_version()
    finally:
        store.close()
    print(f"schema at version {version}" + (f" (applied {applied})" if applied else ""))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from caseshare.demo import load_demo, summary

    store = open_store(args.database)
    try:
        created = load_demo(store)
        print(
            ("loaded the demo agency into " if created else "the demo agency is in ")
            + database_url(args.database)
        )
        print(summary(store))
    finally:
        store.close()
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from caseshare.bench import run_bench

    return run_bench(
        size=args.size,
        store_kind=args.store,
        database=args.database,
        seed=args.seed,
        http=args.http,
        concurrency=args.concurrency,
        duration=args.duration,
        workers=args.workers,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="caseshare",
        description="Case management whose heart is case sharing.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def db(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--database",
            help="database URL (sqlite:///PATH or postgresql://…);"
            " default $CASESHARE_DATABASE_URL or sqlite:///caseshare.db",
        )

    scenario = sub.add_parser("scenario", help="run or load scenario files (SPEC §15)")
    ssub = scenario.add_subparsers(dest="scenario_command", required=True, metavar="ACTION")
    test = ssub.add_parser("test", help="check every assertion; exit 0 pass, 1 fail, 2 invalid")
    test.add_argument("files", nargs="+", metavar="FILE")
    test.add_argument(
        "--database", help="run on this database instead of a temporary SQLite file per scenario"
    )
    test.set_defaults(func=cmd_scenario_test)
    load = ssub.add_parser("load", help="load a scenario's world (assertions ignored)")
    load.add_argument("file", metavar="FILE")
    db(load)
    load.set_defaults(func=cmd_scenario_load)

    for name, func, text in (
        ("check", cmd_check, "allow or deny one action; exit 0 allow, 3 deny"),
        ("explain", cmd_explain, "every grant with its path"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("user", metavar="USER", help="username (or user:ID)")
        if name == "check":
            p.add_argument(
                "action", metavar="ACTION", help="view, edit, close, delete, share or transfer"
            )
        p.add_argument("case", metavar="CASE", help="case id")
        p.add_argument("--agency", help="agency slug (needed when there are several)")
        db(p)
        p.set_defaults(func=func)

    submit = sub.add_parser(
        "submit", help="apply one device form (OpenRosa XML with case blocks) as a user"
    )
    submit.add_argument("file", metavar="FILE", help="the form's XML file, or - for stdin")
    submit.add_argument("--user", required=True, help="the submitting user: username or user:ID")
    submit.add_argument(
        "--sync-token", metavar="TOKEN", help="the device's last restore id (S-SYNC-2)"
    )
    submit.add_argument("--agency", help="agency slug (needed when there are several)")
    db(submit)
    submit.set_defaults(func=cmd_submit)

    restore = sub.add_parser(
        "restore", help="what a field device of USER syncs (OpenRosa XML, or --json)"
    )
    restore.add_argument("user", metavar="USER", help="username (or user:ID)")
    restore.add_argument("--since", metavar="TOKEN", help="the device's last restore id")
    restore.add_argument("--state-hash", help="the device's ccsh: case state hash")
    restore.add_argument("--json", action="store_true", help="print JSON instead of XML")
    restore.add_argument("--agency", help="agency slug (needed when there are several)")
    db(restore)
    restore.set_defaults(func=cmd_restore)

    migrate = sub.add_parser("migrate", help="create or update the database schema")
    db(migrate)
    migrate.set_defaults(func=cmd_migrate)
    demo = sub.add_parser("demo", help="load the demo agency (once) and print what it holds")
    db(demo)
    demo.set_defaults(func=cmd_demo)
    bench = sub.add_parser("bench", help="measure the SPEC §16 service levels")
    bench.add_argument("--size", choices=["XS", "S", "M", "L"], default="S")
    bench.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    bench.add_argument(
        "--database",
        help="database URL (default: a temporary SQLite file, or"
        " a new database on the local PostgreSQL server)",
    )
    bench.add_argument("--seed", type=int, default=1)
    bench.add_argument(
        "--http",
        action="store_true",
        help="measure over HTTP instead: a served database and a load generator on loopback",
    )
    bench.add_argument("--concurrency", type=int, default=4, help="--http: client connections (4)")
    bench.add_argument(
        "--duration", type=float, default=10.0, help="--http: seconds per measured request (10)"
    )
    bench.add_argument("--workers", type=int, default=1, help="--http: server processes (1)")
    bench.set_defaults(func=cmd_bench)

    from caseshare.cli import accounts, admin, outbox, serve

    serve.add_parser(sub)
    accounts.add_parsers(sub)
    admin.add_parsers(sub)
    outbox.add_parsers(sub)
    return parser


def _argv_word(text: str) -> str:
    """A word of the command line as typed: its bytes that are not UTF-8 as ``\\xNN``."""
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that was never a byte
        return repr(text)
    return "'" + raw.decode("utf-8", "backslashreplace") + "'"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except CaseShareError as exc:
        return _fail(exc)
    except OverflowError:  # SQLite: an id past 64 bits, which PostgreSQL finds no row for
        return _fail(
            CaseShareError(
                "not_found", f"Nothing has that id: ids are whole numbers below {MAX_ID:,}."
            )
        )
    except UnicodeEncodeError as exc:
        if not any("\udc80" <= ch <= "\udcff" for ch in exc.object):
            return _fail(CaseShareError("validation_error", str(exc)))
        # bytes of the command line that are not UTF-8 (Python's surrogate escapes)
        return _fail(
            CaseShareError(
                "validation_error",
                f"The word {_argv_word(exc.object)} is not UTF-8 text; names, ids and other"
                " words of the command line must be.",
            )
        )
    except ValueError as exc:  # a word of the command line that is not one we know
        return _fail(CaseShareError("validation_error", str(exc)))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
