"""The task suite: instructions at the RoboMatrix paper's three levels, scored from simulator state.

A `TaskSpec` is an instruction, a level, a scene (randomised by seed) and a success predicate.
Levels follow the paper: easy tasks take at most 3 meta-skills, medium 4–5, hard more than 5
(counted on the plan the rule planner makes when everything is in view; a `search` the robot
needs because something is out of view does not change a task's level).

SCORING IS ORACLE: predicates read `OracleState` — ground-truth object positions, drawer
opening and robot pose straight from the simulator — to decide whether a task succeeded. Nothing
that acts (planner, skills, perception) ever sees it.

    from robomatrix.sim.tasks import suite, task
    for t in suite("core"):
        print(t.name, t.level, t.instruction)
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from robomatrix.errors import UsageError, unknown_name
from robomatrix.hardware.kinematics import world_to_base_point
from robomatrix.sim.oracle_expert import oracle_in_container
from robomatrix.sim.scene import SceneSpec, build_scene

LEVELS = ("easy", "medium", "hard")
LEVEL_SKILLS = {"easy": (1, 3), "medium": (4, 5), "hard": (6, 10_000)}
"""Inclusive range of meta-skills per level (paper: easy ≤ 3, medium 4–5, hard > 5)."""

NEAR_MAX_M = 0.60  # move_to succeeded: object centre at most this far ahead of the base origin
NEAR_LATERAL_M = 0.12  # ... and at most this far to the side (the robot faces it)
GRIPPER_REACH_M = 0.05  # grasped: the object's axis within this of the gripper centre (x, y)
LIFTED_M = 0.04  # lifted: the object's centre at least this far above its resting height
DRAWER_OPEN_M = 0.12  # the drawer counts as open beyond this (open_drawer pulls 0.20 m)
DRAWER_CLOSED_M = 0.02  # ... and as closed below this
PUSHED_M = 0.05  # pushed: moved at least this far in the asked direction


@dataclass
class OracleState:
    """ORACLE: ground truth at one instant, for scoring only (never for acting)."""

    objects: dict[str, np.ndarray]  # movable object name → (3,) world position of its centre, m
    drawer_opening_m: float  # how far the drawer is pulled out, m (0 when closed or absent)
    base_pose: np.ndarray  # (3,) robot base x, y, yaw in the world
    ee_position: np.ndarray  # (2,) gripper centre (x forward, z up) in base_link, m
    gripper_opening: float  # 0 closed … 1 open, measured

    @classmethod
    def capture(cls, robot) -> OracleState:
        """Read a `SimulatedRobot`'s ground truth (ORACLE)."""
        poses = robot.oracle_object_poses()
        state = robot.get_state()
        return cls(objects={n: np.asarray(p[:3], float).copy() for n, p in poses.items()},
                   drawer_opening_m=float(robot.oracle_drawer_opening()),
                   base_pose=np.asarray(state.base_pose, float).copy(),
                   ee_position=np.asarray(state.ee_position, float).copy(),
                   gripper_opening=float(state.gripper_opening))

    def in_base(self, name: str) -> np.ndarray:
        """(x, y) of object `name` in the robot's base frame."""
        return np.asarray(world_to_base_point(self.objects[name][:2], tuple(self.base_pose)), float)

    def gripper_world(self) -> np.ndarray:
        """(3,) world position of the gripper centre."""
        x, y, yaw = self.base_pose
        ex, ez = self.ee_position
        return np.array([x + ex * math.cos(yaw), y + ex * math.sin(yaw), ez])


Check = Callable[[SceneSpec, OracleState, OracleState], "tuple[bool, str]"]
"""ORACLE predicate: (scene, state at the start, state at the end) → (success, why in words)."""


# ----------------------------------------------------------------- predicates (ORACLE)
def _pos(end: OracleState, name: str) -> str:
    x, y, z = end.objects[name]
    return f"({x:.2f}, {y:.2f}, {z:.2f})"


def robot_near(name: str) -> Check:
    def check(scene, start, end):
        x, y = end.in_base(name) if name in end.objects else world_to_base_point(
            _static_xy(scene, name), tuple(end.base_pose))
        ok = 0.0 < x <= NEAR_MAX_M and abs(y) <= NEAR_LATERAL_M
        return ok, f"the {name} is {x:.2f} m ahead and {y:+.2f} m to the side of the robot"
    return check


