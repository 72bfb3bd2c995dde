"""Postcondition checks on constructed perception states (no simulator)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from robomatrix.errors import UsageError
from robomatrix.hardware.kinematics import intrinsics_from_fovy
from robomatrix.hardware.robot import Observation
from robomatrix.perception import PerceptionState, TrackedObject, camera_pose_base
from robomatrix.perception.postconditions import POSTCONDITIONS, check
from robomatrix.skills.specs import skill_specs


def _obs(base=(0.0, 0.0, 0.0), ee=(0.32, 0.06), opening=1.0) -> Observation:
    return Observation(rgb=None, depth=None, intrinsics=intrinsics_from_fovy(32, 24, 70.0),
                       camera_pose_base=camera_pose_base(), base_pose=np.array(base, float),
                       base_velocity=np.zeros(3), ee_position=np.array(ee, float), gripper_opening=opening,
                       stamp_s=1.0)


def _obj(name, kind, pos, yaw=None, size=None, in_view=True):
    p = np.array(pos, float)
    return TrackedObject(name, kind, p, p.copy(), yaw, None if size is None else np.array(size, float), in_view,
                         1.0, 0.9)


def _state(*objs, held=None, drawer=None, base=(0.0, 0.0, 0.0)):
    return PerceptionState(stamp_s=1.0, base_pose=np.array(base, float), objects={o.name: o for o in objs},
                           held_object=held, drawer_opening_m=drawer)


CAN = (0.066, 0.066, 0.12)
BOX = _obj("box", "box", (0.5, 0.0, 0.10), yaw=0.0, size=(0.26, 0.22, 0.10))


def test_every_skill_postcondition_has_a_check():
    missing = {s.postcondition for s in skill_specs()} - set(POSTCONDITIONS)
    assert not missing


def test_unknown_name_suggests():
    with pytest.raises(UsageError, match="object_in_gripper"):
        check("object_in_griper", _state(), _obs(), {})


def test_in_view_and_near():
    far = _obj("red can", "can", (1.2, 0.4, 0.06), size=CAN)
    ok, reason = POSTCONDITIONS["object_in_view"](_state(far), _obs(), {"object": "red can"})
    assert ok and "in view" in reason
    assert not POSTCONDITIONS["object_in_view"](_state(), _obs(), {"object": "red can"})[0]
    hidden = _obj("red can", "can", (1.2, 0.4, 0.06), in_view=False)
    assert "not in view" in POSTCONDITIONS["object_in_view"](_state(hidden), _obs(), {"object": "red can"})[1]
    ok, reason = POSTCONDITIONS["robot_near_object"](_state(far), _obs(), {"object": "red can"})
    assert not ok and "1.20 m ahead" in reason
    near = _obj("red can", "can", (0.45, 0.03, 0.06), size=CAN)
    assert POSTCONDITIONS["robot_near_object"](_state(near), _obs(), {"object": "red can"})[0]


def test_gripper_checks_explain_themselves():
    can = _obj("red can", "can", (0.6, 0.0, 0.06), size=CAN)
    ok, reason = POSTCONDITIONS["object_in_gripper"](_state(can), _obs(opening=0.0), {"object": "red can"})
    assert not ok and "closed fully" in reason and "not between the fingers" in reason
    held = _obj("red can", "can", (0.32, 0.0, 0.07), size=CAN)
    assert POSTCONDITIONS["object_in_gripper"](_state(held, held="red can"), _obs(opening=0.65), {"object": "red can"})[0]
    ok, reason = POSTCONDITIONS["object_lifted"](_state(held, held="red can"), _obs(opening=0.65), {"object": "red can"})
    assert not ok and "above its resting height" in reason
    up = _obj("red can", "can", (0.32, 0.0, 0.2), size=CAN)
    assert POSTCONDITIONS["object_lifted"](_state(up, held="red can"), _obs(opening=0.65), {"object": "red can"})[0]
    assert not POSTCONDITIONS["object_not_in_gripper"](_state(up, held="red can"), _obs(), {"object": "red can"})[0]
    ok, reason = POSTCONDITIONS["object_not_in_gripper"](_state(up), _obs(), {"object": "red can"})
    assert ok and "not in the gripper" in reason


def test_above_target_and_in_container():
    over = _obj("red can", "can", (0.52, 0.02, 0.25), size=CAN)
    ctx = {"object": "red can", "target": "box"}
    assert POSTCONDITIONS["object_above_target"](_state(over, BOX, held="red can"), _obs(), ctx)[0]
    beside = _obj("red can", "can", (0.52, 0.25, 0.25), size=CAN)
    ok, reason = POSTCONDITIONS["object_above_target"](_state(beside, BOX, held="red can"), _obs(), ctx)
    assert not ok and "not above" in reason
    low = _obj("red can", "can", (0.52, 0.02, 0.10), size=CAN)
    assert "below the rim" in POSTCONDITIONS["object_above_target"](_state(low, BOX, held="red can"), _obs(), ctx)[1]
    assert not POSTCONDITIONS["object_above_target"](_state(over, BOX), _obs(), ctx)[0]  # dropped on the way
    inside = _obj("red can", "can", (0.52, 0.02, 0.07), size=CAN)
    assert POSTCONDITIONS["object_in_container"](_state(inside, BOX), _obs(), ctx)[0]
    assert _state(inside, BOX).to_scene_objects().contained == {"red can": "box"}
    assert not POSTCONDITIONS["object_in_container"](_state(beside, BOX), _obs(), ctx)[0]


def test_drawer_open_and_closed():
    drawer = _obj("drawer", "drawer", (0.6, 0.0, 0.13), yaw=math.pi)
    assert POSTCONDITIONS["drawer_open"](_state(drawer, drawer=0.18), _obs(), {})[0]
    ok, reason = POSTCONDITIONS["drawer_open"](_state(drawer, drawer=0.05), _obs(), {})
    assert not ok and "0.050 m" in reason
    assert POSTCONDITIONS["drawer_closed"](_state(drawer, drawer=0.01), _obs(), {})[0]
    assert "not known" in POSTCONDITIONS["drawer_closed"](_state(), _obs(), {})[1]
    # A can inside the pulled-out tray counts as in the drawer.
    can = _obj("blue can", "can", (0.75, 0.0, 0.12), size=CAN)
    assert _state(drawer, can, drawer=0.2).containment() == {"blue can": "drawer"}


def test_a_can_is_over_the_drawer_only_with_all_of_it_over_the_exposed_interior():
    # handle at x = 0.6 pulling out toward -x, open 0.20 m: the front's inner face at x = 0.66, the
    # cabinet's face at x = 0.845 (the tray behind it lies under the cabinet's top)
    drawer = _obj("drawer", "drawer", (0.6, 0.0, 0.13), yaw=math.pi)
    ctx = {"object": "red can", "target": "drawer"}

    def over(x, y=0.0):
        can = _obj("red can", "can", (x, y, 0.30), size=CAN)
        return POSTCONDITIONS["object_above_target"](_state(can, drawer, held="red can", drawer=0.20), _obs(), ctx)

    assert over(0.75)[0] and over(0.75, 0.15)[0]
    for x, y in ((0.68, 0.0), (0.83, 0.0), (0.90, 0.0), (0.75, 0.17)):  # over the front, the cabinet, a side
        ok, reason = over(x, y)
        assert not ok and "not above the drawer's opening" in reason, (x, y)
    # the tray as a whole still holds a can that lies anywhere in it
    assert _state(drawer, _obj("red can", "can", (0.9, 0.0, 0.12)), drawer=0.2).containment() == {"red can": "drawer"}


def test_goal_checks_search_ahead_and_drawer_let_go():
    ctx = {"object": "red can"}
    aside = _obj("red can", "can", (1.0, 0.5, 0.06), size=CAN)  # in view, 27 deg off
    assert POSTCONDITIONS["object_in_view"](_state(aside), _obs(), ctx)[0]
    ok, reason = POSTCONDITIONS["object_in_view_ahead"](_state(aside), _obs(), ctx)
    assert not ok and "+27 deg" in reason
    assert POSTCONDITIONS["object_in_view_ahead"](_state(_obj("red can", "can", (1.0, 0.1, 0.06))), _obs(), ctx)[0]
    drawer = _obj("drawer", "drawer", (0.6, 0.0, 0.13), yaw=math.pi)
    ok, reason = POSTCONDITIONS["drawer_open_let_go"](_state(drawer, drawer=0.2), _obs(opening=0.3), {})
    assert not ok and "still on the handle" in reason
    assert POSTCONDITIONS["drawer_open_let_go"](_state(drawer, drawer=0.2), _obs(opening=1.0), {})[0]
    assert not POSTCONDITIONS["drawer_closed_let_go"](_state(drawer, drawer=0.2), _obs(opening=1.0), {})[0]
    assert POSTCONDITIONS["drawer_closed_let_go"](_state(drawer, drawer=0.01), _obs(opening=0.95), {})[0]


def test_move_to_goal_is_where_its_expert_stops_not_the_looser_reach():
    ctx = {"object": "red can"}
    for x, y, at_goal in ((0.42, 0.0, True), (0.45, 0.02, True), (0.39, -0.02, True), (0.55, 0.0, False),
                          (0.42, 0.05, False), (0.30, 0.0, False)):
        ok, reason = POSTCONDITIONS["object_at_standoff"](_state(_obj("red can", "can", (x, y, 0.06), size=CAN)),
                                                          _obs(), ctx)
        assert ok == at_goal and "move_to stops it 0.42 m ahead" in reason, (x, y)
    # 0.55 m ahead is within reach (the postcondition) but short of where move_to stops: no goal stop there
    assert POSTCONDITIONS["robot_near_object"](_state(_obj("red can", "can", (0.55, 0.0, 0.06), size=CAN)), _obs(), ctx)[0]
    hidden = _obj("red can", "can", (0.42, 0.0, 0.06), size=CAN, in_view=False)
    assert not POSTCONDITIONS["object_at_standoff"](_state(hidden), _obs(), ctx)[0]
    drawer = _obj("drawer", "drawer", (0.45, 0.0, 0.13), yaw=math.pi)  # the drawer: its handle 0.45 m ahead
    assert POSTCONDITIONS["object_at_standoff"](_state(drawer), _obs(), {"object": "drawer"})[0]


def test_pushed_and_nudged_in_the_start_frame():
    start = _state(_obj("red can", "can", (0.5, 0.0, 0.06)), base=(0.0, 0.0, math.pi / 2))
    after = _state(_obj("red can", "can", (0.5, 0.08, 0.06)), base=(0.0, 0.0, math.pi / 2))
    ctx = {"object": "red can", "direction": "forward", "start_state": start}
    assert POSTCONDITIONS["object_moved"](after, _obs(), ctx)[0]  # +y in odom is forward at yaw 90 deg
    assert not POSTCONDITIONS["object_moved"](after, _obs(), {**ctx, "direction": "left"})[0]
    start_obs = _obs(ee=(0.30, 0.10))
    ctx = {"direction": "up", "amount": 0.05, "start_obs": start_obs}
    assert POSTCONDITIONS["gripper_moved"](None, _obs(ee=(0.30, 0.15)), ctx)[0]
    assert not POSTCONDITIONS["gripper_moved"](None, _obs(ee=(0.30, 0.11)), ctx)[0]
    ctx = {"direction": "left", "amount": 0.04, "start_obs": start_obs}
    assert POSTCONDITIONS["gripper_moved"](None, _obs(base=(0.0, 0.04, 0.0), ee=(0.30, 0.10)), ctx)[0]


def test_a_can_on_top_of_another_in_a_bin_is_not_inside_it():
    bin_ = _obj("bin", "bin", (0.6, 0.0, 0.12), size=(0.31, 0.31, 0.12))
    standing = _obj("red can", "can", (0.6, 0.05, 0.065), size=CAN)  # on the bin's floor
    stacked = _obj("blue can", "can", (0.6, 0.05, 0.185), size=CAN)  # resting on the red can
    on_rim = _obj("green can", "can", (0.6, -0.10, 0.16), size=CAN)  # tilted over the rim
    state = _state(bin_, standing, stacked, on_rim)
    assert state.containment() == {"red can": "bin"}
    ok, reason = POSTCONDITIONS["object_in_container"](state, _obs(), {"object": "blue can", "target": "bin"})
    assert not ok and "not in the bin" in reason
