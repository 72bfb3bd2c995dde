"""`robomatrix console`: the teleop and correction web console, attached to a launched graph over DDS.

    robomatrix launch launch/sim.launch.yaml &      # the graph
    robomatrix console --port 8765                  # then open http://127.0.0.1:8765/

The one-process variant is `robomatrix run --console` (the simulation runs in the same process,
in real time). The console binds 127.0.0.1; binding another address needs `--token` (or the
ROBOMATRIX_CONSOLE_TOKEN environment variable), and the page then needs `?token=...`.
"""
from __future__ import annotations

import os
import signal
import sys

COMMAND = "console"
HELP = "web console (camera, plan, log, task and correction boxes, teleop, demo recording) for a launched graph"
TOKEN_ENV = "ROBOMATRIX_CONSOLE_TOKEN"


def add_server_arguments(parser) -> None:
    """Options every way of starting the console shares."""
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default: 127.0.0.1; any other address needs --token)")
    parser.add_argument("--port", type=int, default=8765, help="port to serve on (default: 8765; 0: any free port)")
    parser.add_argument("--token", default=None,
                        help=f"access token the page must present (default: ${TOKEN_ENV}, else none on loopback)")
    parser.add_argument("--record-dir", default="out/console/demos", metavar="DIR",
                        help="dataset folder for teleoperated demonstrations (default: out/console/demos)")


def add_arguments(parser) -> None:
    add_server_arguments(parser)
    parser.set_defaults(handler=run)


def token_from(args) -> str | None:
    return args.token or os.environ.get(TOKEN_ENV) or None


def serve(backend, args, stream=sys.stdout) -> int:
    """Serve the console for `backend` until Ctrl-C; closes the backend."""
    from robomatrix.console.server import ConsoleServer

    try:
        server = ConsoleServer(backend, host=args.host, port=args.port, token=token_from(args))
    except BaseException:
        backend.close()
        raise
    print(f"console: {server.url}  (Ctrl-C stops)", file=stream, flush=True)
    from robomatrix.node_main import _raise_keyboard_interrupt

    # SIGTERM ends it like Ctrl-C (uvicorn shuts down, then re-raises the signal it caught), so the
    # simulation is closed and its video and log are finished.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        server.run()
    finally:
        backend.close()
    return 0


def run(args) -> int:
    from robomatrix.cli.main import require
    from robomatrix.console.server import check_bind

    check_bind(args.host, token_from(args))  # before anything starts
    node_mod = require("robomatrix.console.node", "The console")
    from robomatrix import comm

    os.environ.setdefault("ROBOMATRIX_TRANSPORT", "dds")
    comm.init()
    try:
        node = node_mod.ConsoleNode(parameter_overrides={"serve": False, "record_dir": args.record_dir})
    except BaseException:
        comm.shutdown()
        raise
    try:
        return serve(node.spin_in_background(), args)
    finally:
        node.destroy_node()
        comm.shutdown()
