"""Benchmarks of the skill policies: per-skill success (`bench skills`) and neural speed (`bench policy`).

`evaluate_policy_skills("neural", ...)` uses the scenarios of `robomatrix.skills.evaluate`: the
set-up skills run with the scripted policies, the skill under test with the chosen kind, and a
run counts when the skill's postcondition holds AND the ORACLE check agrees (scoring only). Seeds
start at 1000 by default, away from the seeds `collect` records at (0 …): the same scene
distributions ("seen conditions"), different scenes.

`policy_speed()` measures inference latency at batch 1 (CPU; CUDA too when present, with the
device name) and the closed-loop skill rate: control ticks per wall-clock second of
`SkillRunner` running a neural skill in MuJoCo, rendering and perception included.
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Callable

import numpy as np

EVAL_SEED = 1000


class _CountingRobot:
    """Forwards to a robot and counts `send_action` calls (control ticks)."""

    def __init__(self, robot):
        self._robot, self.ticks = robot, 0

    def send_action(self, action):
        self.ticks += 1
        return self._robot.send_action(action)

    def __getattr__(self, name):
        return getattr(self._robot, name)


def _perception(robot, kind: str):
    from robomatrix.skills.evaluate import _make_perception

    return _make_perception(kind, robot)


def run_skill_scenario(robot, skill: str, episode: int, seed: int, kind: str, perception: str = "rgbd",
                       trace: list | None = None, goal_stop: str = "auto", variant: str = "standard") -> dict:
    """Set `skill`'s scenario (of set-up `variant`, skills.evaluate.SCENARIO_VARIANTS) up with scripted
    skills, run the skill with policy `kind`; the outcome. With a `trace` list, one row per tick of the
    skill under test is appended to it (skills.trace)."""
    from robomatrix.errors import UsageError
    from robomatrix.skills.evaluate import CAN, _can_world, scenario
    from robomatrix.skills.runner import RunnerConfig, SkillRunner

    sc = scenario(skill, episode, variant)
    try:
        robot.reset(sc.scene, seed)
    except UsageError as exc:  # a seed whose random layout cannot be built: counted as a failed set-up
        return {"setup_ok": False, "success": False, "reason": f"scene: {exc}"}
    percept = _perception(robot, perception)
    setup = SkillRunner(robot, percept, config=RunnerConfig(policy_kind="scripted"))
    for call in sc.setup:
        r = setup.run(call)
        if not r.success:
            return {"setup_ok": False, "success": False, "reason": f"set-up {call.skill}: {r.reason}"}
    st = robot.get_state()
    before = {"can": _can_world(robot) if CAN in robot.oracle_object_poses() else None,
              "yaw": float(st.base_pose[2]), "pose": st.base_pose.copy(), "ee": st.ee_position.copy()}
    counting = _CountingRobot(robot)
    runner = SkillRunner(counting, percept, config=RunnerConfig(policy_kind=kind, goal_stop=goal_stop))
    if trace is not None:
        from robomatrix.skills.trace import shadowed

        runner.policy_wrapper = lambda policy: shadowed(policy, trace)
    wall0 = time.perf_counter()
    result = runner.run(sc.call)
    wall = time.perf_counter() - wall0
    oracle_ok, note = sc.oracle_check(robot, before)
    return {"setup_ok": True, "call": sc.call.to_text(), "success": bool(result.success and oracle_ok),
            "postcondition_ok": result.success, "oracle_ok": bool(oracle_ok), "reason": result.reason if not result.success else note,
            "duration_s": result.duration_s, "ticks": counting.ticks, "wall_s": wall}


def evaluate_policy_skills(kind: str = "neural", skills: list[str] | None = None, episodes: int = 10,
                           seed: int = EVAL_SEED, camera: tuple[int, int] = (160, 120), perception: str = "rgbd",
                           progress: Callable[[str, int, int], None] | None = None, trace_path=None,
                           goal_stop: str = "auto", variant: str = "standard") -> dict:
    """Success rate per skill of policy `kind` (see module docstring) in the scenarios of set-up
    `variant` (default: the standard ones; another covers only its own skills, which are then the
    default list). With `trace_path`, every episode
    of a skill under test becomes one JSON line there: skill, seed, outcome and its per-tick rows next
    to the shadow scripted expert's commands (skills.trace)."""
    os.environ.setdefault("MUJOCO_GL", "egl")
    from robomatrix.hardware.robot import make_robot
    from robomatrix.skills.evaluate import check_variant
    from robomatrix.skills.registry import policies

    available = policies(kind)
    covered = check_variant(variant, skills or ())
    names = list(skills) if skills else [s for s in available if covered is None or s in covered]
    trained: set[str] | None = None
    checkpoint = None
    if kind == "neural":
        from robomatrix.skills.neural.policy import checkpoint_path, load_policy_model

        _, doc = load_policy_model()
        trained, checkpoint = set(doc.get("skills", [])), str(checkpoint_path())
        if not skills:
            names = [s for s in names if s in trained]
    out: dict = {"policy": kind, "episodes": episodes, "seed": seed, "perception": perception,
                 "checkpoint": checkpoint, "goal_stop": goal_stop, "variant": variant, "per_skill": {}}
    wall0 = time.perf_counter()
    if trace_path is not None:
        open(trace_path, "w").close()  # this run's episodes only
    with make_robot("mujoco", camera_width=camera[0], camera_height=camera[1]) as robot:
        for k, skill in enumerate(names):
            rows = []
            for e in range(episodes):
                ticks = [] if trace_path is not None else None
                rows.append(run_skill_scenario(robot, skill, e, seed + e, kind, perception, trace=ticks,
                                               goal_stop=goal_stop, variant=variant))
                if trace_path is not None:
                    with open(trace_path, "a") as f:
                        f.write(json.dumps({"skill": skill, "seed": seed + e, "episode": e, "policy": kind,
                                            **{k: v for k, v in rows[-1].items() if k != "wall_s"},
                                            "ticks": ticks}) + "\n")
                if progress is not None:
                    progress(skill, k * episodes + e + 1, len(names) * episodes)
            ran = [r for r in rows if r["setup_ok"]]
            ticks, wall = sum(r.get("ticks", 0) for r in ran), sum(r.get("wall_s", 0.0) for r in ran)
            out["per_skill"][skill] = {
                "success_rate": round(sum(r["success"] for r in ran) / len(ran), 3) if ran else None,
                "n": len(ran), "successes": sum(r["success"] for r in ran), "setup_failed": len(rows) - len(ran),
                "postcondition_ok": sum(bool(r.get("postcondition_ok")) for r in ran),
                "oracle_ok": sum(bool(r.get("oracle_ok")) for r in ran),
                "scripted_fallback": trained is not None and skill not in trained,
                "loop_hz": round(ticks / wall, 1) if wall > 0 else None,
                "by_call": by_call(ran),
                "failures": [f"seed {seed + i}: {r['reason']}" for i, r in enumerate(rows) if not r["success"]]}
    out["wall_time_s"] = round(time.perf_counter() - wall0, 1)
    return out


