"""The policy contract and the shared pieces of the scripted controllers.

A `SkillPolicy` runs one execution of one meta-skill: `reset(args, state, obs)` once, then
`act(state, obs) -> PolicyStep` every control tick. It sees only perception's output
(`PerceptionState`: tracked objects in the base frame, held object, drawer opening) and the
robot's proprioception (`Observation` from `get_state()`; `rgb` may be None) — never the
simulator. The runner sends `step.action`, and when `step.done` it checks the skill's
postcondition (unless the policy already failed with `success=False`).

Scripted policies here are phase machines: each phase is a method returning
`(action, next_phase | None, message)`; `Phased` runs them, times them and fails a phase that
takes longer than its own budget with a reason.
"""
from __future__ import annotations

import abc
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from robomatrix.hardware.kinematics import wrap_angle
from robomatrix.hardware.robot import Action, Observation

# Geometry of the EP-like robot and its gripper that the scripted skills rely on (base_link, m).
# Measured with the ORACLE expert in sim/oracle_expert.py; the policies themselves use perception.
PREGRASP_X_M = 0.20  # gripper x with the fingers clear of an object at GRASP_X_M
GRASP_X_M = 0.32  # object centre x in the base frame when the fingers close on it
STANDOFF_X_M = 0.42  # object centre x where move_to stops: close enough to see well, arm clear
TRAVEL_Z_M = 0.16  # gripper z while driving empty-handed: pads clear the 0.12 m cans
GRASP_Z_M = 0.06  # gripper z when grasping a can (mid-height of a 0.12 m can)
CARRY_Z_M = 0.24  # gripper z while carrying: the can's bottom clears a 0.12 m wall
DRAWER_CARRY_Z_M = 0.29  # gripper z over the drawer: the can clears the 0.20 m drawer front
DROP_X_M = 0.36  # container centre x in the base frame when releasing
HANDLE_X_M = 0.30  # drawer handle x in the base frame when pinching it
HELD_OPENING_MIN = 0.3  # measured gripper opening above this after closing: something is held
CAN_RADIUS_M = 0.033  # the cans of our scenes (scene spec); pads must clear it


@dataclass
class PolicyStep:
    """What a policy says on one control tick."""

    action: Action  # command for this tick
    done: bool = False  # the policy has finished (the runner then checks the postcondition)
    success: bool | None = None  # with done: False = failed (see message); None/True = check postcondition
    progress: float = 0.0  # 0..1, the policy's own estimate
    message: str = ""  # what it is doing, or why it failed


class SkillPolicy(abc.ABC):
    """One execution of one meta-skill (a fresh instance per execution)."""

    skill: str = ""
    # True when the command is a function of the current perception state and proprioception (phase
    # memory does not gate it), so the policy can label states another policy reached (DAgger,
    # skills.data.dagger). A phase machine whose next phase waits for its own earlier commands to
    # take effect (grasp: "arm at pre-grasp, then reach") would label a learner that already reached
    # with "pull the arm back": such experts leave this False.
    labels_any_state: bool = False

    @abc.abstractmethod
    def reset(self, args: dict[str, Any], state, obs: Observation) -> None:
        """Start an execution with validated `args` (skills.specs.validate_call)."""

    @abc.abstractmethod
    def act(self, state, obs: Observation) -> PolicyStep:
        """The command for this tick, from `state` (PerceptionState) and `obs` (proprioception)."""


Phase = Callable[[Any, Observation], tuple[Action, "str | None", str]]


