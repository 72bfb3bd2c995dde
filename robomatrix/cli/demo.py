"""`robomatrix demo`: drive the simulated robot through a scripted task and save what its camera saw."""
from __future__ import annotations

COMMAND = "demo"
HELP = ("physics demo: an ORACLE expert (simulator ground truth, no perception) picks and places a can; "
        "writes camera video and frames (`make demo` runs a real task: `robomatrix run`)")


def add_arguments(parser) -> None:
    parser.add_argument("--out", default="out/demo", help="output folder (default: out/demo)")
    parser.add_argument("--scene", default="office", help="scene name (default: office)")
    parser.add_argument("--seed", type=int, default=0, help="scene randomisation seed (default: 0)")
    parser.set_defaults(handler=run)


def run(args) -> int:
    from robomatrix.cli.main import require
    from robomatrix.cli.sim import _check_scene

    _check_scene(args.scene)
    demo = require("robomatrix.sim.demo_motion", "`robomatrix demo`")
    summary = demo.run_scripted_demo(out_dir=args.out, scene=args.scene, seed=args.seed)
    files = summary.get("files", []) if isinstance(summary, dict) else []
    print(f"demo output in {args.out}/" + (":" if files else ""))
    for name in files:
        print(f"  {name}")
    if isinstance(summary, dict) and "success_oracle" in summary:
        print(f"task success (oracle): {summary['success_oracle']}")
    return 0
