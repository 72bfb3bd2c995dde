"""The executive's logic (plan, run, verify, retry, replan, give up, cancel) with a symbolic fake
world standing in for perception and the skill layer, and the real rule planner."""
from __future__ import annotations

import pytest

from robomatrix.errors import UsageError
from robomatrix.executive import ExecutionReport, Executive, ExecutiveConfig, PlacementVerifier, SkillExecutor
from robomatrix.messages import EXECUTIVE_STATES, SkillFeedback, SkillResult
from robomatrix.planners.base import SceneObjects, make_planner

NAMES = ["red can", "green can", "blue can", "box", "bin", "drawer"]


class FakeWorld(SkillExecutor):
    """A symbolic world: skills change what is held, in view and inside containers.

    `failures` maps a skill name (or "skill:object") to how many times it fails before it works;
    a value of -1 fails forever."""

    def __init__(self, hidden=("bin", "drawer"), failures=None, bounce=0):
        self.visible = [n for n in NAMES if n not in hidden]
        self.hidden = list(hidden)
        self.held = None
        self.contained: dict[str, str] = {}
        self.over = None
        self.failures = dict(failures or {})
        self.bounce = bounce  # this many releases land outside the container (the skill still succeeds)
        self.calls: list[str] = []

    def scene(self) -> SceneObjects:
        return SceneObjects.from_names(self.visible, self.hidden, held=self.held, contained=self.contained)

    def _fails(self, call) -> bool:
        for key in (f"{call.skill}:{call.args.get('object', '')}", call.skill):
            left = self.failures.get(key, 0)
            if left:
                self.failures[key] = left - 1 if left > 0 else -1
                return True
        return False

    def execute(self, call, cancel=lambda: False, on_feedback=None) -> SkillResult:
        self.calls.append(call.to_text())
        if on_feedback is not None:
            on_feedback(SkillFeedback(goal_id="g", skill=call.skill, progress=0.5, elapsed_s=0.1))
        obj = call.args.get("object")
        if self._fails(call):
            if call.skill == "grasp":
                self.held = None
            return SkillResult(goal_id="g", skill=call.skill, success=False, reason=f"{call.skill} slipped",
                               duration_s=1.0)
        if call.skill == "search" and obj in self.hidden:
            self.hidden.remove(obj)
            self.visible.append(obj)
        elif call.skill == "grasp":
            self.held = obj
        elif call.skill == "position_over":
            self.over = call.args["target"]
        elif call.skill == "release":
            if self.bounce:
                self.bounce -= 1
            else:
                self.contained[obj] = self.over
            self.held = None
        return SkillResult(goal_id="g", skill=call.skill, success=True, duration_s=2.0)


def make_executive(world, config=None, **kwargs):
    events = {"status": [], "plans": [], "feedback": [], "steps": []}
    exe = Executive(make_planner("rule", embeddings="off"), world, world.scene, config, clock=lambda: 1.5,
                    on_status=events["status"].append, on_plan=events["plans"].append,
                    on_feedback=events["feedback"].append, on_step=events["steps"].append, **kwargs)
    return exe, events


def test_success_runs_every_step_and_announces_it():
    world = FakeWorld()
    exe, ev = make_executive(world)
    report = exe.run("put the red can in the box", task_id="t1")
    assert isinstance(report, ExecutionReport)
    assert report.success and report.outcome == "succeeded" and report.replans == 0
    assert [s.skill for s in report.steps] == ["move_to", "grasp", "lift", "position_over", "release"]
    assert all(s.success and s.attempt == 1 for s in report.steps)
    assert world.contained == {"red can": "box"}
    assert len(ev["plans"]) == 1 and ev["plans"][0].task_id == "t1" and len(ev["plans"][0].steps) == 5
    states = [s.state for s in ev["status"]]
    assert states[0] == "planning" and states[-1] == "succeeded"
    assert set(states) <= set(EXECUTIVE_STATES)
    executing = [s for s in ev["status"] if s.state == "executing"]
    assert [s.step_index for s in executing] == [0, 1, 2, 3, 4]
    assert executing[1].skill == "grasp" and executing[1].step_count == 5
    assert all(s.task_id == "t1" and s.plan_id == report.plan.id for s in ev["status"][1:])
    assert len(ev["feedback"]) == 5 and len(ev["steps"]) == 5


def test_a_failed_skill_is_retried_before_any_replan():
    world = FakeWorld(failures={"grasp": 1})
    exe, ev = make_executive(world, ExecutiveConfig(max_retries_per_step=2))
    report = exe.run("put the green can in the box")
    assert report.success and report.replans == 0
    grasps = [s for s in report.steps if s.skill == "grasp"]
    assert [(g.success, g.attempt) for g in grasps] == [(False, 1), (True, 2)]
    assert grasps[0].reason == "grasp slipped"
    assert any("retrying" in s.message and "grasp slipped" in s.message for s in ev["status"])


