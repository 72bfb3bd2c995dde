"""push(object, direction) and nudge(direction, amount): moving things without grasping them.

push: the closed fingers are put against the side of the object facing away from `direction`
(over the top of it for left/right/backward, so the fingers never sweep through it), then the
base drives `PUSH_M` that way, correcting sideways on the perceived position. Directions are in
the robot's frame at the start of the skill.

nudge: a small offset of the base (forward/backward/left/right, by odometry) or of the gripper
(up/down), for language corrections ("a bit to the left").
"""
from __future__ import annotations

import numpy as np

from robomatrix.hardware.kinematics import wrap_angle
from robomatrix.hardware.robot import Action
from robomatrix.skills.policies.base import (
    CAN_RADIUS_M,
    PREGRASP_X_M,
    TRAVEL_Z_M,
    Phased,
    arm_at,
    base_distance,
    object_or_none,
    servo_to_point,
)

PUSH_M = 0.10  # how far push moves the object
PUSH_Z_M = 0.05  # gripper z while pushing (below a can's mid-height: it slides, does not tip)
PAD_HALF_WIDTH_M = 0.01  # closed fingers: pads are ±10 mm about the gripper plane
PAD_FRONT_M = 0.03  # pad tips are this far ahead of the gripper centre
PALM_FRONT_M = 0.045  # the palm's front face (what pushes forward) is this far behind it
HAND_BACK_M = 0.075  # the palm's back face: the hand's rearmost point behind the gripper centre
CLEARANCE_M = 0.02  # gap left between pads and object when lowering the arm next to it
PUSH_SPEED_MPS = 0.08
# direction → unit vector in base_link (x forward, y left)
DIRECTIONS = {"forward": (1.0, 0.0), "backward": (-1.0, 0.0), "left": (0.0, 1.0), "right": (0.0, -1.0)}


def push_setup(direction: str, radius: float = CAN_RADIUS_M):
    """Pure geometry of a push: (object centre in base_link before pushing, gripper x, gripper
    command, travel before contact m). Forward pushes with the open hand (the fingers guide the
    object onto the palm); the other directions with the side or back of the closed fingers."""
    if direction == "forward":  # open fingers lowered behind the object, palm pushes
        gx = PREGRASP_X_M + 0.02
        centre = gx + PAD_FRONT_M + radius + CLEARANCE_M
        return (centre, 0.0), gx, 1.0, centre - radius - (gx - PALM_FRONT_M)
    if direction == "backward":  # closed pads reach over and drop in beyond the object
        gx = 0.40
        return (gx - HAND_BACK_M - radius - CLEARANCE_M, 0.0), gx, 0.0, CLEARANCE_M
    side = DIRECTIONS[direction][1]  # left: the object sits on the gripper's left
    gx = 0.32
    return (gx, side * (PAD_HALF_WIDTH_M + radius + CLEARANCE_M)), gx, 0.0, CLEARANCE_M


