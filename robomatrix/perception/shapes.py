"""Shape estimation from visible-surface points (base_link, metres): pure functions on arrays.

A camera sees only the near side of a thing; these turn that partial surface into the centre the
rest of the stack uses (cans: axis at mid-height; containers: centre of the opening at rim height;
drawer: the handle bar's centre), using the nominal sizes of the scene's object kinds.
"""
from __future__ import annotations

import math

import cv2
import numpy as np


def horizontal_direction(from_xy, to_xy) -> np.ndarray:
    """Unit 2-D vector from `from_xy` to `to_xy` ((1, 0) if they coincide)."""
    d = np.asarray(to_xy, float)[:2] - np.asarray(from_xy, float)[:2]
    n = float(np.linalg.norm(d))
    return d / n if n > 1e-9 else np.array([1.0, 0.0])


def fit_circle_fixed_radius(xy: np.ndarray, radius: float, initial, iterations: int = 10) -> np.ndarray:
    """Centre (2,) of a circle of known `radius` through the points `xy` (N, 2), least squares
    (Gauss-Newton from `initial`, which picks the side of the arc the centre is on)."""
    c = np.asarray(initial, float).copy()
    for _ in range(iterations):
        d = xy - c
        dist = np.maximum(np.linalg.norm(d, axis=1), 1e-9)
        residual = dist - radius
        jac = -d / dist[:, None]
        step, *_ = np.linalg.lstsq(jac, -residual, rcond=None)
        c += step
        if float(np.linalg.norm(step)) < 1e-5:
            break
    return c


def robust_subset(points: np.ndarray, max_xy_from_median_m: float) -> np.ndarray:
    """Points within `max_xy_from_median_m` (horizontal) of their median: drops stray pixels."""
    med = np.median(points[:, :2], axis=0)
    keep = np.linalg.norm(points[:, :2] - med, axis=1) <= max_xy_from_median_m
    return points[keep] if keep.sum() >= 3 else points


def cylinder_axis_xy(points: np.ndarray, camera_xy, radius: float) -> np.ndarray:
    """Axis (x, y) of an upright cylinder from points on its visible side.

    Starts from the centroid pushed back by radius * pi / 4 along the horizontal viewing ray (the
    mean offset of a half-cylinder's surface seen from far), then fits a circle of the known radius;
    a fit that wanders more than a radius from that start (too few or degenerate points) is
    not trusted."""
    xy = points[:, :2]
    centroid = xy.mean(axis=0)
    start = centroid + radius * math.pi / 4 * horizontal_direction(camera_xy, centroid)
    if len(xy) < 6:
        return start
    fit = fit_circle_fixed_radius(xy, radius, start)
    return fit if np.linalg.norm(fit - start) <= radius and np.all(np.isfinite(fit)) else start


def top_disk_axis_xy(points: np.ndarray, camera_xy, radius: float) -> np.ndarray:
    """Axis (x, y) of an upright cylinder seen only on its flat top, its sides hidden (a can close in
    front of the gripper, which covers the near part of the top as well).

    The top's far edge is the axis plus a radius along the horizontal viewing ray whatever hides the
    near part, and the hidden part is about symmetric across that ray. `cylinder_axis_xy` would take
    these points for the near side and push them back another radius * pi / 4 (4 cm too far for a
    can 0.21 m ahead, measured)."""
    xy = points[:, :2]
    cam = np.asarray(camera_xy, float)[:2]
    u = horizontal_direction(cam, xy.mean(axis=0))
    v = np.array([-u[1], u[0]])
    rel = xy - cam
    far = float(np.percentile(rel @ u, 98))
    return cam + (far - radius) * u + float(np.median(rel @ v)) * v


def min_area_rect(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(centre (2,), size (2,) long side first, yaw of the long side in (-pi/2, pi/2])."""
    (cx, cy), (w, h), angle = cv2.minAreaRect(xy.astype(np.float32))
    yaw = math.radians(angle)
    if h > w:
        w, h, yaw = h, w, yaw + math.pi / 2
    yaw = (yaw + math.pi / 2) % math.pi - math.pi / 2
    return np.array([cx, cy]), np.array([w, h]), yaw


def box_centre_xy(points: np.ndarray, camera_xy, outer_size,
                  hidden_direction=None) -> tuple[np.ndarray, float, np.ndarray]:
    """Centre, yaw (long side, in (-pi/2, pi/2]) and measured size of a rectangular open box from
    points on its walls. Where the visible extent falls short of the nominal `outer_size`, the
    centre is moved by half the shortfall towards the hidden part: `hidden_direction` (2-D, where
    the image border cut it off) when given, else away from the camera (the far side is hidden)."""
    centre, size, yaw = min_area_rect(points[:, :2])
    nominal = np.sort(np.asarray(outer_size, float))[::-1]
    towards = horizontal_direction(camera_xy, centre)
    if hidden_direction is not None and np.linalg.norm(hidden_direction) > 0.5:
        towards = np.asarray(hidden_direction, float)
    axes = np.array([[math.cos(yaw), math.sin(yaw)], [-math.sin(yaw), math.cos(yaw)]])
    for axis, seen, full in zip(axes, size, nominal):
        shortfall = full - seen
        if shortfall > 0.02 and abs(float(axis @ towards)) > 0.2:
            centre = centre + axis * math.copysign(shortfall / 2, float(axis @ towards))
    return centre, yaw, size


def drawer_front_frame(front_xy: np.ndarray, camera_xy) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(centre (2,), along (2,), normal (2,), seen width m) of the drawer front face from its
    points: the principal direction is along the face, the normal points towards the camera (out
    of the cabinet: the direction the drawer pulls out)."""
    centre = front_xy.mean(axis=0)
    cov = np.cov((front_xy - centre).T) if len(front_xy) > 2 else np.eye(2)
    eigval, eigvec = np.linalg.eigh(cov)
    along = eigvec[:, int(np.argmax(eigval))]
    normal = np.array([-along[1], along[0]])
    if float(normal @ (np.asarray(camera_xy, float)[:2] - centre)) < 0:
        normal = -normal
    proj = (front_xy - centre) @ along
    lo, hi = np.percentile(proj, [1, 99])
    centre = centre + along * (lo + hi) / 2
    return centre, along, normal, float(hi - lo)
