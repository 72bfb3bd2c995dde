"""Action-style long-running work (goal, feedback, result, cancel) over plain topics.

An action `<name>` uses five std_msgs/String topics carrying JSON, so it works on every
transport and `ros2 topic echo` can read it:

  <name>/_action/goal      client → server  {"goal_id", "goal": {...}}
  <name>/_action/cancel    client → server  {"goal_id"}
  <name>/_action/feedback  server → client  {"goal_id", "feedback": {...}}
  <name>/_action/status    server → client  {"goal_id", "status", "reason"}     (latched)
  <name>/_action/result    server → client  {"goal_id", "status", "result": {...}, "reason"}  (latched)

Statuses: pending (client side, not yet answered), accepted, rejected, executing,
canceling, succeeded, aborted, canceled. The server runs each accepted goal's
`execute_callback(goal_handle) -> dict` in its own worker thread, so the node keeps
spinning (and cancel requests reach the running callback). Goal policy while a goal
runs: 'reject' (default, with a reason), 'preempt' (cancel the running goal, then run
the new one), or 'parallel'.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from robomatrix.comm.transport import Durability, QoSProfile
from robomatrix.errors import RoboMatrixError, UsageError
from robomatrix.msgs import String

TERMINAL = ("rejected", "succeeded", "aborted", "canceled")
GOAL_POLICIES = ("reject", "preempt", "parallel")
_COMMAND_QOS = QoSProfile(depth=10)
_LATCHED_QOS = QoSProfile(depth=20, durability=Durability.TRANSIENT_LOCAL)


class ActionTimeout(RoboMatrixError, TimeoutError):
    """An action goal got no result in time."""


def _topics(name: str) -> dict[str, str]:
    return {kind: f"{name}/_action/{kind}" for kind in ("goal", "cancel", "feedback", "status", "result")}


def _encode(**fields: Any) -> String:
    return String(data=json.dumps(fields, separators=(",", ":")))


def _decode(node, msg: String, required: tuple[str, ...]) -> dict | None:
    try:
        data = json.loads(msg.data)
        if not isinstance(data, dict) or not all(k in data for k in required):
            raise ValueError(f"expected a JSON object with {', '.join(required)}")
        if not isinstance(data["goal_id"], str):
            raise ValueError("goal_id must be a string")
        return data
    except ValueError as exc:
        node.get_logger().warning(f"Dropped a malformed action message: {exc}", throttle_duration_sec=5.0)
        return None


# ====================================================================== server
class ServerGoalHandle:
    """What the execute callback gets: `goal`, `publish_feedback`, `is_cancel_requested`, the end state."""

    def __init__(self, server: ActionServer, goal_id: str, goal: dict):
        self.goal_id, self.goal = goal_id, goal
        self._server = server
        self._cancel = threading.Event()
        self._go = threading.Event()
        self.status = "accepted"
        self.reason = ""
        self.thread: threading.Thread | None = None

    @property
    def is_cancel_requested(self) -> bool:
        return self._cancel.is_set()

    @property
    def is_active(self) -> bool:
        return self.status not in TERMINAL

    def wait_for_cancel(self, timeout_sec: float) -> bool:
        """Sleep up to `timeout_sec`, waking early when a cancel arrives; returns whether one did."""
        return self._cancel.wait(timeout_sec)

    def publish_feedback(self, feedback: dict) -> None:
        if not isinstance(feedback, dict):
            raise TypeError(f"feedback must be a dict, got {type(feedback).__name__}")
        self._server._publish("feedback", goal_id=self.goal_id, feedback=feedback)

    def _end(self, status: str, reason: str) -> None:
        if self.status not in TERMINAL:
            self.status, self.reason = status, reason

    def succeed(self, reason: str = "") -> None:
        self._end("succeeded", reason)

    def abort(self, reason: str = "") -> None:
        self._end("aborted", reason)

    def canceled(self, reason: str = "canceled on request") -> None:
        self._end("canceled", reason)


class ActionServer:
    """Serves goals for action `name` on `node`; see the module docstring.

    `goal_callback(goal: dict)` may return False or (False, reason) to reject a goal;
    `cancel_callback(goal_handle)` may return False to refuse a cancel. If the execute
    callback returns without calling succeed/abort/canceled, the goal ends succeeded —
    or canceled when a cancel was requested; an exception aborts it with its message.
    """

    def __init__(self, node, name: str, execute_callback: Callable[[ServerGoalHandle], dict | None],
                 goal_callback: Callable[[dict], Any] | None = None,
                 cancel_callback: Callable[[ServerGoalHandle], bool] | None = None,
                 goal_policy: str = "reject"):
        if goal_policy not in GOAL_POLICIES:
            raise UsageError(f"Unknown goal policy '{goal_policy}'. Valid: {', '.join(GOAL_POLICIES)}.")
        self.node, self.name, self.goal_policy = node, name, goal_policy
        self.execute_callback, self.goal_callback, self.cancel_callback = \
            execute_callback, goal_callback, cancel_callback
        self._lock = threading.Lock()
        self._goals: dict[str, ServerGoalHandle] = {}
        self._closed = False
        topics = _topics(name)
        self._pubs = {
            "feedback": node.create_publisher(String, topics["feedback"], _COMMAND_QOS),
            "status": node.create_publisher(String, topics["status"], _LATCHED_QOS),
            "result": node.create_publisher(String, topics["result"], _LATCHED_QOS),
        }
        self._subs = [
            node.create_subscription(String, topics["goal"], self._on_goal, _COMMAND_QOS),
            node._create_direct_subscription(String, topics["cancel"], self._on_cancel, _COMMAND_QOS),
        ]
        node._add_destroy_hook(self.destroy)

    def _publish(self, kind: str, **fields: Any) -> None:
        try:
            self._pubs[kind].publish(_encode(**fields))
        except RuntimeError:  # endpoint closed during shutdown
            pass

    @property
    def active_goals(self) -> list[ServerGoalHandle]:
        with self._lock:
            return [h for h in self._goals.values() if h.is_active]

    def _reject(self, goal_id: str, reason: str) -> None:
        self.node.get_logger().info(f"Rejected goal {goal_id[:8]} on '{self.name}': {reason}")
        self._publish("status", goal_id=goal_id, status="rejected", reason=reason)
        self._publish("result", goal_id=goal_id, status="rejected", result={}, reason=reason)

    def _on_goal(self, msg: String) -> None:
        data = _decode(self.node, msg, ("goal_id", "goal"))
        if data is None or self._closed:
            return
        goal_id, goal = data["goal_id"], data["goal"]
        with self._lock:
            if goal_id in self._goals:
                return  # a duplicate (replayed) goal
        if not isinstance(goal, dict):
            return self._reject(goal_id, f"the goal must be a JSON object, got {type(goal).__name__}")
        if self.goal_callback is not None:
            verdict = self.goal_callback(goal)
            ok, reason = verdict if isinstance(verdict, tuple) else (verdict, "")
            if not ok:
                return self._reject(goal_id, reason or "refused by the server")
        running = self.active_goals
        if running and self.goal_policy == "reject":
            busy = running[0]
            return self._reject(goal_id, f"busy: goal {busy.goal_id[:8]} is still running "
                                         f"({json.dumps(busy.goal)[:80]}); cancel it first")
        handle = ServerGoalHandle(self, goal_id, goal)
        to_wait = []
        if running and self.goal_policy == "preempt":
            for other in running:
                self._request_cancel(other, "preempted by a new goal")
                to_wait.append(other.thread)
        handle.thread = threading.Thread(target=self._execute, args=(handle, to_wait), daemon=True,
                                         name=f"action:{self.name}:{goal_id[:8]}")
        with self._lock:
            self._goals[goal_id] = handle
            handle.thread.start()  # started before anyone can see (and join) it
        self._publish("status", goal_id=goal_id, status="accepted", reason="")
        handle._go.set()  # 'accepted' goes out before 'executing'

    def _execute(self, handle: ServerGoalHandle, to_wait: list) -> None:
        handle._go.wait()
        for thread in to_wait:
            if thread is not None:
                thread.join()
        result: Any = {}
        if handle.is_cancel_requested:
            handle.canceled()
        else:
            self._publish("status", goal_id=handle.goal_id, status="executing", reason="")
            try:
                result = self.execute_callback(handle)
            except Exception as exc:  # the goal fails, the server lives on
                self.node.get_logger().error(f"Goal {handle.goal_id[:8]} on '{self.name}' raised "
                                             f"{type(exc).__name__}: {exc}")
                handle.abort(f"{type(exc).__name__}: {exc}")
            if result is None:
                result = {}
            if not isinstance(result, dict):
                handle.abort(f"execute callback returned {type(result).__name__}, not a dict")
                result = {}
            if handle.is_cancel_requested:
                handle.canceled()
            handle.succeed()
        self._publish("status", goal_id=handle.goal_id, status=handle.status, reason=handle.reason)
        try:
            json.dumps(result)
        except (TypeError, ValueError) as exc:
            handle.status, handle.reason, result = "aborted", f"result is not JSON-serialisable: {exc}", {}
        self._publish("result", goal_id=handle.goal_id, status=handle.status, result=result, reason=handle.reason)
        with self._lock:
            # keep a few finished goals so late duplicates are recognised; forget the rest
            finished = [gid for gid, h in self._goals.items() if not h.is_active]
            for gid in finished[:-50]:
                del self._goals[gid]

    def _request_cancel(self, handle: ServerGoalHandle, reason: str) -> None:
        if handle.is_active and not handle.is_cancel_requested:
            handle._cancel.set()
            self._publish("status", goal_id=handle.goal_id, status="canceling", reason=reason)

    def _on_cancel(self, msg: String) -> None:
        data = _decode(self.node, msg, ("goal_id",))
        if data is None:
            return
        with self._lock:
            handle = self._goals.get(data["goal_id"])
        if handle is None or not handle.is_active:
            return
        if self.cancel_callback is not None and self.cancel_callback(handle) is False:
            self._publish("status", goal_id=handle.goal_id, status=handle.status, reason="cancel refused")
            return
        self._request_cancel(handle, "cancel requested")

    def destroy(self, timeout_sec: float = 2.0) -> None:
        """Cancel running goals and wait (up to `timeout_sec`) for their workers to report."""
        self._closed = True
        running = self.active_goals
        for handle in running:
            self._request_cancel(handle, "server shutting down")
        deadline = time.monotonic() + timeout_sec
        for handle in running:
            if handle.thread is not None and handle.thread is not threading.current_thread():
                handle.thread.join(max(0.0, deadline - time.monotonic()))


# ====================================================================== client
class ClientGoalHandle:
    """A sent goal: `status`, `reason`, `accepted`, `result(timeout_sec)`, `cancel()`, `done()`."""

    def __init__(self, client: ActionClient, goal_id: str, goal: dict, feedback_callback):
        self.goal_id, self.goal = goal_id, goal
        self._client = client
        self._feedback_callback = feedback_callback
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._answered = threading.Event()
        self.status = "pending"
        self.reason = ""
        self._result: dict = {}
        self._done_callbacks: list = []

    @property
    def accepted(self) -> bool | None:
        """None until the server answers; then whether it accepted the goal."""
        if self.status == "pending":
            return None
        return self.status != "rejected"

    def done(self) -> bool:
        return self._done.is_set()

    def wait_for_acceptance(self, timeout_sec: float | None = None) -> bool | None:
        self._answered.wait(timeout_sec)
        return self.accepted

    def result(self, timeout_sec: float | None = None) -> dict:
        """The execute callback's result dict (empty when rejected); see `status` for how it ended."""
        if not self._done.wait(timeout_sec):
            hint = (" — no server answered: is it running? (ActionClient.wait_for_server)"
                    if self.status == "pending" else "")
            raise ActionTimeout(f"Action '{self._client.name}' goal {self.goal_id[:8]} got no result within "
                                f"{timeout_sec:g} s (status: {self.status}){hint}.")
        return self._result

    def cancel(self) -> None:
        if not self.done():
            self._client._publish("cancel", goal_id=self.goal_id)

    def add_done_callback(self, callback: Callable[[ClientGoalHandle], None]) -> None:
        """`callback(handle)` runs on the client node's executor once the result is in."""
        with self._lock:
            if not self._done.is_set():
                self._done_callbacks.append(callback)
                return
        self._client.node._enqueue_call(lambda: callback(self))

    def _set_status(self, status: str, reason: str) -> None:
        with self._lock:
            if self._done.is_set() or status in TERMINAL and status != "rejected":
                return
            self.status, self.reason = status, reason
        self._answered.set()

    def _set_result(self, status: str, result: dict, reason: str) -> None:
        with self._lock:
            if self._done.is_set():
                return
            self.status, self.reason, self._result = status, reason, result if isinstance(result, dict) else {}
            self._done.set()
            callbacks, self._done_callbacks = self._done_callbacks, []
        self._answered.set()
        for callback in callbacks:
            self._client.node._enqueue_call(lambda cb=callback: cb(self))

    def __repr__(self) -> str:
        return f"<ClientGoalHandle {self.goal_id[:8]} {self.status}>"


