"""What the MuJoCo and PyBullet backends share: commands held between ticks and ramped per physics step.

A simulated robot keeps three setpoints: the base velocity (applied at once, after the safety
clip of `clip_action`), the arm target (the arm's setpoint moves towards it at the configured
speed limit) and the gripper target (the finger setpoint ramps over `gripper_close_time_s`, as
closing instantly would push the fingers into the object). `advance` steps the physics with the
setpoints ramped before every step. A backend supplies the physics: `_physics_timestep_s`,
`_step_physics` and `_apply_controls` (write the setpoints to its actuators).
"""
from __future__ import annotations

import abc
import math

from robomatrix.errors import UsageError
from robomatrix.hardware.robot import Action, SimulatedRobot, clip_action


class ActuatedSimRobot(SimulatedRobot):
    """Command handling and setpoint ramps for a simulator backend (module docstring)."""

    finger_travel_m: float  # the finger joint's travel: gripper 1.0 (open) maps to this

    @abc.abstractmethod
    def _require(self) -> None:
        """Raise a clear error unless the robot is connected and reset."""

    @abc.abstractmethod
    def _apply_controls(self) -> None:
        """Write the current base command, arm setpoint and gripper setpoint to the actuators."""

    @abc.abstractmethod
    def _physics_timestep_s(self) -> float:
        """One physics step, simulated seconds."""

    @abc.abstractmethod
    def _step_physics(self) -> None:
        """Advance the physics by one timestep."""

    def _reset_commands(self, arm: tuple[float, float]) -> None:
        """No motion, the arm held at `arm`, the gripper open (call from `reset`)."""
        self._base_command = (0.0, 0.0, 0.0)
        self._last_command_time_s: float | None = None
        self._arm_target = self._arm_setpoint = arm
        self._gripper_target = self._gripper_setpoint = self.finger_travel_m

    def send_action(self, action: Action) -> Action:
        self._require()
        now = self.sim_time_s
        elapsed = None if self._last_command_time_s is None else now - self._last_command_time_s
        dt = self.config.control_period_s if not elapsed else max(elapsed, self.config.control_period_s)
        applied = clip_action(action, self.config, self._base_command, dt)
        self._last_command_time_s = now
        self._base_command = applied.base_velocity
        if applied.arm_target is not None:
            self._arm_target = applied.arm_target
        if applied.gripper is not None:
            self._gripper_target = applied.gripper * self.finger_travel_m
        self._apply_controls()
        return applied

    def stop(self) -> None:
        self._require()
        self._base_command = (0.0, 0.0, 0.0)
        self._arm_target = self._arm_setpoint
        self._gripper_target = self._gripper_setpoint
        self._apply_controls()

    def advance(self, duration_s: float) -> None:
        """Step the physics `duration_s` simulated seconds (rounded to whole timesteps)."""
        self._require()
        if not (math.isfinite(duration_s) and duration_s >= 0):
            raise UsageError(f"advance(duration_s) needs a non-negative number of seconds, got {duration_s!r}.")
        dt = self._physics_timestep_s()
        arm_step = self.config.arm_speed_limit_mps * dt
        grip_step = self.finger_travel_m / self.config.gripper_close_time_s * dt
        for _ in range(int(round(duration_s / dt))):
            self._ramp(arm_step, grip_step)
            self._apply_controls()
            self._step_physics()

    def _ramp(self, arm_step: float, grip_step: float) -> None:
        (sx, sz), (tx, tz) = self._arm_setpoint, self._arm_target
        ex, ez = tx - sx, tz - sz
        dist = math.hypot(ex, ez)
        if dist > 0.0:
            f = min(1.0, arm_step / dist)
            self._arm_setpoint = (sx + ex * f, sz + ez * f)
        g, gt = self._gripper_setpoint, self._gripper_target
        if g != gt:
            self._gripper_setpoint = gt if abs(gt - g) <= grip_step else g + math.copysign(grip_step, gt - g)
