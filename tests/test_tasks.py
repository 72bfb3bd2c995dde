"""The task suite: registry, levels against the rule planner's plans, and every ORACLE predicate
on constructed ground-truth states (no simulation)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from robomatrix.errors import UsageError
from robomatrix.planners.base import SceneObjects, make_planner
from robomatrix.sim.scene import build_scene
from robomatrix.sim.tasks import (
    LEVEL_SKILLS,
    LEVELS,
    OracleState,
    TaskSpec,
    drawer_closed,
    drawer_interior_contains,
    drawer_open,
    grasped,
    in_container,
    in_drawer,
    pushed,
    robot_near,
    suite,
    task,
)

SCENE = build_scene("office", 3)
CANS = ("red can", "green can", "blue can", "yellow can")


def start_state(scene=SCENE) -> OracleState:
    objects = {o.name: np.array([o.pose[0], o.pose[1], o.size[1] / 2]) for o in scene.objects}
    return OracleState(objects=objects, drawer_opening_m=0.0, base_pose=np.zeros(3),
                       ee_position=np.array([0.22, 0.16]), gripper_opening=1.0)


def moved(state: OracleState, **changes) -> OracleState:
    objects = {k: v.copy() for k, v in state.objects.items()}
    objects.update({k.replace("_", " "): np.asarray(v, float) for k, v in changes.pop("objects", {}).items()})
    fields = dict(objects=objects, drawer_opening_m=state.drawer_opening_m, base_pose=state.base_pose.copy(),
                  ee_position=state.ee_position.copy(), gripper_opening=state.gripper_opening)
    fields.update({k: (np.asarray(v, float) if isinstance(v, (list, tuple)) else v) for k, v in changes.items()})
    return OracleState(**fields)


def test_core_suite_has_every_level_and_a_dozen_tasks():
    tasks = suite("core")
    assert len(tasks) >= 12 and len({t.name for t in tasks}) == len(tasks)
    assert {t.level for t in tasks} == set(LEVELS)
    assert task("red_in_box").instruction == "put the red can in the box"
    with pytest.raises(UsageError, match="Did you mean 'core'"):
        suite("cor")
    with pytest.raises(UsageError, match="red_in_box"):
        task("red_in_bx")


@pytest.mark.parametrize("spec", suite("core"), ids=lambda t: t.name)
def test_level_matches_the_rule_planners_plan(spec):
    scene = SceneObjects.from_names(visible=spec.build_scene(0).names)  # everything in view
    plan = make_planner("rule", embeddings="off").plan(spec.instruction, scene)
    low, high = LEVEL_SKILLS[spec.level]
    assert low <= len(plan.steps) <= high, [s.to_text() for s in plan.steps]


def test_layouts_are_randomised_by_seed():
    a, b = task("red_in_box").build_scene(1), task("red_in_box").build_scene(2)
    assert a.object("red can").pose != b.object("red can").pose
    assert task("red_in_box").build_scene(1) == a


def test_robot_near():
    start = start_state()
    can = start.objects["green can"]
    heading = math.atan2(can[1], can[0])
    stop = can[:2] - 0.42 * np.array([math.cos(heading), math.sin(heading)])
    end = moved(start, base_pose=[stop[0], stop[1], heading])
    assert robot_near("green can")(SCENE, start, end)[0]
    sideways = moved(start, base_pose=[stop[0], stop[1], heading + 0.6])
    ok, why = robot_near("green can")(SCENE, start, sideways)
    assert not ok and "to the side" in why
    far = moved(start, base_pose=[stop[0] - 0.5 * math.cos(heading), stop[1] - 0.5 * math.sin(heading), heading])
    ok, why = robot_near("green can")(SCENE, start, far)
    assert not ok and "ahead" in why


def test_grasped_and_lifted():
    start = start_state()
    held = moved(start, objects={"blue_can": [0.3, 0.0, 0.06]}, ee_position=[0.3, 0.06], gripper_opening=0.5)
    assert grasped("blue can")(SCENE, start, held)[0]
    off = moved(held, objects={"blue_can": [0.45, 0.1, 0.06]})
    ok, why = grasped("blue can")(SCENE, start, off)
    assert not ok and "from the gripper" in why
    assert not grasped("blue can")(SCENE, start, moved(held, gripper_opening=1.0))[0]
    ok, why = grasped("blue can", lifted=True)(SCENE, start, held)
    assert not ok and "above where it stood" in why
    up = moved(held, objects={"blue_can": [0.3, 0.0, 0.18]}, ee_position=[0.3, 0.18])
    assert grasped("blue can", lifted=True)(SCENE, start, up)[0]


def test_in_container_box_and_bin():
    start = start_state()
    for container in ("box", "bin"):
        c = SCENE.container(container)
        inside = moved(start, objects={"red_can": [c.pose[0], c.pose[1], 0.07]})
        assert in_container("red can", container)(SCENE, start, inside)[0]
        on_rim = moved(start, objects={"red_can": [c.pose[0], c.pose[1], c.wall_height + 0.05]})
        assert not in_container("red can", container)(SCENE, start, on_rim)[0]  # held above it
        beside = moved(start, objects={"red_can": [c.pose[0] + 0.25, c.pose[1], 0.06]})
        ok, why = in_container("red can", container)(SCENE, start, beside)
        assert not ok and f"not in the {container}" in why


def _drawer_point(cab, opening, forward_from_front, z):
    x, y, yaw = cab.pose
    d = cab.body_size[0] / 2 - 0.015 + opening - forward_from_front
    return [x + d * math.cos(yaw), y + d * math.sin(yaw), z]


def test_drawer_predicates():
    cab = SCENE.cabinet
    start = start_state()
    open_ = moved(start, drawer_opening_m=0.2)
    assert drawer_open(SCENE, start, open_)[0] and not drawer_closed(SCENE, start, open_)[0]
    assert drawer_closed(SCENE, start, start)[0] and not drawer_open(SCENE, start, start)[0]
    assert not drawer_open(SCENE, start, moved(start, drawer_opening_m=0.05))[0]
    # a can in the pulled-out part of the tray, then the drawer closed with it inside
    can_open = _drawer_point(cab, 0.2, 0.08, 0.13)
    assert drawer_interior_contains(cab, 0.2, can_open)
    put = moved(open_, objects={"red_can": can_open})
    assert in_drawer("red can")(SCENE, start, put)[0]
    closed_with_can = moved(start, objects={"red_can": _drawer_point(cab, 0.0, 0.08, 0.13)})
    assert in_drawer("red can")(SCENE, start, closed_with_can)[0]
    # in front of the drawer on the floor, or on top of the cabinet: not in it
    assert not in_drawer("red can")(SCENE, start, moved(open_, objects={"red_can": _drawer_point(cab, 0.2, -0.08, 0.06)}))[0]
    assert not in_drawer("red can")(SCENE, start, moved(open_, objects={"red_can": _drawer_point(cab, 0.0, 0.1, 0.36)}))[0]


def test_pushed():
    start = start_state()
    x, y, z = start.objects["red can"]
    left = moved(start, objects={"red_can": [x, y + 0.09, z]})
    assert pushed("red can", "left")(SCENE, start, left)[0]
    assert not pushed("red can", "right")(SCENE, start, left)[0]
    ok, why = pushed("red can", "left")(SCENE, start, moved(start, objects={"red_can": [x, y + 0.09, 0.033]}))
    assert not ok and "fell over" in why
    # directions are in the robot's frame: facing +y, "left" is world -x
    turned = moved(start, base_pose=[0, 0, math.pi / 2], objects={"red_can": [x - 0.09, y, z]})
    start_turned = moved(start, base_pose=[0, 0, math.pi / 2])
    assert pushed("red can", "left")(SCENE, start_turned, turned)[0]


def test_every_core_task_fails_on_the_untouched_start_state():
    for spec in suite("core"):
        scene = spec.build_scene(5)
        start = start_state(scene)
        ok, why = spec.score(scene, start, start)
        assert not ok and why, spec.name


def test_task_spec_validation():
    with pytest.raises(UsageError, match="level"):
        TaskSpec("x", "do it", "impossible", drawer_open)
    with pytest.raises(UsageError, match="time_limit_s"):
        TaskSpec("x", "do it", "easy", drawer_open, time_limit_s=0)
