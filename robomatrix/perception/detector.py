"""Object detection on the robot camera's RGB-D frames.

`Detector` is the plug-in point: anything that turns an `Observation` (rgb, depth in metres,
intrinsics, camera_pose_base) into `Detection`s can be used by `Perception` — the colour-and-shape
detector here, or an open-vocabulary model (OWLv2, Grounding DINO) when its weights are at hand.

`ColorShapeDetector` works on images only, never on simulator state:
1. every pixel with depth is back-projected into base_link;
2. pixels on the floor (z below `floor_clearance_m`) and on the robot itself (its URDF parts at
   the current arm and gripper state, see `robot_model.RobotGeometry`) are dropped;
3. the rest are labelled by colour (`colors.COLOR_CLASSES`, HSV) and split into connected
   components; fragments of one object (e.g. a can behind an arm rail) are merged in 3-D;
4. each object kind turns its points into a centre with its nominal size (`shapes`): cans are
   upright cylinders, the box a rectangle, the bin a circle, the drawer a handle bar in front of
   a drawer front, whose distance out of the cabinet body is the drawer opening.
Partial views (cut by the image border, hidden behind the gripper) lower the confidence.
"""
from __future__ import annotations

import abc
import math
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from robomatrix.errors import UsageError
from robomatrix.hardware.kinematics import depth_to_points
from robomatrix.hardware.robot import CameraIntrinsics, Observation
from robomatrix.messages import Detection
from robomatrix.perception import colors, nominal, shapes
from robomatrix.perception.drawer import DrawerModel, estimate_drawer
from robomatrix.perception.robot_model import RobotGeometry

KINDS = ("can", "box", "bin", "drawer")


def kind_of(name: str) -> str:
    """Object kind from a scene name: "red can" → "can", "box" → "box", "drawer" → "drawer"."""
    last = name.replace("_", " ").split()[-1] if name.strip() else name
    return last if last in KINDS else "object"


@dataclass
class PerceivedObject:
    """A detection plus what the tracker needs beyond the `Detection` message."""

    name: str  # scene name ("red can", "box", "bin", "drawer")
    kind: str  # "can" | "box" | "bin" | "drawer" | "object"
    box: list[float]  # [x, y, w, h] image pixels
    position_base: np.ndarray | None  # (3,) centre estimate in base_link, m (see Perception docs)
    confidence: float  # 0..1
    size: np.ndarray | None = None  # (3,) extent, m
    yaw_base: float | None = None  # facing / long-side direction in base_link, rad
    partial: bool = False  # cut by the image border or hidden in part by the robot
    pixels: int = 0  # image pixels that support it
    extras: dict = field(default_factory=dict)  # kind-specific (drawer: "opening_m")

    def to_detection(self) -> Detection:
        pos = None if self.position_base is None else [float(v) for v in self.position_base]
        return Detection(name=self.name, box=[float(v) for v in self.box], position_base=pos,
                         confidence=float(np.clip(self.confidence, 0.0, 1.0)))


class Detector(abc.ABC):
    """Observation → detections. Implement `detect`; override `perceive` to give the tracker
    kinds, sizes and orientations too (the default derives the kind from the name)."""

    name: str = ""

    @abc.abstractmethod
    def detect(self, obs: Observation) -> list[Detection]:
        """Objects in `obs` (rgb, depth, intrinsics, camera_pose_base); positions in base_link."""

    def perceive(self, obs: Observation) -> list[PerceivedObject]:
        out = []
        for d in self.detect(obs):
            pos = None if d.position_base is None else np.asarray(d.position_base, float)
            out.append(PerceivedObject(d.name, kind_of(d.name), list(d.box), pos, d.confidence))
        return out


