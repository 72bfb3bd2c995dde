"""The two ways the executive runs a skill: in this process, or through the skill server's action.

- `RunnerSkillExecutor` hands the call to a `robomatrix.skills.runner.SkillRunner` (lock-step
  simulation in one process: `robomatrix run`, benchmarks, tests);
- `ActionSkillExecutor` sends a `SkillGoal` to the `skill_server` node's action over any
  transport and waits for its result, forwarding feedback and cancel.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from robomatrix.comm.action import ActionClient
from robomatrix.executive.core import SkillExecutor
from robomatrix.messages import MessageError, SkillCall, SkillFeedback, SkillGoal, SkillResult
from robomatrix.skills.specs import skill_spec

SKILL_ACTION = "/robomatrix/skill"
"""Default name of the skill server's action (see `robomatrix.skills.server_node`)."""


class RunnerSkillExecutor(SkillExecutor):
    """Runs skills with an object that has `run(call, cancel, on_feedback) -> SkillResult`
    (the skill layer's `SkillRunner`)."""

    def __init__(self, runner: Any):
        if not callable(getattr(runner, "run", None)):
            raise TypeError(f"RunnerSkillExecutor needs an object with run(call, cancel, on_feedback), got {runner!r}")
        self.runner = runner

    def execute(self, call: SkillCall, cancel: Callable[[], bool] = lambda: False,
                on_feedback: Callable[[SkillFeedback], None] | None = None) -> SkillResult:
        return self.runner.run(call, cancel=cancel, on_feedback=on_feedback)


class ActionSkillExecutor(SkillExecutor):
    """Sends each call as a goal to the skill server's action and blocks until it ends.

    Call `execute` from a thread other than the one spinning `node` (feedback is delivered by
    the node's executor); the executive node runs tasks in a worker thread for that reason.
    """

    def __init__(self, node, action_name: str = SKILL_ACTION, server_timeout_s: float = 10.0,
                 result_grace_s: float = 10.0, poll_s: float = 0.02):
        self.node = node
        self.client = ActionClient(node, action_name)
        self.action_name = action_name
        self.server_timeout_s = server_timeout_s  # how long to wait for the skill server to appear
        self.result_grace_s = result_grace_s  # beyond the skill's own time limit before giving up
        self.poll_s = poll_s

    def execute(self, call: SkillCall, cancel: Callable[[], bool] = lambda: False,
                on_feedback: Callable[[SkillFeedback], None] | None = None) -> SkillResult:
        limit_s = skill_spec(call.skill).time_limit_s
        goal = SkillGoal(skill=call.skill, args=dict(call.args), time_limit_s=limit_s)
        if not self.client.wait_for_server(self.server_timeout_s):
            return SkillResult(goal_id=goal.goal_id, skill=call.skill, success=False,
                               reason=f"no skill server answers on '{self.action_name}' "
                                      f"(waited {self.server_timeout_s:g} s): is skill_server running?")

        def feedback(data: dict) -> None:
            if on_feedback is None:
                return
            try:
                on_feedback(SkillFeedback.from_dict(data))
            except MessageError as exc:
                self.node.get_logger().warning(f"Dropped malformed skill feedback: {exc}", throttle_duration_sec=5.0)

        start = time.monotonic()
        handle = self.client.send_goal(goal.to_dict(), feedback)
        canceled = False
        while not handle.done():
            if not canceled and cancel():
                handle.cancel()
                canceled = True
            if time.monotonic() - start > limit_s + self.result_grace_s:
                handle.cancel()
                return SkillResult(goal_id=goal.goal_id, skill=call.skill, success=False,
                                   duration_s=time.monotonic() - start,
                                   reason=f"the skill server gave no result within {limit_s + self.result_grace_s:g} s")
            time.sleep(self.poll_s)
        return self._result(goal, handle, time.monotonic() - start)

    @staticmethod
    def _result(goal: SkillGoal, handle, waited_s: float) -> SkillResult:
        """The server's SkillResult; when it sent none (rejected, aborted before running), one built
        from the action status and its reason."""
        data = handle.result(0.0)
        if data:
            try:
                return SkillResult.from_dict(data)
            except MessageError:
                pass
        reason = handle.reason or f"the skill server answered '{handle.status}'"
        return SkillResult(goal_id=goal.goal_id, skill=goal.skill, success=handle.status == "succeeded",
                           reason=reason if handle.status != "rejected" else f"rejected: {reason}",
                           duration_s=waited_s)
