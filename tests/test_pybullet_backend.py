"""The PyBullet backend: grasping by contact and friction (never welded), the drawer pulled open by
its handle, RGB-D that agrees with MuJoCo's camera, separate clients per robot, `--sim` on the CLI
and one core task end to end. Placement and scoring use ORACLE poses, as tests may."""
import math
import os
import subprocess
import sys

os.environ.setdefault("MUJOCO_GL", "egl")  # the MuJoCo robot rendered beside it, offscreen

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from robomatrix.bench import tasks as bench  # noqa: E402
from robomatrix.cli.main import main  # noqa: E402
from robomatrix.hardware.robot import Action, make_robot  # noqa: E402
from robomatrix.perception.colors import CLASS_INDEX, classify  # noqa: E402
from robomatrix.sim.oracle_expert import OracleExpert  # noqa: E402
from robomatrix.sim.pybullet_render import depth_buffer_to_metres, pb  # noqa: E402
from robomatrix.sim.scene import build_scene  # noqa: E402


@pytest.fixture(scope="module")
def robot():
    with make_robot("pybullet", camera_width=32, camera_height=24) as r:
        yield r


def gripper_world_xy(state):
    x, y, yaw = state.base_pose
    return np.array([x + state.ee_position[0] * math.cos(yaw), y + state.ee_position[0] * math.sin(yaw)])


def pad_contacts_with(robot, body):
    """Which finger links touch `body` now."""
    w = robot.world
    pads = {w.links["left_finger_link"], w.links["right_finger_link"]}
    return {c[3] for c in pb.getContactPoints(w.robot, body, physicsClientId=robot.client)} & pads


def test_can_grasped_by_contact_rises_is_carried_and_falls_when_released(robot):
    robot.reset("pick", 0)
    expert = OracleExpert(robot)
    can = robot.world.objects["red can"]
    z0 = expert.oracle_object_position("red can")[2]  # ORACLE
    assert expert.pick("red can"), [(p.name, p.ok) for p in expert.log]
    assert expert.oracle_object_position("red can")[2] - z0 >= 0.05
    w = robot.world
    assert pad_contacts_with(robot, can) == {w.links["left_finger_link"], w.links["right_finger_link"]}
    assert 0.5 < robot.get_state().gripper_opening < 0.8  # fingers stopped on the can (0.033 of 0.05 m)

    expert.carry_for(1.0, velocity=(0.3, 0.2, 0.3))
    carried = expert.oracle_object_position("red can")
    assert carried[2] - z0 >= 0.05
    assert np.linalg.norm(carried[:2] - gripper_world_xy(robot.get_state())) < 0.02  # still between the fingers

    expert.open_gripper(1.0)
    assert expert.oracle_object_position("red can")[2] == pytest.approx(z0, abs=0.01)  # fell back down, upright
    assert not pad_contacts_with(robot, can)


def test_open_fingers_do_not_take_the_can_along(robot):
    robot.reset("pick", 0)
    expert = OracleExpert(robot)
    z0 = expert.oracle_object_position("red can")[2]
    assert expert.line_up("red can")
    expert._hold("reach open", Action((0, 0, 0), (0.32, 0.06), 1.0), 1.0)
    expert._hold("lift open", Action((0, 0, 0), (0.32, 0.24), 1.0), 1.5)
    assert robot.get_state().ee_position[1] == pytest.approx(0.24, abs=0.01)
    assert expert.oracle_object_position("red can")[2] == pytest.approx(z0, abs=0.01)


def test_nothing_is_welded_to_the_gripper(robot):
    robot.reset("office", 0)
    w, cid = robot.world, robot.client
    # The only constraint is the finger mimic, robot joint to robot joint.
    assert pb.getNumConstraints(physicsClientId=cid) == 1
    info = pb.getConstraintInfo(pb.getConstraintUniqueId(0, physicsClientId=cid), physicsClientId=cid)
    assert (info[0], info[2]) == (w.robot, w.robot) and info[4] == pb.JOINT_GEAR
    assert {info[1], info[3]} == {w.joints["left_finger_joint"], w.joints["right_finger_joint"]}
    for body in w.objects.values():  # free rigid bodies: no joints, no links
        assert pb.getNumJoints(body, physicsClientId=cid) == 0
        assert pb.getDynamicsInfo(body, -1, physicsClientId=cid)[0] > 0  # dynamic (mass > 0)


def test_drawer_opens_when_pulled_by_its_handle(robot):
    spec = build_scene("drawer", 1)
    robot.reset(spec)
    assert robot.oracle_drawer_opening() == pytest.approx(0.0, abs=1e-4)
    assert OracleExpert(robot).pull_drawer(spec.cabinet, pull_m=0.15)
    assert robot.oracle_drawer_opening() >= 0.10


def test_depth_buffer_conversion():
    near, far = 0.01, 20.0
    z = np.array([0.5, 1.0, 3.0])
    buffer = (far / (far - near)) * (1 - near / z)  # OpenGL depth of z-depths z
    assert depth_buffer_to_metres(np.append(buffer, 1.0), near, far) == pytest.approx([0.5, 1.0, 3.0, 0.0], rel=1e-4)


def _red_pixels(rgb):
    return classify(rgb) == CLASS_INDEX["red"]


