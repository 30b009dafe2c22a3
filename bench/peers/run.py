"""Load the §16 world into caseshare and each peer, check that they agree, then time them on the
same requests in the same run and print each figure beside its ratio to caseshare's."""

from __future__ import annotations

import datetime
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from bench.peers.caseshare_engine import CaseshareEngine
from bench.peers.engine import Engine
from bench.peers.world import FEATURES, World, build_restricted, read_world
from caseshare.bench.world import SIZES, build
from caseshare.services import Caseshare
from caseshare.store import open_store

PEERS = ("cedar", "casbin", "guardian")


@dataclass
class Workload:
    """The same requests for every engine, as positions in the generated world."""

    pairs: list[tuple[int, str]]
    listers: list[int]
    shares: list[tuple[int, str, int]]  # actor (the owner), case, grantee with no grant on it


@dataclass
class Figures:
    name: str
    samples: dict[str, list[float]] = field(default_factory=dict)
    pages: dict[int, list[str]] = field(default_factory=dict)

    def p50(self, row: str) -> float | None:
        found = self.samples.get(row)
        return statistics.median(found) if found else None

    def p99(self, row: str) -> float | None:
        found = sorted(self.samples.get(row) or [])
        return found[min(len(found) - 1, int(len(found) * 0.99))] if found else None


def workload(world: World, seed: int, n_pairs: int) -> Workload:
    rng = random.Random(seed + 2)
    n_users = len(world.user_order)
    users = rng.sample(range(n_users), min(200, n_users))
    case_ids = [c.case_id for c in world.cases]
    pairs = [(rng.choice(users), rng.choice(case_ids)) for _ in range(n_pairs)]
    position = {uid: i for i, uid in enumerate(world.user_order)}
    listers = [u for u in users if world.users[world.user_order[u]].active][:30]
    shares: list[tuple[int, str, int]] = []
    for case in rng.sample(world.cases, len(world.cases)):
        if len(shares) == 40:
            break
        if not case.owner.startswith("user:"):
            continue
        owner = position[int(case.owner[5:])]
        grantee = rng.randrange(n_users)
        named = {g.grantee for g in world.grants_by_case.get(case.pk, [])}
        gid = world.user_order[grantee]
        if (
            grantee != owner
            and world.users[world.user_order[owner]].active
            and world.users[gid].active
            and f"user:{gid}" not in named
        ):
            shares.append((owner, case.case_id, grantee))
    return Workload(pairs, listers, shares)


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def measure(engine: Engine, work: Workload, budget: float) -> Figures:
    """Each row for at most ``budget`` seconds (at least a few samples), after a short warm-up."""
    figures = Figures(engine.name)
    for user, case_id in work.pairs[:20]:  # warm the caches a server would have warm
        engine.check(user, case_id)
    engine.first_page(work.listers[0])

    def until(rows: list[Any], minimum: int, step: Callable[[Any], None]) -> None:
        start = time.perf_counter()
        for i, row in enumerate(rows):
            if i >= minimum and time.perf_counter() - start > budget:
                break
            step(row)

    def check(pair: tuple[int, str]) -> None:
        figures.samples.setdefault("check", []).append(_timed(lambda: engine.check(*pair))[0])

    def page(user: int) -> None:
        seconds, ids = _timed(lambda: engine.first_page(user))
        figures.samples.setdefault("first page", []).append(seconds)
        figures.pages[user] = ids

    def share(op: tuple[int, str, int]) -> None:
        figures.samples.setdefault("share", []).append(_timed(lambda: engine.share(*op))[0])
        figures.samples.setdefault("revoke", []).append(_timed(lambda: engine.revoke(*op))[0])

    until(work.pairs, 50, check)
    until(work.listers, 3, page)
    until(work.shares, 5, share)
    return figures


def verify(peer: Engine, ref: Engine, work: Workload, visible: dict[int, list[str]]) -> list[str]:
    """Where the peer and caseshare (on the peer's restricted world) disagree; empty is right."""
    problems: list[str] = []
    pairs = work.pairs[:1000] + [(u, c) for u, ids in visible.items() for c in ids]
    allowed = agree = 0
    for user, case_id in pairs:
        want = ref.check(user, case_id)
        got = peer.check(user, case_id)
        allowed += want
        if want == got:
            agree += 1
        elif len(problems) < 10:
            problems.append(f"check user #{user} {case_id}: caseshare {want}, {peer.name} {got}")
    print(
        f"  {peer.name}: agrees with caseshare on {agree}/{len(pairs)} checks"
        f" ({100 * agree / len(pairs):.1f} %; {allowed} allowed, {len(pairs) - allowed} denied)"
    )
    for user, case_id, grantee in work.shares[:5]:
        before = ref.check(grantee, case_id)
        peer.share(user, case_id, grantee)
        if not peer.check(grantee, case_id):
            problems.append(f"share {case_id} with user #{grantee}: {peer.name} still denies")
        peer.revoke(user, case_id, grantee)
        if peer.check(grantee, case_id) != before:
            problems.append(f"revoke {case_id} from user #{grantee}: {peer.name} disagrees")
    return problems


