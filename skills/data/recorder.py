"""Recording demonstrations: run a skill with an expert policy in the simulator and keep every step.

`record_episode` drives one skill call like `SkillRunner` does (lock-step, one camera frame and
perception update per control tick, the same postcondition at the end), but records, for every
tick, the camera frame (RGB + depth), proprioception, the action the robot applied (with "hold"
resolved to the held value), the expert's phase and progress, and a done flag on the step where
the expert finished. `collect` sets each skill up with the scenarios of `skills.evaluate` (the
skills before it run with scripted policies), records the skill under test, and keeps the
successful episodes. `collect_tasks` records whole tasks of a task suite instead (e.g. the core
suite in the office scene): the rule planner plans the instruction from what perception sees, and
every planned skill call is recorded as its own episode, in order, until one fails.

The scripted experts run on camera perception by default; `perception="oracle"` makes them run on
simulator ground truth instead, and the episode metadata says so (`oracle.perception`).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from robomatrix.errors import UsageError
from robomatrix.hardware.robot import Action
from robomatrix.messages import SkillCall
from robomatrix.skills.data.format import DatasetWriter, EpisodeMeta, StepBuffer, target_object
from robomatrix.skills.data.instructions import instruction_text
from robomatrix.skills.registry import make_policy
from robomatrix.skills.runner import SETTLE_TICKS, RunnerConfig, SkillRunner, postcondition_check
from robomatrix.skills.specs import skill_spec, validate_call


@dataclass
class Recording(StepBuffer):
    """The arrays of one recorded skill execution (before it is written) and how it ended."""

    postcondition_ok: bool = False
    reason: str = ""
    duration_s: float = 0.0


def _resolved(applied: Action, arm, gripper) -> tuple[np.ndarray, tuple, float]:
    arm = applied.arm_target if applied.arm_target is not None else arm
    gripper = applied.gripper if applied.gripper is not None else gripper
    row = np.array([*applied.base_velocity, arm[0], arm[1], gripper], np.float32)
    return row, arm, gripper


def record_episode(robot, perception, call: SkillCall, expert: str = "scripted",
                   control_rate_hz: float = 20.0) -> Recording:
    """Run `call` with the `expert` policy kind on `robot` (a simulated robot, already set up) and
    record every control tick; the postcondition decides `postcondition_ok`."""
    spec = skill_spec(call.skill)
    args = validate_call(call.skill, call.args)
    policy = make_policy(expert, call.skill)
    dt = 1.0 / control_rate_hz
    rec = Recording(target_name=target_object(call.skill, args))
    obs = robot.get_observation()
    state = perception.update(obs)
    start_obs, start_state = obs, state
    rec.instruction = instruction_text(call.skill, args, start_state)
    policy.reset(args, state, obs)
    arm = tuple(float(v) for v in obs.ee_position)
    gripper = 1.0 if obs.gripper_opening > 0.9 else 0.0  # commanded, not measured: a held can keeps it ajar
    while True:
        if obs.stamp_s - start_obs.stamp_s > spec.time_limit_s:
            rec.reason = f"{call.skill} ran out of time ({spec.time_limit_s:g} s)"
            robot.stop()
            return rec
        step = policy.act(state, obs)
        command = Action((0.0, 0.0, 0.0), step.action.arm_target, step.action.gripper) if step.done else step.action
        applied = robot.send_action(command)
        row, arm, gripper = _resolved(applied, arm, gripper)
        rec.append(obs.rgb, obs.depth, obs, start_obs, state, row, step.done,
                   str(getattr(policy, "phase", "") or ""), step.progress)
        if step.done:
            break
        robot.advance(dt)
        obs = robot.get_observation()
        state = perception.update(obs)
    if step.success is False:
        rec.reason = step.message or f"{call.skill} failed"
        return rec
    for _ in range(SETTLE_TICKS):
        robot.advance(dt)
        robot.send_action(Action())
    obs = robot.get_observation()
    state = perception.update(obs)
    rec.duration_s = round(obs.stamp_s - start_obs.stamp_s, 3)
    context = {**args, "skill": call.skill, "start_state": start_state, "start_obs": start_obs}
    ok, reason = postcondition_check(spec.postcondition)(state, obs, context)
    rec.postcondition_ok, rec.reason = bool(ok), reason or step.message
    return rec


def _perception(kind: str, robot):
    if kind == "oracle":
        from robomatrix.skills.oracle_perception import OraclePerception

        return OraclePerception(robot)
    from robomatrix.perception import Perception

    return Perception()


def collect(out, skills: list[str], episodes: int, seed: int = 0, camera: tuple[int, int] = (160, 120),
            perception: str = "rgbd", keep_failures: bool = False, max_attempts_factor: int = 3,
            progress: Callable[[str, bool], None] | None = None, variant: str = "standard") -> dict:
    """Record `episodes` successful demonstrations of each skill into dataset folder `out`.

    Episode e of a skill uses `skills.evaluate.scenario(skill, e, variant)` (its scene, set-up calls
    and call; directions and targets rotate with e) with scene seed `seed + attempt`. Failed set-ups
    and failed demonstrations are retried with the next seed, up to `max_attempts_factor *
    episodes` attempts per skill. `progress(skill, kept)` is called after every attempt.
    Returns {"per_skill": {skill: {"kept", "attempts", "failed", "steps"}}, "wall_time_s"}.
    """
    from robomatrix.hardware.robot import make_robot
    from robomatrix.skills.evaluate import scenario

    writer = DatasetWriter(out)
    summary: dict = {"per_skill": {}, "out": str(out)}
    wall0 = time.perf_counter()
    oracle_perception = perception == "oracle"
    with make_robot("mujoco", camera_width=camera[0], camera_height=camera[1]) as robot:
        for skill in skills:
            kept = attempts = steps = 0
            failed: list[str] = []
            while kept < episodes and attempts < max_attempts_factor * episodes:
                sc = scenario(skill, kept, variant)
                scene_seed = seed + attempts
                attempts += 1
                try:
                    robot.reset(sc.scene, scene_seed)
                except UsageError as exc:  # a random layout that cannot be built: next seed
                    failed.append(f"seed {scene_seed}: {exc}")
                    continue
                percept = _perception(perception, robot)
                runner = SkillRunner(robot, percept, config=RunnerConfig(policy_kind="scripted"))
                setup_ok = True
                for call in sc.setup:
                    if not runner.run(call).success:
                        setup_ok = False
                        break
                if not setup_ok:
                    failed.append(f"seed {scene_seed}: set-up failed")
                    if progress:
                        progress(skill, False)
                    continue
                args = validate_call(sc.call.skill, sc.call.args)
                rec = record_episode(robot, percept, SkillCall(sc.call.skill, args))
                success = rec.postcondition_ok
                if not success:
                    failed.append(f"seed {scene_seed}: {rec.reason}")
                if (success or keep_failures) and rec.action:
                    meta = EpisodeMeta(
                        skill=skill, instruction=rec.instruction, steps=len(rec.action),
                        success=success, source="scripted", args=args, call=SkillCall(skill, args).to_text(),
                        scene=sc.scene, seed=scene_seed, control_rate_hz=20.0,
                        oracle={"perception": oracle_perception, "policy": False, "setup_perception": oracle_perception},
                        outcome={"postcondition_ok": rec.postcondition_ok, "reason": rec.reason,
                                 "duration_s": rec.duration_s, "expert": "scripted"},
                        phases=rec.phases)
                    writer.add(meta, rec.rgb, rec.depth, rec.proprio, rec.action, rec.done, rec.phase, rec.progress,
                               rec.target)
                    steps += len(rec.action)
                    kept += success
                if progress:
                    progress(skill, success)
            summary["per_skill"][skill] = {"kept": kept, "attempts": attempts, "failed": failed, "steps": steps}
    summary["wall_time_s"] = round(time.perf_counter() - wall0, 1)
    return summary


def collect_tasks(out, task_names: list[str], episodes: int, suite: str = "core", seed: int = 0,
                  camera: tuple[int, int] = (160, 120), skills: list[str] | None = None,
                  max_attempts_factor: int = 2, progress: Callable[[str, bool], None] | None = None) -> dict:
    """Record every skill call of `episodes` scripted executions of each task of `suite` named in
    `task_names` into dataset folder `out` (camera perception, rule planner; no retries: a chain
    stops at its first failed skill, whose episode is not kept).

    Attempt a of task k uses scene seed `seed + 1000 * k + a`. Only skills in `skills` (all when
    None) are written. An episode counts as done when its whole chain succeeded; up to
    `max_attempts_factor * episodes` attempts per task. `progress(task, chain_ok)` after each.
    Returns {"per_task": {task: {"chains_ok", "attempts", "failed"}}, "per_skill": {skill: {"kept", "steps"}},
    "wall_time_s"}.
    """
    from robomatrix.planners.base import PlanningError
    from robomatrix.run import RunConfig, SimSession
    from robomatrix.sim.tasks import task as task_spec

    writer = DatasetWriter(out)
    summary: dict = {"per_task": {}, "per_skill": {}, "out": str(out), "suite": suite}
    wall0 = time.perf_counter()
    specs = [task_spec(name, suite) for name in task_names]
    session = SimSession(RunConfig(policy="scripted", camera_width=camera[0], camera_height=camera[1],
                                   camera_every_n=1))
    try:
        for k, spec in enumerate(specs):
            ok_chains = attempts = 0
            failed: list[str] = []
            while ok_chains < episodes and attempts < max_attempts_factor * episodes:
                scene_seed = seed + 1000 * k + attempts
                attempts += 1
                try:
                    session.reset(seed=scene_seed, scene=spec.build_scene(scene_seed))
                    plan = session.plan(spec.instruction)
                except (UsageError, PlanningError) as exc:
                    failed.append(f"seed {scene_seed}: {exc}")
                    if progress:
                        progress(spec.name, False)
                    continue
                chain_ok = True
                for step in plan.steps:
                    args = validate_call(step.skill, step.args)
                    call = SkillCall(step.skill, args)
                    rec = record_episode(session.robot, session.perception, call)
                    if not rec.postcondition_ok:
                        failed.append(f"seed {scene_seed}: {call.to_text()}: {rec.reason}")
                        chain_ok = False
                        break
                    if skills is None or call.skill in skills:
                        meta = EpisodeMeta(
                            skill=call.skill, instruction=rec.instruction, steps=len(rec.action),
                            success=True, source="scripted", args=args, call=call.to_text(),
                            scene=spec.scene, seed=scene_seed, control_rate_hz=20.0,
                            oracle={"perception": False, "policy": False, "setup_perception": False},
                            outcome={"postcondition_ok": True, "reason": rec.reason, "duration_s": rec.duration_s,
                                     "expert": "scripted", "task": spec.name},
                            phases=rec.phases)
                        writer.add(meta, rec.rgb, rec.depth, rec.proprio, rec.action, rec.done, rec.phase,
                                   rec.progress, rec.target)
                        row = summary["per_skill"].setdefault(call.skill, {"kept": 0, "steps": 0})
                        row["kept"] += 1
                        row["steps"] += len(rec.action)
                ok_chains += chain_ok
                if progress:
                    progress(spec.name, chain_ok)
            summary["per_task"][spec.name] = {"chains_ok": ok_chains, "attempts": attempts, "failed": failed}
    finally:
        session.close()
    summary["wall_time_s"] = round(time.perf_counter() - wall0, 1)
    return summary