class PushPolicy(Phased):
    PHASES = (("raise", 3.0), ("line_up", 20.0), ("extend", 3.0), ("lower", 3.0), ("push", 8.0), ("lift_off", 3.0))

    def setup(self, state, obs):
        self.name, self.direction = self.args["object"], self.args["direction"]
        self.spot, self.gx, self.grip, self.gap = push_setup(self.direction)
        self.unit = np.array(DIRECTIONS[self.direction])

    def phase_raise(self, state, obs):
        if object_or_none(state, self.name) is None:
            return Action(), "fail", f"push: the {self.name} has not been seen"
        arm = (float(obs.ee_position[0]), TRAVEL_Z_M)
        if arm_at(obs, arm, 0.01):
            return Action(arm_target=arm, gripper=self.grip), "line_up", f"lining up with the {self.name}"
        return Action(arm_target=arm, gripper=self.grip), None, "raising the arm"

    def phase_line_up(self, state, obs):
        # the arm stays back while the base lines up, so it never hides the object from the camera
        obj = object_or_none(state, self.name)
        arm = (PREGRASP_X_M, TRAVEL_Z_M)
        vel, err, heading = servo_to_point(obj.position_base, self.spot[0], at_y=self.spot[1], max_speed_mps=0.25,
                                           min_speed_mps=0.02)
        if self.settled(err < 0.006 and heading < 0.04 and arm_at(obs, arm, 0.01), obs, 0.2):
            return Action((0.0, 0.0, 0.0), arm, self.grip), "extend", "reaching over"
        return Action(vel, arm, self.grip), None, f"lining up to push the {self.name} {self.direction}"

    def phase_extend(self, state, obs):
        arm = (self.gx, TRAVEL_Z_M)
        if arm_at(obs, arm, 0.006):
            return Action((0.0, 0.0, 0.0), arm, self.grip), "lower", "lowering the fingers"
        return Action((0.0, 0.0, 0.0), arm, self.grip), None, "reaching over"

    def phase_lower(self, state, obs):
        arm = (self.gx, PUSH_Z_M)
        if arm_at(obs, arm, 0.006):
            self.push_start = obs
            return Action((0.0, 0.0, 0.0), arm, self.grip), "push", f"pushing the {self.name} {self.direction}"
        return Action((0.0, 0.0, 0.0), arm, self.grip), None, "lowering the fingers"

    def phase_push(self, state, obs):
        arm = (self.gx, PUSH_Z_M)
        moved = base_distance(obs, self.push_start)
        if moved >= PUSH_M + self.gap + 0.005:
            return Action((0.0, 0.0, 0.0), arm, self.grip), "lift_off", "lifting the fingers off"
        # push along the start frame's direction and hold the start heading: the contact's
        # torque would otherwise turn the base and bend the push
        yaw_err = wrap_angle(float(self.push_start.base_pose[2]) - float(obs.base_pose[2]))
        c, s = np.cos(yaw_err), np.sin(yaw_err)
        ux, uy = self.unit
        v = np.array([c * ux - s * uy, s * ux + c * uy]) * PUSH_SPEED_MPS
        return Action((float(v[0]), float(v[1]), 3.0 * yaw_err), arm, self.grip), None, \
            f"pushing the {self.name} {self.direction} ({moved:.2f} m)"

    def phase_lift_off(self, state, obs):
        arm = (float(obs.ee_position[0]), TRAVEL_Z_M)
        if self.settled(arm_at(obs, arm, 0.01), obs, 0.3):
            return Action((0.0, 0.0, 0.0), arm, None), "done", f"pushed the {self.name} {self.direction}"
        return Action((0.0, 0.0, 0.0), arm, None), None, "lifting the fingers off"


class NudgePolicy(Phased):
    """Move the base (forward/backward/left/right) or the gripper (up/down) by `amount` metres."""

    PHASES = (("move", 4.5),)

    def setup(self, state, obs):
        self.direction, self.amount = self.args["direction"], float(self.args["amount"])
        self.start = obs
        if self.direction in ("up", "down"):
            sign = 1.0 if self.direction == "up" else -1.0
            self.arm = (float(obs.ee_position[0]), float(obs.ee_position[1]) + sign * self.amount)
        else:
            self.arm = None
            x0, y0, yaw0 = (float(v) for v in obs.base_pose)
            dx, dy = DIRECTIONS[self.direction]
            c, s = np.cos(yaw0), np.sin(yaw0)
            self.goal_odom = np.array([x0 + self.amount * (c * dx - s * dy), y0 + self.amount * (s * dx + c * dy)])
            self.yaw0 = yaw0

    def phase_move(self, state, obs):
        if self.arm is not None:
            z_lo, z_hi = 0.03, 0.30  # the arm's z workspace (RobotConfig.arm_z_range_m)
            if not z_lo - 1e-6 <= self.arm[1] <= z_hi + 1e-6:
                return Action(), "fail", (f"nudge: the gripper cannot go {self.direction} {self.amount:.3f} m "
                                          f"(it is at {obs.ee_position[1]:.2f} m, range {z_lo}-{z_hi} m)")
            if self.settled(arm_at(obs, self.arm, 0.003), obs, 0.15):
                return Action(arm_target=self.arm), "done", f"moved the gripper {self.direction}"
            return Action(arm_target=self.arm), None, f"moving the gripper {self.direction}"
        x, y, yaw = (float(v) for v in obs.base_pose)
        ex, ey = self.goal_odom - (x, y)
        c, s = np.cos(yaw), np.sin(yaw)
        bx, by = c * ex + s * ey, -s * ex + c * ey  # the error in base_link
        point = np.array([bx, by])
        vel, err, _ = servo_to_point(point, 0.0, facing_yaw=wrap_angle(self.yaw0 - yaw), gain=2.0,
                                     max_speed_mps=0.15, min_speed_mps=0.02)
        if self.settled(err < 0.004, obs, 0.15):
            return Action((0.0, 0.0, 0.0)), "done", f"moved {self.direction} {self.amount:.3f} m"
        return Action(vel), None, f"moving {self.direction} ({err * 100:.1f} cm to go)"
