"""`robomatrix bench skills` and `robomatrix bench policy` (subcommands of `bench`).

    robomatrix bench skills --policy neural|scripted --episodes N [--skills a,b] [--seed S] [--variant V] [--trace F]
                                  [--json]
    robomatrix bench policy [--checkpoint DIR] [--json]
"""
from __future__ import annotations

import sys

from robomatrix.cli.bench_tasks import GOAL_STOP_CHOICES, GOAL_STOP_HELP


def add_parsers(subparsers) -> None:
    """Register `skills` and `policy` under `robomatrix bench`."""
    p = subparsers.add_parser("skills", help="per-skill success rate of a policy kind (scripted set-up, ORACLE score)")
    p.add_argument("--policy", choices=("scripted", "neural"), default="scripted", help="policy kind (default: scripted)")
    p.add_argument("--episodes", type=int, default=10, help="episodes per skill (default: 10)")
    p.add_argument("--skills", default="", help="comma-separated skills (default: every skill the policy covers)")
    p.add_argument("--seed", type=int, default=1000, help="first scene seed (default: 1000, unseen by collect)")
    p.add_argument("--camera", default="160x120", metavar="WxH", help="robot camera size (default: 160x120)")
    p.add_argument("--checkpoint", default="", help="neural checkpoint folder (default: checkpoints/neural_skills)")
    p.add_argument("--trace", default="", metavar="FILE.jsonl",
                   help="write every episode's per-tick commands beside the shadow scripted expert's")
    p.add_argument("--goal-stop", default="auto", choices=GOAL_STOP_CHOICES, help=GOAL_STOP_HELP)
    p.add_argument("--variant", default="standard",
                   help="scenarios' set-up variant, as `collect --variant` (default: standard; office_places: "
                        "position_over, release and close_drawer with the office scene's cans, box, bin and drawer)")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    p.set_defaults(handler=bench_skills)
    q = subparsers.add_parser("policy", help="neural policy latency p50/p99 (CPU, GPU if present) and closed-loop rate")
    q.add_argument("--checkpoint", default="", help="neural checkpoint folder (default: checkpoints/neural_skills)")
    q.add_argument("--n", type=int, default=200, help="timed forward passes per device (default: 200)")
    q.add_argument("--closed-loop-episodes", type=int, default=3,
                   help="MuJoCo episodes for the closed-loop rate (default: 3; 0: latency only, no simulator)")
    q.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    q.set_defaults(handler=bench_policy)


def _use_checkpoint(path: str) -> None:
    if path:
        from robomatrix.skills.neural.checkpoint import read_checkpoint_config
        from robomatrix.skills.neural.policy import set_checkpoint

        read_checkpoint_config(path)  # one-line error before anything runs
        set_checkpoint(path)


def bench_skills(args) -> int:
    from tqdm import tqdm

    from robomatrix.cli.bench import _quiet_stdout_while, report
    from robomatrix.cli.collect import parse_camera, parse_skills
    from robomatrix.cli.main import require
    from robomatrix.errors import UsageError

    if args.episodes < 1:
        raise UsageError(f"--episodes must be >= 1, got {args.episodes}.")
    camera = parse_camera(args.camera)
    skills = parse_skills(args.skills) if args.skills.strip() else None
    from robomatrix.skills.evaluate import check_variant

    check_variant(args.variant, skills or ())  # one line before the progress bar starts
    _use_checkpoint(args.checkpoint)
    trace = None
    if args.trace:
        from pathlib import Path

        trace = Path(args.trace)
        if not trace.parent.is_dir():
            raise UsageError(f"--trace: folder {trace.parent} does not exist.")
    bench = require("robomatrix.bench.policy", "`robomatrix bench skills`")
    bar = tqdm(desc=f"bench skills ({args.policy})", unit="ep", file=sys.stderr)

    def progress(skill, done, total):
        bar.total = total
        bar.set_postfix_str(skill)
        bar.update(1)

    try:
        result = _quiet_stdout_while(bench.evaluate_policy_skills, args.policy, skills, args.episodes, args.seed,
                                     camera, progress=progress, trace_path=trace, goal_stop=args.goal_stop,
                                     variant=args.variant)
    finally:
        bar.close()
    if not args.json:
        result = {**result, "per_skill": {k: _for_people(v) for k, v in result["per_skill"].items()}}
    return report(result, args.json)


def _for_people(row: dict) -> dict:
    """A skill's row of `bench skills` for the table: no failure list; successes per call as "s/n", only
    where the skill's episodes made more than one kind of call."""
    out = {k: v for k, v in row.items() if k not in ("failures", "by_call")}
    calls = row.get("by_call") or {}
    if len(calls) > 1:
        out["by_call"] = {call: f"{c['successes']}/{c['n']}" for call, c in calls.items()}
    return out


def bench_policy(args) -> int:
    from robomatrix.cli.bench import _quiet_stdout_while, report
    from robomatrix.cli.main import require
    from robomatrix.errors import UsageError

    if args.n < 10:
        raise UsageError(f"--n must be >= 10, got {args.n}.")
    if args.closed_loop_episodes < 0:
        raise UsageError(f"--closed-loop-episodes must be >= 0, got {args.closed_loop_episodes}.")
    _use_checkpoint(args.checkpoint)
    bench = require("robomatrix.bench.policy", "`robomatrix bench policy`")
    return report(_quiet_stdout_while(bench.policy_speed, n=args.n, closed_loop_episodes=args.closed_loop_episodes),
                  args.json)
