"""The executive, without middleware: instruction → plan → skills run one by one → verified.

    executive = Executive(make_planner("rule"), RunnerSkillExecutor(runner), scene=perception_scene)
    report = executive.run("put the red can in the box")

What it does, in order:
1. asks the planner for a plan from the scene perception reports now, and validates it
   (`robomatrix.planners.validate.validate_plan`) — a refusal ends the run as `refused`
   with the planner's one-line reason (bad input, not a robot failure);
2. runs each step through a `SkillExecutor` (in one process the skill runner, in a graph
   an action client to the skill server), reporting progress through `on_feedback`; while a
   step runs, the optional `StepMonitor` (`robomatrix.executive.monitor`) watches perception
   every control tick and preempts the skill when it can no longer succeed (the object slipped
   out of the gripper, moved away, is hidden, the drawer closed again), with the finding in words;
3. re-checks a finished step with the optional `verify` callback (perception's view of the
   skill's postcondition; the skill layer already checked it, this catches a late slip);
4. recovers from a failed step in escalating order: the same skill again (up to
   `max_retries_per_step`, not when the monitor saw the world change under it); back to the
   earlier step that found what was lost (`backtrack_target`: the move_to or search of a lost
   object, open_drawer for a drawer that closed again; `max_backtracks`); the planner's
   `replan(plan, failure_in_words, scene_now)` (`max_replans`); then a failure report.
   `replan=False` keeps only the plain retries (the baseline of the perturbation suite);
5. ends `succeeded`, `failed` (with the reason in words) or `canceled`.

`edit(PlanEdit)` changes the running task from any thread (a person's correction, or the
monitor): replace the remaining steps, skip, pause, resume, cancel, replan.

Everything it decides is announced through `on_status` (ExecutiveStatus) and `on_plan` (Plan),
which the executive node publishes on `/robomatrix/status` and `/robomatrix/plan`.
"""
from __future__ import annotations

import abc
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from robomatrix.errors import UsageError, unknown_name
from robomatrix.messages import ExecutiveStatus, Plan, SkillCall, SkillFeedback, SkillResult
from robomatrix.planners.base import Planner, SceneObjects
from robomatrix.planners.validate import validate_plan

SceneProvider = Callable[[], SceneObjects]
"""What perception sees now, as the planner wants it (`PerceptionState.to_scene_objects()`)."""

Verifier = Callable[[SkillCall, SkillResult], "tuple[bool, str]"]
"""Perception's re-check of a step that reported success: (ok, reason in words)."""

log = logging.getLogger("robomatrix.executive")

FINDING_KINDS = ("slipped", "moved", "gone", "hidden", "drawer_closed", "ambiguous")
CARRYING_SKILLS = ("lift", "position_over")  # need their object in the gripper from start to end


@dataclass
class Finding:
    """What the monitor saw that stops a running skill."""

    kind: str  # one of FINDING_KINDS
    object: str  # the object it is about ("drawer" for drawer_closed)
    text: str  # in words: what was expected, what perception sees
    retry: bool = False  # whether running the same skill again can help

    def __post_init__(self):
        if self.kind not in FINDING_KINDS:
            raise unknown_name("monitor finding", self.kind, FINDING_KINDS)


