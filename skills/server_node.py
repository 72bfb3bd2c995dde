"""`skill_server`: the skill layer as a ROS 2 node. One meta-skill at a time, closed loop.

Action  /robomatrix/skill (`comm.ActionServer`, JSON goals): goal = `SkillGoal.to_dict()`,
        feedback = `SkillFeedback.to_dict()` (progress, elapsed), result = `SkillResult.to_dict()`.
        A second goal while one runs is rejected ("busy"); an unknown skill, bad arguments or a
        skill without a policy are rejected with the reason; cancel stops the robot.
Subscribes  /robomatrix/estop (std_msgs/Bool, latched): true cancels the running skill and refuses
        new goals until released; /robomatrix/skill_adjust (SkillAdjust JSON): motion corrections
        ("a bit to the left") applied to the running skill without aborting it, or standing offsets
        for one skill (robomatrix.corrections); and through `TopicRobot` the hardware topics
        (camera, depth, camera_info, odom, joint_states).
Publishes   through `TopicRobot`: /cmd_vel, /arm/command, /gripper/command.

The closed loop is the same `SkillRunner` as in process, ticking on the wall clock, with its own
`Perception` on the camera topics, so the node drives a simulated and a real robot alike.
Parameters: policy (scripted|neural), control_rate_hz, camera_every_n, action_name,
data_timeout_s, corrections_memory (a corrections memory directory whose remembered offsets apply
to every skill start; "" for none, the default).
"""
from __future__ import annotations

import threading
from typing import Any

from robomatrix import comm
from robomatrix.errors import RoboMatrixError, UsageError
from robomatrix.hardware.topic_robot import TopicRobot
from robomatrix.messages import MessageError, SkillFeedback, SkillGoal, SkillResult
from robomatrix.msgs import Bool
from robomatrix.node_main import run_node
from robomatrix.skills.registry import make_policy
from robomatrix.skills.runner import RunnerConfig, SkillRunner
from robomatrix.skills.specs import validate_call

SKILL_ACTION = "/robomatrix/skill"


def check_goal(goal: Any, policy_kind: str = "scripted", estop: bool = False) -> tuple[bool, str, SkillGoal | None]:
    """Decide whether the server takes `goal` (a JSON dict): (accepted, reason, parsed goal).

    ROS-free, so the refusals are unit-tested: malformed goals, unknown skills (with a
    did-you-mean), bad arguments, skills without a policy of this kind, an engaged e-stop."""
    if estop:
        return False, "the e-stop is engaged: release it (/robomatrix/estop false) first", None
    try:
        parsed = SkillGoal.from_dict(goal)
        args = validate_call(parsed.skill, parsed.args)
        make_policy(policy_kind, parsed.skill)
    except (MessageError, UsageError) as exc:
        return False, str(exc), None
    parsed.args = args
    return True, "", parsed


class SkillServerNode(comm.Node):
    def __init__(self, perception=None, **node_kwargs):
        super().__init__("skill_server", **node_kwargs)
        p = self.declare_parameter
        self.policy_kind = p("policy", "scripted", description="policy kind: scripted | neural").value
        rate = p("control_rate_hz", 20.0, description="closed-loop rate, Hz").value
        every = p("camera_every_n", 2, description="perception update every n control ticks").value
        goal_stop = str(p("goal_stop", "auto", description="a skill also ends when perception sees its goal: "
                                                         "auto (learned policies) | on | off").value)
        action_name = p("action_name", SKILL_ACTION, description="name of the skill action").value
        self.data_timeout_s = float(p("data_timeout_s", 10.0, description="wait for sensor topics, s").value)
        memory_dir = str(p("corrections_memory", "", description="corrections memory directory for "
                                                                 "remembered skill offsets ('' = none)").value)
        try:
            self.config = RunnerConfig(policy_kind=self.policy_kind, control_rate_hz=float(rate),
                                       camera_every_n=int(every), goal_stop=goal_stop)
        except UsageError as exc:
            raise UsageError(f"node 'skill_server': {exc}") from None
        self.robot = TopicRobot(self)
        self.robot.connect()
        if perception is None:
            from robomatrix.perception import Perception

            perception = Perception()
        self.perception = perception
        self.runner = SkillRunner(self.robot, self.perception, config=self.config)
        from robomatrix.corrections.node import attach_skill_adjust

        attach_skill_adjust(self, self.runner, memory_dir)
        self._estop = threading.Event()
        self._current = None
        self.create_subscription(Bool, "/robomatrix/estop", self._on_estop, comm.QOS_LATCHED)
        self.server = comm.ActionServer(self, action_name, self._execute, goal_callback=self._on_goal)
        self.get_logger().info(f"skill server ready on '{action_name}' ({self.policy_kind} policies, "
                               f"{self.config.control_rate_hz:g} Hz)")

    def _on_estop(self, msg: Bool) -> None:
        if bool(msg.data):
            if not self._estop.is_set():
                self.get_logger().warning("E-STOP: stopping the running skill")
            self._estop.set()
            self.robot.stop()
        else:
            self._estop.clear()

    def _on_goal(self, goal: dict):
        ok, reason, _ = check_goal(goal, self.policy_kind, self._estop.is_set())
        return ok, reason

    def _execute(self, handle) -> dict:
        ok, reason, goal = check_goal(handle.goal, self.policy_kind, self._estop.is_set())
        if not ok:
            handle.abort(reason)
            return {}
        if not self.robot.wait_for_data(self.data_timeout_s):
            reason = "no sensor data from the hardware topics (odom, joint_states, camera): is hardware_node up?"
            handle.abort(reason)
            return SkillResult(goal_id=goal.goal_id, skill=goal.skill, success=False, reason=reason).to_dict()

        def cancel() -> bool:
            return handle.is_cancel_requested or self._estop.is_set()

        def feedback(fb: SkillFeedback) -> None:
            handle.publish_feedback(fb.to_dict())

        try:
            result = self.runner.run(goal, cancel=cancel, on_feedback=feedback)
        except RoboMatrixError as exc:
            self.robot.stop()
            result = SkillResult(goal_id=goal.goal_id, skill=goal.skill, success=False, reason=str(exc))
        if self._estop.is_set() and not result.success:
            result.reason = f"e-stop: {result.reason}"
        if handle.is_cancel_requested:
            handle.canceled(result.reason)
        elif result.success:
            handle.succeed(result.reason)
        else:
            handle.abort(result.reason)
        self.get_logger().info(f"{goal.skill}: {'succeeded' if result.success else 'failed'} "
                               f"in {result.duration_s:.1f} s {result.reason}")
        return result.to_dict()

    def destroy_node(self):
        robot = getattr(self, "robot", None)  # absent when __init__ failed on a bad parameter
        if robot is not None:
            robot.disconnect()
        super().destroy_node()


def main(args=None):
    """Entry point for `ros2 run robomatrix skill_server` and `robomatrix launch`."""
    run_node(SkillServerNode, args)


if __name__ == "__main__":
    main()