def _peer(kind: str, world: World, path: str) -> Engine:
    if kind == "cedar":
        from bench.peers.cedar_peer import Cedar

        return Cedar(world, path)
    if kind == "casbin":
        from bench.peers.casbin_peer import Casbin

        return Casbin(world, path)
    from bench.peers.guardian_peer import Guardian

    return Guardian(world, path)


def _features(kind: str) -> frozenset[str]:
    if kind == "cedar":
        from bench.peers import cedar_peer

        return cedar_peer.FEATURES
    if kind == "casbin":
        from bench.peers import casbin_peer

        return casbin_peer.FEATURES
    from bench.peers import guardian_peer

    return guardian_peer.FEATURES


def _fmt(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms" if seconds < 0.01 else f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def _machine() -> str:
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("cedarpy", "casbin", "django", "django-guardian")
    )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{platform.machine()} {os.cpu_count()} cores (load average {load}),"
        f" {platform.platform()}, Python {platform.python_version()}, SQLite"
        f" {sqlite3.sqlite_version}; {versions}"
    )


def run(size: str, seed: int, peers: tuple[str, ...], n_pairs: int, budget: float) -> int:
    spec = SIZES[size]
    print(
        f"caseshare bench-peers: size {size} ({spec.users} users, {spec.cases} cases), seed {seed},"
        f" SQLite, {datetime.date.today().isoformat()}"
    )
    print(f"  machine: {_machine()}")
    with tempfile.TemporaryDirectory(prefix="caseshare-peers-") as tmp:
        store = open_store(f"sqlite:///{tmp}/caseshare.db")
        svc = Caseshare(store)
        full = build(store, spec, seed, slug="peers-full")
        world = read_world(svc, full.agency_id, frozenset(FEATURES))
        work = workload(world, seed, n_pairs)
        caseshare = CaseshareEngine(svc, full.agency_id, world.user_order, frozenset(FEATURES))
        engines: list[tuple[Engine, Engine | None]] = [(caseshare, None)]
        problems: list[str] = []
        print("agreement with caseshare on each peer's world (what the peer expresses):")
        for kind in peers:
            features = _features(kind)
            agency = build_restricted(svc, size, seed, features)
            restricted = read_world(svc, agency, features)
            ref = CaseshareEngine(svc, agency, restricted.user_order, features)
            t0 = time.perf_counter()
            peer = _peer(kind, restricted, f"{tmp}/{kind}.db")
            print(f"  {peer.name}: loaded in {time.perf_counter() - t0:.1f} s")
            rng = random.Random(seed + 3)
            visible = {}
            for user in work.listers[:20]:
                ids = sorted(svc.visible_case_ids(restricted.user_order[user]))
                visible[user] = rng.sample(ids, min(25, len(ids)))
            problems += verify(peer, ref, work, visible)
            engines.append((peer, ref))
        print("timing (each row up to", budget, "s per engine):")
        results: dict[str, Figures] = {}
        refs: dict[str, Figures] = {}
        for engine, ref in engines:
            figures = results[engine.name] = measure(engine, work, budget)
            print(
                f"  {engine.name:<16} check {_fmt(figures.p50('check'))}"
                f" ({len(figures.samples['check'])})  first page"
                f" {_fmt(figures.p50('first page'))} ({len(figures.samples['first page'])})"
                f"  share {_fmt(figures.p50('share'))}  revoke {_fmt(figures.p50('revoke'))}",
                flush=True,
            )
            if ref is not None:
                refs[engine.name] = measure(ref, work, budget)
                for user, ids in figures.pages.items():
                    want = refs[engine.name].pages.get(user) or ref.first_page(user)
                    if ids != want:
                        problems.append(f"{engine.name}: first page of user #{user} differs")
        store.close()
    print(f"  finished; load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if problems:  # a wrong encoding gets no figure
        print("DISAGREEMENTS (an encoding bug, not a figure):", file=sys.stderr)
        for problem in problems:
            print("  " + problem, file=sys.stderr)
        return 1
    _table(results, refs, [e for e, _ in engines])
    return 0


def _table(results: dict[str, Figures], refs: dict[str, Figures], engines: list[Engine]) -> None:
    base = results["caseshare"]
    peers = engines[1:]
    print()
    print("| row | caseshare | " + " | ".join(f"{p.name} | ÷ caseshare" for p in peers) + " |")
    print("|---|---|" + "---|---|" * len(peers))
    for row in ("check", "first page", "share", "revoke"):
        cells = [_fmt(base.p50(row))]
        for peer in peers:
            mine, theirs = results[peer.name].p50(row), base.p50(row)
            ratio = f"{mine / theirs:.1f}×" if mine and theirs else "—"
            cells += [_fmt(mine), ratio]
        print(f"| {row} (p50) | " + " | ".join(cells) + " |")
    print()
    print("caseshare on each peer's own restricted world (same requests), p50:")
    for peer in peers:
        ref = refs[peer.name]
        print(
            f"  {peer.name}'s world: check {_fmt(ref.p50('check'))}, first page"
            f" {_fmt(ref.p50('first page'))}, share {_fmt(ref.p50('share'))},"
            f" revoke {_fmt(ref.p50('revoke'))}"
        )
    print()
    print("left out of each peer's world and row (SPEC rules it cannot express):")
    for peer in peers:
        for feature, why in peer.leaves_out:
            print(f"  {peer.name}: {FEATURES[feature]} — {why}")
