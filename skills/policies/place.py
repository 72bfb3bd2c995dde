"""position_over(object, target): carry the held object and hold it above a container's opening.

Box and bin: the opening's centre, perceived at rim height, is brought under the gripper.
Drawer: perception reports the handle bar and the direction the drawer pulls out; the point
above the middle of the drawer's exposed interior is computed from the cabinet's drawer geometry
(handle standoff and front thickness) and the perceived opening.
"""
from __future__ import annotations

import math

import numpy as np

from robomatrix.hardware.kinematics import world_to_base_point
from robomatrix.hardware.robot import Action
from robomatrix.skills.policies.base import (
    CARRY_Z_M,
    DRAWER_CARRY_Z_M,
    DROP_X_M,
    Phased,
    arm_at,
    heading_to_face,
    holding,
    object_or_none,
    servo_to_point,
)

DRAWER_DROP_X_M = 0.40  # gripper x over the drawer: the handle stays well clear of the chassis
HANDLE_TO_FRONT_INSIDE_M = 0.045 + 0.015  # handle bar axis → inner face of the drawer front
CABINET_FACE_BEHIND_FRONT_M = 0.015  # closed drawer: cabinet face is this far behind the front's inner face
MIN_DRAWER_OPENING_M = 0.09  # less than this and a can does not fit in


def drawer_drop_point_odom(handle_odom, pull_yaw: float, opening_m: float) -> np.ndarray:
    """Odom (x, y) above the middle of an open drawer's exposed interior (pure geometry).

    The exposed interior spans from the cabinet face to the drawer front's inner face, i.e. from
    `opening - 0.015` to 0 m measured back from the front's inner face."""
    back = HANDLE_TO_FRONT_INSIDE_M + 0.5 * (opening_m - CABINET_FACE_BEHIND_FRONT_M)
    d = np.array([math.cos(pull_yaw), math.sin(pull_yaw)])
    return np.asarray(handle_odom[:2], float) - back * d


class PositionOverPolicy(Phased):
    PHASES = (("raise", 4.0), ("carry", 35.0))

    def setup(self, state, obs):
        self.name, self.target = self.args["object"], self.args["target"]

    def _goal(self, state, obs):
        """(point in base_link, gripper x, carry z, heading error or None) or a failure reason."""
        tgt = object_or_none(state, self.target)
        if tgt is None:
            return f"position_over: the {self.target} has not been seen (search for it first)"
        if tgt.kind != "drawer":
            return tgt.position_base, DROP_X_M, CARRY_Z_M, None
        opening = state.drawer_opening_m
        if opening is not None and opening < MIN_DRAWER_OPENING_M:
            return f"position_over: the drawer is not open far enough ({opening:.2f} m); open it first"
        opening = 0.15 if opening is None else opening
        if tgt.yaw_odom is None:  # no facing estimate: aim past the handle along the line of sight
            return tgt.position_base, DRAWER_DROP_X_M - 0.13, DRAWER_CARRY_Z_M, None
        drop = drawer_drop_point_odom(tgt.position_odom, tgt.yaw_odom, opening)
        p = world_to_base_point(drop, obs.base_pose)
        return p, DRAWER_DROP_X_M, DRAWER_CARRY_Z_M, heading_to_face(tgt.yaw_odom + math.pi, float(obs.base_pose[2]))

    def phase_raise(self, state, obs):
        if not holding(obs):
            return Action(), "fail", f"position_over: the {self.name} is not in the gripper"
        goal = self._goal(state, obs)
        if isinstance(goal, str):
            return Action(), "fail", goal
        arm = (float(obs.ee_position[0]), goal[2])
        if arm_at(obs, arm, 0.01):
            return Action((0.0, 0.0, 0.0), arm, 0.0), "carry", f"carrying the {self.name}"
        return Action((0.0, 0.0, 0.0), arm, 0.0), None, f"raising the {self.name}"

    def phase_carry(self, state, obs):
        if not holding(obs):
            return Action(), "fail", f"position_over: dropped the {self.name} on the way"
        goal = self._goal(state, obs)
        if isinstance(goal, str):
            return Action(), "fail", goal
        point, at_x, z, facing = goal
        vel, err, heading = servo_to_point(point, at_x, facing_yaw=facing, max_speed_mps=0.35)
        arm = (at_x, z)
        reached = err < 0.012 and heading < 0.05 and arm_at(obs, arm, 0.01)
        if self.settled(reached, obs, 0.3):
            return Action((0.0, 0.0, 0.0), arm, 0.0), "done", f"the {self.name} is over the {self.target}"
        return Action(vel, arm, 0.0), None, f"carrying the {self.name} to the {self.target} ({err:.2f} m)"
