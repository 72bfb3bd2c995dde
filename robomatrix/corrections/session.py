"""Corrections in one process: how `SimSession` (robomatrix.run) gets a correction handler and memory.

`SessionCorrections(session)` wraps the session's planner in a `MemoryPlanner`, hangs the memory's
remembered offsets and the task's standing offsets on every new skill runner, and follows the
executive of each run. `SimSession.correct(text)` calls `handle`, from any thread; what was
understood goes out through the session's status hook (and its MCAP log, when said on the thread
that runs the task).
"""
from __future__ import annotations

import threading

from robomatrix.corrections.handler import CorrectionHandler
from robomatrix.corrections.interpret import Understanding
from robomatrix.corrections.memory import CorrectionMemory
from robomatrix.messages import Correction, ExecutiveStatus


class SessionCorrections:
    """The corrections side of one `SimSession` (module docstring)."""

    def __init__(self, session, memory_dir: str | None = None, apply_memory: bool = True,
                 ask_timeout_s: float = 0.0):
        self.session = session
        self.memory = CorrectionMemory(memory_dir)
        self.apply_memory = apply_memory  # False: record corrections, but do not apply old ones
        self._run_thread: threading.Thread | None = None
        self._last_rgb = None
        self._applied: dict[tuple[str, str], object] = {}  # (skill, object) → remembered offset applied this task
        self.handler = CorrectionHandler(None, None, self._scene, adjust=self._adjust, live_offset=self._live_offset,
                                         memory=self.memory,
                                         remembered=lambda call: self._applied.get(_key(call)),
                                         frame=lambda: self._last_rgb, on_status=self._status,
                                         clock=session._now)
        # ask_timeout_s > 0: an ambiguous referent is asked back and waited for
        self.planner = session.planner = self.handler.wrap_planner(session.planner, apply_memory, ask_timeout_s)

    # ------------------------------------------------------------------ wiring
    def attach_runner(self, runner) -> None:
        """A new episode's skill runner: remembered and standing offsets, effect timing, frames."""
        if self.apply_memory:
            runner.offset_sources.append(self._remembered_offset)
        runner.offset_sources.append(self.handler.task_offsets)
        runner.on_adjust_applied = lambda offset, call: self.handler.effect("motion")
        inner = runner.on_frame

        def on_frame(obs, label: str) -> None:
            if obs.rgb is not None:
                self._last_rgb = obs.rgb
            if inner is not None:
                inner(obs, label)
        runner.on_frame = on_frame

    def start(self, executive, instruction: str, task_id: str) -> None:
        """A task starts with `executive`: corrections now edit it, and its statuses and plans time them."""
        self._run_thread = threading.current_thread()
        self.handler.executive = executive
        self._applied.clear()
        self.handler.start_task(instruction, task_id)
        self.handler.follow(executive)

    def _remembered_offset(self, call):
        offset = self.memory.offset_for(call)
        self._applied[_key(call)] = offset
        if offset is not None:  # reported with the plan's memory changes (MemoryPlanner.applied)
            note = f"{call.to_text()}: {offset.describe()} (remembered fix)"
            if note not in self.planner.applied:
                self.planner.applied.append(note)
        return offset

    # ------------------------------------------------------------------ the handler's needs
    def _scene(self):
        s = self.session
        return s.scene_objects() if s.perception is not None and s.perception.state is not None else None

    def _adjust(self, offset) -> str:
        runner = self.session.runner
        return runner.adjust(offset) if runner is not None else ""

    def _live_offset(self):
        runner = self.session.runner
        return runner.current_offset() if runner is not None else None

    def _on_run_thread(self) -> bool:
        return self._run_thread is None or threading.current_thread() is self._run_thread

    def _status(self, status: ExecutiveStatus) -> None:
        s = self.session
        if s.log is not None and self._on_run_thread():
            s.log.write_json("/robomatrix/status", status, s._now())
        if s.hooks.on_status is not None:
            s.hooks.on_status(status)

    # ------------------------------------------------------------------ the API
    def handle(self, text: str, source: str = "user") -> Understanding:
        s = self.session
        if s.log is not None and self._on_run_thread():
            s.log.write_json("/robomatrix/correction", Correction(text=text or " ", stamp=s._now(), source=source),
                             s._now())
        return self.handler.handle(text, source)




def _key(call) -> tuple[str, str]:
    return call.skill, str(call.args.get("object", ""))
