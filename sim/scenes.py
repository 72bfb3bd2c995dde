"""Built-in scenes, randomised by seed: `office` (after the RoboMatrix paper's setting), `pick`,
`drawer` and `empty`.

The robot starts at the origin facing +x. Its camera (0.40 m up, 50 deg down, fovy 70) sees the
floor from about 0.25 m to 1.5 m ahead, so things are placed in that range; the cabinet may need
a turn of the base to be seen whole.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from robomatrix.errors import UsageError
from robomatrix.sim.scene import (
    PALETTE,
    CabinetSpec,
    ContainerSpec,
    Lighting,
    ObjectSpec,
    SceneSpec,
    register_scene,
)

CAN_SIZE = (0.033, 0.12)  # radius, height: a 330 ml soda can
BOX_INNER_M = (0.24, 0.20)  # open cardboard box, inner length x width
BIN_INNER_DIAMETER_M = 0.30  # round office trash bin: room for the four cans side by side
GRIPPER_CLEARANCE_M = 0.07  # free space kept between objects so open fingers fit around one
_FLOORS = [((0.62, 0.60, 0.56, 1.0), (0.55, 0.53, 0.50, 1.0)),  # warm grey carpet tiles
           ((0.55, 0.58, 0.60, 1.0), (0.48, 0.51, 0.53, 1.0)),  # cool grey
           ((0.66, 0.60, 0.50, 1.0), (0.60, 0.54, 0.45, 1.0))]  # light wood


def _jitter_rgba(rng: np.random.Generator, rgba, amount: float = 0.04):
    rgb = np.clip(np.asarray(rgba[:3]) + rng.uniform(-amount, amount, 3), 0.0, 1.0)
    return (*(float(v) for v in rgb), 1.0)


def _lighting(rng: np.random.Generator) -> Lighting:
    return Lighting(direction=(float(rng.uniform(-0.5, 0.5)), float(rng.uniform(-0.5, 0.5)), -1.0),
                    intensity=float(rng.uniform(0.55, 0.8)), ambient=float(rng.uniform(0.3, 0.42)))


def _floor(rng: np.random.Generator):
    return _FLOORS[int(rng.integers(len(_FLOORS)))]


class _NoRoom(UsageError):
    def __init__(self, scene_name: str):
        super().__init__(f"scene '{scene_name}': could not place an item without overlaps; try another seed.")


def _segment_distance(p, a, b) -> float:
    """Distance from point p to the segment a-b (2-D)."""
    p, a, b = (np.asarray(v, float) for v in (p, a, b))
    ab = b - a
    t = float(np.clip(np.dot(p - a, ab) / max(float(np.dot(ab, ab)), 1e-12), 0.0, 1.0))
    return float(np.linalg.norm(p - (a + t * ab)))


class _Placer:
    """Rejection sampling of footprints (circles) that keep clear of each other and of the robot,
    with a free driving lane from the robot's start to each item that asks for one (so the
    robot can reach it without pushing another item ahead of it)."""

    def __init__(self, rng: np.random.Generator, scene_name: str):
        self.rng, self.scene_name = rng, scene_name
        self.placed: list[tuple[float, float, float]] = [(0.0, 0.0, SceneSpec.ROBOT_RADIUS)]
        self.lanes: list[tuple[tuple[float, float], tuple[float, float], float]] = []  # (a, b, half width)

    @staticmethod
    def _lane(x: float, y: float, stop_short_m: float, half_width_m: float):
        d = math.hypot(x, y)
        f = max(0.0, d - stop_short_m) / d
        return (0.0, 0.0), (x * f, y * f), half_width_m

    def _free(self, x: float, y: float, radius: float, clearance: float, lane) -> bool:
        if any(math.hypot(x - px, y - py) < radius + pr + clearance for px, py, pr in self.placed):
            return False
        if any(_segment_distance((x, y), a, b) < radius + hw for a, b, hw in self.lanes):
            return False
        return lane is None or all(_segment_distance((px, py), lane[0], lane[1]) >= pr + lane[2]
                                   for px, py, pr in self.placed[1:])

    def place(self, radius: float, x_range, y_range, clearance: float = GRIPPER_CLEARANCE_M,
              lanes: tuple[tuple[float, float], ...] = ()):
        """A free (x, y); each of `lanes` ((stop_short_m, half_width_m), ...) also reserves a
        straight path from the start to `stop_short_m` before it."""
        for _ in range(400):
            x, y = float(self.rng.uniform(*x_range)), float(self.rng.uniform(*y_range))
            new_lanes = [self._lane(x, y, *lane) for lane in lanes]
            if all(self._free(x, y, radius, clearance, lane) for lane in new_lanes or [None]):
                self.placed.append((x, y, radius))
                self.lanes.extend(new_lanes)
                return x, y
        raise _NoRoom(self.scene_name)


def _can(rng, placer, color: str, x_range, y_range, look=None) -> ObjectSpec:
    # Reserve the paths of the chassis (stops ~0.3 m short) and of the open gripper (0.09 m short).
    # `look`: (shade, size scale) of an unseen-objects split (see SPLITS); None: the training look.
    shade, scale = look if look is not None else (0.0, 1.0)
    size = (CAN_SIZE[0] * scale, CAN_SIZE[1] * scale)
    x, y = placer.place(size[0], x_range, y_range, lanes=((0.30, 0.19), (0.09, 0.145)))
    rgba = _jitter_rgba(rng, PALETTE[color])
    if shade:
        rgba = (*(float(v) * (1.0 + shade) for v in rgba[:3]), 1.0)
    return ObjectSpec(name=f"{color} can", shape="can", color_name=color, rgba=rgba,
                      size=size, pose=(x, y, float(rng.uniform(-math.pi, math.pi))),
                      mass=float(rng.uniform(0.08, 0.25)))


def _box(rng, placer, x_range, y_range) -> ContainerSpec:
    inner = BOX_INNER_M
    x, y = placer.place(math.hypot(*inner) / 2 + 0.01, x_range, y_range)
    yaw = math.atan2(y, x) + float(rng.uniform(-0.2, 0.2))  # roughly square to the robot
    return ContainerSpec(name="box", kind="box", color_name="cardboard", rgba=_jitter_rgba(rng, PALETTE["cardboard"], 0.03),
                         inner_size=inner, wall_height=0.10, pose=(x, y, yaw))


def _bin(rng, placer, x_range, y_range) -> ContainerSpec:
    d = BIN_INNER_DIAMETER_M
    x, y = placer.place(d / 2 + 0.01, x_range, y_range)
    return ContainerSpec(name="bin", kind="bin", color_name="teal", rgba=_jitter_rgba(rng, PALETTE["teal"], 0.03),
                         inner_size=(d, d), wall_height=0.12, pose=(x, y, 0.0))


def _cabinet(rng, placer, x_range, y_range) -> CabinetSpec:
    probe = CabinetSpec()
    x, y = placer.place(probe.footprint_radius, x_range, y_range, clearance=0.10)
    yaw = math.atan2(-y, -x) + float(rng.uniform(-0.15, 0.15))  # front faces the robot's start
    return CabinetSpec(pose=(x, y, yaw))


# ----------------------------------------------------------------- generalisation splits
@dataclass(frozen=True)
class Split:
    """A generalisation split of the office scene, after the RoboMatrix paper's levels. Every
    range of an unseen split is disjoint from what training (`seen`, what `collect` records)
    uses: training cans have shade 0 (only the ±0.04 colour jitter) and size scale 1; containers
    stand in LAYOUTS["seen"]; there are no distractors."""

    name: str
    shades: tuple[tuple[float, float], ...] = ()  # can colour brightness change ranges (-0.3 = 30 % darker)
    scales: tuple[tuple[float, float], ...] = ()  # can radius/height scale ranges
    layout: str = "seen"  # key of LAYOUTS
    distractors: tuple[int, int] = (0, 0)  # inclusive range of distractor objects (cubes, balls; at most 4)

    def can_look(self, rng: np.random.Generator) -> tuple[float, float] | None:
        """(shade, size scale) for this episode's cans, or None (the training look)."""
        if not self.shades and not self.scales:
            return None
        pick = lambda ranges: float(rng.uniform(*ranges[int(rng.integers(len(ranges)))])) if ranges else None  # noqa: E731
        shade, scale = pick(self.shades), pick(self.scales)
        return (shade or 0.0, scale or 1.0)


