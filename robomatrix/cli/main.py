"""`robomatrix`: the command-line interface.

Commands live one group per module in this package; each module has `COMMAND` (its
name), `HELP` (one line) and `add_arguments(parser)`, and sets `handler` on the parser.
Implementations are imported inside the handlers, so `--help` is instant and a missing
piece breaks only its own command.

Exit codes: 0 ok; 1 a `RoboMatrixError` (one line); 2 bad usage (one line); 130 Ctrl-C.
Set ROBOMATRIX_DEBUG=1 to see tracebacks.
"""
from __future__ import annotations

import argparse
import importlib
import os
import re
import sys

from robomatrix.errors import RoboMatrixError, UsageError, closest

PROG = "robomatrix"
# Command modules, in the order `--help` lists them.
COMMAND_MODULES = ("run", "plan", "console", "correct", "launch", "topic", "node", "sim", "demo", "bench", "doctor", "collect", "dataset", "train",
                   "train_planner", "serve_planner")


_INVALID_CHOICE = re.compile(r"argument (\S+): invalid choice: '([^']*)' \(choose from (.*)\)")


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing usage and exiting."""

    def error(self, message: str):
        choice = _INVALID_CHOICE.fullmatch(message)
        if choice:  # argparse has no did-you-mean before Python 3.12
            argument, value, listed = choice.groups()
            valid = [v.strip().strip("'") for v in listed.split(",")]
            what = argument.strip("<>") if argument.startswith("<") else f"value for {argument}"
            hint = closest(value, valid)
            message = (f"unknown {what} '{value}'." + (f" Did you mean '{hint}'?" if hint else "")
                       + f" Valid: {', '.join(valid)}.")
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def version() -> str:
    try:
        from importlib.metadata import version as dist_version

        return dist_version("robomatrix")
    except Exception:  # not installed: running from a source tree
        import robomatrix

        return getattr(robomatrix, "__version__", "unknown")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog=PROG, description="RoboMatrix: a skill-centric robot task-execution stack, ROS 2-native.",
        epilog="Run `robomatrix <command> --help` for a command's options. ROBOMATRIX_DEBUG=1 shows tracebacks.")
    parser.add_argument("--version", action="version", version=f"{PROG} {version()}")
    commands = parser.add_subparsers(title="commands", dest="command", metavar="<command>")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"robomatrix.cli.{name}")
        sub = commands.add_parser(module.COMMAND, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
    return parser


def require(module: str, what: str):
    """Import `module` for a command; RoboMatrixError naming it when that piece is missing."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and (module == exc.name or module.startswith(exc.name + ".")):
            raise RoboMatrixError(f"{what} is not available: {exc.name} missing.") from None
        raise


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns (and, as a console script, exits with) the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = bool(os.environ.get("ROBOMATRIX_DEBUG"))
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "handler", None):
            if args.command is None:
                parser.print_help()
                return 0
            # a command group called without its subcommand (`robomatrix bench`)
            raise UsageError(f"`{PROG} {args.command}` needs a subcommand (see `{PROG} {args.command} --help`)")
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return 130
    except RoboMatrixError as exc:
        if debug:
            raise
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # `robomatrix topic echo ... | head`
        sys.stderr.close()
        return 0
    except Exception as exc:
        if debug:
            raise
        print(f"{PROG}: internal error: {type(exc).__name__}: {exc} (set ROBOMATRIX_DEBUG=1 for a traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
