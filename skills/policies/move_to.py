"""move_to(object): drive the base to a standoff pose facing the object, arm raised."""
from __future__ import annotations

from robomatrix.hardware.robot import Action
from robomatrix.skills.policies.base import (
    PREGRASP_X_M,
    STANDOFF_X_M,
    TRAVEL_Z_M,
    Phased,
    arm_at,
    object_or_none,
    servo_to_point,
)

POSITION_TOL_M = 0.012
HEADING_TOL_RAD = 0.04
CONTAINER_CLEARANCE_M = 0.30  # from the container's centre-to-edge to the base origin
DRAWER_STANDOFF_X_M = 0.45  # the handle bar ahead of the base origin, with room to reach it


def standoff_x(obj) -> float:
    """Where the object's centre should end up (x in base_link) for each kind of target."""
    if obj.kind in ("box", "bin") and obj.size is not None:
        return max(STANDOFF_X_M, 0.5 * float(max(obj.size[0], obj.size[1])) + CONTAINER_CLEARANCE_M)
    if obj.kind == "drawer":
        return DRAWER_STANDOFF_X_M
    return STANDOFF_X_M


class MoveToPolicy(Phased):
    """P-control on the perceived position (re-observed on every camera frame while driving)."""

    PHASES = (("locate", 1.0), ("drive", 35.0))
    labels_any_state = True  # drive: P-control on where the object is now

    def setup(self, state, obs):
        self.name = self.args["object"]
        self.arm = (PREGRASP_X_M, TRAVEL_Z_M)

    def phase_locate(self, state, obs):
        obj = object_or_none(state, self.name)
        if obj is not None:
            return Action(arm_target=self.arm), "drive", f"driving to the {self.name}"
        if self.elapsed_in_phase(obs) > 0.8:
            return Action(), "fail", f"move_to: the {self.name} has not been seen (search for it first)"
        return Action(arm_target=self.arm), None, f"looking for the {self.name}"

    def phase_drive(self, state, obs):
        obj = object_or_none(state, self.name)
        # facing the object's point, the drawer's handle bar included: open_drawer/close_drawer square up to
        # the drawer front themselves on their way in (a learned move_to sees no front direction to square to)
        vel, err, heading = servo_to_point(obj.position_base, standoff_x(obj), max_speed_mps=0.4)
        if not arm_at(obs, self.arm, 0.03):  # raise the arm before driving over things
            vel = (0.0, 0.0, vel[2])
        reached = err < POSITION_TOL_M and heading < HEADING_TOL_RAD and arm_at(obs, self.arm, 0.02)
        if self.settled(reached, obs, 0.2):
            return Action(arm_target=self.arm), "done", f"at the {self.name}"
        return Action(vel, self.arm), None, f"driving to the {self.name} ({err:.2f} m)"
