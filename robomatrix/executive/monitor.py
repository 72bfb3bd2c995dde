"""The executive's continuous monitor: watches perception while a skill runs, and stops the skill
when it can no longer succeed.

The executive calls `Monitor.begin(plan, index)` when a step starts and `Monitor.check()` on every
control tick while it runs (through the executor's `cancel()`, which the skill runner and the
skill server's action client poll every tick). A `Finding` stops the skill; its text says what
the step expected and what perception sees, and the executive recovers from it (retry,
backtrack, replan; `robomatrix.executive.core`).

What it watches, from camera perception only (never the simulator):
- slipped: the object a carrying step (lift, position_over) needs in the gripper is not held;
- moved: the object grasp acts on is seen far from where it was when the step began;
- hidden: the object move_to or grasp drives to is not seen for a while although it should be in
  the camera's view (something stands in front of it, or it is gone);
- drawer_closed: a later step puts something in the drawer that an earlier step opened, and
  perception sees the drawer closed again;
- ambiguous: the estimate of the object move_to or grasp acts on keeps jumping between two places
  (two look-alike objects that perception takes for one): the skill chases both and finishes
  neither, so the monitor stops it with both places in words. Perception keeps a track on the
  look-alike it followed (`Perception._associate`), so this is a last line of defence: it fires
  only when that association fails again and again (the two alternately hidden).
Every finding must persist for a short time (`MonitorConfig.*_confirm_s`, on perception's clock)
so that one noisy frame does not stop a skill.

Perception reaches the monitor as a `WorldView` (object positions in the odom frame): from the
tracker's `PerceptionState` in one process (`WorldView.from_perception`), or from the
`/robomatrix/scene` message plus odometry in the executive node (`WorldView.from_scene`).
No middleware here.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from robomatrix.errors import UsageError
from robomatrix.executive.core import CARRYING_SKILLS, Finding, StepMonitor
from robomatrix.messages import Plan, SkillCall
from robomatrix.planners.base import DRAWER_OPEN_M

REACHING_SKILLS = ("grasp",)  # the object must stay where the step found it
APPROACHED_SKILLS = ("move_to", "grasp", "push")  # the object must stay visible when it should be


@dataclass
class SeenObject:
    """One remembered object, as the monitor needs it."""

    position_odom: np.ndarray  # (3,) reference point in odom, m
    in_view: bool  # seen in the latest camera frame
    last_seen_s: float  # perception stamp of the latest frame it was seen in


@dataclass
class WorldView:
    """What perception knows at `stamp_s`, in the odom frame."""

    stamp_s: float  # perception's clock, s
    base_pose: np.ndarray  # (3,) x, y, yaw in odom
    objects: dict[str, SeenObject] = field(default_factory=dict)
    held: str | None = None  # the object between the fingers
    drawer_open: bool | None = None  # None: not known

    @classmethod
    def from_perception(cls, state) -> WorldView:
        """From the tracker's `robomatrix.perception.PerceptionState`."""
        objects = {name: SeenObject(np.asarray(o.position_odom, float), bool(o.in_view), float(o.last_seen_s))
                   for name, o in state.objects.items()}
        opening = state.drawer_opening_m
        return cls(float(state.stamp_s), np.asarray(state.base_pose, float), objects, state.held_object,
                   None if opening is None else bool(opening >= state.drawer_open_threshold_m))

    @classmethod
    def from_scene(cls, scene, base_pose, stamp_s: float, previous: WorldView | None = None) -> WorldView:
        """From the planner's `SceneObjects` (positions in base_link) and the robot's odometry pose at
        the scene's time; `previous` carries each object's last-seen time forward."""
        x, y, yaw = (float(v) for v in base_pose)
        c, s = math.cos(yaw), math.sin(yaw)
        objects = {}
        for o in scene.objects:
            if o.position is None:
                continue
            px, py, pz = (float(v) for v in o.position)
            seen = stamp_s if o.in_view else (previous.objects[o.name].last_seen_s
                                              if previous is not None and o.name in previous.objects else -math.inf)
            objects[o.name] = SeenObject(np.array([x + c * px - s * py, y + s * px + c * py, pz]), o.in_view, seen)
        # the monitor's "open": room for a can (a partly open drawer is not, for a step that puts one in)
        opening = scene.drawer_opening_m
        drawer_open = scene.drawer_open if opening is None else bool(opening >= DRAWER_OPEN_M)
        return cls(float(stamp_s), np.array([x, y, yaw]), objects, scene.held, drawer_open)

    def in_base(self, point_odom) -> np.ndarray:
        """(x, y) of an odom point in the robot's base frame."""
        x, y, yaw = self.base_pose
        dx, dy = float(point_odom[0]) - x, float(point_odom[1]) - y
        c, s = math.cos(yaw), math.sin(yaw)
        return np.array([c * dx + s * dy, -s * dx + c * dy])

    def where(self, name: str) -> str:
        """`the red can 0.42 m ahead, 0.10 m to the left (in view)`, for failure descriptions."""
        o = self.objects.get(name)
        if o is None:
            return f"the {name} has never been seen"
        bx, by = self.in_base(o.position_odom)
        side = f"{abs(by):.2f} m to the {'left' if by >= 0 else 'right'}"
        seen = "in view" if o.in_view else f"not seen for {max(0.0, self.stamp_s - o.last_seen_s):.1f} s"
        return f"the {name} {bx:.2f} m ahead, {side} ({seen})"


