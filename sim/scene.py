"""Scene specs: what is in the world, independent of any simulator.

A `SceneSpec` lists objects (cans, cubes, balls), open containers (a box, a bin), an optional
drawer cabinet, the robot's start pose, lighting and floor. Builders registered by name turn a
seed into a randomised spec (`build_scene("office", seed=3)`); simulators turn a spec into a model.

Poses are planar (x m, y m, yaw rad) in the world frame, the floor is z = 0. Object names are what
a person would say ("red can", "box", "bin", "drawer").
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from robomatrix.errors import UsageError, unknown_name

SHAPES = ("can", "cube", "ball")
CONTAINER_KINDS = ("box", "bin")

# Named colours (RGBA, 0..1). Scenes pick from these so names and pixels agree.
PALETTE: dict[str, tuple[float, float, float, float]] = {
    "red": (0.85, 0.10, 0.10, 1.0),
    "green": (0.10, 0.65, 0.20, 1.0),
    "blue": (0.10, 0.30, 0.90, 1.0),
    "yellow": (0.95, 0.82, 0.10, 1.0),
    "orange": (0.98, 0.50, 0.08, 1.0),
    "purple": (0.55, 0.20, 0.75, 1.0),
    "white": (0.92, 0.92, 0.90, 1.0),
    "cardboard": (0.72, 0.54, 0.33, 1.0),
    "grey": (0.40, 0.42, 0.45, 1.0),
    "teal": (0.10, 0.50, 0.52, 1.0),
}


def _check_pose(owner: str, pose) -> tuple[float, float, float]:
    pose = tuple(float(v) for v in pose)
    if len(pose) != 3 or not all(math.isfinite(v) for v in pose):
        raise UsageError(f"{owner}: pose must be (x m, y m, yaw rad), got {pose!r}.")
    return pose


def _check_rgba(owner: str, rgba) -> tuple[float, float, float, float]:
    rgba = tuple(float(v) for v in rgba)
    if len(rgba) != 4 or not all(0.0 <= v <= 1.0 for v in rgba):
        raise UsageError(f"{owner}: rgba must be 4 numbers in 0..1, got {rgba!r}.")
    return rgba


def _check_positive(owner: str, name: str, value: float) -> float:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise UsageError(f"{owner}: {name} must be a positive number, got {value!r}.")
    return float(value)


@dataclass
class ObjectSpec:
    """A graspable object resting on the floor."""

    name: str  # what a person calls it, unique in the scene ("red can")
    shape: str  # "can" (cylinder), "cube" or "ball"
    color_name: str  # colour word ("red")
    rgba: tuple[float, float, float, float]  # rendered colour, 0..1
    size: tuple[float, ...]  # can: (radius, height) m; cube: (edge,) m; ball: (radius,) m
    pose: tuple[float, float, float]  # (x, y, yaw) on the floor, world frame
    mass: float = 0.15  # kg

    def __post_init__(self):
        owner = f"object '{self.name}'"
        if self.shape not in SHAPES:
            raise unknown_name(f"shape of {owner}", self.shape, SHAPES)
        expected = {"can": 2, "cube": 1, "ball": 1}[self.shape]
        self.size = tuple(_check_positive(owner, "size", v) for v in self.size)
        if len(self.size) != expected:
            raise UsageError(f"{owner}: a {self.shape} has {expected} size value(s), got {self.size!r}.")
        self.rgba = _check_rgba(owner, self.rgba)
        self.pose = _check_pose(owner, self.pose)
        self.mass = _check_positive(owner, "mass", self.mass)

    @property
    def height(self) -> float:
        """Height of the object's top above the floor, m."""
        return {"can": lambda s: s[1], "cube": lambda s: s[0], "ball": lambda s: 2 * s[0]}[self.shape](self.size)

    @property
    def footprint_radius(self) -> float:
        """Radius of a circle around `pose` that contains the object, m."""
        return self.size[0] * (math.sqrt(0.5) if self.shape == "cube" else 1.0)


