"""The executive's monitor on synthetic perception states: each finding fires when (and only when)
perception shows the step can no longer succeed, after its confirmation time."""
from __future__ import annotations

import math

import numpy as np
import pytest

from robomatrix.errors import UsageError
from robomatrix.executive.monitor import Monitor, MonitorConfig, SeenObject, WorldView, needs_drawer_open
from robomatrix.messages import Plan, SkillCall
from robomatrix.perception.tracking import PerceptionState, TrackedObject
from robomatrix.planners.base import SceneObject, SceneObjects


def view(t, objects, held=None, drawer_open=None, base=(0.0, 0.0, 0.0)):
    """objects: name → (x, y, in_view, last_seen_s), odom."""
    return WorldView(t, np.array(base, float),
                     {n: SeenObject(np.array([x, y, 0.06]), seen, last) for n, (x, y, seen, last) in objects.items()},
                     held, drawer_open)


class Feed:
    """A monitor fed one synthetic view after another."""

    def __init__(self, first, config=None):
        self.now = first
        self.monitor = Monitor(lambda: self.now, config)

    def begin(self, steps, index):
        self.monitor.begin(Plan("task", [SkillCall(s, a) for s, a in steps]), index)

    def check(self, v):
        self.now = v
        return self.monitor.check()


PUT = [("move_to", {"object": "red can"}), ("grasp", {"object": "red can"}), ("lift", {"object": "red can"}),
       ("position_over", {"object": "red can", "target": "box"}), ("release", {"object": "red can"})]


def test_a_can_slipping_out_while_carried_is_found_after_the_confirmation_time():
    can = {"red can": (0.3, 0.0, True, 0.0), "box": (0.9, 0.3, True, 0.0)}
    feed = Feed(view(0.0, can, held="red can"))
    feed.begin(PUT, 3)
    assert feed.check(view(0.1, can, held="red can")) is None
    fallen = {"red can": (0.5, 0.2, True, 0.2), "box": (0.9, 0.3, True, 0.2)}
    assert feed.check(view(0.2, fallen)) is None  # one frame is not enough
    found = feed.check(view(0.7, fallen))
    assert found is not None and found.kind == "slipped" and found.object == "red can" and not found.retry
    assert "expected the red can in the gripper during position_over" in found.text
    assert "the gripper is empty" in found.text and "0.50 m ahead, 0.20 m to the left (in view)" in found.text


def test_a_flicker_of_the_held_flag_does_not_stop_the_carry():
    can = {"red can": (0.3, 0.0, True, 0.0)}
    feed = Feed(view(0.0, can, held="red can"))
    feed.begin(PUT, 2)
    for k in range(20):  # every other frame says not held: never 0.4 s in a row
        assert feed.check(view(0.1 * k, can, held=None if k % 2 else "red can")) is None


def test_a_can_moved_away_from_the_grasp_is_found_but_a_nudge_is_not():
    feed = Feed(view(0.0, {"red can": (0.35, 0.0, True, 0.0)}))
    feed.begin(PUT, 1)
    assert feed.check(view(0.1, {"red can": (0.40, 0.03, True, 0.1)})) is None  # fingers touch it: 6 cm
    assert feed.check(view(0.2, {"red can": (0.35, 0.3, True, 0.2)})) is None
    found = feed.check(view(0.45, {"red can": (0.35, 0.3, True, 0.45)}))
    assert found.kind == "moved" and found.object == "red can"
    assert "perception sees it 0.30 m from there" in found.text and "grasp(object='red can') found it" in found.text


def test_once_held_the_grasped_can_may_move():
    feed = Feed(view(0.0, {"red can": (0.35, 0.0, True, 0.0)}))
    feed.begin(PUT, 1)
    for t in (0.2, 0.5, 1.0):
        assert feed.check(view(t, {"red can": (0.35, 0.3, True, t)}, held="red can")) is None


def test_a_hidden_target_is_found_only_where_the_camera_should_see_it():
    # the can 0.9 m straight ahead, last seen at t=0
    feed = Feed(view(0.0, {"red can": (0.9, 0.0, True, 0.0)}))
    feed.begin(PUT, 0)
    assert feed.check(view(1.0, {"red can": (0.9, 0.0, False, 0.0)})) is None  # not yet 1.5 s
    found = feed.check(view(1.6, {"red can": (0.9, 0.0, False, 0.0)}))
    assert found.kind == "hidden" and "something may stand in front of it" in found.text
    assert "not seen for 1.6 s" in found.text
    # the robot turned away from it: out of view is expected, nothing found
    feed = Feed(view(0.0, {"red can": (0.9, 0.0, True, 0.0)}))
    feed.begin(PUT, 0)
    assert feed.check(view(5.0, {"red can": (0.9, 0.0, False, 0.0)}, base=(0.0, 0.0, math.pi / 2))) is None
    # too close to the camera (under the gripper): not expected in view either
    assert feed.check(view(5.0, {"red can": (0.3, 0.0, False, 0.0)})) is None