def by_call(rows: list[dict]) -> dict[str, dict[str, int]]:
    """Successes per distinct call among a skill's episodes ("push(object='red can', direction='backward')":
    {"successes", "n"}): the scenarios rotate directions and targets, and a skill's rate can hide one of
    them failing most of the time."""
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        row = out.setdefault(r["call"], {"successes": 0, "n": 0})
        row["n"] += 1
        row["successes"] += int(bool(r["success"]))
    return out


def _latency_ms(model, device: str, n: int) -> dict:
    import torch

    cfg = model.config
    s = cfg.image_size
    image = torch.randint(0, 256, (1, 3, s, s), dtype=torch.uint8, device=device)
    proprio = torch.zeros(1, cfg.proprio_dim, device=device)
    text = torch.zeros(1, cfg.instruction_dim, device=device)
    # the added inputs the config has (a call of a skill that takes them passes them)
    from robomatrix.skills.data.format import DIRECTION_NAMES, TARGET_NAMES

    target = torch.zeros(1, len(TARGET_NAMES), device=device) if cfg.target_skills else None
    direction = torch.zeros(1, len(DIRECTION_NAMES), device=device) if cfg.direction_skills else None
    times = []
    with torch.inference_mode():
        for i in range(n + 10):
            t0 = time.perf_counter()
            actions, done = model(image, proprio, text, target, direction)
            actions.cpu(), done.cpu()  # what the policy does: results back on the host
            if i >= 10:
                times.append((time.perf_counter() - t0) * 1e3)
    return {"p50_ms": round(float(np.percentile(times, 50)), 3), "p99_ms": round(float(np.percentile(times, 99)), 3),
            "n": n}


