"""One process, lock-step: a simulated robot, perception, the skill runner and the executive.

What `robomatrix run`, `robomatrix plan` and `robomatrix bench tasks` use. No middleware: the
skill layer drives the `Robot` directly and the simulation advances with the control loop, as
fast as the CPU allows (simulated seconds, not wall seconds).

    with SimSession(RunConfig(scene="office", seed=3)) as session:
        result = session.run("put the red can in the box")
        print(result.success, result.to_dict())

The planner sees the world only through perception: before planning, the session looks at the
first camera frames; when the planner cannot find something the instruction names, the robot
turns once on the spot (a look-around) and the planner gets a second chance. Optional outputs:
an MP4 of the camera with the running skill written on it, and an MCAP log of every topic the
node graph would carry (see `robomatrix.logs`).
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from robomatrix.errors import UsageError, unknown_name
from robomatrix.executive import ExecutionReport, Executive, ExecutiveConfig, StepRecord
from robomatrix.executive.executors import SKILL_ACTION, RunnerSkillExecutor
from robomatrix.executive.monitor import Monitor, WorldView
from robomatrix.executive.verify import PlacementVerifier
from robomatrix.hardware.robot import Action, make_robot
from robomatrix.logs import HardwareTopics, McapLog, RobotTap
from robomatrix.messages import Detections, ExecutiveStatus, Plan, SkillFeedback, Task
from robomatrix.planners.base import PlanningError, SceneObjects, UnknownObjectError, make_planner
from robomatrix.skills.runner import GOAL_STOP_MODES, RunnerConfig, SkillRunner
from robomatrix.video import VideoWriter, caption

PERCEPTION_KINDS = ("camera", "oracle")
SIM_BACKENDS = ("mujoco", "pybullet")  # robot backends that simulate (SimulatedRobot: lock-step, oracle)


@dataclass
class RunConfig:
    """Everything a one-process run needs."""

    scene: str = "office"  # registered scene name (robomatrix.sim.scenes)
    sim: str = "mujoco"  # simulator backend: one of SIM_BACKENDS (registered robot backends)
    seed: int = 0  # scene randomisation seed
    planner: str = "rule"  # registered planner name
    policy: str = "scripted"  # skill policy kind: scripted | neural
    perception: str = "camera"  # "camera": detection on RGB-D (the default, as on a real robot);
    # "oracle": ground truth from the simulator (ORACLE, for ablations only)
    camera_width: int = 320  # camera image width, px
    camera_height: int = 240  # camera image height, px
    control_rate_hz: float = 20.0  # skill policy/command rate, Hz
    camera_every_n: int = 2  # a camera frame every n control ticks
    goal_stop: str = "auto"  # a skill ends when perception sees its goal: auto (learned policies) | on | off
    time_limit_s: float = 600.0  # simulated seconds a whole task may take
    scan_turn_rate_radps: float = 1.0  # look-around turn rate before planning, rad/s
    video: str | None = None  # MP4 path: the camera stream captioned with the running skill
    log: str | None = None  # MCAP path: every topic, ROS 2 schemas
    log_image_period_s: float = 0.5  # MCAP: at most one camera image per topic this often (the MP4 has every frame)
    executive: ExecutiveConfig = field(default_factory=ExecutiveConfig)
    memory: str | None = None  # corrections memory directory (robomatrix.corrections); None: this process only
    apply_memory: bool = True  # apply remembered corrections (preferences, fixes) to new tasks
    ask_timeout_s: float = 0.0  # > 0: an ambiguous referent is asked back on the status hook and the
    # answer (`SimSession.correct`) waited for this many wall seconds; 0: refused at once

    def __post_init__(self):
        if self.sim not in SIM_BACKENDS:
            raise unknown_name("simulator", self.sim, SIM_BACKENDS)
        if self.perception not in PERCEPTION_KINDS:
            raise unknown_name("perception", self.perception, PERCEPTION_KINDS)
        if self.goal_stop not in GOAL_STOP_MODES:
            raise unknown_name("goal stop mode", self.goal_stop, GOAL_STOP_MODES)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise UsageError(f"RunConfig.seed must be an integer, got {self.seed!r}.")
        for name in ("time_limit_s", "scan_turn_rate_radps", "control_rate_hz"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise UsageError(f"RunConfig.{name} must be a positive number, got {value!r}.")
        if self.log_image_period_s < 0:
            raise UsageError(f"RunConfig.log_image_period_s must be >= 0, got {self.log_image_period_s!r}.")


@dataclass
class RunResult:
    """How one instruction went; `to_dict()` is the `robomatrix run --json` object."""

    instruction: str
    report: ExecutionReport
    sim_time_s: float  # simulated seconds from the first frame to the end
    wall_time_s: float  # wall seconds, planning and look-around included

    @property
    def success(self) -> bool:
        return self.report.success

    @property
    def refused(self) -> bool:
        return self.report.outcome == "refused"

    def to_dict(self) -> dict[str, Any]:
        plan = self.report.plan
        return {
            "success": self.success,
            "instruction": self.instruction,
            "plan": [{"skill": s.skill, "args": dict(s.args)} for s in plan.steps] if plan else [],
            "steps": [{"skill": s.skill, "args": dict(s.args), "success": s.success,
                       "duration_s": round(s.duration_s, 3)} | ({} if s.success else {"reason": s.reason})
                      for s in self.report.steps],
            "replans": self.report.replans,
            "sim_time_s": round(self.sim_time_s, 3),
            "wall_time_s": round(self.wall_time_s, 3),
            "outcome": self.report.outcome,
            "reason": self.report.reason,
        }


@dataclass
class Hooks:
    """Callbacks for people watching (the CLI's plan printout and progress lines)."""

    on_plan: Callable[[Plan], None] | None = None
    on_status: Callable[[ExecutiveStatus], None] | None = None
    on_feedback: Callable[[SkillFeedback], None] | None = None
    on_step: Callable[[StepRecord], None] | None = None


def _make_perception(kind: str, robot):
    if kind == "oracle":  # ORACLE: ablations only
        from robomatrix.skills.oracle_perception import OraclePerception

        return OraclePerception(robot)
    from robomatrix.perception import Perception

    return Perception()


class SimSession:
    """A simulated robot with perception, skills, a planner and the executive (module docstring).

    `reset(seed)` starts a new episode in the same session (the robot is reused); `run` executes
    one instruction; `plan` only plans it. Close it (or use `with`) to finish the video and log.
    """

    def __init__(self, config: RunConfig | None = None, hooks: Hooks | None = None):
        self.config = config or RunConfig()
        self.hooks = hooks or Hooks()
        cfg = self.config
        self.planner = make_planner(cfg.planner)
        self.log = McapLog(cfg.log, image_period_s=cfg.log_image_period_s,
                           metadata={"sim": cfg.sim, "scene": cfg.scene, "seed": cfg.seed, "planner": cfg.planner,
                                     "policy": cfg.policy, "perception": cfg.perception}) if cfg.log else None
        self.video = VideoWriter(cfg.video, fps=cfg.control_rate_hz / cfg.camera_every_n) if cfg.video else None
        topics = HardwareTopics(self.log) if self.log else None
        self.robot = RobotTap(make_robot(cfg.sim, camera_width=cfg.camera_width, camera_height=cfg.camera_height),
                              on_observation=topics.observation if topics else None,
                              on_state=topics.state if topics else None,
                              on_action=topics.action if topics else None)
        self.robot.connect()
        from robomatrix.corrections.session import SessionCorrections

        self.corrections = SessionCorrections(self, cfg.memory, cfg.apply_memory, cfg.ask_timeout_s)
        self.perception = None
        self.runner = None
        self._looked = False  # the first camera frames of this episode have been seen
        self._scene_spec = None

    # ------------------------------------------------------------------ lifecycle
    def reset(self, seed: int | None = None, scene=None) -> None:
        """A fresh episode: the scene (name or SceneSpec) randomised by `seed`, new perception state."""
        cfg = self.config
        self.robot.reset(scene if scene is not None else cfg.scene, cfg.seed if seed is None else seed)
        self._scene_spec = self.robot.scene
        self.perception = _make_perception(cfg.perception, self.robot)
        self._looked = False
        self.runner = SkillRunner(self.robot, self.perception, on_frame=self._on_frame,
                                  config=RunnerConfig(policy_kind=cfg.policy, control_rate_hz=cfg.control_rate_hz,
                                                      camera_every_n=cfg.camera_every_n, goal_stop=cfg.goal_stop))
        self.corrections.attach_runner(self.runner)

    def close(self) -> None:
        try:
            if self.video is not None:
                self.video.close()
            if self.log is not None:
                self.log.close()
        finally:
            self.robot.disconnect()

    def __enter__(self) -> SimSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ sensing
    def _now(self) -> float:
        return self.robot.sim_time_s

    def _on_frame(self, obs, label: str) -> None:
        if self.video is not None and obs.rgb is not None:
            self.video.write(caption(obs.rgb, label))
        if self.log is not None and self.perception.state is not None:
            dets = Detections(stamp=obs.stamp_s, detections=list(self.perception.state.detections))
            self.log.write_json("/robomatrix/detections", dets, obs.stamp_s)

    def _look(self, label: str) -> None:
        obs = self.robot.get_observation()
        self.perception.update(obs)
        self._on_frame(obs, label)

    def _tick(self, action: Action, camera: bool, label: str) -> None:
        self.robot.send_action(action)
        self.robot.advance(1.0 / self.config.control_rate_hz)
        if camera:
            self._look(label)
        else:
            self.perception.update_proprio(self.robot.get_state())

    def first_look(self, frames: int = 3) -> None:
        """Observe a few camera frames standing still (perception confirms what it sees)."""
        for _ in range(frames):
            self._tick(Action(), camera=True, label="looking")
        self._looked = True

    def look_around(self) -> None:
        """Turn once on the spot, watching, and come back to the start heading: perception then
        remembers everything around the robot (objects behind it are known but not in view)."""
        cfg = self.config
        start_yaw = float(self.robot.get_state().base_pose[2])
        turned, last = 0.0, start_yaw
        tick = 0
        while turned < 2 * math.pi:
            tick += 1
            self._tick(Action((0.0, 0.0, cfg.scan_turn_rate_radps)), camera=tick % cfg.camera_every_n == 0,
                       label=f"looking around ({math.degrees(turned):.0f} deg)")
            yaw = float(self.robot.get_state().base_pose[2])
            turned += abs(math.remainder(yaw - last, 2 * math.pi))
            last = yaw
        for _ in range(int(4 * cfg.control_rate_hz)):  # settle back onto the start heading
            err = math.remainder(start_yaw - float(self.robot.get_state().base_pose[2]), 2 * math.pi)
            if abs(err) < 0.01:
                break
            self._tick(Action((0.0, 0.0, max(-0.8, min(0.8, 2.5 * err)))), camera=False, label="looking around")
        self._tick(Action(), camera=True, label="looked around")

    def _world_view(self) -> WorldView | None:
        """Perception's latest state for the executive's monitor (robomatrix.executive.monitor)."""
        state = self.perception.state if self.perception is not None else None
        return WorldView.from_perception(state) if state is not None else None

    def scene_objects(self) -> SceneObjects:
        """What perception sees now, as the planner wants it."""
        return self.perception.state.to_scene_objects()

    # ------------------------------------------------------------------ planning and running
    def plan(self, instruction: str, task_id: str = "") -> Plan:
        """Plan `instruction` from what perception sees (looking around when the planner cannot find
        something); nothing else moves. A refusal raises PlanningError (one line)."""
        if self.perception is None:
            self.reset()
        if not self._looked:
            self.first_look()
        try:
            plan = self.planner.plan(instruction, self.scene_objects())
        except UnknownObjectError:
            self.look_around()
            plan = self.planner.plan(instruction, self.scene_objects())
        plan.task_id = plan.task_id or task_id
        return plan

    def run(self, instruction: str, task_id: str = "", cancel: Callable[[], bool] | None = None) -> RunResult:
        """Plan and execute `instruction` in the current episode (reset first for a new one).
        `cancel()` turning true (e.g. the console's e-stop) ends the task as `canceled`."""
        wall0 = time.perf_counter()
        if self.perception is None:
            self.reset()
        sim0 = self._now()
        task = Task(instruction=instruction, id=task_id or Task(instruction=instruction).id, stamp=sim0)
        if self.log is not None:
            self.log.write_json("/robomatrix/task", task, sim0)
        h = self.hooks
        executive = Executive(self.planner, RunnerSkillExecutor(self.runner), self.scene_objects,
                              self.config.executive, verify=PlacementVerifier(self.scene_objects),
                              monitor=Monitor(self._world_view),
                              on_status=self._tee(h.on_status, "/robomatrix/status"),
                              on_plan=self._tee(h.on_plan, "/robomatrix/plan"),
                              on_feedback=self._feedback_tee(h.on_feedback), on_step=h.on_step, clock=self._now)
        self.corrections.start(executive, instruction, task.id)
        try:
            first = self.plan(instruction, task.id)
        except PlanningError as exc:  # bad input: nothing moves
            report = ExecutionReport(instruction=instruction, outcome="refused", reason=str(exc))
            executive.on_status(ExecutiveStatus(state="failed", message=str(exc), task_id=task.id, stamp=self._now()))
            return RunResult(instruction, report, sim_time_s=self._now() - sim0, wall_time_s=time.perf_counter() - wall0)
        deadline = sim0 + self.config.time_limit_s
        canceled = cancel or (lambda: False)
        report = executive.run(instruction, task.id, cancel=lambda: canceled() or self._now() > deadline, plan=first)
        if report.outcome == "canceled" and self._now() > deadline:  # not a cancel asked for (cancel(), a correction)
            report.outcome, report.reason = "failed", f"ran out of time ({self.config.time_limit_s:g} s simulated)"
        return RunResult(instruction, report, sim_time_s=self._now() - sim0, wall_time_s=time.perf_counter() - wall0)

    def correct(self, text: str) -> None:
        """A person's correction ("a bit to the left", "no, the blue one", "stop"), from any thread,
        also while `run` executes in another: applied to the running skill or plan, remembered, and
        what was understood (or a question back) announced through `hooks.on_status` (an
        ExecutiveStatus with `correction` and `correction_level` set). See robomatrix.corrections."""
        self.corrections.handle(text)

    def _tee(self, hook, topic: str):
        def both(message) -> None:
            if self.log is not None:
                self.log.write_json(topic, message, self._now())
            if hook is not None:
                hook(message)
        return both

    def _feedback_tee(self, hook):
        topic = f"{SKILL_ACTION}/_action/feedback"

        def both(fb: SkillFeedback) -> None:
            if self.log is not None:  # as the skill server's action would carry it
                self.log.write_json(topic, {"goal_id": fb.goal_id, "feedback": fb.to_dict()}, self._now())
            if hook is not None:
                hook(fb)
        return both