def test_a_drawer_closed_again_is_found_while_a_later_step_needs_it():
    steps = [("open_drawer", {}), ("move_to", {"object": "red can"}), ("grasp", {"object": "red can"}),
             ("lift", {"object": "red can"}), ("position_over", {"object": "red can", "target": "drawer"}),
             ("release", {"object": "red can"}), ("close_drawer", {})]
    objs = {"red can": (0.6, 0.0, True, 0.0)}
    feed = Feed(view(0.0, objs, drawer_open=True))
    feed.begin(steps, 1)
    assert feed.check(view(0.1, objs, drawer_open=None)) is None  # unknown is not closed
    assert feed.check(view(0.2, objs, drawer_open=False)) is None
    found = feed.check(view(0.7, objs, drawer_open=False))
    assert found.kind == "drawer_closed" and found.object == "drawer" and "perception sees it closed" in found.text
    # close_drawer itself, and steps after the release, do not need it open
    assert needs_drawer_open(Plan("t", [SkillCall(s, a) for s, a in steps]), 4)
    assert not needs_drawer_open(Plan("t", [SkillCall(s, a) for s, a in steps]), 5)
    feed = Feed(view(0.0, objs, drawer_open=True))
    feed.begin(steps, 6)
    assert feed.check(view(1.0, objs, drawer_open=False)) is None


def test_world_views_from_the_tracker_and_from_the_scene_message_agree():
    can = TrackedObject("red can", "can", np.array([1.0, 1.0, 0.06]), np.array([0.0, 0.0, 0.06]), None, None,
                        False, 2.0, 0.9)
    state = PerceptionState(3.0, np.array([1.0, 0.5, math.pi / 2]), {"red can": can}, held_object=None,
                            drawer_opening_m=0.15)
    a = WorldView.from_perception(state)
    assert a.drawer_open is True and a.objects["red can"].last_seen_s == 2.0
    np.testing.assert_allclose(a.in_base(a.objects["red can"].position_odom), [0.5, 0.0], atol=1e-9)
    # the same can as the scene message gives it: 0.5 m ahead of a robot at (1, 0.5) facing +y
    scene = SceneObjects(objects=(SceneObject("red can", (0.5, 0.0, 0.06), True),), known=frozenset({"red can"}),
                         drawer_open=True)
    b = WorldView.from_scene(scene, (1.0, 0.5, math.pi / 2), 4.0)
    np.testing.assert_allclose(b.objects["red can"].position_odom, [1.0, 1.0, 0.06], atol=1e-9)
    hidden = SceneObjects(objects=(SceneObject("red can", (0.5, 0.0, 0.06), False),), known=frozenset({"red can"}))
    c = WorldView.from_scene(hidden, (1.0, 0.5, math.pi / 2), 5.0, previous=b)
    assert c.objects["red can"].last_seen_s == 4.0 and not c.objects["red can"].in_view


@pytest.mark.parametrize("field,value", [("slip_confirm_s", -1.0), ("moved_m", float("nan")), ("view_range_m", (1.0, 0.5))])
def test_config_names_the_bad_field(field, value):
    with pytest.raises(UsageError, match=field):
        MonitorConfig(**{field: value})


def test_an_estimate_jumping_between_two_look_alikes_is_found_but_one_move_is_not():
    a, b = (0.8, 0.15, True, 0.0), (0.8, -0.15, True, 0.0)
    feed = Feed(view(0.0, {"red can": a}))
    feed.begin(PUT, 0)
    found = None
    for k in range(1, 12):  # the estimate flips every 0.5 s
        found = found or feed.check(view(0.5 * k, {"red can": b if k % 2 else a}))
    assert found is not None and found.kind == "ambiguous" and "two look-alike objects" in found.text
    assert "jumped 4 times" in found.text
    feed = Feed(view(0.0, {"red can": a}))
    feed.begin(PUT, 0)
    for k in range(1, 12):  # moved once, then stays: not ambiguous
        assert feed.check(view(0.5 * k, {"red can": b if k > 3 else a})) is None
