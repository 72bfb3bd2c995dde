"""`robomatrix launch FILE [name:=value ...]`: run a ROS 2 YAML launch file without ROS 2."""
from __future__ import annotations

from pathlib import Path

from robomatrix.errors import RoboMatrixError, UsageError, closest

COMMAND = "launch"
HELP = "run a ROS 2 YAML launch file without ROS 2 (one process per node, over DDS on localhost)"


def add_arguments(parser) -> None:
    parser.add_argument("file", help="launch file: a path, or a name in the robomatrix share's launch/ folder "
                                     "(sim.launch.yaml); `robomatrix launch robomatrix sim.launch.yaml` "
                                     "(the ros2 launch form) works too")
    parser.add_argument("arguments", nargs="*", metavar="name:=value", help="launch argument values")
    parser.add_argument("--print", dest="dry_run", action="store_true",
                        help="show the resolved arguments and processes with their command lines; start nothing")
    parser.add_argument("--show-args", action="store_true", help="list the file's arguments and exit")
    parser.set_defaults(handler=run)


def find_launch_file(text: str) -> Path:
    """A path as given, else `launch/<text>` in the robomatrix share (like `ros2 launch robomatrix <text>`)."""
    path = Path(text)
    if path.suffix in (".py", ".xml"):
        raise UsageError(f"'{text}': only YAML launch files (*.launch.yaml) run without ROS 2; "
                         "use `ros2 launch` for Python and XML launch files.")
    if path.is_file():
        return path
    from robomatrix.launch.substitutions import package_share

    try:
        shared = package_share("robomatrix") / "launch" / text
    except UsageError:
        shared = None
    if shared is not None and shared.is_file():
        return shared
    known = sorted(p.name for p in (shared.parent.glob("*.launch.yaml") if shared is not None else []))
    hint = closest(path.name, known)
    raise UsageError(f"Launch file '{text}' not found." + (f" Did you mean '{hint}'?" if hint else "")
                     + (f" Installed launch files: {', '.join(known)}." if known else ""))


def run(args) -> int:
    from robomatrix.errors import unknown_name
    from robomatrix.launch import parse_launch_file, run_launch
    from robomatrix.launch.run_node import node_executables

    if args.file == "robomatrix" and args.arguments and ":=" not in args.arguments[0]:
        args.file, args.arguments = args.arguments[0], args.arguments[1:]  # `ros2 launch <pkg> <file>` form
    path = find_launch_file(args.file)
    plan = parse_launch_file(path, args.arguments)
    if args.show_args:
        for arg in plan.arguments:
            default = "(required)" if arg.default is None else f"default {arg.default!r}"
            print(f"{arg.name}: {default}" + (f"  {arg.description}" if arg.description else ""))
        return 0
    executables = None
    for proc in plan.processes:
        if proc.kind != "node":
            continue
        if proc.pkg != "robomatrix":
            raise UsageError(f"{proc.where}: node '{proc.label}' is from package '{proc.pkg}'; without ROS 2 only "
                             "robomatrix nodes can run (use `ros2 launch` for others).")
        executables = executables if executables is not None else node_executables()
        if proc.exec not in executables:
            raise UsageError(f"{proc.where}: {unknown_name('robomatrix node executable', proc.exec, executables)}"
                             " (new nodes need `pip install -e .` to register their console script)")
    if args.dry_run:
        print(plan.describe())
        return 0
    if not plan.processes:
        raise UsageError(f"{path} starts no processes.")
    result = run_launch(plan)
    if result.exit_code:
        raise RoboMatrixError(result.describe())
    return 0
