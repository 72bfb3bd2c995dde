"""`robomatrix plan "<instruction>"`: show the plan for an instruction without executing it.

The scene comes from perception on the robot camera's first frames of the simulated scene (and
one look around on the spot when the planner cannot find something the instruction names), as
in `robomatrix run`. Exit 0 with a plan, 2 when the planner refuses (one line on stderr).
"""
from __future__ import annotations

import json

from robomatrix.cli.run import add_common_arguments, plan_lines, run_config

COMMAND = "plan"
HELP = "print the plan for an instruction without moving anything"


def add_arguments(parser) -> None:
    add_common_arguments(parser)
    parser.set_defaults(handler=plan)


def plan(args) -> int:
    from robomatrix.cli.main import require

    config = run_config(args)
    run_mod = require("robomatrix.run", "`robomatrix plan`")
    with run_mod.SimSession(config) as session:
        session.reset()
        result = session.plan(args.instruction)  # PlanningError is a UsageError: exit 2, one line
        scene = session.scene_objects().describe()
    if args.json:
        print(json.dumps({"instruction": result.instruction,
                          "steps": [{"skill": s.skill, "args": dict(s.args)} for s in result.steps],
                          "planner": result.planner}))
        return 0
    print(f"Scene (perceived): {scene}")
    print(f"Plan ({len(result.steps)} steps, {result.planner}): {result.instruction}")
    print("\n".join(plan_lines(result)) if result.steps else "  (nothing to do)")
    return 0
