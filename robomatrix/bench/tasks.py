"""`robomatrix bench tasks`: success rate of the whole stack on a task suite, per task and level.

Each episode: a fresh scene (the task's scene randomised by `seed + episode`), the robot's
perception looking at it, the planner, the executive and the skills running the instruction in
lock-step simulation, then the task's success predicate scored from simulator state. SCORING IS
ORACLE (`robomatrix.sim.tasks`); acting never is, unless `perception="oracle"` is asked for as
an ablation (the result says which).

The result also says how often the stack *believed* it succeeded (`claimed_success_rate`) and
lists every failed episode with the executive's reason and the oracle's view, so failures can
be traced to a skill.
"""
from __future__ import annotations

import os
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from robomatrix.errors import UsageError, unknown_name

LEVEL_ORDER = ("easy", "medium", "hard")


@dataclass
class BenchConfig:
    """What `robomatrix bench tasks` runs."""

    suite: str = "core"  # registered task suite (robomatrix.sim.tasks)
    sim: str = "mujoco"  # simulator backend (robomatrix.run.SIM_BACKENDS)
    episodes: int = 20  # episodes per task
    seed: int = 0  # episode e of every task uses scene seed `seed + e`
    policy: str = "scripted"  # skill policy kind
    planner: str = "rule"  # planner name
    perception: str = "camera"  # "camera" (default) or "oracle" (ORACLE ablation)
    tasks: tuple[str, ...] = ()  # only these task names (empty: the whole suite)
    camera_width: int = 320  # camera image size, px
    camera_height: int = 240
    workers: int = 1  # parallel worker processes (each runs whole episodes)
    replan: bool = True  # executive recovery beyond plain retries (monitor, backtrack, replan); False: baseline
    split: str = "seen"  # generalisation split of the scenes (robomatrix.sim.scenes.SPLITS)
    goal_stop: str = "auto"  # skills end when perception sees their goal: auto (learned policies) | on | off

    def __post_init__(self):
        from robomatrix.sim.scenes import split
        from robomatrix.skills.registry import POLICY_KINDS

        if self.policy not in POLICY_KINDS:
            raise unknown_name("policy kind", self.policy, POLICY_KINDS)
        split(self.split)  # unknown name: UsageError with a suggestion
        from robomatrix.skills.runner import GOAL_STOP_MODES

        if self.goal_stop not in GOAL_STOP_MODES:
            raise unknown_name("goal stop mode", self.goal_stop, GOAL_STOP_MODES)
        for name, low in (("episodes", 1), ("workers", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise UsageError(f"BenchConfig.{name} must be an integer >= {low}, got {value!r}.")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise UsageError(f"BenchConfig.seed must be an integer, got {self.seed!r}.")
        from robomatrix.run import SIM_BACKENDS

        if self.sim not in SIM_BACKENDS:
            raise unknown_name("simulator (--sim)", self.sim, SIM_BACKENDS)


def selected_tasks(cfg: BenchConfig):
    from robomatrix.sim.tasks import suite, task

    return [task(n, cfg.suite) for n in cfg.tasks] if cfg.tasks else list(suite(cfg.suite))


# ----------------------------------------------------------------- one episode (in a worker)
_SESSION = None
_SESSION_KEY: tuple = ()


def _session(cfg: BenchConfig):
    global _SESSION, _SESSION_KEY
    key = (cfg.sim, cfg.planner, cfg.policy, cfg.perception, cfg.camera_width, cfg.camera_height, cfg.goal_stop)
    if _SESSION is not None and _SESSION_KEY != key:  # another robot, planner or policy asked for
        _SESSION.close()
        _SESSION = None
    if _SESSION is None:
        from robomatrix.run import RunConfig, SimSession

        _SESSION = SimSession(RunConfig(sim=cfg.sim, planner=cfg.planner, policy=cfg.policy, perception=cfg.perception,
                                        camera_width=cfg.camera_width, camera_height=cfg.camera_height,
                                        goal_stop=cfg.goal_stop))
        _SESSION_KEY = key
    return _SESSION


def run_episode(cfg: BenchConfig, task_name: str, seed: int) -> dict[str, Any]:
    """Run one episode of `task_name` with scene seed `seed`; the row the bench aggregates."""
    from robomatrix.run import Hooks
    from robomatrix.sim.tasks import OracleState, task

    spec = task(task_name, cfg.suite)
    session = _session(cfg)
    session.config.time_limit_s = spec.time_limit_s
    if cfg.split == "seen":
        scene = spec.build_scene(seed)
    else:
        from robomatrix.sim.scenes import split_scene

        scene = split_scene(spec.scene, seed, cfg.split)
    session.reset(seed=seed, scene=scene)
    session.config.executive = replace(session.config.executive, replan=cfg.replan)
    perturber = None
    if spec.perturbation:  # ORACLE injection of a disturbance mid-task (robomatrix.sim.perturb)
        from robomatrix.sim.perturb import Perturber

        perturber = Perturber(spec.perturbation, session.robot, seed)
    session.hooks = perturber.hooks() if perturber is not None else Hooks()
    start = OracleState.capture(session.robot)  # ORACLE, scoring only
    result = session.run(spec.instruction)
    end = OracleState.capture(session.robot)  # ORACLE, scoring only
    ok, why = perturber.score(spec, scene, start, end) if perturber is not None else spec.score(scene, start, end)
    failed = [s for s in result.report.steps if not s.success]
    return {
        "task": spec.name, "level": spec.level, "seed": seed, "success": ok, "oracle": why,
        "claimed_success": result.success, "outcome": result.report.outcome, "reason": result.report.reason,
        "skills": len(result.report.steps), "replans": result.report.replans,
        "backtracks": result.report.backtracks,
        "perturbation": spec.perturbation, "perturbed": perturber.fired if perturber is not None else "",
        "failed_skills": [f"{s.skill}: {s.reason}" for s in failed],
        "timeline": timeline(result.report.steps),
        "sim_time_s": result.sim_time_s, "wall_time_s": result.wall_time_s,
    }


def timeline(steps) -> list[str]:
    """Every skill execution of an episode in order, one line each: start time (simulated seconds
    since the task began), the call, its duration, and why it failed ("ok (goal stop)": perception saw its goal)."""
    from robomatrix.messages import SkillCall
    from robomatrix.skills.runner import outcome_text

    lines, t = [], 0.0
    for s in steps:
        outcome = outcome_text(s.success, s.reason)
        lines.append(f"{t:6.1f} s  {SkillCall(s.skill, dict(s.args)).to_text()}  {s.duration_s:.1f} s  {outcome}")
        t += s.duration_s
    return lines


def _episode_or_error(cfg: BenchConfig, task_name: str, seed: int) -> dict[str, Any]:
    try:
        return run_episode(cfg, task_name, seed)
    except UsageError:
        raise
    except Exception as exc:  # a crash is a failed episode with its reason, not a lost benchmark
        global _SESSION
        _SESSION = None
        return {"task": task_name, "level": "", "seed": seed, "success": False, "oracle": "",
                "claimed_success": False, "outcome": "error", "reason": f"{type(exc).__name__}: {exc}",
                "skills": 0, "replans": 0, "failed_skills": [], "timeline": [], "sim_time_s": 0.0,
                "wall_time_s": 0.0}


def _worker_init() -> None:
    os.environ.setdefault("MUJOCO_GL", "egl")


# ----------------------------------------------------------------- the whole bench
def run_task_bench(cfg: BenchConfig, progress: bool = True) -> dict[str, Any]:
    """Every episode of every selected task; the `--json` object (see `summarise`)."""
    specs = selected_tasks(cfg)
    jobs = [(t.name, cfg.seed + e) for t in specs for e in range(cfg.episodes)]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), desc=f"bench tasks ({cfg.suite})", unit="episode", file=sys.stderr)
    rows: list[dict[str, Any]] = []
    wall0 = time.perf_counter()
    try:
        if cfg.workers == 1:
            for name, seed in jobs:
                rows.append(_episode_or_error(cfg, name, seed))
                _tick(bar, rows)
        else:
            import multiprocessing

            with ProcessPoolExecutor(cfg.workers, mp_context=multiprocessing.get_context("spawn"),
                                     initializer=_worker_init) as pool:
                futures = [pool.submit(_episode_or_error, cfg, name, seed) for name, seed in jobs]
                for future in futures:
                    rows.append(future.result())
                    _tick(bar, rows)
    finally:
        if bar is not None:
            bar.close()
    levels = {t.name: t.level for t in specs}
    for row in rows:
        row["level"] = row["level"] or levels[row["task"]]
    return summarise(cfg, specs, rows, time.perf_counter() - wall0)


