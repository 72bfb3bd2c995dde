"""`robomatrix bench tasks`: the task suite's success rate per task and level (a `bench` subcommand).

    robomatrix bench tasks --suite core --episodes 20 --seed 0 [--policy scripted|neural [--checkpoint DIR]] [--split seen] [--no-replan] [--json]
    robomatrix bench tasks --suite perturb [--no-replan] --json     # disturbances injected mid-task

A progress bar goes to stderr; stdout carries the table, or exactly one JSON object with
`--json`: {"suite", "episodes", "success_rate", "per_task": {...}, "per_level": {...}, "failures": [...]}.
"""
from __future__ import annotations

import json

GOAL_STOP_CHOICES = ("auto", "on", "off")  # robomatrix.skills.runner.GOAL_STOP_MODES (not imported: a light CLI)
GOAL_STOP_HELP = ("a skill also ends when perception sees its goal (search: the object ahead; the drawer skills: "
                  "done and let go of): auto = learned policies only (default), on, off")


def add_parser(subparsers) -> None:
    """Register `tasks` under `robomatrix bench`."""
    p = subparsers.add_parser("tasks", help="task-suite success rate per task and level (scored by the ORACLE)")
    p.add_argument("--suite", default="core", help="task suite (default: core)")
    p.add_argument("--sim", default="mujoco", metavar="mujoco|pybullet", help="simulator backend (default: mujoco)")
    p.add_argument("--episodes", type=int, default=None,
                   help="episodes per task (default: 20; 3 for the perturb suite, which has more tasks)")
    p.add_argument("--seed", type=int, default=0, help="first scene seed; episode e uses seed+e (default: 0)")
    p.add_argument("--policy", default="scripted", help="skill policy kind: scripted or neural (default: scripted)")
    p.add_argument("--split", default="seen",
                   help="generalisation split: seen, unseen_objects, unseen_layouts, unseen_both (default: seen)")
    p.add_argument("--planner", default="rule", help="planner (default: rule)")
    p.add_argument("--perception", default="camera", choices=("camera", "oracle"),
                   help="camera: detection on RGB-D (default); oracle: ground truth (ablation)")
    p.add_argument("--tasks", default="", help="comma-separated task names (default: the whole suite)")
    p.add_argument("--camera", default="320x240", metavar="WxH", help="robot camera size (default: 320x240)")
    p.add_argument("--checkpoint", default="", help="with --policy neural: the checkpoint folder "
                                                    "(default: checkpoints/neural_skills)")
    p.add_argument("--workers", type=int, default=1, help="parallel worker processes (default: 1)")
    p.add_argument("--goal-stop", default="auto", choices=GOAL_STOP_CHOICES, help=GOAL_STOP_HELP)
    p.add_argument("--no-replan", dest="replan", action="store_false",
                   help="baseline: the executive only retries failed skills (no monitoring, backtracking or replanning)")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    p.set_defaults(handler=bench_tasks)


def bench_tasks(args) -> int:
    from robomatrix.cli.main import require
    from robomatrix.cli.run import parse_camera

    bench = require("robomatrix.bench.tasks", "`robomatrix bench tasks`")
    width, height = parse_camera(args.camera)
    names = tuple(n.strip() for n in args.tasks.split(",") if n.strip())
    episodes = args.episodes if args.episodes is not None else (3 if args.suite == "perturb" else 20)
    cfg = bench.BenchConfig(suite=args.suite, sim=args.sim, episodes=episodes, seed=args.seed, policy=args.policy,
                            planner=args.planner, perception=args.perception, tasks=names,
                            camera_width=width, camera_height=height, workers=args.workers, split=args.split,
                            replan=args.replan, goal_stop=args.goal_stop)
    bench.selected_tasks(cfg)  # unknown suite or task names: one line, exit 2, before anything runs
    if args.checkpoint:
        _use_checkpoint_everywhere(args.checkpoint, args.policy)
    result = bench.run_task_bench(cfg, progress=True)
    if args.policy == "neural":
        from robomatrix.skills.neural.policy import checkpoint_path

        result["checkpoint"] = str(checkpoint_path())
    if args.json:
        print(json.dumps(result))
        return 0
    print(format_table(result))
    return 0


def _use_checkpoint_everywhere(path: str, policy: str) -> None:
    """Checkpoint `path` for this process and the spawned workers (they read the environment)."""
    import os
    from pathlib import Path

    from robomatrix.cli.bench_policy import _use_checkpoint
    from robomatrix.errors import UsageError
    from robomatrix.skills.neural.policy import CHECKPOINT_ENV

    if policy != "neural":
        raise UsageError("--checkpoint goes with --policy neural.")
    _use_checkpoint(path)
    os.environ[CHECKPOINT_ENV] = str(Path(path).resolve())


def format_table(result: dict) -> str:
    """The per-task table, the per-level summary and the failures, for people."""
    rows = [f"{'task':<22} {'level':<7} {'success':>8} {'skills':>7} {'replans':>8} {'sim s':>7} {'wall s':>7}"]
    for name, t in result["per_task"].items():
        rows.append(f"{name:<22} {t['level']:<7} {t['successes']:>3}/{t['episodes']:<4} {t['mean_skills']:>7.1f} "
                    f"{t['mean_replans']:>8.2f} {t['mean_sim_time_s']:>7.1f} {t['mean_wall_time_s']:>7.1f}")
    rows.append("")
    for level, lv in result["per_level"].items():
        rows.append(f"{level:<7} {lv['success_rate'] * 100:5.1f} %  ({lv['episodes']} episodes, {lv['tasks']} tasks)")
    for kind, pp in result.get("per_perturbation", {}).items():
        rows.append(f"{kind:<16} {pp['success_rate'] * 100:5.1f} %  ({pp['episodes']} episodes, fired in "
                    f"{pp['fired_rate'] * 100:.0f} %)")
    rows.append(f"overall {result['success_rate'] * 100:5.1f} %  (the stack claimed {result['claimed_success_rate'] * 100:.1f} %; "
                f"{result['wall_time_s']:.0f} s wall; sim: {result.get('sim', 'mujoco')}; perception: {result['perception']}"
                f"; policy: {result['policy']}; split: {result.get('split', 'seen')}"
                f"{'' if result.get('replan', True) else '; no replanning'}; goal stop: {result.get('goal_stop', 'auto')})")
    if result["failures"]:
        rows.append("")
        rows.append("failures:")
        for f in result["failures"]:
            rows.append(f"  {f['task']} seed {f['seed']}: {f['reason']} | oracle: {f['oracle']}")
    return "\n".join(rows)