def test_rgbd_agrees_with_the_mujoco_camera():
    frames = {}
    for name in ("mujoco", "pybullet"):
        with make_robot(name, camera_width=160, camera_height=120) as r:
            frames[name] = r.reset("pick", 2)
    pyb, muj = frames["pybullet"], frames["mujoco"]
    assert pyb.rgb.shape == (120, 160, 3) and pyb.rgb.dtype == np.uint8
    assert pyb.depth.shape == (120, 160) and pyb.depth.dtype == np.float32
    assert 0.1 < pyb.depth.min() and pyb.depth.max() < 3.0  # the floor everywhere, metres
    assert pyb.intrinsics == muj.intrinsics
    assert np.allclose(pyb.camera_pose_base, muj.camera_pose_base, atol=1e-4)
    # The optical axis hits the floor 0.40 / sin(50 deg) = 0.522 m away.
    assert pyb.depth[59:61, 79:81].mean() == pytest.approx(0.40 / math.sin(math.radians(50.0)), abs=0.01)
    red_p, red_m = _red_pixels(pyb.rgb), _red_pixels(muj.rgb)
    assert red_p.sum() > 30 and red_m.sum() > 30  # the detector's colour rule finds the can in both
    centre_p, centre_m = (np.argwhere(m).mean(axis=0) for m in (red_p, red_m))
    assert np.linalg.norm(centre_p - centre_m) < 4.0  # pixels: the same can at the same place
    assert 0.5 < red_p.sum() / red_m.sum() < 2.0
    v, u = np.round(centre_m).astype(int)
    assert pyb.depth[v, u] == pytest.approx(muj.depth[v, u], abs=0.02)


def test_robots_in_one_process_do_not_share_state():
    with make_robot("pybullet", camera_width=32, camera_height=24) as a, \
            make_robot("pybullet", camera_width=32, camera_height=24) as b:
        assert a.client != b.client
        a.reset("pick", 0)
        b.reset("drawer", 0)
        before = b.get_state().base_pose.copy()
        for _ in range(20):
            a.send_action(Action((0.5, 0.0, 0.0)))
            a.advance(0.05)
        assert a.get_state().base_pose[0] > 0.2
        assert np.array_equal(b.get_state().base_pose, before) and b.sim_time_s == 0.0
        assert set(a.oracle_object_poses()) == {"red can"} and b.oracle_object_poses() == {}


def test_unknown_sim_exits_2_with_a_suggestion(capsys):
    code = main(["run", "open the drawer", "--sim", "pybulet"])
    err = capsys.readouterr().err
    assert code == 2 and "Did you mean 'pybullet'" in err and len(err.strip().splitlines()) == 1


def test_a_core_task_completes_on_pybullet():
    cfg = bench.BenchConfig(sim="pybullet", tasks=("pick_up_yellow",), episodes=1, seed=0,
                            camera_width=160, camera_height=120)
    result = bench.run_task_bench(cfg, progress=False)
    assert result["sim"] == "pybullet"
    assert result["per_task"]["pick_up_yellow"]["successes"] == 1, result["failures"]  # ORACLE-scored


def test_oracle_disturbances_move_things_as_on_mujoco(robot):
    robot.reset("office", 0)
    robot.oracle_place_object("red can", 0.5, 0.3, 0.2)  # ORACLE: the perturbation suite's hooks
    robot.oracle_set_drawer_opening(0.1)
    robot.advance(0.5)
    assert robot.oracle_object_poses()["red can"][:3] == pytest.approx([0.5, 0.3, 0.06], abs=0.005)
    assert robot.oracle_drawer_opening() == pytest.approx(0.1, abs=0.005)  # damped, no spring: stays


def test_pybullet_banners_stay_off_stdout():
    # PyBullet and its renderer plugin print from C (import, first frame, teardown at exit); a
    # `--json` command must still print exactly its object on stdout.
    code = ("from robomatrix.hardware.robot import make_robot\n"
            "r = make_robot('pybullet', camera_width=32, camera_height=24)\n"
            "r.connect(); r.reset('empty'); r.get_observation()\n"
            "print('{\"ok\": true}')\n")  # left connected: closed at exit
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == '{"ok": true}\n'


def test_hardware_node_drives_the_pybullet_robot():
    import time

    from robomatrix import comm
    from robomatrix.hardware.hardware_node import HardwareNode
    from robomatrix.msgs import Image, Odometry, Twist

    ctx = comm.Context(transport="inproc")
    hw = HardwareNode(context=ctx, parameter_overrides={"backend": "pybullet", "camera_width": 96,
                                                        "camera_height": 72, "scene": "pick"})
    drv = comm.Node("driver", context=ctx)
    odom, images = [], []
    drv.create_subscription(Odometry, "/odom", odom.append, 100)
    drv.create_subscription(Image, "/camera/color/image_raw", images.append, comm.QOS_SENSOR_DATA)
    pub = drv.create_publisher(Twist, "/cmd_vel", 10)
    executor = comm.Executor([hw, drv])
    try:
        cmd = Twist()
        cmd.linear.x = 0.3
        t_end = time.monotonic() + 5.0  # real time: the busy shared CPU renders slowly
        while time.monotonic() < t_end and not (len(odom) > 5 and images and odom[-1].pose.pose.position.x > 0.02):
            pub.publish(cmd)
            executor.spin_once(timeout_sec=0.02)
        assert images and (images[-1].width, images[-1].height) == (96, 72)
        assert odom[-1].pose.pose.position.x > odom[0].pose.pose.position.x + 0.02  # drove forward
    finally:
        executor.shutdown()
        hw.destroy_node()
        drv.destroy_node()
        ctx.shutdown()
