"""`SkillRunner`: runs one meta-skill in closed loop on a robot, without any middleware.

Every control tick: proprioception (`robot.get_state()`) → `perception.update_proprio`, and on
every `camera_every_n`-th tick a camera frame (`robot.get_observation()`) → `perception.update`;
then `policy.act(state, obs)` → `robot.send_action`. Time:
- a simulated robot (it has `advance`) is stepped `1 / control_rate_hz` per tick (lock-step:
  simulated seconds, as fast as the CPU allows);
- any other robot (a real one, or `TopicRobot` over ROS topics) is ticked on the wall clock.
Elapsed time is measured on the robot's clock (`Observation.stamp_s`).

When the policy says done, the robot is stopped, a fresh frame is observed, and the skill's
postcondition (named in its spec, implemented in `robomatrix.perception.postconditions`) decides
success. Goal stop: a skill whose spec names a `goal_check` (search: the object in view ahead; move_to:
the object where its expert stops it; the drawer skills: the drawer open/closed and the handle let go
of) also ends when perception sees that
check hold on `goal_confirm_frames` camera frames in a row, as if the policy had said done — a
learned policy's stop signal can miss a goal it has reached (ck_target opened the drawer and then
stood 40 s with done p=0.00). `RunnerConfig.goal_stop`: "auto" (learned policies only: the scripted
experts stop on their own exact rules), "on", "off". After a goal stop the robot stands still and
the postcondition decides as usual; if it does not hold (a glimpse of the goal), the policy goes on.
A goal stop says so in the result's reason. The spec's time limit (or a goal's shorter one), cancel
requests and policy failures end a skill with `success=False` and a reason.

Motion corrections ("a bit to the left", "lower", "slower") reach the RUNNING skill without
aborting it through `SkillRunner.adjust(MotionOffset(...))`, thread-safe, from any thread. The
policy then runs in a shifted frame: it sees every object (and odometry) displaced by the base
offset and the gripper displaced by the arm offset, so the point it servoes to moves by the
offset; the arm offset is added to its arm commands and `speed_scale` scales its base velocity.
Policies need no change. An offset holds for the call it was given for (its retries included)
and is dropped when another call starts; `offset_sources` add standing offsets at each start
(remembered fixes from the corrections memory, or a benchmark's injected fault).
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from robomatrix.errors import UsageError, unknown_name
from robomatrix.hardware.robot import Action, Observation
from robomatrix.messages import SkillCall, SkillFeedback, SkillGoal, SkillResult, new_id
from robomatrix.skills.registry import make_policy
from robomatrix.skills.specs import skill_spec, validate_call

FrameHook = Callable[[Observation, str], None]
FeedbackHook = Callable[[SkillFeedback], None]
SETTLE_TICKS = 3  # ticks of standing still before the postcondition frame
GOAL_STOP_MODES = ("auto", "on", "off")
GOAL_STOP_NOTE = "stopped on perception's goal check"  # ends the reason of a call a goal stop ended
STALE_STATE_S = 1.0  # real-time mode: no new robot state for this long stops the skill


def outcome_text(success: bool, reason: str) -> str:
    """"ok", "ok (goal stop)" or "FAILED: <reason>": one skill execution's outcome for people."""
    if not success:
        return f"FAILED: {reason}"
    return "ok (goal stop)" if reason.endswith(f"({GOAL_STOP_NOTE})") else "ok"


@dataclass
class RunnerConfig:
    """How the runner drives the loop."""

    policy_kind: str = "scripted"  # which registered policy runs each skill: scripted | neural
    control_rate_hz: float = 20.0  # policy/command rate, Hz (10–30)
    camera_every_n: int = 2  # a camera frame (and a perception update) every n control ticks
    feedback_every_n: int = 4  # on_feedback every n control ticks
    check_postcondition: bool = True  # verify success with the spec's postcondition
    goal_stop: str = "auto"  # end a skill when perception sees its goal: auto (learned policies) | on | off
    goal_confirm_frames: int = 3  # ... on this many camera frames in a row

    def __post_init__(self):
        if not (isinstance(self.control_rate_hz, (int, float)) and 1.0 <= self.control_rate_hz <= 200.0):
            raise UsageError(f"RunnerConfig.control_rate_hz must be within 1..200 Hz, got {self.control_rate_hz!r}.")
        if self.goal_stop not in GOAL_STOP_MODES:
            raise unknown_name("goal stop mode", self.goal_stop, GOAL_STOP_MODES)
        for name in ("camera_every_n", "feedback_every_n", "goal_confirm_frames"):
            value = getattr(self, name)
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
                raise UsageError(f"RunnerConfig.{name} must be an integer >= 1, got {value!r}.")


