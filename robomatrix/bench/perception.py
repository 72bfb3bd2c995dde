"""Perception benchmark: detection precision/recall and 3-D position error against the ORACLE.

Over random scenes (by seed) and random robot views (the robot drives a random short motion
with a random arm pose between views), the detector runs on each rendered RGB-D frame. Scoring
uses ground truth — ORACLE, for scoring only: can poses from `robot.oracle_object_poses()`, the
box/bin/cabinet poses from the scene spec, the drawer handle from `oracle_drawer_opening()`.

Reference points (what the detector is asked to estimate): cans — axis at mid-height; box and
bin — centre of the opening at rim height; drawer — the handle bar's centre.

Visibility (who counts for recall): a handful of points on the object's surface facing the
camera are projected into the image; a point is seen when it lands inside the image and the
rendered depth there matches its own depth within 2 cm (nothing in front of it, e.g. the robot's
arm). An object is *in view* when at least half of its points are seen. A detection is a true
positive when it names an object of the scene and lies within `match_m` of its reference point
(whether or not the object passed the visibility test); otherwise it is a false positive.
"""
from __future__ import annotations

import math
import time
from collections import defaultdict

import numpy as np

from robomatrix.hardware.kinematics import project, transform_points, world_to_base_point
from robomatrix.hardware.robot import Action, make_robot
from robomatrix.perception.detector import ColorShapeDetector, Detector, kind_of

MATCH_M = {"can": 0.10, "box": 0.15, "bin": 0.15, "drawer": 0.15}  # max error of a true positive
VISIBLE_FRACTION = 0.5
DEPTH_TOLERANCE_M = 0.02


def oracle_references(robot) -> dict[str, tuple[str, np.ndarray, np.ndarray]]:
    """ORACLE: name → (kind, reference point (world), surface sample points (world, (N, 3)))
    of every object in the robot's current scene, for scoring only."""
    scene = robot.scene
    poses = robot.oracle_object_poses()
    out = {}
    for o in scene.objects:
        centre = np.asarray(poses[o.name][:3], float)
        r, h = o.size[0], o.height
        ring = [(r * math.cos(a), r * math.sin(a)) for a in np.linspace(0, 2 * math.pi, 12, endpoint=False)]
        samples = [(centre[0] + dx, centre[1] + dy, centre[2] + dz) for dx, dy in ring for dz in (-0.3 * h, 0.3 * h)]
        out[o.name] = (kind_of(o.name), centre, np.array(samples))
    for c in scene.containers:
        x, y, yaw = c.pose
        ref = np.array([x, y, c.wall_height])
        half = np.array(c.inner_size) / 2 + c.wall_thickness
        if c.kind == "box":  # points along the outer rectangle
            t = np.linspace(-1, 1, 5)[:-1]
            ring = [(half[0] * sx, half[1] * s) for sx in (-1, 1) for s in t] + \
                   [(half[0] * s, half[1] * sy) for sy in (-1, 1) for s in t]
        else:
            ring = [(half[0] * math.cos(a), half[1] * math.sin(a))
                    for a in np.linspace(0, 2 * math.pi, 16, endpoint=False)]
        cy, sy = math.cos(yaw), math.sin(yaw)
        samples = [(x + cy * px - sy * py, y + sy * px + cy * py, 0.7 * c.wall_height) for px, py in ring]
        out[c.name] = (c.kind, ref, np.array(samples))
    cab = scene.cabinet
    if cab is not None:
        hx, hy, hz = cab.handle_position(robot.oracle_drawer_opening())
        ring = [(cab.handle_radius * math.cos(a), cab.handle_radius * math.sin(a))
                for a in np.linspace(0, 2 * math.pi, 8, endpoint=False)]
        samples = [(hx + dx, hy + dy, hz + dz) for dx, dy in ring for dz in (-0.03, 0.0, 0.03)]
        out[cab.name] = ("drawer", np.array([hx, hy, hz]), np.array(samples))
    return out


