"""python -m bench.peers [--size S] [--seed 1] [--peers cedar,casbin,guardian]"""

from __future__ import annotations

import argparse
import sys

from bench.peers.run import PEERS, run


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peers", description=__doc__)
    parser.add_argument("--size", default="S", choices=["XS", "S", "M", "L"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--peers", default=",".join(PEERS), help="comma-separated subset")
    parser.add_argument("--pairs", type=int, default=2000, help="random (user, case) checks")
    parser.add_argument(
        "--budget", type=float, default=30.0, help="seconds per row and engine, at most"
    )
    args = parser.parse_args()
    peers = tuple(p for p in args.peers.split(",") if p)
    unknown = set(peers) - set(PEERS)
    if unknown:
        parser.error(f"unknown peers: {', '.join(sorted(unknown))} (known: {', '.join(PEERS)})")
    return run(args.size, args.seed, peers, args.pairs, args.budget)


if __name__ == "__main__":
    sys.exit(main())
