"""Connections, transactions and migrations shared by the SQLite and PostgreSQL stores."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlparse

from caseshare.core.errors import CaseShareError
from caseshare.store.contention import contention
from caseshare.store.dialect import POSTGRES, SQLITE, Dialect
from caseshare.store.schema import MIGRATIONS

Row = tuple[Any, ...]


def utcnow() -> str:
    """Server time as fixed-width ISO-8601 UTC text, so it sorts the same on both stores."""
    return timestamp(dt.datetime.now(dt.UTC))


def timestamp(when: dt.datetime) -> str:
    """A moment as the store writes times (``utcnow``'s form)."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sqlite_path(url: str) -> str:
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///") :] or ":memory:"
    if url.startswith("sqlite://"):
        return url[len("sqlite://") :] or ":memory:"
    return url


def _write_ahead(raw: sqlite3.Connection, busy_ms: int) -> None:
    """Put a SQLite database in WAL mode. Switching a new file to WAL needs it to itself, and
    SQLite answers "database is locked" at once, busy timeout or not, to connections that
    open the file together (two ``caseshare serve`` started at once): wait for the one that
    switches it, up to the busy timeout."""
    deadline = time.monotonic() + busy_ms / 1000
    while True:
        try:
            if raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            raw.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


#: how long a note made in passing by a read waits for a lock before it is skipped
PASSING_WAIT_MS = 50
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|h)?\s*$", re.ASCII)
_UNIT_MS = {"ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000}


def lock_timeout_ms(text: str) -> int:
    """A lock timeout in PostgreSQL's units (``500ms``, ``10s``, ``1min``; a bare number is
    milliseconds), as milliseconds."""
    found = _DURATION.match(text)
    if found is None:
        raise CaseShareError(
            "validation_error",
            f"CASESHARE_LOCK_TIMEOUT {text!r} is not a duration such as 500ms, 10s or 1min.",
        )
    return int(float(found[1]) * _UNIT_MS[found[2] or "ms"])


#: every connection of this process gets its own serial (``id()`` of a closed one is reused)
_SERIALS = itertools.count(1)
#: bumped after every transaction of any connection of this process ends (committed or rolled
#: back): with each connection's ``total_changes`` and ``PRAGMA data_version`` it makes the
#: stamp of ``read_stamp``; under a lock, so it only ever grows
_EPOCH_LOCK = threading.Lock()
_write_epoch = 0


def _bump_epoch() -> None:
    global _write_epoch
    with _EPOCH_LOCK:
        _write_epoch += 1


#: ``Connection.shared_stamp``: one generation for every SQLite connection of this process,
#: bumped whenever a connection sees that something was written since it last looked
_SHARED_LOCK = threading.Lock()
_shared_generation = 0


#: at most so many hot statement texts remembered per connection (psycopg keeps at most
#: ``prepared_max``, 100, prepared statements; the oldest are dropped first)
_HOT_MAX = 64
#: the advisory-lock class under which ``migrate`` runs alone (PostgreSQL)
_MIGRATE_LOCK = 0x434D  # "CM"
#: statement texts PostgreSQL plans afresh at every run (``planned_each_run``)
_FRESH: set[str] = set()


def planned_each_run(sql: str) -> str:
    """Mark ``sql`` as never prepared on PostgreSQL (psycopg's ``prepare=False``): planned for
    its parameters and the table's current size at every run. psycopg prepares a statement
    after five runs, and PostgreSQL then keeps a generic plan made from the statistics of that
    moment until the table is analyzed again: a plan made while a table was nearly empty (a
    new database; the bench's form tables after its ANALYZE) scans the table where an index
    probe is needed, and goes on scanning as the table grows (issue 12 item 4: the history
    read of a form, 0.3 ms per case at 5,000 transactions). For a short statement whose
    table grows from empty, planning (tens of µs) is the cheaper risk. Returns ``sql``."""
    _FRESH.add(sql)
    return sql


def _database_file(path: str) -> tuple[str, int, int] | None:
    """The database file a SQLite connection has just opened at ``path``: (absolute path,
    device, inode), read when it is opened, never later (a relative path names another file
    once the working directory moves; a file put in its place is another database). None where
    there is no file to share (in memory, a URI with options): ``shared_stamp`` then keeps the
    connection's own stamp."""
    if path == ":memory:" or "mode=memory" in path or path.startswith("file:"):
        return None
    # the file itself, not its name: a file made anew where another was (tests) is another
    # database, whose connections must never share a stamp with the old one's
    try:
        found = os.stat(path)
    except OSError:  # not a plain file path
        return None
    return (os.path.abspath(path), found.st_dev, found.st_ino)


class Connection:
    """One database connection with explicit transactions; nested blocks become savepoints."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.serial = next(_SERIALS)
        #: what ``shared_stamp`` last saw on this connection (None: it never looked), and the
        #: database file it opened (path, device, inode; None: no file to share, its own stamp)
        self._seen: tuple[int, int, int] | None = None
        self._file: tuple[str, int, int] | None = None
        scheme = urlparse(url).scheme
        self._depth = 0
        self._lock = threading.RLock()
        #: agencies whose structure the open transaction changed (uncommitted: never cached)
        self.changed_agencies: set[int] = set()
        #: the agency contexts that include them, for this transaction only (ContextCache)
        self.pending_contexts: dict[int, Any] = {}
        #: the texts of the access check's statements, prepared at their first run (``rows``)
        self._hot: set[str] = set()
        #: PostgreSQL: statements sent with the next one that needs an answer (``later``)
        self._later: list[tuple[str, Sequence[Any]]] = []
        if scheme.startswith("postgres"):
            import psycopg

            self.dialect: Dialect = POSTGRES
            self._raw: Any = psycopg.connect(url, autocommit=True)
            # Short OLTP queries: JIT compilation costs far more than it saves (seen: 0.9 s
            # of JIT on a 0.1 s count).
            self._raw.execute("SET jit = off")
            # Visible-case sets are hashed in memory; at 4 MB (the default) a set of 100k+
            # cases spills to a per-row subplan and a count turns quadratic.
            self._raw.execute("SET work_mem = '64MB'")
            # A lock wait (an agency's submission lock included) that outlives this is an error,
            # never a hang: CASESHARE_LOCK_TIMEOUT, in PostgreSQL units, default 60s.
            timeout = os.environ.get("CASESHARE_LOCK_TIMEOUT", "60s")
            self._raw.execute("SELECT set_config('lock_timeout', %s, false)", (timeout,))
        elif scheme == "sqlite" or "://" not in url:
            self.dialect = SQLITE
            self._raw = sqlite3.connect(
                sqlite_path(url), isolation_level=None, check_same_thread=False
            )
            # A writer waits this long for the write lock before it is refused (``Busy``):
            # CASESHARE_LOCK_TIMEOUT as on PostgreSQL, default 10 s.
            busy = lock_timeout_ms(os.environ.get("CASESHARE_LOCK_TIMEOUT") or "10s")
            self._busy_ms = busy
            self._raw.execute(f"PRAGMA busy_timeout={busy}")
            _write_ahead(self._raw, busy)
            for pragma in ("PRAGMA foreign_keys=ON", "PRAGMA synchronous=NORMAL"):
                self._raw.execute(pragma)
            self._file = _database_file(sqlite_path(url))
        else:
            raise CaseShareError(
                "validation_error",
                f"Unsupported database URL {url!r}: use sqlite:///PATH or postgresql://…",
            )

    @property
    def is_postgres(self) -> bool:
        return self.dialect is POSTGRES

    def close(self) -> None:
        _bump_epoch()
        self._raw.close()

    def read_stamp(self) -> tuple[int, int, int, int] | None:
        """A stamp of everything this connection can read, or None when there is none to
        trust (PostgreSQL; inside a transaction or snapshot). Taken BEFORE a read, it is equal
        later on the same connection only if nothing was written in between, by anyone:

        - ``PRAGMA data_version`` moves whenever any OTHER connection, of any process,
          commits to the database;
        - ``total_changes`` counts every row this connection's own statements changed
          (autocommitted or not, through any path: execute, executemany, bulk_insert);
        - the process-wide write epoch moves when any transaction of this process ends
          (committed or rolled back) and when a connection closes: for row writes it repeats
          what the two above say already; it is there for what they may not count (DDL
          in a transaction changes no row, yet may change what a read returns).

        What is read under a stamp may be kept and used while ``read_stamp`` returns the same
        stamp (``AccessService``'s fact cache, ``ContextCache``): any write anywhere changes it,
        so the hit rate falls under writes, never the correctness. PostgreSQL has no cheap
        synchronous equivalent (LISTEN/NOTIFY arrives late): there, no stamp, no cache."""
        if self.dialect is not SQLITE or self._depth:
            return None
        raw = self._raw
        epoch, changes = _write_epoch, raw.total_changes
        version = raw.execute("PRAGMA data_version").fetchone()[0]
        return (self.serial, epoch, changes, version)

    def shared_stamp(self) -> tuple[Any, ...] | None:
        """``read_stamp``'s promise for every SQLite connection of this process to the same
        database file: what is read under it on one connection may be used on another while
        ``shared_stamp`` returns the same stamp there. None where ``read_stamp`` is None.

        The stamp is the file and a process-wide generation. Each connection, when asked,
        compares what ``read_stamp`` reads of it (the write epoch, its ``total_changes``, its
        ``PRAGMA data_version``) with what it saw when last asked, and bumps the generation
        when they differ (or when it was never asked). So after any write W, by anyone: every
        connection that looked before W bumps at its first look after it; one that never
        looked before W bumps at its first look. Either bump comes after W, hence after any
        stamp taken before W, and the first connection to look after W has bumped before it
        returns: a stamp taken before W never equals one taken after it. A connection that
        sees W late only bumps again (a miss, never a stale answer). An in-memory database is
        each connection's own: its stamp stays per connection."""
        if self.dialect is not SQLITE or self._depth:
            return None
        if self._file is None:  # an in-memory database, a URI: this connection's own stamp
            return self.read_stamp()
        global _shared_generation
        raw = self._raw
        with _SHARED_LOCK:
            seen = (
                _write_epoch,
                raw.total_changes,
                raw.execute("PRAGMA data_version").fetchone()[0],
            )
            if seen != self._seen:
                self._seen = seen
                _shared_generation += 1
            return (self._file, _shared_generation)

    def list_stamp(self) -> tuple[Any, ...] | None:
        """A stamp for what a list page holds between pages (``store.livesets``): on SQLite
        ``shared_stamp`` (a server's connections share users' live sets); on PostgreSQL
        outside a transaction, the server's MVCC snapshot (``pg_current_snapshot()``: xmin,
        xmax and the transactions in progress), one round trip. Two snapshots with the same
        text see exactly the same committed transactions, and what a snapshot sees only
        grows, so when the stamps read before and after some statements are equal, each of
        those statements saw the data the stamp names, whatever committed meanwhile elsewhere
        (any commit or abort of any transaction in the cluster changes the text: the hit rate
        falls under writes, never the correctness). None inside a transaction: its own
        uncommitted writes are not in any stamp."""
        if self.dialect is SQLITE:
            return self.shared_stamp()
        if self._depth:
            return None
        return (self.url, self.value("SELECT pg_current_snapshot()::text"))

    @property
    def healthy(self) -> bool:
        """False once the connection is closed or the database dropped it."""
        if self.dialect is SQLITE:
            return True
        return not (self._raw.closed or self._raw.broken)

    @property
    def in_transaction(self) -> bool:
        return self._depth > 0

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all; nesting uses savepoints."""
        with self._lock:
            depth = self._depth
            if depth == 0 and self.dialect is SQLITE:
                self._control("BEGIN IMMEDIATE")
            elif depth == 0:
                # sent with the transaction's first statement: one round trip fewer (``later``)
                self._later.append(("BEGIN", ()))
            else:
                self._control(f"SAVEPOINT sp{depth}")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if depth == 0:
                    self.changed_agencies.clear()
                    self.pending_contexts.clear()
                    try:
                        self._discard_later(top=True)
                    finally:
                        _bump_epoch()  # what was read of its own writes is gone (read_stamp)
                else:
                    self._discard_later(top=False)
                    self._control(f"ROLLBACK TO SAVEPOINT sp{depth}")
                raise
            self._depth -= 1
            if depth == 0:
                self.changed_agencies.clear()
                self.pending_contexts.clear()
                try:
                    self._control("COMMIT")
                except BaseException:
                    # a COMMIT SQLite could not finish (busy) leaves the transaction open
                    with contextlib.suppress(Exception):  # reason: the COMMIT's error is the one
                        self._raw.execute("ROLLBACK")
                    raise
                finally:
                    _bump_epoch()  # committed or not, every stamp taken before is stale
            else:
                self._control(f"RELEASE SAVEPOINT sp{depth}")

    @contextlib.contextmanager
    def in_passing(self) -> Iterator[None]:
        """A write transaction that gives up (``Busy``) after ``PASSING_WAIT_MS`` instead of
        waiting out the lock timeout: for what a read notes in passing (a recent case, a token's
        last use), which must never hold the read up behind a long write."""
        if self._depth:  # inside another write, which holds its locks already
            with self.transaction():
                yield
            return
        with self._lock:
            if self.dialect is SQLITE:
                self._raw.execute(f"PRAGMA busy_timeout={PASSING_WAIT_MS}")
                try:
                    with self.transaction():
                        yield
                finally:
                    self._raw.execute(f"PRAGMA busy_timeout={self._busy_ms}")
                return
            with self.transaction():
                self._run(f"SET LOCAL lock_timeout = '{PASSING_WAIT_MS}ms'", ())
                yield

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads that see one state of the database and never wait for a writer: SQLite's
        deferred transaction (a WAL read snapshot, no write lock), PostgreSQL's repeatable read,
        read only. Inside a transaction, that transaction's own view."""
        with self._lock:
            if self._depth:
                yield
                return
            self._control(
                "BEGIN"
                if self.dialect is SQLITE
                else "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
            )
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                self._control("ROLLBACK")  # nothing was written

    def _control(self, statement: str) -> None:
        self._run(statement, (), control=True)

    def later(self, sql: str, params: Sequence[Any] = ()) -> None:
        """A write whose answer nobody reads, inside a transaction on PostgreSQL: sent in one
        pipeline with the next statement that needs an answer (or the ``COMMIT``), not a round
        trip of its own. The server runs the statements in the order they were given, so
        every later read sees it, and an error it raises ends the transaction all the same
        (raised by the statement it was sent with). A form's writes and its ``COMMIT`` go in
        one round trip (issue 12 item 4). Outside a transaction, and on SQLite, run now."""
        if self.dialect is SQLITE or not self._depth:
            self._run(sql, params)
        else:
            self._later.append((sql, params))

    def _discard_later(self, *, top: bool) -> None:
        """A rollback: writes not sent yet are dropped; a ``BEGIN`` never sent needs no
        ``ROLLBACK``."""
        unsent_begin = bool(self._later) and self._later[0][0] == "BEGIN"
        self._later.clear()
        if top and not unsent_begin:
            self._control("ROLLBACK")

    def _send_later(self) -> None:
        """The statements ``later`` holds, into the open pipeline (the caller's)."""
        queued, self._later = self._later, []
        for sql, params in queued:
            control = sql == "BEGIN"
            text = sql if control else self.dialect.sql(sql)
            self._raw.execute(text, tuple(params), prepare=False if sql in _FRESH else None)

    def _run(self, sql: str, params: Sequence[Any], *, control: bool = False) -> Any:
        """One statement; a lock wait that ran out or a deadlock becomes a clean refusal.
        A ``hot`` statement (see ``rows``) is prepared on PostgreSQL at its first run."""
        try:
            text = sql if control else self.dialect.sql(sql)
            if self._later:
                with self._raw.pipeline():
                    self._send_later()
                    return self._raw.execute(
                        text,
                        tuple(params),
                        prepare=True if sql in self._hot else False if sql in _FRESH else None,
                    )
            if sql in self._hot:
                return self._raw.execute(text, tuple(params), prepare=True)
            if sql in _FRESH:
                return self._raw.execute(text, tuple(params), prepare=False)
            return self._raw.execute(text, tuple(params))
        except Exception as exc:
            refusal = contention(exc)
            if refusal is None:
                raise
            raise refusal from exc

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._run(sql, params)

    def rows_together(
        self, statements: Sequence[tuple[str, Sequence[Any]]], *, hot: bool = False
    ) -> list[list[Row]]:
        """Independent queries (none reads another's answer): on PostgreSQL sent at once in
        psycopg's pipeline mode, one round trip for all; on SQLite one after the other.
        ``hot`` as for ``rows``."""
        if not statements:
            return []
        if self.dialect is SQLITE or (len(statements) < 2 and not self._later):
            return [self.rows(sql, params, hot=hot) for sql, params in statements]
        prepare = True if hot else None  # None: psycopg's own threshold
        try:
            with self._raw.pipeline():
                self._send_later()
                cursors = [
                    self._raw.execute(
                        self.dialect.sql(sql),
                        tuple(params),
                        prepare=False if sql in _FRESH else prepare,
                    )
                    for sql, params in statements
                ]
            return [list(cursor.fetchall()) for cursor in cursors]
        except Exception as exc:
            refusal = contention(exc)
            if refusal is None:
                raise
            raise refusal from exc

    def _hot_or_not(self, sql: str, params: Sequence[Any], hot: bool) -> Any:
        if hot and self.dialect is not SQLITE and sql not in self._hot:
            if len(self._hot) >= _HOT_MAX:  # shapes are few; a bound all the same
                self._hot.clear()
            self._hot.add(sql)
        return self._run(sql, params)

    def rows(self, sql: str, params: Sequence[Any] = (), *, hot: bool = False) -> list[Row]:
        """``hot``: a statement of every access check. psycopg prepares a statement itself
        only after ``prepare_threshold`` (5) runs of the same text and parameter types, each
        planned from scratch; the check's statements have one text per shape of the user's
        visibility filter (about twenty shapes at size S), and each of a shape's first five
        runs cost 1.4 to 2 ms against 0.25 ms once prepared on a generic plan (issue 12 item
        5). Prepared at the first run instead (psycopg keeps ``prepared_max`` per connection);
        the server still plans its first five executions for their parameters (~1.1 ms)."""
        return list(self._hot_or_not(sql, params, hot).fetchall())

    def rows_generic(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """``rows`` for a statement whose text is shared by many users (a list page's walk,
        ``VisibilityQuery(shared=True)``): on PostgreSQL prepared at its first run and executed
        on its generic plan, planned once per connection, never per run. PostgreSQL's own
        choice (``plan_cache_mode = auto``) kept planning the 5 KB page statement at every run
        (2.5-3.5 ms at S), since the generic plan's estimate is no cheaper; the walk's plan is
        the sort index read in order either way. ``plan_cache_mode`` is set for this statement
        only: set, run, reset in one round trip (psycopg's pipeline). Inside a transaction,
        ``rows``: the statements ``later`` holds go first, in order, and a setting there would
        be the transaction's."""
        if self.dialect is SQLITE or self._depth:
            return self.rows(sql, params)
        text = self.dialect.sql(sql)
        raw = self._raw
        try:
            try:
                with raw.pipeline():
                    raw.execute("SET plan_cache_mode = force_generic_plan", prepare=False)
                    cursor = raw.execute(text, tuple(params), prepare=True)
                    raw.execute("RESET plan_cache_mode", prepare=False)
                return list(cursor.fetchall())
            except Exception:
                # the pipeline stopped at the error, so the reset may not have run (never in a
                # transaction here: autocommit); a reset that fails too (the connection is
                # gone) must not hide the statement's own error
                with contextlib.suppress(Exception):  # reason: the first error is the one
                    raw.execute("RESET plan_cache_mode", prepare=False)
                raise
        except Exception as exc:
            refusal = contention(exc)
            if refusal is None:
                raise
            raise refusal from exc

    def row(self, sql: str, params: Sequence[Any] = (), *, hot: bool = False) -> Row | None:
        result: Row | None = self._hot_or_not(sql, params, hot).fetchone()
        return result

    def value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        found = self.row(sql, params)
        return None if found is None else found[0]

    def move_status(
        self, table: str, row_id: int, expected: Sequence[str], values: Mapping[str, Any]
    ) -> bool:
        """Set ``values`` (a new ``status`` among them) on row ``row_id`` of ``table`` only while
        its status is one of ``expected``, in one statement: False when another transition got
        there first. Every state machine of the store (agreements, agency shares) moves so."""
        sets = ", ".join(f"{column} = ?" for column in values)
        marks = ", ".join("?" * len(expected))
        cur = self.execute(
            f"UPDATE {table} SET {sets} WHERE id = ? AND status IN ({marks})",
            [*values.values(), row_id, *expected],
        )
        return int(cur.rowcount) == 1

    def insert(self, sql: str, params: Sequence[Any] = (), key: str = "id") -> int:
        found = self.row(f"{sql} RETURNING {key}", params)
        assert found is not None
        return int(found[0])

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:  # psycopg still syncs a pipeline for none: a round trip for nothing
            return
        try:
            if self.dialect is SQLITE:
                self._raw.executemany(sql, rows)
            else:
                with self._raw.pipeline(), self._raw.cursor() as cur:
                    self._send_later()
                    cur.executemany(self.dialect.sql(sql), rows)
        except Exception as exc:
            refusal = contention(exc)
            if refusal is None:
                raise
            raise refusal from exc

    def insert_many(
        self,
        table: str,
        columns: Sequence[str],
        types: Sequence[str],
        rows: Sequence[Sequence[Any]],
        returning: str = "",
        *,
        later: bool = False,
    ) -> list[Row]:
        """Many rows at once, with the rows ``returning`` names.

        PostgreSQL: ``INSERT … SELECT … FROM json_to_recordset(?)``, the rows as one JSON
        parameter typed by ``types`` (``rows_as_json``): one statement and one round trip,
        and a short text psycopg caches and prepares whatever the number of rows. SQLite:
        one multi-row VALUES list per 30,000 parameters (its limit is 32,766). ``later``:
        rows whose insert nobody waits for (no ``returning``), sent as ``later`` sends."""
        out: list[Row] = []
        if not rows:
            return out
        head = f"INSERT INTO {table} ({', '.join(columns)})"
        tail = f" RETURNING {returning}" if returning else ""
        if self.dialect is POSTGRES:
            source, values, param = rows_as_json(columns, types, rows)
            sql = f"{head} SELECT {values} FROM {source}{tail}"
            if returning:
                return self.rows(sql, [param])
            if later:
                self.later(sql, [param])
            else:
                self.execute(sql, [param])
            return out
        per = 30_000 // len(columns)
        template = f"({', '.join('?' * len(columns))})"
        for start in range(0, len(rows), per):
            chunk = rows[start : start + per]
            cursor = self.execute(
                f"{head} VALUES {', '.join([template] * len(chunk))}{tail}",
                [value for row in chunk for value in row],
            )
            if returning:
                out += cursor.fetchall()
        return out

    def bulk_insert(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Load many rows at once (COPY on PostgreSQL); for benchmarks and imports."""
        if not rows:
            return
        cols = ", ".join(columns)
        if self.dialect is SQLITE:
            marks = ", ".join("?" * len(columns))
            self._raw.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)
            return
        if self._later:  # COPY cannot run in a pipeline
            with self._raw.pipeline():
                self._send_later()
        with self._raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def reset_sequences(self, tables: Sequence[tuple[str, str]]) -> None:
        """After loading explicit ids: continue each identity after the largest id."""
        if self.dialect is SQLITE:
            return
        for table, key in tables:
            self.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{key}'),"
                f" GREATEST((SELECT max({key}) FROM {table}), 1))"
            )

    def analyze(self) -> None:
        self.execute("ANALYZE")

    def migrate(self) -> list[int]:
        """Apply every migration not applied yet; returns the versions applied.

        Processes opening one database at once (two ``caseshare serve`` started together)
        take turns: on PostgreSQL the first takes a transaction-scoped advisory lock, the
        others wait for it and then find its migrations applied (a concurrent ``CREATE TABLE
        IF NOT EXISTS`` of the same table fails there, and a migration would run twice).
        SQLite's BEGIN IMMEDIATE makes them take turns already."""
        with self.transaction():
            if self.dialect is not SQLITE:
                self.execute(
                    "SELECT pg_advisory_xact_lock(CAST(? AS integer), 0)", (_MIGRATE_LOCK,)
                )
            self.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            done = {r[0] for r in self.rows("SELECT version FROM schema_migrations")}
            applied = []
            for version, description, statements in MIGRATIONS:
                if version in done:
                    continue
                for statement in statements:
                    if isinstance(statement, dict):  # a statement of one store only
                        if self.dialect.name not in statement:
                            continue
                        statement = statement[self.dialect.name]
                    self.execute(self.dialect.ddl(statement))
                self.execute(
                    "INSERT INTO schema_migrations (version, description, applied_at) "
                    "VALUES (?, ?, ?)",
                    (version, description, utcnow()),
                )
                applied.append(version)
        return applied

    def schema_version(self) -> int:
        return int(self.value("SELECT max(version) FROM schema_migrations") or 0)


def integrity_errors() -> tuple[type[Exception], ...]:
    """What both drivers raise when a unique index refuses a row."""
    import psycopg

    return (sqlite3.IntegrityError, psycopg.IntegrityError)


def rows_as_json(
    columns: Sequence[str], types: Sequence[str], rows: Sequence[Sequence[Any]]
) -> tuple[str, str, str]:
    """Rows for one PostgreSQL statement as one JSON parameter: (the row source
    ``json_to_recordset(…) AS v(column type, …)``, the select list of its columns cast to
    ``types``, the parameter). A JSON column's values are JSON text already (``dumps``),
    read as text and cast. Chosen over one array per column (``unnest``), which psycopg
    adapts element by element in Python (about 0.5 ms of a form's ~3 ms of CPU for its
    rows, issue 12 item 4), and over ``executemany``, one execution per row."""

    def as_read(kind: str) -> str:
        return "text" if kind in ("json", "jsonb") else kind

    record = ", ".join(f"{c} {as_read(t)}" for c, t in zip(columns, types, strict=True))
    values = ", ".join(
        f"CAST(v.{c} AS {t})" if t in ("json", "jsonb") else f"v.{c}"
        for c, t in zip(columns, types, strict=True)
    )
    param = json.dumps([dict(zip(columns, row, strict=True)) for row in rows])
    return f"json_to_recordset(CAST(? AS json)) AS v({record})", values, param


#: ``dumps``'s encoder, made once: ``json.dumps`` with any option builds a new encoder at every
#: call (~0.7 µs of ~2 µs for a case's properties; a form of ten cases dumps ~30 values)
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def dumps(value: Any) -> str:
    return _ENCODER.encode(value)


def loads(value: Any) -> Any:
    """JSON from a column: SQLite hands back text, PostgreSQL already-decoded values."""
    if value is None or not isinstance(value, str | bytes):
        return value
    return json.loads(value)
