"""`Perception`: detections over time, as an object memory in the odom frame.

Objects are tracked by name (the scenes name each object once: "red can", "box", ...). When a
frame holds several detections of one name (look-alikes: two blue cans), the track takes the one
nearest to where it remembers the object and the others are listed as `lookalikes`, so the object
the robot works with keeps its name and its estimate (the planner sees that one). A detection
updates its object's odom position with confidence-weighted smoothing, or replaces it when it
jumped (the object was moved); objects out of view keep their last position, flagged
`in_view=False`. Every state is a fresh snapshot (callers may keep old ones, e.g. the skill runner's
start state).

Reference points (`TrackedObject.position_*`): cans — axis centre at mid-height; box and bin —
centre of the opening at rim height; drawer — the handle bar's centre.

Held object: a can is held when the gripper is neither shut nor wide open (something keeps the
fingers apart) and the can's axis is between the fingers. While held it moves with the gripper,
also between camera frames (`update_proprio`), and also when the fingers hide it from the camera.

Drawer opening: measured by the detector (drawer front vs cabinet body face); once measured, the
closed-drawer handle position is remembered, so that later the opening also follows from where
the handle is — seen, or pinched in the gripper while the robot pulls it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from robomatrix.errors import UsageError
from robomatrix.hardware.kinematics import planar_pose_matrix
from robomatrix.hardware.robot import Observation
from robomatrix.messages import Detection
from robomatrix.perception import nominal
from robomatrix.perception.detector import ColorShapeDetector, Detector, PerceivedObject
from robomatrix.planners.base import DRAWER_OPEN_M

CONTAINER_KINDS = ("box", "bin", "drawer")
# A can counts as inside a box/bin only with its centre at most this far above the rim: one
# standing inside has its centre well below the rim, one resting on the rim or on another can
# has it a half can height (0.06 m) or more above. The margin absorbs the estimate's noise.
INSIDE_ABOVE_RIM_M = 0.03


@dataclass
class TrackedObject:
    """One remembered object (see module docs for the reference point of each kind)."""

    name: str  # "red can", "box", "bin", "drawer"
    kind: str  # "can" | "box" | "bin" | "drawer" | "object"
    position_odom: np.ndarray  # (3,) reference point in odom, m
    position_base: np.ndarray  # (3,) the same point in base_link at the state's stamp, m
    yaw_odom: float | None  # box: long side; drawer: direction it pulls out; else None
    size: np.ndarray | None  # (3,) estimated extent, m
    in_view: bool  # detected in the latest camera frame
    last_seen_s: float  # stamp of the latest frame it was detected in
    confidence: float  # of the latest detection, 0..1
    lying: bool = False  # a can seen fallen on its side in its latest detection


@dataclass
class PerceptionState:
    """What perception knows at `stamp_s`."""

    stamp_s: float
    base_pose: np.ndarray  # (3,) x, y, yaw in odom at stamp
    objects: dict[str, TrackedObject] = field(default_factory=dict)  # everything seen so far
    detections: list[Detection] = field(default_factory=list)  # latest camera frame only
    held_object: str | None = None  # name of the object between the fingers, else None
    drawer_opening_m: float | None = None  # latest estimate, None until one was made
    drawer_open_threshold_m: float = 0.12  # copied from the config: "open" above this
    # name → base_link positions of other objects with that name in the latest frame (look-alikes:
    # same colour and shape); the track `objects[name]` stays on the one it followed before
    lookalikes: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def get(self, name: str) -> TrackedObject | None:
        return self.objects.get(name)

    def to_scene_objects(self):
        """The planner's view (`robomatrix.planners.base.SceneObjects`): positions in base_link,
        in-view flags, the held object, whether the drawer is open, and which can sits in which
        container (its axis inside the container's footprint)."""
        from robomatrix.planners.base import SceneObject, SceneObjects, drawer_state

        objs = tuple(SceneObject(o.name, tuple(float(v) for v in o.position_base), o.in_view, o.lying)
                     for o in sorted(self.objects.values(), key=lambda o: (not o.in_view, o.name)))
        # partly open (between closed and open) is neither: "close it" must still close it
        drawer_open = drawer_state(self.drawer_opening_m, self.drawer_open_threshold_m)
        return SceneObjects(objects=objs, known=frozenset(self.objects), held=self.held_object,
                            drawer_open=drawer_open, drawer_opening_m=self.drawer_opening_m,
                            contained=self.containment())

    def containment(self) -> dict[str, str]:
        """object name → container it is inside (box/bin footprint, or the drawer tray)."""
        out = {}
        for o in self.objects.values():
            if o.kind in CONTAINER_KINDS or o.name == self.held_object:
                continue
            for c in self.objects.values():
                if c.kind in ("box", "bin") and inside_container(o.position_odom, c):
                    out[o.name] = c.name
                elif c.kind == "drawer" and inside_drawer(o.position_odom, c, self.drawer_opening_m or 0.0):
                    out[o.name] = c.name
        return out


def inside_container(point_odom, container: TrackedObject, margin_m: float = 0.0,
                     above_rim_m: float = INSIDE_ABOVE_RIM_M) -> bool:
    """Is the point's (x, y) inside a box/bin's opening (shrunk by `margin_m`), and the point at most
    `above_rim_m` above the rim (a can's centre: on top of another can is not inside)?"""
    p, c = np.asarray(point_odom, float), container.position_odom
    size = container.size if container.size is not None else np.array([0.2, 0.2, 0.1])
    if p[2] > c[2] + above_rim_m:
        return False
    d = p[:2] - c[:2]
    if container.kind == "bin" or container.yaw_odom is None:
        return float(np.linalg.norm(d)) <= min(size[0], size[1]) / 2 - margin_m
    cy, sy = math.cos(container.yaw_odom), math.sin(container.yaw_odom)
    lx, ly = cy * d[0] + sy * d[1], -sy * d[0] + cy * d[1]
    return abs(lx) <= size[0] / 2 - margin_m and abs(ly) <= size[1] / 2 - margin_m


def _drawer_frame(point_odom, drawer: TrackedObject) -> tuple[float, float]:
    """(how far behind the drawer front's outer face, how far to the side of the handle) a point is."""
    p, h = np.asarray(point_odom, float), drawer.position_odom
    n = np.array([math.cos(drawer.yaw_odom), math.sin(drawer.yaw_odom)])
    back = float((h[:2] - p[:2]) @ n) - nominal.DRAWER_HANDLE_STANDOFF_M
    return back, abs(float((p[:2] - h[:2]) @ np.array([-n[1], n[0]])))


def inside_drawer(point_odom, drawer: TrackedObject, opening_m: float) -> bool:
    """Is the point inside the drawer's tray (behind the handle, between its sides, at tray height)?"""
    if drawer.yaw_odom is None:
        return False
    back, side = _drawer_frame(point_odom, drawer)
    z = float(np.asarray(point_odom, float)[2])
    return 0.0 < back < nominal.DRAWER_TRAY_DEPTH_M and side < nominal.DRAWER_TRAY_HALF_WIDTH_M and 0.05 < z < 0.24


def over_drawer_opening(point_odom, drawer: TrackedObject, opening_m: float,
                        radius_m: float = nominal.CAN_RADIUS_M) -> bool:
    """Would a can with its axis at this (x, y) drop into the open drawer: its whole footprint over
    the exposed interior, between the front's inner face and the cabinet's face (the rest of the tray
    lies under the cabinet's top), and between the sides?"""
    if drawer.yaw_odom is None:
        return False
    back, side = _drawer_frame(point_odom, drawer)
    behind_front = back - nominal.DRAWER_FRONT_THICKNESS_M
    exposed = opening_m - nominal.CABINET_FACE_SHORT_OF_OPENING_M
    return radius_m <= behind_front <= exposed - radius_m and side <= nominal.DRAWER_TRAY_HALF_WIDTH_M - radius_m


@dataclass
class PerceptionConfig:
    """Tracking and state-estimation settings."""

    smoothing: float = 0.6  # weight of a fully confident new detection in a static object's estimate
    jump_reset_m: float = 0.12  # a detection farther than this from memory replaces it (object moved)
    held_opening_range: tuple[float, float] = (0.15, 0.9)  # gripper opening while fingers rest on a can
    held_xy_tolerance_m: float = 0.045  # can axis at most this far (horizontal) from the gripper centre
    held_z_tolerance_m: float = 0.08  # can centre at most this far above/below the gripper centre
    # a can already held stays held unless seen farther than this in z (hysteresis): a lifted can
    # whose bottom the fingers hide is placed by its visible part, up to ~7 cm high for a tall can
    held_keep_z_tolerance_m: float = 0.12
    handle_opening_range: tuple[float, float] = (0.05, 0.5)  # gripper opening while pinching the handle
    drawer_open_threshold_m: float = DRAWER_OPEN_M  # the drawer counts as open beyond this (task suite's threshold)
    # an unclear view of the drawer (no opening measured, or confidence below drawer_clear_confidence)
    # that disagrees this much with a track a clear view confirmed is ignored: the cabinet does not
    # turn, and the handle moves only along the pull line. Seen from the side at the image border,
    # the front's facing came out 90-140° off and the handle 0.36 m away, and the drawer, open, closed
    drawer_clear_confidence: float = 0.7
    drawer_yaw_tolerance_deg: float = 35.0
    drawer_line_tolerance_m: float = 0.08

    def __post_init__(self):
        if not 0.0 < self.smoothing <= 1.0:
            raise UsageError(f"PerceptionConfig.smoothing must be in (0, 1], got {self.smoothing!r}.")
        for name in ("jump_reset_m", "held_xy_tolerance_m", "held_z_tolerance_m", "held_keep_z_tolerance_m",
                     "drawer_open_threshold_m", "drawer_clear_confidence", "drawer_yaw_tolerance_deg",
                     "drawer_line_tolerance_m"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise UsageError(f"PerceptionConfig.{name} must be a positive number, got {value!r}.")
        for name in ("held_opening_range", "handle_opening_range"):
            lo, hi = getattr(self, name)
            if not 0.0 <= lo < hi <= 1.0:
                raise UsageError(f"PerceptionConfig.{name} must be (low, high) within 0..1, got {(lo, hi)!r}.")


def _to_odom(base_pose, point_base) -> np.ndarray:
    t = planar_pose_matrix(*base_pose)
    return t[:3, :3] @ np.asarray(point_base, float) + t[:3, 3]


def _to_base(base_pose, point_odom) -> np.ndarray:
    t = planar_pose_matrix(*base_pose)
    return t[:3, :3].T @ (np.asarray(point_odom, float) - t[:3, 3])


def _blend_angle(old: float | None, new: float | None, w: float, period: float) -> float | None:
    if new is None or old is None:
        return new if new is not None else old
    d = math.remainder(new - old, period)
    return math.remainder(old + w * d, 2 * math.pi)


class Perception:
    """Detector + object memory + held-object and drawer state (see module docs)."""

    def __init__(self, detector: Detector | None = None, config: PerceptionConfig | None = None):
        self.detector = detector or ColorShapeDetector()
        self.config = config or PerceptionConfig()
        self.reset()

    def reset(self) -> None:
        """Forget everything (a new scene)."""
        self._objects: dict[str, TrackedObject] = {}
        self._held: str | None = None
        self._held_offset = np.zeros(3)  # held object's centre relative to the gripper centre, base_link
        self._drawer_opening: float | None = None
        self._handle_closed_odom: np.ndarray | None = None
        self._drawer_confirmed = False  # a clear view of the drawer has been had (`_implausible_drawer`)
        self._lookalikes: dict[str, list[np.ndarray]] = {}  # name → odom positions of its look-alikes in view
        self._twins: set[str] = set()  # names seen twice in one frame since the reset
        self.state = PerceptionState(stamp_s=0.0, base_pose=np.zeros(3),
                                     drawer_open_threshold_m=self.config.drawer_open_threshold_m)

    # ------------------------------------------------------------------ updates
    def update(self, obs: Observation) -> PerceptionState:
        """A camera frame: detect, update the memory, then re-derive held object and drawer state."""
        if obs.rgb is None or obs.depth is None:
            raise UsageError("Perception.update needs a camera frame (rgb and depth); use update_proprio "
                             "for state-only observations.")
        perceived = self.detector.perceive(obs)
        base = np.asarray(obs.base_pose, float)
        by_name: dict[str, list[PerceivedObject]] = {}
        for p in perceived:
            if p.position_base is not None:
                by_name.setdefault(p.name, []).append(p)
        best: dict[str, PerceivedObject] = {}
        self._lookalikes = {}
        for name, group in by_name.items():
            if len(group) > 1:
                self._twins.add(name)
            chosen = self._associate(name, group, obs)
            if chosen is not None:
                best[name] = chosen
            others = [_to_odom(base, p.position_base) for p in group if p is not chosen]
            if others:
                self._lookalikes[name] = others
        if "drawer" in best and self._implausible_drawer(best["drawer"], base):
            del best["drawer"]
        for o in self._objects.values():
            o.in_view = False
        for p in best.values():
            self._integrate(p, base, obs.stamp_s)
        self._update_held(obs, best)
        self._update_drawer(obs, best.get("drawer"))
        return self._snapshot(obs, [p.to_detection() for p in perceived])

    def _associate(self, name: str, group: list[PerceivedObject], obs: Observation) -> PerceivedObject | None:
        """The detection that updates the track `name`, of one or more with that name: a new track
        takes the most confident; a known one the detection nearest to where it is remembered, so
        that a look-alike in view does not pull the estimate away from the object the robot works
        with (a lone detection far from memory still moves the track: the object was moved). The
        held object of a name that has look-alikes only takes a detection between the fingers
        (None: the one the fingers hide is the held one, what is seen is its look-alike)."""
        old = self._objects.get(name)
        if old is None:
            return max(group, key=lambda p: p.confidence)
        if name == self._held and name in self._twins:
            lo, hi = self.config.held_opening_range
            if lo < obs.gripper_opening < hi:
                group = [p for p in group if self._between_fingers(obs, p.position_base, keep=True)]
                if not group:
                    return None
        base = np.asarray(obs.base_pose, float)
        return min(group, key=lambda p: float(np.linalg.norm((_to_odom(base, p.position_base) - old.position_odom)[:2])))

    def update_proprio(self, obs: Observation) -> PerceptionState:
        """A state-only observation: no detection; positions re-expressed in the new base frame,
        the held object carried with the gripper (or dropped when the fingers open or shut)."""
        self._update_held(obs, {})
        self._update_drawer(obs, None)
        return self._snapshot(obs, list(self.state.detections))

    # ------------------------------------------------------------------ internals
    def _implausible_drawer(self, p: PerceivedObject, base: np.ndarray) -> bool:
        """Is `p` an unclear view of the drawer that contradicts the track a clear view confirmed (its
        facing turned, or its handle off the line the drawer slides along)?"""
        if p.confidence >= self.config.drawer_clear_confidence and p.extras.get("opening_m") is not None:
            self._drawer_confirmed = True
            return False
        drawer = self._objects.get("drawer")
        if not self._drawer_confirmed or drawer is None or drawer.yaw_odom is None:
            return False
        if p.yaw_base is not None:
            turned = abs(math.remainder(p.yaw_base + base[2] - drawer.yaw_odom, 2 * math.pi))
            if math.degrees(turned) > self.config.drawer_yaw_tolerance_deg:
                return True
        n = np.array([math.cos(drawer.yaw_odom), math.sin(drawer.yaw_odom)])
        off = (_to_odom(base, p.position_base) - drawer.position_odom)[:2]
        return abs(float(off @ np.array([-n[1], n[0]]))) > self.config.drawer_line_tolerance_m

    def _integrate(self, p: PerceivedObject, base: np.ndarray, stamp_s: float) -> None:
        pos = _to_odom(base, p.position_base)
        yaw = None if p.yaw_base is None else math.remainder(p.yaw_base + base[2], 2 * math.pi)
        old = self._objects.get(p.name)
        if old is None or np.linalg.norm(old.position_odom - pos) > self.config.jump_reset_m or p.name == self._held:
            position, new_yaw = pos, yaw
        else:
            w = self.config.smoothing * max(0.2, min(1.0, p.confidence))
            if old.confidence < 0.5 <= p.confidence:
                w = max(w, 0.8)  # a clear view beats a remembered partial one
            position = (1 - w) * old.position_odom + w * pos
            new_yaw = _blend_angle(old.yaw_odom, yaw, w, math.pi if p.kind == "box" else 2 * math.pi)
        self._objects[p.name] = TrackedObject(
            name=p.name, kind=p.kind, position_odom=position, position_base=_to_base(base, position),
            yaw_odom=new_yaw, size=None if p.size is None else np.asarray(p.size, float).copy(), in_view=True,
            last_seen_s=stamp_s, confidence=float(p.confidence), lying=bool(p.extras.get("lying", False)))

    def _gripper_base(self, obs: Observation) -> np.ndarray:
        return np.array([float(obs.ee_position[0]), 0.0, float(obs.ee_position[1])])

    def _between_fingers(self, obs: Observation, point_base, keep: bool = False) -> bool:
        g, p = self._gripper_base(obs), np.asarray(point_base, float)
        z_tol = self.config.held_keep_z_tolerance_m if keep else self.config.held_z_tolerance_m
        return (math.hypot(p[0] - g[0], p[1] - g[1]) <= self.config.held_xy_tolerance_m
                and abs(p[2] - g[2]) <= z_tol)

    def _update_held(self, obs: Observation, seen: dict[str, PerceivedObject]) -> None:
        lo, hi = self.config.held_opening_range
        fingers_apart = lo < obs.gripper_opening < hi
        base = np.asarray(obs.base_pose, float)
        if not fingers_apart:
            self._held = None
        elif self._held is None or (self._held in seen and not self._between_fingers(
                obs, seen[self._held].position_base, keep=True)):
            self._held = None
            for name, o in self._objects.items():
                if o.kind in CONTAINER_KINDS:
                    continue
                p = seen[name].position_base if name in seen else _to_base(base, o.position_odom)
                if self._between_fingers(obs, p):
                    self._held = name
                    self._held_offset = np.asarray(p, float) - self._gripper_base(obs)
                    self._held_offset[:2] = np.clip(self._held_offset[:2], -0.02, 0.02)
                    break
        if self._held is not None and self._held in self._objects:
            o = self._objects[self._held]
            if self._held in seen:  # refresh the grip offset from the view
                self._held_offset = np.asarray(seen[self._held].position_base, float) - self._gripper_base(obs)
            o.position_odom = _to_odom(base, self._gripper_base(obs) + self._held_offset)

    def _update_drawer(self, obs: Observation, seen: PerceivedObject | None) -> None:
        drawer = self._objects.get("drawer")
        if drawer is None or drawer.yaw_odom is None:
            return
        n = np.array([math.cos(drawer.yaw_odom), math.sin(drawer.yaw_odom), 0.0])
        base = np.asarray(obs.base_pose, float)
        measured = seen.extras.get("opening_m") if seen is not None else None
        if measured is not None:
            self._handle_closed_odom = drawer.position_odom - measured * n
            self._drawer_opening = float(measured)
            return
        if self._handle_closed_odom is None:
            return
        handle = None
        if seen is not None:
            handle = drawer.position_odom
        else:
            lo, hi = self.config.handle_opening_range
            grip = _to_odom(base, self._gripper_base(obs))
            if lo < obs.gripper_opening < hi and np.linalg.norm((grip - drawer.position_odom)[:2]) < 0.06 \
                    and abs(grip[2] - drawer.position_odom[2]) < 0.06:
                handle = grip  # pinched: the handle moves with the gripper
                drawer.position_odom = np.array([grip[0], grip[1], drawer.position_odom[2]])
        if handle is not None:
            self._drawer_opening = float(np.clip((handle - self._handle_closed_odom) @ n, 0.0, 0.3))

    def _snapshot(self, obs: Observation, detections: list[Detection]) -> PerceptionState:
        base = np.asarray(obs.base_pose, float).copy()
        objects = {}
        for name, o in self._objects.items():
            o.position_base = _to_base(base, o.position_odom)
            objects[name] = replace(o, position_odom=o.position_odom.copy(), position_base=o.position_base.copy(),
                                    size=None if o.size is None else o.size.copy())
        self.state = PerceptionState(stamp_s=float(obs.stamp_s), base_pose=base, objects=objects,
                                     detections=detections, held_object=self._held,
                                     drawer_opening_m=self._drawer_opening,
                                     drawer_open_threshold_m=self.config.drawer_open_threshold_m,
                                     lookalikes={n: [_to_base(base, p) for p in ps] for n, ps in self._lookalikes.items()})
        return self.state
