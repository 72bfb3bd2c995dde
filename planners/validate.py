"""Check a plan against the skill registry, the scene and the order skills need, before anything moves.

`validate_plan(plan, scene)` walks the steps with a small symbolic state (what is held, is
the drawer open, what is in view) and raises `PlanValidationError` with one line naming the
step and the reason:

- the skill exists and its arguments have the right names and types (`validate_call`);
- every object argument names an object in the scene; `target` is a container; grasp, lift,
  position_over and release take something portable (not a box, bin or drawer);
- an object is in view (or was searched for or driven to) before move_to, grasp or push
  acts on it, and a target before position_over carries something to it;
- grasp needs an empty gripper; lift, position_over and release need that object held;
- open_drawer and close_drawer need a drawer and an empty gripper; the drawer is not opened
  when known open nor closed when known closed; nothing goes into a drawer known closed.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from robomatrix.errors import UsageError
from robomatrix.planners.base import PlanValidationError, SceneObjects, is_container, name_words
from robomatrix.skills.specs import skill_spec, validate_call


def call_parts(step: Any) -> tuple[str, dict[str, Any]]:
    """(skill, args) from a SkillCall-like object or a {"skill", "args"} mapping."""
    if isinstance(step, Mapping):
        return step.get("skill"), dict(step.get("args") or {})
    return getattr(step, "skill", None), dict(getattr(step, "args", None) or {})


def drawer_name(scene: SceneObjects) -> str | None:
    """The scene's drawer ("drawer", "top drawer"), or None when there is none."""
    for name in scene.names():
        if name_words(name)[-1:] == ["drawer"]:
            return name
    return None


def _label(skill: str, args: Mapping[str, Any]) -> str:
    return f"{skill}({', '.join(str(v) for v in args.values())})"


@dataclass
class PlanState:
    """What the plan has done so far, symbolically. `apply` raises PlanValidationError."""

    scene: SceneObjects
    held: str | None = None
    drawer_open: bool | None = None
    visible: set[str] = field(default_factory=set)

    @classmethod
    def start(cls, scene: SceneObjects) -> PlanState:
        visible = {n for n in scene.names() if scene.in_view(n)}
        return cls(scene, scene.held, scene.drawer_open, visible)

    def apply(self, step: Any, number: int = 1) -> dict[str, Any]:
        """Check step `number` (1-based, for the message), update the state, return its full args."""
        skill, args = call_parts(step)
        where = f"Step {number}"
        try:
            spec = skill_spec(skill)
            full = validate_call(skill, args)
        except UsageError as err:
            raise PlanValidationError(f"{where}: {err}") from None
        where = f"Step {number}, {_label(skill, full)}"

        def fail(reason: str):
            raise PlanValidationError(f"{where}: {reason}.")

        for a in spec.args:
            value = full[a.name]
            if a.kind not in ("object", "container"):
                continue
            if not self.scene.has(value):
                fail(f"there is no {value} in the scene (there is: {', '.join(self.scene.names())})")
            if a.kind == "container" and not is_container(value):
                fail(f"the {value} is not a container")
            if a.portable and is_container(value):
                fail(f"the {value} cannot be carried")
        obj = full.get("object")

        def need_visible(name: str):
            if name not in self.visible and name != self.held:
                fail(f"the {name} is not in view; search for it first")

        if skill == "search":
            self.visible.add(obj)
        elif skill == "move_to":
            need_visible(obj)
        elif skill == "grasp":
            need_visible(obj)
            if self.held == obj:
                fail(f"the {obj} is already in the gripper")
            if self.held is not None:
                fail(f"the gripper already holds the {self.held}; release it first")
            if self.scene.lying(obj):
                fail(f"the {obj} lies on its side; the gripper picks up standing cans only")
            self.held = obj
        elif skill in ("lift", "position_over", "release"):
            if self.held != obj:
                fail(f"the {obj} is not in the gripper; grasp it first")
            if skill == "position_over":
                target = full["target"]
                need_visible(target)
                if target == drawer_name(self.scene) and self.drawer_open is False:
                    fail("the drawer is closed; open it first")
            if skill == "release":
                self.held = None
        elif skill in ("open_drawer", "close_drawer"):
            drawer = drawer_name(self.scene)
            if drawer is None:
                fail(f"there is no drawer in the scene (there is: {', '.join(self.scene.names())})")
            need_visible(drawer)
            if self.held is not None:
                fail(f"the gripper holds the {self.held}; release it before using the drawer handle")
            opening = skill == "open_drawer"
            if self.drawer_open is opening:
                fail(f"the drawer is already {'open' if opening else 'closed'}")
            self.drawer_open = opening
        elif skill == "push":
            need_visible(obj)
            if self.held == obj:
                fail(f"the {obj} is in the gripper; release it before pushing it")
        return full


def validate_plan(plan: Any, scene: SceneObjects) -> None:
    """Raise PlanValidationError (one line) unless every step of `plan` can run in `scene`."""
    steps = plan.get("steps") if isinstance(plan, Mapping) else getattr(plan, "steps", plan)
    if steps is None:
        raise PlanValidationError("The plan has no 'steps' list.")
    state = PlanState.start(scene)
    for number, step in enumerate(steps, start=1):
        state.apply(step, number)
