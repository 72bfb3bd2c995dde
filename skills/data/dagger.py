"""DAgger: a learned policy drives, the scripted expert labels the states it reaches.

A policy trained only on expert demonstrations sees states the expert never visits as soon as it
drifts (a `move_to` that ends 10 cm beside the can, a `search` after a failed grasp left the robot
facing a wall), and nothing in its data says how to recover from them: errors compound (Ross et
al., "A Reduction of Imitation Learning and Structured Prediction to No-Regret Online Learning",
2011). DAgger runs the learner, asks the expert what it would have done in every state the
learner reached, and trains on those labels next to the demonstrations.

`DaggerRecorder` wraps the learner's policy for one skill call (it is a `SkillPolicy`, installed
with `SkillRunner.policy_wrapper`). Every tick both policies see the same perception state and
proprioception; with probability `beta` the expert's command is sent, otherwise the learner's
(beta = 0: the learner alone decides where the robot goes, the classic choice after the first
round). Only experts that can label a state they did not lead to are asked (`SkillPolicy.labels_any_state`:
`move_to` and `search`, whose commands follow from where perception sees the object now, and
`position_over`, whose raise and carry do too and whose lower goes back to carry when the base has
left the spot it lowered at; `release`, whose phases each hold a fixed set-point and move on on what
the robot measures: an arm pulled back while the fingers still open is told to hold; `push`, whose
phase follows from where the object is against the push spot and where the arm is). A phase
machine such as `grasp` waits for its own earlier commands to take effect ("arm at pre-grasp, then
reach"): asked about a learner that has already reached, it says "pull the arm back", and a first
round trained on such labels lost every grasp. Calls of the other skills run unrecorded.

The recorded step is the *expert's* command (clipped to the robot's speed and workspace limits,
not its acceleration limit; a "hold" is resolved to the expert's own last set-point, not to
wherever the learner has moved the arm), the expert's done flag (true on every tick where
the expert would stop: a learner that drives on past that point is taught to stop), phase and
progress. While the expert is labelling, the call ends when the expert would stop, not before: a
learner's done where the expert would go on is recorded as a mistake (done label 0) and the learner
drives on (`early_stop="override"`), so a `search` the learner gives up after 1.5 s is labelled
through the whole turn (else each round would reach only a little further). With
`early_stop="handover"` the expert takes the robot from that tick to the end of the call instead
(the rule of HG-DAgger, Kelly et al. 2019: the expert takes over where the learner errs, and the
stretch it drives is recorded): the labels after a too-early stop are then on states the expert
leads to, not on wherever an unsure learner wanders while overridden. A call whose postcondition
held also gets done on its last step. The frame recorded is the one the learner saw (the runner renders every n-th tick; in
between the last frame is reused). The expert keeps its own phase memory; when it gives up (a
phase over its time budget, a target it cannot see) or raises, labelling ends for that call and
the learner goes on unrecorded, since the expert has no answer there.

`collect_dagger_tasks` runs whole tasks of a suite through the full stack (planner, executive with
retries, backtracking and replanning, skill runner), so the replans after the learner's failures
are recorded too: the `search` for the drawer after the robot drove somewhere else, a `move_to`
from wherever the last skill left the base. `collect_dagger_skills` does the same for the skill
scenarios of `skills.evaluate` (the set-up runs scripted). Episodes are written with
`source="dagger"`; the loader takes their done targets from the recorded done flags.

Nothing here reads the simulator: the expert acts on camera perception, like the learner. The
task's ORACLE score is computed for the summary only (how well the learner did while collecting).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from robomatrix.errors import UsageError
from robomatrix.hardware.robot import Action, clip_action
from robomatrix.skills.data.format import DatasetWriter, EpisodeMeta, StepBuffer, target_object
from robomatrix.skills.data.instructions import instruction_text
from robomatrix.skills.policies.base import PolicyStep, SkillPolicy
from robomatrix.skills.registry import make_policy

MIN_LABELLED_STEPS = 3  # shorter labelled stretches are not written
EARLY_STOP_RULES = ("override", "handover")  # what follows a learner's stop where the expert would go on


def check_early_stop(rule: str) -> str:
    if rule not in EARLY_STOP_RULES:
        raise UsageError(f"unknown early-stop rule {rule!r}; choose one of: {', '.join(EARLY_STOP_RULES)}.")
    return rule


def labelling_skills() -> list[str]:
    """The skills whose scripted expert can label states another policy reached (labels_any_state)."""
    from robomatrix.skills.specs import skill_names

    return [name for name in skill_names() if make_policy("scripted", name).labels_any_state]


@dataclass
class LabelledRun(StepBuffer):
    """What one call's recorder kept: the learner's frames, the expert's labels."""

    executed_steps: int = 0  # ticks run, labelled or not
    expert_ticks: int = 0  # ticks on which the expert's command was sent (beta)
    stops_overridden: int = 0  # ticks on which the learner said done but the expert would have gone on
    handover_tick: int = -1  # executed tick at which the expert took over (early_stop="handover"; -1: never)
    label_end: str = ""  # why labelling stopped before the call ended ("" = it did not)