def grasped(name: str, lifted: bool = False) -> Check:
    def check(scene, start, end):
        gap = float(np.hypot(*(end.objects[name][:2] - end.gripper_world()[:2])))
        rise = float(end.objects[name][2] - start.objects[name][2])
        held = gap <= GRIPPER_REACH_M and end.gripper_opening < 0.95
        if not held:
            return False, f"the {name} is {gap:.3f} m from the gripper centre (gripper opening {end.gripper_opening:.2f})"
        if lifted and rise < LIFTED_M:
            return False, f"the {name} is held but only {rise:.3f} m above where it stood"
        return True, f"the {name} is in the gripper" + (f", {rise:.2f} m up" if lifted else "")
    return check


def in_container(name: str, container: str) -> Check:
    def check(scene, start, end):
        spec = scene.container(container)
        ok = oracle_in_container(end.objects[name], spec)
        return ok, f"the {name} is {'' if ok else 'not '}in the {container} (at {_pos(end, name)})"
    return check


def drawer_interior_contains(cabinet, opening_m: float, position_world) -> bool:
    """ORACLE geometry: is a world point inside the drawer's tray (any part, pulled out or not),
    above its floor and below the drawer's top edge?"""
    d, w, _ = cabinet.body_size
    lo, hi = cabinet.drawer_height
    t = 0.015  # shell thickness (sim/mujoco_model.py)
    x, y = world_to_base_point(position_world[:2], tuple(cabinet.pose))
    front = d / 2 - t + opening_m
    back = front - (d - 2 * t - 0.01)
    half_w = w / 2 - t - 0.003
    return bool(back < x < front and abs(y) < half_w and lo < position_world[2] < hi + 0.02)


def in_drawer(name: str) -> Check:
    def check(scene, start, end):
        ok = drawer_interior_contains(scene.cabinet, end.drawer_opening_m, end.objects[name])
        return ok, f"the {name} is {'' if ok else 'not '}in the drawer (at {_pos(end, name)})"
    return check


def drawer_open(scene, start, end):
    ok = end.drawer_opening_m >= DRAWER_OPEN_M
    return ok, f"the drawer is open {end.drawer_opening_m:.3f} m"


def drawer_closed(scene, start, end):
    ok = end.drawer_opening_m <= DRAWER_CLOSED_M
    return ok, f"the drawer is open {end.drawer_opening_m:.3f} m"


def pushed(name: str, direction: str) -> Check:
    axis = {"forward": (1.0, 0.0), "backward": (-1.0, 0.0), "left": (0.0, 1.0), "right": (0.0, -1.0)}[direction]

    def check(scene, start, end):
        # in the robot's frame at the end (the robot faces the object while pushing)
        moved = end.in_base(name) - np.asarray(world_to_base_point(start.objects[name][:2], tuple(end.base_pose)))
        along = float(np.dot(moved, axis))
        upright = end.objects[name][2] > start.objects[name][2] - 0.02
        ok = along >= PUSHED_M and upright
        return ok, f"the {name} moved {along:.3f} m {direction}" + ("" if upright else " and fell over")
    return check


def all_of(*checks: Check) -> Check:
    def check(scene, start, end):
        results = [c(scene, start, end) for c in checks]
        failed = [why for ok, why in results if not ok]
        return (not failed), "; ".join(failed) if failed else "; ".join(why for _, why in results)
    return check


def _static_xy(scene: SceneSpec, name: str):
    if scene.cabinet is not None and name == scene.cabinet.name:
        return scene.cabinet.handle_position()[:2]
    return scene.container(name).pose[:2]


