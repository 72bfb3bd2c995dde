"""The perturbation suite: core tasks with a disturbance injected by the simulator mid-task.

A `Perturber` watches the executive's announcements (plan, status, skill feedback, finished
steps) and, at the moment its kind calls for, changes the world the way a person or an accident
would:

- object_moved     after move_to(X) reaches a can, the can is moved aside (to a clear spot in
                   the camera's view, or anywhere clear around the robot when none is);
- knocked_out      while position_over carries a can, the can is knocked out of the gripper onto
                   the floor in front of the robot (beside or behind it when the front is taken);
- drawer_shut      after open_drawer, the drawer is pushed shut while the robot does the next step;
- container_moved  while position_over carries a can to a box or bin, the container is moved
                   0.25-0.4 m;
- hidden           while move_to drives to a can, a tall post appears between the robot and the
                   can and stays for `HIDE_FOR_S` (someone standing in the way), then leaves;
- distractor       while move_to drives to a can, a look-alike can (same colour and shape) is put
                   down 0.12-0.3 m from it (not on the robot's side, which would block the way).

INJECTION IS ORACLE: the perturber reads and writes object poses, container poses and the drawer
slide straight in the simulator (`MujocoRobot.oracle_*`). Nothing that acts (planner, executive,
monitor, skills, perception) reads them; they see the disturbance only through the camera.

Scenes: the suite's tasks run in `office_perturb` (robomatrix.sim.scenes), the office scene plus
the post and one look-alike can per colour, parked far behind the robot (out of the camera's
reach) until used.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from robomatrix.errors import unknown_name
from robomatrix.hardware.kinematics import world_to_base_point
from robomatrix.sim.scene import SceneSpec
from robomatrix.sim.scenes import CAN_SIZE, PARK_X_M, POST_NAME, POST_SIZE, decoy_name
from robomatrix.sim.tasks import CORE, TaskSpec, register_suite

PERTURBATIONS: dict[str, str] = {
    "object_moved": "the can is moved aside right after move_to reached it",
    "knocked_out": "the carried can is knocked out of the gripper during position_over",
    "drawer_shut": "the drawer is pushed shut right after open_drawer",
    "container_moved": "the box or bin is moved while a can is carried to it",
    "hidden": "a post stands between the robot and the can for a while during move_to",
    "distractor": "a look-alike can is put down beside the can during move_to",
}

SUITE_TASKS: dict[str, tuple[str, ...]] = {  # perturbation → core tasks it is injected into
    "object_moved": ("grasp_blue", "green_in_bin"),
    "knocked_out": ("red_in_box", "yellow_in_bin"),
    "drawer_shut": ("open_drawer_put_blue", "red_in_drawer_close"),
    "container_moved": ("red_in_box", "green_in_bin"),
    "hidden": ("move_to_green", "blue_in_box"),
    "distractor": ("grasp_blue", "red_in_box"),
}

HIDE_FOR_S = 6.0  # how long the post stands in the way, simulated s
CAN_COLORS = ("red", "green", "blue", "yellow")


def _segment_distance(p, a, b) -> float:
    """Distance from point p to the segment a-b (2-D)."""
    p, a, b = (np.asarray(v, float) for v in (p, a, b))
    ab = b - a
    t = float(np.clip(np.dot(p - a, ab) / max(float(np.dot(ab, ab)), 1e-12), 0.0, 1.0))
    return float(np.linalg.norm(p - (a + t * ab)))


def _parked(pose) -> bool:
    """Is the object waiting in office_perturb's parking area (out of play)?"""
    return abs(float(pose[0]) - PARK_X_M) < 1.0


@dataclass
class _Call:
    skill: str
    args: dict


