"""Writing what cameras saw: MP4 videos, PNG frames, captions and depth colour maps (OpenCV).

All images are RGB uint8 (H, W, 3) at this interface; OpenCV's BGR stays inside this module.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def save_png(path, rgb: np.ndarray) -> Path:
    """Save an (H, W, 3) uint8 RGB image as PNG (parent folders are created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {path}")
    return path


def caption(frame: np.ndarray, text: str, *, scale: float | None = None) -> np.ndarray:
    """A copy of `frame` with `text` on a dark band along the top (one line, left-aligned)."""
    out = np.ascontiguousarray(frame).copy()
    h, w = out.shape[:2]
    scale = scale if scale is not None else max(0.35, w / 1000.0)
    thickness = max(1, int(round(scale * 2)))
    (_, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    band = th + base + 8
    out[:band] = (out[:band].astype(np.float32) * 0.35).astype(np.uint8)
    cv2.putText(out, text, (6, band - base - 3), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thickness,
                cv2.LINE_AA)
    return out


def depth_to_colormap(depth: np.ndarray, max_m: float | None = None, *, scale_bar: bool = True) -> np.ndarray:
    """(H, W) depth in metres → (H, W, 3) RGB (turbo: near red … far blue; no return black), with a
    labelled colour scale along the right edge when `scale_bar`."""
    depth = np.asarray(depth, dtype=np.float32)
    valid = depth > 0
    top = float(max_m) if max_m else (float(np.percentile(depth[valid], 99.5)) if valid.any() else 1.0)
    low = 0.0 if max_m else (float(np.percentile(depth[valid], 0.5)) if valid.any() else 0.0)
    top = max(top, low + 1e-3)
    norm = np.clip((depth - low) / (top - low), 0.0, 1.0)
    img = cv2.applyColorMap(((1.0 - norm) * 255).astype(np.uint8), cv2.COLORMAP_TURBO)
    img[~valid] = 0
    rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    if not scale_bar:
        return rgb
    h, w = rgb.shape[:2]
    bar_w, margin = max(8, w // 40), max(4, h // 20)
    ramp = np.linspace(1.0, 0.0, h - 2 * margin)[:, None]  # near (top) … far (bottom) → red … blue
    bar = cv2.applyColorMap((ramp * 255).astype(np.uint8).repeat(bar_w, 1), cv2.COLORMAP_TURBO)
    x0 = w - bar_w - max(40, w // 10)
    rgb[margin:h - margin, x0:x0 + bar_w] = cv2.cvtColor(bar, cv2.COLOR_BGR2RGB)
    fs = max(0.3, w / 1600.0)
    for frac in (0.0, 0.5, 1.0):
        y = int(margin + frac * (h - 2 * margin - 1))
        label = f"{low + frac * (top - low):.2f} m"
        cv2.putText(rgb, label, (x0 + bar_w + 3, y + 4), cv2.FONT_HERSHEY_SIMPLEX, fs, (255, 255, 255), 1, cv2.LINE_AA)
    return rgb


class VideoWriter:
    """`with VideoWriter("run.mp4", fps=10) as video: video.write(rgb)` — MP4 (mp4v) via OpenCV.
    The frame size is fixed by the first frame; later frames of another size are resized."""

    def __init__(self, path, fps: float = 10.0):
        if not fps > 0:
            raise ValueError(f"fps must be positive, got {fps!r}")
        self.path, self.fps = Path(path), float(fps)
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None
        self.frames = 0

    def write(self, rgb: np.ndarray) -> None:
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            h, w = rgb.shape[:2]
            self._size = (w, h)
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, self._size)
            if not self._writer.isOpened():
                raise OSError(f"could not open video {self.path} for writing")
        if (rgb.shape[1], rgb.shape[0]) != self._size:
            rgb = cv2.resize(rgb, self._size)
        self._writer.write(cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))
        self.frames += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
