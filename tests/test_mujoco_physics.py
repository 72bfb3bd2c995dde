"""Contact-and-friction physics: a grasped can rises with the gripper, stays in hand while the base
drives, and falls when the gripper opens; a drawer pulled by its handle opens. Placement and
scoring use ORACLE poses (ground truth), as tests and expert demonstrations may."""
import math
import os

os.environ.setdefault("MUJOCO_GL", "egl")  # before mujoco is imported: offscreen rendering, no display

import mujoco  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from robomatrix.hardware.robot import Action, make_robot  # noqa: E402
from robomatrix.sim.mujoco_model import body_name  # noqa: E402
from robomatrix.sim.oracle_expert import OracleExpert, oracle_in_container  # noqa: E402
from robomatrix.sim.scene import build_scene  # noqa: E402


@pytest.fixture(scope="module")
def robot():
    with make_robot("mujoco", camera_width=32, camera_height=24) as r:
        yield r


def gripper_world_xyz(state):
    x, y, yaw = state.base_pose
    gx, gz = state.ee_position
    return np.array([x + gx * math.cos(yaw), y + gx * math.sin(yaw), gz])


def pad_contacts_with(robot, geom_name):
    m, d = robot.model, robot.data
    pads = {m.geom("left_pad").id, m.geom("right_pad").id}
    target = m.geom(geom_name).id
    pairs = [{int(c.geom1), int(c.geom2)} for c in d.contact[: d.ncon]]
    return {p for pair in pairs if target in pair for p in pair & pads}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_can_grasped_by_contact_rises_stays_in_hand_and_falls_when_released(robot, seed):
    robot.reset("pick", seed)
    expert = OracleExpert(robot)
    z0 = expert.oracle_object_position("red can")[2]  # ORACLE
    assert expert.pick("red can"), [(p.name, p.ok) for p in expert.log]
    lifted = expert.oracle_object_position("red can")
    assert lifted[2] - z0 >= 0.05
    assert pad_contacts_with(robot, "red_can") == {robot.model.geom("left_pad").id, robot.model.geom("right_pad").id}
    assert robot.get_state().gripper_opening > 0.5  # fingers stopped on the can (0.033 of 0.05 m), not closed

    expert.carry_for(1.0, velocity=(0.3, 0.2, 0.3))  # 1 s of driving and turning with the can in hand
    state = robot.get_state()
    carried = expert.oracle_object_position("red can")
    assert carried[2] - z0 >= 0.05
    assert np.linalg.norm(carried[:2] - gripper_world_xyz(state)[:2]) < 0.02  # still between the fingers

    expert.open_gripper(1.0)
    dropped = expert.oracle_object_position("red can")
    assert dropped[2] == pytest.approx(z0, abs=0.01)  # fell back to the floor (upright)
    assert not pad_contacts_with(robot, "red_can")


def test_pick_and_place_into_the_box(robot):
    spec = build_scene("pick", 7)
    robot.reset(spec)
    expert = OracleExpert(robot)
    assert expert.pick("red can") and expert.place(spec.container("box").pose[:2])
    assert oracle_in_container(expert.oracle_object_position("red can"), spec.container("box"))


@pytest.mark.parametrize("seed", [0, 1])
def test_drawer_opens_when_pulled_by_its_handle(robot, seed):
    spec = build_scene("drawer", seed)
    robot.reset(spec)
    assert robot.oracle_drawer_opening() == pytest.approx(0.0, abs=1e-6)
    assert OracleExpert(robot).pull_drawer(spec.cabinet, pull_m=0.15)
    assert robot.oracle_drawer_opening() >= 0.10


def test_objects_are_only_held_by_contact(robot):
    robot.reset("office", 0)
    m = robot.model
    gripper_bodies = {m.body(n).id for n in ("arm_lift_link", "left_finger_link", "right_finger_link")}
    object_bodies = {m.body(body_name(o.name)).id for o in robot.scene.objects}
    for i in range(m.neq):  # the only equality is the finger mimic (joint ↔ joint)
        assert m.eq_type[i] == mujoco.mjtEq.mjEQ_JOINT
        assert {m.jnt_bodyid[m.eq_obj1id[i]], m.jnt_bodyid[m.eq_obj2id[i]]} <= gripper_bodies
    for b in object_bodies:  # free bodies hanging off the world, nothing else
        assert m.body_parentid[b] == 0 and m.body_jntnum[b] == 1
        assert m.jnt_type[m.body_jntadr[b]] == mujoco.mjtJoint.mjJNT_FREE
        assert m.body_weldid[b] == b and m.body_mocapid[b] == -1
    assert m.ntendon == 0 and m.nflex == 0


def test_open_fingers_do_not_take_the_can_along(robot):
    # Control experiment: the same motion with the gripper left open leaves the can on the floor,
    # so nothing but the fingers' grip lifts it.
    robot.reset("pick", 0)
    expert = OracleExpert(robot)
    z0 = expert.oracle_object_position("red can")[2]
    assert expert.line_up("red can")
    expert._hold("reach open", Action((0, 0, 0), (0.32, 0.06), 1.0), 1.0)
    expert._hold("lift open", Action((0, 0, 0), (0.32, 0.24), 1.0), 1.5)
    assert robot.get_state().ee_position[1] == pytest.approx(0.24, abs=0.01)
    assert expert.oracle_object_position("red can")[2] == pytest.approx(z0, abs=0.01)


@pytest.mark.parametrize("scene_name, seed, can", [("pick", 1022, "red can"), ("office", 53, "red can")])
def test_cans_stand_still_after_the_scene_starts(robot, scene_name, seed, can):
    """A can placed exactly flush on the floor plane got a phantom 12 mm deep contact from MuJoCo's
    plane-cylinder collider a few steps in and was thrown over (these two of 340 scene cans; the push
    bench's seed 1022 failed on it): objects now start 1 mm up and settle. ORACLE poses (a test)."""
    robot.reset(scene=build_scene(scene_name, seed), seed=seed)
    start = robot.oracle_object_poses()[can][:3].copy()
    robot.advance(0.8)
    end = robot.oracle_object_poses()[can][:3]
    assert end[2] > 0.055, f"the {can} fell over: centre {end[2]:.3f} m up"
    assert np.hypot(*(end[:2] - start[:2])) < 0.005
