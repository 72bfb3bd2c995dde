"""Scheduling layer planners: rule (embedded default), transformers, OpenAI-compatible, tree.

`make_planner(name, **options)` builds one; every planner takes an instruction and the
scene perception reports (`SceneObjects`) and returns a validated `robomatrix.messages.Plan`.
"""
from robomatrix.planners.base import (
    AmbiguousReferenceError,
    Planner,
    PlanningError,
    PlanValidationError,
    SceneObject,
    SceneObjects,
    UnknownObjectError,
    UnsupportedActionError,
    make_planner,
    planner_names,
    register_planner,
)

__all__ = ["AmbiguousReferenceError", "Planner", "PlanningError", "PlanValidationError", "SceneObject",
           "SceneObjects", "UnknownObjectError", "UnsupportedActionError", "make_planner", "planner_names",
           "register_planner"]