@dataclass
class MonitorConfig:
    """When the monitor stops a skill."""

    slip_confirm_s: float = 0.4  # the carried object out of the gripper this long: slipped
    moved_m: float = 0.15  # the grasped-for object this far (horizontal) from where the step found it: moved
    moved_confirm_s: float = 0.2  # ... for this long
    hidden_after_s: float = 1.5  # an object that should be in view, unseen this long: hidden
    view_half_angle_deg: float = 28.0  # "should be in view": within this bearing of the camera axis ...
    view_range_m: tuple[float, float] = (0.5, 1.4)  # ... and this distance ahead (the camera sees ~0.25-1.5 m)
    drawer_confirm_s: float = 0.4  # the drawer seen closed this long while a later step needs it open
    ambiguous_jumps: int = 4  # the watched object's estimate jumping back and forth this often ...
    ambiguous_window_s: float = 8.0  # ... within this long: two look-alikes taken for one

    def __post_init__(self):
        for name in ("slip_confirm_s", "moved_m", "moved_confirm_s", "hidden_after_s", "view_half_angle_deg",
                     "drawer_confirm_s", "ambiguous_jumps", "ambiguous_window_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise UsageError(f"MonitorConfig.{name} must be a number >= 0, got {value!r}.")
        lo, hi = self.view_range_m
        if not 0 <= lo < hi:
            raise UsageError(f"MonitorConfig.view_range_m must be (near, far) with 0 <= near < far, got {(lo, hi)!r}.")


class Monitor(StepMonitor):
    """Checks the running step's expectations against perception (module docstring).

    `view` returns perception's latest `WorldView`, or None when there is none yet."""

    def __init__(self, view: Callable[[], WorldView | None], config: MonitorConfig | None = None):
        self.view = view
        self.config = config or MonitorConfig()
        self._call: SkillCall | None = None
        self._carry: str | None = None  # must stay in the gripper
        self._anchor: tuple[str, np.ndarray] | None = None  # must stay where it was found
        self._watch: str | None = None  # must stay visible when it should be
        self._drawer: bool = False  # a later step needs the drawer open
        self._since: dict[str, float] = {}  # finding kind → perception stamp it was first seen at
        self._last_estimate: np.ndarray | None = None  # the watched object's latest odom estimate
        self._jumps: list[tuple[float, np.ndarray, np.ndarray]] = []  # (stamp, from, to) of estimate jumps

    def begin(self, plan: Plan, index: int) -> None:
        call = plan.steps[index]
        obj = call.args.get("object")
        view = self.view()
        self._call, self._since = call, {}
        self._carry = obj if call.skill in CARRYING_SKILLS else None
        self._anchor = None
        if call.skill in REACHING_SKILLS and view is not None and obj in view.objects:
            self._anchor = (obj, view.objects[obj].position_odom.copy())
        self._watch = obj if call.skill in APPROACHED_SKILLS else None
        self._last_estimate, self._jumps = None, []
        self._drawer = (view is not None and view.drawer_open is True
                        and needs_drawer_open(plan, index))

    def check(self) -> Finding | None:
        if self._call is None:
            return None
        view = self.view()
        if view is None:
            return None
        for kind, test in (("slipped", self._slipped), ("moved", self._moved), ("drawer_closed", self._drawer_closed),
                           ("hidden", self._hidden), ("ambiguous", self._ambiguous)):
            found = test(view)
            if found is None:
                self._since.pop(kind, None)
                continue
            obj, confirm_s, text = found
            first = self._since.setdefault(kind, view.stamp_s)
            if view.stamp_s - first >= confirm_s:
                return Finding(kind, obj, text)
        return None

    # ------------------------------------------------------------------ the checks
    def _doing(self) -> str:
        return self._call.to_text()

    def _slipped(self, view: WorldView):
        obj = self._carry
        if obj is None or view.held == obj:
            return None
        holding = f"the gripper holds the {view.held}" if view.held else "the gripper is empty"
        return obj, self.config.slip_confirm_s, (
            f"expected the {obj} in the gripper during {self._doing()}; perception sees {holding}, and "
            f"{view.where(obj)}")

    def _moved(self, view: WorldView):
        if self._anchor is None:
            return None
        obj, start = self._anchor
        o = view.objects.get(obj)
        if o is None or not o.in_view or view.held == obj:
            return None
        shift = float(np.linalg.norm(o.position_odom[:2] - start[:2]))
        if shift < self.config.moved_m:
            return None
        sx, sy = view.in_base(start)
        return obj, self.config.moved_confirm_s, (
            f"expected the {obj} where {self._doing()} found it ({sx:.2f} m ahead, {sy:+.2f} m to the side); "
            f"perception sees it {shift:.2f} m from there: {view.where(obj)}")

    def _hidden(self, view: WorldView):
        obj = self._watch
        o = view.objects.get(obj) if obj else None
        if o is None or o.in_view or view.held == obj or not self.should_see(view, o.position_odom):
            return None
        if view.stamp_s - o.last_seen_s < self.config.hidden_after_s:
            return None
        return obj, 0.0, (
            f"expected to see the {obj} during {self._doing()}: it should be in the camera's view, but "
            f"{view.where(obj)}; something may stand in front of it, or it is gone")

    def _ambiguous(self, view: WorldView):
        obj = self._watch
        o = view.objects.get(obj) if obj and obj != view.held else None
        if o is None or not o.in_view:
            return None
        now = o.position_odom.copy()
        last, self._last_estimate = self._last_estimate, now
        if last is not None and float(np.linalg.norm(now[:2] - last[:2])) >= self.config.moved_m:
            self._jumps.append((view.stamp_s, last, now))
        self._jumps = [j for j in self._jumps if view.stamp_s - j[0] <= self.config.ambiguous_window_s]
        if len(self._jumps) < self.config.ambiguous_jumps:
            return None
        # back and forth: the jumps return to where they came from (a can that was moved jumps once)
        first, back = self._jumps[0], self._jumps[1]
        if float(np.linalg.norm(back[2][:2] - first[1][:2])) >= self.config.moved_m:
            return None
        places = " and ".join(f"{view.in_base(p)[0]:.2f} m ahead, {view.in_base(p)[1]:+.2f} m aside"
                              for p in (first[1], first[2]))
        return obj, 0.0, (
            f"expected one {obj} during {self._doing()}; perception's estimate of it jumped "
            f"{len(self._jumps)} times in {self.config.ambiguous_window_s:g} s between two places ({places}): "
            f"two look-alike objects, and perception cannot tell which one is meant")

    def _drawer_closed(self, view: WorldView):
        if not self._drawer or view.drawer_open is not False:
            return None
        return "drawer", self.config.drawer_confirm_s, (
            f"expected the drawer to stay open for a later step (it was seen open when {self._doing()} began); "
            f"perception sees it closed")

    def should_see(self, view: WorldView, point_odom) -> bool:
        """Is the point inside the part of the camera's view where objects are reliably detected?"""
        bx, by = view.in_base(point_odom)
        distance = math.hypot(bx, by)
        lo, hi = self.config.view_range_m
        return lo <= distance <= hi and abs(math.degrees(math.atan2(by, bx))) <= self.config.view_half_angle_deg


def needs_drawer_open(plan: Plan, index: int) -> bool:
    """Does a step from `index` on put something in the drawer before any close_drawer?"""
    for step in plan.steps[index:]:
        if step.skill in ("close_drawer", "open_drawer"):
            return False
        if step.skill == "position_over" and str(step.args.get("target", "")).split()[-1:] == ["drawer"]:
            return True
    return False