def visible(samples_world: np.ndarray, obs) -> bool:
    """At least VISIBLE_FRACTION of the surface samples that face the camera are seen unoccluded."""
    pts_base = np.array([world_to_base_point(p, obs.base_pose) for p in samples_world])
    cam = transform_points(np.linalg.inv(obs.camera_pose_base), pts_base)
    cam_base = obs.camera_pose_base[:3, 3]
    # Samples facing the camera: nearer to it than the object's centre.
    centre = pts_base.mean(axis=0)
    facing = np.linalg.norm(pts_base - cam_base, axis=1) <= np.linalg.norm(centre - cam_base) + 1e-6
    cam = cam[facing]
    if len(cam) == 0:
        return False
    seen = 0
    k = obs.intrinsics
    for p, (u, v) in zip(cam, project(np.maximum(cam, [[-1e9, -1e9, 1e-6]]), k)):
        if p[2] <= 0.02:
            continue
        ui, vi = int(round(u)), int(round(v))
        if 0 <= ui < k.width and 0 <= vi < k.height:
            d = float(obs.depth[vi, ui])
            seen += d > 0 and abs(d - p[2]) <= DEPTH_TOLERANCE_M
    return seen >= VISIBLE_FRACTION * len(cam)


def _random_view(robot, rng: np.random.Generator) -> None:
    """Drive a short random motion with a random arm and gripper, then settle."""
    v = (float(rng.uniform(-0.25, 0.35)), float(rng.uniform(-0.3, 0.3)), float(rng.uniform(-0.9, 0.9)))
    arm = (float(rng.uniform(0.18, 0.42)), float(rng.uniform(0.05, 0.28)))
    robot.send_action(Action(base_velocity=v, arm_target=arm, gripper=float(rng.uniform(0.0, 1.0))))
    robot.advance(float(rng.uniform(0.3, 0.9)))
    robot.send_action(Action(base_velocity=(0.0, 0.0, 0.0)))
    robot.advance(0.4)


def _pull_drawer_open(robot, pull_m: float) -> None:
    """ORACLE expert pulls the drawer open (benchmark setup only), then backs off a little."""
    from robomatrix.sim.oracle_expert import OracleExpert

    OracleExpert(robot).pull_drawer(robot.scene.cabinet, pull_m)
    robot.send_action(Action(base_velocity=(-0.2, 0.0, 0.0), arm_target=(0.2, 0.16), gripper=1.0))
    robot.advance(1.0)
    robot.send_action(Action(base_velocity=(0.0, 0.0, 0.0)))
    robot.advance(0.4)


def _stats(errors: list[float]) -> dict:
    if not errors:
        return {"median_m": None, "p90_m": None, "n": 0}
    e = np.asarray(errors)
    return {"median_m": round(float(np.median(e)), 4), "p90_m": round(float(np.percentile(e, 90)), 4), "n": len(e)}