# Container and cabinet regions, (x range, y range) with y signed by the episode's side: the
# cabinet is on `side`, the box on the other side. "unseen" moves the box to the far middle and
# the bin near, on the box's old side: neither region overlaps its "seen" one.
LAYOUTS = {
    "seen": {"cabinet": ((1.05, 1.25), (0.55, 0.8)), "box": ((0.75, 1.0), (-0.6, -0.35)),
             "bin": ((0.95, 1.25), (0.0, 0.25))},
    "unseen": {"cabinet": ((1.05, 1.25), (0.55, 0.8)), "box": ((1.02, 1.25), (-0.3, 0.05)),
               "bin": ((0.62, 0.9), (-0.75, -0.5))},
}
DISTRACTOR_COLORS = ("orange", "purple")  # colours no task names (perception has no class for them)
SPLITS = {
    "seen": Split("seen"),
    "unseen_objects": Split("unseen_objects", shades=((-0.35, -0.15),), scales=((0.85, 0.93), (1.07, 1.15))),
    "unseen_layouts": Split("unseen_layouts", layout="unseen", distractors=(2, 4)),
    "unseen_both": Split("unseen_both", shades=((-0.35, -0.15),), scales=((0.85, 0.93), (1.07, 1.15)),
                         layout="unseen", distractors=(2, 4)),
}
"""Split name → Split: seen objects and layouts; unseen object colours (darker shades) and sizes;
unseen layouts and distractors; both."""


