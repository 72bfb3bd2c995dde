"""The planner-facing half of the meta-skill registry: names, typed arguments, descriptions.

A `SkillSpec` says what a meta-skill is called, which arguments it takes, what it does (one
line that planners put in front of a model or a person), how long it may run, and the name
of the perception check that tells whether it worked. Nothing here runs a robot.

Adding a skill is one new module plus registration::

    register_skill(SkillSpec("wave", (), "wave the gripper", time_limit_s=10.0,
                             postcondition="gripper_moved"))
    attach("wave", "policy.scripted", WavePolicy)          # later layers, by name
    attach("wave", "postcondition", gripper_moved_check)

`attach`/`attachment` let the skill server, the policies and perception hang their parts
on a spec by name, so that this module never imports them.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from robomatrix.errors import UsageError, unknown_name

ARG_KINDS = ("object", "container", "direction", "distance_m")
"""object: the name of anything in the scene; container: the name of a box, bin or drawer;
direction: one word from the spec's choices; distance_m: a number of metres within bounds."""

PUSH_DIRECTIONS = ("left", "right", "forward", "backward")
NUDGE_DIRECTIONS = ("left", "right", "forward", "backward", "up", "down")


@dataclass(frozen=True)
class ArgSpec:
    """One typed argument of a skill."""

    name: str  # argument name as it appears in a SkillCall's args, e.g. "object"
    kind: str  # one of ARG_KINDS
    required: bool = True  # a call without it is invalid (else `default` is used)
    description: str = ""  # a few words for planners and error messages
    choices: tuple[str, ...] = ()  # allowed values for kind "direction"
    bounds: tuple[float, float] | None = None  # inclusive (min, max) for kind "distance_m"
    default: Any = None  # value used when an optional argument is left out
    portable: bool = False  # kind "object" only: must be something the gripper can carry

    def __post_init__(self):
        if not self.name.isidentifier():
            raise ValueError(f"ArgSpec.name must be an identifier, got {self.name!r}")
        if self.kind not in ARG_KINDS:
            raise ValueError(f"ArgSpec.kind must be one of {ARG_KINDS}, got {self.kind!r}")
        if self.kind == "direction" and not self.choices:
            raise ValueError(f"ArgSpec.choices must list the directions for {self.name!r}")
        if self.bounds is not None and not (self.bounds[0] <= self.bounds[1]):
            raise ValueError(f"ArgSpec.bounds must be (min, max) with min <= max, got {self.bounds!r}")
        if self.portable and self.kind != "object":
            raise ValueError(f"ArgSpec.portable applies to kind 'object' only, got kind {self.kind!r}")


@dataclass(frozen=True)
class SkillSpec:
    """A meta-skill as planners see it."""

    name: str  # registry key, e.g. "grasp"
    args: tuple[ArgSpec, ...]  # in call order
    description: str  # one line; planners read it
    time_limit_s: float  # the skill server aborts the skill after this long
    postcondition: str  # name of the perception check that verifies success, e.g. "object_in_gripper"
    # name of a perception check that holds only once the skill's goal is reached (not a lower bound of
    # progress like push's "moved 5 cm"): seen to hold while a learned policy runs, it ends the skill as
    # the policy's own stop would (SkillRunner, `RunnerConfig.goal_stop`); "" where no such check exists
    goal_check: str = ""

    def __post_init__(self):
        if not self.name.isidentifier():
            raise ValueError(f"SkillSpec.name must be an identifier, got {self.name!r}")
        if not self.description or "\n" in self.description:
            raise ValueError(f"SkillSpec.description must be one non-empty line, got {self.description!r}")
        if not (self.time_limit_s > 0):
            raise ValueError(f"SkillSpec.time_limit_s must be > 0, got {self.time_limit_s!r}")
        if not self.postcondition:
            raise ValueError(f"SkillSpec.postcondition must name a perception check, got {self.postcondition!r}")
        names = [a.name for a in self.args]
        if len(set(names)) != len(names):
            raise ValueError(f"SkillSpec.args of {self.name!r} repeat a name: {names}")

    def signature(self) -> str:
        """`position_over(object, target)`; optional arguments in brackets."""
        parts = [a.name if a.required else f"[{a.name}]" for a in self.args]
        return f"{self.name}({', '.join(parts)})"

    def arg(self, name: str) -> ArgSpec:
        for a in self.args:
            if a.name == name:
                return a
        raise unknown_name(f"argument of {self.name}", name, [a.name for a in self.args])


_SKILLS: dict[str, SkillSpec] = {}
_ATTACHMENTS: dict[str, dict[str, Any]] = {}


def register_skill(spec: SkillSpec, *, replace: bool = False) -> SkillSpec:
    """Add `spec` to the registry; registering a taken name needs `replace=True`."""
    if spec.name in _SKILLS and not replace:
        raise ValueError(f"skill {spec.name!r} is already registered (pass replace=True to override)")
    _SKILLS[spec.name] = spec
    _ATTACHMENTS.setdefault(spec.name, {})
    return spec


def skill_names() -> list[str]:
    """Registered skill names in registration order."""
    return list(_SKILLS)


def skill_specs() -> list[SkillSpec]:
    return list(_SKILLS.values())


def skill_spec(name: str) -> SkillSpec:
    """The spec registered as `name`; an unknown name raises UsageError with a suggestion."""
    try:
        return _SKILLS[name]
    except (KeyError, TypeError):
        raise unknown_name("skill", name, _SKILLS) from None


