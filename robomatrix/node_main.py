"""Run one node class as a process: what every node's `main(args=None)` calls.

Handles what each node would otherwise repeat: the transport context from the
environment (`ROBOMATRIX_TRANSPORT`), ROS-style `--ros-args` (parameters, remaps,
node name and namespace), spinning until Ctrl-C or SIGTERM, clean shutdown, and
errors for people (one line; exit 2 for bad parameters, 1 for other failures).
"""
from __future__ import annotations

import os
import signal
import sys

from robomatrix import comm
from robomatrix.errors import RoboMatrixError


def run_node(node_cls, argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    # SIGTERM (from `robomatrix launch` or systemd) ends the spin like Ctrl-C does.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    node = None
    try:
        comm.init(args=argv)
        node = node_cls(cli_args=argv)
        comm.spin(node)
    except KeyboardInterrupt:
        pass
    except RoboMatrixError as exc:
        print(f"{node_cls.__name__}: error: {exc}", file=sys.stderr)
        _shutdown(node)
        sys.exit(exc.exit_code)
    except Exception as exc:  # a node crash: one line unless debugging
        if os.environ.get("ROBOMATRIX_DEBUG"):
            raise
        print(f"{node_cls.__name__}: fatal: {type(exc).__name__}: {exc} (set ROBOMATRIX_DEBUG=1 for a traceback)",
              file=sys.stderr)
        _shutdown(node)
        sys.exit(1)
    _shutdown(node)


def _raise_keyboard_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _shutdown(node) -> None:
    """Destroy the node and close the transports; a failure here must not hide the real error."""
    try:
        if node is not None:
            node.destroy_node()
        comm.shutdown()
    except Exception as exc:  # already exiting: report in one line
        print(f"shutdown: {type(exc).__name__}: {exc}", file=sys.stderr)
