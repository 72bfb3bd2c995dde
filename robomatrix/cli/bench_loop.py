"""`robomatrix bench loop`: closed-loop latency and jitter, camera frame → command, over DDS
(a `bench` subcommand; the method is in `robomatrix.bench.loop`).

    robomatrix bench loop [--duration 20] [--camera 320x240] [--camera-rate 15] [--control-rate 50]
                          [--no-perception] [--json]

Progress goes to stderr; stdout carries a table, or exactly one JSON object with `--json`:
{"loop_latency_p50_ms", "loop_latency_p99_ms", "loop_jitter_ms", "legs_p50_ms": {...}, ...}.
"""
from __future__ import annotations

import sys


def add_parser(subparsers) -> None:
    """Register `loop` under `robomatrix bench`."""
    p = subparsers.add_parser("loop", help="closed-loop latency and jitter, camera frame to command, over DDS "
                                           "(sim serve as the robot, hardware_node ros2, a perception reactor)")
    p.add_argument("--duration", type=float, default=20.0, help="measured seconds after a 3 s warm-up (default: 20)")
    p.add_argument("--camera", default="320x240", metavar="WxH", help="camera size (default: 320x240)")
    p.add_argument("--camera-rate", type=float, default=15.0, help="camera rate, Hz (default: 15)")
    p.add_argument("--control-rate", type=float, default=50.0, help="hardware_node control rate, Hz (default: 50)")
    p.add_argument("--no-perception", action="store_true",
                   help="answer each frame without running perception (the transport and relay alone)")
    p.add_argument("--seed", type=int, default=0, help="scene seed (default: 0)")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    p.set_defaults(handler=bench_loop)


def bench_loop(args) -> int:
    from robomatrix.cli.bench import _quiet_stdout_while, report
    from robomatrix.cli.main import require
    from robomatrix.cli.run import parse_camera
    from robomatrix.errors import UsageError

    width, height = parse_camera(args.camera)
    if not (args.camera_rate > 0 and args.control_rate > 0 and args.duration > 0):
        raise UsageError("--duration, --camera-rate and --control-rate must be > 0.")
    bench = require("robomatrix.bench.loop", "`robomatrix bench loop`")
    result = _quiet_stdout_while(bench.run_loop_bench, duration_s=args.duration, width=width, height=height,
                                 camera_rate_hz=args.camera_rate, control_rate_hz=args.control_rate, seed=args.seed,
                                 perception=not args.no_perception,
                                 progress=lambda line: print(line, file=sys.stderr, flush=True))
    return report(result, args.json)
