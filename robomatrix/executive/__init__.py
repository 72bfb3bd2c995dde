"""The executive: runs a person's instruction as a verified sequence of meta-skills.

`Executive` (ROS-free logic, `core`), its two skill executors (`executors`: in process via the
skill runner, or the skill server's action) and the `executive` node (`node`).
"""
from robomatrix.executive.core import (
    EDIT_KINDS,
    OUTCOMES,
    ExecutionReport,
    Executive,
    ExecutiveConfig,
    Finding,
    PlanEdit,
    SkillExecutor,
    StepMonitor,
    StepRecord,
)
from robomatrix.executive.verify import PlacementVerifier

__all__ = ["EDIT_KINDS", "OUTCOMES", "ExecutionReport", "Executive", "ExecutiveConfig", "Finding", "PlacementVerifier",
           "PlanEdit", "SkillExecutor", "StepMonitor", "StepRecord"]
