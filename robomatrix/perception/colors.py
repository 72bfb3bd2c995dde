"""Colour classes for the detector: HSV rules per material the scenes use.

The rules were measured on rendered frames over many seeds (lighting intensity 0.55–0.8, ambient
0.3–0.42, per-object colour jitter ±0.04; see sim/scenes.py): hue and saturation survive the
white lighting, brightness does not, so the rules are loose in V. Floors are told apart by
height (depth), not by colour, so their hues may overlap these. OpenCV HSV: H 0..179, S, V 0..255.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class ColorClass:
    """One material: pixels with hue in `hue` (inclusive, wrapping when low > high), saturation
    in `sat` and value in `val` belong to it."""

    name: str  # colour word or material ("red", "cardboard", "cabinet")
    hue: tuple[int, int]  # OpenCV hue range 0..179; (170, 7) wraps through 0
    sat: tuple[int, int]  # saturation range 0..255
    val: tuple[int, int]  # value range 0..255

    def mask(self, hsv: np.ndarray) -> np.ndarray:
        h, s, v = hsv[..., 0], hsv[..., 1], hsv[..., 2]
        lo, hi = self.hue
        in_hue = (h >= lo) & (h <= hi) if lo <= hi else (h >= lo) | (h <= hi)
        return in_hue & (s >= self.sat[0]) & (s <= self.sat[1]) & (v >= self.val[0]) & (v <= self.val[1])


# Order matters: a pixel takes the first class that accepts it.
COLOR_CLASSES: tuple[ColorClass, ...] = (
    ColorClass("red", (170, 7), (90, 255), (40, 255)),
    # Yellow and cardboard hues meet near 21 under colour jitter; saturation tells them apart
    # (yellow ~215, cardboard ~140).
    ColorClass("yellow", (21, 35), (168, 255), (50, 255)),
    ColorClass("green", (45, 80), (80, 255), (30, 255)),
    ColorClass("blue", (108, 128), (100, 255), (40, 255)),
    ColorClass("teal", (82, 101), (70, 255), (25, 255)),
    ColorClass("cardboard", (8, 23), (70, 175), (50, 255)),
    ColorClass("drawer_front", (96, 116), (35, 95), (60, 255)),
    ColorClass("handle", (0, 179), (0, 90), (0, 60)),
    ColorClass("cabinet", (0, 179), (0, 45), (80, 255)),
)
CLASS_INDEX = {c.name: i + 1 for i, c in enumerate(COLOR_CLASSES)}  # 0 = unclassified


def classify(rgb: np.ndarray, classes: tuple[ColorClass, ...] = COLOR_CLASSES) -> np.ndarray:
    """(H, W) uint8 label image: index into `classes` + 1, 0 where no class fits."""
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    labels = np.zeros(rgb.shape[:2], np.uint8)
    free = np.ones(rgb.shape[:2], bool)
    for i, c in enumerate(classes):
        m = free & c.mask(hsv)
        labels[m] = i + 1
        free &= ~m
    return labels