# ----------------------------------------------------------------- tasks
@dataclass(frozen=True)
class TaskSpec:
    """One task of a suite."""

    name: str  # short id, e.g. "red_in_box"
    instruction: str  # what a person says
    level: str  # one of LEVELS
    success: Check  # ORACLE predicate (scoring only)
    scene: str = "office"  # registered scene name, randomised by the episode's seed
    time_limit_s: float = 240.0  # simulated seconds the whole task may take
    perturbation: str = ""  # a disturbance injected mid-task (robomatrix.sim.perturb.PERTURBATIONS), "" for none

    def __post_init__(self):
        if self.level not in LEVELS:
            raise unknown_name(f"level of task '{self.name}'", self.level, LEVELS)
        if not self.instruction.strip():
            raise UsageError(f"task '{self.name}' needs an instruction")
        if not self.time_limit_s > 0:
            raise UsageError(f"task '{self.name}': time_limit_s must be > 0, got {self.time_limit_s!r}")

    def build_scene(self, seed: int) -> SceneSpec:
        return build_scene(self.scene, seed)

    def score(self, scene: SceneSpec, start: OracleState, end: OracleState) -> tuple[bool, str]:
        """ORACLE: did the task succeed, and why (in words)?"""
        ok, why = self.success(scene, start, end)
        return bool(ok), why


CORE: tuple[TaskSpec, ...] = (
    # easy: at most 3 meta-skills
    TaskSpec("move_to_green", "move to the green can", "easy", robot_near("green can")),
    TaskSpec("open_drawer", "open the drawer", "easy", drawer_open),
    TaskSpec("grasp_blue", "grasp the blue can", "easy", grasped("blue can")),
    TaskSpec("pick_up_yellow", "pick up the yellow can", "easy", grasped("yellow can", lifted=True)),
    TaskSpec("push_red_left", "push the red can to the left", "easy", pushed("red can", "left")),
    # medium: 4–5 meta-skills
    TaskSpec("red_in_box", "put the red can in the box", "medium", in_container("red can", "box")),
    TaskSpec("green_in_bin", "put the green can in the bin", "medium", in_container("green can", "bin")),
    TaskSpec("blue_in_box", "drop the blue can into the box", "medium", in_container("blue can", "box")),
    TaskSpec("yellow_in_bin", "throw the yellow can away", "medium", in_container("yellow can", "bin")),
    # hard: more than 5 meta-skills
    TaskSpec("red_in_drawer_close", "put the red can in the drawer and close it", "hard",
             all_of(in_drawer("red can"), drawer_closed)),
    TaskSpec("open_drawer_put_blue", "open the drawer and put the blue can in it", "hard",
             all_of(in_drawer("blue can"), drawer_open)),
    TaskSpec("red_box_blue_bin", "put the red can in the box and the blue can in the bin", "hard",
             all_of(in_container("red can", "box"), in_container("blue can", "bin"))),
    TaskSpec("green_yellow_in_box", "put the green and yellow cans in the box", "hard",
             all_of(in_container("green can", "box"), in_container("yellow can", "box"))),
    TaskSpec("all_cans_in_bin", "put all the cans in the bin", "hard",
             all_of(*(in_container(f"{c} can", "bin") for c in ("red", "green", "blue", "yellow"))),
             time_limit_s=480.0),
)

SUITES: dict[str, tuple[TaskSpec, ...]] = {"core": CORE}


def register_suite(name: str, tasks: tuple[TaskSpec, ...] | list[TaskSpec], *, replace: bool = False) -> None:
    """Make a suite available to `suite(name)` and `robomatrix bench tasks --suite NAME`."""
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise ValueError(f"suite {name!r} repeats a task name: {names}")
    if name in SUITES and not replace:
        raise ValueError(f"suite {name!r} is already registered (pass replace=True to override)")
    SUITES[name] = tuple(tasks)


def _load_builtin_suites() -> None:
    # Imported here, not at module top: perturb builds its suite from CORE (import cycle).
    import robomatrix.sim.perturb  # noqa: F401  (registers "perturb")


def suite_names() -> list[str]:
    _load_builtin_suites()
    return sorted(SUITES)


def suite(name: str) -> tuple[TaskSpec, ...]:
    """The tasks of suite `name`; an unknown name raises UsageError with a suggestion."""
    if name not in SUITES:
        _load_builtin_suites()
    if name not in SUITES:
        raise unknown_name("task suite", name, SUITES)
    return SUITES[name]


def task(name: str, suite_name: str = "core") -> TaskSpec:
    """One task of a suite by its name (e.g. "red_in_box")."""
    tasks = {t.name: t for t in suite(suite_name)}
    if name not in tasks:
        raise unknown_name(f"task in suite '{suite_name}'", name, tasks)
    return tasks[name]
