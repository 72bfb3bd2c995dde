"""Offscreen RGB-D rendering for MuJoCo models: one GL context per model, one pass per frame.

`mujoco.Renderer` draws the scene twice for RGB and depth; here one `mjr_render` fills both
buffers and the depth buffer is converted to metres (z-depth along the optical axis). Shadows,
reflections and the skybox are off: on a software renderer shadows cost ~10x a frame.
"""
from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")

import mujoco  # noqa: E402
import numpy as np  # noqa: E402

_OFF_FLAGS = (mujoco.mjtRndFlag.mjRND_SHADOW, mujoco.mjtRndFlag.mjRND_REFLECTION,
              mujoco.mjtRndFlag.mjRND_SKYBOX, mujoco.mjtRndFlag.mjRND_FOG, mujoco.mjtRndFlag.mjRND_HAZE)


def depth_buffer_to_metres(buffer: np.ndarray, znear: float, zfar: float) -> np.ndarray:
    """MuJoCo's reversed-Z depth buffer (1 at the near plane, 0 at the far plane) → z-depth in
    metres; pixels at the far plane (nothing hit) become 0 ("no return")."""
    zn, zf = np.float32(znear), np.float32(zfar)
    c = np.float32(-0.5) * (-(zf + zn) / (zf - zn)) - np.float32(0.5)
    d = np.float32(-0.5) * (-(np.float32(2) * zf * zn) / (zf - zn))
    b = buffer.astype(np.float64)
    with np.errstate(divide="ignore"):
        metres = (d / (b + c)).astype(np.float32)
    metres[(b <= 1e-7) | ~np.isfinite(metres) | (metres >= 0.999 * zfar)] = 0.0
    return metres


class RgbdRenderer:
    """Renders (rgb uint8 (H, W, 3), depth float32 (H, W) metres) from any camera of `model`."""

    def __init__(self, model: mujoco.MjModel, width: int, height: int):
        self.model = model
        self.width, self.height = int(width), int(height)
        self._renderer = mujoco.Renderer(model, height=self.height, width=self.width, max_geom=2000)
        self._rgb = np.empty((self.height, self.width, 3), np.uint8)
        self._depth = np.empty((self.height, self.width), np.float32)
        extent = model.stat.extent
        self.znear, self.zfar = model.vis.map.znear * extent, model.vis.map.zfar * extent

    def render(self, data: mujoco.MjData, camera: str | int, depth: bool = True):
        r = self._renderer
        r.update_scene(data, camera=camera)
        for flag in _OFF_FLAGS:
            r.scene.flags[flag] = 0
        if r._gl_context:
            r._gl_context.make_current()
        rect, ctx = r._rect, r._mjr_context
        mujoco.mjr_render(rect, r.scene, ctx)
        mujoco.mjr_readPixels(self._rgb, self._depth if depth else None, rect, ctx)
        rgb = np.flipud(self._rgb).copy()
        if not depth:
            return rgb, None
        return rgb, depth_buffer_to_metres(np.flipud(self._depth), self.znear, self.zfar)

    def close(self) -> None:
        self._renderer.close()