def policy_speed(n: int = 200, closed_loop_episodes: int = 3, camera: tuple[int, int] = (160, 120)) -> dict:
    """Latency per device and closed-loop rate of the shipped (or configured) neural checkpoint."""
    import copy

    import torch

    from robomatrix.skills.neural.policy import checkpoint_path, load_policy_model

    model, doc = load_policy_model(device="cpu")
    out: dict = {"checkpoint": str(checkpoint_path()), "parameters": sum(p.numel() for p in model.parameters()),
                 "image_size": model.config.image_size, "chunk_size": model.config.chunk_size,
                 "torch_threads": torch.get_num_threads(), "latency": {"cpu": _latency_ms(model, "cpu", n)}}
    if torch.cuda.is_available():
        gpu = copy.deepcopy(model).to("cuda")
        out["latency"]["cuda"] = {**_latency_ms(gpu, "cuda", n), "device_name": torch.cuda.get_device_name(0)}
    cpu_met = out["latency"]["cpu"]["p50_ms"] <= 10.0
    out["targets"] = {"cpu_p50_ms": 10.0, "closed_loop_hz": 20.0, "cuda_p50_ms": 2.0, "cpu_p50_met": cpu_met}
    if "cuda" in out["latency"]:
        out["targets"]["cuda_p50_met"] = out["latency"]["cuda"]["p50_ms"] <= 2.0
    if closed_loop_episodes == 0:  # latency only: no simulator needed
        out["closed_loop"], out["targets"]["closed_loop_met"] = None, None
        return out
    skill = "grasp" if "grasp" in doc.get("skills", []) else doc.get("skills", ["grasp"])[0]
    os.environ.setdefault("MUJOCO_GL", "egl")
    from robomatrix.hardware.robot import make_robot

    ticks, wall, rows = 0, 0.0, []
    with make_robot("mujoco", camera_width=camera[0], camera_height=camera[1]) as robot:
        run_skill_scenario(robot, skill, 0, EVAL_SEED, "neural")  # warm-up: model, embedder, renderer
        for e in range(closed_loop_episodes):
            r = run_skill_scenario(robot, skill, e, EVAL_SEED + e, "neural")
            if r["setup_ok"]:
                ticks, wall = ticks + r["ticks"], wall + r["wall_s"]
                rows.append(r["success"])
    out["closed_loop"] = {"skill": skill, "episodes": len(rows), "ticks": ticks,
                          "rate_hz": round(ticks / wall, 1) if wall > 0 else None,
                          "camera": f"{camera[0]}x{camera[1]}", "camera_every_n": 2,
                          "note": "SkillRunner ticks per wall second: MuJoCo physics, RGB-D rendering, perception "
                                  "and the network included"}
    out["targets"]["closed_loop_met"] = bool(out["closed_loop"]["rate_hz"] and out["closed_loop"]["rate_hz"] >= 20.0)
    return out
