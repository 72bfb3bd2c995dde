"""ORACLE expert: scripted pick-and-place and drawer pulling on GROUND-TRUTH poses.

Reads object poses straight from the simulator (`oracle_object_poses`), which perception-driven
skills must never do. Allowed uses (ARCHITECTURE.md): scoring, expert demonstrations, the scripted
demo that precedes the skill layer, and physics tests. Everything it logs says `oracle`.

Each phase is a closed loop at `rate_hz` in simulated time: read the state and the oracle pose,
compute an `Action`, `send_action`, `advance(1 / rate_hz)`, until the phase's goal holds or its time
runs out. Grasping happens by contact only: the expert just moves the arm and closes the fingers.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from robomatrix.hardware.kinematics import world_to_base_point, wrap_angle
from robomatrix.hardware.robot import Action, Observation, SimulatedRobot

PREGRASP_X_M = 0.20  # gripper x while the base lines up (fingers clear of the object)
GRASP_X_M = 0.32  # object centre x in the base frame when grasping
CARRY_Z_M = 0.24  # gripper z while carrying: the object's bottom clears a 0.12 m wall
DROP_X_M = 0.36  # container centre x in the base frame when releasing
HANDLE_X_M = 0.30  # drawer handle x in the base frame when pinching it


@dataclass
class PhaseResult:
    name: str
    ok: bool  # the phase's goal was reached before its time limit
    sim_time_s: float  # simulated time at the end of the phase


StepHook = Callable[[str, Observation], None]


class OracleExpert:
    """ORACLE-driven scripted controller for a `SimulatedRobot` (see module docstring)."""

    def __init__(self, robot: SimulatedRobot, rate_hz: float = 20.0, on_step: StepHook | None = None,
                 max_speed_mps: float = 0.5):
        self.robot, self.period_s, self.on_step = robot, 1.0 / rate_hz, on_step
        self.max_speed_mps = max_speed_mps
        self.log: list[PhaseResult] = []

    # ------------------------------------------------------------- loop
    def _run(self, name: str, policy, timeout_s: float, settle_s: float = 0.0) -> bool:
        """Run `policy(state) -> (Action, goal_reached)` until the goal has held for `settle_s`;
        False if `timeout_s` passes first."""
        start, held_since = self.robot.sim_time_s, None
        ok = False
        while self.robot.sim_time_s - start < timeout_s:
            state = self.robot.get_state()
            if self.on_step is not None:
                self.on_step(name, state)
            action, reached = policy(state)
            now = self.robot.sim_time_s
            held_since = (held_since if held_since is not None else now) if reached else None
            if held_since is not None and now - held_since >= settle_s:
                ok = True
                break
            self.robot.send_action(action)
            self.robot.advance(self.period_s)
        self.log.append(PhaseResult(name, ok, self.robot.sim_time_s))
        return ok

    def _hold(self, name: str, action: Action, duration_s: float) -> bool:
        """Apply `action` for `duration_s` (a timed phase: always succeeds)."""
        self._run(name, lambda s: (action, False), duration_s)
        self.log[-1].ok = True
        return True

    def _servo_base(self, state: Observation, target_world, at_x: float, yaw_world: float | None = None):
        """Base velocity that brings world point `target_world` to (at_x, 0) in the base frame,
        facing it (or facing `yaw_world`). Returns (velocity, position error m, yaw error rad)."""
        p = world_to_base_point(target_world[:2], state.base_pose)
        bearing = math.atan2(p[1], p[0]) if yaw_world is None else wrap_angle(yaw_world - state.base_pose[2])
        ex, ey = p[0] - at_x, p[1]
        gain = 2.0
        vx, vy = gain * ex, gain * ey
        speed = math.hypot(vx, vy)
        if speed > self.max_speed_mps:
            vx, vy = vx * self.max_speed_mps / speed, vy * self.max_speed_mps / speed
        if abs(bearing) > 0.5:  # turn first when far off heading, so the arm leads
            vx, vy = 0.2 * vx, 0.2 * vy
        return (vx, vy, 3.0 * bearing), math.hypot(ex, ey), abs(bearing)

    @staticmethod
    def _arm_at(state: Observation, target, tol_m: float = 0.005) -> bool:
        return float(np.hypot(*(state.ee_position - np.asarray(target)))) < tol_m

    # ------------------------------------------------------------- skills
    def oracle_object_position(self, name: str) -> np.ndarray:
        """ORACLE: world (x, y, z) of object `name`."""
        return self.robot.oracle_object_poses()[name][:3]

    def line_up(self, name: str, grasp_z_m: float = 0.06) -> bool:
        """Drive the base until object `name` (ORACLE pose) is straight ahead at GRASP_X_M, arm
        retracted to the pre-grasp position at `grasp_z_m`, gripper open."""
        pregrasp = (PREGRASP_X_M, grasp_z_m)

        def approach(state):
            vel, err, yaw_err = self._servo_base(state, self.oracle_object_position(name), GRASP_X_M)
            return Action(vel, pregrasp, 1.0), err < 0.008 and yaw_err < 0.03 and self._arm_at(state, pregrasp, 0.01)

        return self._run(f"approach {name} (oracle)", approach, 20.0, settle_s=0.1)

    def pick(self, name: str, grasp_z_m: float = 0.06) -> bool:
        """Line up on object `name` (ORACLE pose), reach, close the gripper and lift."""
        grasp, lifted = (GRASP_X_M, grasp_z_m), (GRASP_X_M, CARRY_Z_M)

        def reach(state):
            vel, _, _ = self._servo_base(state, self.oracle_object_position(name), GRASP_X_M)
            return Action(tuple(0.5 * v for v in vel), grasp, 1.0), self._arm_at(state, grasp)

        ok = self.line_up(name, grasp_z_m) and self._run("reach", reach, 3.0)
        ok = ok and self._hold("grasp", Action((0, 0, 0), grasp, 0.0), 0.8)
        return ok and self._run("lift", lambda s: (Action((0, 0, 0), lifted, 0.0), self._arm_at(s, lifted)), 3.0,
                                settle_s=0.2)

    def place(self, container_xy, drop_z_m: float = CARRY_Z_M) -> bool:
        """Carry the held object over world point `container_xy` (ORACLE), open, back off."""
        carry = (DROP_X_M, drop_z_m)

        def go(state):
            vel, err, yaw_err = self._servo_base(state, container_xy, DROP_X_M)
            return Action(vel, carry, 0.0), err < 0.015 and yaw_err < 0.05 and self._arm_at(state, carry, 0.01)

        ok = self._run("carry (oracle)", go, 25.0, settle_s=0.2)
        self._hold("release", Action((0, 0, 0), carry, 1.0), 1.0)
        self._hold("back off", Action((-0.2, 0, 0), (PREGRASP_X_M, CARRY_Z_M), 1.0), 1.0)
        self.robot.stop()
        return ok

    def carry_for(self, duration_s: float, velocity=(0.3, 0.0, 0.0)) -> None:
        """Drive with whatever is held (arm and gripper hold their set-points)."""
        self._hold("carry drive", Action(velocity, None, None), duration_s)

    def open_gripper(self, duration_s: float = 1.0) -> None:
        self._hold("open", Action((0, 0, 0), None, 1.0), duration_s)

    def pull_drawer(self, cabinet, pull_m: float = 0.15) -> bool:
        """Pinch the drawer's vertical handle (ORACLE pose) and back the base up `pull_m`."""
        hx, hy, hz = cabinet.handle_position(0.0)
        facing = wrap_angle(cabinet.pose[2] + math.pi)  # the robot faces the cabinet front
        pregrasp, grasp = (PREGRASP_X_M, hz), (HANDLE_X_M, hz)

        def approach(state):
            vel, err, yaw_err = self._servo_base(state, (hx, hy), HANDLE_X_M, yaw_world=facing)
            return Action(vel, pregrasp, 1.0), err < 0.008 and yaw_err < 0.02 and self._arm_at(state, pregrasp, 0.01)

        ok = self._run("approach handle (oracle)", approach, 20.0, settle_s=0.1)
        ok = ok and self._run("reach handle", lambda s: (Action((0, 0, 0), grasp, 1.0), self._arm_at(s, grasp)), 3.0)
        self._hold("pinch handle", Action((0, 0, 0), grasp, 0.0), 0.8)
        start = self.robot.get_state().base_pose.copy()

        def pull(state):
            moved = float(np.hypot(*(state.base_pose[:2] - start[:2])))
            return Action((-0.1, 0.0, 0.0), grasp, 0.0), moved >= pull_m

        ok = ok and self._run("pull", pull, 5.0)
        self.robot.stop()
        self._hold("let go", Action((0, 0, 0), grasp, 1.0), 0.6)
        return ok


def oracle_in_container(position_world, container) -> bool:
    """ORACLE scoring: is a world point inside the container's inner footprint, below its rim?"""
    x, y, yaw = container.pose
    local = world_to_base_point(position_world[:2], (x, y, yaw))
    if container.kind == "bin":
        inside = math.hypot(local[0], local[1]) < container.inner_size[0] / 2
    else:
        inside = abs(local[0]) < container.inner_size[0] / 2 and abs(local[1]) < container.inner_size[1] / 2
    return bool(inside and position_world[2] < container.wall_height)
