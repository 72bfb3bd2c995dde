"""push(object, direction) and nudge(direction, amount): moving things without grasping them.

push: the closed fingers are put against the side of the object facing away from `direction`
(over the top of it for left/right/backward, so the fingers never sweep through it), then the
base drives, without turning, until the object has gone `PUSH_M` that way. Directions are in
the robot's frame at the start of the skill. The command is a function of the state (`PushPolicy`),
so the expert can label a learned push's states for DAgger.

nudge: a small offset of the base (forward/backward/left/right, by odometry) or of the gripper
(up/down), for language corrections ("a bit to the left").
"""
from __future__ import annotations

import numpy as np

from robomatrix.hardware.kinematics import base_to_world_point, base_to_world_velocity, wrap_angle
from robomatrix.hardware.robot import Action
from robomatrix.skills.policies.base import (
    CAN_RADIUS_M,
    PREGRASP_X_M,
    TRAVEL_Z_M,
    Phased,
    PolicyStep,
    SkillPolicy,
    arm_at,
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


class PushPolicy(SkillPolicy):
    """push as a function of the state: every tick the phase follows from where perception has the
    object in base_link and where the arm is, so the expert can label states another policy reached
    (DAgger, `labels_any_state`). The phases, in the order an unhindered push goes through them:

    raise     the arm is down but the object is not in the pocket in front of the fingers: lift it
    line_up   the base servos the object to the push spot (`push_setup`), facing the point beside
              it that puts it on the push line, arm back and up; with the arm already out over the
              object only a slow fine correction, so the arm is not pulled back for a few millimetres
    extend    lined up and still: reach to the push x at travel height
    lower     at the push x with the object in the pocket: lower the fingers
    push      fingers down, object in the pocket: drive along the direction (base frame), not turning
    lift_off  the object has gone PUSH_M: fingers up, then done

    The line-up and the push are those of the phase machine this replaced, so its demonstrations and
    these labels agree (a first version that held the start heading instead taught a network trained
    on both to turn the wrong way: left and right pushes 0/20). How far the object has gone is
    measured along the direction in the robot's frame at the start (the frame `object_moved` checks
    in) and kept as a belief across ticks (the largest displacement seen so far: a pushed can does
    not come back by itself): in
    front of a forward push the can is hidden by the hand, and perception then remembers its last
    sighting, which the moving base would carry into the hand; an object out of view while the
    fingers are down is taken to sit at the contact point when its remembered position is behind
    it (the hand pushes it there).
    """

    labels_any_state = True
    PHASES = ("raise", "line_up", "extend", "lower", "push", "lift_off")
    BUDGET_S = 28.0  # the whole push (the skill's own time limit is 30 s)
    LOWERED_Z_M = TRAVEL_Z_M - 0.03  # below this the fingers count as down
    POCKET_LATERAL_M = 0.015  # the object this far off the push line is not in front of the fingers
    POCKET_BEYOND_M = 0.04  # nor this far beyond the push spot
    DESCENT_STARTED_M = 0.01  # the hand this far below travel height (out at the push x) is coming down

    def reset(self, args, state, obs) -> None:
        self.args = dict(args)
        self.name, self.direction = self.args["object"], self.args["direction"]
        spot, self.gx, self.grip, self.gap = push_setup(self.direction)
        self.spot, self.unit = np.array(spot), np.array(DIRECTIONS[self.direction])
        self.perp = np.array([-self.unit[1], self.unit[0]])
        self.start_s = obs.stamp_s
        self.unit_odom = np.array(base_to_world_velocity(*self.unit, float(obs.base_pose[2])))
        obj = object_or_none(state, self.name)
        self.start_odom = None if obj is None else np.asarray(obj.position_odom[:2], float).copy()
        self.pushed = 0.0
        self.phase = self.PHASES[0]

    def object_in_base(self, obj, obs) -> np.ndarray:
        """The object's (x, y) in base_link, the hidden-object rule applied."""
        p = np.asarray(obj.position_base[:2], float)
        if not obj.in_view and float(obs.ee_position[1]) < self.LOWERED_Z_M:
            along = float((p - self.spot) @ self.unit)
            if along < -self.gap and abs(float((p - self.spot) @ self.perp)) < 2 * self.POCKET_LATERAL_M:
                p = p + self.unit * (-self.gap - along)  # remembered inside the hand: it is at the contact point
        return p

    def act(self, state, obs) -> PolicyStep:
        progress = self.PHASES.index(self.phase) / len(self.PHASES)
        if obs.stamp_s - self.start_s > self.BUDGET_S:
            return PolicyStep(Action(), done=True, success=False, progress=progress,
                              message=f"push: the '{self.phase.replace('_', ' ')}' phase did not finish in time")
        obj = object_or_none(state, self.name)
        if obj is None or self.start_odom is None:
            return PolicyStep(Action(), done=True, success=False, message=f"push: the {self.name} has not been seen")
        action, phase, message = self._command(obj, obs)
        if phase == "done":
            return PolicyStep(action, done=True, progress=1.0, message=message)
        self.phase = phase
        return PolicyStep(action, progress=self.PHASES.index(phase) / len(self.PHASES), message=message)

    def _command(self, obj, obs) -> tuple[Action, str, str]:
        still = (0.0, 0.0, 0.0)
        p = self.object_in_base(obj, obs)
        p_odom = base_to_world_point(p, obs.base_pose)
        self.pushed = max(self.pushed, float((p_odom - self.start_odom) @ self.unit_odom))
        ee_x, ee_z = float(obs.ee_position[0]), float(obs.ee_position[1])
        if self.pushed >= PUSH_M:
            arm = (ee_x, TRAVEL_Z_M)
            if arm_at(obs, arm, 0.01):
                return Action(still, arm, None), "done", f"pushed the {self.name} {self.direction}"
            return Action(still, arm, None), "lift_off", "lifting the fingers off"
        rel = p - self.spot
        along, lateral = float(rel @ self.unit), float(rel @ self.perp)
        # beyond the spot is fine (a longer drive before contact): the fingers beside or behind a can hide part
        # of it and its perceived centre moves 1-3 cm away from them as they come down
        in_pocket = abs(lateral) < self.POCKET_LATERAL_M and -self.gap - 0.015 <= along <= self.POCKET_BEYOND_M
        # hysteresis: the hand out at the push x and already on its way down goes on down while the object
        # stays in the pocket. The line-up's 6 mm starts the descent, but the hand coming into view moves
        # the perceived object past it and back from tick to tick: labelled "back up" on those ticks, a
        # learner trained on the labels hovered between the two heights (ckE0, checkpoints/README)
        descending = abs(ee_x - self.gx) <= 0.006 and ee_z < TRAVEL_Z_M - self.DESCENT_STARTED_M
        if ee_z < self.LOWERED_Z_M or (descending and in_pocket):
            if not in_pocket:
                return Action(still, (ee_x, TRAVEL_Z_M), self.grip), "raise", "raising the arm"
            arm = (self.gx, PUSH_Z_M)
            if ee_z > PUSH_Z_M + 0.01 or abs(ee_x - self.gx) > 0.01:
                return Action(still, arm, self.grip), "lower", "lowering the fingers"
            # straight along the direction in the base frame, no turning (the line-up faced the base so
            # that the object sits on the push line)
            v = self.unit * PUSH_SPEED_MPS
            return Action((float(v[0]), float(v[1]), 0.0), arm, self.grip), "push", \
                f"pushing the {self.name} {self.direction} ({self.pushed:.2f} m)"
        reaching = ee_x > PREGRASP_X_M + 0.005  # the arm is on its way out (or out)
        # the base faces the point beside the object that puts it on the push line (as it turns, the
        # camera keeps the object in view)
        vel, err, heading = servo_to_point(p, self.spot[0], at_y=self.spot[1],
                                           max_speed_mps=0.1 if reaching else 0.25, min_speed_mps=0.02)
        lined_up = err < 0.006 and heading < 0.04
        if reaching and err < 0.02 and heading < 0.08:
            # the reach goes on with only a fine correction of the base (reaching out jolts it, and the hand
            # coming into view moves the perceived object a few millimetres): the arm is not pulled back
            if lined_up and abs(ee_x - self.gx) <= 0.006:
                return Action(still, (self.gx, PUSH_Z_M), self.grip), "lower", "lowering the fingers"
            return Action(still if lined_up else vel, (self.gx, TRAVEL_Z_M), self.grip), "extend", "reaching over"
        moving = float(np.hypot(*obs.base_velocity[:2])) > 0.02 or abs(float(obs.base_velocity[2])) > 0.05
        if lined_up and not moving:
            return Action(still, (self.gx, TRAVEL_Z_M), self.grip), "extend", "reaching over"
        return Action(vel, (PREGRASP_X_M, TRAVEL_Z_M), self.grip), "line_up", \
            f"lining up to push the {self.name} {self.direction}"


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
