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
success. The spec's time limit (or a goal's shorter one), cancel requests and policy failures
end a skill with `success=False` and a reason.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from robomatrix.errors import UsageError
from robomatrix.hardware.robot import Action, Observation
from robomatrix.messages import SkillCall, SkillFeedback, SkillGoal, SkillResult, new_id
from robomatrix.skills.registry import make_policy
from robomatrix.skills.specs import skill_spec, validate_call

FrameHook = Callable[[Observation, str], None]
FeedbackHook = Callable[[SkillFeedback], None]
SETTLE_TICKS = 3  # ticks of standing still before the postcondition frame
STALE_STATE_S = 1.0  # real-time mode: no new robot state for this long stops the skill


@dataclass
class RunnerConfig:
    """How the runner drives the loop."""

    policy_kind: str = "scripted"  # which registered policy runs each skill: scripted | neural
    control_rate_hz: float = 20.0  # policy/command rate, Hz (10–30)
    camera_every_n: int = 2  # a camera frame (and a perception update) every n control ticks
    feedback_every_n: int = 4  # on_feedback every n control ticks
    check_postcondition: bool = True  # verify success with the spec's postcondition

    def __post_init__(self):
        if not (isinstance(self.control_rate_hz, (int, float)) and 1.0 <= self.control_rate_hz <= 200.0):
            raise UsageError(f"RunnerConfig.control_rate_hz must be within 1..200 Hz, got {self.control_rate_hz!r}.")
        for name in ("camera_every_n", "feedback_every_n"):
            value = getattr(self, name)
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
                raise UsageError(f"RunnerConfig.{name} must be an integer >= 1, got {value!r}.")


def postcondition_check(name: str):
    """The perception check called `name` (robomatrix.perception.postconditions.POSTCONDITIONS)."""
    from robomatrix.perception.postconditions import POSTCONDITIONS

    if name not in POSTCONDITIONS:
        from robomatrix.errors import unknown_name

        raise unknown_name("postcondition", name, POSTCONDITIONS)
    return POSTCONDITIONS[name]


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
        label = SkillCall(call.skill, args).to_text()

        obs, state = self.observe(camera=True)
        start_obs, start_state = obs, state
        t0 = obs.stamp_s
        policy.reset(args, state, obs)
        if self.on_frame is not None:
            self.on_frame(obs, label)

        def finish(success: bool, reason: str) -> SkillResult:
            duration = max(0.0, (self.last_obs.stamp_s if self.last_obs is not None else t0) - t0)
            return SkillResult(goal_id=goal_id, skill=call.skill, success=success, reason=reason,
                               duration_s=round(duration, 3))

        deadline = None
        tick = 0
        message = ""
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
            step = policy.act(state, obs)
            message = step.message or message
            if step.done:
                self.robot.send_action(_hold(step.action))
                break
            self.robot.send_action(step.action)
            if on_feedback is not None and tick % self.config.feedback_every_n == 0:
                on_feedback(SkillFeedback(goal_id=goal_id, skill=call.skill,
                                          progress=float(min(max(step.progress, 0.0), 1.0)),
                                          elapsed_s=max(elapsed, 0.0), message=message))
            deadline = self._wait_tick(deadline)
            tick += 1
            camera = tick % self.config.camera_every_n == 0
            obs, state = self.observe(camera)
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
        context: dict[str, Any] = {**args, "skill": call.skill, "start_state": start_state, "start_obs": start_obs}
        ok, reason = postcondition_check(spec.postcondition)(state, obs, context)
        return finish(bool(ok), reason or step.message)

    def _settle(self, deadline):
        """Stand still a few ticks (holding arm and gripper), then take a fresh camera frame."""
        for _ in range(SETTLE_TICKS):
            deadline = self._wait_tick(deadline)
            self.robot.send_action(Action())
        return self.observe(camera=True)


def _hold(action: Action) -> Action:
    """The last command of a finished policy, with the base stopped."""
    return Action((0.0, 0.0, 0.0), action.arm_target, action.gripper)
