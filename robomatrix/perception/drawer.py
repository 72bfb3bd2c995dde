"""The drawer cabinet from RGB-D points: handle bar centre, pull direction and opening.

Seen parts (colour classes): the dark vertical handle bar, the drawer's bluish front panel and
the cabinet body (light, unsaturated). The drawer front's plane gives the pull-out direction (its
normal towards the camera); the opening is how far that plane stands out of the body's front face,
measured on the body's plinth and top block (the only body parts level with the front face whatever
the opening).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from robomatrix.perception import shapes


@dataclass
class DrawerModel:
    """Nominal cabinet geometry (matches robomatrix.sim.scene.CabinetSpec defaults)."""

    handle_radius_m: float = 0.012  # vertical bar radius
    handle_length_m: float = 0.09  # vertical bar length
    handle_centre_z_m: float = 0.13  # bar centre height above the floor
    handle_standoff_m: float = 0.045  # bar axis in front of the drawer face
    body_size_m: tuple[float, float, float] = (0.36, 0.44, 0.30)  # depth, width, height
    body_face_z_bands_m: tuple[tuple[float, float], ...] = ((0.02, 0.05), (0.215, 0.29))  # plinth, top block
    travel_m: float = 0.25  # how far the drawer pulls out
    front_width_m: float = 0.40  # width of the drawer front panel


@dataclass
class DrawerEstimate:
    handle_base: np.ndarray  # (3,) handle bar centre, base_link
    yaw_base: float | None  # pull-out direction in base_link (None when the front is not seen)
    opening_m: float | None  # None when the body's front face is not seen
    size: np.ndarray  # (3,) cabinet body extent (nominal)
    confidence: float
    pixels: np.ndarray  # (H, W) bool, pixels that support it


def _handle_candidate(pts: np.ndarray, model: DrawerModel) -> bool:
    z_lo, z_hi = np.percentile(pts[:, 2], [5, 95])
    spread = np.ptp(pts[:, :2], axis=0).max() if len(pts) > 1 else 0.0
    centre_z = (z_lo + z_hi) / 2
    return (spread <= 4 * model.handle_radius_m + 0.03 and z_hi - z_lo >= 0.02
            and abs(centre_z - model.handle_centre_z_m) <= model.handle_length_m)


def estimate_drawer(points: np.ndarray, front_mask: np.ndarray | None, handle_masks: list[np.ndarray],
                    cabinet_mask: np.ndarray, camera_xy, model: DrawerModel, min_pixels: int,
                    hidden_direction=None, robot_mask: np.ndarray | None = None) -> DrawerEstimate | None:
    """The drawer from per-pixel base_link `points` (H, W, 3) and the masks of its colour classes;
    None when neither a handle nor a drawer front is seen. `hidden_direction` (2-D, base_link):
    where the image border cuts the drawer front off, if it does; `robot_mask`: pixels next to the
    robot (a handle touching them may be partly hidden)."""
    frame = None
    if front_mask is not None and front_mask.sum() >= 3 * min_pixels:
        front_pts = points[front_mask]
        if np.ptp(front_pts[:, 2]) >= 0.03:  # an upright panel, not a stray patch
            centre, along, normal, width = shapes.drawer_front_frame(front_pts[:, :2], camera_xy)
            shortfall = model.front_width_m - width
            if shortfall > 0.03 and hidden_direction is not None and abs(float(along @ hidden_direction)) > 0.2:
                centre = centre + along * math.copysign(shortfall / 2, float(along @ hidden_direction))
            frame = (centre, along, normal)
    handle, handle_mask = None, None
    for mask in handle_masks:
        pts = points[mask]
        if len(pts) < max(3, min_pixels // 2) or not _handle_candidate(pts, model):
            continue
        xy = np.median(pts[:, :2], axis=0)
        if frame is not None:
            centre, along, normal = frame
            out = float((xy - centre) @ normal)
            if not (0.0 <= out <= model.handle_standoff_m + 0.06 and abs(float((xy - centre) @ along)) < 0.15):
                continue
        xy = xy + model.handle_radius_m * shapes.horizontal_direction(camera_xy, xy)
        z_lo, z_hi = np.percentile(pts[:, 2], [2, 98])
        rows = np.nonzero(mask.any(axis=1))[0]
        cut = rows[0] == 0 or rows[-1] == mask.shape[0] - 1 or (robot_mask is not None and (mask & robot_mask).any())
        whole = z_hi - z_lo >= 0.8 * model.handle_length_m and not cut
        z = (z_lo + z_hi) / 2 if whole else model.handle_centre_z_m
        handle, handle_mask = np.array([xy[0], xy[1], z]), mask
        break
    if frame is None and handle is None:
        return None
    pixels = np.zeros(points.shape[:2], bool)
    yaw = opening = None
    confidence = 0.6
    if frame is not None:
        centre, along, normal = frame
        pixels |= front_mask
        yaw = math.atan2(normal[1], normal[0])
        if handle is None:
            xy = centre + model.handle_standoff_m * normal
            handle = np.array([xy[0], xy[1], model.handle_centre_z_m])
            confidence = 0.5
        else:
            confidence = 0.95
        opening = _opening(points, cabinet_mask, centre, along, normal, model, min_pixels)
    if handle_mask is not None:
        pixels |= handle_mask
    return DrawerEstimate(handle, yaw, opening, np.array(model.body_size_m), confidence, pixels)


def _opening(points, cabinet_mask, centre, along, normal, model: DrawerModel, min_pixels: int) -> float | None:
    z = points[..., 2]
    band = np.zeros(z.shape, bool)
    for lo, hi in model.body_face_z_bands_m:
        band |= (z >= lo) & (z <= hi)
    body = points[cabinet_mask & band]
    if len(body) < min_pixels:
        return None
    rel = body[:, :2] - centre
    out, side = rel @ normal, rel @ along
    near = (np.abs(side) <= model.body_size_m[1] / 2 + 0.03) & (out >= -model.body_size_m[0] - model.travel_m) \
        & (out <= 0.05)
    if near.sum() < min_pixels:
        return None
    face = float(np.percentile(out[near], 95))
    return float(np.clip(-face, 0.0, model.travel_m + 0.02))
