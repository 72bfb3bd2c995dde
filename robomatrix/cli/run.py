"""`robomatrix run "<instruction>"`: plan and execute one instruction in simulation, in one process.

Prints the plan, a progress line per skill and the outcome. Exit 0 when the task succeeded,
1 when it failed, 2 on bad input (an instruction the planner refuses: one line on stderr).
With `--json`, stdout carries exactly one JSON object; progress goes to stderr.
"""
from __future__ import annotations

import dataclasses
import json
import sys

from robomatrix.cli.bench_tasks import GOAL_STOP_CHOICES, GOAL_STOP_HELP
from robomatrix.errors import UsageError

COMMAND = "run"
HELP = "plan and execute an instruction in simulation (one process, lock-step), e.g. \"put the red can in the box\""


def add_common_arguments(parser, instruction_optional: bool = False) -> None:
    """Options `run` and `plan` share: the world, the planner, the camera."""
    parser.add_argument("instruction", nargs="?" if instruction_optional else None,
                        help="what the robot should do, in words (quote it)"
                        + ("; optional with --console" if instruction_optional else ""))
    parser.add_argument("--scene", default="office", help="scene name (default: office; see `robomatrix sim scenes`)")
    parser.add_argument("--seed", type=int, default=0, help="scene randomisation seed (default: 0)")
    parser.add_argument("--sim", default="mujoco", metavar="mujoco|pybullet",
                        help="simulator backend (default: mujoco)")
    parser.add_argument("--planner", default="rule", help="planner name (default: rule, the embedded one)")
    parser.add_argument("--camera", default="320x240", metavar="WxH",
                        help="robot camera size in pixels (default: 320x240)")
    parser.add_argument("--perception", default="camera", choices=("camera", "oracle"),
                        help="camera: detection on RGB-D (default); oracle: simulator ground truth (ablation only)")
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")


def add_arguments(parser) -> None:
    from robomatrix.cli.console import add_server_arguments

    add_common_arguments(parser, instruction_optional=True)
    parser.add_argument("--policy", default="scripted", help="skill policy kind (default: scripted)")
    parser.add_argument("--goal-stop", default="auto", choices=GOAL_STOP_CHOICES, help=GOAL_STOP_HELP)
    parser.add_argument("--video", metavar="OUT.mp4", help="write the camera stream, captioned with the running skill")
    parser.add_argument("--log", metavar="RUN.mcap", help="write every topic to an MCAP file (ROS 2 schemas)")
    parser.add_argument("--time-limit", type=float, default=600.0, metavar="S",
                        help="simulated seconds the task may take (default: 600)")
    parser.add_argument("--memory", metavar="DIR",
                        help="corrections memory (robomatrix/corrections/FORMAT.md): corrections are stored there "
                             "and remembered preferences and fixes applied (default: none kept)")
    parser.add_argument("--no-replan", dest="replan", action="store_false",
                        help="only retry failed skills: no monitoring, backtracking or replanning (a baseline)")
    parser.add_argument("--console", action="store_true",
                        help="serve the web console and run the simulation in real time until Ctrl-C "
                             "(tasks, corrections and teleop from the page)")
    add_server_arguments(parser.add_argument_group("console (with --console)"))
    parser.set_defaults(handler=run)


def parse_camera(text: str) -> tuple[int, int]:
    """'320x240' → (320, 240); UsageError for anything else."""
    parts = text.lower().split("x")
    try:
        w, h = (int(p) for p in parts)
    except ValueError:
        raise UsageError(f"--camera must look like WIDTHxHEIGHT, e.g. 320x240, got {text!r}.") from None
    if not (32 <= w <= 4096 and 32 <= h <= 4096):
        raise UsageError(f"--camera must be between 32x32 and 4096x4096 pixels, got {text!r}.")
    return w, h


def run_config(args, **extra):
    """A RunConfig from the shared options (validated for people)."""
    from robomatrix.cli.main import require
    from robomatrix.cli.sim import _check_scene

    _check_scene(args.scene)
    width, height = parse_camera(args.camera)
    planners = require("robomatrix.planners.base", "The planners")
    if args.planner not in planners.planner_names():
        from robomatrix.errors import unknown_name

        raise unknown_name("planner", args.planner, planners.planner_names())
    run_mod = require("robomatrix.run", "`robomatrix run`")
    if args.sim not in run_mod.SIM_BACKENDS:
        from robomatrix.errors import unknown_name

        raise unknown_name("simulator (--sim)", args.sim, run_mod.SIM_BACKENDS)
    return run_mod.RunConfig(scene=args.scene, sim=args.sim, seed=args.seed, planner=args.planner,
                             perception=args.perception,
                             camera_width=width, camera_height=height, **extra)


def call_text(skill: str, args: dict) -> str:
    """`position_over(red can, box)` for people."""
    return f"{skill}({', '.join(str(v) for v in args.values())})"


