"""Skill layer without a simulator: policy registry, server goal checks, controller geometry."""
from __future__ import annotations

import math

import numpy as np
import pytest

from robomatrix.errors import UsageError
from robomatrix.hardware.robot import Observation
from robomatrix.messages import SkillGoal
from robomatrix.skills.policies.base import Phased, clamp_planar, servo_to_point
from robomatrix.skills.policies.motion import CLEARANCE_M, HAND_BACK_M, PAD_FRONT_M, push_setup
from robomatrix.skills.policies.place import drawer_drop_point_odom
from robomatrix.skills.registry import make_policy, policies, register_policy, skills_without_policy
from robomatrix.skills.runner import RunnerConfig
from robomatrix.skills.server_node import check_goal
from robomatrix.skills.specs import skill_names


def test_every_registered_skill_has_a_scripted_policy():
    assert skills_without_policy("scripted") == []
    assert set(policies("scripted")) == set(skill_names())
    for name in skill_names():
        policy = make_policy("scripted", name)
        assert policy.skill == name
        assert make_policy("scripted", name) is not policy  # a fresh one per execution


def test_policy_lookups_fail_with_reasons():
    with pytest.raises(UsageError, match="Did you mean 'grasp'"):
        make_policy("scripted", "graps")
    with pytest.raises(UsageError, match="policy kind"):
        make_policy("learned", "grasp")
    with pytest.raises(UsageError, match="policy kind"):
        register_policy("magic", "grasp", object)


@pytest.mark.parametrize("goal, expected", [
    ({"skill": "graps", "args": {"object": "red can"}}, "Did you mean 'grasp'"),
    ({"skill": "push", "args": {"object": "red can", "direction": "up"}}, "direction"),
    ({"skill": "grasp", "args": {}}, "missing its 'object'"),
    ({"skill": "nudge", "args": {"direction": "left", "amount": 3.0}}, "within"),
    ({"skill": "grasp", "args": {"object": "red can"}, "speed": 2}, "no field 'speed'"),
    ({"args": {}}, "missing field"),
    ("grasp the can", "JSON object"),
])
def test_server_refuses_bad_goals_with_the_reason(goal, expected):
    ok, reason, parsed = check_goal(goal)
    assert not ok and parsed is None
    assert expected in reason


def test_server_accepts_a_good_goal_with_defaults_filled_and_refuses_under_estop():
    goal = SkillGoal(skill="nudge", args={"direction": "left"}).to_dict()
    ok, reason, parsed = check_goal(goal)
    assert ok and reason == "" and parsed.args == {"direction": "left", "amount": 0.05}
    ok, reason, _ = check_goal(goal, estop=True)
    assert not ok and "e-stop" in reason
    ok, reason, _ = check_goal(goal, policy_kind="learned")
    assert not ok and "Unknown policy kind 'learned'" in reason


def test_runner_config_names_the_bad_field():
    with pytest.raises(UsageError, match="control_rate_hz"):
        RunnerConfig(control_rate_hz=0)
    with pytest.raises(UsageError, match="camera_every_n"):
        RunnerConfig(camera_every_n=0)


def test_servo_limits_speed_and_turns_before_driving_when_far_off_heading():
    (vx, vy, wz), err, heading = servo_to_point([2.0, 0.0, 0.0], 0.42, max_speed_mps=0.4)
    assert math.hypot(vx, vy) == pytest.approx(0.4) and wz == 0.0 and err == pytest.approx(1.58)
    (vx, vy, wz), _, heading = servo_to_point([0.0, 1.0, 0.0], 0.42, max_speed_mps=0.4)
    assert heading == pytest.approx(math.pi / 2) and wz > 0 and math.hypot(vx, vy) <= 0.1 + 1e-9
    (vx, vy, wz), err, heading = servo_to_point([0.42, 0.0, 0.0], 0.42)
    assert (vx, vy, wz) == (0.0, 0.0, 0.0) and err == 0.0
    assert clamp_planar(3.0, 4.0, 1.0) == pytest.approx((0.6, 0.8))


def test_push_geometry_leaves_the_fingers_clear_of_the_can():
    r = 0.033
    (x, y), gx, grip, gap = push_setup("backward", r)
    assert y == 0.0 and grip == 0.0 and gx - HAND_BACK_M - (x + r) == pytest.approx(CLEARANCE_M)
    (x, y), gx, grip, gap = push_setup("left", r)
    assert x == gx and y > 0 and y - r - 0.01 == pytest.approx(CLEARANCE_M)
    (_, y_right), _, _, _ = push_setup("right", r)
    assert y_right == pytest.approx(-y)
    (x, y), gx, grip, gap = push_setup("forward", r)
    assert grip == 1.0 and x - r - (gx + PAD_FRONT_M) == pytest.approx(CLEARANCE_M) and gap > 0.05