@dataclass(frozen=True)
class MotionOffset:
    """A correction of where a skill goes and how fast, in the robot's frame at the skill's tick.

    `base_dx_m`/`base_dy_m`: where the base should end relative to where the policy would put it
    (x forward, y left, base_link); `arm_dx_m`/`arm_dz_m`: the same for the gripper (forward, up);
    `speed_scale`: multiplies the base velocity the policy commands. Offsets add up; scales multiply.
    """

    base_dx_m: float = 0.0
    base_dy_m: float = 0.0
    arm_dx_m: float = 0.0
    arm_dz_m: float = 0.0
    speed_scale: float = 1.0

    MAX_SHIFT_M = 0.30  # larger corrections are a different plan, not an offset

    def __post_init__(self):
        for name in ("base_dx_m", "base_dy_m", "arm_dx_m", "arm_dz_m"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or abs(value) > self.MAX_SHIFT_M:
                raise UsageError(f"MotionOffset.{name} must be a number of metres within "
                                 f"±{self.MAX_SHIFT_M:g}, got {value!r}.")
        if not (isinstance(self.speed_scale, (int, float)) and 0.1 <= self.speed_scale <= 2.0):
            raise UsageError(f"MotionOffset.speed_scale must be within 0.1..2, got {self.speed_scale!r}.")

    def __add__(self, other: MotionOffset) -> MotionOffset:
        clip = lambda v: max(-self.MAX_SHIFT_M, min(self.MAX_SHIFT_M, v))  # noqa: E731
        return MotionOffset(clip(self.base_dx_m + other.base_dx_m), clip(self.base_dy_m + other.base_dy_m),
                            clip(self.arm_dx_m + other.arm_dx_m), clip(self.arm_dz_m + other.arm_dz_m),
                            max(0.1, min(2.0, self.speed_scale * other.speed_scale)))

    @property
    def is_zero(self) -> bool:
        return self == MotionOffset()

    def to_dict(self) -> dict[str, float]:
        return {"base_dx_m": self.base_dx_m, "base_dy_m": self.base_dy_m, "arm_dx_m": self.arm_dx_m,
                "arm_dz_m": self.arm_dz_m, "speed_scale": self.speed_scale}

    @classmethod
    def from_dict(cls, data: dict) -> MotionOffset:
        if not isinstance(data, dict):
            raise UsageError(f"MotionOffset: expected an object, got {type(data).__name__}.")
        known = cls().to_dict()
        unknown = [k for k in data if k not in known]
        if unknown:
            raise UsageError(f"MotionOffset has no field(s) {', '.join(unknown)}; fields: {', '.join(known)}.")
        return cls(**{k: float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
                      for k, v in data.items()})

    def describe(self) -> str:
        """"2.0 cm left, 1.0 cm lower, 50 % speed" for status lines."""
        parts = []
        for value, pos, neg in ((self.base_dx_m, "forward", "back"), (self.base_dy_m, "left", "right"),
                                (self.arm_dx_m, "gripper forward", "gripper back"), (self.arm_dz_m, "higher", "lower")):
            if abs(value) > 1e-9:
                parts.append(f"{abs(value) * 100:.1f} cm {pos if value > 0 else neg}")
        if abs(self.speed_scale - 1.0) > 1e-9:
            parts.append(f"{self.speed_scale * 100:.0f} % speed")
        return ", ".join(parts) or "no offset"

    # -- the shifted frame the policy runs in -------------------------------------------------
    def policy_view(self, state, obs: Observation):
        """(state, obs) as the policy sees them: objects displaced by the base offset (in base_link
        and, through a displaced odometry pose, in odom), the gripper displaced back by the arm offset."""
        if self.base_dx_m == self.base_dy_m == self.arm_dx_m == self.arm_dz_m == 0.0:
            return state, obs
        d = np.array([self.base_dx_m, self.base_dy_m])
        obs_view = obs
        if d.any():
            obs_view = replace(obs_view, base_pose=_shift_pose(obs.base_pose, d))
        if self.arm_dx_m or self.arm_dz_m:
            ee = np.asarray(obs.ee_position, float) - (self.arm_dx_m, self.arm_dz_m)
            obs_view = replace(obs_view, ee_position=ee)
        if state is None or not d.any() or not hasattr(state, "objects"):
            return state, obs_view
        shift = np.array([d[0], d[1], 0.0])
        objects = {n: replace(o, position_base=np.asarray(o.position_base, float) + shift)
                   for n, o in state.objects.items()}
        return replace(state, objects=objects, base_pose=_shift_pose(state.base_pose, d)), obs_view

    def apply(self, action: Action) -> Action:
        """The policy's command with the arm offset added and the base velocity scaled."""
        vx, vy, wz = action.base_velocity
        arm = action.arm_target
        if arm is not None:
            arm = (float(arm[0]) + self.arm_dx_m, float(arm[1]) + self.arm_dz_m)
        s = self.speed_scale
        return Action((vx * s, vy * s, wz * s), arm, action.gripper)


def _shift_pose(pose, d) -> np.ndarray:
    """An odometry pose moved back by `d` (base_link): every odom point then reads `d` further in base_link."""
    x, y, yaw = (float(v) for v in pose)
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([x - (c * d[0] - s * d[1]), y - (s * d[0] + c * d[1]), yaw])


OffsetSource = Callable[[SkillCall], "MotionOffset | None"]
"""A standing offset for a call as it starts (remembered fixes; a benchmark's injected fault)."""


def postcondition_check(name: str):
    """The perception check called `name` (robomatrix.perception.postconditions.POSTCONDITIONS)."""
    from robomatrix.perception.postconditions import POSTCONDITIONS

    if name not in POSTCONDITIONS:
        raise unknown_name("postcondition", name, POSTCONDITIONS)
    return POSTCONDITIONS[name]


def unmet_precondition(skill: str, args: dict, state) -> str | None:
    """Why a call cannot work in perception's current state, or None. A grasp needs its can standing:
    the gripper closes across a standing can, and on a can on its side (`TrackedObject.lying`) it
    would creep until its time ran out."""
    obj = state.get(args.get("object")) if state is not None and args.get("object") else None
    if skill == "grasp" and obj is not None and obj.lying:
        return (f"grasp: the {obj.name} lies on its side; the gripper picks up standing cans only "
                f"(stand it up, then ask again)")
    return None


class SkillRunner:
    """Runs skills one at a time on `robot` with `perception` (see module docstring)."""

    def __init__(self, robot, perception, policy_kind: str = "scripted", control_rate_hz: float = 20.0,
                 camera_every_n: int = 2, on_frame: FrameHook | None = None, config: RunnerConfig | None = None,
                 sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic):
        self.config = config or RunnerConfig(policy_kind=policy_kind, control_rate_hz=control_rate_hz,
                                             camera_every_n=camera_every_n)
        self.robot, self.perception, self.on_frame = robot, perception, on_frame
        self.lock_step = callable(getattr(robot, "advance", None))
        self._sleep, self._monotonic = sleep, monotonic
        self.last_obs: Observation | None = None
        self.offset_sources: list[OffsetSource] = []  # consulted when a call starts (module docstring)
        # wraps each call's fresh policy (e.g. skills.trace.shadowed for per-tick traces); None = as made
        self.policy_wrapper: Callable[[Any], Any] | None = None
        # told every finished call and its result (e.g. skills.data.dagger writes the call's episode)
        self.on_result: Callable[[SkillCall, SkillResult], None] | None = None
        self.on_adjust_applied: Callable[[MotionOffset, str], None] | None = None  # first tick with a new offset
        self._adjust_lock = threading.Lock()
        self._adjust_key: str | None = None  # the call the live offset belongs to
        self._live = MotionOffset()  # corrections given for that call
        self._pending = MotionOffset()  # given while no skill ran: for the next call
        self._version = 0  # bumped by every adjust, so the loop notices a change
        self._running: str | None = None

    # ------------------------------------------------------------------ corrections
    def adjust(self, offset: MotionOffset, *, reset: bool = False) -> str:
        """Add `offset` to the running skill's correction (thread-safe; `reset` replaces it instead).
        Returns the running call it applies to (`grasp(object='red can')`), or "" when no skill runs:
        the offset then waits for the next call."""
        if not isinstance(offset, MotionOffset):
            raise UsageError(f"SkillRunner.adjust needs a MotionOffset, got {type(offset).__name__}.")
        with self._adjust_lock:
            self._version += 1
            if self._running is None:
                self._pending = offset if reset else self._pending + offset
                return ""
            self._live = offset if reset else self._live + offset
            return self._running

    @property
    def running(self) -> str | None:
        """The call running now, as text, or None."""
        return self._running

    def current_offset(self) -> MotionOffset:
        with self._adjust_lock:
            return self._live

    def _start_offsets(self, call: SkillCall, key: str) -> tuple[MotionOffset, bool]:
        standing = MotionOffset()
        for source in self.offset_sources:
            extra = source(call)
            if extra is not None:
                standing = standing + extra
        with self._adjust_lock:
            if key != self._adjust_key:  # a new call: corrections for the last one no longer apply
                self._live, self._adjust_key = MotionOffset(), key
            waiting = not self._pending.is_zero
            self._live = self._live + self._pending
            self._pending = MotionOffset()
            self._running = key
        return standing, waiting

    @property
    def period_s(self) -> float:
        return 1.0 / self.config.control_rate_hz

    # ------------------------------------------------------------------ time
    def _wait_tick(self, deadline: float | None) -> float | None:
        """Advance the simulation one period, or sleep until the next wall-clock tick."""
        if self.lock_step:
            self.robot.advance(self.period_s)
            return None
        now = self._monotonic()
        deadline = now + self.period_s if deadline is None else deadline + self.period_s
        if deadline > now:
            self._sleep(deadline - now)
        else:
            deadline = now  # fell behind: do not try to catch up with a burst of ticks
        return deadline

    def observe(self, camera: bool = True):
        """One sensing step: proprioception or a camera frame into perception; returns (obs, state)."""
        if camera:
            obs = self.robot.get_observation()
            state = self.perception.update(obs)
        else:
            obs = self.robot.get_state()
            state = self.perception.update_proprio(obs)
        self.last_obs = obs
        return obs, state

    # ------------------------------------------------------------------ one skill
    def run(self, call: SkillCall | SkillGoal, cancel: Callable[[], bool] = lambda: False,
            on_feedback: FeedbackHook | None = None) -> SkillResult:
        """Run `call` to the end; never raises for a skill that merely fails (see SkillResult.reason).
        Unknown skills and bad arguments raise UsageError before anything moves."""
        spec = skill_spec(call.skill)
        args = validate_call(call.skill, call.args)
        goal_id = call.goal_id if isinstance(call, SkillGoal) else new_id()
        limit_s = min(spec.time_limit_s, call.time_limit_s) if isinstance(call, SkillGoal) else spec.time_limit_s
        policy = make_policy(self.config.policy_kind, call.skill)
        if self.policy_wrapper is not None:
            policy = self.policy_wrapper(policy)
        label = SkillCall(call.skill, args).to_text()
        standing, waiting = self._start_offsets(SkillCall(call.skill, args), label)
        try:
            result = self._run(call, args, spec, goal_id, limit_s, policy, label, standing, waiting, cancel,
                               on_feedback)
        finally:
            with self._adjust_lock:
                self._running = None
        if self.on_result is not None:
            self.on_result(SkillCall(call.skill, args), result)
        return result

    def _offset(self, standing: MotionOffset, seen: list) -> MotionOffset:
        """The offset for this tick; announces (once) the first tick of a changed correction."""
        with self._adjust_lock:
            version, live = self._version, self._live
        if version != seen[0]:
            seen[0] = version
            if self.on_adjust_applied is not None and seen[1]:
                self.on_adjust_applied(live, self._running or "")
            seen[1] = True
        return standing + live

    def _run(self, call, args, spec, goal_id, limit_s, policy, label, standing, waiting, cancel,
             on_feedback) -> SkillResult:
        seen = [None, waiting]  # [adjust version last seen, announce a change now]
        offset = self._offset(standing, seen)
        obs, state = self.observe(camera=True)
        start_obs, start_state = obs, state
        t0 = obs.stamp_s

        def finish(success: bool, reason: str) -> SkillResult:
            duration = max(0.0, (self.last_obs.stamp_s if self.last_obs is not None else t0) - t0)
            return SkillResult(goal_id=goal_id, skill=call.skill, success=success, reason=reason,
                               duration_s=round(duration, 3))

        unmet = unmet_precondition(call.skill, args, state)
        if unmet is not None:  # whatever the policy: no attempt that cannot work
            return finish(False, unmet)
        policy.reset(args, *offset.policy_view(state, obs))
        if self.on_frame is not None:
            self.on_frame(obs, label)

        deadline = None
        tick = 0
        message = ""
        context: dict[str, Any] = {**args, "skill": call.skill, "start_state": start_state, "start_obs": start_obs}
        goal = self._goal_check(spec) if self.config.check_postcondition else None
        goal_seen, fresh_frame = 0, True
        wall0 = last_change = self._monotonic()
        last_stamp = obs.stamp_s
        while True:
            if cancel():
                self.robot.stop()
                return finish(False, f"{call.skill} canceled after {obs.stamp_s - t0:.1f} s")
            elapsed = obs.stamp_s - t0
            if not self.lock_step:  # a real robot: the wall clock bounds the skill too, and a silent robot stops it
                now = self._monotonic()
                elapsed = max(elapsed, now - wall0)
                if obs.stamp_s != last_stamp:
                    last_stamp, last_change = obs.stamp_s, now
                elif now - last_change > STALE_STATE_S:
                    self.robot.stop()
                    return finish(False, f"{call.skill} stopped: no new robot state for {STALE_STATE_S:g} s "
                                         "(is the hardware publishing odometry?)")
            if elapsed > limit_s:
                self.robot.stop()
                return finish(False, f"{call.skill} ran out of time ({limit_s:g} s) while {message or 'starting'}")
            offset = self._offset(standing, seen)
            step = policy.act(*offset.policy_view(state, obs))
            message = step.message or message
            if not step.done and goal is not None and fresh_frame:
                goal_seen = goal_seen + 1 if goal(state, obs, context)[0] else 0
                if goal_seen >= self.config.goal_confirm_frames:  # a goal stop: stand still and look again
                    self.robot.send_action(_hold(offset.apply(step.action)))
                    obs, state = self._settle(deadline)
                    if self.on_frame is not None:
                        self.on_frame(obs, f"{label}  checking (goal seen)")
                    ok, reason = postcondition_check(spec.postcondition)(state, obs, context)
                    if ok:
                        return finish(True, f"{reason} ({GOAL_STOP_NOTE})")
                    goal_seen = 0  # a glimpse that did not hold once the robot stopped: the policy goes on
                    continue
            if step.done:
                self.robot.send_action(_hold(offset.apply(step.action)))
                break
            self.robot.send_action(offset.apply(step.action))
            if on_feedback is not None and tick % self.config.feedback_every_n == 0:
                on_feedback(SkillFeedback(goal_id=goal_id, skill=call.skill,
                                          progress=float(min(max(step.progress, 0.0), 1.0)),
                                          elapsed_s=max(elapsed, 0.0), message=message))
            deadline = self._wait_tick(deadline)
            tick += 1
            camera = tick % self.config.camera_every_n == 0
            obs, state = self.observe(camera)
            fresh_frame = camera
            if camera and self.on_frame is not None:
                self.on_frame(obs, f"{label}  {message}")

        if step.success is False:
            self._settle(deadline)
            return finish(False, step.message or f"{call.skill} failed")
        obs, state = self._settle(deadline)
        if self.on_frame is not None:
            self.on_frame(obs, f"{label}  checking")
        if not self.config.check_postcondition:
            return finish(True, step.message)
        ok, reason = postcondition_check(spec.postcondition)(state, obs, context)
        return finish(bool(ok), reason or step.message)

    def _goal_check(self, spec):
        """The goal check that may end this call (see the module docstring), or None."""
        mode = self.config.goal_stop
        if not spec.goal_check or mode == "off" or (mode == "auto" and self.config.policy_kind == "scripted"):
            return None
        return postcondition_check(spec.goal_check)

    def _settle(self, deadline):
        """Stand still a few ticks (holding arm and gripper), then take a fresh camera frame."""
        for _ in range(SETTLE_TICKS):
            deadline = self._wait_tick(deadline)
            self.robot.send_action(Action())
        return self.observe(camera=True)


def _hold(action: Action) -> Action:
    """The last command of a finished policy, with the base stopped."""
    return Action((0.0, 0.0, 0.0), action.arm_target, action.gripper)