class Perturber:
    """Injects one disturbance of `kind` into the episode running on `robot` (a MuJoCo robot,
    through ORACLE hooks). Pass `hooks()` to the session; `fired` says what was done, in words
    ("" until it fires); `scored_scene(scene)` is the scene to score against (containers where
    the disturbance left them)."""

    def __init__(self, kind: str, robot, seed: int = 0):
        if kind not in PERTURBATIONS:
            raise unknown_name("perturbation", kind, PERTURBATIONS)
        self.kind, self.robot = kind, robot
        self.rng = np.random.default_rng(10_000 + seed)
        self.fired = ""
        self._plan = None
        self._call: _Call | None = None
        self._call_start_s = 0.0
        self._armed = False  # drawer_shut: open_drawer is done, strike during the next step
        self._post_until_s: float | None = None
        self._moved_containers: dict[str, tuple[float, float, float]] = {}
        self._decoy: tuple[str, str] | None = None  # (can, its look-alike) once placed

    # ------------------------------------------------------------------ the executive's announcements
    def hooks(self):
        from robomatrix.run import Hooks

        return Hooks(on_plan=self.on_plan, on_status=self.on_status, on_feedback=self.on_feedback, on_step=self.on_step)

    def on_plan(self, plan) -> None:
        self._plan = plan

    def on_status(self, status) -> None:
        self._release_post()
        if status.state == "executing" and self._plan is not None and 0 <= status.step_index < len(self._plan.steps):
            step = self._plan.steps[status.step_index]
            self._call = _Call(step.skill, dict(step.args))
            self._call_start_s = self.robot.sim_time_s

    def on_step(self, record) -> None:
        if self.fired:
            return
        if self.kind == "object_moved" and record.skill == "move_to" and record.success:
            self._move_object(record.args["object"])
        elif self.kind == "drawer_shut" and record.skill == "open_drawer" and record.success:
            self._armed = True

    def on_feedback(self, feedback) -> None:
        self._release_post()
        call = self._call
        if self.fired or call is None or call.skill != feedback.skill:
            return
        elapsed = self.robot.sim_time_s - self._call_start_s
        obj = call.args.get("object", "")
        if self.kind == "knocked_out" and call.skill == "position_over" and elapsed >= 1.5:
            self._knock_out(obj)
        elif self.kind == "drawer_shut" and self._armed and call.skill != "open_drawer" and elapsed >= 0.5:
            self.robot.oracle_set_drawer_opening(0.0)  # ORACLE
            self.fired = f"pushed the drawer shut during {call.skill}"
        elif self.kind == "container_moved" and call.skill == "position_over" and elapsed >= 1.0:
            self._move_container(call.args["target"])
        elif self.kind == "hidden" and call.skill == "move_to" and obj.endswith(" can") and elapsed >= 0.3:
            self._hide(obj)
        elif self.kind == "distractor" and call.skill == "move_to" and obj.endswith(" can") and elapsed >= 0.3:
            self._add_decoy(obj)

    # ------------------------------------------------------------------ ORACLE geometry
    def _poses(self) -> dict[str, np.ndarray]:
        return self.robot.oracle_object_poses()  # ORACLE

    def _base(self) -> tuple[float, float, float]:
        return tuple(float(v) for v in self.robot.get_state().base_pose)

    def _to_world(self, bx: float, by: float) -> tuple[float, float]:
        x, y, yaw = self._base()
        return x + bx * math.cos(yaw) - by * math.sin(yaw), y + bx * math.sin(yaw) + by * math.cos(yaw)

    def _clear(self, x: float, y: float, radius: float, ignore=(), robot_clearance_m: float = 0.36,
               object_gap_m: float = 0.06) -> bool:
        """Is a footprint of `radius` at world (x, y) clear of the robot, every object on the floor
        nearby, the containers (where they are now) and the cabinet?"""
        scene = self.robot.scene
        bx, by, _ = self._base()
        if math.hypot(x - bx, y - by) < robot_clearance_m + radius:
            return False
        for name, pose in self._poses().items():
            if name in ignore or _parked(pose):
                continue
            if math.hypot(x - pose[0], y - pose[1]) < radius + 0.033 + object_gap_m:
                return False
        for c in scene.containers:
            if c.name in ignore:
                continue
            cx, cy, _ = self._moved_containers.get(c.name, c.pose)
            if math.hypot(x - cx, y - cy) < radius + c.footprint_radius + 0.05:
                return False
        if scene.cabinet is not None and scene.cabinet.name not in ignore:
            cx, cy, _ = scene.cabinet.pose
            if math.hypot(x - cx, y - cy) < radius + scene.cabinet.footprint_radius + 0.30:
                return False  # also keeps the drawer's swept area free
        return True

    def _path_clear(self, x: float, y: float, ignore=(), half_width_m: float = 0.19, stop_short_m: float = 0.30) -> bool:
        """Can the robot drive straight from where it is to `stop_short_m` before (x, y) (where move_to
        stops for a can) without pushing anything? (The scenes keep the same lanes free.)"""
        scene = self.robot.scene
        bx, by, _ = self._base()
        d = math.hypot(x - bx, y - by)
        f = max(0.0, d - stop_short_m) / d if d > 0 else 0.0
        x, y = bx + (x - bx) * f, by + (y - by) * f
        items = [(p[0], p[1], 0.033) for n, p in self._poses().items()
                 if n not in ignore and not _parked(p)]
        items += [(*self._moved_containers.get(c.name, c.pose)[:2], c.footprint_radius) for c in scene.containers]
        if scene.cabinet is not None:
            items.append((*scene.cabinet.pose[:2], scene.cabinet.footprint_radius))
        return all(_segment_distance((px, py), (bx, by), (x, y)) >= r + half_width_m for px, py, r in items)

    def _spot_in_view(self, radius: float, ahead=(0.4, 0.65), lateral=(0.1, 0.3), avoid_xy=None,
                      min_shift_m: float = 0.0, ignore=()) -> tuple[float, float] | None:
        """A clear floor spot in the camera's view, in base-frame ranges (lateral either side), that
        the robot can drive to straight."""
        for _ in range(300):
            bx = float(self.rng.uniform(*ahead))
            by = float(self.rng.uniform(*lateral)) * (1 if self.rng.random() < 0.5 else -1)
            if abs(math.degrees(math.atan2(by, bx))) > 35:
                continue
            x, y = self._to_world(bx, by)
            if avoid_xy is not None and math.hypot(x - avoid_xy[0], y - avoid_xy[1]) < min_shift_m:
                continue
            if self._clear(x, y, radius, ignore) and self._path_clear(x, y, ignore):
                return x, y
        return None

    # ------------------------------------------------------------------ disturbances (ORACLE)
    def _move_object(self, name: str) -> None:
        if not name.endswith(" can"):
            return
        old = self._poses()[name]
        spot = self._spot_in_view(CAN_SIZE[0], avoid_xy=old[:2], min_shift_m=0.18, ignore=(name,))
        where = "in view"
        if spot is None:  # a crowded corner: anywhere clear around the robot, maybe out of view
            where, spot = "out of view", self._spot_around(name, avoid_xy=old[:2], min_shift_m=0.18)
            if spot is None:
                return
        self.robot.oracle_place_object(name, *spot)  # ORACLE
        self.fired = (f"moved the {name} {math.hypot(spot[0] - old[0], spot[1] - old[1]):.2f} m "
                      f"after move_to reached it ({where})")

    def _spot_around(self, name: str, avoid_xy=None, min_shift_m: float = 0.0) -> tuple[float, float] | None:
        """A clear floor spot for can `name` 0.45-0.8 m from the robot in any direction."""
        for _ in range(300):
            angle, dist = float(self.rng.uniform(-math.pi, math.pi)), float(self.rng.uniform(0.45, 0.8))
            x, y = self._to_world(dist * math.cos(angle), dist * math.sin(angle))
            if avoid_xy is not None and math.hypot(x - avoid_xy[0], y - avoid_xy[1]) < min_shift_m:
                continue
            if self._clear(x, y, CAN_SIZE[0], (name,)):
                return x, y
        return None

    def _knock_out(self, name: str) -> None:
        spot = self._spot_in_view(CAN_SIZE[0], ahead=(0.45, 0.65), lateral=(0.05, 0.25), ignore=(name,))
        if spot is None:  # something in front (the container): it falls beside or behind the robot
            spot = self._spot_around(name)
        if spot is None:
            return
        self.robot.oracle_place_object(name, *spot)  # ORACLE
        bx, by = world_to_base_point(spot, self._base())
        self.fired = f"knocked the {name} out of the gripper onto the floor {bx:.2f} m ahead, {by:+.2f} m aside"

    def _move_container(self, name: str) -> None:
        spec = self.robot.scene.container(name)
        cx, cy, yaw = self._moved_containers.get(name, spec.pose)
        for _ in range(200):
            angle = float(self.rng.uniform(-math.pi, math.pi))
            shift = float(self.rng.uniform(0.25, 0.4))
            x, y = cx + shift * math.cos(angle), cy + shift * math.sin(angle)
            if self._clear(x, y, spec.footprint_radius, ignore=(name,), robot_clearance_m=0.55):
                self.robot.oracle_place_container(name, x, y, yaw)  # ORACLE
                self._moved_containers[name] = (x, y, yaw)
                self.fired = f"moved the {name} {shift:.2f} m while a can was carried to it"
                return

    def _hide(self, name: str) -> None:
        target = self._poses()[name]
        bx, by, _ = self._base()
        d = math.hypot(target[0] - bx, target[1] - by)
        r = POST_SIZE[0]
        near, far = 0.30 + r + 0.03, d - (CAN_SIZE[0] + r + 0.03)
        if far < near:
            return  # too close to stand anything between: wait for a later move_to
        t = min(far, max(near, 0.5 * d)) / d
        x, y = bx + t * (target[0] - bx), by + t * (target[1] - by)
        if not self._clear(x, y, r, ignore=(name, POST_NAME), robot_clearance_m=0.30):
            return
        self.robot.oracle_place_object(POST_NAME, x, y)  # ORACLE
        self._post_until_s = self.robot.sim_time_s + HIDE_FOR_S
        self.fired = f"stood a post between the robot and the {name} for {HIDE_FOR_S:g} s"

    def _release_post(self) -> None:
        if self._post_until_s is not None and self.robot.sim_time_s >= self._post_until_s:
            self.robot.oracle_place_object(POST_NAME, PARK_X_M, 0.0)  # ORACLE: the person walks away
            self._post_until_s = None

    def _add_decoy(self, name: str) -> None:
        color = name.split()[0]
        if color not in CAN_COLORS:
            return
        target = self._poses()[name]
        bx, by, _ = self._base()
        away = math.atan2(target[1] - by, target[0] - bx)  # from the robot through the can
        for _ in range(300):
            # anywhere around the can but on the robot's side (that would block the way to it)
            angle = away + float(self.rng.uniform(-0.75, 0.75)) * math.pi
            gap = float(self.rng.uniform(0.12, 0.3))
            x, y = target[0] + gap * math.cos(angle), target[1] + gap * math.sin(angle)
            if self._clear(x, y, CAN_SIZE[0], ignore=(decoy_name(color),), object_gap_m=0.03):
                self.robot.oracle_place_object(decoy_name(color), x, y)  # ORACLE
                self._decoy = (name, decoy_name(color))
                self.fired = f"put a look-alike {color} can {gap:.2f} m from the {name}"
                return

    # ------------------------------------------------------------------ scoring
    def score(self, task: TaskSpec, scene: SceneSpec, start, end) -> tuple[bool, str]:
        """ORACLE: the task's predicate, with the containers where the disturbance put them. With a
        look-alike, the instruction ("the blue can") fits both identical cans: the task also
        succeeds when it was done with the look-alike (the why says so)."""
        scene = self.scored_scene(scene)
        ok, why = task.score(scene, start, end)
        if ok or self._decoy is None:
            return ok, why
        can, decoy = self._decoy
        swapped = [replace(state, objects={**state.objects, can: state.objects[decoy], decoy: state.objects[can]})
                   for state in (start, end)]
        ok_decoy, why_decoy = task.score(scene, *swapped)
        return (True, f"{why_decoy} (done with the look-alike can)") if ok_decoy else (False, why)

    def scored_scene(self, scene: SceneSpec) -> SceneSpec:
        """`scene` with the containers where the disturbance put them (scoring is ORACLE)."""
        if not self._moved_containers:
            return scene
        containers = [replace(c, pose=self._moved_containers.get(c.name, c.pose)) for c in scene.containers]
        return replace(scene, containers=containers)


def perturb_suite() -> tuple[TaskSpec, ...]:
    """The core tasks of SUITE_TASKS, one task per (task, perturbation), in office_perturb."""
    core = {t.name: t for t in CORE}
    return tuple(replace(core[name], name=f"{name}+{kind}", scene="office_perturb", perturbation=kind)
                 for kind, names in SUITE_TASKS.items() for name in names)


register_suite("perturb", perturb_suite(), replace=True)