def test_replans_after_retries_run_out_and_skips_finished_work():
    # red can goes in first; then the blue can's grasp fails twice (1 try + 1 retry) → replan.
    world = FakeWorld(failures={"grasp:blue can": 2})
    exe, ev = make_executive(world, ExecutiveConfig(max_retries_per_step=1, max_replans=2, max_backtracks=0))
    report = exe.run("put the red can and the blue can in the box")
    assert report.success, report.reason
    assert report.replans == 1 and len(ev["plans"]) == 2
    assert any(s.state == "replanning" and "grasp(object='blue can')" in s.message for s in ev["status"])
    # the new plan starts from the scene as it is: the red can is already in the box
    second = [c.to_text() for c in ev["plans"][1].steps]
    assert not any("red can" in c for c in second) and "grasp(object='blue can')" in second
    assert world.contained == {"red can": "box", "blue can": "box"}


def test_gives_up_after_bounded_retries_and_replans():
    world = FakeWorld(failures={"lift": -1})
    cfg = ExecutiveConfig(max_retries_per_step=1, max_replans=2)
    exe, ev = make_executive(world, cfg)
    report = exe.run("pick up the red can")
    assert report.outcome == "failed" and not report.success
    lifts = [s for s in report.steps if s.skill == "lift"]
    assert len(lifts) == (1 + cfg.max_retries_per_step) * (1 + cfg.max_replans)
    assert report.replans == cfg.max_replans
    assert "lift(object='red can') failed: lift slipped" in report.reason and "after 2 replans" in report.reason
    assert ev["status"][-1].state == "failed" and ev["status"][-1].message == report.reason


def test_max_steps_guards_against_endless_work():
    world = FakeWorld(failures={"lift": -1})
    exe, _ = make_executive(world, ExecutiveConfig(max_retries_per_step=5, max_replans=5, max_steps=7))
    report = exe.run("pick up the red can")
    assert report.outcome == "failed" and len(report.steps) == 7 and "max_steps" in report.reason


def test_unknown_object_is_refused_before_anything_moves():
    world = FakeWorld()
    exe, ev = make_executive(world)
    report = exe.run("put the purple can in the box")
    assert report.outcome == "refused" and not report.success
    assert report.steps == [] and world.calls == [] and ev["plans"] == []
    assert "purple" in report.reason and "\n" not in report.reason
    assert ev["status"][-1].state == "failed"


def test_perception_verification_can_overrule_a_skill():
    world = FakeWorld()
    checks = []

    def verify(call, result):
        checks.append(call.skill)
        if call.skill == "grasp" and checks.count("grasp") == 1:
            return False, "the red can is not between the fingers"
        return True, ""

    exe, ev = make_executive(world, ExecutiveConfig(max_retries_per_step=1), verify=verify)
    report = exe.run("grasp the red can")
    assert report.success
    first = [s for s in report.steps if s.skill == "grasp"][0]
    assert not first.success and first.reason == "perception disagrees: the red can is not between the fingers"
    assert "verifying" in [s.state for s in ev["status"]]


@pytest.mark.parametrize("backtracks", [0, 1])
def test_placement_check_catches_a_can_that_landed_outside_and_recovery_fixes_it(backtracks):
    # with backtracking: back to move_to(red can); without: the planner replans the pick-and-place
    world = FakeWorld(bounce=1)
    exe, ev = make_executive(world, ExecutiveConfig(max_retries_per_step=0, max_backtracks=backtracks), verify=None)
    exe.verify = PlacementVerifier(world.scene)
    report = exe.run("put the red can in the box")
    assert report.success and report.replans == 1 - backtracks and report.backtracks == backtracks
    first_release = [s for s in report.steps if s.skill == "release"][0]
    assert not first_release.success
    assert first_release.reason == ("perception disagrees: after letting go, the red can is not inside any "
                                    "container, not in the box")
    assert [s.skill for s in report.steps][-5:] == ["move_to", "grasp", "lift", "position_over", "release"]
    assert world.contained == {"red can": "box"}


def test_without_the_placement_check_a_bounced_can_is_claimed_done():
    world = FakeWorld(bounce=1)
    exe, _ = make_executive(world)
    assert exe.run("put the red can in the box").success and world.contained == {}


def test_cancel_stops_between_and_during_steps():
    world = FakeWorld()
    exe, ev = make_executive(world)
    report = exe.run("put the red can in the box", cancel=lambda: len(world.calls) >= 2)
    assert report.outcome == "canceled" and len(world.calls) == 2
    assert ev["status"][-1].state == "canceled"


def test_search_comes_first_for_objects_out_of_view():
    world = FakeWorld()
    exe, _ = make_executive(world)
    report = exe.run("put the green can in the bin")
    assert report.success
    assert [s.skill for s in report.steps].count("search") == 1
    assert world.contained == {"green can": "bin"}


@pytest.mark.parametrize("field,value", [("max_retries_per_step", -1), ("max_replans", 1.5), ("max_steps", 0)])
def test_config_names_the_bad_field(field, value):
    with pytest.raises(UsageError, match=field):
        ExecutiveConfig(**{field: value})