def run_perception_bench(scenes=("office",), n_scenes: int = 30, seed: int = 0, views_per_scene: int = 4,
                         width: int = 320, height: int = 240, detector: Detector | None = None,
                         progress=None, open_drawers: bool = True) -> dict:
    """Precision/recall per object kind and 3-D error of true positives (median, p90, metres),
    scored against the ORACLE. Each scene gets the start view plus `views_per_scene - 1` random
    ones; with `open_drawers`, half of the scenes with a cabinet first have the drawer pulled open
    a random 5–20 cm by the ORACLE expert (so the drawer-opening estimate is tested on open drawers,
    from close up). `progress(i, total)` is called after each scene. Returns a JSON-able dict."""
    detector = detector or ColorShapeDetector()
    counts = defaultdict(lambda: {"tp": 0, "fp": 0, "visible": 0, "found": 0})
    errors = defaultdict(list)
    drawer_opening_errors: list[float] = []
    frames, detect_s = 0, 0.0
    rng = np.random.default_rng(seed)
    total = len(scenes) * n_scenes
    with make_robot("mujoco", camera_width=width, camera_height=height) as robot:
        for si, scene in enumerate(scenes):
            for k in range(n_scenes):
                obs = robot.reset(scene, seed=seed + k)
                if open_drawers and robot.scene.cabinet is not None and rng.random() < 0.5:
                    _pull_drawer_open(robot, float(rng.uniform(0.05, 0.2)))
                    obs = robot.get_observation()
                for view in range(views_per_scene):
                    if view:
                        _random_view(robot, rng)
                        obs = robot.get_observation()
                    t0 = time.perf_counter()
                    found = detector.perceive(obs)
                    detect_s += time.perf_counter() - t0
                    frames += 1
                    _score(robot, obs, found, counts, errors, drawer_opening_errors)
                if progress is not None:
                    progress(si * n_scenes + k + 1, total)
    per_kind = {}
    for kind in sorted(set(counts) | set(errors)):
        c = counts[kind]
        per_kind[kind] = {
            "precision": round(c["tp"] / (c["tp"] + c["fp"]), 4) if c["tp"] + c["fp"] else None,
            "recall": round(c["found"] / c["visible"], 4) if c["visible"] else None,
            "true_positives": c["tp"], "false_positives": c["fp"], "in_view": c["visible"],
            "found_in_view": c["found"], "error": _stats(errors[kind])}
    tp, fp = sum(c["tp"] for c in counts.values()), sum(c["fp"] for c in counts.values())
    vis, fnd = sum(c["visible"] for c in counts.values()), sum(c["found"] for c in counts.values())
    return {"bench": "perception", "detector": getattr(detector, "name", type(detector).__name__),
            "scenes": list(scenes), "n_scenes": n_scenes, "seed": seed, "views_per_scene": views_per_scene,
            "image": [width, height], "frames": frames, "open_drawers": open_drawers, "scored_against": "oracle",
            "precision": round(tp / (tp + fp), 4) if tp + fp else None,
            "recall": round(fnd / vis, 4) if vis else None, "per_kind": per_kind,
            "drawer_opening_error": _stats(drawer_opening_errors),
            "detect_ms_mean": round(1000 * detect_s / max(frames, 1), 2)}


def _score(robot, obs, found, counts, errors, drawer_opening_errors) -> None:
    refs = oracle_references(robot)
    matched = set()
    for det in found:
        kind = det.kind
        ref = refs.get(det.name)
        if ref is None or det.position_base is None:
            counts[kind]["fp"] += 1
            continue
        err = float(np.linalg.norm(det.position_base - world_to_base_point(ref[1], obs.base_pose)))
        if err > MATCH_M.get(ref[0], 0.1):
            counts[kind]["fp"] += 1
            continue
        counts[kind]["tp"] += 1
        errors[kind].append(err)
        matched.add(det.name)
        if kind == "drawer" and det.extras.get("opening_m") is not None:
            drawer_opening_errors.append(abs(det.extras["opening_m"] - robot.oracle_drawer_opening()))
    for name, (kind, _, samples) in refs.items():
        if visible(samples, obs):
            counts[kind]["visible"] += 1
            counts[kind]["found"] += name in matched


def format_report(result: dict) -> str:
    """A table of `run_perception_bench`'s result for people."""
    w, h = result["image"]
    lines = [f"perception bench ({result['detector']} detector, {result['frames']} frames at {w}x{h}, "
             f"scenes {', '.join(result['scenes'])}; scored against the ORACLE)",
             f"{'kind':8s} {'precision':>9s} {'recall':>7s} {'in view':>8s} {'median err':>11s} {'p90 err':>8s}"]

    def num(v, fmt):
        return "-" if v is None else format(v, fmt)

    for kind, row in result["per_kind"].items():
        e = row["error"]
        lines.append(f"{kind:8s} {num(row['precision'], '9.3f')} {num(row['recall'], '7.3f')} {row['in_view']:8d} "
                     f"{num(e['median_m'] and e['median_m'] * 100, '9.2f')} cm {num(e['p90_m'] and e['p90_m'] * 100, '5.2f')} cm")
    lines.append(f"{'all':8s} {num(result['precision'], '9.3f')} {num(result['recall'], '7.3f')}")
    d = result["drawer_opening_error"]
    if d["n"]:
        lines.append(f"drawer opening error: median {d['median_m'] * 100:.2f} cm, p90 {d['p90_m'] * 100:.2f} cm")
    lines.append(f"detector time: {result['detect_ms_mean']:.1f} ms per frame (mean)")
    return "\n".join(lines)