@dataclass
class ContainerSpec:
    """An open-topped container on the floor: a rectangular box or a round bin."""

    name: str  # "box", "bin"
    kind: str  # "box" (rectangular) or "bin" (round)
    color_name: str
    rgba: tuple[float, float, float, float]
    inner_size: tuple[float, float]  # box: inner (length x, width y) m; bin: (diameter, diameter) m
    wall_height: float  # m, top of the walls above the floor
    pose: tuple[float, float, float]
    wall_thickness: float = 0.01  # m

    def __post_init__(self):
        owner = f"container '{self.name}'"
        if self.kind not in CONTAINER_KINDS:
            raise unknown_name(f"kind of {owner}", self.kind, CONTAINER_KINDS)
        self.inner_size = tuple(_check_positive(owner, "inner_size", v) for v in self.inner_size)
        if len(self.inner_size) != 2:
            raise UsageError(f"{owner}: inner_size must be (length, width), got {self.inner_size!r}.")
        if self.kind == "bin" and abs(self.inner_size[0] - self.inner_size[1]) > 1e-9:
            raise UsageError(f"{owner}: a round bin needs inner_size (d, d), got {self.inner_size!r}.")
        self.wall_height = _check_positive(owner, "wall_height", self.wall_height)
        self.wall_thickness = _check_positive(owner, "wall_thickness", self.wall_thickness)
        self.rgba = _check_rgba(owner, self.rgba)
        self.pose = _check_pose(owner, self.pose)

    @property
    def footprint_radius(self) -> float:
        return math.hypot(*self.inner_size) / 2 + self.wall_thickness


@dataclass
class CabinetSpec:
    """A low cabinet with one drawer; its front (with the drawer and a vertical handle bar) faces
    the cabinet's local +x. The drawer slides out along +x when pulled by the handle."""

    name: str = "drawer"  # what a person calls the drawer
    pose: tuple[float, float, float] = (1.2, 0.0, math.pi)  # centre of the body's footprint, world
    body_size: tuple[float, float, float] = (0.36, 0.44, 0.30)  # outer depth x, width y, height z, m
    drawer_height: tuple[float, float] = (0.06, 0.20)  # drawer front spans this z range, m
    drawer_travel: float = 0.25  # how far the drawer can be pulled out, m
    handle_length: float = 0.09  # vertical bar length, m
    handle_radius: float = 0.012  # m (thin handles slip out of the gripper)
    handle_standoff: float = 0.045  # bar axis distance in front of the drawer face, m
    rgba: tuple[float, float, float, float] = (0.80, 0.78, 0.72, 1.0)
    drawer_rgba: tuple[float, float, float, float] = (0.55, 0.62, 0.70, 1.0)
    handle_rgba: tuple[float, float, float, float] = (0.08, 0.08, 0.09, 1.0)
    drawer_damping: float = 2.0  # N s/m, slide friction of the drawer runners

    def __post_init__(self):
        owner = f"cabinet '{self.name}'"
        self.pose = _check_pose(owner, self.pose)
        self.body_size = tuple(_check_positive(owner, "body_size", v) for v in self.body_size)
        lo, hi = (float(v) for v in self.drawer_height)
        if not 0 < lo < hi < self.body_size[2]:
            raise UsageError(f"{owner}: drawer_height must be 0 < low < high < body height, got {self.drawer_height!r}.")
        self.drawer_height = (lo, hi)
        for name in ("drawer_travel", "handle_length", "handle_radius", "handle_standoff"):
            setattr(self, name, _check_positive(owner, name, getattr(self, name)))
        if self.drawer_travel >= self.body_size[0]:
            raise UsageError(f"{owner}: drawer_travel must be below the body depth, got {self.drawer_travel!r}.")
        for name in ("rgba", "drawer_rgba", "handle_rgba"):
            setattr(self, name, _check_rgba(owner, getattr(self, name)))

    @property
    def handle_centre_z(self) -> float:
        return sum(self.drawer_height) / 2

    @property
    def footprint_radius(self) -> float:
        return math.hypot(self.body_size[0] + self.drawer_travel, self.body_size[1]) / 2

    def handle_position(self, opening: float = 0.0) -> tuple[float, float, float]:
        """World (x, y, z) of the handle bar's centre with the drawer pulled out `opening` m."""
        x, y, yaw = self.pose
        ahead = self.body_size[0] / 2 + self.handle_standoff + opening
        return x + ahead * math.cos(yaw), y + ahead * math.sin(yaw), self.handle_centre_z


