"""The perturbation suite: disturbances injected by the simulator (ORACLE) at the moment the
executive's announcements call for, and one real episode where a disturbance fires and the
executive recovers through camera perception."""
from __future__ import annotations

import math

import numpy as np
import pytest

from robomatrix.errors import UsageError
from robomatrix.executive import StepRecord
from robomatrix.hardware.robot import make_robot
from robomatrix.messages import ExecutiveStatus, Plan, SkillCall, SkillFeedback
from robomatrix.sim.perturb import PERTURBATIONS, SUITE_TASKS, Perturber
from robomatrix.sim.scenes import PARK_X_M, decoy_name, office_perturb
from robomatrix.sim.tasks import CORE, suite


@pytest.fixture(scope="module")
def robot():
    with make_robot("mujoco", camera_width=64, camera_height=48) as r:
        yield r


def announce(p: Perturber, steps, index, elapsed_s=2.0, robot=None):
    """Tell the perturber that step `index` runs and has been running `elapsed_s`."""
    plan = Plan("task", [SkillCall(s, a) for s, a in steps])
    p.on_plan(plan)
    p.on_status(ExecutiveStatus(state="executing", step_index=index))
    robot.advance(elapsed_s)
    p.on_feedback(SkillFeedback(goal_id="g", skill=steps[index][0], progress=0.5, elapsed_s=elapsed_s))


def test_the_suite_covers_every_perturbation_on_core_tasks():
    tasks = suite("perturb")
    assert {t.perturbation for t in tasks} == set(PERTURBATIONS) == set(SUITE_TASKS)
    core = {t.name: t for t in CORE}
    for t in tasks:
        base = core[t.name.split("+")[0]]
        assert t.scene == "office_perturb" and t.instruction == base.instruction and t.success is base.success
    with pytest.raises(UsageError, match="Did you mean 'hidden'"):
        Perturber("hiden", None)


def test_parked_items_wait_far_behind_the_robot():
    scene = office_perturb(4)
    parked = [o for o in scene.objects if o.pose[0] == PARK_X_M]
    assert {o.name for o in parked} == {"post", *(decoy_name(c) for c in ("red", "green", "blue", "yellow"))}
    assert all(o.pose[0] > 0 for o in scene.objects if o not in parked)
    decoy = scene.object("decoy red can")
    assert decoy.shape == "can" and decoy.color_name == "red" and decoy.size == scene.object("red can").size


def test_drawer_shut_strikes_during_the_step_after_open_drawer(robot):
    robot.reset("office_perturb", 2)
    robot.oracle_set_drawer_opening(0.2)
    p = Perturber("drawer_shut", robot)
    steps = [("open_drawer", {}), ("move_to", {"object": "blue can"})]
    announce(p, steps, 0, robot=robot)  # during open_drawer: nothing
    assert not p.fired and robot.oracle_drawer_opening() > 0.15
    p.on_step(StepRecord(index=0, skill="open_drawer", args={}, success=True, duration_s=10.0))
    announce(p, steps, 1, elapsed_s=0.6, robot=robot)
    assert p.fired == "pushed the drawer shut during move_to" and robot.oracle_drawer_opening() < 0.01


def test_object_moved_after_move_to_lands_clear_and_in_view(robot):
    robot.reset("office_perturb", 3)
    before = robot.oracle_object_poses()["green can"][:3].copy()
    p = Perturber("object_moved", robot, seed=3)
    p.on_step(StepRecord(index=0, skill="move_to", args={"object": "green can"}, success=True, duration_s=3.0))
    robot.advance(0.5)
    after = robot.oracle_object_poses()["green can"][:3]
    shift = float(np.hypot(*(after[:2] - before[:2])))
    assert p.fired.startswith("moved the green can") and shift >= 0.18
    assert abs(after[2] - 0.06) < 0.01  # upright on the floor, at rest
    x, y, yaw = robot.get_state().base_pose
    bx = math.cos(yaw) * (after[0] - x) + math.sin(yaw) * (after[1] - y)
    by = -math.sin(yaw) * (after[0] - x) + math.cos(yaw) * (after[1] - y)
    assert 0.4 < bx < 0.7 and abs(math.degrees(math.atan2(by, bx))) <= 35
    for name, pose in robot.oracle_object_poses().items():
        if name != "green can" and pose[0] > PARK_X_M + 1:
            assert np.hypot(*(pose[:2] - after[:2])) > 0.12


