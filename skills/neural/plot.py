"""Loss curves as a PNG, drawn with OpenCV (no matplotlib dependency)."""
from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

SERIES = (("train_loss", "train", (40, 90, 220)), ("val_loss", "validation", (220, 110, 30)))


def plot_loss_curves(history: list[dict], path, size: tuple[int, int] = (640, 400)) -> Path:
    """Train and validation loss per epoch (log-scale y) as an RGB PNG at `path`."""
    w, h = size
    left, right, top, bottom = 70, 20, 30, 45
    img = np.full((h, w, 3), 255, np.uint8)
    values = [r[k] for r in history for k, _, _ in SERIES if math.isfinite(r.get(k, math.nan)) and r[k] > 0]
    lo, hi = (math.log10(min(values)), math.log10(max(values))) if values else (0.0, 1.0)
    if hi - lo < 1e-6:
        lo, hi = lo - 0.5, hi + 0.5
    n = max(len(history), 2)

    def xy(i: int, v: float) -> tuple[int, int]:
        x = left + (w - left - right) * i / (n - 1)
        y = top + (h - top - bottom) * (hi - math.log10(v)) / (hi - lo)
        return int(round(x)), int(round(y))

    cv2.rectangle(img, (left, top), (w - right, h - bottom), (0, 0, 0), 1)
    for k in range(5):
        v = 10 ** (lo + (hi - lo) * k / 4)
        _, y = xy(0, v)
        cv2.line(img, (left, y), (w - right, y), (225, 225, 225), 1)
        cv2.putText(img, f"{v:.3g}", (4, y + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    for i in range(len(history)):
        x, _ = xy(i, 10 ** hi)
        if len(history) <= 20 or i % max(1, len(history) // 10) == 0:
            cv2.putText(img, str(history[i]["epoch"]), (x - 5, h - bottom + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                        (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, "epoch", (w // 2 - 20, h - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    for j, (key, label, colour) in enumerate(SERIES):
        pts = [xy(i, r[key]) for i, r in enumerate(history) if math.isfinite(r.get(key, math.nan)) and r[key] > 0]
        if len(pts) > 1:
            cv2.polylines(img, [np.array(pts, np.int32)], False, colour, 2, cv2.LINE_AA)
        for p in pts:
            cv2.circle(img, p, 3, colour, -1, cv2.LINE_AA)
        cv2.line(img, (w - 150, top + 15 + 18 * j), (w - 125, top + 15 + 18 * j), colour, 2)
        cv2.putText(img, label, (w - 118, top + 19 + 18 * j), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, "loss (log scale)", (left, top - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    return path
