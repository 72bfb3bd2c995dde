"""`robomatrix collect`: record demonstrations of meta-skills with the scripted experts."""
from __future__ import annotations

import json
import os
import sys

COMMAND = "collect"
HELP = "record demonstrations of meta-skills (scripted experts, randomised scenes) into a dataset folder"


def add_arguments(parser) -> None:
    parser.add_argument("--skills", default="all", help="'all' or comma-separated skill names (default: all)")
    parser.add_argument("--episodes", type=int, default=40, help="successful episodes per skill (default: 40)")
    parser.add_argument("--out", required=True, help="dataset folder (created, or appended to)")
    parser.add_argument("--seed", type=int, default=0, help="first scene seed (default: 0)")
    parser.add_argument("--camera", default="", metavar="WxH",
                        help="camera size (default: 160x120; with --dagger 320x240, what `run` and `bench tasks` use)")
    parser.add_argument("--perception", choices=("rgbd", "oracle"), default="rgbd",
                        help="what the experts see: the camera (default) or ORACLE ground truth (labelled)")
    parser.add_argument("--tasks", default="",
                        help="record whole tasks instead: 'all' or comma-separated task names of --suite; every "
                             "planned skill call becomes an episode (--episodes: chains per task; --skills filters)")
    parser.add_argument("--suite", default="core", help="task suite for --tasks (default: core)")
    parser.add_argument("--variant", default="standard",
                        help="skill scenarios' set-up variant (skills/evaluate.py SCENARIO_VARIANTS): standard "
                             "(default), turned_away (search: for an object remembered but out of view), office_cans "
                             "(search, move_to, grasp: each of the office scene's four cans in turn), office_places "
                             "(position_over, release: a can to the box, bin or open drawer in turn, no search for it "
                             "first; close_drawer: after putting a can in it), office_drawer (open_drawer in the office "
                             "scene, its cans about), drawer_approach (move_to(drawer), then open_drawer from in front "
                             "of the handle, as the rule planner plans them), drawer_oblique (open_drawer, close_drawer: the drawer "
                             "driven up to from beside a can, its front turned from square)")
    parser.add_argument("--keep-failures", action="store_true", help="also write failed episodes (success=false)")
    parser.add_argument("--dagger", action="store_true",
                        help="DAgger: the neural policy drives the skill calls and the scripted expert labels every "
                             "state it reaches (source 'dagger'); with --tasks through the whole stack, replans included")
    parser.add_argument("--beta", type=float, default=0.0,
                        help="with --dagger: chance per tick that the expert's command is sent instead (default: 0)")
    parser.add_argument("--early-stop", default="override", metavar="RULE",
                        help="with --dagger: when the learner stops where the expert would go on, 'override' (the "
                             "learner drives on, default) or 'handover' (the expert drives to the end of the call)")
    parser.add_argument("--checkpoint", default="", help="with --dagger: the learner's checkpoint folder "
                                                         "(default: checkpoints/neural_skills)")
    parser.set_defaults(handler=run)


def parse_camera(text: str) -> tuple[int, int]:
    from robomatrix.errors import UsageError

    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--camera expects WxH such as 160x120, got '{text}'.") from None
    if not (32 <= width <= 1280 and 24 <= height <= 960):
        raise UsageError(f"--camera must be within 32x24..1280x960, got '{text}'.")
    return width, height


def parse_skills(text: str) -> list[str]:
    from robomatrix.skills.specs import skill_names, skill_spec

    if text.strip() == "all":
        return skill_names()
    names = [s.strip() for s in text.split(",") if s.strip()]
    for name in names:
        skill_spec(name)  # UsageError with a suggestion
    return names


