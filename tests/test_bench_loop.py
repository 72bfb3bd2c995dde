"""`robomatrix bench loop`'s bookkeeping (the measurement itself is the benchmark, not a test):
frame codes survive every limit between the reactor and the robot, and commands are matched to
the frames they answer."""
import pytest

from robomatrix.bench.loop import CODE_MODULUS, CODE_STEP_RADPS, code_of, frame_code, match
from robomatrix.hardware.robot import Action, RobotConfig, clip_action
from robomatrix.hardware.ros2_robot import Ros2RobotConfig


@pytest.mark.parametrize("config", [RobotConfig(), Ros2RobotConfig(profile="sim")])
def test_frame_codes_pass_the_limits_unchanged(config):
    previous = (0.0, 0.0, 0.0)
    for index in [0, 1, 48, 49, 50, 7, 49, 0]:  # the largest jumps between consecutive codes
        wz = frame_code(index) * CODE_STEP_RADPS
        applied = clip_action(Action(base_velocity=(0.0, 0.0, wz)), config, previous)
        assert code_of(applied.base_velocity[2]) == frame_code(index)
        previous = applied.base_velocity
    assert {frame_code(i) for i in range(CODE_MODULUS)} == set(range(1, CODE_MODULUS + 1))


def test_commands_are_matched_to_the_frames_they_answer():
    period = 0.1
    frames = [(i * period, 10.0 + i * period) for i in range(10)]  # (stamp, t_published)
    reactions = [(2 * period, 10.205, 10.230), (3 * period, 10.305, 10.380), (5 * period, 10.505, 10.510)]
    commands = [(frame_code(1), 10.21),  # an older frame's command, before the reaction: ignored
                (frame_code(2), 10.25), (frame_code(2), 10.27),  # the gate repeats it: the first counts
                (frame_code(3), 10.40), (frame_code(5), 10.52)]
    legs = match(frames, commands, reactions, period, warmup_until=10.25)  # frame 2 is in the warm-up
    assert legs["latency"] == pytest.approx([100.0, 20.0])  # frame 3: 10.40 - 10.30; frame 5: 10.52 - 10.50
    assert legs["frame_delivery"] == pytest.approx([5.0, 5.0])
    assert legs["reaction"] == pytest.approx([75.0, 5.0])
    assert legs["command_delivery"] == pytest.approx([20.0, 10.0])
    legs = match(frames, commands, reactions, period, warmup_until=0.0)
    assert legs["latency"][0] == pytest.approx(50.0)  # frame 2 answered at 10.25, not by the early 10.21


def test_a_reaction_without_its_command_is_not_counted():
    frames = [(0.0, 1.0), (0.1, 1.1)]
    legs = match(frames, [(frame_code(0), 1.05)], [(0.0, 1.01, 1.02), (0.1, 1.11, 1.12)], 0.1, 0.0)
    assert legs["latency"] == pytest.approx([50.0])
