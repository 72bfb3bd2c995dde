"""The executive, without middleware: instruction → plan → skills run one by one → verified.

    executive = Executive(make_planner("rule"), RunnerSkillExecutor(runner), scene=perception_scene)
    report = executive.run("put the red can in the box")

What it does, in order:
1. asks the planner for a plan from the scene perception reports now, and validates it
   (`robomatrix.planners.validate.validate_plan`) — a refusal ends the run as `refused`
   with the planner's one-line reason (bad input, not a robot failure);
2. runs each step through a `SkillExecutor` (in one process the skill runner, in a graph
   an action client to the skill server), reporting progress through `on_feedback`;
3. re-checks a finished step with the optional `verify` callback (perception's view of the
   skill's postcondition; the skill layer already checked it, this catches a late slip);
4. retries a failed step up to `max_retries_per_step` times, then asks the planner to
   `replan(plan, failure_in_words, scene_now)`, at most `max_replans` times;
5. ends `succeeded`, `failed` (with the reason in words) or `canceled`.

Everything it decides is announced through `on_status` (ExecutiveStatus) and `on_plan` (Plan),
which the executive node publishes on `/robomatrix/status` and `/robomatrix/plan`.
"""
from __future__ import annotations

import abc
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from robomatrix.errors import UsageError
from robomatrix.messages import ExecutiveStatus, Plan, SkillCall, SkillFeedback, SkillResult
from robomatrix.planners.base import Planner, SceneObjects
from robomatrix.planners.validate import validate_plan

SceneProvider = Callable[[], SceneObjects]
"""What perception sees now, as the planner wants it (`PerceptionState.to_scene_objects()`)."""

Verifier = Callable[[SkillCall, SkillResult], "tuple[bool, str]"]
"""Perception's re-check of a step that reported success: (ok, reason in words)."""


class SkillExecutor(abc.ABC):
    """Runs one skill call to its end. Implementations: `RunnerSkillExecutor` (in process) and
    `ActionSkillExecutor` (the skill server's action), in `robomatrix.executive.executors`."""

    @abc.abstractmethod
    def execute(self, call: SkillCall, cancel: Callable[[], bool] = lambda: False,
                on_feedback: Callable[[SkillFeedback], None] | None = None) -> SkillResult:
        """Run `call` until it succeeds, fails, times out or `cancel()` turns true. Never raises for a
        skill failure: the result's `success` and `reason` say what happened."""


