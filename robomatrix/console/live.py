"""The console beside a one-process simulation (`robomatrix run --console`).

`robomatrix run` alone steps the simulation as fast as the CPU allows. With a person watching,
the world must move in real time even when no task runs, so that the camera is live and teleop
drives the robot. `LiveSimBackend` owns one thread — the only one that touches the robot — that:

- between tasks ticks at the control rate: a camera frame every `camera_every_n` ticks (every
  tick while recording) into perception, the operator's teleop command (or "stand still") to the
  robot, one control period of physics, then sleeps to the wall clock;
- runs the tasks the page sends with `SimSession.run`, the executive and the skills as usual;
  the robot is wrapped in a `PacedRobot`, so every `advance` the skill loop makes is paced to
  the wall clock as well, and every camera frame perception has seen is handed to the page.

The e-stop is enforced in `PacedRobot.send_action` (base stopped, arm and gripper held, the
running task canceled), whoever commands the robot.
"""
from __future__ import annotations

import queue
import threading
import time
from pathlib import Path

from robomatrix.console.backend import ConsoleBackend
from robomatrix.console.model import ConsoleModel
from robomatrix.console.protocol import ConsoleInputError, RecordCommand, TeleopCommand
from robomatrix.console.recording import TeleopRecorder
from robomatrix.console.teleop import Teleop, TeleopLimits
from robomatrix.hardware.robot import Action
from robomatrix.logs import RobotTap

MAX_LAG_S = 0.25  # a pacer that fell this far behind the wall clock starts again from now (no burst)


class PacedRobot(RobotTap):
    """A robot wrapper for real-time stepping: `advance` sleeps to the wall clock, `send_action`
    honours the e-stop, and each camera frame goes to `on_frame(obs)` once perception has seen it
    (at the next call into the robot after `get_observation`)."""

    def __init__(self, robot, on_frame=None, realtime_factor: float = 1.0, monotonic=time.monotonic,
                 sleep=time.sleep):
        super().__init__(robot)
        self.on_frame = on_frame
        self.realtime_factor = float(realtime_factor)
        self.estop = False
        self.last_obs = None
        self._pending = None
        self._target_s: float | None = None
        self._monotonic, self._sleep = monotonic, sleep
        self._stopped_for_estop = False

    def _flush(self) -> None:
        obs, self._pending = self._pending, None
        if obs is not None and self.on_frame is not None:
            self.on_frame(obs)

    def get_observation(self):
        self._flush()
        obs = super().get_observation()
        self._pending = self.last_obs = obs
        return obs

    def get_state(self):
        self._flush()
        obs = super().get_state()
        self.last_obs = obs
        return obs

    def send_action(self, action: Action) -> Action:
        self._flush()
        if self.estop:
            if not self._stopped_for_estop:
                super().stop()
                self._stopped_for_estop = True
            action = Action()  # base stopped, arm and gripper held where they are
        else:
            self._stopped_for_estop = False
        return super().send_action(action)

    def lag_s(self) -> float:
        """How far the simulation is behind the wall clock (<= 0: on time)."""
        return 0.0 if self._target_s is None else self._monotonic() - self._target_s

    def advance(self, duration_s: float) -> None:
        self._flush()
        super().advance(duration_s)
        now = self._monotonic()
        start = self._target_s if self._target_s is not None and now - self._target_s < MAX_LAG_S else now
        self._target_s = start + duration_s / self.realtime_factor
        if self._target_s > now:
            self._sleep(self._target_s - now)