def test_drawer_drop_point_is_the_middle_of_the_exposed_tray():
    # a drawer pulling out along +x with its handle at x = 1.0: the tray shows from the cabinet
    # face (handle - 0.045 - opening) to the front's inner face (handle - 0.06)
    opening = 0.2
    p = drawer_drop_point_odom([1.0, 0.5, 0.13], 0.0, opening)
    face, inner = 1.0 - 0.045 - opening, 1.0 - 0.06
    np.testing.assert_allclose(p, [(face + inner) / 2, 0.5], atol=1e-9)
    q = drawer_drop_point_odom([0.0, 0.0, 0.13], math.pi / 2, opening)  # pulls out along +y
    np.testing.assert_allclose(q, [0.0, -(0.06 + 0.5 * (opening - 0.015))], atol=1e-9)


class _TwoPhase(Phased):
    PHASES = (("wait", 1.0), ("finish", 0.5))

    def phase_wait(self, state, obs):
        from robomatrix.hardware.robot import Action

        return Action(), ("finish" if obs.stamp_s >= 0.2 else None), "waiting"

    def phase_finish(self, state, obs):
        from robomatrix.hardware.robot import Action

        return Action(), None, "never finishes"


def _obs(t: float) -> Observation:
    return Observation(rgb=None, depth=None, intrinsics=None, camera_pose_base=np.eye(4), base_pose=np.zeros(3),
                       base_velocity=np.zeros(3), ee_position=np.array([0.2, 0.16]), gripper_opening=1.0, stamp_s=t)


def test_phased_policy_advances_and_fails_a_phase_over_budget_with_its_name():
    policy = _TwoPhase()
    policy.skill = "demo"
    policy.reset({}, None, _obs(0.0))
    step = policy.act(None, _obs(0.1))
    assert not step.done and step.progress == 0.0
    step = policy.act(None, _obs(0.2))
    assert not step.done and step.progress == 0.5
    step = policy.act(None, _obs(0.8))
    assert step.done and step.success is False and "'finish' phase did not finish in 0.5 s" in step.message


class _FrozenRobot:
    """A real-time robot (no `advance`) whose state never changes: its driver went quiet."""

    def __init__(self):
        self.sent, self.stopped = [], 0

    def get_state(self):
        return _obs(5.0)

    def get_observation(self):
        return _obs(5.0)

    def send_action(self, action):
        self.sent.append(action)
        return action

    def stop(self):
        self.stopped += 1


class _NoPerception:
    def update(self, obs):
        from robomatrix.perception import PerceptionState

        return PerceptionState(stamp_s=obs.stamp_s, base_pose=np.zeros(3))

    update_proprio = update


def test_real_time_runner_ticks_on_the_wall_clock_and_stops_when_the_robot_goes_quiet():
    from robomatrix.messages import SkillCall
    from robomatrix.skills.runner import SkillRunner

    clock = [100.0]
    sleeps = []

    def sleep(dt):
        sleeps.append(dt)
        clock[0] += dt

    robot = _FrozenRobot()
    runner = SkillRunner(robot, _NoPerception(), control_rate_hz=20, sleep=sleep, monotonic=lambda: clock[0])
    assert not runner.lock_step
    result = runner.run(SkillCall("nudge", {"direction": "left", "amount": 0.05}))
    assert not result.success and "no new robot state for 1 s" in result.reason
    assert robot.stopped == 1 and sleeps and all(dt == pytest.approx(0.05) for dt in sleeps)
    assert len(robot.sent) == pytest.approx(20, abs=2)  # one command per 50 ms tick for ~1 s


def test_drop_spots_leave_room_for_every_can_and_the_second_can_avoids_the_first():
    from robomatrix.perception import TrackedObject
    from robomatrix.perception.nominal import BIN_INNER_DIAMETER_M
    from robomatrix.skills.policies.place import drop_spots, free_spot, spot_odom

    for d in (0.22, BIN_INNER_DIAMETER_M):
        ring = drop_spots((d, d, 0.12), "bin")
        assert len(ring) >= (3 if d < 0.25 else 5)
        for i, a in enumerate(ring):  # cans (0.066 m) fit side by side inside the bin
            assert math.hypot(*a) + 0.033 < d / 2
            assert all(math.dist(a, b) > 0.066 for b in ring[i + 1:])
    box = TrackedObject("box", "box", np.array([1.0, 0.0, 0.1]), np.zeros(3), 0.0, np.array([0.24, 0.2, 0.1]),
                        True, 0.0, 1.0)
    assert free_spot(box, [], np.zeros(2)) == (0.0, 0.0)  # an empty box: its centre
    second = spot_odom(box, free_spot(box, [np.array([1.0, 0.0])], np.zeros(2)))
    assert np.linalg.norm(second - [1.0, 0.0]) > 0.066


