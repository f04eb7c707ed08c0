"""`python -m sandbox serve|export|stats` — the sandbox without the `kol` CLI."""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

from sandbox.exports import export_world, world_stats
from sandbox.faults import FaultConfig
from sandbox.server import serve_forever
from sandbox.world import WorldConfig


def _config(args: argparse.Namespace) -> WorldConfig:
    end = date.fromisoformat(args.end_date) if args.end_date else None
    return WorldConfig(seed=args.seed, creators=args.creators, days=args.days, end_date=end)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("serve", "export", "stats"):
        p = sub.add_parser(name)
        p.add_argument("--seed", type=int, default=42)
        p.add_argument("--creators", type=int, default=50)
        p.add_argument("--days", type=int, default=120)
        p.add_argument("--end-date", default=None, help="YYYY-MM-DD (default: yesterday UTC)")
        if name == "serve":
            p.add_argument("--host", default="127.0.0.1")
            p.add_argument("--port", type=int, default=0)
            p.add_argument("--token", default="sandbox")
            p.add_argument("--faults", default="", help='e.g. "rate_limit=0.2,glitch"')
        if name == "export":
            p.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    cfg = _config(args)
    if args.command == "serve":
        serve_forever(cfg, args.token, FaultConfig.parse(args.faults), args.host, args.port)
    elif args.command == "export":
        for name, path in export_world(cfg, args.out).items():
            print(f"{name}: {path}")
    else:
        print(json.dumps(world_stats(cfg), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