def test_container_moved_is_scored_where_it_went_and_undone_by_reset(robot):
    robot.reset("office_perturb", 5)
    scene = robot.scene
    body = robot.model.body("box").id
    start = robot.model.body_pos[body].copy()
    p = Perturber("container_moved", robot, seed=5)
    steps = [("position_over", {"object": "red can", "target": "box"})]
    announce(p, steps, 0, elapsed_s=1.2, robot=robot)
    assert p.fired.startswith("moved the box")
    moved = robot.model.body_pos[body][:2]
    assert 0.25 <= float(np.hypot(*(moved - start[:2]))) <= 0.4 + 1e-9
    scored = p.scored_scene(scene)
    np.testing.assert_allclose(scored.container("box").pose[:2], moved)
    assert scored.container("bin") == scene.container("bin") and scene.container("box").pose[:2] == tuple(start[:2])
    robot.reset("office_perturb", 5)
    np.testing.assert_allclose(robot.model.body_pos[body], start)


def test_hidden_post_stands_between_robot_and_can_then_leaves(robot):
    robot.reset("office_perturb", 1)
    p = Perturber("hidden", robot)
    poses = robot.oracle_object_poses()
    far = max((n for n in poses if n.endswith(" can") and not n.startswith("decoy")),
              key=lambda n: float(np.hypot(*poses[n][:2])))
    announce(p, [("move_to", {"object": far})], 0, elapsed_s=0.4, robot=robot)
    assert p.fired.startswith(f"stood a post between the robot and the {far}")
    post, can = robot.oracle_object_poses()["post"][:2], poses[far][:2]
    # on the line from the robot (at the origin) to the can, between them
    assert abs(can[0] * post[1] - can[1] * post[0]) / np.hypot(*can) < 0.02 and 0 < post @ can < can @ can
    robot.advance(6.5)
    p.on_feedback(SkillFeedback(goal_id="g", skill="move_to", progress=0.5, elapsed_s=7.0))
    assert robot.oracle_object_poses()["post"][0] < PARK_X_M + 0.5


@pytest.mark.slow
def test_a_can_moved_after_move_to_is_found_again_and_grasped():
    """A real episode: camera perception, scripted skills, the rule planner; the blue can is moved
    aside after move_to reached it; the executive goes back to move_to and grasps it there."""
    from robomatrix.bench.tasks import BenchConfig, run_episode

    row = run_episode(BenchConfig(suite="perturb", episodes=1, camera_width=160, camera_height=120),
                      "grasp_blue+object_moved", 1)
    assert row["perturbed"].startswith("moved the blue can")
    assert row["success"] and row["outcome"] == "succeeded", row
    assert row["backtracks"] + row["replans"] >= 1


def test_a_task_done_with_the_look_alike_counts_and_says_so():
    from robomatrix.sim.tasks import OracleState, task

    scene = office_perturb(0)
    spec = task("grasp_blue+distractor", "perturb")

    def state(blue, decoy, opening):
        return OracleState(objects={"blue can": np.array(blue), "decoy blue can": np.array(decoy)}, drawer_opening_m=0.0,
                           base_pose=np.zeros(3), ee_position=np.array([0.3, 0.1]), gripper_opening=opening)

    start = state([0.8, 0.0, 0.06], [0.9, 0.2, 0.06], 1.0)
    p = Perturber("distractor", None)
    held_decoy = state([0.8, 0.0, 0.06], [0.3, 0.0, 0.1], 0.5)
    assert not p.score(spec, scene, start, held_decoy)[0]  # no look-alike was put down: only the blue can counts
    p._decoy = ("blue can", "decoy blue can")
    ok, why = p.score(spec, scene, start, held_decoy)
    assert ok and why.endswith("(done with the look-alike can)")
    ok, why = p.score(spec, scene, start, state([0.3, 0.0, 0.1], [0.9, 0.2, 0.06], 0.5))
    assert ok and "look-alike" not in why
    assert not p.score(spec, scene, start, state([0.8, 0.0, 0.06], [0.9, 0.2, 0.06], 1.0))[0]


def test_knocked_out_puts_the_carried_can_on_the_floor_near_the_robot(robot):
    robot.reset("office_perturb", 6)
    p = Perturber("knocked_out", robot, seed=6)
    steps = [("position_over", {"object": "yellow can", "target": "bin"})]
    announce(p, steps, 0, elapsed_s=1.0, robot=robot)
    assert not p.fired  # not yet carried long enough
    announce(p, steps, 0, elapsed_s=1.6, robot=robot)
    assert p.fired.startswith("knocked the yellow can out of the gripper onto the floor")
    can = robot.oracle_object_poses()["yellow can"][:3]
    x, y, _ = robot.get_state().base_pose
    assert 0.4 < float(np.hypot(can[0] - x, can[1] - y)) < 0.85 and abs(can[2] - 0.06) < 0.01
