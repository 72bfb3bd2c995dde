"""Pure kinematics and camera geometry on numpy arrays (no simulator, no middleware).

Conventions: planar poses are (x m, y m, yaw rad) in the odom/world frame; base velocities are
(vx, vy) m/s in base_link plus wz rad/s; camera points are in the OpenCV optical frame (x right,
y down, z forward) and pixel centres sit at integer (u, v).
"""
from __future__ import annotations

import math

import numpy as np

from robomatrix.hardware.robot import CameraIntrinsics


def base_to_world_velocity(vx: float, vy: float, yaw: float) -> tuple[float, float]:
    """A planar velocity given in base_link, expressed in the world frame (rotate by +yaw)."""
    c, s = math.cos(yaw), math.sin(yaw)
    return c * vx - s * vy, s * vx + c * vy


def world_to_base_velocity(vx: float, vy: float, yaw: float) -> tuple[float, float]:
    """A planar velocity given in the world frame, expressed in base_link (rotate by -yaw)."""
    c, s = math.cos(yaw), math.sin(yaw)
    return c * vx + s * vy, -s * vx + c * vy


def wrap_angle(angle: float) -> float:
    """`angle` wrapped into [-pi, pi)."""
    return (angle + math.pi) % (2.0 * math.pi) - math.pi


def planar_pose_matrix(x: float, y: float, yaw: float, z: float = 0.0) -> np.ndarray:
    """(4, 4) homogeneous transform of a frame at (x, y, z) rotated by yaw about +z."""
    c, s = math.cos(yaw), math.sin(yaw)
    t = np.eye(4)
    t[:2, :2] = [[c, -s], [s, c]]
    t[:3, 3] = [x, y, z]
    return t


def gripper_point_odom(base_pose, ee_position) -> np.ndarray:
    """The gripper centre in the odom frame (x, y, z), from the base pose (x, y, yaw) and the arm's
    x/z in base_link (the arm reaches straight ahead of the base)."""
    x, y, yaw = (float(v) for v in base_pose[:3])
    ex, ez = float(ee_position[0]), float(ee_position[1])
    return np.array([x + math.cos(yaw) * ex, y + math.sin(yaw) * ex, ez])


def world_to_base_point(point_world, base_pose) -> np.ndarray:
    """A world point (x, y[, z]) expressed in base_link, given base_pose (x, y, yaw)."""
    p = np.asarray(point_world, dtype=float)
    dx, dy = p[0] - base_pose[0], p[1] - base_pose[1]
    bx, by = world_to_base_velocity(dx, dy, base_pose[2])
    return np.array([bx, by, *p[2:]])


def base_to_world_point(point_base, base_pose) -> np.ndarray:
    """A base_link point (x, y[, z]) expressed in the world (odom) frame: `world_to_base_point`'s inverse."""
    p = np.asarray(point_base, dtype=float)
    wx, wy = base_to_world_velocity(p[0], p[1], base_pose[2])
    return np.array([base_pose[0] + wx, base_pose[1] + wy, *p[2:]])


def intrinsics_from_fovy(width: int, height: int, fovy_deg: float) -> CameraIntrinsics:
    """Pinhole intrinsics of a camera with vertical field of view `fovy_deg` and square pixels,
    principal point at the image centre (what MuJoCo renders)."""
    fy = 0.5 * height / math.tan(math.radians(fovy_deg) / 2.0)
    return CameraIntrinsics(width=int(width), height=int(height), fx=fy, fy=fy,
                            cx=(width - 1) / 2.0, cy=(height - 1) / 2.0)


def project(points_cam, intrinsics: CameraIntrinsics) -> np.ndarray:
    """(N, 3) points in the optical frame → (N, 2) pixel coordinates (u, v). Points need z > 0."""
    p = np.atleast_2d(np.asarray(points_cam, dtype=float))
    z = p[:, 2]
    return np.stack([intrinsics.fx * p[:, 0] / z + intrinsics.cx, intrinsics.fy * p[:, 1] / z + intrinsics.cy], axis=1)


def deproject(pixels, depth_m, intrinsics: CameraIntrinsics) -> np.ndarray:
    """(N, 2) pixels (u, v) with z-depths (N,) in metres → (N, 3) points in the optical frame."""
    uv = np.atleast_2d(np.asarray(pixels, dtype=float))
    z = np.broadcast_to(np.asarray(depth_m, dtype=float), uv[:, 0].shape)
    x = (uv[:, 0] - intrinsics.cx) * z / intrinsics.fx
    y = (uv[:, 1] - intrinsics.cy) * z / intrinsics.fy
    return np.stack([x, y, z], axis=1)


def depth_to_points(depth: np.ndarray, intrinsics: CameraIntrinsics) -> np.ndarray:
    """(H, W) z-depth image → (H, W, 3) points in the optical frame (zeros where depth is 0)."""
    h, w = depth.shape
    u, v = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    x = (u - intrinsics.cx) * depth / intrinsics.fx
    y = (v - intrinsics.cy) * depth / intrinsics.fy
    return np.stack([x, y, depth], axis=-1)


def transform_points(transform: np.ndarray, points) -> np.ndarray:
    """Apply a (4, 4) transform to (N, 3) points."""
    p = np.atleast_2d(np.asarray(points, dtype=float))
    return p @ transform[:3, :3].T + transform[:3, 3]
