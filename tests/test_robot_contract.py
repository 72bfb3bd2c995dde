"""The Robot contract: safety clipping, stop(), registry errors, determinism, metric depth."""
import math

import numpy as np
import pytest

from robomatrix.errors import RoboMatrixError, UsageError
from robomatrix.hardware.kinematics import project, transform_points
from robomatrix.hardware.robot import (
    Action,
    RobotConfig,
    SimulatedRobot,
    clip_action,
    make_robot,
    robot_names,
)
from robomatrix.sim.scene import ObjectSpec, SceneSpec

CFG = RobotConfig()  # 1 m/s, 2 rad/s, 3 m/s^2, 8 rad/s^2, period 0.02 s, x 0.18..0.42, z 0.03..0.30


# ------------------------------------------------------------------ pure clipping
def test_velocity_limit_keeps_direction():
    a = clip_action(Action((3.0, 4.0, 5.0)), CFG, dt_s=10.0)  # acceleration not binding over 10 s
    assert a.base_velocity == pytest.approx((0.6, 0.8, 2.0))  # |(3,4)| = 5 → scaled to 1; wz clamped to 2


def test_acceleration_limit_from_previous_velocity():
    a = clip_action(Action((3.0, 4.0, 5.0)), CFG)  # dt = 0.02 s: dv ≤ 0.06 m/s, dw ≤ 0.16 rad/s
    assert a.base_velocity == pytest.approx((0.036, 0.048, 0.16))
    b = clip_action(Action((0.0, 0.0, -1.0)), CFG, previous_base_velocity=(0.5, 0.0, 0.0), dt_s=0.1)
    assert b.base_velocity == pytest.approx((0.2, 0.0, -0.8))  # 0.5 - 3*0.1 ; 0 - 8*0.1
    c = clip_action(Action((0.5, 0.0, 0.0)), CFG, previous_base_velocity=(0.5, 0.0, 0.0))
    assert c.base_velocity == pytest.approx((0.5, 0.0, 0.0))


def test_workspace_and_gripper_clamping():
    a = clip_action(Action(arm_target=(0.5, -0.1), gripper=1.5), CFG)
    assert a.arm_target == pytest.approx((0.42, 0.03)) and a.gripper == 1.0
    b = clip_action(Action(arm_target=(0.3, 0.2), gripper=-0.2), CFG)
    assert b.arm_target == pytest.approx((0.3, 0.2)) and b.gripper == 0.0


def test_non_finite_commands_never_reach_the_motors():
    a = clip_action(Action((math.nan, math.inf, 0.1), arm_target=(math.nan, 0.1), gripper=math.nan), CFG, dt_s=1.0)
    assert a.base_velocity == pytest.approx((0.0, 0.0, 0.1))
    assert a.arm_target is None and a.gripper is None  # hold


def test_config_validation_names_the_field():
    with pytest.raises(UsageError, match="base_velocity_limit_mps"):
        RobotConfig(base_velocity_limit_mps=-1.0)
    with pytest.raises(UsageError, match="arm_x_range_m"):
        RobotConfig(arm_x_range_m=(0.4, 0.2))
    with pytest.raises(UsageError, match="camera_width"):
        make_robot("mujoco", camera_width=3)


def test_unknown_backend_and_setting_suggest_the_closest_name():
    assert {"mujoco", "pybullet"} <= set(robot_names())
    with pytest.raises(UsageError, match="Did you mean 'mujoco'"):
        make_robot("mujuco")
    with pytest.raises(UsageError, match="Did you mean 'camera_width'"):
        make_robot("mujoco", camera_widht=64)


# ------------------------------------------------------------------ every simulator backend
SIM_BACKENDS = ("mujoco", "pybullet")


@pytest.fixture(scope="module", params=SIM_BACKENDS)
def robot(request):
    with make_robot(request.param, camera_width=160, camera_height=120) as r:
        yield r


def test_backend_applies_and_reports_clipping(robot):
    robot.reset("empty", 0)
    first = robot.send_action(Action((2.0, 0.0, 0.0), arm_target=(1.0, 0.5), gripper=2.0))
    assert first.base_velocity == pytest.approx((0.06, 0.0, 0.0))  # 3 m/s^2 * 0.02 s
    assert first.arm_target == pytest.approx((0.42, 0.30)) and first.gripper == 1.0
    robot.advance(0.1)
    second = robot.send_action(Action((2.0, 0.0, 0.0)))
    assert second.base_velocity == pytest.approx((0.36, 0.0, 0.0))  # + 3 m/s^2 * 0.1 s elapsed
    for _ in range(100):  # 2 s at the limit
        robot.send_action(Action((2.0, 0.0, 0.0)))
        robot.advance(0.02)
    state = robot.get_state()
    assert state.base_velocity[0] == pytest.approx(1.0, abs=0.03)  # measured speed at the 1 m/s limit
    assert state.ee_position == pytest.approx([0.42, 0.30], abs=0.005)