def test_four_cans_get_four_separate_bin_spots_each_reachable_from_where_the_robot_comes():
    from robomatrix.perception import TrackedObject
    from robomatrix.skills.policies.place import DROP_X_M, free_spot, reachable, spot_odom

    bin_ = TrackedObject("bin", "bin", np.array([1.1, 0.1, 0.12]), np.zeros(3), None, np.array([0.31, 0.31, 0.12]),
                         True, 0.0, 1.0)
    occupied = []
    for robot in ([0.2, -0.4], [0.3, 0.3], [0.0, 0.0], [0.4, -0.1]):  # the robot comes from each can
        p = spot_odom(bin_, free_spot(bin_, occupied, np.array(robot)))
        assert reachable(p, bin_, robot, "bin")
        u = (bin_.position_odom[:2] - robot) / np.linalg.norm(bin_.position_odom[:2] - robot)
        assert DROP_X_M - float((p - bin_.position_odom[:2]) @ u) > 0.16 + 0.16  # chassis clear of the wall
        assert all(np.linalg.norm(p - o) > 0.075 for o in occupied)
        occupied.append(p)


def test_a_can_on_the_floor_in_the_way_to_the_bin_is_driven_around():
    from robomatrix.skills.policies.place import CORRIDOR_HALF_M, detour_via, path_clear, segment_distance

    robot, bin_xy = np.array([0.2, -0.3]), np.array([1.07, 0.08])
    goal = bin_xy - 0.46 * (bin_xy - robot) / np.linalg.norm(bin_xy - robot)
    can = 0.5 * (robot + goal) + np.array([0.0, 0.05])  # right in the chassis' way
    assert not path_clear(robot, goal, [can])
    via = detour_via(robot, goal, [can], bin_xy, 0.17)
    assert via is not None
    assert segment_distance(can, robot, via) >= CORRIDOR_HALF_M and segment_distance(can, via, goal) >= CORRIDOR_HALF_M
    assert detour_via(robot, goal, [np.array([0.2, 0.5])], bin_xy, 0.17) is None  # nothing in the way


def test_a_bin_spot_taken_by_a_can_is_never_chosen_even_when_the_free_ones_need_a_detour():
    from robomatrix.perception import TrackedObject
    from robomatrix.skills.policies.place import free_spot, spot_odom

    bin_ = TrackedObject("bin", "bin", np.array([1.066, 0.075, 0.12]), np.zeros(3), None,
                         np.array([0.31, 0.31, 0.12]), True, 0.0, 1.0)
    yellow = np.array([0.975, 0.033, 0.07])  # already in the bin, at the spot nearest the robot
    floor = [np.array([0.76, 0.22, 0.06]), np.array([0.8, 0.03, 0.06])]  # cans between robot and bin
    p = spot_odom(bin_, free_spot(bin_, [yellow], np.array([0.57, -0.15]), floor))
    assert np.linalg.norm(p - yellow[:2]) > 0.076


def _tracked(name, kind, xyz, yaw=None, size=None):
    from robomatrix.perception.tracking import TrackedObject

    p = np.asarray(xyz, float)
    return TrackedObject(name, kind, p, p.copy(), yaw, None if size is None else np.asarray(size, float),
                         True, 0.0, 1.0)


@pytest.mark.parametrize("point, expected", [
    ((2.0, 0.0, 0.24), True),   # over the box's middle
    ((2.13, 0.0, 0.24), True),  # over its rim (0.10 m half-length, widened by 5 cm)
    ((2.2, 0.0, 0.24), False),  # beside it
    ((0.0, 1.0, 0.24), True),   # over the bin
    ((-1.3, 0.0, 0.29), True),  # over the drawer's tray: 0.3 m behind the handle (it pulls out towards +x)
    ((-0.8, 0.0, 0.24), False),  # 0.2 m in front of the drawer: the floor
    ((0.5, -0.5, 0.24), False),  # open floor
])
def test_release_knows_when_it_is_over_a_container(point, expected):
    from robomatrix.perception.tracking import PerceptionState
    from robomatrix.skills.policies.manipulation import over_container

    state = PerceptionState(0.0, np.zeros(3), {
        "box": _tracked("box", "box", (2.0, 0.0, 0.12), yaw=0.0, size=(0.2, 0.3, 0.12)),
        "bin": _tracked("bin", "bin", (0.0, 1.0, 0.12), size=(0.3, 0.3, 0.12)),
        "drawer": _tracked("drawer", "drawer", (-1.0, 0.0, 0.15), yaw=0.0),  # pulls out towards +x
    })
    assert over_container(state, point) is expected


def test_release_near_a_drawer_of_unknown_facing_does_not_set_the_can_down():
    from robomatrix.perception.tracking import PerceptionState
    from robomatrix.skills.policies.manipulation import over_container

    state = PerceptionState(0.0, np.zeros(3), {"drawer": _tracked("drawer", "drawer", (1.0, 0.0, 0.15))})
    assert over_container(state, (1.3, 0.0, 0.29)) and not over_container(state, (0.4, 0.0, 0.29))
    assert not over_container(None, (0.0, 0.0, 0.2))