class ActionClient:
    """Sends goals to action `name`. Status and results are tracked as they arrive (no spinning
    needed for `handle.result()`); feedback callbacks run on the node's executor."""

    def __init__(self, node, name: str):
        self.node, self.name = node, name
        self._lock = threading.Lock()
        self._handles: dict[str, ClientGoalHandle] = {}
        topics = _topics(name)
        self._pubs = {
            "goal": node.create_publisher(String, topics["goal"], _COMMAND_QOS),
            "cancel": node.create_publisher(String, topics["cancel"], _COMMAND_QOS),
        }
        self._subs = [
            node._create_direct_subscription(String, topics["status"], self._on_status, _LATCHED_QOS),
            node._create_direct_subscription(String, topics["result"], self._on_result, _LATCHED_QOS),
            node._create_direct_subscription(String, topics["feedback"], self._on_feedback, _COMMAND_QOS),
        ]

    def _publish(self, kind: str, **fields: Any) -> None:
        self._pubs[kind].publish(_encode(**fields))

    def server_is_ready(self) -> bool:
        return all(p.get_subscription_count() > 0 for p in self._pubs.values())

    def wait_for_server(self, timeout_sec: float | None = None) -> bool:
        deadline = None if timeout_sec is None else time.monotonic() + timeout_sec
        while not self.server_is_ready():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def send_goal(self, goal: dict, feedback_callback: Callable[[dict], None] | None = None) -> ClientGoalHandle:
        """Send `goal` (a JSON-serialisable dict); returns at once with a handle."""
        if not isinstance(goal, dict):
            raise UsageError(f"An action goal must be a dict, got {type(goal).__name__}.")
        try:
            json.dumps(goal)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"An action goal must be JSON-serialisable: {exc}.") from None
        goal_id = uuid.uuid4().hex
        handle = ClientGoalHandle(self, goal_id, goal, feedback_callback)
        with self._lock:
            self._handles[goal_id] = handle
        self._publish("goal", goal_id=goal_id, goal=goal)
        return handle

    def _handle(self, msg: String, required: tuple[str, ...]) -> tuple[ClientGoalHandle | None, dict]:
        data = _decode(self.node, msg, required)
        if data is None:
            return None, {}
        with self._lock:
            return self._handles.get(data["goal_id"]), data

    def _on_status(self, msg: String) -> None:
        handle, data = self._handle(msg, ("goal_id", "status"))
        if handle is not None:
            handle._set_status(str(data["status"]), str(data.get("reason", "")))

    def _on_result(self, msg: String) -> None:
        handle, data = self._handle(msg, ("goal_id", "status"))
        if handle is not None:
            handle._set_result(str(data["status"]), data.get("result", {}), str(data.get("reason", "")))
            with self._lock:
                self._handles.pop(handle.goal_id, None)

    def _on_feedback(self, msg: String) -> None:
        handle, data = self._handle(msg, ("goal_id", "feedback"))
        if handle is None or handle.done() or handle._feedback_callback is None:
            return
        feedback, callback = data["feedback"], handle._feedback_callback
        self.node._enqueue_call(lambda: callback(feedback))