def attach(skill: str, role: str, value: Any) -> None:
    """Hang a part on a registered skill by name: role e.g. "policy.scripted", "postcondition"."""
    skill_spec(skill)
    _ATTACHMENTS[skill][role] = value


def attachment(skill: str, role: str) -> Any:
    """The part attached to `skill` under `role`; UsageError naming the roles that exist."""
    skill_spec(skill)
    roles = _ATTACHMENTS[skill]
    if role not in roles:
        raise unknown_name(f"{role!r} for skill {skill!r}; attached role", role, roles)
    return roles[role]


def attachments(role: str) -> dict[str, Any]:
    """Every skill's part under `role`, e.g. all scripted policies: {skill name: value}."""
    return {name: parts[role] for name, parts in _ATTACHMENTS.items() if role in parts}


def describe_skills() -> str:
    """One line per skill, `signature: description`, for prompts and refusals."""
    return "\n".join(f"{s.signature()}: {s.description}" for s in _SKILLS.values())


def validate_call(skill: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """Check a call's argument names and types; return the args with defaults filled in.

    Scene facts (does the object exist, is it a container) are checked by
    `robomatrix.planners.validate`, which knows the scene; this checks only the shape.
    """
    spec = skill_spec(skill)
    if not isinstance(args, Mapping):
        raise UsageError(f"{spec.signature()}: arguments must be a mapping, got {type(args).__name__}.")
    known = {a.name for a in spec.args}
    for name in args:
        if name not in known:
            if not known:
                raise UsageError(f"{spec.signature()} takes no arguments, got '{name}'.")
            raise unknown_name(f"argument of {spec.signature()}", name, known)
    out: dict[str, Any] = {}
    for a in spec.args:
        if a.name not in args or args[a.name] is None:
            if a.required:
                raise UsageError(f"{spec.signature()} is missing its '{a.name}' argument ({a.kind}).")
            out[a.name] = a.default
            continue
        out[a.name] = _check_value(spec, a, args[a.name])
    return out


def _check_value(spec: SkillSpec, a: ArgSpec, value: Any) -> Any:
    where = f"{spec.signature()} argument '{a.name}'"
    if a.kind in ("object", "container"):
        if not isinstance(value, str) or not value.strip():
            raise UsageError(f"{where} must be an object name, got {value!r}.")
        return value
    if a.kind == "direction":
        if value not in a.choices:
            raise unknown_name(f"direction for {where}", str(value), a.choices)
        return value
    # distance_m
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UsageError(f"{where} must be a number of metres, got {value!r}.")
    if a.bounds is not None and not (a.bounds[0] <= value <= a.bounds[1]):
        raise UsageError(f"{where} must be within {a.bounds[0]}–{a.bounds[1]} m, got {value}.")
    return float(value)


def _obj(desc: str = "the object", portable: bool = False) -> ArgSpec:
    return ArgSpec("object", "object", description=desc, portable=portable)


# goal_check: only where a check marks the end the experts stop at. move_to's, lift's and position_over's
# postconditions are tolerances the next skill can start from, not where the experts stop (they stand
# closer, carry higher, centre the can over the opening and lower it), and push's and nudge's are lower
# bounds of progress: ended there, the next skill would start where no demonstration did. move_to's goal
# check is therefore its own, tighter one: the object where the expert stops it (standoff ahead, ±4 cm).
BUILTIN_SKILLS: tuple[SkillSpec, ...] = (
    SkillSpec("search", (_obj("what to look for"),),
              "turn and look around until the object is in view", 40.0, "object_in_view",
              goal_check="object_in_view_ahead"),
    SkillSpec("move_to", (_obj("what to drive up to"),),
              "drive the base up to the object until it is within reach", 40.0, "robot_near_object",
              goal_check="object_at_standoff"),
    SkillSpec("grasp", (_obj("what to grasp", portable=True),),
              "close the gripper around an object within reach", 20.0, "object_in_gripper"),
    SkillSpec("lift", (_obj("the held object", portable=True),),
              "raise the held object to carrying height", 10.0, "object_lifted"),
    SkillSpec("position_over", (_obj("the held object", portable=True),
                                ArgSpec("target", "container", description="where it goes")),
              "carry the held object to a container and hold it above the opening", 40.0,
              "object_above_target"),
    SkillSpec("release", (_obj("the held object", portable=True),),
              "open the gripper to let go of the held object", 10.0, "object_not_in_gripper"),
    SkillSpec("open_drawer", (),
              "drive to the cabinet, pinch the drawer handle and pull the drawer open", 40.0, "drawer_open",
              goal_check="drawer_open_let_go"),
    SkillSpec("close_drawer", (),
              "drive to the cabinet and push the drawer closed", 40.0, "drawer_closed",
              goal_check="drawer_closed_let_go"),
    SkillSpec("push", (_obj("what to push"),
                       ArgSpec("direction", "direction", choices=PUSH_DIRECTIONS,
                               description="in the robot's frame")),
              "push an object on the floor in a direction without grasping it", 30.0, "object_moved"),
    SkillSpec("nudge", (ArgSpec("direction", "direction", choices=NUDGE_DIRECTIONS,
                                description="in the robot's frame"),
                        ArgSpec("amount", "distance_m", required=False, bounds=(0.005, 0.3),
                                default=0.05, description="metres")),
              "make a small corrective motion of the gripper or base", 5.0, "gripper_moved"),
)

for _spec in BUILTIN_SKILLS:
    register_skill(_spec)

