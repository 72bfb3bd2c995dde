"""`robomatrix bench comm|sim [--json]`: measured speed against the stated targets."""
from __future__ import annotations

import json
import sys

COMMAND = "bench"
HELP = ("benchmarks: comm (transport latency and rate), sim (physics and rendering speed), "
        "perception (detection vs oracle), tasks (task suite), skills (per-skill success), policy (neural speed), "
        "loop (camera-to-command latency over DDS)")


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(title="benchmarks", dest="bench_command", metavar="<benchmark>")
    comm = sub.add_parser("comm", help="Twist and 640x480 image latency (p50/p99 ms) and image rate per transport")
    comm.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    comm.add_argument("--transports", default="", help="comma-separated transports (default: inproc,dds)")
    comm.set_defaults(handler=bench_comm)
    sim = sub.add_parser("sim", help="physics steps/s, realtime factor, RGB-D render rate")
    sim.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    sim.add_argument("--scene", default="office", help="scene name (default: office)")
    sim.add_argument("--seed", type=int, default=0, help="scene randomisation seed (default: 0)")
    sim.add_argument("--sim", default="mujoco", metavar="mujoco|pybullet", help="simulator backend (default: mujoco)")
    sim.set_defaults(handler=bench_sim)
    perc = sub.add_parser("perception", help="detection precision/recall and 3-D error against the oracle")
    perc.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    perc.add_argument("--scenes", default="office", help="comma-separated scene names (default: office)")
    perc.add_argument("--n-scenes", type=int, default=30, help="random scenes per scene name (default: 30)")
    perc.add_argument("--views", type=int, default=4, help="camera views per scene (default: 4)")
    perc.add_argument("--seed", type=int, default=0, help="first seed (default: 0)")
    perc.add_argument("--camera", default="320x240", help="camera size WxH (default: 320x240)")
    perc.set_defaults(handler=bench_perception)
    from robomatrix.cli import bench_tasks

    bench_tasks.add_parser(sub)
    from robomatrix.cli import bench_corrections

    bench_corrections.add_parser(sub)
    plan = sub.add_parser("planner", help="plan exact match on instruction → plan cases, latency, tokens per task")
    plan.add_argument("--planner", default="rule", help="planner name (default: rule)")
    plan.add_argument("--cases", default="", help="JSONL case file (default: planners/cases/core.jsonl)")
    plan.add_argument("--model", default="", help="model directory for the hf planner (default: the shipped one)")
    plan.add_argument("--limit", type=int, default=0, help="score only the first N cases")
    plan.add_argument("--k", type=int, default=0, help="tree planner: plans drawn per model call (default: 2)")
    plan.add_argument("--decoding", default="", choices=("", "trie", "beam", "sample"),
                      help="tree planner: K plans as one prefix tree (default), K best of a beam search, or K samples")
    plan.add_argument("--tree-min-steps", type=int, default=0,
                      help="tree planner: compare with the iterative baseline on tasks of at least N steps (default: 5)")
    plan.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    plan.set_defaults(handler=bench_planner)
    from robomatrix.cli import bench_policy

    bench_policy.add_parsers(sub)
    from robomatrix.cli import bench_loop

    bench_loop.add_parser(sub)


def _flatten(value, prefix: str = "") -> list[tuple[str, object]]:
    if isinstance(value, dict):
        rows = []
        for key, item in value.items():
            rows += _flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return rows
    return [(prefix, value)]


def report(result: dict, as_json: bool) -> int:
    """One JSON object on stdout (`--json`), else a two-column table; exit 0 either way."""
    if as_json:
        print(json.dumps(result))
        return 0
    rows = _flatten(result)
    width = max((len(k) for k, _ in rows), default=0)
    for key, value in rows:
        shown = f"{value:.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else value
        print(f"{key:<{width}}  {shown}")
    return 0


def _quiet_stdout_while(fn, *args, **kwargs):
    """Run `fn` with anything it prints sent to stderr, so stdout carries only the result."""
    real = sys.stdout
    sys.stdout = sys.stderr
    try:
        return fn(*args, **kwargs)
    finally:
        sys.stdout = real


def bench_comm(args) -> int:
    from robomatrix.cli.main import require

    bench = require("robomatrix.bench.comm", "`robomatrix bench comm`")
    transports = [t.strip() for t in args.transports.split(",") if t.strip()] or None
    result = _quiet_stdout_while(bench.run_comm_bench, transports=transports,
                                 progress=lambda line: print(line, file=sys.stderr, flush=True))
    return report(result, args.json)


def bench_sim(args) -> int:
    from robomatrix.cli.main import require
    from robomatrix.cli.sim import _check_scene

    _check_scene(args.scene)
    run_mod = require("robomatrix.run", "`robomatrix bench sim`")
    if args.sim not in run_mod.SIM_BACKENDS:
        from robomatrix.errors import unknown_name

        raise unknown_name("simulator (--sim)", args.sim, run_mod.SIM_BACKENDS)
    bench = require("robomatrix.bench.sim", "`robomatrix bench sim`")
    backend = {} if args.sim == "mujoco" else {"backend": args.sim}
    return report(_quiet_stdout_while(bench.run_sim_bench, scene=args.scene, seed=args.seed, **backend), args.json)


def bench_planner(args) -> int:
    from robomatrix.cli.main import require
    from robomatrix.errors import UsageError

    bench = require("robomatrix.bench.planner", "`robomatrix bench planner`")
    options = {"model": args.model} if args.model else {}
    if args.planner == "tree":
        options.update({k: v for k, v in (("k", args.k), ("decoding", args.decoding)) if v})
    elif args.k or args.decoding or args.tree_min_steps:
        raise UsageError("--k, --decoding and --tree-min-steps are options of the tree planner (--planner tree).")
    if args.tree_min_steps < 0:
        raise UsageError(f"--tree-min-steps must be >= 1, got {args.tree_min_steps}.")
    result = _quiet_stdout_while(bench.run_planner_bench, args.planner, args.cases or None, limit=args.limit or None,
                                 planner_options=options, tree_min_steps=args.tree_min_steps or 5, progress=lambda line: print(line, file=sys.stderr, flush=True))
    if args.json:
        return report(result, True)
    print(bench.format_report(result))
    return 0


def bench_perception(args) -> int:
    from robomatrix.cli.main import require
    from robomatrix.cli.sim import _check_scene
    from robomatrix.errors import UsageError

    scenes = tuple(s.strip() for s in args.scenes.split(",") if s.strip())
    for scene in scenes:
        _check_scene(scene)
    try:
        width, height = (int(v) for v in args.camera.lower().split("x"))
    except ValueError:
        raise UsageError(f"--camera expects WxH such as 320x240, got '{args.camera}'.") from None
    if args.n_scenes < 1 or args.views < 1 or width < 32 or height < 24:
        raise UsageError("--n-scenes and --views must be >= 1 and --camera at least 32x24.")
    bench = require("robomatrix.bench.perception", "`robomatrix bench perception`")
    result = _quiet_stdout_while(bench.run_perception_bench, scenes=scenes, n_scenes=args.n_scenes, seed=args.seed,
                                 views_per_scene=args.views, width=width, height=height)
    if args.json:
        return report(result, True)
    print(bench.format_report(result))
    return 0
