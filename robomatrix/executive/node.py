"""`executive`: the scheduling layer's executive as a ROS 2 node (a thin wrapper around `Executive`).

Subscribes
  /robomatrix/task        std_msgs/String (Task JSON)        an instruction to carry out; a new task
                                                             while one runs cancels it and runs next
  /robomatrix/scene       std_msgs/String (SceneObjects JSON) perception's tracked memory (preferred)
  /robomatrix/detections  std_msgs/String (Detections JSON)  what perception sees (fallback)
  /odom                   nav_msgs/Odometry                  base pose: the monitor compares positions in odom
Publishes (latched)
  /robomatrix/plan        std_msgs/String (Plan JSON)        each plan, and each new plan after a replan
  /robomatrix/status      std_msgs/String (ExecutiveStatus)  planning / executing step i / replanning /
                                                             succeeded / failed (with the reason)
Action client
  /robomatrix/skill       the `skill_server` node's action: one goal per plan step

The planner's scene is the latest `/robomatrix/scene` from perception_node (positions, in-view
flags, held object, drawer state, containment). Until one arrives, or without a perception node
that publishes it, the scene is built from the latest detections plus every object seen since the
node started (known, not in view) — visibility alone, without what is held or inside what.

While a skill runs, the executive's monitor (`robomatrix.executive.monitor`) watches the tracked
scene (with the odometry pose it arrived at) and stops the skill when it can no longer succeed;
recovery (backtrack, replan) and its reason go out on /robomatrix/status and into the log.

Parameters: planner, max_retries_per_step, max_replans, max_backtracks, replan (false: plain
retries only), action_name, scene_wait_s.
"""
from __future__ import annotations

import json
import queue
import threading

from robomatrix import comm
from robomatrix.errors import UsageError
from robomatrix.executive.core import Executive, ExecutiveConfig
from robomatrix.executive.executors import SKILL_ACTION, ActionSkillExecutor
from robomatrix.executive.monitor import Monitor, WorldView
from robomatrix.executive.verify import PlacementVerifier
from robomatrix.hardware import conversions as conv
from robomatrix.messages import Detections, ExecutiveStatus, Plan, Task
from robomatrix.msgs import Odometry, String
from robomatrix.node_main import run_node
from robomatrix.planners.base import SceneObjects, make_planner


class PerceivedScene:
    """The planner's scene from perception's messages (thread-safe): the tracked scene when
    perception publishes one, else detections plus the names seen so far."""

    def __init__(self, clock=None):
        self._lock = threading.Lock()
        self._clock = clock  # () -> seconds, the stamp of a scene's WorldView
        self._latest: Detections | None = None
        self._scene: SceneObjects | None = None
        self._base_pose: tuple[float, float, float] | None = None  # latest odometry (x, y, yaw)
        self._view: WorldView | None = None
        self._known: set[str] = set()
        self._received = threading.Event()

    def update(self, detections: Detections) -> None:
        with self._lock:
            self._latest = detections
            self._known.update(d.name for d in detections.detections)
        self._received.set()

    def update_scene(self, msg: String) -> None:
        """A `SceneObjects.to_dict()` JSON; a malformed one raises ValueError (the caller logs it)."""
        scene = SceneObjects.from_dict(json.loads(msg.data))
        with self._lock:
            self._scene = scene
            if self._base_pose is not None and self._clock is not None:
                self._view = WorldView.from_scene(scene, self._base_pose, float(self._clock()), self._view)
        self._received.set()

    def update_odometry(self, msg: Odometry) -> None:
        p = msg.pose.pose
        with self._lock:
            self._base_pose = (float(p.position.x), float(p.position.y), conv.quaternion_to_yaw(p.orientation))

    def view(self) -> WorldView | None:
        """The tracked scene in the odom frame, for the monitor (None before scene and odometry arrive)."""
        with self._lock:
            return self._view

    def wait(self, timeout_s: float) -> bool:
        return self._received.wait(timeout_s)

    @property
    def tracked(self) -> bool:
        """Whether perception's tracked scene (with held/contained facts) has arrived."""
        return self._scene is not None

    def __call__(self) -> SceneObjects:
        with self._lock:
            if self._scene is not None:
                return self._scene
            latest = self._latest or Detections(stamp=0.0)
            return SceneObjects.from_detections(latest, known=set(self._known))


