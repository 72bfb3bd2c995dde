"""open_drawer() / close_drawer(): square up to the cabinet, pinch the vertical handle bar, then
back the base away (open) or drive it in (close), let go and back off.

Perception reports the drawer as the handle bar's centre and the direction it pulls out
(`yaw_odom`), plus `drawer_opening_m`. The pull/push distance is measured by odometry.
"""
from __future__ import annotations

import math

from robomatrix.hardware.robot import Action
from robomatrix.skills.policies.base import (
    HANDLE_X_M,
    PREGRASP_X_M,
    TRAVEL_Z_M,
    Phased,
    arm_at,
    base_distance,
    heading_to_face,
    object_or_none,
    servo_to_point,
)

DRAWER = "drawer"
OPEN_PULL_M = 0.20  # how far open_drawer pulls (the drawer travels 0.25 m)
APPROACH_X_M = 0.42  # handle x in base_link before the slow final approach
PINCH_OPENING_MIN = 0.08  # measured opening after pinching the 12 mm bar (fully shut: ~0)
CLOSED_M = 0.02  # a drawer open less than this counts as closed
DRIVE_SPEED_MPS = 0.1
BACK_OFF_M = 0.10  # back away after letting go, so the camera sees the whole drawer


class _DrawerPolicy(Phased):
    PHASES = (("locate", 1.0), ("approach", 30.0), ("close_in", 6.0), ("reach", 3.0), ("pinch", 1.5),
              ("drive", 6.0), ("let_go", 1.0), ("back_off", 3.0))
    closing = False

    def setup(self, state, obs):
        self.handle_z = 0.13

    def _drawer(self, state):
        return object_or_none(state, DRAWER)

    def _servo(self, drawer, obs, at_x, max_speed):
        facing = None
        if drawer.yaw_odom is not None:
            facing = heading_to_face(drawer.yaw_odom + math.pi, float(obs.base_pose[2]))
        return servo_to_point(drawer.position_base, at_x, facing_yaw=facing, max_speed_mps=max_speed,
                              min_speed_mps=0.02)

    def phase_locate(self, state, obs):
        drawer = self._drawer(state)
        if drawer is None:
            if self.elapsed_in_phase(obs) > 0.8:
                return Action(), "fail", f"{self.skill}: the drawer has not been seen (search for it first)"
            return Action(), None, "looking for the drawer"
        self.handle_z = float(min(max(drawer.position_base[2], 0.05), 0.25))
        opening = state.drawer_opening_m
        if self.closing and opening is not None and opening < CLOSED_M:
            return Action(), "done", "the drawer is already closed"
        return Action(), "approach", "driving to the drawer"

    def phase_approach(self, state, obs):
        drawer = self._drawer(state)
        arm = (PREGRASP_X_M, TRAVEL_Z_M if drawer.position_base[0] > APPROACH_X_M + 0.15 else self.handle_z)
        vel, err, heading = self._servo(drawer, obs, APPROACH_X_M, 0.35)
        if self.settled(err < 0.01 and heading < 0.03 and arm_at(obs, (PREGRASP_X_M, self.handle_z)), obs, 0.2):
            return Action(arm_target=arm, gripper=1.0), "close_in", "closing in on the handle"
        return Action(vel, arm, 1.0), None, f"driving to the drawer ({err:.2f} m)"

    def phase_close_in(self, state, obs):
        arm = (PREGRASP_X_M, self.handle_z)
        vel, err, heading = self._servo(self._drawer(state), obs, HANDLE_X_M, 0.06)
        if self.settled(err < 0.006 and heading < 0.03, obs, 0.15):
            return Action(arm_target=arm, gripper=1.0), "reach", "reaching for the handle"
        return Action(vel, arm, 1.0), None, "closing in on the handle"

    def phase_reach(self, state, obs):
        arm = (HANDLE_X_M, self.handle_z)
        vel, _, _ = self._servo(self._drawer(state), obs, HANDLE_X_M, 0.03)
        if arm_at(obs, arm, 0.004):
            return Action((0.0, 0.0, 0.0), arm, 0.0), "pinch", "pinching the handle"
        return Action(vel, arm, 1.0), None, "reaching for the handle"

    def phase_pinch(self, state, obs):
        arm = (HANDLE_X_M, self.handle_z)
        if self.elapsed_in_phase(obs) < 0.8:
            return Action((0.0, 0.0, 0.0), arm, 0.0), None, "pinching the handle"
        if obs.gripper_opening < PINCH_OPENING_MIN:
            return Action(gripper=1.0), "fail", f"{self.skill}: missed the handle (the gripper closed on nothing)"
        self.drive_start = obs
        opening = state.drawer_opening_m
        self.drive_m = OPEN_PULL_M if not self.closing else (0.25 if opening is None else opening + 0.03)
        return Action((0.0, 0.0, 0.0), arm, 0.0), "drive", "pushing the drawer in" if self.closing else "pulling"

    def phase_drive(self, state, obs):
        arm = (HANDLE_X_M, self.handle_z)
        moved = base_distance(obs, self.drive_start)
        stalled = self.closing and self.elapsed_in_phase(obs) > 0.8 and abs(obs.base_velocity[0]) < 0.01
        if moved >= self.drive_m or stalled:
            return Action((0.0, 0.0, 0.0), arm, 0.0), "let_go", "letting go of the handle"
        if obs.gripper_opening < PINCH_OPENING_MIN:
            return Action(), "fail", f"{self.skill}: the handle slipped out of the gripper after {moved:.2f} m"
        v = DRIVE_SPEED_MPS if self.closing else -DRIVE_SPEED_MPS
        return Action((v, 0.0, 0.0), arm, 0.0), None, f"{'pushing' if self.closing else 'pulling'} ({moved:.2f} m)"

    def phase_let_go(self, state, obs):
        arm = (HANDLE_X_M, self.handle_z)
        if obs.gripper_opening > 0.9 and self.elapsed_in_phase(obs) > 0.3:
            self.back_start = obs
            return Action((0.0, 0.0, 0.0), arm, 1.0), "back_off", "backing off"
        return Action((0.0, 0.0, 0.0), arm, 1.0), None, "letting go of the handle"

    def phase_back_off(self, state, obs):
        if obs.ee_position[0] > PREGRASP_X_M + 0.02:  # fingers out of the handle before the base moves
            return Action((0.0, 0.0, 0.0), (PREGRASP_X_M, self.handle_z), 1.0), None, "pulling the arm back"
        moved = base_distance(obs, self.back_start)
        arm = (PREGRASP_X_M, TRAVEL_Z_M)
        if moved >= BACK_OFF_M and arm_at(obs, arm, 0.01):
            if self.settled(True, obs, 0.3):
                return Action((0.0, 0.0, 0.0), arm, 1.0), "done", "done"
            return Action((0.0, 0.0, 0.0), arm, 1.0), None, "backing off"
        v = -DRIVE_SPEED_MPS if moved < BACK_OFF_M else 0.0
        return Action((v, 0.0, 0.0), arm, 1.0), None, "backing off"


class OpenDrawerPolicy(_DrawerPolicy):
    closing = False


class CloseDrawerPolicy(_DrawerPolicy):
    closing = True
