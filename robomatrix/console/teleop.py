"""Teleoperation: normalised key/gamepad rates → robot commands, with a silence watchdog.

ROS-free and clock-free (every call takes `now_s`), like `CommandGate`. The page sends the
state of its keys or gamepad about 20 times a second while anything is pressed, and one
all-zero message on release. Rates are normalised to -1..1 and scaled here by `TeleopLimits`;
the arm's rates are integrated into a gripper (x, z) target inside the arm's workspace.

Watchdog: when no teleop message arrives for `timeout_s` (a lost connection, a frozen tab), the
base is commanded to stop and the arm target stops moving — motion never outlives its operator.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from robomatrix.errors import UsageError
from robomatrix.hardware.robot import Action


@dataclass
class TeleopLimits:
    """What full stick (or a held key) means."""

    base_speed_mps: float = 0.3  # |vx|, |vy| at full deflection, m/s
    yaw_rate_radps: float = 0.8  # |wz| at full deflection, rad/s
    arm_speed_mps: float = 0.12  # gripper target speed at full deflection, m/s
    arm_x_range_m: tuple[float, float] = (0.18, 0.42)  # the arm's x workspace in base_link (RobotConfig)
    arm_z_range_m: tuple[float, float] = (0.03, 0.30)  # the arm's z workspace in base_link (RobotConfig)
    timeout_s: float = 0.5  # silence after which teleop motion stops (watchdog)

    def __post_init__(self):
        for name in ("base_speed_mps", "yaw_rate_radps", "arm_speed_mps", "timeout_s"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise UsageError(f"TeleopLimits.{name} must be a positive number, got {value!r}.")


class Teleop:
    """The operator's latest command and the arm target it has steered (see module docstring)."""

    def __init__(self, limits: TeleopLimits | None = None):
        self.limits = limits or TeleopLimits()
        self._base = (0.0, 0.0, 0.0)
        self._arm_rate = (0.0, 0.0)
        self._arm_target: tuple[float, float] | None = None
        self._gripper: float | None = None
        self._last_msg_s: float | None = None
        self._last_tick_s: float | None = None
        self.watchdog_tripped = False

    def command(self, base, arm, gripper: float | None, now_s: float) -> None:
        """A teleop message (normalised rates; see `robomatrix.console.protocol.TeleopCommand`)."""
        self._base = tuple(float(v) for v in base)
        self._arm_rate = tuple(float(v) for v in arm)
        if gripper is not None:
            self._gripper = float(gripper)
        self._last_msg_s = now_s
        self.watchdog_tripped = False

    def release(self) -> None:
        """The operator is gone (connection closed, e-stop): stop now and forget the set-points."""
        self._base, self._arm_rate = (0.0, 0.0, 0.0), (0.0, 0.0)
        self._arm_target = self._gripper = None
        self._last_msg_s = self._last_tick_s = None

    @property
    def engaged(self) -> bool:
        """Whether an operator is driving (a message within the timeout, or a set-point to hold)."""
        return self._last_msg_s is not None

    @property
    def moving(self) -> bool:
        return any(v != 0.0 for v in self._base) or any(v != 0.0 for v in self._arm_rate)

    @property
    def status(self) -> str:
        """For the page: idle | driving | holding | stopped by watchdog."""
        return ("stopped by watchdog" if self.watchdog_tripped else
                "driving" if self.engaged and self.moving else "holding" if self.engaged else "idle")

    def action(self, now_s: float, ee_position) -> Action | None:
        """The command to apply now, or None when no operator has driven (let others command).

        `ee_position` is the measured gripper (x, z) in base_link: the arm target starts there."""
        if self._last_msg_s is None:
            return None
        lim = self.limits
        if now_s - self._last_msg_s > lim.timeout_s and self.moving:
            self._base, self._arm_rate = (0.0, 0.0, 0.0), (0.0, 0.0)
            self.watchdog_tripped = True
        dt = 0.0 if self._last_tick_s is None else min(max(now_s - self._last_tick_s, 0.0), 0.2)
        self._last_tick_s = now_s
        if self._arm_target is None and (any(self._arm_rate) or self._gripper is not None):
            self._arm_target = (float(ee_position[0]), float(ee_position[1]))
        if self._arm_target is not None and any(self._arm_rate):
            x = self._arm_target[0] + self._arm_rate[0] * lim.arm_speed_mps * dt
            z = self._arm_target[1] + self._arm_rate[1] * lim.arm_speed_mps * dt
            self._arm_target = (min(max(x, lim.arm_x_range_m[0]), lim.arm_x_range_m[1]),
                                min(max(z, lim.arm_z_range_m[0]), lim.arm_z_range_m[1]))
        vx, vy, wz = self._base
        return Action(base_velocity=(vx * lim.base_speed_mps, vy * lim.base_speed_mps, wz * lim.yaw_rate_radps),
                      arm_target=self._arm_target, gripper=self._gripper)
