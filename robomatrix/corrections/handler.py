"""Applying corrections: text → understanding → the running skill, the plan, the memory, the status channel.

    handler = CorrectionHandler(executive, planner, scene, adjust=runner.adjust, memory=memory,
                                on_status=publish, frame=camera_frame)
    handler.handle("a bit to the left")     # thread-safe; returns the Understanding

One handler serves a process: `robomatrix run` / the console (`SimSession.correct`) and the
executive node (`/robomatrix/correction`). What it does with each level:
- motion → `adjust(MotionOffset)`: the running skill's offset (in process `SkillRunner.adjust`; in
  a graph a `SkillAdjust` on `/robomatrix/skill_adjust` to the skill server), no abort;
- skill → new remaining steps (`PlanEdit("replace")`: another object, letting go now), or a
  standing offset for one skill from now on (`task_offsets`, also applied live when that skill runs);
- plan → `Executive.edit(PlanEdit(kind))`; "… instead", "… first", "then …" plan the named thing
  with the planner from the scene now and replace the remaining steps with it;
- preference → remembered; when the running task's instruction uses the phrase, its rest is replanned;
- an answer to a pending question ("Which can do you mean?") → given to whoever asked (`ask`);
- not understood → a question on the status channel, and nothing moves.
Every correction is announced on the status channel (ExecutiveStatus with `correction` and
`correction_level`) and stored in the memory with its context and camera frame.
Correction-to-effect latency: from `handle` to the first control tick with the new offset
(`effect("motion")`, wired to `SkillRunner.on_adjust_applied`) or to the executive announcing the
edit (`observe_status`) — kept in `latencies_ms`.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from robomatrix.corrections.interpret import CorrectionContext, Understanding, interpret
from robomatrix.corrections.memory import CorrectionMemory, CorrectionRecord, MemoryPlanner
from robomatrix.errors import UsageError
from robomatrix.messages import ExecutiveStatus, Plan, SkillCall
from robomatrix.planners.base import AmbiguousReferenceError, Planner, PlanningError, SceneObjects, display
from robomatrix.planners.grounding import Grounder, ObjectName
from robomatrix.skills.runner import MotionOffset


class TaskOffsets:
    """Standing offsets per (skill, object noun) for the task running now ("grasp it lower"): a
    SkillRunner offset source. Cleared when a new task starts."""

    def __init__(self):
        self._lock = threading.Lock()
        self._offsets: list[tuple[str, str, MotionOffset, str]] = []

    def add(self, skill: str, noun: str, offset: MotionOffset, except_call: str = "") -> None:
        """From now on `skill` on objects of `noun` ("" any) gets `offset`; not the call `except_call`
        (its text), which already has it as a live adjustment (also for its retries)."""
        with self._lock:
            self._offsets.append((skill, noun, offset, except_call))

    def clear(self) -> None:
        with self._lock:
            self._offsets.clear()

    def __call__(self, call: SkillCall) -> MotionOffset | None:
        obj = call.args.get("object")
        noun = ObjectName.parse(obj).head if isinstance(obj, str) else ""
        with self._lock:
            total = MotionOffset()
            for skill, n, offset, except_call in self._offsets:
                if skill == call.skill and n in ("", noun) and call.to_text() != except_call:
                    total = total + offset
        return None if total.is_zero else total


class CorrectionHandler:
    """See the module docstring. `executive` needs `current` and `edit` (robomatrix.executive.core)."""

    def __init__(self, executive=None, planner: Planner | None = None,
                 scene: Callable[[], SceneObjects] | None = None, *,
                 adjust: Callable[[MotionOffset], str] | None = None,
                 live_offset: Callable[[], MotionOffset | None] | None = None,
                 running_skill: Callable[[], str | None] | None = None,
                 skill_offset: Callable[[str, str, MotionOffset, str], None] | None = None,
                 memory: CorrectionMemory | None = None,
                 remembered: Callable[[SkillCall], MotionOffset | None] | None = None,
                 frame: Callable[[], np.ndarray | None] | None = None,
                 on_status: Callable[[ExecutiveStatus], None] | None = None,
                 clock: Callable[[], float] = time.monotonic, source: str = "user"):
        self.executive, self.planner, self.scene = executive, planner, scene
        self.adjust, self.running_skill = adjust, running_skill
        # the running skill's whole live offset (SkillRunner.current_offset; default: the adjust
        # target's, when it is a runner's bound method); unknown in a graph
        self.live_offset = live_offset or getattr(getattr(adjust, "__self__", None), "current_offset", None)
        self.task_offsets = TaskOffsets()
        self.skill_offset = skill_offset  # in a graph: send the standing offset to the skill server too
        self.memory = memory if memory is not None else CorrectionMemory(None)
        # the remembered offset the skill layer applied to a call (default: what the memory says now)
        self.remembered = remembered or self.memory.offset_for
        self.task_memory = CorrectionMemory(None)  # this task's corrections: replans keep them
        self.frame, self.on_status, self.clock, self.source = frame, on_status, clock, source
        self.instruction = ""  # the running task's instruction (set by whoever starts tasks)
        self.task_id = ""
        self.on_task_start: list[Callable[[CorrectionMemory], None]] = []  # e.g. a MemoryPlanner takes the task memory
        self.latencies_ms: list[float] = []
        self.understood: list[Understanding] = []  # every correction handled, in order
        self._lock = threading.RLock()
        self._state = "idle"  # the executive's latest state (observe_status)
        self._waiting: list[list] = []  # [perf_counter when said, effect kind awaited, statuses to skip]
        self._question: AmbiguousReferenceError | None = None
        self._answer: str | None = None
        self._answered = threading.Event()

    # ------------------------------------------------------------------ task lifecycle
    def start_task(self, instruction: str, task_id: str = "") -> None:
        """A new task begins: its instruction grounds corrections; last task's standing offsets go."""
        with self._lock:
            self.instruction, self.task_id = instruction, task_id
            self.task_offsets.clear()
            self.task_memory = CorrectionMemory(None)
            for hook in self.on_task_start:
                hook(self.task_memory)

    def wrap_planner(self, planner: Planner, apply_memory: bool = True, ask_timeout_s: float = 0.0) -> MemoryPlanner:
        """`planner` in a `MemoryPlanner` that this handler corrects: the memory's rules (when
        `apply_memory`), each task's own corrections, and (`ask_timeout_s` > 0) an ambiguous
        referent asked back and waited for."""
        wrapped = MemoryPlanner(planner, self.memory if apply_memory else CorrectionMemory(None),
                                ask=(lambda err: self.ask(err, ask_timeout_s)) if ask_timeout_s > 0 else None)
        self.planner = wrapped
        self.on_task_start.append(lambda task_memory: setattr(wrapped, "task_memory", task_memory))
        return wrapped

    # ------------------------------------------------------------------ effects (latency)
    def observe_status(self, status: ExecutiveStatus) -> None:
        """Feed every executive status here (the executive's own, not the handler's): the state
        corrections are announced in, and the effect of skip/pause/resume/cancel (the status after
        the edit's own announcement)."""
        if status.correction_level:
            return
        self._state = status.state
        self.effect("status")

    def observe_plan(self, plan: Plan) -> None:
        """Feed every plan the executive adopts here: the effect of replace, replan and answers."""
        self.effect("plan")

    def follow(self, executive) -> None:
        """Chain `observe_status`/`observe_plan` in front of `executive`'s own status and plan hooks."""
        status, plan = executive.on_status, executive.on_plan

        def on_status(message: ExecutiveStatus) -> None:
            self.observe_status(message)
            if status is not None:
                status(message)

        def on_plan(message: Plan) -> None:
            self.observe_plan(message)
            if plan is not None:
                plan(message)
        executive.on_status, executive.on_plan = on_status, on_plan

    def effect(self, kind: str) -> None:
        """Something a correction asked for took effect ("motion": the first control tick with a new
        offset; "plan"; "status"): latency of the oldest correction waiting for it."""
        now = time.perf_counter()
        with self._lock:
            for entry in self._waiting:
                said, awaited, skip = entry
                if awaited == kind:
                    if skip:
                        entry[2] -= 1
                        return
                    self.latencies_ms.append((now - said) * 1000.0)
                    self._waiting.remove(entry)
                    return

    # ------------------------------------------------------------------ questions from the planner
    def ask(self, error: AmbiguousReferenceError, timeout_s: float = 60.0) -> str | None:
        """Put the planner's question on the status channel and wait for the answer (an object name);
        None after `timeout_s`. The answer may arrive before the wait starts (same thread)."""
        with self._lock:
            self._question, self._answer = error, None
            self._answered.clear()
        self._status("planning", f"Question: {error}", level="question", text="")
        self._answered.wait(timeout_s)
        with self._lock:
            answer, self._question = self._answer, None
        return answer

    @property
    def question(self) -> AmbiguousReferenceError | None:
        return self._question

    # ------------------------------------------------------------------ corrections
    def handle(self, text: str, source: str | None = None) -> Understanding:
        """Understand and apply one correction (thread-safe); see the module docstring."""
        said = time.perf_counter()
        if not isinstance(text, str):
            raise UsageError(f"a correction must be text, got {type(text).__name__}")
        with self._lock:
            plan, index = self.executive.current if self.executive is not None else (None, -1)
            scene = self._scene()
            ctx = CorrectionContext(scene=scene, plan=plan, step_index=index, instruction=self.instruction
                                    or (plan.instruction if plan is not None else ""), question=self._question)
            u = interpret(text, ctx, Grounder(scene) if scene is not None else None)
            entry = [said, _awaited(u), 1 if u.edit in ("skip", "pause", "resume", "cancel") else 0]
            self._waiting.append(entry)  # before applying: the effect may come from another thread at once
            rules, live = self._apply(u, ctx)
            if not live or u.level == "question":
                self._waiting.remove(entry)
            self.understood.append(u)
        if u.level == "question":
            self._status(self._state, f"Question: {u.question}", level="question", text=text)
        else:
            self._status(self._state, f"Understood ({u.level}): {u.summary}", level=u.level, text=text)
        self._remember(u, ctx, rules, source or self.source)
        return u

    def _scene(self) -> SceneObjects | None:
        try:
            return self.scene() if self.scene is not None else None
        except Exception:  # no perception yet
            return None

    def _apply(self, u: Understanding, ctx: CorrectionContext) -> tuple[list[dict], str]:
        """Carry out `u`; returns (rules for the memory, effect kind to time or "")."""
        if u.answer:
            if self._question is not None:
                self._answer = u.answer
                self._answered.set()
                return [{"kind": "referent", "phrase": self._question.phrase, "object": u.answer}], "plan"
            u.level, u.summary = "question", f"There is no question to answer; did you mean 'no, the {display(u.answer)}'?"
            u.question = u.summary
            return [], ""
        if u.level == "question":
            return [], ""
        if u.offset is not None:
            return self._motion(u, ctx)
        if u.skill_offset is not None:
            skill, noun, offset = u.skill_offset
            step = ctx.step
            live = step is not None and step.skill == skill and self.adjust is not None and \
                (not noun or ObjectName.parse(str(step.args.get("object", ""))).head == noun)
            self.task_offsets.add(skill, noun, offset, except_call=step.to_text() if live else "")
            if self.skill_offset is not None:
                self.skill_offset(skill, noun, offset, step.to_text() if live else "")
            if live:
                self.adjust(offset)
            probe = step if live else SkillCall(skill, {"object": f"x {noun}"} if noun else {})
            total = (self.remembered(probe) or MotionOffset()) + offset  # on top of the remembered fix in use
            return [{"kind": "offset", "skill": skill, "noun": noun, "offset": total.to_dict()}], \
                "motion" if live else ""
        if u.alias:
            return self._alias(u, ctx)
        if u.edit and u.edit != "replace":
            return self._edit(u, u.edit), "plan"
        if u.edit == "replace":
            steps = self._new_steps(u, ctx)
            if steps is None:
                return [], ""
            rules = []
            for old, new in u.substitute.items():
                kind = "target" if u.level == "plan" else "object"
                rules.append({"kind": kind, "from": old, "to": new})
            return rules + self._edit(u, "replace", steps), "plan"
        return [], ""

    def _motion(self, u: Understanding, ctx: CorrectionContext) -> tuple[list[dict], str]:
        if self.adjust is None:
            self._to_question(u, "I cannot move the running skill from here (no skill layer connected).")
            return [], ""
        applied_to = self.adjust(u.offset)
        if not applied_to and ctx.step is not None:
            u.summary += "; no skill runs at this moment, so it applies to the next one"
        step = ctx.step
        rules = []
        if step is not None and step.skill in ("grasp", "release", "position_over", "move_to", "push", "lift"):
            obj = step.args.get("object")
            noun = ObjectName.parse(obj).head if isinstance(obj, str) else ""
            live = _live_total(self, u.offset) if applied_to else u.offset  # nothing ran: only this one waits
            total = (self.remembered(step) or MotionOffset()) + live
            total = MotionOffset(total.base_dx_m, total.base_dy_m, total.arm_dx_m, total.arm_dz_m)  # speed: situational
            if not total.is_zero:
                rules.append({"kind": "offset", "skill": step.skill, "noun": noun, "offset": total.to_dict()})
        return rules, "motion"

    def _alias(self, u: Understanding, ctx: CorrectionContext) -> tuple[list[dict], str]:
        rules = [{"kind": "alias", "phrase": p, "object": o} for p, o in u.alias.items()]
        instruction = ctx.instruction
        if ctx.plan is None or not instruction:
            return rules, ""
        from robomatrix.corrections.memory import rewrite_aliases

        rewritten, applied = rewrite_aliases(instruction, u.alias)
        if not applied:
            return rules, ""
        u.instruction = rewritten
        steps = self._plan_steps(u, rewritten, ctx.scene)
        if steps is None:
            return rules, ""
        u.summary += f"; the rest of the task becomes: {rewritten}"
        return rules + self._edit(u, "replace", steps), "plan"

    def _new_steps(self, u: Understanding, ctx: CorrectionContext) -> list[SkillCall] | None:
        """The replacement steps for a "replace" understanding (None: turned into a question)."""
        remaining = ctx.remaining
        if ctx.plan is None:
            self._to_question(u, f"No task is running. Say it as a task instead, e.g. "
                                 f"'{u.instruction or 'put the red can in the box'}'.")
            return None
        if u.release_now:
            held = ctx.scene.held if ctx.scene is not None else None
            keep = [s for s in remaining if not (s.args.get("object") == held
                                                 and s.skill in ("lift", "position_over", "release"))]
            return [SkillCall("release", {"object": held})] + keep
        if u.where in ("before", "after"):
            scene = ctx.scene
            if u.where == "after" and scene is not None:  # planned for the world after the rest: facts unknown
                scene = SceneObjects(objects=scene.objects, known=scene.known)
            steps = self._plan_steps(u, u.instruction, scene)
            if steps is None:
                return None
            return steps + remaining if u.where == "before" else remaining + steps
        if u.instruction:
            steps = self._plan_steps(u, u.instruction, ctx.scene, quiet=bool(u.substitute))
            if steps:
                return steps
        if u.substitute:
            from robomatrix.corrections.memory import retarget, substitute_object

            steps = remaining
            for old, new in u.substitute.items():
                steps = retarget(steps, old, new, ctx.scene) if u.level == "plan" else \
                    substitute_object(steps, old, new)
            return steps
        self._to_question(u, f"I understood '{u.summary}' but cannot turn it into steps.")
        return None

    def _plan_steps(self, u: Understanding, instruction: str, scene, quiet: bool = False) -> list[SkillCall] | None:
        if self.planner is None or scene is None:
            if not quiet:
                self._to_question(u, "I cannot plan that here (no planner or no scene).")
            return None
        try:
            inner = getattr(self.planner, "inner", self.planner)  # the memory's rules must not undo this
            steps = list(inner.plan(instruction, scene).steps)
        except PlanningError as exc:
            if not quiet:
                self._to_question(u, f"I cannot do '{instruction}': {exc}")
            return None
        if not steps and not quiet:
            self._to_question(u, f"'{instruction}' needs no steps now; what should change?")
            return None
        return steps

    def _edit(self, u: Understanding, kind: str, steps: list[SkillCall] | None = None) -> list[dict]:
        from robomatrix.executive.core import PlanEdit

        if self.executive is None:
            self._to_question(u, "No executive is running here to change the task.")
            return []
        plan, _ = self.executive.current
        if plan is None and kind != "resume":
            self._to_question(u, f"No task is running, so there is nothing to {kind}.")
            return []
        self.executive.edit(PlanEdit(kind, steps or [], reason=f"{u.text!r}: {u.summary}"))
        return []

    def _to_question(self, u: Understanding, question: str) -> None:
        u.level, u.summary, u.question = "question", question, question
        u.edit, u.offset = "", None

    # ------------------------------------------------------------------ announcing and remembering
    def _status(self, state: str, message: str, level: str, text: str) -> None:
        if self.on_status is None:
            return
        plan, index = self.executive.current if self.executive is not None else (None, -1)
        running = plan.steps[index].skill if plan is not None and 0 <= index < len(plan.steps) else ""
        fields: dict[str, Any] = dict(state=state, step_index=index, message=message, plan_id=plan.id if plan else "",
                                      step_count=len(plan.steps) if plan else 0, skill=running,
                                      task_id=self.task_id, stamp=float(self.clock()))
        self.on_status(ExecutiveStatus(**fields, correction=text, correction_level=level))

    def _remember(self, u: Understanding, ctx: CorrectionContext, rules: list[dict], source: str) -> None:
        frame = None
        if self.frame is not None:
            try:
                frame = self.frame()
            except Exception:  # no camera frame yet
                frame = None
        record = CorrectionRecord(
            text=u.text, level=u.level, understood=u.summary, instruction=ctx.instruction,
            plan=[s.to_dict() for s in ctx.plan.steps] if ctx.plan is not None else [], step_index=ctx.step_index,
            scene=ctx.scene.to_dict() if ctx.scene is not None else {},
            change={k: v for k, v in u.to_dict().items() if k not in ("text", "summary")},
            rules=rules if u.level != "question" else [], source=source)
        self.memory.add(record, frame)
        if record.rules:
            self.task_memory.add(CorrectionRecord(**{**record.to_dict(), "frame": None}))


def _awaited(u: Understanding) -> str:
    """The effect that shows a correction worked (see `CorrectionHandler.effect`)."""
    if u.offset is not None or u.skill_offset is not None:
        return "motion"
    if u.answer or u.edit in ("replace", "replan") or u.alias:
        return "plan"
    return "status" if u.edit else ""


def _live_total(handler: CorrectionHandler, offset: MotionOffset) -> MotionOffset:
    """The running skill's live offset after this correction (the runner keeps it; in a graph, only
    this correction is known here)."""
    live = handler.live_offset() if handler.live_offset is not None else None
    return live if live is not None else offset
