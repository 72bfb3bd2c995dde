"""The planner contract: what a planner sees (SceneObjects), what it returns (a Plan), and the registry.

A planner turns a person's instruction and what perception currently sees into a `Plan`
of meta-skill calls; when execution fails it is asked to `replan` with a description of
the failure in words and the scene as it is now. Every plan is checked by
`robomatrix.planners.validate.validate_plan` before anything moves.
"""
from __future__ import annotations

import abc
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from robomatrix.errors import UsageError, unknown_name

if TYPE_CHECKING:
    from robomatrix.messages import Plan

CONTAINER_NOUNS = frozenset({"box", "bin", "drawer", "basket", "tray", "bowl", "crate", "bucket"})
"""Object nouns that can receive something (`position_over` targets). A name is a container
when its last word is one of these ("box", "blue bin")."""


DRAWER_OPEN_M = 0.12
"""`SceneObjects.drawer_open` is True with the drawer pulled out at least this far (room for a can)."""
DRAWER_CLOSED_M = 0.03
"""... and False with it at most this far out; in between it is partly open, neither (None)."""


def drawer_state(opening_m: float | None, open_m: float = DRAWER_OPEN_M) -> bool | None:
    """True open, False closed, None partly open or not known, from an opening estimate in metres."""
    if opening_m is None:
        return None
    return True if opening_m >= open_m else False if opening_m <= DRAWER_CLOSED_M else None


class PlanningError(UsageError):
    """The planner cannot turn this instruction into a plan; the message says why and what is possible."""


class AmbiguousReferenceError(PlanningError):
    """A phrase fits more than one object ("the can" with three cans in view)."""

    def __init__(self, message: str, phrase: str = "", candidates: Iterable[str] = ()):
        super().__init__(message)
        self.phrase = phrase
        self.candidates = tuple(candidates)


class UnknownObjectError(PlanningError):
    """A phrase names nothing in the scene ("the purple can")."""

    def __init__(self, message: str, phrase: str = ""):
        super().__init__(message)
        self.phrase = phrase


class UnsupportedActionError(PlanningError):
    """The instruction asks for something no registered skill does."""


class PlanValidationError(UsageError):
    """A plan breaks the skill registry, the scene, or the order skills need (one-line reason)."""


def name_words(name: str) -> list[str]:
    """"red can", "red_can" and "Red-Can" all → ["red", "can"]."""
    return re.findall(r"[a-z0-9]+", name.lower())


def display(name: str) -> str:
    """A scene name as people read it: "red_can" → "red can"."""
    return " ".join(name_words(name)) or name


def is_container(name: str) -> bool:
    words = name_words(name)
    return bool(words) and words[-1] in CONTAINER_NOUNS


@dataclass(frozen=True)
class SceneObject:
    """One object perception reports or remembers."""

    name: str  # e.g. "red can", "box", "drawer"; unique within a scene
    position: tuple[float, float, float] | None = None  # metres in the robot base frame (x fwd, y left)
    in_view: bool = True  # seen in the current camera image
    lying: bool = False  # a can perception sees fallen on its side (the gripper cannot pick it up)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip() or self.name != " ".join(self.name.split()):
            raise ValueError(f"SceneObject.name must be a non-empty single-spaced string, got {self.name!r}")
        if self.position is not None:
            pos = tuple(float(v) for v in self.position)
            if len(pos) != 3 or not all(math.isfinite(v) for v in pos):
                raise ValueError(f"SceneObject.position must be three finite metres, got {self.position!r}")
            object.__setattr__(self, "position", pos)


