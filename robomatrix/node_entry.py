"""Console-script entry points of the nodes (`ros2 run robomatrix <node>`, `robomatrix launch`).

Each one imports its node module inside the Ctrl-C guard: importing a node pulls in
NumPy, MuJoCo or torch and can take seconds, and a Ctrl-C (or SIGTERM from a launcher)
in that time must end the process quietly with 130, not with a KeyboardInterrupt
traceback. Keep this module free of heavy imports.
"""
from __future__ import annotations

import importlib
import signal
import sys

# Console-script name -> module whose main(args=None) runs the node.
NODE_MODULES = {
    "hardware_node": "robomatrix.hardware.hardware_node",
    "perception_node": "robomatrix.perception.node",
    "skill_server": "robomatrix.skills.server_node",
    "executive": "robomatrix.executive.node",
    "console": "robomatrix.console.node",
}


def run(module: str, args: list[str] | None = None):
    """Import `module` and call its main(args); Ctrl-C or SIGTERM while importing exits 130.

    SIGINT is the launcher's stop request: a node started from a background shell (`... &`,
    nohup) inherits it ignored, so its default (KeyboardInterrupt) is put back first."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    previous = signal.signal(signal.SIGTERM, _interrupt)  # run_node installs its own handler later
    try:
        main = importlib.import_module(module).main
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return main(args)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def hardware_node(args=None):
    return run(NODE_MODULES["hardware_node"], args)


def perception_node(args=None):
    return run(NODE_MODULES["perception_node"], args)


def skill_server(args=None):
    return run(NODE_MODULES["skill_server"], args)


def executive(args=None):
    return run(NODE_MODULES["executive"], args)


def console(args=None):
    return run(NODE_MODULES["console"], args)