def plan_lines(plan) -> list[str]:
    return [f"  {i}. {call_text(s.skill, s.args)}" for i, s in enumerate(plan.steps, start=1)]


class Progress:
    """Prints the plan, one live line per skill (rewritten in place on a terminal) and replans."""

    def __init__(self, stream):
        self.stream = stream
        self.live = stream.isatty()
        self.plans = 0
        self.step_count = 0
        self.current = ""
        self._line_open = False

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def _close_line(self) -> None:
        if self._line_open:
            self._write("\n")
            self._line_open = False

    def on_plan(self, plan) -> None:
        self._close_line()
        self.plans += 1
        self.step_count = len(plan.steps)
        head = "Plan" if self.plans == 1 else "New plan"
        self._write(f"{head} ({len(plan.steps)} steps, {plan.planner or 'planner'}): {plan.instruction}\n")
        self._write("\n".join(plan_lines(plan)) + "\n")

    def on_status(self, status) -> None:
        if status.state == "executing":
            self.current = f"[{status.step_index + 1}/{status.step_count}] {status.message}"
            if self.live:
                self._write(f"\r\033[K{self.current}")
                self._line_open = True
        elif status.state == "replanning":
            self._close_line()
            self._write(f"replanning: {status.message}\n")

    def on_feedback(self, fb) -> None:
        if self.live:
            bar = "#" * int(fb.progress * 10)
            self._write(f"\r\033[K{self.current}  [{bar:<10}] {fb.progress * 100:3.0f}%  {fb.elapsed_s:5.1f} s  "
                        f"{fb.message[:60]}")
            self._line_open = True

    def on_step(self, step) -> None:
        from robomatrix.skills.runner import outcome_text

        mark = outcome_text(step.success, step.reason)
        text = f"[{step.index + 1}/{self.step_count}] {call_text(step.skill, step.args)}  {step.duration_s:.1f} s  {mark}"
        if self.live:
            self._write(f"\r\033[K{text}\n")
            self._line_open = False
        else:
            self._write(text + "\n")


def run(args) -> int:
    from robomatrix.cli.main import require

    if not args.time_limit > 0:
        raise UsageError(f"--time-limit must be positive, got {args.time_limit!r}.")
    if args.console and args.json:
        raise UsageError("--json does not combine with --console (the console serves until Ctrl-C).")
    if not args.console and not args.instruction:
        raise UsageError("give an instruction, e.g. robomatrix run \"put the red can in the box\" "
                         "(or --console to send tasks from the web console).")
    if args.console:
        from robomatrix.cli.console import token_from
        from robomatrix.console.server import check_bind

        check_bind(args.host, token_from(args))  # before the simulation starts
    config = run_config(args, policy=args.policy, goal_stop=args.goal_stop, video=args.video, log=args.log,
                        time_limit_s=args.time_limit,
                        memory=args.memory)
    config.executive = dataclasses.replace(config.executive, replan=args.replan)
    run_mod = require("robomatrix.run", "`robomatrix run`")
    if args.console:
        return run_console(args, config, run_mod)
    progress = Progress(sys.stderr if args.json else sys.stdout)
    hooks = run_mod.Hooks(on_plan=progress.on_plan, on_status=progress.on_status, on_feedback=progress.on_feedback,
                          on_step=progress.on_step)
    with run_mod.SimSession(config, hooks) as session:
        session.reset()
        result = session.run(args.instruction)
    progress._close_line()
    out = result.to_dict()
    if args.json:
        print(json.dumps(out))
    if result.refused:
        raise UsageError(result.report.reason)
    text = sys.stderr if args.json else sys.stdout
    if result.success:
        print(f"succeeded: {len(result.report.steps)} skills, {result.report.replans} replans, "
              f"{result.sim_time_s:.1f} s simulated in {result.wall_time_s:.1f} s", file=text)
    else:
        print(f"failed: {result.report.reason}", file=text)
    for path, what in ((args.video, "video"), (args.log, "log")):
        if path:
            print(f"{what}: {path}", file=text)
    return 0 if result.success else 1


def run_console(args, config, run_mod) -> int:
    """`robomatrix run --console`: the session stepped in real time beside the web console."""
    from robomatrix.cli.console import serve
    from robomatrix.cli.main import require

    live = require("robomatrix.console.live", "The console")
    progress = Progress(sys.stdout)
    session = run_mod.SimSession(config)
    backend = live.LiveSimBackend(session, record_dir=args.record_dir)  # owns the session: closes it
    session.hooks = backend.hooks(run_mod.Hooks(on_plan=progress.on_plan, on_step=progress.on_step))
    try:
        backend.start()
    except BaseException:
        backend.close()
        raise
    if args.instruction:
        backend.submit_task(args.instruction)
    return serve(backend, args)