def _hold(action: Action) -> Action:
    return Action((0.0, 0.0, 0.0), action.arm_target, action.gripper)


class DaggerRecorder(SkillPolicy):
    """Runs `learner`, sends the expert's command with probability `beta`, records the expert's
    labels on the states reached (module docstring). `robot_config` gives the safety limits."""

    def __init__(self, learner: SkillPolicy, expert: SkillPolicy, robot_config, beta: float = 0.0,
                 rng: np.random.Generator | None = None, early_stop: str = "override"):
        if not 0.0 <= beta <= 1.0:
            raise UsageError(f"DAgger beta must be within [0, 1], got {beta!r}.")
        check_early_stop(early_stop)
        self.early_stop = early_stop
        self.learner, self.expert = learner, expert
        self.skill = expert.skill = learner.skill
        self.robot_config, self.beta = robot_config, float(beta)
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.run = LabelledRun()

    def reset(self, args, state, obs) -> None:
        self.learner.reset(args, state, obs)
        self.expert.reset(args, state, obs)
        self.args = dict(args)
        self.run = LabelledRun(instruction=instruction_text(self.skill, args, state),
                               target_name=target_object(self.skill, args))
        self._start_obs = obs
        self._rgb, self._depth = obs.rgb, obs.depth
        arm = tuple(float(v) for v in obs.ee_position)
        gripper = 1.0 if obs.gripper_opening > 0.9 else 0.0  # commanded, not measured: a held can keeps it ajar
        self._arm, self._gripper = arm, gripper  # the set-points the robot holds (what was sent)
        self._expert_arm, self._expert_gripper = arm, gripper  # the set-points the expert has asked for
        self._base = tuple(float(v) for v in obs.base_velocity)
        self._labelling = True

    def _resolve(self, action: Action, label: bool = False) -> tuple[np.ndarray, tuple, float, tuple]:
        """(action row, arm, gripper, base velocity) of `action` after the robot's clipping, holds
        resolved. A `label` is what the expert commands: speed and workspace limits only (not the part
        of it the base could reach in one tick from the learner's velocity), and its "hold" means the
        expert's own last set-point, not wherever the learner has put the arm."""
        applied = clip_action(action, self.robot_config, tuple(action.base_velocity) if label else self._base)
        held_arm, held_gripper = (self._expert_arm, self._expert_gripper) if label else (self._arm, self._gripper)
        arm = applied.arm_target if applied.arm_target is not None else held_arm
        gripper = applied.gripper if applied.gripper is not None else held_gripper
        row = np.array([*applied.base_velocity, arm[0], arm[1], gripper], np.float32)
        return row, arm, gripper, tuple(applied.base_velocity)

    def act(self, state, obs) -> PolicyStep:
        if obs.rgb is not None:
            self._rgb, self._depth = obs.rgb, obs.depth
        learner_step = self.learner.act(state, obs)
        expert_step: PolicyStep | None = None
        if self._labelling:
            try:
                expert_step = self.expert.act(state, obs)
            except Exception as exc:  # noqa: BLE001 - the expert has no answer here: stop labelling, run on
                self._labelling, self.run.label_end = False, f"expert raised {type(exc).__name__}: {exc}"
            if expert_step is not None and expert_step.done and expert_step.success is False:
                self._labelling, self.run.label_end = False, f"expert gave up: {expert_step.message}"
                expert_step = None
        if expert_step is not None:
            command = _hold(expert_step.action) if expert_step.done else expert_step.action
            row, self._expert_arm, self._expert_gripper, _ = self._resolve(command, label=True)
            self.run.append(self._rgb, self._depth, obs, self._start_obs, state, row, expert_step.done,
                            str(getattr(self.expert, "phase", "") or ""), expert_step.progress)
        handed_over = expert_step is not None and self.run.handover_tick >= 0
        use_expert = expert_step is not None and (handed_over or (self.beta > 0 and self.rng.random() < self.beta))
        step = expert_step if use_expert else learner_step
        if step.done and expert_step is not None and not expert_step.done:
            # the learner stops where the expert would go on: recorded (done label 0), and the call goes on
            # so the states after a too-early stop get labels too (else each round reaches a bit further):
            # driven on by the learner ("override") or by the expert from here on ("handover")
            self.run.stops_overridden += 1
            if self.early_stop == "handover":
                self.run.handover_tick, use_expert, step = self.run.executed_steps, True, expert_step
            else:
                step = PolicyStep(step.action, done=False, progress=step.progress, message=step.message)
        self.run.expert_ticks += use_expert
        self.run.executed_steps += 1
        sent = _hold(step.action) if step.done else step.action
        _, self._arm, self._gripper, self._base = self._resolve(sent)
        return step