def _tick(bar, rows) -> None:
    if bar is not None:
        done = sum(r["success"] for r in rows)
        bar.set_postfix_str(f"{done}/{len(rows)} ok, last: {rows[-1]['task']}", refresh=False)
        bar.update(1)


def _mean(values) -> float:
    values = list(values)
    return round(sum(values) / len(values), 3) if values else 0.0


def summarise(cfg: BenchConfig, specs, rows: list[dict[str, Any]], wall_time_s: float) -> dict[str, Any]:
    """Aggregate episode rows into the bench's JSON object."""
    by_task: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_task[row["task"]].append(row)
    per_task = {}
    for spec in specs:
        rs = by_task.get(spec.name, [])
        per_task[spec.name] = {
            "level": spec.level, "instruction": spec.instruction, "episodes": len(rs),
            "successes": sum(r["success"] for r in rs),
            "success_rate": _mean(r["success"] for r in rs),
            "claimed_success_rate": _mean(r["claimed_success"] for r in rs),
            "mean_skills": _mean(r["skills"] for r in rs),
            "mean_replans": _mean(r["replans"] for r in rs),
            "mean_sim_time_s": _mean(r["sim_time_s"] for r in rs),
            "mean_wall_time_s": _mean(r["wall_time_s"] for r in rs),
        }
    per_level = {}
    for level in LEVEL_ORDER:
        rs = [r for r in rows if r["level"] == level]
        if rs:
            per_level[level] = {"tasks": sum(1 for s in specs if s.level == level), "episodes": len(rs),
                                "success_rate": _mean(r["success"] for r in rs)}
    failures = [{k: r[k] for k in ("task", "seed", "outcome", "reason", "oracle", "failed_skills", "claimed_success",
                                   "timeline")}
                | ({"perturbed": r.get("perturbed", "")} if r.get("perturbation") else {})
                for r in rows if not r["success"]]
    per_perturbation = {}
    for kind in dict.fromkeys(r.get("perturbation", "") for r in rows if r.get("perturbation")):
        rs = [r for r in rows if r.get("perturbation") == kind]
        per_perturbation[kind] = {"episodes": len(rs), "success_rate": _mean(r["success"] for r in rs),
                                  "fired_rate": _mean(bool(r.get("perturbed")) for r in rs),
                                  "mean_backtracks": _mean(r.get("backtracks", 0) for r in rs),
                                  "mean_replans": _mean(r["replans"] for r in rs)}
    return {
        "suite": cfg.suite, "sim": cfg.sim, "split": cfg.split, "episodes": cfg.episodes, "seed": cfg.seed, "policy": cfg.policy,
        "planner": cfg.planner, "perception": cfg.perception, "camera": f"{cfg.camera_width}x{cfg.camera_height}",
        "replan": cfg.replan, "goal_stop": cfg.goal_stop,
        "success_rate": _mean(r["success"] for r in rows),
        "claimed_success_rate": _mean(r["claimed_success"] for r in rows),
        "per_task": per_task, "per_level": per_level, "failures": failures,
        **({"per_perturbation": per_perturbation} if per_perturbation else {}),
        "wall_time_s": round(wall_time_s, 1),
    }