@dataclass
class Lighting:
    """One directional key light plus ambient light."""

    direction: tuple[float, float, float] = (0.3, 0.2, -1.0)  # where the light points, world
    intensity: float = 0.7  # diffuse, 0..1
    ambient: float = 0.35  # 0..1

    def __post_init__(self):
        d = tuple(float(v) for v in self.direction)
        if len(d) != 3 or not d[2] < 0:
            raise UsageError(f"lighting: direction must be (x, y, z) pointing down (z < 0), got {d!r}.")
        self.direction = d
        for name in ("intensity", "ambient"):
            v = getattr(self, name)
            if not 0 <= v <= 1:
                raise UsageError(f"lighting: {name} must be in 0..1, got {v!r}.")


@dataclass
class SceneSpec:
    """Everything a simulator needs to build one world."""

    name: str
    objects: list[ObjectSpec] = field(default_factory=list)
    containers: list[ContainerSpec] = field(default_factory=list)
    cabinet: CabinetSpec | None = None
    robot_start: tuple[float, float, float] = (0.0, 0.0, 0.0)  # base (x, y, yaw), world
    lighting: Lighting = field(default_factory=Lighting)
    floor_rgba: tuple[float, float, float, float] = (0.62, 0.60, 0.56, 1.0)  # checker colour 1
    floor_rgba2: tuple[float, float, float, float] = (0.55, 0.53, 0.50, 1.0)  # checker colour 2
    seed: int = 0  # the seed the builder used

    ROBOT_RADIUS = 0.30  # m, robot footprint incl. the arm at its front: kept free at the start

    def __post_init__(self):
        self.robot_start = _check_pose("robot_start", self.robot_start)
        self.floor_rgba = _check_rgba("floor", self.floor_rgba)
        self.floor_rgba2 = _check_rgba("floor", self.floor_rgba2)
        names = [o.name for o in self.objects] + [c.name for c in self.containers]
        names += [self.cabinet.name] if self.cabinet else []
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise UsageError(f"scene '{self.name}': names must be unique, repeated: {', '.join(dupes)}.")
        items = [(i.name, i.pose, i.footprint_radius) for i in (*self.objects, *self.containers)]
        items += [(self.cabinet.name, self.cabinet.pose, self.cabinet.footprint_radius)] if self.cabinet else []
        items.append(("robot", self.robot_start, self.ROBOT_RADIUS))
        for i, (na, pa, ra) in enumerate(items):
            for nb, pb, rb in items[i + 1:]:
                if math.hypot(pa[0] - pb[0], pa[1] - pb[1]) < ra + rb:
                    raise UsageError(f"scene '{self.name}': '{na}' overlaps '{nb}'.")

    @property
    def names(self) -> list[str]:
        """Every nameable thing in the scene."""
        out = [o.name for o in self.objects] + [c.name for c in self.containers]
        return out + ([self.cabinet.name] if self.cabinet else [])

    def object(self, name: str) -> ObjectSpec:
        for o in self.objects:
            if o.name == name:
                return o
        raise unknown_name(f"object in scene '{self.name}'", name, [o.name for o in self.objects])

    def container(self, name: str) -> ContainerSpec:
        for c in self.containers:
            if c.name == name:
                return c
        raise unknown_name(f"container in scene '{self.name}'", name, [c.name for c in self.containers])


# ----------------------------------------------------------------- registry
SCENES: dict[str, Callable[[int], SceneSpec]] = {}


def register_scene(name: str, builder: Callable[[int], SceneSpec]) -> None:
    """Register `builder(seed) -> SceneSpec` under `name`."""
    SCENES[name] = builder


def scene_names() -> list[str]:
    from robomatrix.sim import scenes  # noqa: F401  (registers the built-in scenes)

    return sorted(SCENES)


def build_scene(name: str, seed: int = 0) -> SceneSpec:
    """The scene `name` randomised by `seed` (same seed → same scene). Unknown names raise UsageError."""
    if name not in scene_names():
        raise unknown_name("scene", name, scene_names())
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise UsageError(f"scene seed must be an integer, got {seed!r}.")
    return SCENES[name](seed)


def resolve_scene(scene, seed: int = 0) -> SceneSpec:
    """A SceneSpec from a registered name or an existing spec."""
    if isinstance(scene, SceneSpec):
        return scene
    if isinstance(scene, str):
        return build_scene(scene, seed)
    raise UsageError(f"scene must be a scene name or a SceneSpec, got {type(scene).__name__}.")
