"""Perception's object memory, held object and drawer state; ORACLE used for scoring only."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from robomatrix.hardware.kinematics import intrinsics_from_fovy, world_to_base_point
from robomatrix.hardware.robot import Action, Observation, make_robot
from robomatrix.perception import Detector, PerceivedObject, Perception, camera_pose_base
from robomatrix.perception.postconditions import POSTCONDITIONS
from robomatrix.sim.oracle_expert import OracleExpert


class ScriptedDetector(Detector):
    """Returns whatever the test puts in `self.next` (base_link positions)."""

    name = "scripted"

    def __init__(self):
        self.next: list[PerceivedObject] = []

    def detect(self, obs):
        return [p.to_detection() for p in self.next]

    def perceive(self, obs):
        return list(self.next)


def _obs(base=(0.0, 0.0, 0.0), ee=(0.3, 0.1), opening=1.0, stamp=0.0, images=True) -> Observation:
    k = intrinsics_from_fovy(32, 24, 70.0)
    return Observation(rgb=np.zeros((24, 32, 3), np.uint8) if images else None,
                       depth=np.zeros((24, 32), np.float32) if images else None, intrinsics=k,
                       camera_pose_base=camera_pose_base(), base_pose=np.array(base, float),
                       base_velocity=np.zeros(3), ee_position=np.array(ee, float), gripper_opening=opening,
                       stamp_s=stamp)


def _can(pos, name="red can", conf=1.0):
    return PerceivedObject(name, "can", [0, 0, 4, 4], np.array(pos, float), conf, size=np.array([0.066, 0.066, 0.12]))


def test_memory_is_in_odom_and_reexpressed_in_the_base_frame():
    det = ScriptedDetector()
    per = Perception(det)
    det.next = [_can((0.8, 0.2, 0.06))]
    per.update(_obs())
    det.next = []
    state = per.update_proprio(_obs(base=(0.5, 0.0, math.pi / 2), images=False))
    can = state.get("red can")
    np.testing.assert_allclose(can.position_odom, [0.8, 0.2, 0.06], atol=1e-9)
    np.testing.assert_allclose(can.position_base, [0.2, -0.3, 0.06], atol=1e-9)
    assert can.in_view  # update_proprio keeps the last frame's flags
    state = per.update(_obs(base=(0.5, 0.0, math.pi / 2)))
    assert not state.get("red can").in_view and state.get("red can").last_seen_s == 0.0


def test_smoothing_and_jump_reset():
    det = ScriptedDetector()
    per = Perception(det)
    det.next = [_can((0.8, 0.0, 0.06))]
    per.update(_obs())
    det.next = [_can((0.82, 0.0, 0.06))]
    x = per.update(_obs(stamp=0.1)).get("red can").position_odom[0]
    assert 0.8 < x < 0.82  # a small change is smoothed
    det.next = [_can((1.2, 0.3, 0.06))]
    np.testing.assert_allclose(per.update(_obs(stamp=0.2)).get("red can").position_odom, [1.2, 0.3, 0.06])


def test_held_object_follows_the_gripper_and_is_dropped_when_the_fingers_open():
    det = ScriptedDetector()
    per = Perception(det)
    det.next = [_can((0.32, 0.0, 0.06))]
    assert per.update(_obs(ee=(0.32, 0.06), opening=1.0)).held_object is None  # open fingers around it
    state = per.update(_obs(ee=(0.32, 0.06), opening=0.65))
    assert state.held_object == "red can"
    det.next = []  # hidden by the fingers: still held, carried up with the gripper
    state = per.update_proprio(_obs(ee=(0.32, 0.24), opening=0.65, images=False))
    assert state.held_object == "red can"
    assert state.get("red can").position_base[2] == pytest.approx(0.24, abs=1e-6)
    assert POSTCONDITIONS["object_lifted"](state, _obs(ee=(0.32, 0.24), opening=0.65), {"object": "red can"})[0]
    state = per.update_proprio(_obs(ee=(0.32, 0.24), opening=0.02, images=False))
    assert state.held_object is None  # fingers shut: nothing between them


def test_states_are_snapshots():
    det = ScriptedDetector()
    per = Perception(det)
    det.next = [_can((0.8, 0.0, 0.06))]
    first = per.update(_obs())
    per.update_proprio(_obs(base=(1.0, 0.0, 1.0), images=False))
    np.testing.assert_allclose(first.get("red can").position_base, [0.8, 0.0, 0.06])


def test_update_needs_images():
    from robomatrix.errors import UsageError

    with pytest.raises(UsageError, match="update_proprio"):
        Perception(ScriptedDetector()).update(_obs(images=False))


@pytest.fixture(scope="module")
def robot():
    with make_robot("mujoco", camera_width=320, camera_height=240) as r:
        yield r


def test_objects_stay_known_after_the_robot_turns_away(robot):
    obs = robot.reset("office", seed=2)
    per = Perception()
    before = per.update(obs)
    seen = {n: o.position_odom.copy() for n, o in before.objects.items()}
    assert {"red can", "box", "bin"} <= set(seen) or len(seen) >= 4
    robot.send_action(Action(base_velocity=(0.0, 0.0, 1.5)))
    for _ in range(25):  # turn about 180 degrees, watching
        robot.advance(0.1)
        robot.send_action(Action(base_velocity=(0.0, 0.0, 1.5)))
        state = per.update(robot.get_observation())
    robot.send_action(Action(base_velocity=(0.0, 0.0, 0.0)))
    robot.advance(0.5)
    obs = robot.get_observation()
    state = per.update(obs)
    assert abs(math.remainder(obs.base_pose[2], 2 * math.pi)) > 2.0
    for name, pos in seen.items():
        o = state.get(name)
        assert o is not None and not o.in_view, name
        assert np.linalg.norm(o.position_odom - pos) < 0.05, name
        np.testing.assert_allclose(o.position_base, world_to_base_point(o.position_odom, obs.base_pose), atol=1e-6)
    scene = state.to_scene_objects()
    assert set(seen) <= scene.known and not any(scene.in_view(n) for n in seen)


def test_pick_and_place_seen_through_perception(robot):
    """The ORACLE expert moves; perception must notice the grasp, the lift and the can in the box."""
    robot.reset("pick", seed=1)
    per = Perception()
    ticks = [0]
    held_during_carry = []

    def watch(phase, state):
        ticks[0] += 1
        s = per.update(robot.get_observation()) if ticks[0] % 2 == 0 else per.update_proprio(state)
        if phase.startswith("carry"):
            held_during_carry.append(s.held_object)

    expert = OracleExpert(robot, on_step=watch)
    assert expert.pick("red can")
    obs = robot.get_observation()
    state = per.update(obs)
    assert POSTCONDITIONS["object_in_gripper"](state, obs, {"object": "red can"})[0]
    assert POSTCONDITIONS["object_lifted"](state, obs, {"object": "red can"})[0]
    assert expert.place(robot.scene.container("box").pose[:2])
    assert held_during_carry and all(h == "red can" for h in held_during_carry[:-5])
    obs = robot.get_observation()
    state = per.update(obs)
    assert state.held_object is None
    assert state.containment().get("red can") == "box"
    assert state.to_scene_objects().contained == {"red can": "box"}


def test_drawer_opening_follows_the_pull(robot):
    robot.reset("drawer", seed=1)
    per = Perception()
    errors = []

    def watch(phase, state):
        s = per.update(robot.get_observation())
        errors.append(abs((s.drawer_opening_m or 0.0) - robot.oracle_drawer_opening()))  # ORACLE scoring

    assert OracleExpert(robot, on_step=watch).pull_drawer(robot.scene.cabinet, 0.16)
    obs = robot.get_observation()
    state = per.update(obs)
    assert max(errors) < 0.02
    assert POSTCONDITIONS["drawer_open"](state, obs, {})[0]
    assert not POSTCONDITIONS["drawer_closed"](state, obs, {})[0]
    assert state.to_scene_objects().drawer_open is True


def test_a_lookalike_in_view_does_not_pull_the_track_away():
    det = ScriptedDetector()
    per = Perception(det)
    det.next = [_can((0.8, 0.0, 0.06), conf=0.6)]
    per.update(_obs())
    for i, (ours, other) in enumerate([(0.6, 1.0), (1.0, 0.6), (0.9, 0.9)]):  # the look-alike 0.25 m away
        det.next = [_can((1.0, 0.15, 0.06), conf=other), _can((0.81, 0.0, 0.06), conf=ours)]
        state = per.update(_obs(stamp=0.1 * (i + 1)))
        assert np.linalg.norm(state.get("red can").position_odom[:2] - [0.8, 0.0]) < 0.02
        assert len(state.lookalikes["red can"]) == 1
        np.testing.assert_allclose(state.lookalikes["red can"][0], [1.0, 0.15, 0.06], atol=1e-9)
    assert [o.name for o in state.to_scene_objects().objects] == ["red can"]  # the planner sees one
    det.next = [_can((1.0, 0.15, 0.06))]  # alone and far: the object was moved there
    state = per.update(_obs(stamp=1.0))
    np.testing.assert_allclose(state.get("red can").position_odom, [1.0, 0.15, 0.06])
    assert state.lookalikes == {}


def test_a_held_can_stays_held_when_only_its_lookalike_is_seen():
    det = ScriptedDetector()
    per = Perception(det)
    det.next = [_can((0.32, 0.0, 0.06)), _can((0.6, 0.2, 0.06))]  # ours and its look-alike
    per.update(_obs(ee=(0.32, 0.06), opening=1.0))
    assert per.update(_obs(ee=(0.32, 0.06), opening=0.65, stamp=0.1)).held_object == "red can"
    det.next = [_can((0.6, 0.2, 0.06))]  # the fingers hide ours: the can seen is the other one
    state = per.update(_obs(ee=(0.32, 0.24), opening=0.65, stamp=0.2))
    assert state.held_object == "red can" and not state.get("red can").in_view
    np.testing.assert_allclose(state.get("red can").position_base[:2], [0.32, 0.0], atol=0.03)
    np.testing.assert_allclose(state.lookalikes["red can"][0], [0.6, 0.2, 0.06], atol=1e-9)
    det.next = [_can((0.6, 0.2, 0.06))]
    state = per.update(_obs(ee=(0.32, 0.24), opening=0.0, stamp=0.3))  # fingers shut: it fell
    assert state.held_object is None


def _drawer(pos, yaw, conf, opening=None):
    return PerceivedObject("drawer", "drawer", [0, 0, 4, 4], np.array(pos, float), conf, yaw_base=yaw,
                           extras={"opening_m": opening})


def test_an_unclear_side_view_does_not_overrule_a_clearly_seen_drawer():
    """Seen from the side at the image border (office seed 100, a neural move_to), the drawer came out
    turned 140° with its handle 0.36 m away and no opening measured; perception called the open drawer
    closed and the monitor stopped the task's next step. Such a view no longer moves the track."""
    det = ScriptedDetector()
    per = Perception(det)
    det.next = [_drawer((1.0, 0.0, 0.13), math.pi, 0.95, opening=0.0)]  # clear view, shut; pulls out to -x
    per.update(_obs())
    det.next = [_drawer((0.75, 0.0, 0.13), math.pi, 0.95, opening=0.25)]  # clear view, pulled open
    assert per.update(_obs(stamp=1.0)).drawer_opening_m == pytest.approx(0.25)
    for bad in (_drawer((0.8, -0.36, 0.13), -0.7, 0.4),  # turned, off the pull line, unclear
                _drawer((0.75, -0.2, 0.13), math.pi, 0.5)):  # off the pull line only
        det.next = [bad]
        state = per.update(_obs(stamp=2.0))
        assert state.drawer_opening_m == pytest.approx(0.25) and state.get("drawer").yaw_odom == pytest.approx(math.pi)
        np.testing.assert_allclose(state.get("drawer").position_odom, [0.75, 0.0, 0.13], atol=1e-9)
    # an unclear view along the pull line is believed: the drawer pushed shut
    det.next = [_drawer((0.97, 0.01, 0.13), math.pi - 0.1, 0.5)]
    for k in range(6):
        state = per.update(_obs(stamp=3.0 + k))
    assert state.drawer_opening_m < 0.12


@pytest.mark.parametrize("opening, planner, monitor", [(0.0, False, False), (0.08, None, False), (0.2, True, True),
                                                       (None, None, None)])
def test_a_partly_open_drawer_is_neither_open_nor_closed_to_the_planner(opening, planner, monitor):
    """A close_drawer that left the drawer 0.116 m out (neural, office seed 100) was reported to the
    planner as closed ("open" needs 0.12 m): its replan saw the task done and claimed a success."""
    from robomatrix.executive.monitor import WorldView
    from robomatrix.perception.tracking import PerceptionState
    from robomatrix.planners.base import SceneObjects

    state = PerceptionState(0.0, np.zeros(3), drawer_opening_m=opening)
    scene = SceneObjects.from_dict(json.loads(json.dumps(state.to_scene_objects().to_dict())))  # as on the wire
    assert scene.drawer_open is planner and scene.drawer_opening_m == opening
    # the monitor's "open" is "room for a can", in one process and behind the scene topic alike
    assert WorldView.from_perception(state).drawer_open is monitor
    assert WorldView.from_scene(scene, (0.0, 0.0, 0.0), 0.0).drawer_open is monitor
