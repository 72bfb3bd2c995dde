"""The hardware layer's watchdog and e-stop logic, driven with plain times."""
import pytest

from robomatrix.hardware.command_gate import CommandGate, CommandGateConfig


def test_base_command_holds_until_the_watchdog_timeout_then_stops():
    gate = CommandGate(CommandGateConfig(cmd_vel_timeout_s=0.5))
    gate.set_base_velocity(0.3, 0.0, 0.1, now_s=10.0)
    assert gate.action(10.4).base_velocity == (0.3, 0.0, 0.1)
    assert not gate.watchdog_tripped
    assert gate.action(10.6).base_velocity == (0.0, 0.0, 0.0)
    assert gate.watchdog_tripped
    gate.set_base_velocity(0.2, 0.0, 0.0, now_s=11.0)
    assert gate.action(11.1).base_velocity == (0.2, 0.0, 0.0)
    assert not gate.watchdog_tripped


def test_no_command_yet_means_stopped_without_tripping():
    gate = CommandGate()
    action = gate.action(0.0)
    assert action.base_velocity == (0.0, 0.0, 0.0) and action.arm_target is None and action.gripper is None
    assert not gate.watchdog_tripped


def test_arm_and_gripper_are_set_points_that_outlive_the_watchdog():
    gate = CommandGate()
    gate.set_arm_target(0.3, 0.12)
    gate.set_gripper(1.7)  # clamped
    action = gate.action(100.0)
    assert action.arm_target == (0.3, 0.12) and action.gripper == 1.0


def test_estop_latches_discards_commands_and_does_not_replay_them_on_release():
    gate = CommandGate()
    gate.set_base_velocity(0.5, 0, 0, now_s=0.0)
    gate.set_arm_target(0.3, 0.2)
    gate.set_estop(True)
    gate.set_base_velocity(0.5, 0, 0, now_s=0.1)
    gate.set_gripper(0.0)
    held = gate.action(0.1)
    assert held.base_velocity == (0.0, 0.0, 0.0) and held.arm_target is None and held.gripper is None
    gate.set_estop(False)
    released = gate.action(0.2)
    assert released.base_velocity == (0.0, 0.0, 0.0) and released.arm_target is None
    gate.set_base_velocity(0.1, 0, 0, now_s=0.3)
    assert gate.action(0.35).base_velocity == (0.1, 0.0, 0.0)


def test_config_rejects_a_non_positive_timeout_naming_the_field():
    with pytest.raises(ValueError, match="cmd_vel_timeout_s"):
        CommandGateConfig(cmd_vel_timeout_s=0)
