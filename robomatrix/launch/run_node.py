"""`python -m robomatrix.launch.run_node <exec> [args] --ros-args ...`: run one node by name.

`<exec>` is a console script of the installed `robomatrix` distribution (the same names
`ros2 run robomatrix <exec>` uses); its function is called with `sys.argv` set to
`[<exec>, args...]` as a console script would be. The process ends when its launcher
dies (Linux: parent-death signal), so a killed `robomatrix launch` leaves no orphans.
"""
from __future__ import annotations

import ctypes
import importlib.metadata
import os
import signal
import sys

from robomatrix.errors import RoboMatrixError, unknown_name

DISTRIBUTION = "robomatrix"
NOT_NODES = {"robomatrix"}  # console scripts that are not nodes (the CLI)


def node_executables() -> dict[str, importlib.metadata.EntryPoint]:
    """Console scripts of the installed robomatrix distribution that are nodes, by name."""
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise RoboMatrixError("The robomatrix package is not installed, so its nodes cannot be found: "
                              "run `pip install -e .` in the source tree.") from None
    return {ep.name: ep for ep in dist.entry_points
            if ep.group == "console_scripts" and ep.name not in NOT_NODES}


def resolve_executable(name: str):
    """The callable behind node executable `name`; UsageError with the valid names otherwise."""
    executables = node_executables()
    if name not in executables:
        raise unknown_name("robomatrix node executable", name, executables)
    return executables[name].load()


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the launcher died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-"):
        print("usage: python -m robomatrix.launch.run_node <executable> [args] [--ros-args ...]", file=sys.stderr)
        sys.exit(2)
    try:
        func = resolve_executable(argv[0])
    except RoboMatrixError as exc:
        print(f"run_node: error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    _die_with_parent()
    sys.argv = argv
    sys.exit(func())


if __name__ == "__main__":
    main()