def test_base_frame_velocity_follows_the_heading(robot):
    robot.reset(SceneSpec(name="turned", robot_start=(0.0, 0.0, math.pi / 2)))
    for _ in range(50):
        robot.send_action(Action((0.3, 0.0, 0.0)))
        robot.advance(0.02)
    state = robot.get_state()
    assert state.base_pose[2] == pytest.approx(math.pi / 2, abs=0.01)
    assert abs(state.base_pose[0]) < 0.01 and state.base_pose[1] > 0.2  # forward is world +y
    assert state.base_velocity == pytest.approx([0.3, 0.0, 0.0], abs=0.01)  # reported in the base frame


def test_stop_zeroes_the_base_and_holds_arm_and_gripper(robot):
    robot.reset("empty", 0)
    for _ in range(40):
        robot.send_action(Action((0.5, 0.2, 0.5), arm_target=(0.40, 0.25), gripper=0.0))
        robot.advance(0.02)
    robot.stop()
    held = robot.get_state()
    robot.advance(0.5)
    after = robot.get_state()
    assert np.abs(after.base_velocity).max() < 0.01
    assert after.ee_position == pytest.approx(held.ee_position, abs=0.01)  # no further travel to (0.40, 0.25)
    assert after.gripper_opening <= held.gripper_opening + 1e-3


def test_reset_is_deterministic_by_seed(robot):
    def run(seed):
        obs = robot.reset("office", seed)
        for i in range(30):
            robot.send_action(Action((0.4, 0.1 * math.sin(i), 0.3), arm_target=(0.3, 0.1)))
            robot.advance(0.02)
        return obs.rgb, robot.oracle_object_poses(), robot.get_state().base_pose  # ORACLE for comparison

    rgb_a, poses_a, base_a = run(3)
    rgb_b, poses_b, base_b = run(3)
    assert np.array_equal(rgb_a, rgb_b) and np.array_equal(base_a, base_b)
    assert all(np.array_equal(poses_a[k], poses_b[k]) for k in poses_a)
    _, poses_c, _ = run(4)
    assert any(not np.allclose(poses_a[k][:2], poses_c[k][:2]) for k in poses_a)


def test_depth_is_metric_and_intrinsics_match_the_render(robot):
    cube = ObjectSpec(name="blue cube", shape="cube", color_name="blue", rgba=(0.1, 0.2, 0.9, 1.0),
                      size=(0.08,), pose=(0.65, 0.05, 0.0))
    obs = robot.reset(SceneSpec(name="probe", objects=[cube]))
    k = obs.intrinsics
    assert k.fy == pytest.approx(60.0 / math.tan(math.radians(35.0)))  # fovy 70 at 120 px
    assert (k.cx, k.cy) == pytest.approx((79.5, 59.5))
    base_to_cam = np.linalg.inv(obs.camera_pose_base)
    top_centre_cam = transform_points(base_to_cam, [[0.65, 0.05, 0.08]])[0]
    u, v = np.round(project([top_centre_cam], k)[0]).astype(int)
    assert obs.depth[v, u] == pytest.approx(top_centre_cam[2], abs=0.01)  # known object, known distance
    r, g, b = obs.rgb[v, u].astype(int)
    assert b > 100 and b > r + 40 and b > g + 30, (r, g, b)  # the cube is where the intrinsics put it
    # The optical axis hits the floor 0.40 / sin(50 deg) = 0.522 m away.
    centre = obs.depth[59:61, 79:81].mean()
    assert centre == pytest.approx(0.40 / math.sin(math.radians(50.0)), abs=0.01)


@pytest.mark.parametrize("backend", SIM_BACKENDS)
def test_get_state_does_not_render_and_needs_a_connection(backend):
    r = make_robot(backend, camera_width=32, camera_height=24)
    assert isinstance(r, SimulatedRobot) and not r.is_connected
    with pytest.raises(RoboMatrixError, match="not connected"):
        r.reset("empty")
    with r:
        r.reset("empty")
        state = r.get_state()
        assert state.rgb is None and state.depth is None and state.stamp_s == 0.0
    assert not r.is_connected
