"""grasp(object), lift(object), release(object): the gripper skills on a can in front of the base."""
from __future__ import annotations

from robomatrix.hardware.robot import Action
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


class ReleasePolicy(Phased):
    """Open the gripper, wait for it to open, then pull the arm back clear of the object."""

    PHASES = (("open", 2.0), ("retract", 3.0))

    def setup(self, state, obs):
        self.name = self.args["object"]
        self.z = float(obs.ee_position[1])

    def phase_open(self, state, obs):
        if obs.gripper_opening > 0.95 and self.elapsed_in_phase(obs) > 0.3:
            return Action((0.0, 0.0, 0.0), None, 1.0), "retract", f"let go of the {self.name}"
        return Action((0.0, 0.0, 0.0), None, 1.0), None, "opening the gripper"

    def phase_retract(self, state, obs):
        arm = (PREGRASP_X_M, self.z)
        if self.settled(arm_at(obs, arm, 0.01), obs, 0.3):
            return Action((0.0, 0.0, 0.0), arm, 1.0), "done", f"released the {self.name}"
        return Action((0.0, 0.0, 0.0), arm, 1.0), None, "pulling the arm back"