@dataclass
class ColorShapeConfig:
    """Nominal object sizes (the scene's object catalogue) and detector thresholds."""

    can_colors: tuple[str, ...] = ("red", "green", "blue", "yellow")  # colour words of cans ("<c> can")
    can_radius_m: float = nominal.CAN_RADIUS_M  # soda can radius
    can_height_m: float = nominal.CAN_HEIGHT_M  # soda can height
    box_outer_size_m: tuple[float, float] = nominal.BOX_OUTER_M  # open cardboard box outer footprint
    bin_radius_m: float = nominal.BIN_WALL_MID_RADIUS_M  # round bin, radius to the middle of the wall
    floor_clearance_m: float = 0.015  # points lower than this above the floor are floor
    self_mask_margin_m: float = 0.015  # robot parts are inflated by this much when masking
    max_range_m: float = 2.5  # depth beyond this is ignored (too few pixels to trust)
    min_pixels: int = 12  # smallest blob kept at 320x240 (scaled with the image area)
    min_confidence: float = 0.15  # detections below are dropped
    merge_distance_m: float = 0.08  # blobs of one can colour closer than this are one can
    # a can whose points span less height than this is seen on its top only (its sides hidden)
    top_only_span_m: float = 0.012
    max_process_width: int = 320  # wider images are subsampled to about this width first (0: never)
    drawer: DrawerModel = field(default_factory=DrawerModel)  # cabinet/drawer geometry

    def __post_init__(self):
        for name in ("can_radius_m", "can_height_m", "bin_radius_m", "floor_clearance_m", "max_range_m",
                     "merge_distance_m", "top_only_span_m"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise UsageError(f"ColorShapeConfig.{name} must be a positive number, got {value!r}.")
        if not (isinstance(self.max_process_width, int) and self.max_process_width >= 0):
            raise UsageError("ColorShapeConfig.max_process_width must be a non-negative integer (0: never "
                             f"subsample), got {self.max_process_width!r}.")
        if not (isinstance(self.min_pixels, int) and self.min_pixels >= 1):
            raise UsageError(f"ColorShapeConfig.min_pixels must be a positive integer, got {self.min_pixels!r}.")
        if not 0.0 <= self.min_confidence < 1.0:
            raise UsageError(f"ColorShapeConfig.min_confidence must be in 0..1, got {self.min_confidence!r}.")
        unknown = [c for c in self.can_colors if c not in colors.CLASS_INDEX]
        if unknown:
            raise UsageError(f"ColorShapeConfig.can_colors has colours without a colour class: {unknown}; "
                             f"known: {', '.join(c.name for c in colors.COLOR_CLASSES)}.")


@dataclass
class _Frame:
    """Per-frame arrays shared by the object estimators."""

    points: np.ndarray  # (H, W, 3) base_link
    labels: np.ndarray  # (H, W) colour class index, 0 where not a candidate
    robot: np.ndarray  # (H, W) bool, pixels on the robot (dilated)
    camera_xy: np.ndarray  # (2,) camera position in base_link
    focal_px: float
    min_pixels: int


class ColorShapeDetector(Detector):
    """Colour segmentation + depth geometry for the built-in scenes' objects (see module docs)."""

    name = "color_shape"

    def __init__(self, config: ColorShapeConfig | None = None, geometry: RobotGeometry | None = None):
        self.config = config or ColorShapeConfig()
        self.geometry = geometry or RobotGeometry()

    def detect(self, obs: Observation) -> list[Detection]:
        return [p.to_detection() for p in self.perceive(obs)]

    # ----------------------------------------------------------------- frame preparation
    def _frame(self, obs: Observation) -> _Frame:
        if obs.rgb is None or obs.depth is None:
            raise UsageError("ColorShapeDetector needs an observation with rgb and depth images "
                             "(get_observation(), not get_state()).")
        cfg = self.config
        depth = np.asarray(obs.depth, np.float32)
        t = np.asarray(obs.camera_pose_base, float)
        cam = depth_to_points(depth, obs.intrinsics)
        points = cam @ t[:3, :3].T.astype(np.float32) + t[:3, 3].astype(np.float32)
        candidate = (depth > 0) & (depth < cfg.max_range_m) & (points[..., 2] > cfg.floor_clearance_m)
        # Only points inside the robot's overall reach can be the robot: test those against its parts.
        ee = np.asarray(obs.ee_position, float)
        near = candidate & (points[..., 0] < ee[0] + 0.08) & (np.abs(points[..., 1]) < 0.3)
        robot = np.zeros(depth.shape, bool)
        if near.any():
            robot[near] = self.geometry.mask_points(points[near], ee, obs.gripper_opening, cfg.self_mask_margin_m)
        labels = colors.classify(np.asarray(obs.rgb, np.uint8))
        labels[~candidate | robot] = 0
        robot_near = cv2.dilate(robot.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        h, w = depth.shape
        min_px = max(3, int(round(cfg.min_pixels * (w * h) / (320 * 240))))
        return _Frame(points, labels, robot_near, t[:2, 3].copy(), float(obs.intrinsics.fy), min_px)

    @staticmethod
    def _components(frame: _Frame, class_name: str, open_kernel: bool = True):
        """[(pixel mask, pixel count)] of one colour class, largest first."""
        mask = (frame.labels == colors.CLASS_INDEX[class_name]).astype(np.uint8)
        if open_kernel and mask.shape[1] >= 240:
            mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        n, lab, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        comps = [(lab == i, int(stats[i, cv2.CC_STAT_AREA])) for i in range(1, n)
                 if stats[i, cv2.CC_STAT_AREA] >= frame.min_pixels]
        return sorted(comps, key=lambda c: -c[1])

    @staticmethod
    def _groups(frame: _Frame, comps, distance_m: float) -> list[np.ndarray]:
        """Pixel masks of every object of one colour: the largest component left plus every other
        whose median point lies within `distance_m` (horizontal) of it, until none is left;
        largest object first. Two look-alike cans farther apart than `distance_m` are two."""
        left = [(m, np.median(frame.points[m][:, :2], axis=0)) for m, _ in comps]
        groups = []
        while left:
            (mask, anchor), rest = left[0], left[1:]
            mask = mask.copy()
            left = []
            for m, centre in rest:
                if np.linalg.norm(centre - anchor) <= distance_m:
                    mask |= m
                else:
                    left.append((m, centre))
            groups.append(mask)
        return groups

    @staticmethod
    def _merge(frame: _Frame, comps, distance_m: float) -> np.ndarray | None:
        """Pixel mask of the largest object of one colour (see `_groups`); None if there is none."""
        groups = ColorShapeDetector._groups(frame, comps, distance_m)
        return groups[0] if groups else None

    @staticmethod
    def _hidden_direction(frame: _Frame, mask: np.ndarray) -> np.ndarray | None:
        """Horizontal unit vector (base_link) towards the image borders the blob touches: where
        the rest of a cut-off object is. None when it touches none (bottom: the robot's side)."""
        ys, xs = np.nonzero(mask)
        h, w = mask.shape
        centre = np.median(frame.points[mask][:, :2], axis=0)
        view = shapes.horizontal_direction(frame.camera_xy, centre)
        left = np.array([-view[1], view[0]])
        d = np.zeros(2)
        d += left if xs.min() <= 0 else 0.0
        d -= left if xs.max() >= w - 1 else 0.0
        d += view if ys.min() <= 0 else 0.0
        n = float(np.linalg.norm(d))
        return d / n if n > 0 else None

    @staticmethod
    def _box_and_partial(frame: _Frame, mask: np.ndarray) -> tuple[list[float], bool]:
        ys, xs = np.nonzero(mask)
        h, w = mask.shape
        x0, x1, y0, y1 = int(xs.min()), int(xs.max()), int(ys.min()), int(ys.max())
        at_border = x0 <= 0 or y0 <= 0 or x1 >= w - 1 or y1 >= h - 1
        by_robot = bool((mask & frame.robot).any())
        return [float(x0), float(y0), float(x1 - x0 + 1), float(y1 - y0 + 1)], at_border or by_robot

    # ----------------------------------------------------------------- objects
    def perceive(self, obs: Observation) -> list[PerceivedObject]:
        stride = 1
        if self.config.max_process_width and obs.rgb is not None:
            stride = max(1, int(round(obs.rgb.shape[1] / self.config.max_process_width)))
        found = self._perceive(_subsample(obs, stride) if stride > 1 else obs)
        for f in found:
            f.box = [v * stride for v in f.box]
        return found

    def _perceive(self, obs: Observation) -> list[PerceivedObject]:
        frame = self._frame(obs)
        found = []
        for color in self.config.can_colors:
            found.extend(self._cans(frame, color))
        for obj in (self._box(frame), self._bin(frame), self._drawer(frame)):
            if obj is not None:
                found.append(obj)
        return [f for f in found if f.confidence >= self.config.min_confidence]

    def _cans(self, frame: _Frame, color: str) -> list[PerceivedObject]:
        """Every can of one colour in view, most pixels first (all named "<color> can": look-alikes
        are told apart by where they are, in the tracker)."""
        out = []
        for mask in self._groups(frame, self._components(frame, color), self.config.merge_distance_m):
            can = self._can(frame, color, mask)
            if can is not None:
                out.append(can)
        return out

    def _can(self, frame: _Frame, color: str, mask: np.ndarray) -> PerceivedObject | None:
        """One can from the pixel mask of one object of its colour; None if it is not can-shaped."""
        cfg = self.config
        raw = frame.points[mask]
        across = _perpendicular(frame.camera_xy, np.median(raw[:, :2], axis=0))
        along = np.array([across[1], -across[0]])
        extent = [np.subtract(*np.percentile(raw[:, :2] @ a, [95, 5])) for a in (across, along)]
        lying = self._lying_can(frame, color, mask, raw)
        if lying is not None:
            return lying
        if max(extent) > 2 * cfg.can_radius_m + 0.04:
            return None  # not can-shaped: too wide or too deep
        pts = shapes.robust_subset(raw, 2 * cfg.can_radius_m + 0.02)
        z_lo, z_hi = np.percentile(pts[:, 2], [3, 97])
        if z_hi > 0.45:
            return None  # floating far above anything the gripper can reach
        box, partial = self._box_and_partial(frame, mask)
        top_cut = box[1] <= 0
        if z_hi - z_lo < cfg.top_only_span_m and not top_cut:  # only the flat top is seen
            axis = shapes.top_disk_axis_xy(pts, frame.camera_xy, cfg.can_radius_m)
        else:
            sides = pts[pts[:, 2] < z_hi - 0.008] if not top_cut else pts
            axis = shapes.cylinder_axis_xy(sides if len(sides) >= 6 else pts, frame.camera_xy, cfg.can_radius_m)
        h = cfg.can_height_m
        if z_lo < 0.035:  # standing on the floor
            z = h / 2
        else:  # lifted (in the gripper): the top is the best-seen part
            z = z_hi - h / 2 if not top_cut else z_lo + h / 2
        dist = float(np.linalg.norm(np.append(axis - frame.camera_xy, 0.40 - z)))
        expected = 2 * cfg.can_radius_m * h * (frame.focal_px / max(dist, 0.1)) ** 2
        conf = min(1.0, int(mask.sum()) / (0.5 * expected)) * (0.75 if partial else 1.0)
        size = np.array([2 * cfg.can_radius_m, 2 * cfg.can_radius_m, min(h, max(z_hi - z_lo, 0.0) + 0.015)])
        return PerceivedObject(f"{color} can", "can", box, np.array([axis[0], axis[1], z]), float(conf),
                               size=size, partial=partial, pixels=int(mask.sum()))

    def _lying_can(self, frame: _Frame, color: str, mask: np.ndarray, raw: np.ndarray) -> PerceivedObject | None:
        """A can fallen on its side: a blob on the floor no higher than a can is wide, whose points
        spread along one horizontal direction as far as a can is high (a standing can's spread at
        most its diameter, whatever part of it is seen). Reported with `extras["lying"]` so that a
        grasp can say why it cannot pick it up; None when the blob is not that."""
        cfg = self.config
        z_lo, z_hi = np.percentile(raw[:, 2], [3, 97])
        if z_lo > 0.03 or z_hi > 2 * cfg.can_radius_m + 0.025:
            return None
        mid = np.median(raw[:, :2], axis=0)
        xy = raw[:, :2] - mid
        _, vecs = np.linalg.eigh(np.cov(xy.T))
        length = float(np.subtract(*np.percentile(xy @ vecs[:, -1], [97, 3])))  # along the principal axis
        if not cfg.can_height_m - 0.03 <= length <= cfg.can_height_m + 0.03:
            return None
        box, partial = self._box_and_partial(frame, mask)
        # only the half facing the camera is seen: its median lies about half a radius short of the axis
        away = mid - np.asarray(frame.camera_xy, float)
        centre = mid + cfg.can_radius_m * 0.5 * away / max(float(np.linalg.norm(away)), 1e-6)
        size = np.array([cfg.can_height_m, 2 * cfg.can_radius_m, 2 * cfg.can_radius_m])
        return PerceivedObject(f"{color} can", "can", box, np.array([centre[0], centre[1], cfg.can_radius_m]),
                               0.75 if partial else 0.9, size=size, partial=partial, pixels=int(mask.sum()),
                               extras={"lying": True})

    def _container(self, frame: _Frame, color: str, kind: str) -> PerceivedObject | None:
        comps = self._components(frame, color)
        mask = self._merge(frame, comps, 0.3)
        if mask is None or mask.sum() < 4 * frame.min_pixels:
            return None
        pts = shapes.robust_subset(frame.points[mask], 0.3)
        rim = float(np.percentile(pts[:, 2], 97))
        box, partial = self._box_and_partial(frame, mask)
        if kind == "box":
            centre, yaw, seen = shapes.box_centre_xy(pts, frame.camera_xy, self.config.box_outer_size_m,
                                                     self._hidden_direction(frame, mask))
            full = np.array(sorted(self.config.box_outer_size_m, reverse=True))
            if seen[0] > full[0] + 0.08 or seen[0] < 0.1 or rim > 0.3:
                return None  # bigger than a box, or too small a piece to place it
            size = np.array([*np.maximum(seen, 0.0), rim])
            coverage = float(np.clip(np.min(seen / full), 0.0, 1.0))
        else:
            r = self.config.bin_radius_m
            centroid = pts[:, :2].mean(axis=0)
            start = centroid + 0.5 * r * shapes.horizontal_direction(frame.camera_xy, centroid)
            centre = shapes.fit_circle_fixed_radius(pts[:, :2], r, start)
            if not np.all(np.isfinite(centre)) or np.linalg.norm(centre - start) > r:
                centre = start
            yaw, size = None, np.array([2 * r, 2 * r, rim])
            spread = np.ptp(pts[:, :2] @ _perpendicular(frame.camera_xy, centre))
            if spread > 2 * r + 0.08 or rim > 0.3:
                return None
            coverage = float(np.clip(spread / (2 * r), 0.0, 1.0))
        conf = (0.5 + 0.5 * coverage) * (0.8 if partial else 1.0)
        return PerceivedObject(kind, kind, box, np.array([centre[0], centre[1], rim]), float(conf), size=size,
                               yaw_base=yaw, partial=partial, pixels=int(mask.sum()))

    def _box(self, frame: _Frame) -> PerceivedObject | None:
        return self._container(frame, "cardboard", "box")

    def _bin(self, frame: _Frame) -> PerceivedObject | None:
        return self._container(frame, "teal", "bin")

    def _drawer(self, frame: _Frame) -> PerceivedObject | None:
        front = self._merge(frame, self._components(frame, "drawer_front"), 0.35)
        handle_comps = self._components(frame, "handle", open_kernel=False)
        est = estimate_drawer(frame.points, front, [m for m, _ in handle_comps],
                              frame.labels == colors.CLASS_INDEX["cabinet"], frame.camera_xy,
                              self.config.drawer, frame.min_pixels,
                              None if front is None else self._hidden_direction(frame, front), frame.robot)
        if est is None:
            return None
        box, partial = self._box_and_partial(frame, est.pixels)
        conf = est.confidence * (0.8 if partial else 1.0)
        return PerceivedObject("drawer", "drawer", box, est.handle_base, float(conf), size=est.size,
                               yaw_base=est.yaw_base, partial=partial, pixels=int(est.pixels.sum()),
                               extras={"opening_m": est.opening_m})


def _perpendicular(camera_xy, target_xy) -> np.ndarray:
    """Unit horizontal vector across the line of sight from the camera to `target_xy`."""
    d = shapes.horizontal_direction(camera_xy, target_xy)
    return np.array([-d[1], d[0]])


def _subsample(obs: Observation, stride: int) -> Observation:
    """Every `stride`-th pixel of both images, with intrinsics to match (pixel u' is u = stride u')."""
    k = obs.intrinsics
    rgb, depth = obs.rgb[::stride, ::stride], obs.depth[::stride, ::stride]
    small = CameraIntrinsics(width=rgb.shape[1], height=rgb.shape[0], fx=k.fx / stride, fy=k.fy / stride,
                             cx=k.cx / stride, cy=k.cy / stride)
    return replace(obs, rgb=np.ascontiguousarray(rgb), depth=np.ascontiguousarray(depth), intrinsics=small)
