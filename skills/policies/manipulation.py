"""grasp(object), lift(object), release(object): the gripper skills on a can in front of the base."""
from __future__ import annotations

import math

import numpy as np

from robomatrix.hardware.kinematics import gripper_point_odom
from robomatrix.hardware.robot import Action
from robomatrix.perception.tracking import inside_container
from robomatrix.skills.policies.base import (
    CARRY_Z_M,
    GRASP_X_M,
    GRASP_Z_M,
    PREGRASP_X_M,
    STANDOFF_X_M,
    Phased,
    arm_at,
    holding,
    object_or_none,
    servo_to_point,
)

SET_DOWN_Z_M = GRASP_Z_M + 0.01  # gripper z that leaves a can held at grasp height 1 cm above the floor
SET_DOWN_ABOVE_M = 0.03  # held higher than this above SET_DOWN_Z_M away from a container: set it down first
SET_DOWN_BLOCKED_S = 0.5  # the arm lowered less than SET_DOWN_STALL_M in this long: the can stands on something
SET_DOWN_STALL_M = 0.003
CONTAINER_WIDEN_M = 0.05  # "over a container": within its opening widened by this much
DRAWER_REACH_M = (-0.10, 0.45)  # "over the drawer": this far behind its handle (out of the cabinet: negative) ...
DRAWER_HALF_WIDTH_M = 0.30  # ... and this far to either side of it
LATERAL_TOL_M = 0.006  # the open fingers leave ±17 mm around a can: align well within it
CREEP_SPEED_MPS = 0.08
CLOSE_TIME_S = 0.8  # the gripper ramps closed in 0.5 s; then the grip settles


class GraspPolicy(Phased):
    """Open; line up with the can at the standoff and lower the arm to grasp height; extend the
    arm; creep the base forward until the can sits between the fingers (lateral error corrected
    all the way on the perceived position); close with the ramp; verify by the gripper opening."""

    PHASES = (("align", 10.0), ("reach", 3.0), ("creep", 8.0), ("close", 1.5))

    def setup(self, state, obs):
        self.name = self.args["object"]

    def _target(self, state):
        return object_or_none(state, self.name)

    def phase_align(self, state, obs):
        obj = self._target(state)
        if obj is None:
            return Action(), "fail", f"grasp: the {self.name} has not been seen"
        dist = float(obj.position_base[0])
        if dist > STANDOFF_X_M + 0.25 or abs(obj.position_base[1]) > 0.25:
            return Action(), "fail", f"grasp: the {self.name} is not within reach ({dist:.2f} m ahead; move_to it first)"
        arm = (PREGRASP_X_M, GRASP_Z_M)
        vel, err, heading = servo_to_point(obj.position_base, STANDOFF_X_M, max_speed_mps=0.15)
        reached = err < 0.01 and heading < 0.04 and arm_at(obs, arm) and obs.gripper_opening > 0.9
        if self.settled(reached, obs, 0.15):
            return Action(arm_target=arm, gripper=1.0), "reach", "reaching"
        return Action(vel, arm, 1.0), None, f"lining up with the {self.name}"

    def phase_reach(self, state, obs):
        obj = self._target(state)
        arm = (GRASP_X_M, GRASP_Z_M)
        vel, _, _ = servo_to_point(obj.position_base, STANDOFF_X_M, max_speed_mps=0.1)
        if arm_at(obs, arm, 0.005):
            return Action(vel, arm, 1.0), "creep", "creeping forward"
        return Action(vel, arm, 1.0), None, "reaching"

    def phase_creep(self, state, obs):
        obj = self._target(state)
        arm = (GRASP_X_M, GRASP_Z_M)
        vel, err, heading = servo_to_point(obj.position_base, GRASP_X_M, gain=1.5, max_speed_mps=CREEP_SPEED_MPS,
                                           min_speed_mps=0.02)
        lateral = abs(float(obj.position_base[1]))
        if self.settled(err < 0.008 and lateral < LATERAL_TOL_M, obs, 0.1):
            return Action((0.0, 0.0, 0.0), arm, 1.0), "close", f"closing on the {self.name}"
        return Action(vel, arm, 1.0), None, f"creeping up to the {self.name} ({err * 100:.1f} cm)"

    def phase_close(self, state, obs):
        arm = (GRASP_X_M, GRASP_Z_M)
        if self.elapsed_in_phase(obs) < CLOSE_TIME_S:
            return Action((0.0, 0.0, 0.0), arm, 0.0), None, f"closing on the {self.name}"
        if not holding(obs):
            return Action(gripper=0.0), "fail", (f"grasp: the gripper closed on nothing (opening "
                                                 f"{obs.gripper_opening:.2f}); the {self.name} was not between the fingers")
        return Action((0.0, 0.0, 0.0), arm, 0.0), "done", f"holding the {self.name}"