def run(args) -> int:
    from robomatrix.errors import UsageError

    os.environ.setdefault("MUJOCO_GL", "egl")
    if args.episodes < 1:
        raise UsageError(f"--episodes must be >= 1, got {args.episodes}.")
    camera = parse_camera(args.camera or ("320x240" if args.dagger else "160x120"))
    skills = parse_skills(args.skills)
    if args.variant != "standard":
        from robomatrix.skills.evaluate import check_variant

        if args.tasks.strip():
            raise UsageError("--variant sets up skill scenarios; it does not go with --tasks.")
        check_variant(args.variant, skills)
    if not args.dagger and (args.beta != 0.0 or args.checkpoint or args.early_stop != "override"):
        raise UsageError("--beta, --early-stop and --checkpoint go with --dagger.")
    from tqdm import tqdm

    if args.dagger:
        return _run_dagger(args, camera, skills)
    if args.tasks.strip():
        return _run_tasks(args, camera, skills)

    from robomatrix.skills.data.recorder import collect

    bar = tqdm(total=len(skills) * args.episodes, desc="collect", unit="ep", file=sys.stderr)

    def progress(skill: str, kept: bool) -> None:
        bar.set_postfix_str(skill)
        if kept:
            bar.update(1)

    try:
        summary = collect(args.out, skills, args.episodes, seed=args.seed, camera=camera,
                          perception=args.perception, keep_failures=args.keep_failures, progress=progress,
                          variant=args.variant)
    finally:
        bar.close()
    for row in summary["per_skill"].values():
        row["failed"] = len(row["failed"])
    print(json.dumps(summary))
    return 0


def parse_tasks(text: str, suite_name: str) -> list[str]:
    from robomatrix.sim.tasks import suite, task

    if text.strip() == "all":
        return [t.name for t in suite(suite_name)]
    names = [s.strip() for s in text.split(",") if s.strip()]
    for name in names:
        task(name, suite_name)  # UsageError with a suggestion
    return names


def _run_tasks(args, camera, skills) -> int:
    from tqdm import tqdm

    from robomatrix.skills.data.recorder import collect_tasks

    names = parse_tasks(args.tasks, args.suite)
    bar = tqdm(total=len(names) * args.episodes, desc="collect tasks", unit="chain", file=sys.stderr)

    def progress(task: str, ok: bool) -> None:
        bar.set_postfix_str(task)
        if ok:
            bar.update(1)

    try:
        summary = collect_tasks(args.out, names, args.episodes, suite=args.suite, seed=args.seed, camera=camera,
                                skills=skills, progress=progress)
    finally:
        bar.close()
    for row in summary["per_task"].values():
        row["failed"] = len(row["failed"])
    print(json.dumps(summary))
    return 0


def _run_dagger(args, camera, skills) -> int:
    from tqdm import tqdm

    from robomatrix.cli.bench_policy import _use_checkpoint
    from robomatrix.errors import UsageError
    from robomatrix.skills.data import dagger

    if not 0.0 <= args.beta <= 1.0:
        raise UsageError(f"--beta must be within [0, 1], got {args.beta}.")
    if args.early_stop not in dagger.EARLY_STOP_RULES:
        raise UsageError(f"--early-stop must be one of {', '.join(dagger.EARLY_STOP_RULES)}, got '{args.early_stop}'.")
    if args.perception != "rgbd" or args.keep_failures:
        raise UsageError("--dagger records camera-perception runs, failed calls included: "
                         "drop --perception/--keep-failures.")
    _use_checkpoint(args.checkpoint)
    able = dagger.labelling_skills()
    if args.skills.strip() == "all":
        skills = able
    for skill in skills:
        if skill not in able:
            raise UsageError(f"--dagger: the scripted {skill} expert cannot label states another policy reached "
                             f"(its phases wait for its own commands); DAgger covers {', '.join(able)}.")
    names = parse_tasks(args.tasks, args.suite) if args.tasks.strip() else []
    units = names or skills
    bar = tqdm(total=len(units) * args.episodes, desc="collect dagger", unit="ep", file=sys.stderr)

    def progress(name: str, ok: bool) -> None:
        bar.set_postfix_str(f"{name} {'ok' if ok else 'failed'}")
        bar.update(1)

    try:
        if names:
            summary = dagger.collect_dagger_tasks(
                args.out, names, args.episodes, suite=args.suite, seed=args.seed, camera=camera, beta=args.beta,
                skills=skills, progress=progress, early_stop=args.early_stop)
        else:
            summary = dagger.collect_dagger_skills(args.out, skills, args.episodes, seed=args.seed, camera=camera,
                                                   beta=args.beta, progress=progress, early_stop=args.early_stop,
                                                   variant=args.variant)
    finally:
        bar.close()
    print(json.dumps(summary))
    return 0
