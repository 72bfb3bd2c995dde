"""`Executive.edit` and `Executive.current`: a running task changed from outside (a person's
correction or the monitor), with a symbolic world whose skills take a few control ticks and poll
`cancel()` on every one, like the skill runner and the skill server's action client."""
from __future__ import annotations

import threading

import pytest

from robomatrix.errors import UsageError
from robomatrix.executive import EDIT_KINDS, Executive, ExecutiveConfig, PlanEdit
from robomatrix.messages import SkillCall, SkillResult
from robomatrix.planners.base import SceneObjects, make_planner

NAMES = ["red can", "green can", "box", "bin"]


class TickingWorld:
    """Skills that take `ticks` control ticks; `on_tick(call, tick)` runs on each (the test's
    way of acting while a skill runs). A canceled skill ends unsuccessful, changing nothing."""

    def __init__(self, ticks: int = 4):
        self.ticks = ticks
        self.held = None
        self.contained: dict[str, str] = {}
        self.over = None
        self.started: list[str] = []  # every skill started
        self.finished: list[str] = []  # every skill that ran to its end
        self.on_tick = lambda call, tick: None

    def scene(self) -> SceneObjects:
        return SceneObjects.from_names(NAMES, held=self.held, contained=self.contained)

    def execute(self, call, cancel=lambda: False, on_feedback=None) -> SkillResult:
        self.started.append(call.to_text())
        for tick in range(self.ticks):
            self.on_tick(call, tick)
            if cancel():
                return SkillResult(goal_id="g", skill=call.skill, success=False,
                                   reason=f"{call.skill} canceled after {tick} ticks")
        obj = call.args.get("object")
        if call.skill == "grasp":
            self.held = obj
        elif call.skill == "position_over":
            self.over = call.args["target"]
        elif call.skill == "release":
            self.contained[obj] = self.over
            self.held = None
        self.finished.append(call.to_text())
        return SkillResult(goal_id="g", skill=call.skill, success=True, duration_s=1.0)


class Planner:
    """The rule planner, recording replans."""

    def __init__(self):
        self.rule = make_planner("rule", embeddings="off")
        self.replans: list[str] = []

    def plan(self, instruction, scene):
        return self.rule.plan(instruction, scene)

    def replan(self, plan, failure, scene):
        self.replans.append(failure)
        return self.rule.replan(plan, failure, scene)


def make(world, config=None):
    events = {"status": [], "plans": [], "steps": []}
    planner = Planner()
    exe = Executive(planner, world, world.scene, config or ExecutiveConfig(), clock=lambda: 0.0,
                    on_status=events["status"].append, on_plan=events["plans"].append,
                    on_step=events["steps"].append)
    return exe, planner, events


def edit_when(world, exe, skill, edit, tick=1):
    """Send `edit` the first time `skill` reaches control tick `tick`."""
    sent = []

    def on_tick(call, t):
        if call.skill == skill and t == tick and not sent:
            sent.append(True)
            exe.edit(edit)
    world.on_tick = on_tick


def test_replace_swaps_the_remaining_steps_and_announces_the_new_plan():
    world = TickingWorld()
    exe, _, ev = make(world)
    new_steps = [SkillCall("move_to", {"object": "green can"}), SkillCall("grasp", {"object": "green can"})]
    edit_when(world, exe, "grasp", PlanEdit("replace", new_steps, reason="no, the green one"))
    report = exe.run("grasp the red can", task_id="t7")
    assert report.success, report.reason
    assert world.held == "green can"
    assert world.finished == ["move_to(object='red can')", "move_to(object='green can')", "grasp(object='green can')"]
    # the preempted grasp is not a failure: not recorded, not retried, no replan
    assert all(s.success for s in report.steps) and len(report.steps) == 3
    assert not any("retrying" in s.message for s in ev["status"])
    new_plan = ev["plans"][-1]
    assert [c.to_text() for c in new_plan.steps] == ["move_to(object='red can')", "move_to(object='green can')",
                                                     "grasp(object='green can')"]
    assert new_plan.task_id == "t7" and report.plans[-1] is new_plan
    assert any(s.state == "editing" and "no, the green one" in s.message for s in ev["status"])


def test_replace_with_steps_that_cannot_run_is_refused_and_the_plan_goes_on():
    world = TickingWorld()
    exe, _, ev = make(world)
    # lift needs the object held: invalid from where the task stands
    edit_when(world, exe, "grasp", PlanEdit("replace", [SkillCall("lift", {"object": "green can"})]))
    report = exe.run("grasp the red can")
    assert report.success and world.held == "red can" and len(ev["plans"]) == 1
    assert any("edit refused" in s.message for s in ev["status"])