@dataclass(frozen=True)
class SceneObjects:
    """What the planner knows about the world right now.

    `objects` are what perception reports (each flagged `in_view` or not); `known` names
    further objects known to exist (from a map or an earlier view) that are not in view.
    The facts below are perception's postcondition checks, None where not known.
    """

    objects: tuple[SceneObject, ...] = ()  # perceived objects, in perception's order
    known: frozenset[str] = frozenset()  # names known to exist, maybe not in view
    held: str | None = None  # the object in the gripper, if any
    drawer_open: bool | None = None  # True open, False closed, None partly open or not known (`drawer_state`)
    drawer_opening_m: float | None = None  # perception's estimate of how far the drawer is out, when it has one
    contained: Mapping[str, str] = field(default_factory=dict)  # object -> container it is inside

    def __post_init__(self):
        objs = tuple(o if isinstance(o, SceneObject) else SceneObject(**o) for o in self.objects)
        object.__setattr__(self, "objects", objs)
        object.__setattr__(self, "known", frozenset(self.known))
        object.__setattr__(self, "contained", dict(self.contained))
        names = [o.name for o in objs]
        if len(set(names)) != len(names):
            raise ValueError(f"SceneObjects.objects repeat a name: {names}")
        everything = self.names()
        for label, value in (("held", self.held), *((f"contained[{k!r}]", k) for k in self.contained),
                             *((f"contained[{k!r}] value", v) for k, v in self.contained.items())):
            if value is not None and value not in everything:
                raise ValueError(f"SceneObjects.{label} names {value!r}, which is not in the scene: {everything}")

    @classmethod
    def from_names(cls, visible: Iterable[str] = (), hidden: Iterable[str] = (), **facts: Any) -> SceneObjects:
        """A scene from names alone: `visible` in view, `hidden` known but not in view."""
        objs = [SceneObject(n) for n in visible] + [SceneObject(n, in_view=False) for n in hidden]
        return cls(objects=tuple(objs), **facts)

    @classmethod
    def from_detections(cls, detections: Any, known: Iterable[str] = (), **facts: Any) -> SceneObjects:
        """A scene from a `robomatrix.messages.Detections` (all in view) plus names known elsewhere."""
        objs, seen = [], set()
        for d in sorted(detections.detections, key=lambda d: -d.confidence):
            if d.name not in seen:  # the most confident detection of a name wins
                seen.add(d.name)
                pos = tuple(d.position_base) if d.position_base is not None else None
                objs.append(SceneObject(d.name, pos, in_view=True))
        return cls(objects=tuple(objs), known=frozenset(known), **facts)

    def names(self) -> list[str]:
        """Every object that exists: perceived ones in order, then the other known ones sorted."""
        seen = [o.name for o in self.objects]
        return seen + sorted(self.known - set(seen))

    def has(self, name: str) -> bool:
        return name in self.known or any(o.name == name for o in self.objects)

    def in_view(self, name: str) -> bool:
        return any(o.name == name and o.in_view for o in self.objects) or name == self.held

    def lying(self, name: str) -> bool:
        return any(o.name == name and o.lying for o in self.objects)

    def position(self, name: str) -> tuple[float, float, float] | None:
        for o in self.objects:
            if o.name == name:
                return o.position
        return None

    def describe(self) -> str:
        """`red can, green can, box` plus `(not in view: blue can)` for people and prompts."""
        visible = [display(n) for n in self.names() if self.in_view(n)]
        hidden = [display(n) for n in self.names() if not self.in_view(n)]
        text = ", ".join(visible) if visible else "nothing"
        return text + (f" (not in view: {', '.join(hidden)})" if hidden else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "objects": [{"name": o.name, "position": list(o.position) if o.position else None,
                         "in_view": o.in_view} | ({"lying": True} if o.lying else {}) for o in self.objects],
            "known": sorted(self.known),
            "held": self.held,
            "drawer_open": self.drawer_open,
            "drawer_opening_m": self.drawer_opening_m,
            "contained": dict(self.contained),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SceneObjects:
        objs = tuple(SceneObject(o["name"], tuple(o["position"]) if o.get("position") else None,
                                 bool(o.get("in_view", True)), bool(o.get("lying", False)))
                     for o in data.get("objects", ()))
        return cls(objects=objs, known=frozenset(data.get("known", ())), held=data.get("held"),
                   drawer_open=data.get("drawer_open"), drawer_opening_m=data.get("drawer_opening_m"),
                   contained=dict(data.get("contained", {})))


class Planner(abc.ABC):
    """Instruction + scene → Plan. Subclasses set `name` and register with `register_planner`."""

    name: str = ""

    @abc.abstractmethod
    def plan(self, instruction: str, scene: SceneObjects) -> Plan:
        """A validated plan for `instruction`; PlanningError (a UsageError) with the reason when none."""

    @abc.abstractmethod
    def replan(self, plan: Plan, failure: str, scene: SceneObjects) -> Plan:
        """A new plan for `plan.instruction` after `failure` (in words), from the scene as it is now."""


def planner_config(config_cls: type, config: Any, overrides: Mapping[str, Any], what: str) -> Any:
    """`config` (or the defaults of dataclass `config_cls`) with keyword `overrides` applied; an unknown
    key is a UsageError with a suggestion (`what` names the options, e.g. "hf planner option")."""
    from dataclasses import fields, replace

    known = {f.name for f in fields(config_cls)}
    for key in overrides:
        if key not in known:
            raise unknown_name(what, key, known)
    return replace(config or config_cls(), **overrides)


_PLANNERS: dict[str, type[Planner]] = {}


def register_planner(name: str, cls: type[Planner], *, replace: bool = False) -> type[Planner]:
    if not (isinstance(cls, type) and issubclass(cls, Planner)):
        raise TypeError(f"register_planner({name!r}): {cls!r} is not a Planner subclass")
    if name in _PLANNERS and _PLANNERS[name] is not cls and not replace:
        raise ValueError(f"planner {name!r} is already registered (pass replace=True to override)")
    _PLANNERS[name] = cls
    return cls


def planner_names() -> list[str]:
    _load_builtin_planners()
    return sorted(_PLANNERS)


def make_planner(name: str, **kwargs: Any) -> Planner:
    """Build the planner registered as `name`; an unknown name raises UsageError with a suggestion."""
    _load_builtin_planners()
    if name not in _PLANNERS:
        raise unknown_name("planner", name, _PLANNERS)
    return _PLANNERS[name](**kwargs)


def _load_builtin_planners() -> None:
    # Imported here, not at module top, so that base stays import-cycle free.
    import robomatrix.planners.hf  # noqa: F401  (imports transformers only when an hf planner is made)
    import robomatrix.planners.openai_planner  # noqa: F401
    import robomatrix.planners.rule  # noqa: F401
    import robomatrix.planners.tree  # noqa: F401
