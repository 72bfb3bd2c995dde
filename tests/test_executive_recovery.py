"""Escalating recovery: retry, backtrack to the step that found what was lost, replan with the
failure in words, then a clear failure; the monitor's findings preempt a running skill; the
`replan=False` baseline keeps only plain retries. A symbolic world with ticking skills, a scripted
monitor and a recording planner stand in for the simulator, perception and the rule planner."""
from __future__ import annotations

import pytest

from robomatrix.errors import UsageError
from robomatrix.executive import Executive, ExecutiveConfig, Finding, StepMonitor
from robomatrix.executive.core import backtrack_target
from robomatrix.messages import Plan, SkillCall, SkillResult
from robomatrix.planners.base import SceneObjects, make_planner

NAMES = ["red can", "box", "drawer"]


class World:
    """Skills of 5 ticks each; `slip_during` makes the carried can fall during that skill once (the
    skill itself would go on and "succeed" at carrying nothing unless stopped)."""

    def __init__(self, slip_during: str | None = None, fail: dict[str, int] | None = None,
                 shut_drawer_during: str | None = None):
        self.held = None
        self.shut_drawer_during = shut_drawer_during
        self.contained: dict[str, str] = {}
        self.drawer_open = False
        self.slip_during = slip_during
        self.fail = dict(fail or {})
        self.calls: list[str] = []
        self.tick = 0

    def scene(self) -> SceneObjects:
        return SceneObjects.from_names(NAMES, held=self.held, contained=self.contained, drawer_open=self.drawer_open)

    def execute(self, call, cancel=lambda: False, on_feedback=None) -> SkillResult:
        self.calls.append(call.to_text())
        for k in range(5):
            self.tick += 1
            if self.slip_during == call.skill and k == 2:
                self.held, self.slip_during = None, None
            if self.shut_drawer_during == call.skill and k == 2:  # the robot bumped it shut
                self.drawer_open, self.shut_drawer_during = False, None
            if cancel():
                return SkillResult(goal_id="g", skill=call.skill, success=False, reason=f"{call.skill} canceled")
        left = self.fail.get(call.skill, 0)
        if left:
            self.fail[call.skill] = left - 1 if left > 0 else -1
            return SkillResult(goal_id="g", skill=call.skill, success=False, reason=f"{call.skill} missed")
        obj = call.args.get("object")
        if call.skill == "grasp":
            self.held = obj
        elif call.skill == "release":
            self.contained[obj], self.held = call.args.get("target", "box"), None
        elif call.skill == "open_drawer":
            self.drawer_open = True
        return SkillResult(goal_id="g", skill=call.skill, success=True, duration_s=1.0)


class SlipMonitor(StepMonitor):
    """Reports a slip when a carrying step runs without the can in the gripper."""

    def __init__(self, world):
        self.world, self.call, self.begun = world, None, []

    def begin(self, plan, index):
        self.call = plan.steps[index]
        self.begun.append(self.call.to_text())

    def check(self):
        if self.call.skill in ("lift", "position_over") and self.world.held is None:
            return Finding("slipped", "red can", f"expected the red can in the gripper during {self.call.to_text()}; "
                                                 "perception sees the gripper empty")
        if self.call.args.get("target") == "drawer" and not self.world.drawer_open:
            return Finding("drawer_closed", "drawer", "expected the drawer open; perception sees it closed")
        return None


class Planner:
    def __init__(self):
        self.rule = make_planner("rule", embeddings="off")
        self.failures: list[str] = []

    def plan(self, instruction, scene):
        return self.rule.plan(instruction, scene)

    def replan(self, plan, failure, scene):
        self.failures.append(failure)
        return self.rule.replan(plan, failure, scene)


def make(world, config=None, monitor=True):
    status = []
    planner = Planner()
    exe = Executive(planner, world, world.scene, config or ExecutiveConfig(), clock=lambda: 0.0,
                    monitor=SlipMonitor(world) if monitor else None, on_status=status.append)
    return exe, planner, status


def test_a_slip_preempts_the_carry_and_backtracks_to_the_move_to_that_found_the_can():
    world = World(slip_during="position_over")
    exe, planner, status = make(world)
    report = exe.run("put the red can in the box")
    assert report.success, report.reason
    assert world.calls == ["move_to(object='red can')", "grasp(object='red can')", "lift(object='red can')",
                           "position_over(object='red can', target='box')",  # stopped by the monitor
                           "move_to(object='red can')", "grasp(object='red can')", "lift(object='red can')",
                           "position_over(object='red can', target='box')", "release(object='red can')"]
    assert report.backtracks == 1 and report.planner_replans == 0 and planner.failures == []
    stopped = [s for s in report.steps if not s.success]
    assert len(stopped) == 1 and stopped[0].reason.startswith("expected the red can in the gripper")
    messages = [s.message for s in status if s.state == "replanning"]
    assert messages[0].startswith("monitor stopped position_over")
    assert messages[1].startswith("backtracking to step 1 move_to(object='red can') (1/3) after: step 4 position_over")
    assert not any("retrying position_over" in s.message for s in status)  # a slip is not retried in place


