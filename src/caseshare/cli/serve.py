"""``caseshare serve``: the HTTP service over any database, with the demo agency on a new one."""

from __future__ import annotations

import argparse
import copy
import errno
import os
import socket
import sys
from typing import Any

from caseshare.store import database_url, open_store

#: ``caseshare serve`` cannot listen on the address: the port is in use, or not allowed
EXIT_CANNOT_LISTEN = 5


def cannot_listen(host: str, port: int) -> str | None:
    """Why the server could not listen on ``host:port`` now (None: it can), in words.

    The same bind uvicorn does (with SO_REUSEADDR, so a port that only lingers after a
    server stopped is free), made before anything is printed or loaded."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror:
        return f"The address {host!r} to listen on is not known here; use an IP address."
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (
                    f"Port {port} on {host} is already in use by another program (another"
                    f" caseshare, perhaps). Stop it, or choose another port: caseshare serve"
                    f" --port {port + 1}, or make run PORT={port + 1}."
                )
            return f"caseshare cannot listen on {host}:{port}: {exc.strerror or exc}."
    return None


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging, plus ``caseshare.access`` (one line per request) at info and below."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["handlers"]["requests"] = {
        "formatter": "default",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stdout",
    }
    config["loggers"]["caseshare.access"] = {
        "handlers": ["requests"],
        "level": "INFO" if level in ("info", "debug") else "WARNING",
        "propagate": False,
    }
    return config


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from caseshare.demo import DEMO_PASSWORD, DEMO_SIGN_INS, DEMO_SLUG, load_demo
    from caseshare.http import create_app
    from caseshare.http.pool import DEFAULT_QUEUE, DEFAULT_QUEUE_WAIT
    from caseshare.services.delivery import DeliveryLoop, base_url, smtp_config

    problem = cannot_listen(args.host, args.port)
    if problem is not None:  # said before any banner, and before the database is touched
        print(f"error: validation_error: {problem}", file=sys.stderr)
        return EXIT_CANNOT_LISTEN
    from caseshare.http.protocol import stack

    try:
        stack_name = stack(args.http_stack)[2]
    except RuntimeError as exc:
        print(f"error: validation_error: {exc}", file=sys.stderr)
        return 2
    url = database_url(args.database)
    mail = smtp_config(args.smtp)  # a bad URL is refused before anything starts
    store = open_store(url)  # creates the SQLite file and brings the schema up to date
    try:
        loaded = args.demo and not store.agencies() and load_demo(store)
        slugs = [slug for _, slug, _ in store.agencies()]
        has_demo = store.agency_by_slug(DEMO_SLUG) is not None
        postgres = store.is_postgres
    finally:
        store.close()
    default_agency = DEMO_SLUG if has_demo else (slugs[0] if len(slugs) == 1 else None)
    connections = args.connections or int(
        os.environ.get("CASESHARE_CONNECTIONS", "8" if postgres else "4")
    )
    queue = (
        args.queue
        if args.queue is not None
        else int(os.environ.get("CASESHARE_QUEUE", str(DEFAULT_QUEUE)))
    )
    queue_wait = (
        args.queue_wait
        if args.queue_wait is not None
        else float(os.environ.get("CASESHARE_QUEUE_WAIT", str(DEFAULT_QUEUE_WAIT)))
    )
    secure = args.secure_cookies or os.environ.get("CASESHARE_SECURE_COOKIES", "") in ("1", "true")
    base = f"http://{args.host}:{args.port}"
    print(f"caseshare serving {url}" + (" (the demo agency was loaded now)" if loaded else ""))
    print(f"  sign in:  {base}/signin")
    print(f"  API docs: {base}/docs  (OpenAPI: {base}/api/v1/openapi.json)")
    if has_demo:
        print(f"  demo sign-ins (agency {DEMO_SLUG}, password {DEMO_PASSWORD}):")
        for username, what in DEMO_SIGN_INS:
            print(f"    {username:<7} {what}")
    print(f"  HTTP:     {stack_name}")
    if args.workers > 1:
        print(f"  {args.workers} worker processes, {connections} connections each")
    if mail is not None:
        print(f"  email:    {mail.describe()}, from the outbox every 2 s")
    else:
        print("  email:    none (no --smtp): notifications wait in the outbox")
    print("  Ctrl-C stops the server.", flush=True)
    app: Any
    if args.workers > 1:
        # each worker process builds its own app (and pool) from these
        os.environ.update(
            {
                "CASESHARE_SERVE_URL": url,
                "CASESHARE_SERVE_CONNECTIONS": str(connections),
                "CASESHARE_SERVE_QUEUE": str(queue),
                "CASESHARE_SERVE_QUEUE_WAIT": str(queue_wait),
                "CASESHARE_SERVE_SECURE_COOKIES": "1" if secure else "0",
                "CASESHARE_SERVE_DEFAULT_AGENCY": default_agency or "",
                "CASESHARE_SERVE_MAIL": mail.describe() if mail is not None else "",
            }
        )
        app = "caseshare.http.app:app_from_environment"
    else:
        app = create_app(
            url,
            pool_size=connections,
            queue=queue,
            queue_wait=queue_wait,
            secure_cookies=secure,
            default_agency=default_agency,
            mail=mail.describe() if mail is not None else None,
        )
    courier = None
    if mail is not None:
        courier = DeliveryLoop(url, mail, base_url=base_url(args.base_url))
        courier.start()
    try:
        _run(uvicorn, app, args)
    finally:
        if courier is not None:
            courier.stop()
    return 0


def _run(uvicorn: Any, app: Any, args: argparse.Namespace) -> None:
    from caseshare.http.protocol import stack

    protocol, loop, _ = stack(args.http_stack)
    uvicorn.run(
        app,
        http=protocol,
        loop=loop,
        factory=args.workers > 1,
        workers=args.workers if args.workers > 1 else None,
        # a worker answers uvicorn's health check only once its imports are done: on a busy
        # 2-core machine that took more than the default 5 s, and each late worker was killed
        # and started again, for ever
        timeout_worker_healthcheck=30,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        log_config=log_config(args.log_level),
        access_log=False,  # caseshare.access logs every request, with the time it took
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips,
    )


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "serve",
        help="serve the HTTP API, sign-in and device endpoints",
        description="Serve the database over HTTP. The database is created and migrated when it"
        " is new; with --demo, a new database also gets the demo agency.",
    )
    p.add_argument(
        "--database",
        help="database URL (sqlite:///PATH or postgresql://…);"
        " default $CASESHARE_DATABASE_URL or sqlite:///caseshare.db",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument(
        "--port",
        type=int,
        default=8000,
        help=f"port to listen on (8000); one in use exits {EXIT_CANNOT_LISTEN} before starting",
    )
    p.add_argument(
        "--demo", action="store_true", help="load the demo agency when the database is new"
    )
    p.add_argument(
        "--connections",
        type=int,
        help="database connections (default $CASESHARE_CONNECTIONS, else 4 SQLite, 8 PostgreSQL)",
    )
    p.add_argument(
        "--queue",
        type=int,
        help="requests that may wait for a connection (per worker) before the next is answered"
        " 503 with Retry-After (default $CASESHARE_QUEUE, else 500)",
    )
    p.add_argument(
        "--queue-wait",
        type=float,
        metavar="SECONDS",
        help="how long a request waits for a connection before it is answered 503 with"
        " Retry-After (default $CASESHARE_QUEUE_WAIT, else 30)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("CASESHARE_WORKERS", "1")),
        help="server processes (default $CASESHARE_WORKERS, else 1); each has its own"
        " connections and agency cache, kept current through the database",
    )
    p.add_argument(
        "--secure-cookies",
        action="store_true",
        help="mark cookies Secure even on plain HTTP (behind a TLS proxy);"
        " also $CASESHARE_SECURE_COOKIES=1. HTTPS requests always get Secure cookies.",
    )
    p.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1",
        help="proxies trusted for X-Forwarded-Proto/For (127.0.0.1)",
    )
    p.add_argument(
        "--smtp",
        metavar="URL",
        help="deliver the notification outbox to this mail server from the server process:"
        " smtp://[user[:password]@]host[:port][?starttls=true&from=ADDR] or smtps://…;"
        " default $CASESHARE_SMTP_URL (without either, messages wait in the outbox)",
    )
    p.add_argument(
        "--base-url",
        metavar="URL",
        help="this server's public address, put before page paths in messages"
        " (default $CASESHARE_BASE_URL)",
    )
    p.add_argument(
        "--http-stack",
        choices=["auto", "compiled", "pure"],
        default=os.environ.get("CASESHARE_HTTP_STACK", "auto"),
        help="compiled: uvicorn's httptools parser on the uvloop event loop; pure: h11 on"
        " asyncio; auto (the default, also $CASESHARE_HTTP_STACK): compiled where installed",
    )
    p.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="info (the default) logs one line per request: client, method, path, status, time",
    )
    p.set_defaults(func=cmd_serve)
