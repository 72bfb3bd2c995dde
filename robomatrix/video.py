"""Writing what cameras saw: MP4 videos, PNG frames, captions and depth colour maps (OpenCV)."""
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
