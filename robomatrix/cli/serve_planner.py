"""`robomatrix serve-planner --planner NAME --port P [--host 127.0.0.1] [--token T]`: an OpenAI-compatible planner endpoint."""
from __future__ import annotations

COMMAND = "serve-planner"
HELP = "serve a planner as an OpenAI-compatible /v1/chat/completions endpoint (loopback unless --token)"


def add_arguments(parser) -> None:
    parser.add_argument("--planner", default="rule", help="planner to serve (default: rule)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default: 8000)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1; others need --token)")
    parser.add_argument("--token", default="", help="bearer token every request must carry (required off loopback)")
    parser.add_argument("--model", default="", help="model directory for the hf planner (default: the shipped one)")
    parser.set_defaults(handler=serve_planner)


def serve_planner(args) -> int:
    from robomatrix.cli.main import require

    server = require("robomatrix.planners.server", "`robomatrix serve-planner`")
    server.check_bind(args.host, args.token or None)  # refuse before loading any model
    options = {"model": args.model} if args.model else {}
    server.serve(args.planner, host=args.host, port=args.port, token=args.token or None, planner_options=options)
    return 0