class LiftPolicy(Phased):
    """Raise the held object to carrying height; fails if nothing is held."""

    PHASES = (("lift", 4.0),)

    def setup(self, state, obs):
        self.name = self.args["object"]
        self.arm = (float(obs.ee_position[0]), CARRY_Z_M)

    def phase_lift(self, state, obs):
        if not holding(obs):
            return Action(), "fail", f"lift: nothing in the gripper (opening {obs.gripper_opening:.2f})"
        if self.settled(arm_at(obs, self.arm, 0.005), obs, 0.2):
            return Action((0.0, 0.0, 0.0), self.arm, 0.0), "done", f"lifted the {self.name}"
        return Action((0.0, 0.0, 0.0), self.arm, 0.0), None, f"lifting the {self.name}"


def over_container(state, point_odom) -> bool:
    """Is the odom point above a box's or bin's opening (widened by CONTAINER_WIDEN_M), or over the
    drawer's reach (in front of its handle or above its tray; anywhere near it when its facing is
    not known)? From perception's estimates only."""
    p = np.asarray(point_odom, float)
    for obj in (state.objects.values() if state is not None else ()):
        if obj.position_odom is None:
            continue
        if obj.kind in ("box", "bin") and inside_container(p, obj, -CONTAINER_WIDEN_M, above_rim_m=math.inf):
            return True
        if obj.kind == "drawer":
            h = np.asarray(obj.position_odom, float)
            if obj.yaw_odom is None:
                if float(np.linalg.norm(p[:2] - h[:2])) < DRAWER_REACH_M[1]:
                    return True
                continue
            n = np.array([math.cos(obj.yaw_odom), math.sin(obj.yaw_odom)])  # out of the cabinet
            back = float((h[:2] - p[:2]) @ n)
            side = abs(float((p[:2] - h[:2]) @ np.array([-n[1], n[0]])))
            if DRAWER_REACH_M[0] < back < DRAWER_REACH_M[1] and side < DRAWER_HALF_WIDTH_M:
                return True
    return False


class ReleasePolicy(Phased):
    """Open the gripper, wait for it to open, then pull the arm back clear of the object.

    Away from any container (perception's estimates) a can held higher than grasp height is first
    set down: the arm lowers it until its bottom is 1 cm above the floor, or until it stops on
    something (another can, a low object), and only then opens. A can let go of from carrying
    height falls over (it was measured: 18 cm), and a can on its side cannot be grasped again.
    Over a box, bin or the drawer the can is let go of where `position_over` left it."""

    PHASES = (("set_down", 3.0), ("open", 2.0), ("retract", 3.0))
    # every phase commands a fixed set-point (set_down: the start x at SET_DOWN_Z_M; open: hold where the
    # release started; retract: PREGRASP_X_M) and moves on on what the robot measures (the arm there or
    # stalled, the gripper open for 0.3 s), so it labels states another policy reached (DAgger): an arm
    # pulled back while the gripper still opens is told to hold where the release started
    labels_any_state = True

    def setup(self, state, obs):
        self.name = self.args["object"]
        self.z = float(obs.ee_position[1])
        self.stall: tuple[float, float] | None = None  # (stamp, z) the arm was last seen lowering from
        if not (holding(obs) and self.z > SET_DOWN_Z_M + SET_DOWN_ABOVE_M
                and not over_container(state, gripper_point_odom(obs.base_pose, obs.ee_position))):
            self.phase = "open"

    def phase_set_down(self, state, obs):
        z = float(obs.ee_position[1])
        arm = (float(self.start_obs.ee_position[0]), SET_DOWN_Z_M)
        if self.stall is None or self.stall[1] - z > SET_DOWN_STALL_M:
            self.stall = (obs.stamp_s, z)
        blocked = obs.stamp_s - self.stall[0] > SET_DOWN_BLOCKED_S
        if not holding(obs) or self.settled(arm_at(obs, arm, 0.006) or blocked, obs, 0.2):
            self.z = z
            return Action((0.0, 0.0, 0.0), (arm[0], z), 0.0), "open", f"set the {self.name} down"
        return Action((0.0, 0.0, 0.0), arm, 0.0), None, f"setting the {self.name} down"

    def phase_open(self, state, obs):
        if obs.gripper_opening > 0.95 and self.elapsed_in_phase(obs) > 0.3:
            return Action((0.0, 0.0, 0.0), None, 1.0), "retract", f"let go of the {self.name}"
        return Action((0.0, 0.0, 0.0), None, 1.0), None, "opening the gripper"

    def phase_retract(self, state, obs):
        arm = (PREGRASP_X_M, self.z)
        if self.settled(arm_at(obs, arm, 0.01), obs, 0.3):
            return Action((0.0, 0.0, 0.0), arm, 1.0), "done", f"released the {self.name}"
        return Action((0.0, 0.0, 0.0), arm, 1.0), None, "pulling the arm back"
