"""`robomatrix sim snapshot|scenes`: look at the simulated world."""
from __future__ import annotations

from robomatrix.errors import UsageError

COMMAND = "sim"
HELP = "simulation tools: save what the robot camera sees (snapshot), list scenes"


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(title="subcommands", dest="sim_command", metavar="<subcommand>")
    snap = sub.add_parser("snapshot", help="save the robot camera's RGB beside a depth visualisation as a PNG")
    snap.add_argument("--scene", default="office", help="scene name (default: office; see `robomatrix sim scenes`)")
    snap.add_argument("--seed", type=int, default=0, help="scene randomisation seed (default: 0)")
    snap.add_argument("--out", default="frame.png", help="output PNG path (default: frame.png)")
    snap.add_argument("--width", type=int, default=640, help="camera width, px (default: 640)")
    snap.add_argument("--height", type=int, default=480, help="camera height, px (default: 480)")
    snap.set_defaults(handler=snapshot)
    scenes = sub.add_parser("scenes", help="list the registered scene names")
    scenes.set_defaults(handler=list_scenes)


def _check_scene(name: str) -> None:
    from robomatrix.cli.main import require

    scene = require("robomatrix.sim.scene", "The simulation layer")
    if name not in scene.scene_names():
        from robomatrix.errors import unknown_name

        raise unknown_name("scene", name, scene.scene_names())


def snapshot(args) -> int:
    from robomatrix.cli.main import require

    if not (16 <= args.width <= 4096 and 16 <= args.height <= 4096):
        raise UsageError(f"--width/--height must be between 16 and 4096 px, got {args.width}x{args.height}.")
    _check_scene(args.scene)
    tool = require("robomatrix.sim.snapshot", "`robomatrix sim snapshot`")
    path = tool.snapshot(scene=args.scene, seed=args.seed, out=args.out, width=args.width, height=args.height)
    print(f"saved {path}")
    return 0


def list_scenes(args) -> int:
    from robomatrix.cli.main import require

    for name in require("robomatrix.sim.scene", "The simulation layer").scene_names():
        print(name)
    return 0