class DaggerWriter:
    """Installs a DaggerRecorder around every call a `SkillRunner` runs and writes each labelled call
    as an episode of dataset `out` when the call ends (`SkillRunner.on_result`)."""

    def __init__(self, out, learner: str = "neural", beta: float = 0.0, seed: int = 0,
                 learner_name: str = "", early_stop: str = "override"):
        self.writer = DatasetWriter(out)
        self.learner, self.beta, self.learner_name = learner, float(beta), learner_name
        self.early_stop = check_early_stop(early_stop)
        self.rng = np.random.default_rng(seed)
        self.context: dict[str, Any] = {}  # scene, seed, task: written into each episode's metadata
        self.only: set[str] | None = None  # record only these skills (None: all)
        self.recorder: DaggerRecorder | None = None
        self.per_skill: dict[str, dict[str, int]] = {}
        self.runner = None

    def attach(self, runner) -> None:
        """Record the calls `runner` runs from now on (until `detach`)."""
        self.runner = runner
        runner.policy_wrapper = self._wrap
        runner.on_result = self._finish

    def detach(self) -> None:
        if self.runner is not None:
            self.runner.policy_wrapper = None
            self.runner.on_result = None
        self.runner, self.recorder = None, None

    def _wrap(self, policy: SkillPolicy) -> SkillPolicy:
        expert = make_policy("scripted", policy.skill)
        self.recorder = None
        if (self.only is not None and policy.skill not in self.only) or not expert.labels_any_state:
            return policy  # runs as made, unrecorded
        learner = policy if self.learner == getattr(self.runner.config, "policy_kind", "") \
            else make_policy(self.learner, policy.skill)
        self.recorder = DaggerRecorder(learner, expert, self.runner.robot.config, self.beta, self.rng,
                                       early_stop=self.early_stop)
        return self.recorder

    def _finish(self, call, result) -> None:
        recorder, self.recorder = self.recorder, None
        if recorder is None or recorder.skill != call.skill:
            return
        run = recorder.run
        row = self.per_skill.setdefault(call.skill, {"calls": 0, "learner_ok": 0, "episodes": 0, "steps": 0})
        row["calls"] += 1
        row["learner_ok"] += bool(result.success)
        if len(run.action) < MIN_LABELLED_STEPS:
            return
        if result.success and not run.label_end:
            # the learner stopped here and the postcondition held: here was a right time to stop (it may
            # stop a tick before the expert's own "settled" test would have)
            run.done[-1] = True
        args = dict(call.args)
        camera = run.rgb[0].shape[1::-1] if run.rgb[0] is not None else (0, 0)
        meta = EpisodeMeta(
            skill=call.skill, instruction=run.instruction, steps=len(run.action),
            success=bool(result.success), source="dagger", args=args, call=call.to_text(),
            scene=str(self.context.get("scene", "")), seed=int(self.context.get("seed", 0)),
            control_rate_hz=float(self.runner.config.control_rate_hz), camera=camera,
            oracle={"perception": False, "policy": False, "setup_perception": False},
            outcome={"postcondition_ok": bool(result.success), "reason": result.reason,
                     "duration_s": result.duration_s, "expert": "scripted", "learner": self.learner_name or self.learner,
                     "beta": self.beta, "executed_steps": run.executed_steps, "expert_ticks": run.expert_ticks,
                     "stops_overridden": run.stops_overridden, "early_stop": self.early_stop,
                     "handover_tick": run.handover_tick,
                     "label_end": run.label_end, **({"task": self.context["task"]} if "task" in self.context else {})},
            phases=run.phases)
        depth = run.depth if all(d is not None for d in run.depth) else None
        self.writer.add(meta, run.rgb, depth, run.proprio, run.action, run.done, run.phase, run.progress,
                        run.target)
        row["episodes"] += 1
        row["steps"] += len(run.action)


def _learner_name(learner: str) -> str:
    if learner != "neural":
        return learner
    from robomatrix.skills.neural.policy import checkpoint_path

    return f"neural:{checkpoint_path()}"


