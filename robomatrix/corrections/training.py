"""Corrections as training data for the `hf` planner (`robomatrix train-planner --with-corrections DIR`).

Each stored correction that changed a plan (a referent answered, a target or object changed, an
alias stated) becomes instruction → plan pairs: the record's instruction in the record's scene,
planned by the `rule` planner with that one correction remembered (`MemoryPlanner`), i.e. the plan
the person asked for. Motion fixes change no plan and are left out (the skill layer applies them).
Each pair is repeated `repeat` times so its words make the vocabulary and weigh in training.
"""
from __future__ import annotations

from robomatrix.corrections.memory import CorrectionMemory, MemoryPlanner
from robomatrix.errors import UsageError
from robomatrix.planners.base import PlanningError, SceneObjects

PLAN_RULES = ("alias", "referent", "target", "object")


def correction_pairs(directory: str, repeat: int = 20) -> list:
    """Training pairs (`robomatrix.planners.corpus.Pair`) from the corrections memory in `directory`."""
    from pathlib import Path

    from robomatrix.planners.base import make_planner
    from robomatrix.planners.corpus import Pair

    if not Path(directory).expanduser().is_dir():
        raise UsageError(f"--with-corrections: {directory} is not a corrections directory "
                         "(see robomatrix/corrections/FORMAT.md)")
    memory = CorrectionMemory(directory)
    rule = make_planner("rule")
    pairs = []
    for record in memory.records():
        rules = [r for r in record.rules if r.get("kind") in PLAN_RULES]
        if not rules or not record.instruction or not record.scene:
            continue
        one = CorrectionMemory(None)
        one.add(record)
        try:
            scene = SceneObjects.from_dict(record.scene)
            plan = MemoryPlanner(rule, one).plan(record.instruction, scene)
        except (PlanningError, ValueError, KeyError):
            continue  # a correction this scene cannot replay (e.g. said mid-carry about the whole task)
        pair = Pair(instruction=record.instruction, scene=scene, steps=list(plan.steps), intent="correction",
                    frame=record.text, split="train")
        pairs += [pair] * max(1, repeat)
    return pairs
