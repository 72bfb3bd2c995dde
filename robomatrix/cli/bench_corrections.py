"""`robomatrix bench corrections`: success without corrections, with live corrections, and later with
memory alone; correction-to-effect latency (a `bench` subcommand).

    robomatrix bench corrections [--episodes 5] [--seed 0] [--scenarios FILE] [--only NAME,...] [--json]

Progress goes to stderr; stdout carries the table, or exactly one JSON object with `--json`:
{"success_baseline", "success_live", "success_memory", "latency_ms_p50", "per_scenario": {...}, ...}.
"""
from __future__ import annotations

import json
import sys


def add_parser(subparsers) -> None:
    """Register `corrections` under `robomatrix bench`."""
    p = subparsers.add_parser("corrections", help="language corrections: success baseline / live / memory, "
                                                  "correction-to-effect latency (scored by the ORACLE)")
    p.add_argument("--episodes", type=int, default=5, help="episodes per scenario and mode (default: 5)")
    p.add_argument("--seed", type=int, default=0, help="first scene seed; memory episodes use the next ones (default: 0)")
    p.add_argument("--scenarios", default="", help="scenario file (default: benchmarks/corrections/scenarios.yaml)")
    p.add_argument("--only", default="", help="comma-separated scenario names (default: all)")
    p.add_argument("--camera", default="320x240", metavar="WxH", help="robot camera size (default: 320x240)")
    p.add_argument("--memory-dir", default="", help="keep the corrections memories here (default: a temporary directory)")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    p.set_defaults(handler=bench_corrections)


def bench_corrections(args) -> int:
    from robomatrix.cli.main import require
    from robomatrix.cli.run import parse_camera
    from robomatrix.errors import UsageError

    bench = require("robomatrix.bench.corrections", "`robomatrix bench corrections`")
    if args.episodes < 1:
        raise UsageError(f"--episodes must be >= 1, got {args.episodes}.")
    width, height = parse_camera(args.camera)
    names = tuple(n.strip() for n in args.only.split(",") if n.strip())
    scenarios = bench.load_scenarios(args.scenarios or None, names)  # bad file or name: one line, exit 2
    real = sys.stdout
    sys.stdout = sys.stderr  # anything the stack prints stays off stdout
    try:
        result = bench.run_corrections_bench(scenarios, episodes=args.episodes, seed=args.seed, camera=(width, height),
                                             memory_root=args.memory_dir or None,
                                             progress=lambda line: print(line, file=sys.stderr, flush=True))
    finally:
        sys.stdout = real
    print(json.dumps(result) if args.json else bench.format_report(result))
    return 0