def test_a_drawer_shut_while_carrying_is_recovered_by_setting_the_can_down():
    """open_drawer needs an empty gripper, so no backtrack helps; the replan puts the can down,
    opens the drawer and fetches the can again."""
    world = World(shut_drawer_during="position_over")
    exe, planner, status = make(world)
    report = exe.run("put the red can in the drawer")
    assert report.success, report.reason
    assert report.backtracks == 0 and report.planner_replans == 1
    assert planner.failures[0].startswith("step 6 position_over(object='red can', target='drawer') failed: "
                                          "expected the drawer open")
    stopped = world.calls.index("position_over(object='red can', target='drawer')")
    assert world.calls[stopped + 1:] == [
        "release(object='red can')", "move_to(object='drawer')", "open_drawer()", "search(object='red can')", "move_to(object='red can')",
        "grasp(object='red can')", "lift(object='red can')", "position_over(object='red can', target='drawer')",
        "release(object='red can')"]


def test_without_replanning_the_slip_is_not_watched_and_the_task_fails_after_plain_retries():
    world = World(slip_during="position_over", fail={"release": -1})
    exe, planner, status = make(world, ExecutiveConfig(replan=False, max_retries_per_step=1))
    report = exe.run("put the red can in the box")
    assert report.outcome == "failed" and report.backtracks == 0 and planner.failures == []
    assert world.calls.count("release(object='red can')") == 2  # one try and one retry, nothing more
    assert not any(s.state == "replanning" for s in status)


def test_escalation_order_retry_then_backtrack_then_replan_then_a_clear_failure():
    world = World(fail={"grasp": -1})
    cfg = ExecutiveConfig(max_retries_per_step=1, max_backtracks=1, max_replans=1)
    exe, planner, status = make(world, cfg)
    report = exe.run("grasp the red can")
    assert report.outcome == "failed"
    kinds = []
    for s in status:
        if s.message.startswith("retrying"):
            kinds.append("retry")
        elif s.message.startswith("backtracking"):
            kinds.append("backtrack")
        elif s.message.startswith("replanning after"):
            kinds.append("replan")
    # first plan: try, retry, back to move_to, try, retry; replan; new plan: try, retry, then give up
    assert kinds == ["retry", "backtrack", "retry", "replan", "retry"]
    assert world.calls.count("grasp(object='red can')") == 6
    assert len(planner.failures) == 1
    assert planner.failures[0].startswith("step 2 grasp(object='red can') failed: grasp missed (tried 2 time(s), "
                                          "after 1 backtrack(s))")
    assert report.reason == "step 2 grasp(object='red can') failed: grasp missed (after 1 replans)"
    assert status[-1].state == "failed" and status[-1].message == report.reason


def test_backtrack_targets():
    steps = [SkillCall("open_drawer", {}), SkillCall("search", {"object": "red can"}),
             SkillCall("move_to", {"object": "red can"}), SkillCall("grasp", {"object": "red can"}),
             SkillCall("lift", {"object": "red can"}), SkillCall("position_over", {"object": "red can", "target": "drawer"})]
    plan = Plan("put the red can in the drawer", steps)
    in_view = SceneObjects.from_names(NAMES)
    out_of_view = SceneObjects.from_names(["box", "drawer"], ["red can"])
    held = SceneObjects.from_names(NAMES, held="red can")
    slipped = Finding("slipped", "red can", "")
    assert backtrack_target(plan, 3, steps[3], None, in_view) == 2  # failed grasp: back to its move_to
    assert backtrack_target(plan, 5, steps[5], slipped, in_view) == 2  # fell where it is seen: move_to
    assert backtrack_target(plan, 5, steps[5], slipped, out_of_view) == 1  # fell out of view: search
    assert backtrack_target(plan, 3, steps[3], Finding("hidden", "red can", ""), in_view) == 1
    assert backtrack_target(plan, 5, steps[5], Finding("drawer_closed", "drawer", ""), in_view) == 0
    assert backtrack_target(plan, 5, steps[5], Finding("drawer_closed", "drawer", ""), held) is None  # hands full
    assert backtrack_target(plan, 5, steps[5], None, held) is None  # still holding it: the planner decides
    assert backtrack_target(plan, 2, steps[2], None, in_view) is None  # move_to failed on its own


def test_config_replan_must_be_a_bool():
    with pytest.raises(UsageError, match="replan"):
        ExecutiveConfig(replan="no")
    with pytest.raises(UsageError, match="max_backtracks"):
        ExecutiveConfig(max_backtracks=-1)
