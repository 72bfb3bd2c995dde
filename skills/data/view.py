"""Summaries and videos of a dataset (`robomatrix dataset info|view`)."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from robomatrix.skills.data.format import DatasetReader, Episode

PANEL_W = 120  # width of the arm/gripper panel right of the camera frame, pixels


def dataset_info(root) -> dict:
    """Episodes, steps, successes and sources per skill, and the size on disk."""
    reader = DatasetReader(root)
    per_skill: dict = defaultdict(lambda: {"episodes": 0, "steps": 0, "successes": 0, "sources": {}, "instructions": set()})
    for m in reader.meta:
        row = per_skill[m["skill"]]
        row["episodes"] += 1
        row["steps"] += int(m["steps"])
        row["successes"] += bool(m.get("success"))
        row["sources"][m.get("source", "?")] = row["sources"].get(m.get("source", "?"), 0) + 1
        row["instructions"].add(m["instruction"])
    skills = {k: {**v, "instructions": len(v["instructions"])} for k, v in per_skill.items()}
    oracle = sum(any(bool(x) for x in m.get("oracle", {}).values()) for m in reader.meta)
    return {"path": str(root), "episodes": len(reader), "steps": sum(int(m["steps"]) for m in reader.meta),
            "successes": sum(bool(m.get("success")) for m in reader.meta), "oracle_labelled_episodes": oracle,
            "size_mb": round(reader.size_bytes() / 1e6, 2),
            "camera": sorted({tuple(m.get("camera", ())) for m in reader.meta}), "per_skill": skills}


def format_info(info: dict) -> str:
    lines = [f"{info['path']}: {info['episodes']} episodes, {info['steps']} steps, {info['successes']} successful, "
             f"{info['size_mb']} MB on disk, camera {', '.join('x'.join(map(str, c)) for c in info['camera'])}",
             f"{'skill':<16}{'episodes':>9}{'steps':>8}{'success':>9}{'instructions':>14}  sources"]
    for skill, row in info["per_skill"].items():
        sources = ", ".join(f"{k} {v}" for k, v in row["sources"].items())
        lines.append(f"{skill:<16}{row['episodes']:>9}{row['steps']:>8}{row['successes']:>9}{row['instructions']:>14}"
                     f"  {sources}")
    if info["oracle_labelled_episodes"]:
        lines.append(f"{info['oracle_labelled_episodes']} episodes used ORACLE state (see 'oracle' in index.jsonl)")
    return "\n".join(lines)


def draw_step(ep: Episode, t: int, scale: int = 2) -> np.ndarray:
    """The frame of step t, enlarged, with the action drawn on: base velocity arrow (vx up, vy
    left) and yaw-rate arc on the image; arm target vs measured gripper position, gripper command
    and done flag on a side panel."""
    rgb = ep.rgb(t)
    h, w = rgb.shape[:2]
    img = cv2.resize(rgb, (w * scale, h * scale), interpolation=cv2.INTER_NEAREST)
    h, w = img.shape[:2]
    vx, vy, wz, ax, az, grip = (float(v) for v in ep.action[t])
    centre = (w // 2, h - 20)
    gain = 0.35 * h  # pixels per m/s
    tip = (int(centre[0] - vy * gain), int(centre[1] - vx * gain))
    cv2.arrowedLine(img, centre, tip, (255, 230, 0), 2, cv2.LINE_AA, tipLength=0.25)
    if abs(wz) > 1e-3:
        sweep = float(np.clip(wz, -2, 2)) * 60.0
        cv2.ellipse(img, centre, (18, 18), -90, 0, -sweep, (255, 80, 200), 2, cv2.LINE_AA)
    panel = np.full((h, PANEL_W, 3), 30, np.uint8)
    to_px = lambda x, z: (int(10 + (x - 0.1) / 0.4 * (PANEL_W - 20)), int(h - 30 - z / 0.35 * (h - 60)))  # noqa: E731
    ex, ez = float(ep.proprio[t][0]), float(ep.proprio[t][1])
    cv2.circle(panel, to_px(ex, ez), 5, (200, 200, 200), -1, cv2.LINE_AA)
    cv2.drawMarker(panel, to_px(ax, az), (0, 255, 120), cv2.MARKER_CROSS, 12, 2)
    cv2.putText(panel, "arm x-z", (6, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (220, 220, 220), 1, cv2.LINE_AA)
    bar_w = int((PANEL_W - 20) * min(max(grip, 0.0), 1.0))
    cv2.rectangle(panel, (10, h - 20), (10 + bar_w, h - 10), (255, 200, 0), -1)
    cv2.putText(panel, f"grip {grip:.2f}", (10, h - 24), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (220, 220, 220), 1, cv2.LINE_AA)
    out = np.concatenate([img, panel], axis=1)
    phases = ep.meta.get("phases") or []
    phase = phases[int(ep.phase[t])] if phases and int(ep.phase[t]) < len(phases) else ""
    text = f"{t}/{len(ep)} {ep.meta['instruction']}  v=({vx:+.2f},{vy:+.2f},{wz:+.2f}) {phase}"
    from robomatrix.video import caption

    out = caption(out, text, scale=0.4)
    if bool(ep.done[t]):
        cv2.rectangle(out, (0, 0), (out.shape[1] - 1, out.shape[0] - 1), (255, 40, 40), 4)
        cv2.putText(out, "DONE", (8, out.shape[0] - 40), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 40, 40), 2, cv2.LINE_AA)
    return out


def render_episode(root, index: int, out, fps: float | None = None) -> dict:
    """Write episode `index` of dataset `root` as an MP4 at `out` with its actions drawn on."""
    from robomatrix.video import VideoWriter

    reader = DatasetReader(root)
    ep = reader.load(index)
    fps = fps or float(ep.meta.get("control_rate_hz", 20.0))
    with VideoWriter(out, fps=fps) as video:
        for t in range(len(ep)):
            video.write(draw_step(ep, t))
    return {"out": str(Path(out)), "frames": len(ep), "episode": index, "skill": ep.meta["skill"],
            "instruction": ep.meta["instruction"], "success": ep.meta.get("success")}