class StepMonitor(abc.ABC):
    """Watches the running step through perception (`robomatrix.executive.monitor.Monitor`)."""

    @abc.abstractmethod
    def begin(self, plan: Plan, index: int) -> None:
        """Step `index` of `plan` starts now: remember what it expects of the world."""

    @abc.abstractmethod
    def check(self) -> Finding | None:
        """Called every control tick while the step runs; a Finding stops the skill."""


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
    max_backtracks: int = 3  # returns to an earlier step per task (a lost object: back to its move_to)
    max_steps: int = 120  # skill executions allowed per task (retries and replans included): a guard
    # against plans that never converge
    replan: bool = True  # recovery beyond plain retries: monitoring, backtracking, planner replans
    # (False: the no-replanning baseline, `--no-replan`)

    def __post_init__(self):
        for name, low in (("max_retries_per_step", 0), ("max_replans", 0), ("max_backtracks", 0), ("max_steps", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise UsageError(f"ExecutiveConfig.{name} must be an integer >= {low}, got {value!r}.")
        if not isinstance(self.replan, bool):
            raise UsageError(f"ExecutiveConfig.replan must be true or false, got {self.replan!r}.")


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
    backtracks: int = 0  # returns to an earlier step
    planner_replans: int = 0  # plans asked of the planner after a failure (edits not counted)

    @property
    def success(self) -> bool:
        return self.outcome == "succeeded"

    @property
    def replans(self) -> int:
        """Plans adopted after the first (planner replans and plan edits)."""
        return max(0, len(self.plans) - 1)

    @property
    def plan(self) -> Plan | None:
        """The first plan (what the person was shown before anything moved)."""
        return self.plans[0] if self.plans else None


class _Canceled(Exception):
    def __init__(self, reason: str = "canceled on request"):
        super().__init__(reason)
        self.reason = reason


EDIT_KINDS = ("replace", "skip", "pause", "resume", "cancel", "replan")
EDIT_SOURCES = ("person", "monitor")


@dataclass
class PlanEdit:
    """A change to the running task, asked for by a person's correction or by the monitor."""

    kind: str  # one of EDIT_KINDS
    steps: list[SkillCall] = field(default_factory=list)  # "replace": the new remaining steps, from the current step on
    reason: str = ""  # in words: the correction text or the monitor's finding
    source: str = "person"  # "person" | "monitor"

    def __post_init__(self):
        if self.kind not in EDIT_KINDS:
            raise unknown_name("plan edit kind", self.kind, EDIT_KINDS)
        if self.source not in EDIT_SOURCES:
            raise unknown_name("plan edit source", self.source, EDIT_SOURCES)
        self.steps = list(self.steps)
        if self.kind == "replace":
            if not self.steps:
                raise UsageError("PlanEdit 'replace' needs the new remaining steps (use 'skip' or 'cancel' "
                                 "to drop work).")
            for step in self.steps:
                if not isinstance(step, SkillCall):
                    raise UsageError(f"PlanEdit.steps must be SkillCall objects, got {step!r}.")
        elif self.steps:
            raise UsageError(f"PlanEdit '{self.kind}' takes no steps (only 'replace' does).")


@dataclass
class _StepOutcome:
    ok: bool
    reason: str
    finding: Finding | None = None  # the monitor's, when it preempted the step
    edited: bool = False  # preempted by an edit: not a failure


def backtrack_target(plan: Plan, index: int, call: SkillCall, finding: Finding | None,
                     scene: SceneObjects) -> int | None:
    """The earlier step to go back to after step `index` failed, or None when going back cannot
    help (then the planner replans). A lost or moved object, a failed grasp or a can that did not
    land in its container go back to the move_to (or search, when the object is out of view) that
    found the object; a drawer that closed again goes back to open_drawer."""
    kind = finding.kind if finding is not None else ""
    if kind == "drawer_closed":
        if scene.held is not None:  # open_drawer needs an empty gripper: the planner decides
            return None
        return _last(plan, index, lambda s: s.skill == "open_drawer")
    obj = finding.object if finding is not None and finding.object else call.args.get("object")
    if kind == "ambiguous" or not obj or call.skill in ("open_drawer", "close_drawer", "nudge"):
        return None
    if call.skill in ("move_to", "search") and not kind:
        return None  # the skill that finds the object failed on its own: the planner decides
    if scene.held is not None:  # move_to and grasp need the object on the floor and the gripper empty
        return None
    searched = _last(plan, index, lambda s: s.skill == "search" and s.args.get("object") == obj)
    if not scene.in_view(obj) or kind in ("hidden", "gone"):
        return searched
    moved_to = _last(plan, index, lambda s: s.skill == "move_to" and s.args.get("object") == obj)
    return moved_to if moved_to is not None else searched


def _last(plan: Plan, before: int, match: Callable[[SkillCall], bool]) -> int | None:
    for j in range(min(before, len(plan.steps)) - 1, -1, -1):
        if match(plan.steps[j]):
            return j
    return None


class Executive:
    """Runs instructions; see the module docstring. One `run` at a time; `edit` and `current` may
    be called from any thread while it runs."""

    def __init__(self, planner: Planner, executor: SkillExecutor, scene: SceneProvider,
                 config: ExecutiveConfig | None = None, *,
                 verify: Verifier | None = None,
                 monitor: StepMonitor | None = None,
                 on_status: Callable[[ExecutiveStatus], None] | None = None,
                 on_plan: Callable[[Plan], None] | None = None,
                 on_feedback: Callable[[SkillFeedback], None] | None = None,
                 on_step: Callable[[StepRecord], None] | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.planner, self.executor, self.scene = planner, executor, scene
        self.config = config or ExecutiveConfig()
        self.verify = verify
        self.monitor = monitor
        self.on_status, self.on_plan, self.on_feedback, self.on_step = on_status, on_plan, on_feedback, on_step
        self.clock = clock
        self._task_id = ""
        self._plan: Plan | None = None
        self._index = -1  # step running now (-1: none)
        self._running = False
        self._cond = threading.Condition()
        self._edits: list[tuple[PlanEdit, int]] = []  # pending edits with the step index they were asked at
        self._preempt = False  # the running skill must stop at its next control tick (an edit came)
        self._paused = False

    @property
    def current(self) -> tuple[Plan | None, int]:
        """The plan being executed and the index of the step running now (-1 when none)."""
        with self._cond:
            return self._plan, self._index

    # ------------------------------------------------------------------ edits (any thread)
    def edit(self, edit: PlanEdit) -> None:
        """Change the running task (thread-safe). The running skill stops at its next control tick
        (except for "resume"); the edit is applied before the next step:
          replace -> the remaining steps (the current one included) become `edit.steps`; the new
                     plan (same task, steps done so far + new steps) is announced via on_plan;
          skip    -> the current step is dropped; execution goes on with the next one;
          pause   -> no skill runs until "resume" or "cancel" (state "paused"); the preempted step
                     runs again on resume;
          resume  -> leave the pause;
          cancel  -> the task ends "canceled" with the edit's reason;
          replan  -> planner.replan(plan, edit.reason, scene now), validated, adopted.
        Announced on on_status with its reason. Ignored (with a status message) when no task runs.
        A step preempted by an edit is not a failure: no retry, no replan."""
        if not isinstance(edit, PlanEdit):
            raise TypeError(f"Executive.edit needs a PlanEdit, got {edit!r}")
        with self._cond:
            running, index = self._running, self._index
            if running:
                self._edits.append((edit, index))
                if edit.kind != "resume":
                    self._preempt = True
                self._cond.notify_all()
        why = f": {edit.reason}" if edit.reason else ""
        if not running:
            self._status("idle", f"{edit.kind} ignored: no task is running{why}")
            return
        state = "paused" if edit.kind == "pause" else "editing"
        self._status(state, f"{edit.kind} ({edit.source}){why}", index)

    def _take_edits(self) -> list[tuple[PlanEdit, int]]:
        with self._cond:
            edits, self._edits = self._edits, []
            self._preempt = False
            return edits

    def _apply_edits(self, report: ExecutionReport, cancel: Callable[[], bool]) -> None:
        """Apply every pending edit in order; blocks while paused. Raises _Canceled."""
        while True:
            for edit, asked_at in self._take_edits():
                self._apply_edit(edit, asked_at, report)
            with self._cond:
                if not self._paused:
                    return
                if not self._edits:
                    self._cond.wait(0.05)
            if cancel():
                raise _Canceled

    def _apply_edit(self, edit: PlanEdit, asked_at: int, report: ExecutionReport) -> None:
        plan, index = self._plan, self._index
        why = edit.reason or f"a {edit.kind} from the {edit.source}"
        if edit.kind == "cancel":
            raise _Canceled(f"canceled: {why}")
        if edit.kind == "pause":
            with self._cond:
                self._paused = True
            self._status("paused", f"paused: {why}", index)
        elif edit.kind == "resume":
            with self._cond:
                was, self._paused = self._paused, False
            self._status("editing", f"resumed: {why}" if was else f"not paused; resume ignored ({why})", index)
        elif edit.kind == "skip":
            if asked_at != index or index >= len(plan.steps):
                self._status("editing", f"skip ignored: step {asked_at + 1} had already ended ({why})", index)
                return
            self._status("editing", f"skipping step {index + 1} {plan.steps[index].to_text()}: {why}", index)
            self._set_index(index + 1)
        elif edit.kind == "replace":
            try:
                validate_plan(Plan(instruction=plan.instruction, steps=list(edit.steps)), self.scene())
            except UsageError as exc:
                self._status("editing", f"edit refused, the plan goes on unchanged: {exc}", index)
                return
            new = Plan(instruction=plan.instruction, steps=list(plan.steps[:index]) + list(edit.steps),
                       planner=plan.planner, task_id=plan.task_id or self._task_id)
            self._adopt(new, report, index)
            self._status("editing", f"plan changed from step {index + 1} on: {why}", index)
        elif edit.kind == "replan":
            self._status("replanning", f"replanning on request: {why}", index)
            try:
                new = self._replan(plan, why)
            except UsageError as exc:
                self._status("editing", f"replan refused, the plan goes on unchanged: {exc}", index)
                return
            self._adopt(new, report, 0)

    def _replan(self, plan: Plan, why: str) -> Plan:
        """The planner's new plan for `plan` after `why`, validated against the scene now (UsageError)."""
        scene = self.scene()
        new = self.planner.replan(plan, why, scene)
        validate_plan(new, scene)
        return new

    def _set_index(self, index: int) -> None:
        with self._cond:
            self._index = index

    # ------------------------------------------------------------------ announcements
    def _status(self, state: str, message: str = "", step_index: int = -1, skill: str = "") -> None:
        if state in ("replanning", "editing", "paused", "failed"):
            log.info("executive %s: %s", state, message)
        if self.on_status is None:
            return
        plan = self._plan
        self.on_status(ExecutiveStatus(state=state, step_index=step_index, message=message,
                                       plan_id=plan.id if plan else "", step_count=len(plan.steps) if plan else 0,
                                       skill=skill, task_id=self._task_id, stamp=float(self.clock())))

    def _adopt(self, plan: Plan, report: ExecutionReport, index: int = 0) -> None:
        if self._task_id and not plan.task_id:
            plan.task_id = self._task_id
        with self._cond:
            self._plan, self._index = plan, index
        report.plans.append(plan)
        if self.on_plan is not None:
            self.on_plan(plan)

    # ------------------------------------------------------------------ the loop
    def run(self, instruction: str, task_id: str = "", cancel: Callable[[], bool] = lambda: False,
            plan: Plan | None = None) -> ExecutionReport:
        """Plan and execute `instruction`; returns how it ended (never raises for planning refusals
        or skill failures; programming errors in a planner or executor still propagate). A `plan`
        made beforehand (e.g. shown to a person first) is validated and used instead of planning."""
        with self._cond:
            self._task_id, self._plan, self._index = task_id, None, -1
            self._edits, self._preempt, self._paused = [], False, False
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
        with self._cond:
            self._running = True
        try:
            return self._execute(report, cancel)
        except _Canceled as exc:
            return self._end(report, "canceled", exc.reason)
        finally:
            with self._cond:
                self._running, self._index, self._edits, self._paused = False, -1, [], False

    def _execute(self, report: ExecutionReport, cancel: Callable[[], bool]) -> ExecutionReport:
        cfg = self.config
        executed = 0
        attempts: dict[int, int] = {}  # step index → tries so far (since the last backtrack or replan)
        while True:
            plans_before = len(report.plans)
            self._apply_edits(report, cancel)
            if len(report.plans) != plans_before:
                attempts = {}
            plan, index = self._plan, self._index
            if index >= len(plan.steps):
                return self._end(report, "succeeded", f"done: {plan.instruction}")
            call = plan.steps[index]
            if cancel():
                raise _Canceled
            if executed >= cfg.max_steps:
                return self._end(report, "failed", f"gave up after {executed} skill executions "
                                                   f"(ExecutiveConfig.max_steps)")
            attempt = attempts.get(index, 0) + 1
            step = self._run_step(report, plan, index, call, attempt, cancel)
            if step.edited:
                continue
            executed += 1
            attempts[index] = attempt
            if step.ok:
                self._set_index(index + 1)
                continue
            if cancel():
                raise _Canceled
            failure = f"step {index + 1} {call.to_text()} failed: {step.reason}"
            # 1. the same skill again (not when the monitor says the world changed under it, nor for a
            # carrying skill whose object perception no longer sees in the gripper)
            retry = step.finding is None or step.finding.retry
            if retry and cfg.replan and call.skill in CARRYING_SKILLS and self.scene().held != call.args.get("object"):
                retry = False
            if attempt <= cfg.max_retries_per_step and retry:
                self._status("executing", f"retrying {call.to_text()} ({attempt}/{cfg.max_retries_per_step}) "
                                          f"after: {step.reason}", index, call.skill)
                continue
            if not cfg.replan:
                return self._end(report, "failed", failure)
            # 2. back to the step that found what was lost
            if report.backtracks < cfg.max_backtracks:
                target = backtrack_target(plan, index, call, step.finding, self.scene())
                if target is not None:
                    report.backtracks += 1
                    back = plan.steps[target]
                    self._status("replanning", f"backtracking to step {target + 1} {back.to_text()} "
                                               f"({report.backtracks}/{cfg.max_backtracks}) after: {failure}",
                                 target, back.skill)
                    for k in range(target, len(plan.steps)):
                        attempts.pop(k, None)
                    self._set_index(target)
                    continue
            # 3. a new plan from the planner, told what went wrong in words
            if report.planner_replans >= cfg.max_replans:
                tried = report.planner_replans
                return self._end(report, "failed", failure + (f" (after {tried} replans)" if tried else ""))
            tried = f"tried {attempt} time(s)" + (f", after {report.backtracks} backtrack(s)" if report.backtracks else "")
            why = f"{failure} ({tried})"
            self._status("replanning", f"replanning after: {why}", index, call.skill)
            try:
                new_plan = self._replan(plan, why)
            except UsageError as exc:
                return self._end(report, "failed", f"{failure}; replanning failed: {exc}")
            report.planner_replans += 1
            self._adopt(new_plan, report, 0)
            attempts = {}
            if not new_plan.steps:  # the planner sees the task done already
                return self._end(report, "succeeded", f"done: {plan.instruction}")

    def _run_step(self, report: ExecutionReport, plan: Plan, index: int, call: SkillCall, attempt: int,
                  cancel: Callable[[], bool]) -> _StepOutcome:
        self._status("executing", f"{call.to_text()}" + (f" (attempt {attempt})" if attempt > 1 else ""),
                     index, call.skill)
        monitor = self.monitor if self.config.replan else None
        found: list[Finding] = []
        if monitor is not None:
            monitor.begin(plan, index)

        def stop() -> bool:
            if cancel() or self._preempt:
                return True
            if monitor is not None and not found:
                finding = monitor.check()
                if finding is not None:
                    found.append(finding)
            return bool(found)

        result = self.executor.execute(call, stop, self.on_feedback)
        ok, reason = bool(result.success), result.reason
        with self._cond:
            edited = self._preempt
        if edited and not ok:
            self._status("editing", f"{call.to_text()} stopped for an edit", index, call.skill)
            return _StepOutcome(False, result.reason, edited=True)
        finding = found[0] if found and not ok else None
        if finding is not None:
            reason = finding.text
            self._status("replanning", f"monitor stopped {call.to_text()}: {finding.text}", index, call.skill)
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
        return _StepOutcome(ok, reason, finding)

    def _end(self, report: ExecutionReport, outcome: str, reason: str) -> ExecutionReport:
        report.outcome, report.reason = outcome, reason
        state = {"succeeded": "succeeded", "canceled": "canceled"}.get(outcome, "failed")
        self._status(state, reason)
        return report
