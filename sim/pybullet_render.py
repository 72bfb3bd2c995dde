"""Offscreen RGB-D rendering for PyBullet clients: the eglRenderer plugin where it loads, else TinyRenderer.

The camera is a pinhole with vertical field of view `fovy_deg` looking along the optical frame's
+z (y down), as in the MuJoCo backend, so the same `intrinsics_from_fovy` holds. PyBullet's depth
buffer is OpenGL's (0 at the near plane, 1 at the far plane, non-linear); it is converted to z-depth
in metres, with nothing-hit pixels (the far plane) set to 0 ("no return").

The eglRenderer plugin and PyBullet itself print banners on the C level; `quiet_stdout` sends them
to stderr so that `--json` output stays one object on stdout.
"""
from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import sys

import numpy as np

_LIBC = ctypes.CDLL(None)


@contextlib.contextmanager
def quiet_stdout():
    """File descriptor 1 → 2 for the duration (catches C-level printf, not only Python's print)."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # no real stdout (captured): nothing to protect
        yield
        return
    try:
        os.dup2(2, 1)
        yield
    finally:
        _LIBC.fflush(None)  # C stdio's buffer still holds the banner: out to stderr with it
        os.dup2(saved, 1)
        os.close(saved)


with quiet_stdout():
    import pybullet as pb

RENDERERS = ("auto", "egl", "tiny")


def depth_buffer_to_metres(buffer: np.ndarray, znear: float, zfar: float) -> np.ndarray:
    """OpenGL depth buffer (0 near … 1 far) → z-depth in metres; far-plane pixels become 0."""
    b = np.asarray(buffer, np.float64)
    metres = (zfar * znear / (zfar - (zfar - znear) * b)).astype(np.float32)
    metres[(b >= 1.0 - 1e-7) | ~np.isfinite(metres) | (metres >= 0.999 * zfar)] = 0.0
    return metres


def load_egl(client: int) -> bool:
    """Load the eglRenderer plugin into `client`; False when it cannot (then TinyRenderer is used)."""
    spec = importlib.util.find_spec("eglRenderer")
    if spec is None or not spec.origin:
        return False
    with quiet_stdout():
        plugin = pb.loadPlugin(spec.origin, "_eglRendererPlugin", physicsClientId=client)
    return plugin >= 0


def view_matrix(camera_pose_world: np.ndarray) -> list[float]:
    """PyBullet view matrix of a camera whose OpenCV optical frame (x right, y down, z forward) is at
    `camera_pose_world` (4, 4)."""
    eye = camera_pose_world[:3, 3]
    forward, down = camera_pose_world[:3, 2], camera_pose_world[:3, 1]
    return pb.computeViewMatrix(eye.tolist(), (eye + forward).tolist(), (-down).tolist())


class PybulletCamera:
    """Renders (rgb uint8 (H, W, 3), depth float32 (H, W) metres) in one client at a fixed size."""

    def __init__(self, client: int, width: int, height: int, fovy_deg: float, renderer: str = "auto",
                 znear: float = 0.01, zfar: float = 20.0):
        self.client, self.width, self.height = client, int(width), int(height)
        self.znear, self.zfar = znear, zfar
        self.projection = pb.computeProjectionMatrixFOV(fovy_deg, self.width / self.height, znear, zfar)
        self.egl = renderer in ("auto", "egl") and load_egl(client)
        self.renderer_name = "egl" if self.egl else "tiny"
        self.light = dict(lightDirection=[0.3, 0.2, 1.0], lightColor=[1, 1, 1], lightAmbientCoeff=0.6,
                          lightDiffuseCoeff=0.4, lightSpecularCoeff=0.0)

    def set_lighting(self, direction, intensity: float, ambient: float) -> None:
        """A scene's key light (`direction` it points, world) and ambient level (0..1)."""
        dx, dy, dz = direction
        self.light = dict(lightDirection=[-dx, -dy, -dz], lightColor=[1, 1, 1],
                          lightAmbientCoeff=float(min(1.0, ambient + 0.25)),
                          lightDiffuseCoeff=float(intensity), lightSpecularCoeff=0.0)

    def render(self, camera_pose_world: np.ndarray, depth: bool = True, projection=None):
        with quiet_stdout():  # the plugin reports its GL context on the first frame
            _, _, rgba, zbuf, _ = pb.getCameraImage(
                self.width, self.height, view_matrix(camera_pose_world), projection or self.projection,
                shadow=0, flags=pb.ER_NO_SEGMENTATION_MASK, physicsClientId=self.client,
                renderer=pb.ER_BULLET_HARDWARE_OPENGL if self.egl else pb.ER_TINY_RENDERER, **self.light)
        rgb = np.asarray(rgba, np.uint8).reshape(self.height, self.width, 4)[..., :3].copy()
        if not depth:
            return rgb, None
        return rgb, depth_buffer_to_metres(np.asarray(zbuf).reshape(self.height, self.width), self.znear, self.zfar)
