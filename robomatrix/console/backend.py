"""The contract between the console's web app and whatever runs the robot.

Two implementations: `robomatrix.console.live.LiveSimBackend` (one process: a `SimSession`
stepped in real time) and `robomatrix.console.node.ConsoleNode` (a launched graph over DDS).
Every method is called from the web server's threads and must return quickly; a request that
cannot be honoured raises `ConsoleInputError` with a reason the page shows.
"""
from __future__ import annotations

import abc

from robomatrix.console.model import ConsoleModel
from robomatrix.console.protocol import (
    Command,
    ConsoleInputError,
    ControlCommand,
    RecordCommand,
    TeleopCommand,
    TextCommand,
)


class ConsoleBackend(abc.ABC):
    model: ConsoleModel

    @abc.abstractmethod
    def submit_task(self, text: str) -> None:
        """Run the instruction `text` (a running task is replaced)."""

    @abc.abstractmethod
    def correct(self, text: str) -> None:
        """Deliver a language correction to the running system."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop the running task (the robot stands still; `resume` goes on)."""

    @abc.abstractmethod
    def resume(self) -> None:
        """Go on after `stop`."""

    @abc.abstractmethod
    def set_estop(self, engaged: bool) -> None:
        """Engage (latched) or release the e-stop."""

    @abc.abstractmethod
    def teleop(self, command: TeleopCommand) -> None:
        """The operator's keys or gamepad (normalised rates; the watchdog stops silent teleop)."""

    @abc.abstractmethod
    def teleop_release(self) -> None:
        """The operator's connection is gone: stop teleop motion now."""

    @abc.abstractmethod
    def record(self, command: RecordCommand) -> None:
        """Start, stop (and save) or discard a teleoperated demonstration."""

    def skills(self) -> list[dict]:
        """The meta-skills a demonstration can be recorded for, with their arguments."""
        from robomatrix.skills.specs import skill_specs

        return [{"name": s.name, "description": s.description,
                 "args": [{"name": a.name, "kind": a.kind, "required": a.required, "choices": list(a.choices)}
                          for a in s.args]} for s in skill_specs()]

    @abc.abstractmethod
    def close(self) -> None:
        """Stop threads and release the robot or the node."""

    def handle(self, command: Command) -> None:
        """Dispatch one validated page command."""
        if isinstance(command, TextCommand):
            self.model.log(f"{command.kind} from the console: {command.text}")
            (self.submit_task if command.kind == "task" else self.correct)(command.text)
        elif isinstance(command, ControlCommand):
            if command.kind == "estop":
                self.set_estop(command.engaged)
            else:
                self.model.log(f"{command.kind} from the console")
                (self.stop if command.kind == "stop" else self.resume)()
        elif isinstance(command, TeleopCommand):
            self.teleop(command)
        elif isinstance(command, RecordCommand):
            self.record(command)
        else:  # parse_message returns nothing else
            raise ConsoleInputError(f"unsupported command {type(command).__name__}")