class ExecutiveNode(comm.Node):
    def __init__(self, **node_kwargs):
        super().__init__("executive", **node_kwargs)
        p = self.declare_parameter
        planner = p("planner", "rule", description="planner name (rule, ...)").value
        retries = p("max_retries_per_step", 1, description="retries of a failed skill before replanning").value
        replans = p("max_replans", 3, description="replans allowed per task").value
        backtracks = p("max_backtracks", 3, description="returns to an earlier step allowed per task").value
        replan = p("replan", True, description="monitor, backtrack and replan (false: plain retries only)").value
        action_name = p("action_name", SKILL_ACTION, description="the skill server's action").value
        self.scene_wait_s = float(p("scene_wait_s", 10.0, description="wait for detections before planning, s").value)
        try:
            config = ExecutiveConfig(max_retries_per_step=int(retries), max_replans=int(replans),
                                     max_backtracks=int(backtracks), replan=_flag("replan", replan))
        except UsageError as exc:
            raise UsageError(f"node 'executive': {exc}") from None
        self.pub_plan = self.create_json_publisher(Plan, "/robomatrix/plan", comm.QOS_LATCHED)
        self.pub_status = self.create_json_publisher(ExecutiveStatus, "/robomatrix/status", comm.QOS_LATCHED)
        self.scene = PerceivedScene(clock=self.get_clock().now)
        self.executive = Executive(make_planner(planner), ActionSkillExecutor(self, action_name), self.scene,
                                   config, verify=self._verify, monitor=Monitor(self.scene.view),
                                   on_status=self._on_status, on_plan=self.pub_plan.publish,
                                   clock=self.get_clock().now)
        self._placement = PlacementVerifier(self.scene)
        self._tasks: queue.Queue[Task | None] = queue.Queue()
        self._cancel = threading.Event()
        self._busy = threading.Event()
        self.create_json_subscription(Task, "/robomatrix/task", self._on_task, 10)
        from robomatrix.corrections.node import attach_corrections

        self.corrections = attach_corrections(self)  # /robomatrix/correction → robomatrix.corrections
        self.create_json_subscription(Detections, "/robomatrix/detections", self.scene.update, comm.QOS_SENSOR_DATA)
        self.create_subscription(String, "/robomatrix/scene", self._on_scene, comm.QOS_SENSOR_DATA)
        self.create_subscription(Odometry, "/odom", self.scene.update_odometry, 10)
        self._worker = threading.Thread(target=self._work, name="executive-worker", daemon=True)
        self._worker.start()
        self.pub_status.publish(ExecutiveStatus(state="idle", message="waiting for a task on /robomatrix/task"))
        self.get_logger().info(f"executive ready ({planner} planner, skills via '{action_name}')")

    def _on_status(self, status: ExecutiveStatus) -> None:
        if status.state in ("replanning", "editing"):  # every recovery and edit, with its reason, in the log
            self.get_logger().info(f"{status.state}: {status.message}")
        self.pub_status.publish(status)

    def _verify(self, call, result) -> tuple[bool, str]:
        """Placement re-check (robomatrix.executive.verify), when perception publishes its tracked
        scene: detections alone say nothing about what is inside what."""
        ok, why = self._placement(call, result)
        return ok or not self.scene.tracked, why

    def _on_scene(self, msg: String) -> None:
        try:
            self.scene.update_scene(msg)
        except (ValueError, KeyError, TypeError) as exc:
            self.get_logger().warning(f"Dropped a malformed scene on /robomatrix/scene: {exc}",
                                      throttle_duration_sec=5.0)

    def _on_task(self, task: Task) -> None:
        if self._busy.is_set():
            self.get_logger().info(f"new task '{task.instruction}': canceling the running one")
            self._cancel.set()
        self._tasks.put(task)

    def _work(self) -> None:
        while True:
            task = self._tasks.get()
            if task is None:
                return
            if not self._tasks.empty():  # a newer task is waiting: this one was overtaken
                continue
            self._cancel.clear()
            self._busy.set()
            try:
                self.scene.wait(self.scene_wait_s)
                report = self.executive.run(task.instruction, task.id, cancel=self._cancel.is_set)
                self.get_logger().info(f"task '{task.instruction}': {report.outcome} — {report.reason}")
            except Exception as exc:  # the node must survive a bad task
                self.get_logger().error(f"task '{task.instruction}' crashed: {type(exc).__name__}: {exc}")
                self.pub_status.publish(ExecutiveStatus(state="failed", message=f"internal error: {exc}",
                                                        task_id=task.id))
            finally:
                self._busy.clear()

    def destroy_node(self):
        if hasattr(self, "_worker"):  # absent when __init__ failed on a bad parameter
            self._cancel.set()
            self._tasks.put(None)
        super().destroy_node()


def _flag(name: str, value) -> bool:
    """A boolean parameter given as a bool or as true/false text (launch files pass strings)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise UsageError(f"parameter '{name}' must be true or false, got {value!r}")


def main(args=None):
    """Entry point for `ros2 run robomatrix executive` and `robomatrix launch`."""
    run_node(ExecutiveNode, args)


if __name__ == "__main__":
    main()
