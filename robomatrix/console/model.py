"""What the console page shows, kept thread-safe: the plan with step statuses, the log, the camera.

Backends write into a `ConsoleModel` from their own threads (the simulation loop, DDS callbacks);
the web server reads `snapshot()` and the frames from the asyncio loop. Nothing here knows about
the web or the middleware.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from robomatrix.messages import Detection, ExecutiveStatus, Plan

STEP_STATES = ("pending", "running", "paused", "done", "failed")
LOG_LINES = 500  # the log keeps this many lines; the page gets the ones it has not seen


def step_states(plan: Plan | None, status: ExecutiveStatus | None, results: dict[int, bool]) -> list[str]:
    """One of STEP_STATES per plan step, from the executive's status and the step outcomes seen.

    `results` maps a step index to its last outcome (from the executor's step records, when the
    backend has them); without them, steps before the running one count as done."""
    if plan is None:
        return []
    same_plan = status is not None and (not status.plan_id or status.plan_id == plan.id)
    current = status.step_index if same_plan else -1
    state = status.state if same_plan else ""
    out = []
    for i in range(len(plan.steps)):
        if i in results and (i != current or state in ("succeeded", "failed", "canceled")):
            out.append("done" if results[i] else "failed")
        elif state == "succeeded":
            out.append("done")
        elif i < current:
            out.append("done")
        elif i == current and state == "paused":
            out.append("paused")
        elif i == current and state in ("executing", "verifying", "editing"):
            out.append("running")
        elif i == current and state in ("failed", "canceled"):
            out.append("failed")
        else:
            out.append("pending")
    return out


@dataclass
class Frame:
    """One camera frame as the page gets it."""

    seq: int  # increases by one per frame
    jpeg: bytes  # the RGB image, JPEG
    width: int
    height: int
    stamp_s: float  # the robot's clock
    detections: list[dict]  # Detection.to_dict() of what perception saw in this frame


def encode_jpeg(rgb: np.ndarray, quality: int = 80) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


class ConsoleModel:
    def __init__(self, mode: str):
        self.mode = mode  # "sim" (one process) or "graph" (attached over DDS)
        self._lock = threading.Lock()
        self._log: deque[tuple[int, float, str, str]] = deque(maxlen=LOG_LINES)
        self._log_seq = 0
        self._frame: Frame | None = None
        self._frame_seq = 0
        self.plan: Plan | None = None
        self.status: ExecutiveStatus | None = None
        self._results: dict[int, bool] = {}
        self.odom = (0.0, 0.0, 0.0)  # x m, y m, yaw rad in odom
        self.arm = (0.0, 0.0, 1.0)  # gripper x m, z m, opening 0..1
        self.estop = False
        self.teleop = "idle"  # idle | driving | stopped by watchdog | refused while a task runs
        self.recording: dict = {"active": False}
        self.extra: dict = {}  # backend facts for the page (scene, correction support, ...)

    # ------------------------------------------------------------------ writers
    def log(self, text: str, level: str = "info") -> None:
        with self._lock:
            self._log_seq += 1
            self._log.append((self._log_seq, time.time(), level, text))

    def set_plan(self, plan: Plan) -> None:
        with self._lock:
            if self.plan is None or plan.task_id != self.plan.task_id or plan.id != self.plan.id:
                self._results = {}
            self.plan = plan
        self.log(f"plan ({len(plan.steps)} steps, {plan.planner or 'planner'}): "
                 + "; ".join(s.to_text() for s in plan.steps))

    def set_status(self, status: ExecutiveStatus) -> None:
        with self._lock:
            old = self.status
            self.status = status
        if old is None or (old.state, old.step_index, old.message) != (status.state, status.step_index, status.message):
            self.log(f"{status.state}: {status.message}" if status.message else status.state,
                     "error" if status.state == "failed" else "info")

    def set_step_result(self, index: int, success: bool) -> None:
        with self._lock:
            self._results[index] = bool(success)

    def set_frame(self, rgb: np.ndarray, stamp_s: float, detections: list[Detection]) -> None:
        jpeg = encode_jpeg(rgb)
        with self._lock:
            self._frame_seq += 1
            self._frame = Frame(self._frame_seq, jpeg, int(rgb.shape[1]), int(rgb.shape[0]), float(stamp_s),
                                [d.to_dict() for d in detections])

    # ------------------------------------------------------------------ readers
    def frame(self) -> Frame | None:
        with self._lock:
            return self._frame

    def log_since(self, seq: int) -> list[dict]:
        with self._lock:
            return [{"seq": s, "time": t, "level": lv, "text": tx} for s, t, lv, tx in self._log if s > seq]

    def snapshot(self) -> dict:
        """The page's state, JSON-ready (log and frame are sent separately)."""
        with self._lock:
            plan, status, results = self.plan, self.status, dict(self._results)
            frame = self._frame
            out = {
                "mode": self.mode, "odom": [round(v, 4) for v in self.odom], "arm": [round(v, 4) for v in self.arm],
                "estop": self.estop, "teleop": self.teleop, "recording": dict(self.recording), **self.extra,
            }
        out["plan"] = None if plan is None else {
            "instruction": plan.instruction, "planner": plan.planner, "id": plan.id,
            "steps": [{"text": s.to_text(), "skill": s.skill, "args": s.args} for s in plan.steps],
            "states": step_states(plan, status, results)}
        out["status"] = None if status is None else status.to_dict()
        out["frame"] = None if frame is None else {"seq": frame.seq, "width": frame.width, "height": frame.height,
                                                   "stamp": round(frame.stamp_s, 3),
                                                   "detections": frame.detections}
        return out
