"""search(object): turn in place and look until perception has the object in view."""
from __future__ import annotations

import math

from robomatrix.hardware.kinematics import wrap_angle
from robomatrix.hardware.robot import Action
from robomatrix.perception.postconditions import AHEAD_BEARING_RAD
from robomatrix.skills.policies.base import Phased, object_or_none

TURN_RATE_RADPS = 0.7  # slow enough that every camera frame overlaps the last one
CENTRE_TOL_RAD = AHEAD_BEARING_RAD  # the object ends within this bearing of straight ahead (its goal check)


class SearchPolicy(Phased):
    """Look first; then turn (towards where the object was last seen, else left) until it is in
    view, and turn to face it. Fails after a full turn without seeing it."""

    PHASES = (("look", 1.0), ("turn", 14.0), ("centre", 6.0), ("reacquire", 6.0))
    labels_any_state = True  # turn until perception has it in view, then face it

    def setup(self, state, obs):
        self.name = self.args["object"]
        self.turned_rad = 0.0
        self.last_yaw = float(obs.base_pose[2])
        known = object_or_none(state, self.name)
        bearing = math.atan2(known.position_base[1], known.position_base[0]) if known is not None else 0.0
        self.direction = -1.0 if bearing < 0 else 1.0

    def _visible(self, state):
        obj = object_or_none(state, self.name)
        return obj if obj is not None and obj.in_view else None

    def _track_turn(self, obs):
        yaw = float(obs.base_pose[2])
        self.turned_rad += abs(wrap_angle(yaw - self.last_yaw))
        self.last_yaw = yaw

    def phase_look(self, state, obs):
        if self._visible(state) is not None:
            return Action(), "centre", f"{self.name} in view"
        # wait for a fresh camera frame or two before turning
        nxt = "turn" if self.elapsed_in_phase(obs) >= 0.25 else None
        return Action(), nxt, f"looking for the {self.name}"

    def phase_turn(self, state, obs):
        self._track_turn(obs)
        if self._visible(state) is not None:
            return Action(), "centre", f"{self.name} in view"
        if self.turned_rad >= 2 * math.pi:
            return Action(), "fail", f"search: did not see the {self.name} after a full turn"
        return Action((0.0, 0.0, self.direction * TURN_RATE_RADPS)), None, \
            f"turning to find the {self.name} ({math.degrees(self.turned_rad):.0f} deg)"

    def phase_centre(self, state, obs):
        obj = object_or_none(state, self.name)
        if obj is None or not obj.in_view:
            # far objects can leave the top of the pitched-down image as the base turns to them:
            # turn back slowly until it is in view again
            self.direction = -self.direction
            return Action(), "reacquire", f"turning back to the {self.name}"
        bearing = math.atan2(obj.position_base[1], obj.position_base[0])
        self.direction = 1.0 if bearing > 0 else -1.0
        wz = max(-0.6, min(0.6, 1.5 * bearing))
        if self.settled(abs(bearing) < CENTRE_TOL_RAD, obs, 0.3):
            return Action(), "done", f"{self.name} in view"
        return Action((0.0, 0.0, wz)), None, f"turning to face the {self.name}"

    def phase_reacquire(self, state, obs):
        obj = object_or_none(state, self.name)
        if self.settled(obj is not None and obj.in_view, obs, 0.3):
            return Action(), "done", f"{self.name} in view"
        wz = 0.0 if obj is not None and obj.in_view else 0.3 * self.direction
        return Action((0.0, 0.0, wz)), None, f"turning back to the {self.name}"

    def timeout_reason(self, phase, state):
        if phase == "turn":
            return f"search: did not see the {self.name} while turning"
        return super().timeout_reason(phase, state)
