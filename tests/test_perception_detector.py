"""ColorShapeDetector on rendered MuJoCo frames, scored against the ORACLE (ground truth, tests only)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from robomatrix.bench.perception import oracle_references, visible
from robomatrix.hardware.kinematics import world_to_base_point
from robomatrix.hardware.robot import Action, make_robot
from robomatrix.perception import ColorShapeDetector, camera_pose_base
from robomatrix.perception.robot_model import RobotGeometry
from robomatrix.perception.shapes import (
    box_centre_xy,
    cylinder_axis_xy,
    fit_circle_fixed_radius,
    top_disk_axis_xy,
)

WIDTH, HEIGHT = 320, 240


@pytest.fixture(scope="module")
def robots():
    """One connected robot per camera size (320x240 here, 160x120 as the skill runner uses)."""
    made = {}

    def get(width=WIDTH, height=HEIGHT):
        if (width, height) not in made:
            made[(width, height)] = make_robot("mujoco", camera_width=width, camera_height=height)
            made[(width, height)].connect()
        return made[(width, height)]

    yield get
    for r in made.values():
        r.disconnect()


@pytest.fixture(scope="module")
def robot(robots):
    return robots()


@pytest.fixture(scope="module")
def detector():
    return ColorShapeDetector()


@pytest.mark.parametrize("seed, width", [(0, 320), (3, 320), (7, 160), (11, 160), (5, 640)])
def test_finds_every_visible_can_with_its_colour_and_position(robots, detector, seed, width):
    robot = robots(width, width * 3 // 4)
    obs = robot.reset("office", seed=seed)
    found = {p.name: p for p in detector.perceive(obs)}
    refs = oracle_references(robot)  # ORACLE: scoring only
    checked = 0
    for name, (kind, ref_world, samples) in refs.items():
        if kind != "can" or not visible(samples, obs):
            continue
        assert name in found, f"seed {seed}: {name} is in view but not detected (found {sorted(found)})"
        err = np.linalg.norm(found[name].position_base - world_to_base_point(ref_world, obs.base_pose))
        assert err < 0.03, f"seed {seed}: {name} off by {err:.3f} m"
        checked += 1
    assert checked >= 2, "the start view should show at least two cans"
    for name, p in found.items():  # nothing invented: every detection is a real object near its place
        assert name in refs
        ref = world_to_base_point(refs[name][1], obs.base_pose)
        assert np.linalg.norm(p.position_base - ref) < 0.15, f"{name} detected far from where it is"


@pytest.mark.parametrize("seed", [1, 4])
def test_containers_and_drawer_positions(robot, detector, seed):
    obs = robot.reset("office", seed=seed)
    found = {p.name: p for p in detector.perceive(obs)}
    refs = oracle_references(robot)  # ORACLE
    for name in ("box", "bin", "drawer"):
        if name in found:
            ref = world_to_base_point(refs[name][1], obs.base_pose)
            assert np.linalg.norm(found[name].position_base - ref) < 0.05, name
    if "drawer" in found and found["drawer"].extras.get("opening_m") is not None:
        assert found["drawer"].extras["opening_m"] < 0.03  # scenes start with the drawer closed


def test_drawer_scene_handle_and_pull_direction(robot, detector):
    obs = robot.reset("drawer", seed=2)
    found = {p.name: p for p in detector.perceive(obs)}
    assert "drawer" in found
    cab = robot.scene.cabinet  # ORACLE: scene spec, scoring only
    ref = world_to_base_point(cab.handle_position(0.0), obs.base_pose)
    assert np.linalg.norm(found["drawer"].position_base - ref) < 0.03
    yaw = found["drawer"].yaw_base
    assert yaw is not None and abs(math.remainder(yaw - (cab.pose[2] - obs.base_pose[2]), 2 * math.pi)) < 0.15


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_empty_scene_has_no_detections_whatever_the_arm_does(robot, detector, seed):
    robot.reset("empty", seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(3):
        robot.send_action(Action(arm_target=(float(rng.uniform(0.18, 0.42)), float(rng.uniform(0.03, 0.3))),
                                 gripper=float(rng.uniform(0, 1))))
        robot.advance(1.0)
        obs = robot.get_observation()
        assert detector.detect(obs) == [], f"robot-only frame produced detections (arm {obs.ee_position})"


def test_two_lookalike_cans_are_two_detections_each_at_its_place(robot, detector):
    obs = robot.reset("office_perturb", seed=0)
    poses = robot.oracle_object_poses()  # ORACLE: placing the look-alike and scoring only
    bx, by, yaw = obs.base_pose
    ahead = np.array([bx + 0.75 * math.cos(yaw), by + 0.75 * math.sin(yaw)])
    side = 0.11 * np.array([-math.sin(yaw), math.cos(yaw)])
    for name, xy in (("blue can", ahead + side), ("decoy blue can", ahead - side)):
        robot.oracle_place_object(name, float(xy[0]), float(xy[1]))
    robot.advance(0.3)
    obs = robot.get_observation()
    poses = robot.oracle_object_poses()
    blue = [p for p in detector.perceive(obs) if p.name == "blue can"]
    assert len(blue) == 2, f"two blue cans 0.22 m apart in view, found {len(blue)}"
    for name in ("blue can", "decoy blue can"):
        ref = world_to_base_point(np.asarray(poses[name][:3], float), obs.base_pose)
        assert min(np.linalg.norm(p.position_base - ref) for p in blue) < 0.03, name


def test_urdf_camera_extrinsics_match_the_simulator(robot):
    obs = robot.reset("empty", seed=0)
    np.testing.assert_allclose(camera_pose_base(), obs.camera_pose_base, atol=1e-9)
    t = camera_pose_base()
    np.testing.assert_allclose(t[:3, 3], [0.06, 0.0, 0.40], atol=1e-9)
    # Optical z axis pitched 50 degrees below the horizon, looking forward.
    z_axis = t[:3, 2]
    assert math.degrees(math.atan2(-z_axis[2], z_axis[0])) == pytest.approx(50.0, abs=1e-3)


def test_self_mask_covers_the_gripper_pads_where_the_arm_is():
    geo = RobotGeometry()
    pad = np.array([[0.30, 0.05 * 0.8 + 0.005, 0.10]])  # left pad with the gripper 80 % open
    assert geo.mask_points(pad, (0.30, 0.10), 0.8, margin_m=0.0)[0]
    assert not geo.mask_points(pad, (0.30, 0.20), 0.8, margin_m=0.0)[0]
    between = np.array([[0.30, 0.0, 0.10]])  # a held can's axis is not the robot
    assert not geo.mask_points(between, (0.30, 0.10), 0.8)[0]


def test_circle_and_cylinder_fits_recover_centres():
    rng = np.random.default_rng(0)
    centre, r = np.array([0.7, -0.2]), 0.033
    cam = np.array([0.06, 0.0])
    view = (centre - cam) / np.linalg.norm(centre - cam)
    base_angle = math.atan2(-view[1], -view[0])  # the side facing the camera
    a = base_angle + rng.uniform(-1.3, 1.3, 80)
    xy = centre + r * np.stack([np.cos(a), np.sin(a)], axis=1) + rng.normal(0, 0.0005, (80, 2))
    np.testing.assert_allclose(fit_circle_fixed_radius(xy, r, xy.mean(axis=0) + 0.02 * view), centre, atol=0.003)
    pts = np.column_stack([xy, np.full(80, 0.06)])
    np.testing.assert_allclose(cylinder_axis_xy(pts, cam, r), centre, atol=0.003)


def test_top_disk_axis_from_a_can_top_whose_near_part_is_hidden():
    """Only the flat top of a can is seen, its near part behind the fingers: the far edge fixes the axis;
    the side-surface rule would put it ~4 cm too far."""
    centre, r, cam = np.array([0.21, 0.01]), 0.033, np.array([0.06, 0.0])
    grid = np.stack(np.meshgrid(np.arange(-r, r, 0.002), np.arange(-r, r, 0.002)), -1).reshape(-1, 2)
    disk = centre + grid[np.linalg.norm(grid, axis=1) <= r]  # the top as depth pixels see it: a 2 mm grid
    view = (centre - cam) / np.linalg.norm(centre - cam)
    seen = disk[(disk - centre) @ view > 0.01]  # the near part hidden
    pts = np.column_stack([seen, np.full(len(seen), 0.121)])
    np.testing.assert_allclose(top_disk_axis_xy(pts, cam, r), centre, atol=0.004)
    assert np.linalg.norm(cylinder_axis_xy(pts, cam, r) - centre) > 0.03


def test_can_just_pushed_and_hidden_in_part_by_the_fingers_is_placed_where_it_is(robots, detector):
    """After a scripted forward push the can stands ~0.21 m ahead, only its top seen above the fingers
    (seed 1006 of the skill bench): the detector places it within 1.5 cm of the ORACLE (it was 4.4 cm
    too far before the top-only rule, and a push that moved the can 1.3 cm passed as 5 cm)."""
    from robomatrix.bench.policy import run_skill_scenario

    robot = robots(160, 120)
    assert run_skill_scenario(robot, "push", 6, 1006, "scripted")["success"]
    obs = robot.get_observation()
    seen = {p.name: p for p in detector.perceive(obs)}
    assert "red can" in seen and seen["red can"].partial
    truth = world_to_base_point(robot.oracle_object_poses()["red can"][:3], obs.base_pose)
    assert truth[0] < 0.25  # close in front, under the camera's view of the fingers
    assert np.linalg.norm(seen["red can"].position_base[:2] - truth[:2]) < 0.015


def test_box_centre_moves_away_from_camera_when_only_the_near_part_is_seen():
    # Only the near half of a 0.26 x 0.22 box seen: the estimate must move back, not stay in front.
    xs, ys = np.meshgrid(np.linspace(0.77, 0.90, 14), np.linspace(-0.11, 0.11, 12))
    pts = np.column_stack([xs.ravel(), ys.ravel(), np.full(xs.size, 0.1)])
    centre, yaw, seen = box_centre_xy(pts, (0.06, 0.0), (0.26, 0.22))
    assert centre[0] > 0.86  # the seen part's own centre is 0.835
    assert np.linalg.norm(centre - [0.9, 0.0]) < 0.035