def test_skip_drops_the_current_step():
    world = TickingWorld()
    exe, _, ev = make(world)
    edit_when(world, exe, "lift", PlanEdit("skip", reason="skip that"))
    report = exe.run("pick up the red can")
    assert report.success
    assert world.finished == ["move_to(object='red can')", "grasp(object='red can')"]
    assert any("skipping step 3 lift" in s.message and "skip that" in s.message for s in ev["status"])


def test_cancel_ends_the_task_with_the_reason():
    world = TickingWorld()
    exe, _, ev = make(world)
    edit_when(world, exe, "grasp", PlanEdit("cancel", reason="cancel the task"))
    report = exe.run("put the red can in the box")
    assert report.outcome == "canceled" and "cancel the task" in report.reason
    assert world.finished == ["move_to(object='red can')"]
    assert ev["status"][-1].state == "canceled"


def test_pause_holds_every_skill_until_resume_from_another_thread():
    world = TickingWorld()
    exe, _, ev = make(world)
    paused = threading.Event()

    def status(s):
        ev["status"].append(s)
        if s.state == "paused" and s.message.startswith("paused"):
            paused.set()
    exe.on_status = status
    edit_when(world, exe, "grasp", PlanEdit("pause", reason="stop"))
    result = {}
    worker = threading.Thread(target=lambda: result.update(report=exe.run("pick up the red can")))
    worker.start()
    assert paused.wait(5.0)
    started = list(world.started)
    plan, index = exe.current
    assert index == 1 and plan.steps[index].skill == "grasp"
    assert not threading.Event().wait(0.2) and world.started == started  # nothing starts while paused
    exe.edit(PlanEdit("resume", reason="go on"))
    worker.join(5.0)
    report = result["report"]
    assert report.success
    # the preempted grasp ran again after the resume
    assert world.started.count("grasp(object='red can')") == 2 and world.finished.count("grasp(object='red can')") == 1
    assert any(s.state == "editing" and "resumed: go on" in s.message for s in ev["status"])
    assert exe.current == (report.plans[-1], -1)


def test_cancel_ends_a_pause():
    world = TickingWorld()
    exe, _, _ = make(world)
    sent = []

    def on_tick(call, t):
        if call.skill == "grasp" and not sent:
            sent.append(True)
            exe.edit(PlanEdit("pause"))
            exe.edit(PlanEdit("cancel", reason="never mind"))
    world.on_tick = on_tick
    report = exe.run("grasp the red can")
    assert report.outcome == "canceled" and "never mind" in report.reason


def test_replan_edit_asks_the_planner_with_the_reason():
    world = TickingWorld()
    exe, planner, ev = make(world)
    edit_when(world, exe, "lift", PlanEdit("replan", reason="put it in the bin instead", source="monitor"))
    report = exe.run("pick up the red can")
    assert report.success
    assert planner.replans == ["put it in the bin instead"]
    assert len(ev["plans"]) == 2 and report.replans == 1 and report.planner_replans == 0
    assert any(s.state == "replanning" and "on request" in s.message for s in ev["status"])


def test_current_names_the_running_step_and_edits_without_a_task_are_ignored():
    world = TickingWorld()
    exe, _, ev = make(world)
    assert exe.current == (None, -1)
    exe.edit(PlanEdit("skip", reason="skip that"))
    assert ev["status"][-1].state == "idle" and "no task is running" in ev["status"][-1].message
    seen = []
    world.on_tick = lambda call, t: seen.append((exe.current[1], call.skill)) if t == 0 else None
    assert exe.run("pick up the red can").success
    assert seen == [(0, "move_to"), (1, "grasp"), (2, "lift")]


def test_edit_validation():
    assert set(EDIT_KINDS) == {"replace", "skip", "pause", "resume", "cancel", "replan"}
    with pytest.raises(UsageError, match="Did you mean 'skip'"):
        PlanEdit("skp")
    with pytest.raises(UsageError, match="needs the new remaining steps"):
        PlanEdit("replace")
    with pytest.raises(UsageError, match="takes no steps"):
        PlanEdit("skip", [SkillCall("move_to", {"object": "red can"})])
    with pytest.raises(UsageError, match="source"):
        PlanEdit("pause", source="robot")
