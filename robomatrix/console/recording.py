"""Teleoperated demonstrations, written in the dataset format of `robomatrix.skills.data`.

The operator picks a skill and its arguments, presses Record, drives the robot through the skill
and presses Stop. Each control step pairs the observation taken at t with the command applied
right after it (the robot's clipped action, "hold" resolved to the held set-point), as the
scripted recorder does; proprioception comes from `proprio_vector`, so a teleop episode looks to
training exactly like a scripted one, with `source: "teleop"`. At Stop the skill's own
postcondition (perception on the camera, never simulator state) decides `success`.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from robomatrix.console.protocol import ConsoleInputError
from robomatrix.errors import UsageError
from robomatrix.hardware.robot import Action
from robomatrix.messages import SkillCall
from robomatrix.skills.data.format import DatasetWriter, EpisodeMeta, proprio_vector
from robomatrix.skills.data.instructions import instruction_text
from robomatrix.skills.runner import postcondition_check
from robomatrix.skills.specs import skill_spec, validate_call

MAX_STEPS = 20 * 120  # two minutes at 20 Hz: a demonstration longer than this is stopped and kept


class TeleopRecorder:
    """One demonstration at a time into the dataset folder `out`."""

    def __init__(self, out, scene: str = "", seed: int = 0, control_rate_hz: float = 20.0):
        self.out = Path(out)
        self.scene, self.seed, self.control_rate_hz = scene, int(seed), float(control_rate_hz)
        self.active = False
        self.skill, self.args = "", {}
        self._reset_arrays()
        self.last_saved: dict | None = None

    def _reset_arrays(self) -> None:
        self.rgb, self.depth, self.proprio, self.action = [], [], [], []
        self._start_obs = self._start_state = None
        self._arm: tuple[float, float] | None = None
        self._gripper: float | None = None

    def start(self, skill: str, args: dict) -> dict:
        """Validate the skill call and arm the recorder; the first `add` is step 0."""
        if self.active:
            raise ConsoleInputError(f"already recording {self.skill}; stop or discard it first")
        try:
            spec = skill_spec(skill)
            args = validate_call(skill, args)
        except UsageError as exc:
            raise ConsoleInputError(str(exc)) from None
        self.skill, self.args, self.spec = spec.name, args, spec
        self._reset_arrays()
        self.active = True
        return self.status()

    def add(self, obs, state, applied: Action) -> None:
        """One control step: `obs` (with a camera frame) and perception's `state` at t, then the
        action the robot applied right after."""
        if not self.active or obs.rgb is None:
            return
        if self._start_obs is None:
            self._start_obs, self._start_state = obs, state
            self._arm = tuple(float(v) for v in obs.ee_position)
            self._gripper = 1.0 if obs.gripper_opening > 0.9 else 0.0
        if applied.arm_target is not None:
            self._arm = tuple(float(v) for v in applied.arm_target)
        if applied.gripper is not None:
            self._gripper = float(applied.gripper)
        self.rgb.append(obs.rgb)
        self.depth.append(obs.depth)
        self.proprio.append(proprio_vector(obs, self._start_obs))
        self.action.append(np.array([*applied.base_velocity, *self._arm, self._gripper], np.float32))

    @property
    def full(self) -> bool:
        return len(self.action) >= MAX_STEPS

    def discard(self) -> None:
        self.active = False
        self._reset_arrays()

    def stop(self, obs, state) -> dict:
        """End the demonstration: check the skill's postcondition on `obs`/`state` (now) and append
        the episode to the dataset. Returns the episode's metadata as saved."""
        if not self.active:
            raise ConsoleInputError("not recording")
        self.active = False
        if not self.action:
            self._reset_arrays()
            raise ConsoleInputError("nothing recorded yet: the demonstration needs at least one camera step")
        context = {**self.args, "skill": self.skill, "start_state": self._start_state, "start_obs": self._start_obs}
        ok, reason = postcondition_check(self.spec.postcondition)(state, obs, context)
        steps = len(self.action)
        done = [False] * steps
        done[-1] = True
        call = SkillCall(self.skill, self.args)
        height, width = self.rgb[0].shape[:2]
        meta = EpisodeMeta(
            skill=self.skill, instruction=instruction_text(self.skill, self.args, self._start_state), steps=steps, success=bool(ok),
            source="teleop", args=dict(self.args), call=call.to_text(), scene=self.scene, seed=self.seed,
            control_rate_hz=self.control_rate_hz, camera=(int(width), int(height)),
            oracle={"perception": False, "policy": False, "setup_perception": False},
            outcome={"postcondition_ok": bool(ok), "reason": reason or "",
                     "duration_s": round(float(obs.stamp_s - self._start_obs.stamp_s), 3), "expert": "teleop"},
            phases=["teleop"])
        saved = DatasetWriter(self.out).add(meta, self.rgb, self.depth, self.proprio, self.action, done,
                                            [0] * steps, [i / max(steps - 1, 1) for i in range(steps)])
        self._reset_arrays()
        self.last_saved = {"id": saved.id, "file": saved.file, "skill": saved.skill, "steps": steps,
                           "success": bool(ok), "reason": reason or "", "out": str(self.out),
                           "saved_at": time.time()}
        return self.last_saved

    def status(self) -> dict:
        return {"active": self.active, "skill": self.skill if self.active else "",
                "call": SkillCall(self.skill, self.args).to_text() if self.active else "",
                "steps": len(self.action), "out": str(self.out), "last_saved": self.last_saved}