def split(name: str) -> Split:
    """The split `name`; an unknown name raises UsageError with a suggestion."""
    if name not in SPLITS:
        from robomatrix.errors import unknown_name

        raise unknown_name("generalisation split", name, SPLITS)
    return SPLITS[name]


def split_scene(name: str, seed: int, split_name: str = "seen") -> SceneSpec:
    """Scene `name` randomised by `seed` under split `split_name` (only `office` has unseen splits;
    `seen` is exactly `build_scene(name, seed)`)."""
    from robomatrix.sim.scene import build_scene

    sp = split(split_name)
    if sp.name == "seen":
        return build_scene(name, seed)
    if name != "office":
        raise UsageError(f"split '{split_name}' is defined for the office scene only, not '{name}'.")
    return office(seed, split_name)


def _distractor(rng, placer, kind: int, x_range, y_range) -> ObjectSpec:
    """Distractor `kind` (0..3: colour x shape, so names stay unique)."""
    color, shape = DISTRACTOR_COLORS[kind // 2], ("cube", "ball")[kind % 2]
    size = (float(rng.uniform(0.04, 0.06)),) if shape == "cube" else (float(rng.uniform(0.025, 0.035)),)
    radius = size[0] * (math.sqrt(0.5) if shape == "cube" else 1.0)
    x, y = placer.place(radius, x_range, y_range)
    return ObjectSpec(name=f"{color} {shape}", shape=shape, color_name=color,
                      rgba=_jitter_rgba(rng, PALETTE[color]), size=size,
                      pose=(x, y, float(rng.uniform(-math.pi, math.pi))), mass=float(rng.uniform(0.05, 0.15)))


def office(seed: int, split_name: str = "seen") -> SceneSpec:
    """Four coloured cans (red, green, blue, yellow) on the floor ahead, an open cardboard box,
    a round trash bin and a low drawer cabinet with a vertical handle bar. The robot can drive
    straight to every can, to the box and to the drawer handle without pushing another can.
    `split_name` (see SPLITS) changes the cans' look, the layout and adds distractors."""
    sp = split(split_name)
    rng = np.random.default_rng(seed)
    extra = np.random.default_rng([seed, 7]) if sp.name != "seen" else None  # split draws: `seen` is unchanged
    # Layouts that cannot fit are redrawn (deterministically, same rng). With the driving lanes
    # reserved, a draw fits about 1 time in 35 (200 seeds: median 28 draws, max 203), so the
    # bound is generous: every seed must build, a seed that does not is a bug.
    for _ in range(2000):
        try:
            return _office_layout(rng, seed, sp, extra)
        except _NoRoom:
            continue
    raise _NoRoom("office")


def _office_layout(rng: np.random.Generator, seed: int, sp: Split | None = None, extra=None) -> SceneSpec:
    sp = sp or SPLITS["seen"]
    regions = LAYOUTS[sp.layout]
    placer = _Placer(rng, "office")
    side = 1.0 if rng.random() < 0.5 else -1.0
    signed = lambda key: (regions[key][0], tuple(sorted(side * v for v in regions[key][1])))  # noqa: E731
    cabinet = _cabinet(rng, placer, *signed("cabinet"))
    box = _box(rng, placer, *signed("box"))
    trash = _bin(rng, placer, *signed("bin"))
    hx, hy, _ = cabinet.handle_position()
    placer.lanes.append(placer._lane(hx, hy, 0.05, 0.19))  # the gripper at handle height passes over nothing
    placer.lanes.append(placer._lane(*box.pose[:2], 0.20, 0.19))  # chassis; the carried can rides above cans
    look = sp.can_look(extra) if extra is not None else None
    cans = [_can(rng, placer, c, (0.42, 0.95), (-0.5, 0.5), look) for c in ("red", "green", "blue", "yellow")]
    if sp.distractors[1] > 0:
        n = int(extra.integers(sp.distractors[0], sp.distractors[1] + 1))
        kinds = extra.choice(2 * len(DISTRACTOR_COLORS), n, replace=False)
        cans += [_distractor(extra, placer, int(k), (0.35, 1.3), (-0.8, 0.8)) for k in kinds]
    floor = _floor(rng)
    return SceneSpec(name="office", objects=cans, containers=[box, trash], cabinet=cabinet,
                     lighting=_lighting(rng), floor_rgba=floor[0], floor_rgba2=floor[1], seed=seed)


def pick(seed: int) -> SceneSpec:
    """One red can ahead of the robot and an open box to one side."""
    rng = np.random.default_rng(seed)
    placer = _Placer(rng, "pick")
    can = _can(rng, placer, "red", (0.5, 0.7), (-0.15, 0.15))
    side = 1.0 if rng.random() < 0.5 else -1.0
    box = _box(rng, placer, (0.7, 0.95), sorted((side * 0.3, side * 0.45)))
    floor = _floor(rng)
    return SceneSpec(name="pick", objects=[can], containers=[box], lighting=_lighting(rng),
                     floor_rgba=floor[0], floor_rgba2=floor[1], seed=seed)


def drawer(seed: int) -> SceneSpec:
    """Only the drawer cabinet, straight ahead and facing the robot."""
    rng = np.random.default_rng(seed)
    x = float(rng.uniform(0.85, 1.0))
    y = float(rng.uniform(-0.1, 0.1))
    return SceneSpec(name="drawer", cabinet=CabinetSpec(pose=(x, y, math.pi + float(rng.uniform(-0.1, 0.1)))),
                     lighting=_lighting(rng), seed=seed)


def empty(seed: int) -> SceneSpec:
    """The robot alone on the floor."""
    rng = np.random.default_rng(seed)
    floor = _floor(rng)
    return SceneSpec(name="empty", lighting=_lighting(rng), floor_rgba=floor[0], floor_rgba2=floor[1], seed=seed)


PARK_X_M = -4.5  # office_perturb's extra items wait here, behind the robot's start, beyond the camera's range
POST_NAME = "post"
POST_SIZE = (0.08, 0.40)  # radius, height, m: taller than the camera (0.40 m), wider than a can
POST_COLOR = "purple"  # no colour class of the detector: the camera sees the post only as what it hides


def decoy_name(color: str) -> str:
    """The look-alike of the `color` can in office_perturb."""
    return f"decoy {color} can"


def office_perturb(seed: int) -> SceneSpec:
    """`office` plus what the perturbation suite (robomatrix.sim.perturb) brings in mid-task: a tall
    post and a look-alike can per colour (same colour, shape and size), parked far behind the
    robot, out of reach and view, until used."""
    base = office(seed)
    parked = [ObjectSpec(POST_NAME, "can", POST_COLOR, PALETTE[POST_COLOR], POST_SIZE, (PARK_X_M, 0.0, 0.0),
                         mass=40.0)]
    for source, park_y in zip(base.objects, (-1.5, -0.9, 0.9, 1.5)):
        parked.append(ObjectSpec(decoy_name(source.color_name), "can", source.color_name, source.rgba, CAN_SIZE,
                                 (PARK_X_M, park_y, 0.0), mass=source.mass))
    return SceneSpec(name="office_perturb", objects=[*base.objects, *parked], containers=base.containers,
                     cabinet=base.cabinet, lighting=base.lighting, floor_rgba=base.floor_rgba,
                     floor_rgba2=base.floor_rgba2, seed=seed)


for _name, _builder in (("office", office), ("pick", pick), ("drawer", drawer), ("empty", empty),
                        ("office_perturb", office_perturb)):
    register_scene(_name, _builder)
