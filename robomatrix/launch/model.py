"""What a parsed launch file resolves to: its arguments and the processes to start."""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class LaunchArgument:
    """A declared `arg`: its resolved value and where it was declared."""

    name: str
    value: str              # after defaults, include args and `name:=value` overrides
    default: str | None     # None: required
    description: str
    where: str              # 'file:line'


@dataclass
class ProcessSpec:
    """One process to start: a ROS node (`node`) or a plain command (`executable`)."""

    kind: str                                   # 'node' or 'executable'
    label: str                                  # output prefix, unique in the plan
    cmd: list[str]                              # the full command line
    where: str                                  # 'file:line' of the tag
    pkg: str = ""                               # node only
    exec: str = ""                              # node only: console script name
    node_name: str = ""                         # node only: '' keeps the node's own name
    namespace: str = "/"                        # node only
    params: dict[str, str] = field(default_factory=dict)     # node only: name → YAML text
    params_files: list[str] = field(default_factory=list)   # node only
    remaps: dict[str, str] = field(default_factory=dict)     # node only: from → to
    env: dict[str, str] = field(default_factory=dict)        # set in the child's environment
    unset_env: list[str] = field(default_factory=list)       # removed from the child's environment
    cwd: str | None = None
    output: str = "screen"                      # 'screen', 'log' or 'both' (all shown prefixed here)
    respawn: bool = False
    respawn_delay_s: float = 0.0
    shutdown_on_exit: bool = False              # `on_exit: shutdown`: its exit ends the launch
    sigterm_timeout_s: float = 5.0              # after SIGINT, wait this long before SIGTERM
    sigkill_timeout_s: float = 5.0              # after SIGTERM, wait this long before SIGKILL

    def command_line(self) -> str:
        return shlex.join(self.cmd)


@dataclass
class LaunchPlan:
    """A launch file resolved against its arguments: everything `robomatrix launch` starts."""

    file: Path
    arguments: list[LaunchArgument] = field(default_factory=list)
    processes: list[ProcessSpec] = field(default_factory=list)

    def argument_values(self) -> dict[str, str]:
        return {a.name: a.value for a in self.arguments}

    def describe(self) -> str:
        """Human-readable dry run: arguments, then each process and its command line."""
        lines = [f"launch file: {self.file}"]
        if self.arguments:
            lines.append("arguments:")
            for arg in self.arguments:
                origin = "default" if arg.default is not None and arg.value == arg.default else "set"
                lines.append(f"  {arg.name} = {arg.value!r} ({origin})"
                             + (f"  # {arg.description}" if arg.description else ""))
        lines.append(f"processes ({len(self.processes)}):")
        for proc in self.processes:
            lines.append(f"  [{proc.label}] {proc.kind} at {proc.where}")
            if proc.kind == "node":
                lines.append(f"    pkg={proc.pkg} exec={proc.exec} name={proc.node_name or '(default)'} "
                             f"namespace={proc.namespace}")
                for name, value in proc.params.items():
                    lines.append(f"    param {name} := {value}")
                for source, target in proc.remaps.items():
                    lines.append(f"    remap {source} -> {target}")
            for name, value in proc.env.items():
                lines.append(f"    env {name}={value}")
            lines.append(f"    $ {proc.command_line()}")
        return "\n".join(lines)
