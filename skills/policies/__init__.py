"""Scripted policies: closed-loop controllers on perception output, one per meta-skill.

Importing this package registers them (`robomatrix.skills.registry.make_policy("scripted", ...)`).
A new skill's policy: a module here with a `SkillPolicy` subclass plus one `register_policy` line.
"""
from robomatrix.skills.policies.base import Phased, PolicyStep, SkillPolicy
from robomatrix.skills.policies.drawer import CloseDrawerPolicy, OpenDrawerPolicy
from robomatrix.skills.policies.manipulation import GraspPolicy, LiftPolicy, ReleasePolicy
from robomatrix.skills.policies.motion import NudgePolicy, PushPolicy
from robomatrix.skills.policies.move_to import MoveToPolicy
from robomatrix.skills.policies.place import PositionOverPolicy
from robomatrix.skills.policies.search import SearchPolicy
from robomatrix.skills.registry import register_policy

SCRIPTED_POLICIES = {
    "search": SearchPolicy, "move_to": MoveToPolicy, "grasp": GraspPolicy, "lift": LiftPolicy,
    "position_over": PositionOverPolicy, "release": ReleasePolicy, "open_drawer": OpenDrawerPolicy,
    "close_drawer": CloseDrawerPolicy, "push": PushPolicy, "nudge": NudgePolicy,
}
for _skill, _cls in SCRIPTED_POLICIES.items():
    register_policy("scripted", _skill, _cls)

__all__ = ["Phased", "PolicyStep", "SkillPolicy", "SCRIPTED_POLICIES", *(c.__name__ for c in SCRIPTED_POLICIES.values())]