def collect_dagger_tasks(out, task_names: list[str], episodes: int, suite: str = "core", seed: int = 0,
                         camera: tuple[int, int] = (320, 240), beta: float = 0.0, learner: str = "neural",
                         skills: list[str] | None = None, progress: Callable[[str, bool], None] | None = None,
                         early_stop: str = "override") -> dict:
    """Run `episodes` episodes of each task of `suite` in `task_names` with the `learner` policy kind
    through the whole stack (rule planner, executive with replanning), recording the expert's labels
    of every skill call (only `skills` when given) into dataset `out`.

    Episode e of task k uses scene seed `seed + 1000 * k + e`. `progress(task, oracle_ok)` after each.
    Returns {"per_task": {task: {"episodes", "oracle_ok"}}, "per_skill": {skill: {"calls", "learner_ok",
    "episodes", "steps"}}, "wall_time_s"}: the ORACLE score is for this summary only.
    """
    from robomatrix.run import RunConfig, SimSession
    from robomatrix.sim.tasks import OracleState
    from robomatrix.sim.tasks import task as task_spec

    dagger = DaggerWriter(out, learner=learner, beta=beta, seed=seed, learner_name=_learner_name(learner),
                          early_stop=early_stop)
    dagger.only = set(skills) if skills else None
    summary: dict = {"per_task": {}, "out": str(out), "suite": suite, "beta": beta, "learner": dagger.learner_name,
                     "early_stop": early_stop}
    wall0 = time.perf_counter()
    specs = [task_spec(name, suite) for name in task_names]
    # no goal stop: the learner's own stop decisions are what the expert labels
    session = SimSession(RunConfig(policy=learner, camera_width=camera[0], camera_height=camera[1], goal_stop="off"))
    try:
        for k, spec in enumerate(specs):
            row = summary["per_task"].setdefault(spec.name, {"episodes": 0, "oracle_ok": 0})
            for e in range(episodes):
                scene_seed = seed + 1000 * k + e
                scene = spec.build_scene(scene_seed)
                session.reset(seed=scene_seed, scene=scene)
                session.config.time_limit_s = spec.time_limit_s
                dagger.context = {"scene": spec.scene, "seed": scene_seed, "task": spec.name}
                dagger.attach(session.runner)
                start = OracleState.capture(session.robot)  # ORACLE, the summary's score only
                try:
                    session.run(spec.instruction)
                finally:
                    dagger.detach()
                ok, _ = spec.score(scene, start, OracleState.capture(session.robot))  # ORACLE, summary only
                row["episodes"] += 1
                row["oracle_ok"] += bool(ok)
                if progress:
                    progress(spec.name, bool(ok))
    finally:
        session.close()
    summary["per_skill"] = dagger.per_skill
    summary["wall_time_s"] = round(time.perf_counter() - wall0, 1)
    return summary


def collect_dagger_skills(out, skills: list[str], episodes: int, seed: int = 0, camera: tuple[int, int] = (320, 240),
                          beta: float = 0.0, learner: str = "neural",
                          progress: Callable[[str, bool], None] | None = None, early_stop: str = "override",
                          variant: str = "standard") -> dict:
    """`episodes` calls of each skill in its `skills.evaluate` scenario (`variant`) (set-up run by the scripted
    policies, scene seed `seed + episode`), the skill under test driven by `learner` and labelled by
    the expert into dataset `out`. A set-up that fails is skipped. Returns {"per_skill", "wall_time_s"}."""
    from robomatrix.messages import SkillCall
    from robomatrix.run import RunConfig, SimSession
    from robomatrix.skills.evaluate import scenario
    from robomatrix.skills.specs import validate_call

    dagger = DaggerWriter(out, learner=learner, beta=beta, seed=seed, learner_name=_learner_name(learner),
                          early_stop=early_stop)
    summary: dict = {"out": str(out), "beta": beta, "learner": dagger.learner_name, "setup_failed": 0,
                     "early_stop": early_stop}
    wall0 = time.perf_counter()
    session = SimSession(RunConfig(policy="scripted", camera_width=camera[0], camera_height=camera[1]))
    try:
        for skill in skills:
            for e in range(episodes):
                sc = scenario(skill, e, variant)
                try:
                    session.reset(seed=seed + e, scene=sc.scene)
                except UsageError:  # a random layout that cannot be built
                    summary["setup_failed"] += 1
                    continue
                runner = session.runner
                if not all(runner.run(call).success for call in sc.setup):
                    summary["setup_failed"] += 1
                    continue
                dagger.context = {"scene": sc.scene, "seed": seed + e}
                dagger.attach(runner)
                try:
                    result = runner.run(SkillCall(sc.call.skill, validate_call(sc.call.skill, sc.call.args)))
                finally:
                    dagger.detach()
                if progress:
                    progress(skill, bool(result.success))
    finally:
        session.close()
    summary["per_skill"] = dagger.per_skill
    summary["wall_time_s"] = round(time.perf_counter() - wall0, 1)
    return summary
