"""`snapshot()`: one PNG of what the simulated robot's camera sees, so a person can look.

Panels, left to right: the robot camera's RGB, its depth (colour-mapped, with a scale in metres),
and (optionally) a fixed overview camera showing the robot in the whole scene.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from robomatrix.video import caption, depth_to_colormap, save_png


def compose_panels(panels: list[tuple[str, np.ndarray]]) -> np.ndarray:
    """Captioned RGB images side by side (resized to the first one's height)."""
    h = panels[0][1].shape[0]
    out = []
    for title, img in panels:
        if img.shape[0] != h:
            img = cv2.resize(img, (int(round(img.shape[1] * h / img.shape[0])), h))
        out.append(caption(img, title))
    return np.concatenate(out, axis=1)


def snapshot(scene="office", seed: int = 0, out="frame.png", width: int = 640, height: int = 480,
             overview: bool = True, backend: str = "mujoco") -> Path:
    """Reset a simulated robot in `scene` (name or SceneSpec) with `seed`, render the robot camera
    at width x height, and save RGB | depth (| overview) to `out`. Returns the PNG path."""
    from robomatrix.hardware.robot import make_robot

    with make_robot(backend, camera_width=width, camera_height=height) as robot:
        obs = robot.reset(scene=scene, seed=seed)
        name = robot.scene.name if hasattr(robot, "scene") and robot.scene else str(scene)
        panels = [(f"{name} seed {seed}: robot camera RGB {width}x{height}", obs.rgb),
                  ("depth (m, 0 = no return)", depth_to_colormap(obs.depth))]
        if overview:
            rgb, _ = robot.render("overview", depth=False)
            panels.append(("overview camera", rgb))
        return save_png(out, compose_panels(panels))
