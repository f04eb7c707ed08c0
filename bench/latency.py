"""Does extracting several accounts at once pay against a real API's latency?

Against real platforms a request's time is the platform's latency (≈100 ms and more), not
this machine's CPU. This bench serves a sandbox world with every request delayed by
`--latency` seconds and times one platform's extraction with 1 worker and with N workers,
alternating A/B `--reps` times; it prints the medians and their ratio and writes them to
`bench/results/latency.json`. `make bench` runs it after the stage bench.

    python -m bench.latency [--platform tiktok] [--latency 0.1] [--workers 4] [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from bench.report import machine
from ingestion.extract import ExtractRequest, extract_platform
from ingestion.roster import read_roster

RESULTS = Path(__file__).resolve().parent / "results" / "latency.json"
DAY = date(2026, 11, 25)
TOKEN = "bench-latency"


def time_extract(server: Any, roster_path: Path, platform: str, workers: int, root: Path) -> float:
    from sandbox import SANDBOX_IG_USER_ID

    entries = [e for e in read_roster(roster_path).entries if e.platform == platform]
    req = ExtractRequest(
        platform=platform,
        run_date=DAY,
        run_id=f"bench-{workers}-{time.monotonic_ns()}",
        landing_root=root / f"landing-{workers}-{time.monotonic_ns()}",
        roster=entries,
        base_url=server.base_urls[platform],
        token=TOKEN,
        instagram_user_id=SANDBOX_IG_USER_ID,
        salt="bench",
        workers=workers,
    )
    started = time.perf_counter()
    manifest = extract_platform(req)
    elapsed = time.perf_counter() - started
    if manifest.get("status") not in ("ok", "partial"):
        raise SystemExit(f"extraction failed: {manifest.get('reason')}")
    return elapsed


def run(platform: str, latency: float, workers: int, reps: int, creators: int) -> dict[str, Any]:
    from sandbox import FaultConfig, SandboxServer, WorldConfig, export_world

    cfg = WorldConfig(seed=42, creators=creators, end_date=DAY)
    with tempfile.TemporaryDirectory(prefix="kol-bench-latency-") as tmp:
        root = Path(tmp)
        files = export_world(cfg, root / "world")
        faults = FaultConfig.parse(f"slow=1,slow_seconds={latency:g}")
        with SandboxServer(cfg, TOKEN, faults=faults) as server:
            times: dict[int, list[float]] = {1: [], workers: []}
            for rep in range(reps):
                order = (1, workers) if rep % 2 == 0 else (workers, 1)  # alternate A/B
                for w in order:
                    times[w].append(time_extract(server, files["roster"], platform, w, root))
                    print(f"  rep {rep + 1}: {w} worker(s) {times[w][-1]:.1f} s", flush=True)
    one, many = statistics.median(times[1]), statistics.median(times[workers])
    return {
        "platform": platform,
        "latency_seconds": latency,
        "creators": creators,
        "reps": reps,
        "median_seconds": {"1": round(one, 2), str(workers): round(many, 2)},
        "ratio_1_over_n": round(one / many, 2),
        "machine": machine(),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__)
    ap.add_argument("--platform", default="tiktok")
    ap.add_argument("--latency", type=float, default=0.1, help="seconds added to each request")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--creators", type=int, default=20)
    ap.add_argument("--out", type=Path, default=RESULTS)
    a = ap.parse_args(argv)
    result = run(a.platform, a.latency, a.workers, a.reps, a.creators)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=2) + "\n")
    med = result["median_seconds"]
    print(
        f"{a.platform} at {a.latency * 1000:.0f} ms a request: 1 worker {med['1']} s, "
        f"{a.workers} workers {med[str(a.workers)]} s (median of {a.reps}): "
        f"{result['ratio_1_over_n']}x — written to {a.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