class Phased(SkillPolicy):
    """A scripted policy as named phases run in order (`PHASES`), each with a time budget.

    A phase method `phase_<name>(state, obs)` returns `(action, next, message)` where `next` is
    None to stay, another phase name, "done" to finish (postcondition decides) or "fail" to fail
    with `message`. `PHASES` lists (name, budget_s); progress is the index of the phase.
    """

    PHASES: tuple[tuple[str, float], ...] = ()

    def reset(self, args, state, obs) -> None:
        self.args = dict(args)
        self.phase = self.PHASES[0][0]
        self.phase_start_s = obs.stamp_s
        self.start_obs = obs
        self.hold_since_s: float | None = None
        self.setup(state, obs)

    def setup(self, state, obs: Observation) -> None:
        """Per-skill initialisation (args are in `self.args`)."""

    def elapsed_in_phase(self, obs: Observation) -> float:
        return obs.stamp_s - self.phase_start_s

    def settled(self, reached: bool, obs: Observation, hold_s: float = 0.15) -> bool:
        """True once `reached` has held for `hold_s` (the estimate is noisy: do not trust one tick)."""
        if not reached:
            self.hold_since_s = None
            return False
        if self.hold_since_s is None:
            self.hold_since_s = obs.stamp_s
        return obs.stamp_s - self.hold_since_s >= hold_s

    def act(self, state, obs: Observation) -> PolicyStep:
        names = [p[0] for p in self.PHASES]
        budget = dict(self.PHASES)[self.phase]
        index = names.index(self.phase)
        if self.elapsed_in_phase(obs) > budget:
            return PolicyStep(Action(), done=True, success=False, progress=index / len(names),
                              message=self.timeout_reason(self.phase, state))
        action, nxt, message = getattr(self, f"phase_{self.phase}")(state, obs)
        if nxt == "fail":
            return PolicyStep(Action(), done=True, success=False, progress=index / len(names), message=message)
        if nxt == "done":
            return PolicyStep(action, done=True, success=None, progress=1.0, message=message)
        if nxt is not None and nxt != self.phase:
            self.phase, self.phase_start_s, self.hold_since_s = nxt, obs.stamp_s, None
            index = names.index(nxt)
        return PolicyStep(action, progress=index / len(names), message=message or self.phase.replace("_", " "))

    def timeout_reason(self, phase: str, state) -> str:
        return f"{self.skill}: the '{phase.replace('_', ' ')}' phase did not finish in {dict(self.PHASES)[phase]:g} s"


# ------------------------------------------------------------------ controllers (pure functions)
def clamp_planar(vx: float, vy: float, limit: float) -> tuple[float, float]:
    speed = math.hypot(vx, vy)
    if speed > limit > 0:
        return vx * limit / speed, vy * limit / speed
    return vx, vy


def servo_to_point(point_base, at_x: float, *, at_y: float = 0.0, facing_yaw: float | None = None,
                   gain: float = 1.6, yaw_gain: float = 2.0, max_speed_mps: float = 0.4,
                   max_yaw_rate_radps: float = 1.2, min_speed_mps: float = 0.0
                   ) -> tuple[tuple[float, float, float], float, float]:
    """Holonomic P-control that brings a point seen in base_link to (at_x, at_y) in base_link.

    Facing: with `facing_yaw` None the base turns to face the point; otherwise `facing_yaw` is the
    heading error to remove (rad, + = turn left). Far off heading, translation slows so the base
    turns first (the camera keeps the point in view). `min_speed_mps` keeps a slow creep from
    stalling in the acceleration-limited base. Returns ((vx, vy, wz), position error m, heading
    error rad).
    """
    px, py = float(point_base[0]), float(point_base[1])
    heading = math.atan2(py - at_y, px) if facing_yaw is None else float(facing_yaw)
    ex, ey = px - at_x, py - at_y
    vx, vy = clamp_planar(gain * ex, gain * ey, max_speed_mps)
    speed = math.hypot(vx, vy)
    err = math.hypot(ex, ey)
    if 0 < speed < min_speed_mps and err > 0.004:
        vx, vy = vx * min_speed_mps / speed, vy * min_speed_mps / speed
    if abs(heading) > 0.5:
        vx, vy = 0.25 * vx, 0.25 * vy
    wz = max(-max_yaw_rate_radps, min(max_yaw_rate_radps, yaw_gain * heading))
    return (vx, vy, wz), err, abs(heading)


def heading_to_face(yaw_odom: float, base_yaw: float) -> float:
    """Heading error (rad) that makes the base face along world yaw `yaw_odom`."""
    return wrap_angle(yaw_odom - base_yaw)


def arm_at(obs: Observation, target, tol_m: float = 0.008) -> bool:
    return float(np.hypot(*(np.asarray(obs.ee_position, float) - np.asarray(target, float)))) < tol_m


def holding(obs: Observation) -> bool:
    """The gripper was told to close and stopped on something (not fully closed)."""
    return obs.gripper_opening > HELD_OPENING_MIN


def object_or_none(state, name: str):
    """The tracked object `name` from a PerceptionState, or None."""
    return state.get(name) if state is not None else None


def base_distance(obs: Observation, start: Observation) -> float:
    """Planar distance the base has moved since `start` (odometry), m."""
    return float(np.hypot(*(np.asarray(obs.base_pose[:2]) - np.asarray(start.base_pose[:2]))))
