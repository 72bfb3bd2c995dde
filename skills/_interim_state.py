"""INTERIM copy of perception's PerceptionState/TrackedObject interface (docs: /tmp/issue3_api.md),
used only until `robomatrix.perception` lands; then this file is deleted."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class TrackedObject:
    name: str
    kind: str
    position_odom: np.ndarray
    position_base: np.ndarray
    yaw_odom: float | None
    size: np.ndarray | None
    in_view: bool
    last_seen_s: float
    confidence: float


@dataclass
class PerceptionState:
    stamp_s: float
    base_pose: np.ndarray
    objects: dict = field(default_factory=dict)
    detections: list = field(default_factory=list)
    held_object: str | None = None
    drawer_opening_m: float | None = None

    def get(self, name):
        return self.objects.get(name)
