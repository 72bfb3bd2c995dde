"""The `rule` planner: the embedded default. No download, no network, instant.

Instruction → clauses and intents (`robomatrix.planners.parse`) → object words grounded in
the scene (`robomatrix.planners.grounding`) → skill calls, with the prerequisites each skill
needs filled in, then validated (`robomatrix.planners.validate`).

Canonical sequences (what the plans look like):

- pick-and-place "put X in Y":  move_to(X), grasp(X), lift(X), position_over(X, Y), release(X)
  (position_over carries X to Y itself; there is no separate move_to(Y));
- into the drawer: open_drawer() first unless the drawer is known open, then the above;
  close_drawer() only when asked ("… and close it"); either drawer skill gets move_to(drawer)
  before it unless the robot is already at the drawer (after putting a can in it, it is);
- "pick up X": move_to, grasp, lift; "grasp X": move_to, grasp; "lift X": as pick up;
- "push X left": move_to(X), push(X, left); "move a bit to the left": nudge(left, 0.05);
- an object not in view gets search(X) before its first use; a step the robot has already
  done (move_to the object it is at, lift what is lifted) is not repeated;
- "all the cans", "both cans", "the red and green cans": one pick-and-place per object,
  nearest first when positions are known;
- "throw X away" puts X in the bin, "put X away" puts X in the drawer;
- an object already inside its target (scene.contained) is left where it is;
- a replan that finds the gripper in the way (the wrong can grasped, the drawer found shut
  while carrying) sets the held object down first: release(X) where the robot is, then the
  instruction planned from there, X searched for again when it is needed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from robomatrix.messages import Plan, SkillCall
from robomatrix.planners.base import (
    Planner,
    PlanningError,
    SceneObject,
    SceneObjects,
    UnknownObjectError,
    display,
    is_container,
    planner_config,
    register_planner,
)
from robomatrix.planners.embeddings import EmbeddingsUnavailable, get_embedder
from robomatrix.planners.grammar import canonical_steps
from robomatrix.planners.grounding import Grounder
from robomatrix.planners.parse import Intent, parse_instruction
from robomatrix.planners.validate import drawer_name, validate_plan
from robomatrix.skills.specs import skill_spec

PRONOUNS = frozenset({"it", "that", "this", "that one", "this one", "the same", "the same one", "the one"})
GROUP_PRONOUNS = frozenset({"them", "they", "those", "these", "both of them", "all of them", "all of those"})


@dataclass
class RulePlannerConfig:
    """Settings of the rule planner (`make_planner("rule", auto_approach=False)` overrides one)."""

    embeddings: str = "auto"  # "auto": use the offline MiniLM model when installed; "on": require it; "off": words only
    similarity_threshold: float = 0.40  # cosine similarity a synonym needs to match an object description
    similarity_margin: float = 0.06  # how far ahead of the runner-up a match must be to be the only one
    auto_approach: bool = True  # insert move_to(X) before grasp/push of X and the drawer skills unless already there
    default_nudge_m: float = 0.05  # nudge distance for "a bit", "a little" or no amount at all

    def __post_init__(self):
        if self.embeddings not in ("auto", "on", "off"):
            raise ValueError(f"RulePlannerConfig.embeddings must be 'auto', 'on' or 'off', got {self.embeddings!r}")
        if not 0.0 < self.similarity_threshold < 1.0:
            raise ValueError(f"RulePlannerConfig.similarity_threshold must be in (0, 1), got {self.similarity_threshold!r}")
        if not 0.0 <= self.similarity_margin < 1.0:
            raise ValueError(f"RulePlannerConfig.similarity_margin must be in [0, 1), got {self.similarity_margin!r}")
        lo, hi = skill_spec("nudge").arg("amount").bounds
        if not lo <= self.default_nudge_m <= hi:
            raise ValueError(f"RulePlannerConfig.default_nudge_m must be within {lo}–{hi} m, got {self.default_nudge_m!r}")


class GripperInTheWay(PlanningError):
    """The plan needs the gripper empty, or holding another object, than the scene has it."""


class _LazyEmbedder:
    """Loads the embedding model on the first synonym that needs it, not at planner creation."""

    def __init__(self, required: bool):
        self.required = required

    def embed(self, texts):
        try:
            return get_embedder().embed(texts)
        except EmbeddingsUnavailable:
            if self.required:
                raise
            raise _NoEmbeddings from None


class _NoEmbeddings(Exception):
    pass


class _SafeGrounder(Grounder):
    def _by_embedding(self, p, pool):
        try:
            return super()._by_embedding(p, pool)
        except _NoEmbeddings:
            return []


class _Builder:
    """Accumulates skill calls while tracking what the robot will hold, see and be near."""

    def __init__(self, scene: SceneObjects, grounder: Grounder, cfg: RulePlannerConfig):
        self.scene, self.g, self.cfg = scene, grounder, cfg
        self.steps: list[SkillCall] = []
        self.held = scene.held
        self.lifted = False
        self.drawer_open = scene.drawer_open
        self.drawer = drawer_name(scene)
        self.visible = {n for n in scene.names() if scene.in_view(n)}
        self.near: str | None = None
        self.last_object = scene.held
        self.last_container: str | None = None
        self.last_any: str | None = scene.held
        self.last_group: list[str] = []
        self.pick_index: dict[str, int] = {}
        self.inside: dict[str, str] = dict(scene.contained)  # object → container, as the plan so far leaves them

    # -- references -------------------------------------------------------------------------
    def ref(self, phrase: str, kind: str | None) -> str:
        p = " ".join(phrase.split())
        if p in PRONOUNS or p == "":
            found = {"container": self.last_container, "portable": self.held or self.last_object}.get(
                kind, self.last_any) if p else (self.held if kind == "portable" else None)
            if found is None:
                what = "container" if kind == "container" else "object"
                raise PlanningError(f"Which {what} do you mean by '{p or 'it'}'? "
                                    f"I can see: {self.scene.describe()}.")
            return self._remember(found)
        if p == "there" and kind == "container" and (self.last_container or self.near):
            return self._remember(self.last_container or self.near)
        return self._remember(self.g.resolve(phrase, kind))

    def refs(self, phrase: str, kind: str | None) -> list[str]:
        p = " ".join(phrase.split())
        if p in GROUP_PRONOUNS:
            if not self.last_group:
                raise PlanningError(f"Which objects do you mean by '{p}'? I can see: {self.scene.describe()}.")
            return list(self.last_group)
        if p in PRONOUNS or p == "":
            return [self.ref(phrase, kind)]
        names = self.g.resolve_many(phrase, kind)
        for n in names:
            self._remember(n)
        self.last_group = names
        return names

    def _remember(self, name: str) -> str:
        self.last_any = name
        if is_container(name):
            self.last_container = name
        else:
            self.last_object = name
        return name

    # -- skills with their prerequisites -------------------------------------------------------
    def add(self, skill: str, **args) -> None:
        self.steps.append(SkillCall(skill, dict(args)))

    def see(self, name: str) -> None:
        if name not in self.visible and name != self.held:
            self.add("search", object=name)
            self.visible.add(name)

    def approach(self, name: str) -> None:
        if self.near != name:
            self.see(name)
            self.add("move_to", object=name)
            self.near = name

    def pick(self, name: str, lift: bool) -> None:
        if self.held == name:
            if lift and not self.lifted:
                self.add("lift", object=name)
                self.lifted = True
            return
        if self.held is not None:
            raise GripperInTheWay(f"I am holding the {display(self.held)}; say where to put it first "
                                f"(e.g. 'put it in the {display(self._any_container())}').")
        if self.scene.lying(name):
            raise PlanningError(f"The {display(name)} lies on its side, and I can only pick up standing cans; "
                                "stand it up, then ask again.")
        self.pick_index[name] = len(self.steps)
        if self.cfg.auto_approach:
            self.approach(name)
        else:
            self.see(name)
        self.add("grasp", object=name)
        self.held, self.lifted, self.near = name, False, name
        if lift:
            self.add("lift", object=name)
            self.lifted = True

    def place(self, name: str, target: str, release: bool = True) -> None:
        if self.inside.get(name) == target and self.held != name:
            return  # already there ("bring it over to the bin and drop it in": the drop is the same placing)
        if target == self.drawer and self.drawer_open is not True:
            self._open_drawer_before(name)
        self.pick(name, lift=True)
        self.see(target)
        self.add("position_over", object=name, target=target)
        self.near = target
        if release:
            self.add("release", object=name)
            self.held = None
            self.inside[name] = target
        self.last_container = target

    def _open_drawer_before(self, name: str) -> None:
        if self.held is None:
            self.open_drawer()
            return
        if self.held == name and name in self.pick_index:  # "pick up X and put it in the drawer"
            at = self.pick_index[name]
            calls = ([] if self.drawer in self.visible else [SkillCall("search", {"object": self.drawer})])
            if self.cfg.auto_approach:
                calls.append(SkillCall("move_to", {"object": self.drawer}))
            calls.append(SkillCall("open_drawer", {}))
            self.steps[at:at] = calls
            self.visible.add(self.drawer)
            self.drawer_open = True
            return
        raise GripperInTheWay(f"The drawer is closed and I am holding the {display(self.held)}; "
                            "put it down first or open the drawer before picking it up.")

    def open_drawer(self) -> None:
        self._need_drawer()
        if self.drawer_open is True:
            return
        self._need_empty_gripper("opening the drawer")
        self._reach_drawer()
        self.add("open_drawer")
        self.drawer_open, self.near, self.last_container = True, self.drawer, self.drawer

    def close_drawer(self) -> None:
        self._need_drawer()
        if self.drawer_open is False:
            return
        self._need_empty_gripper("closing the drawer")
        self._reach_drawer()
        self.add("close_drawer")
        self.drawer_open, self.near = False, self.drawer

    def release(self, name: str | None) -> None:
        if self.held is None:
            raise PlanningError("I am not holding anything to release.")
        if name is not None and name != self.held:
            raise PlanningError(f"I am holding the {display(self.held)}, not the {display(name)}.")
        self.add("release", object=self.held)
        self.held = None

    def push(self, name: str, direction: str) -> None:
        if name == self.drawer and direction == "forward":
            self.close_drawer()
            return
        if direction not in skill_spec("push").arg("direction").choices:
            raise PlanningError(f"I can push things left, right, forward or backward, not {direction}.")
        if self.held == name:
            raise PlanningError(f"The {display(name)} is in the gripper; release it before pushing it.")
        if self.cfg.auto_approach:
            self.approach(name)
        else:
            self.see(name)
        self.add("push", object=name, direction=direction)

    def _reach_drawer(self) -> None:
        """move_to(drawer) first unless the robot is at it: the drawer skills then start facing the handle
        within reach, wherever the search left the robot (a learned drawer skill started far off drives
        to whatever stands ahead, a can in front of the cabinet included; checkpoints/README.md)."""
        if self.cfg.auto_approach:
            self.approach(self.drawer)
        else:
            self.see(self.drawer)

    def _need_drawer(self) -> None:
        if self.drawer is None:
            raise UnknownObjectError(f"There is no drawer here. I can see: {self.scene.describe()}.", "drawer")

    def _need_empty_gripper(self, doing: str) -> None:
        if self.held is not None:
            raise GripperInTheWay(f"I am holding the {display(self.held)}; say where to put it before {doing}.")

    def _any_container(self) -> str:
        return next((n for n in self.scene.names() if is_container(n)), "box")

    # -- intents ------------------------------------------------------------------------------
    def do(self, it: Intent) -> None:
        a = it.action
        if a == "search":
            for n in self.refs(it.obj, None):
                self.add("search", object=n)
                self.visible.add(n)
        elif a == "move_to":
            self.approach(self.ref(it.obj, None))
        elif a in ("pick", "lift", "grasp"):
            self.pick(self.ref(it.obj, "portable"), lift=a != "grasp")
        elif a in ("place", "hold_over", "dispose", "stow"):
            objs = self.refs(it.obj, "portable")
            target = {"dispose": self._dispose_target, "stow": self._stow_target}.get(
                a, lambda: self.ref(it.target, "container"))()
            if a == "hold_over" and len(objs) > 1:
                raise PlanningError("I can hold only one object at a time over a container.")
            if self.held in objs:  # the one in the gripper first (a replan after a failed carry)
                objs = [self.held] + [n for n in objs if n != self.held]
            for n in objs:
                self.place(n, target, release=a != "hold_over")
        elif a == "release":
            self.release(self.ref(it.obj, "portable") if it.obj and it.obj not in PRONOUNS else None)
        elif a in ("open_drawer", "close_drawer"):
            self._check_drawer_phrase(it)
            (self.open_drawer if a == "open_drawer" else self.close_drawer)()
        elif a == "push":
            for n in self.refs(it.obj, None):
                self.push(n, it.direction)
        elif a == "nudge":
            lo, hi = skill_spec("nudge").arg("amount").bounds
            if not lo <= it.amount_m <= hi:
                hint = "; for longer moves say where to go (e.g. 'move to the box')" if it.amount_m > hi else ""
                raise PlanningError(f"A nudge moves {lo}–{hi} m, not {it.amount_m} m{hint}.")
            self.add("nudge", direction=it.direction, amount=it.amount_m)
        else:  # parse.ACTIONS and this ladder are kept in step by the tests
            raise PlanningError(f"Unhandled action {a!r} in '{it.text}'.")

    def _dispose_target(self) -> str:
        try:
            return self.g.resolve("trash bin", "container")
        except UnknownObjectError:
            raise UnknownObjectError(f"There is no bin here to throw it in. I can see: {self.scene.describe()}.",
                                     "bin") from None

    def _stow_target(self) -> str:
        if self.drawer is None:
            raise PlanningError(f"Where should I put it away? Say e.g. 'put it in the {display(self._any_container())}'.")
        return self.drawer

    def _check_drawer_phrase(self, it: Intent) -> None:
        self._need_drawer()
        if it.obj in PRONOUNS or it.obj == "":
            self._remember(self.drawer)
            return
        name = self.ref(it.obj, None)
        if name != self.drawer:
            verb = "open" if it.action == "open_drawer" else "close"
            raise PlanningError(f"I can only {verb} the drawer, not the {display(name)}.")


class RulePlanner(Planner):
    """Grammar-and-grounding planner; see the module docstring for the plans it makes."""

    name = "rule"

    def __init__(self, config: RulePlannerConfig | None = None, **overrides):
        self.config = planner_config(RulePlannerConfig, config, overrides, "rule planner option")
        self._embedder = None if self.config.embeddings == "off" else _LazyEmbedder(self.config.embeddings == "on")

    def plan(self, instruction: str, scene: SceneObjects, task_id: str = "") -> Plan:
        if not isinstance(instruction, str) or not instruction.strip():
            raise PlanningError("The instruction is empty; say what to do, e.g. 'put the red can in the box'.")
        grounder = _SafeGrounder(scene, self._embedder, self.config.similarity_threshold,
                                 self.config.similarity_margin)
        builder = _Builder(scene, grounder, self.config)
        for intent in parse_instruction(instruction, self.config.default_nudge_m):
            builder.do(intent)
        plan = Plan(instruction=instruction, steps=builder.steps, planner=self.name, task_id=task_id)
        validate_plan(plan, scene)
        return plan

    def replan(self, plan: Plan, failure: str, scene: SceneObjects) -> Plan:
        """Plan the same instruction again from the scene as it is now, minus the relative motions done.

        The scene carries most of what changed (what is held, what is in view, where objects are,
        whether the drawer is open), so finished pick-and-places are skipped, a lost object gets a
        search, a dropped one is picked again. A push or nudge leaves nothing in the scene that says
        it happened, so the failure text is read for where the old plan stopped ("step 4 grasp(…)
        failed: …", as the executive words it): pushes and nudges before that step are done and are
        not planned again, nor the search and move_to that only led to such a push.
        """
        try:
            new = self.plan(plan.instruction, scene, task_id=plan.task_id)
        except GripperInTheWay:
            if scene.held is None:
                raise
            new = self._set_down_first(plan, scene)
        done = _relative_motions_done(plan, failure)
        if not done:
            return new
        steps = list(new.steps)
        for call in done:
            key = canonical_steps([call])
            at = next((i for i, s in enumerate(steps) if canonical_steps([s]) == key), None)
            if at is None:
                continue
            del steps[at]
            obj = call.args.get("object")
            while at > 0 and obj and steps[at - 1].skill in ("move_to", "search") and \
                    steps[at - 1].args.get("object") == obj and not _used_later(steps, at, obj):
                at -= 1
                del steps[at]
        return Plan(instruction=new.instruction, steps=steps, planner=self.name, task_id=new.task_id)

    def _set_down_first(self, plan: Plan, scene: SceneObjects) -> Plan:
        """release(held) where the robot is (it drops from the carry height), then the instruction
        planned for an empty gripper, with the object set down no longer in view: where it came to
        rest is for perception to see. Asked only by `replan`: a person who gives an instruction
        that needs the gripper while it holds something is asked where to put it instead."""
        held = scene.held  # in `objects` or `known`; either way out of view once let go
        objects = tuple(SceneObject(o.name, None, in_view=False) if o.name == held else o for o in scene.objects)
        rest = self.plan(plan.instruction, replace(scene, objects=objects, held=None), task_id=plan.task_id)
        new = Plan(instruction=plan.instruction, steps=[SkillCall("release", {"object": held}), *rest.steps],
                   planner=self.name, task_id=plan.task_id)
        validate_plan(new, scene)
        return new


_FAILED_STEP = re.compile(r"\bstep (\d+) ")


def _relative_motions_done(plan: Plan, failure: str) -> list[SkillCall]:
    """Pushes and nudges of `plan` before the step `failure` names as failed (none when it names none)."""
    m = _FAILED_STEP.search(failure or "")
    if not m:
        return []
    failed = int(m.group(1)) - 1
    return [s for s in plan.steps[:max(0, failed)] if s.skill in ("push", "nudge")]


def _used_later(steps: list[SkillCall], start: int, obj: str) -> bool:
    """Whether a step from `start` on that is not a search or move_to acts on `obj`."""
    return any(s.args.get("object") == obj for s in steps[start:] if s.skill not in ("move_to", "search"))


register_planner("rule", RulePlanner)
