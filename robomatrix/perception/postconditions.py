"""Postcondition checks: did a meta-skill do what it says? Decided from perception, never from
the simulator.

Each check is `check(state, obs, context) -> (ok, reason)`: `state` is the `PerceptionState`
after the skill, `obs` the latest `Observation`, `context` the skill's arguments ("object",
"target", "direction", "amount") plus "skill", "start_state" and "start_obs" (before the skill).
`reason` says in words what was seen, for people and for replanning. `POSTCONDITIONS` maps the
names that `robomatrix.skills.specs` uses to the checks. Thresholds follow the task suite's
(sim/tasks.py) so that a skill verified here also counts there.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from robomatrix.hardware.kinematics import gripper_point_odom
from robomatrix.hardware.robot import Observation
from robomatrix.perception.tracking import (
    PerceptionState,
    TrackedObject,
    inside_container,
    over_drawer_opening,
)
from robomatrix.planners.base import DRAWER_CLOSED_M  # drawer_closed: opening at most this

Check = Callable[[PerceptionState, Observation, dict], tuple[bool, str]]

NEAR_MAX_M = 0.60  # robot_near_object: the object at most this far ahead of the base origin
NEAR_LATERAL_M = 0.12  # ... and at most this far to the side
LIFTED_M = 0.04  # object_lifted: centre at least this far above its resting height
MOVED_FRACTION = 0.5  # gripper_moved: at least this share of the asked amount, in the asked direction
PUSHED_M = 0.05  # object_moved: at least this far in the asked direction
AHEAD_BEARING_RAD = 0.2  # object_in_view_ahead: at most this far off straight ahead (where a search ends)
STANDOFF_TOL_M = 0.04  # object_at_standoff: at most this far from where move_to's expert stops it, ahead
STANDOFF_LATERAL_M = 0.03  # ... and at most this far to the side
GRIPPER_OPEN = 0.9  # the gripper counts as open (let go of the handle) from this opening
DIRECTIONS = {"forward": (1.0, 0.0, 0.0), "backward": (-1.0, 0.0, 0.0), "left": (0.0, 1.0, 0.0),
              "right": (0.0, -1.0, 0.0), "up": (0.0, 0.0, 1.0), "down": (0.0, 0.0, -1.0)}


def _fmt(p) -> str:
    return "(" + ", ".join(f"{v:.2f}" for v in p) + ") m"


def _object(state: PerceptionState, context: dict, key: str = "object") -> tuple[str, TrackedObject | None]:
    name = context.get(key) or ""
    return name, state.get(name)


def object_in_view(state, obs, context):
    name, o = _object(state, context)
    if o is None:
        return False, f"the {name} has not been seen"
    if o.in_view or state.held_object == name:
        return True, f"the {name} is in view at {_fmt(o.position_base)} in the robot frame"
    return False, f"the {name} is not in view (last seen {state.stamp_s - o.last_seen_s:.1f} s ago)"


def robot_near_object(state, obs, context):
    name, o = _object(state, context)
    if o is None:
        return False, f"the {name} has not been seen"
    x, y = float(o.position_base[0]), float(o.position_base[1])
    ok = 0.0 < x <= NEAR_MAX_M and abs(y) <= NEAR_LATERAL_M
    return ok, f"the {name} is {x:.2f} m ahead and {y:+.2f} m to the side of the robot" + (
        "" if ok else f" (within reach means ≤ {NEAR_MAX_M} m ahead, ≤ {NEAR_LATERAL_M} m to the side)")


def object_in_view_ahead(state, obs, context):
    """In view and nearly straight ahead: where a search turns to before it ends (a goal check: an
    object only glimpsed at the image border while turning may be out of view once the base stops)."""
    ok, reason = object_in_view(state, obs, context)
    if not ok:
        return False, reason
    name, o = _object(state, context)
    bearing = math.atan2(float(o.position_base[1]), float(o.position_base[0]))
    ahead = abs(bearing) <= AHEAD_BEARING_RAD
    return ahead, f"the {name} is in view {math.degrees(bearing):+.0f} deg off straight ahead" + (
        "" if ahead else f" (ahead means within {math.degrees(AHEAD_BEARING_RAD):.0f} deg)")


def object_at_standoff(state, obs, context):
    """In view where move_to's expert stops: the object this skill's standoff ahead (0.42 m for a can, the
    container's half size + 0.30 m, 0.45 m for the drawer's handle), nearly straight ahead (a goal check: the
    expert stops there; `robot_near_object` is the looser tolerance the next skill can start from)."""
    from robomatrix.skills.policies.move_to import standoff_x

    name, o = _object(state, context)
    if o is None or not o.in_view:
        return False, f"the {name} is not in view"
    x, y = float(o.position_base[0]), float(o.position_base[1])
    at = standoff_x(o)
    ok = abs(x - at) <= STANDOFF_TOL_M and abs(y) <= STANDOFF_LATERAL_M
    return ok, f"the {name} is {x:.2f} m ahead and {y:+.2f} m to the side (move_to stops it {at:.2f} m ahead)"


def _gripper_words(obs: Observation) -> str:
    g = obs.gripper_opening
    return "closed fully" if g <= 0.15 else ("open" if g >= GRIPPER_OPEN else f"{g:.2f} open")


def object_in_gripper(state, obs, context):
    name, o = _object(state, context)
    if state.held_object == name:
        return True, f"the {name} is between the fingers (gripper {_gripper_words(obs)})"
    if state.held_object is not None:
        return False, f"the gripper holds the {state.held_object}, not the {name}"
    if o is None:
        return False, f"the {name} has not been seen"
    gx = float(obs.ee_position[0])
    gap = math.hypot(o.position_base[0] - gx, o.position_base[1])
    return False, (f"the {name} is not between the fingers (gripper {_gripper_words(obs)}; the {name} is "
                   f"{gap:.3f} m from the gripper centre)")


def object_not_in_gripper(state, obs, context):
    name, o = _object(state, context)
    if state.held_object == name:
        return False, f"the {name} is still between the fingers (gripper {_gripper_words(obs)})"
    where = ""
    if o is not None:
        inside = state.containment().get(name)
        where = f"; it is at {_fmt(o.position_base)}" + (f", in the {inside}" if inside else "")
    return True, f"the {name} is not in the gripper (gripper {_gripper_words(obs)}){where}"


def object_lifted(state, obs, context):
    ok, reason = object_in_gripper(state, obs, context)
    if not ok:
        return False, reason
    name, o = _object(state, context)
    rest = float(o.size[2]) / 2 if o.size is not None else 0.06
    rise = float(o.position_base[2]) - rest
    ok = rise >= LIFTED_M
    return ok, f"the {name} is held {rise:.2f} m above its resting height" + ("" if ok else f" (needs {LIFTED_M} m)")


def _over(state: PerceptionState, point_odom, target: TrackedObject) -> bool:
    if target.kind == "drawer":  # all of the can over the exposed interior: over the front or the cabinet it falls off
        return over_drawer_opening(point_odom, target, state.drawer_opening_m or 0.0)
    return inside_container(np.array([*point_odom[:2], target.position_odom[2]]), target, margin_m=0.02)


def object_above_target(state, obs, context):
    name, o = _object(state, context)
    target_name, target = _object(state, context, "target")
    if target is None:
        return False, f"the {target_name} has not been seen"
    if o is None:
        return False, f"the {name} has not been seen"
    if state.held_object != name:
        return False, f"the {name} is not in the gripper any more"
    if not _over(state, o.position_odom, target):
        d = np.linalg.norm(o.position_odom[:2] - target.position_odom[:2])
        return False, f"the {name} is not above the {target_name}'s opening ({d:.2f} m from its centre)"
    bottom = float(o.position_odom[2]) - (float(o.size[2]) / 2 if o.size is not None else 0.06)
    rim = float(target.position_odom[2]) if target.kind != "drawer" else 0.20
    if bottom < rim - 0.02:
        return False, f"the {name} is over the {target_name} but its bottom ({bottom:.2f} m) is below the rim ({rim:.2f} m)"
    return True, f"the {name} is above the {target_name}'s opening, its bottom {bottom - rim:+.2f} m from the rim"


def object_in_container(state, obs, context):
    name, o = _object(state, context)
    target_name, target = _object(state, context, "target")
    if o is None or target is None:
        return False, f"the {name if o is None else target_name} has not been seen"
    inside = state.containment().get(name)
    if inside == target_name:
        return True, f"the {name} is in the {target_name}"
    return False, f"the {name} is not in the {target_name}" + (f" (it is in the {inside})" if inside else
                                                               f" (it is at {_fmt(o.position_base)})")


def drawer_open(state, obs, context):
    m, threshold = state.drawer_opening_m, state.drawer_open_threshold_m
    if m is None:
        return False, "the drawer's opening is not known (drawer not seen)"
    return m >= threshold, f"the drawer is open {m:.3f} m" + ("" if m >= threshold else f" (open means ≥ {threshold} m)")


def drawer_closed(state, obs, context):
    m = state.drawer_opening_m
    if m is None:
        return False, "the drawer's opening is not known (drawer not seen)"
    return m <= DRAWER_CLOSED_M, f"the drawer is open {m:.3f} m" + (
        "" if m <= DRAWER_CLOSED_M else f" (closed means ≤ {DRAWER_CLOSED_M} m)")


def _let_go(check: Check) -> Check:
    """`check`, and the gripper open: the drawer skills end with the handle let go of (goal checks)."""
    def let_go(state, obs, context):
        ok, reason = check(state, obs, context)
        if ok and obs.gripper_opening < GRIPPER_OPEN:
            return False, f"{reason}, the gripper still on the handle ({_gripper_words(obs)})"
        return ok, reason
    return let_go


def _direction_in_odom(direction: str, start_yaw: float) -> np.ndarray:
    dx, dy, dz = DIRECTIONS[direction]
    c, s = math.cos(start_yaw), math.sin(start_yaw)
    return np.array([c * dx - s * dy, s * dx + c * dy, dz])


def object_moved(state, obs, context):
    name, o = _object(state, context)
    start: PerceptionState | None = context.get("start_state")
    direction = context.get("direction", "forward")
    if o is None or start is None or start.get(name) is None:
        return False, f"the {name} was not seen both before and after the push"
    moved = o.position_odom - start.get(name).position_odom
    along = float(moved[:2] @ _direction_in_odom(direction, float(start.base_pose[2]))[:2])
    ok = along >= PUSHED_M
    return ok, f"the {name} moved {along:.3f} m {direction} ({np.linalg.norm(moved[:2]):.3f} m in all)" + (
        "" if ok else f" (needs {PUSHED_M} m)")


def gripper_moved(state, obs, context):
    start: Observation | None = context.get("start_obs")
    direction, amount = context.get("direction", "forward"), float(context.get("amount") or 0.05)
    if start is None:
        return False, "no observation from before the motion to compare with"
    moved = gripper_point_odom(obs.base_pose, obs.ee_position) - gripper_point_odom(start.base_pose,
                                                                                      start.ee_position)
    along = float(moved @ _direction_in_odom(direction, float(start.base_pose[2])))
    ok = along >= MOVED_FRACTION * amount
    return ok, f"the gripper moved {along:.3f} m {direction} of {amount:.3f} m asked"


POSTCONDITIONS: dict[str, Check] = {
    "object_in_view": object_in_view,
    "robot_near_object": robot_near_object,
    "object_in_gripper": object_in_gripper,
    "object_lifted": object_lifted,
    "object_above_target": object_above_target,
    "object_not_in_gripper": object_not_in_gripper,
    "object_in_container": object_in_container,
    "drawer_open": drawer_open,
    "drawer_closed": drawer_closed,
    "object_in_view_ahead": object_in_view_ahead,
    "object_at_standoff": object_at_standoff,
    "drawer_open_let_go": _let_go(drawer_open),
    "drawer_closed_let_go": _let_go(drawer_closed),
    "object_moved": object_moved,
    "gripper_moved": gripper_moved,
}


def check(name: str, state: PerceptionState, obs: Observation, context: dict[str, Any]) -> tuple[bool, str]:
    """Run the postcondition called `name`; unknown names raise UsageError with a suggestion."""
    from robomatrix.errors import unknown_name

    if name not in POSTCONDITIONS:
        raise unknown_name("postcondition", name, POSTCONDITIONS)
    return POSTCONDITIONS[name](state, obs, context)