class LiveSimBackend(ConsoleBackend):
    """A `SimSession` stepped in real time for the console (module docstring).

    Give the session `hooks()` as its Hooks (or chain them), then `start()`. The backend owns the
    session from then on: its thread resets it, steps it and closes it (`close()`)."""

    def __init__(self, session, record_dir="out/console/demos", realtime_factor: float = 1.0,
                 limits: TeleopLimits | None = None):
        self.session = session
        cfg = session.config
        self.model = ConsoleModel("sim")
        self.model.extra.update(scene=cfg.scene, seed=cfg.seed, planner=cfg.planner,
                                corrections=True)
        robot_cfg = session.robot.config
        self.teleop_state = Teleop(limits or TeleopLimits(arm_x_range_m=robot_cfg.arm_x_range_m,
                                                          arm_z_range_m=robot_cfg.arm_z_range_m))
        self.recorder = TeleopRecorder(Path(record_dir), scene=cfg.scene, seed=cfg.seed,
                                       control_rate_hz=cfg.control_rate_hz)
        self.robot = PacedRobot(session.robot, on_frame=self._on_frame, realtime_factor=realtime_factor)
        session.robot = self.robot  # every tick the session, the skills and this loop make is paced
        self._lock = threading.Lock()  # teleop, recorder
        self._tasks: queue.Queue[str] = queue.Queue()
        self._cancel = threading.Event()
        self._busy = threading.Event()
        self._closed = threading.Event()
        self._ready = threading.Event()
        self._ticks = 0
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def hooks(self, chain=None):
        """`robomatrix.run.Hooks` that feed the page (and call `chain`'s hooks too)."""
        from robomatrix.run import Hooks

        def both(mine, theirs):
            def call(msg):
                mine(msg)
                if theirs is not None:
                    theirs(msg)
            return call

        chain = chain or Hooks()
        return Hooks(on_plan=both(self.model.set_plan, chain.on_plan),
                     on_status=both(self.model.set_status, chain.on_status),
                     on_feedback=both(self._on_feedback, chain.on_feedback),
                     on_step=both(self._on_step, chain.on_step))

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout_s: float = 60.0) -> None:
        """Start the simulation thread; returns once the episode is reset there (the renderer's GL
        context belongs to the thread that first renders, so the session must not have rendered
        in another thread: leave `reset` to this)."""
        self._thread = threading.Thread(target=self._loop, name="console-sim", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s) or self.error is not None:
            raise RuntimeError(f"the simulation did not start: {self.error or 'timed out'}")

    def close(self) -> None:
        self._closed.set()
        self._cancel.set()
        if self._thread is not None:
            self._thread.join(timeout=10.0)

    @property
    def busy(self) -> bool:
        return self._busy.is_set()

    def _loop(self) -> None:
        try:
            self.session.reset()
            self._ready.set()
            while not self._closed.is_set():
                try:
                    text = self._tasks.get_nowait()
                except queue.Empty:
                    self._world_tick()
                    continue
                if self._tasks.empty():  # a newer task replaces one that never started
                    self._run_task(text)
        except BaseException as exc:  # the page must hear that the simulation died
            self.error = exc
            self.model.log(f"simulation stopped: {type(exc).__name__}: {exc}", "error")
            self._ready.set()
        finally:
            try:
                self.session.close()  # here: the renderer's GL context is this thread's
            except Exception as exc:
                self.model.log(f"closing the simulation: {type(exc).__name__}: {exc}", "error")

    def _run_task(self, text: str) -> None:
        self._cancel.clear()
        self._busy.set()
        self.model.extra["task"] = text
        try:
            result = self.session.run(text, cancel=self._task_canceled)
            outcome = result.report.outcome
            self.model.log(f"task '{text}': {outcome}" + (f" — {result.report.reason}" if result.report.reason else ""),
                           "info" if result.success else "error")
        except Exception as exc:  # a bad task must not kill the live simulation
            self.model.log(f"task '{text}' crashed: {type(exc).__name__}: {exc}", "error")
        finally:
            self._busy.clear()
            self.model.extra["task"] = ""
            with self._lock:
                self.teleop_state.release()  # set-points from a pause must not pull the arm back now

    def _task_canceled(self) -> bool:
        """The running task's cancel(). The executive also polls it while paused (every ~50 ms): the
        world goes on meanwhile — physics, camera, perception, and teleop by the person who paused."""
        if self._cancel.is_set() or self._closed.is_set():
            return True
        status = self.model.status
        if status is not None and status.state == "paused" and threading.current_thread() is self._thread:
            for _ in range(4):  # catch up with the wall clock between the executive's polls
                self._world_tick()
                if self.robot.lag_s() < 1.0 / self.session.config.control_rate_hz:
                    break
        return False

    def _world_tick(self) -> None:
        """One control period with no skill running: camera (every `camera_every_n` ticks, every tick
        while recording) into perception, teleop (or standing still) to the robot, physics."""
        session, cfg = self.session, self.session.config
        with self._lock:
            recording = self.recorder.active
        self._ticks += 1
        camera = recording or self._ticks % cfg.camera_every_n == 0
        obs = self.robot.get_observation() if camera else self.robot.get_state()
        state = session.perception.update(obs) if camera else session.perception.update_proprio(obs)
        with self._lock:
            action = self.teleop_state.action(time.monotonic(), obs.ee_position)
            self.model.teleop = self.teleop_state.status
        applied = self.robot.send_action(action or Action())
        with self._lock:
            if camera and self.recorder.active:
                self.recorder.add(obs, state, applied)
                self.model.recording = self.recorder.status()
                if self.recorder.full:
                    self.model.log("demonstration reached its length limit: saving it", "error")
                    try:
                        self._stop_recording()
                    except (ConsoleInputError, OSError, ValueError) as exc:  # the live loop must go on
                        self.model.log(f"the demonstration could not be saved: {exc}", "error")
        self._record_robot_state(obs)
        self.robot.advance(1.0 / cfg.control_rate_hz)

    # ------------------------------------------------------------------ feeds
    def _record_robot_state(self, obs) -> None:
        self.model.odom = tuple(float(v) for v in obs.base_pose)
        self.model.arm = (float(obs.ee_position[0]), float(obs.ee_position[1]), float(obs.gripper_opening))

    def _on_frame(self, obs) -> None:
        perception = self.session.perception
        state = perception.state if perception is not None else None
        detections = list(state.detections) if state is not None and abs(state.stamp_s - obs.stamp_s) < 1e-6 else []
        self.model.set_frame(obs.rgb, obs.stamp_s, detections)
        self._record_robot_state(obs)

    def _on_feedback(self, fb) -> None:
        self.model.extra["feedback"] = {"skill": fb.skill, "progress": round(fb.progress, 3),
                                        "message": fb.message}

    def _on_step(self, step) -> None:
        self.model.set_step_result(step.index, step.success)
        self.model.log(f"step {step.index + 1} {step.skill}: {'ok' if step.success else 'FAILED ' + step.reason} "
                       f"({step.duration_s:.1f} s)", "info" if step.success else "error")

    # ------------------------------------------------------------------ page commands
    def _check_running(self) -> None:
        if self.error is not None:
            raise ConsoleInputError(f"the simulation stopped: {self.error}")
        if self.robot.estop:
            raise ConsoleInputError("the e-stop is engaged: release it first")

    def submit_task(self, text: str) -> None:
        self._check_running()
        with self._lock:
            if self.recorder.active:
                raise ConsoleInputError("recording a demonstration: stop or discard it before sending a task")
            self.teleop_state.release()
        if self._busy.is_set():
            self.model.log("a new task replaces the running one")
            self._cancel.set()
        self._tasks.put(text)

    def correct(self, text: str) -> None:
        self.session.correct(text)  # what was understood comes back on the status hook

    def stop(self) -> None:
        self.session.correct("stop")  # a pause: the world stays live (see _task_canceled)

    def resume(self) -> None:
        self.session.correct("resume")

    def set_estop(self, engaged: bool) -> None:
        if engaged == self.robot.estop:
            return
        self.robot.estop = engaged
        running = self._busy.is_set()
        if engaged:
            self._cancel.set()
            with self._lock:
                self.teleop_state.release()
        self.model.estop = engaged
        self.model.log(("E-STOP ENGAGED: robot stopped" + (", task canceled" if running else "")) if engaged
                       else "e-stop released", "error" if engaged else "info")

    def teleop(self, command: TeleopCommand) -> None:
        self._check_running()
        paused = self.model.status is not None and self.model.status.state == "paused"
        if self._busy.is_set() and not paused:
            self.model.teleop = "refused while a task runs"
            raise ConsoleInputError("a task is running: Stop (pause) it before driving by hand")
        with self._lock:
            self.teleop_state.command(command.base, command.arm, command.gripper, time.monotonic())

    def teleop_release(self) -> None:
        with self._lock:
            self.teleop_state.release()

    def record(self, command: RecordCommand) -> None:
        with self._lock:
            if command.action == "start":
                self._check_running()
                if self._busy.is_set():
                    raise ConsoleInputError("a task is running: record demonstrations with the robot idle")
                self.model.recording = self.recorder.start(command.skill, command.args)
                self.model.log(f"recording a teleop demonstration of {self.model.recording['call']}")
            elif command.action == "discard":
                self.recorder.discard()
                self.model.recording = self.recorder.status()
                self.model.log("demonstration discarded")
            else:
                self._stop_recording()

    def _stop_recording(self) -> None:
        """Save the demonstration (called with the lock held)."""
        obs = self.robot.last_obs
        state = self.session.perception.state
        try:
            saved = self.recorder.stop(obs, state)
        finally:
            self.model.recording = self.recorder.status()
        self.model.log(f"saved demonstration {saved['file']} ({saved['steps']} steps, "
                       f"{'success' if saved['success'] else 'postcondition not met: ' + saved['reason']}) "
                       f"to {saved['out']}")