@dataclass
class ExecutiveConfig:
    """How hard the executive tries before it gives up."""

    max_retries_per_step: int = 1  # a failed skill is run again this many times before replanning
    max_replans: int = 3  # planner.replan calls allowed per task
    max_steps: int = 120  # skill executions allowed per task (retries and replans included): a guard
    # against plans that never converge

    def __post_init__(self):
        for name, low in (("max_retries_per_step", 0), ("max_replans", 0), ("max_steps", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise UsageError(f"ExecutiveConfig.{name} must be an integer >= {low}, got {value!r}.")


@dataclass
class StepRecord:
    """One skill execution (a retry is a record of its own)."""

    index: int  # step index in the plan it belonged to
    skill: str
    args: dict[str, Any]
    success: bool
    duration_s: float  # as the skill layer measured it (simulated seconds in lock-step runs)
    reason: str = ""
    attempt: int = 1  # 1 for the first try, 2 for the first retry, ...
    plan_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"skill": self.skill, "args": dict(self.args), "success": self.success,
                "duration_s": round(self.duration_s, 3), "reason": self.reason, "attempt": self.attempt}


OUTCOMES = ("succeeded", "failed", "canceled", "refused")


@dataclass
class ExecutionReport:
    """How a task ended. `outcome` is one of OUTCOMES; `refused` means the planner could not make a
    plan for the instruction at all (an unknown object, an unsupported action): bad input."""

    instruction: str
    outcome: str
    reason: str = ""
    plans: list[Plan] = field(default_factory=list)  # the first plan, then one per replan
    steps: list[StepRecord] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return self.outcome == "succeeded"

    @property
    def replans(self) -> int:
        return max(0, len(self.plans) - 1)

    @property
    def plan(self) -> Plan | None:
        """The first plan (what the person was shown before anything moved)."""
        return self.plans[0] if self.plans else None


class _Canceled(Exception):
    pass


class Executive:
    """Runs instructions; see the module docstring. Not thread-safe: one `run` at a time."""

    def __init__(self, planner: Planner, executor: SkillExecutor, scene: SceneProvider,
                 config: ExecutiveConfig | None = None, *,
                 verify: Verifier | None = None,
                 on_status: Callable[[ExecutiveStatus], None] | None = None,
                 on_plan: Callable[[Plan], None] | None = None,
                 on_feedback: Callable[[SkillFeedback], None] | None = None,
                 on_step: Callable[[StepRecord], None] | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.planner, self.executor, self.scene = planner, executor, scene
        self.config = config or ExecutiveConfig()
        self.verify = verify
        self.on_status, self.on_plan, self.on_feedback, self.on_step = on_status, on_plan, on_feedback, on_step
        self.clock = clock
        self._task_id = ""
        self._plan: Plan | None = None

    # ------------------------------------------------------------------ announcements
    def _status(self, state: str, message: str = "", step_index: int = -1, skill: str = "") -> None:
        if self.on_status is None:
            return
        plan = self._plan
        self.on_status(ExecutiveStatus(state=state, step_index=step_index, message=message,
                                       plan_id=plan.id if plan else "", step_count=len(plan.steps) if plan else 0,
                                       skill=skill, task_id=self._task_id, stamp=float(self.clock())))

    def _adopt(self, plan: Plan, report: ExecutionReport) -> None:
        if self._task_id and not plan.task_id:
            plan.task_id = self._task_id
        self._plan = plan
        report.plans.append(plan)
        if self.on_plan is not None:
            self.on_plan(plan)

    # ------------------------------------------------------------------ the loop
    def run(self, instruction: str, task_id: str = "", cancel: Callable[[], bool] = lambda: False,
            plan: Plan | None = None) -> ExecutionReport:
        """Plan and execute `instruction`; returns how it ended (never raises for planning refusals
        or skill failures; programming errors in a planner or executor still propagate). A `plan`
        made beforehand (e.g. shown to a person first) is validated and used instead of planning."""
        self._task_id, self._plan = task_id, None
        report = ExecutionReport(instruction=instruction, outcome="failed")
        self._status("planning", f"planning: {instruction}")
        try:
            scene = self.scene()
            if plan is None:
                plan = self.planner.plan(instruction, scene)
            validate_plan(plan, scene)
        except UsageError as exc:  # PlanningError, PlanValidationError
            return self._end(report, "refused", str(exc))
        self._adopt(plan, report)
        try:
            return self._execute(report, cancel)
        except _Canceled:
            return self._end(report, "canceled", "canceled on request")

    def _execute(self, report: ExecutionReport, cancel: Callable[[], bool]) -> ExecutionReport:
        cfg = self.config
        executed = 0
        while True:
            plan = self._plan
            failure = None
            for index, call in enumerate(plan.steps):
                attempt = 0
                while True:
                    if cancel():
                        raise _Canceled
                    if executed >= cfg.max_steps:
                        return self._end(report, "failed", f"gave up after {executed} skill executions "
                                                           f"(ExecutiveConfig.max_steps)")
                    attempt += 1
                    executed += 1
                    ok, reason = self._run_step(report, plan, index, call, attempt, cancel)
                    if ok:
                        break
                    if cancel():
                        raise _Canceled
                    if attempt > cfg.max_retries_per_step:
                        failure = f"step {index + 1} {call.to_text()} failed: {reason}"
                        break
                    self._status("executing", f"retrying {call.to_text()} ({attempt}/{cfg.max_retries_per_step}) "
                                              f"after: {reason}", index, call.skill)
                if failure:
                    break
            if failure is None:
                return self._end(report, "succeeded", f"done: {plan.instruction}")
            if report.replans >= cfg.max_replans:
                return self._end(report, "failed", failure + (f" (after {report.replans} replans)"
                                                              if report.replans else ""))
            self._status("replanning", failure)
            try:
                scene = self.scene()
                new_plan = self.planner.replan(plan, failure, scene)
                validate_plan(new_plan, scene)
            except UsageError as exc:
                return self._end(report, "failed", f"{failure}; replanning failed: {exc}")
            self._adopt(new_plan, report)
            if not new_plan.steps:  # the planner sees the task done already
                return self._end(report, "succeeded", f"done: {plan.instruction}")

    def _run_step(self, report: ExecutionReport, plan: Plan, index: int, call: SkillCall, attempt: int,
                  cancel: Callable[[], bool]) -> tuple[bool, str]:
        self._status("executing", f"{call.to_text()}" + (f" (attempt {attempt})" if attempt > 1 else ""),
                     index, call.skill)
        result = self.executor.execute(call, cancel, self.on_feedback)
        ok, reason = bool(result.success), result.reason
        if ok and self.verify is not None:
            self._status("verifying", f"checking {call.to_text()}", index, call.skill)
            ok, why = self.verify(call, result)
            if not ok:
                reason = f"perception disagrees: {why}"
        record = StepRecord(index=index, skill=call.skill, args=dict(call.args), success=ok,
                            duration_s=float(result.duration_s), reason=reason, attempt=attempt, plan_id=plan.id)
        report.steps.append(record)
        if self.on_step is not None:
            self.on_step(record)
        return ok, reason

    def _end(self, report: ExecutionReport, outcome: str, reason: str) -> ExecutionReport:
        report.outcome, report.reason = outcome, reason
        state = {"succeeded": "succeeded", "canceled": "canceled"}.get(outcome, "failed")
        self._status(state, reason)
        return report
