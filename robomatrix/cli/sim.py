"""`robomatrix sim snapshot|scenes|serve`: look at the simulated world, or serve it as a ROS 2 robot."""
from __future__ import annotations

from robomatrix.errors import UsageError

COMMAND = "sim"
HELP = "simulation tools: save what the robot camera sees (snapshot), list scenes, serve as a ROS 2 robot"


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(title="subcommands", dest="sim_command", metavar="<subcommand>")
    snap = sub.add_parser("snapshot", help="save the robot camera's RGB beside a depth visualisation as a PNG")
    snap.add_argument("--scene", default="office", help="scene name (default: office; see `robomatrix sim scenes`)")
    snap.add_argument("--seed", type=int, default=0, help="scene randomisation seed (default: 0)")
    snap.add_argument("--out", default="frame.png", help="output PNG path (default: frame.png)")
    snap.add_argument("--width", type=int, default=640, help="camera width, px (default: 640)")
    snap.add_argument("--height", type=int, default=480, help="camera height, px (default: 480)")
    snap.add_argument("--sim", default="mujoco", metavar="mujoco|pybullet", help="simulator backend (default: mujoco)")
    snap.set_defaults(handler=snapshot)
    scenes = sub.add_parser("scenes", help="list the registered scene names")
    scenes.set_defaults(handler=list_scenes)
    serve = sub.add_parser("serve", help="run the simulator as a ROS 2 robot on a robot profile's topics (DDS)")
    serve.add_argument("--profile", default="sim",
                       help="robot profile: a name (sim, robomaster_ep) or a .yaml file (default: sim)")
    serve.add_argument("--scene", default="office", help="scene name (default: office)")
    serve.add_argument("--seed", type=int, default=0, help="scene randomisation seed (default: 0)")
    serve.add_argument("--width", type=int, default=320, help="camera width, px (default: 320)")
    serve.add_argument("--height", type=int, default=240, help="camera height, px (default: 240)")
    serve.add_argument("--camera-rate", type=float, default=15.0, help="camera rate, Hz (default: 15)")
    serve.add_argument("--control-rate", type=float, default=50.0, help="physics/odometry rate, Hz (default: 50)")
    serve.set_defaults(handler=serve_robot)


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
    backends = require("robomatrix.run", "The simulation layer").SIM_BACKENDS
    if args.sim not in backends:
        from robomatrix.errors import unknown_name

        raise unknown_name("simulator (--sim)", args.sim, backends)
    tool = require("robomatrix.sim.snapshot", "`robomatrix sim snapshot`")
    path = tool.snapshot(scene=args.scene, seed=args.seed, out=args.out, width=args.width, height=args.height,
                         backend=args.sim)
    print(f"saved {path}")
    return 0


def list_scenes(args) -> int:
    from robomatrix.cli.main import require

    for name in require("robomatrix.sim.scene", "The simulation layer").scene_names():
        print(name)
    return 0


def serve_robot(args) -> int:
    from robomatrix.cli.main import require
    from robomatrix.hardware.profile import load_profile

    if not (16 <= args.width <= 4096 and 16 <= args.height <= 4096):
        raise UsageError(f"--width/--height must be between 16 and 4096 px, got {args.width}x{args.height}.")
    if not (args.camera_rate > 0 and args.control_rate > 0):
        raise UsageError("--camera-rate and --control-rate must be > 0 Hz.")
    _check_scene(args.scene)
    load_profile(args.profile)  # a bad profile is a usage error before anything starts
    require("robomatrix.sim.serve", "`robomatrix sim serve`").serve(
        profile=args.profile, scene=args.scene, seed=args.seed, camera_width=args.width, camera_height=args.height,
        camera_rate_hz=args.camera_rate, control_rate_hz=args.control_rate)
    return 0
