"""The hardware layer's command gate: the latest commands, a watchdog and the e-stop.

ROS-free and clock-free: every method takes the current time in seconds, so the
hardware node (real time) and lock-step simulation (simulated time) share it, and
tests drive it with plain numbers.

Semantics, as a robot driver should behave:
- base velocity is a *stream*: if no `/cmd_vel` arrives for `cmd_vel_timeout_s`, the
  base is commanded to stop (a crashed or disconnected controller must not leave the
  robot driving);
- arm target and gripper are *set-points*: they hold until changed;
- the e-stop latches: while engaged every action is "stop the base, hold arm and
  gripper where they are", and commands received meanwhile are discarded, so
  releasing the e-stop never replays a stale command.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from robomatrix.hardware.robot import Action


@dataclass
class CommandGateConfig:
    cmd_vel_timeout_s: float = 0.5  # base stops when /cmd_vel is older than this (seconds)

    def __post_init__(self):
        if not (math.isfinite(self.cmd_vel_timeout_s) and self.cmd_vel_timeout_s > 0):
            raise ValueError(f"cmd_vel_timeout_s must be a positive number of seconds, got {self.cmd_vel_timeout_s!r}")


class CommandGate:
    def __init__(self, config: CommandGateConfig | None = None):
        self.config = config or CommandGateConfig()
        self._base = (0.0, 0.0, 0.0)
        self._base_stamp_s: float | None = None
        self._arm: tuple[float, float] | None = None
        self._gripper: float | None = None
        self.estop_engaged = False
        self.watchdog_tripped = False

    def set_base_velocity(self, vx: float, vy: float, wz: float, now_s: float) -> None:
        if self.estop_engaged:
            return
        self._base = (float(vx), float(vy), float(wz))
        self._base_stamp_s = now_s

    def set_arm_target(self, x: float, z: float) -> None:
        if self.estop_engaged or not (math.isfinite(x) and math.isfinite(z)):
            return
        self._arm = (float(x), float(z))

    def set_gripper(self, opening: float) -> None:
        if self.estop_engaged or not math.isfinite(opening):
            return
        self._gripper = min(1.0, max(0.0, float(opening)))

    def set_estop(self, engaged: bool) -> None:
        """Engage or release the e-stop. Engaging drops every pending command."""
        if engaged and not self.estop_engaged:
            self._base, self._base_stamp_s = (0.0, 0.0, 0.0), None
            self._arm = self._gripper = None
        self.estop_engaged = bool(engaged)

    def action(self, now_s: float) -> Action:
        """The action to apply now."""
        if self.estop_engaged:
            return Action(base_velocity=(0.0, 0.0, 0.0), arm_target=None, gripper=None)
        stale = self._base_stamp_s is None or now_s - self._base_stamp_s > self.config.cmd_vel_timeout_s
        self.watchdog_tripped = stale and self._base_stamp_s is not None
        base = (0.0, 0.0, 0.0) if stale else self._base
        return Action(base_velocity=base, arm_target=self._arm, gripper=self._gripper)
