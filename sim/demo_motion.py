"""The scripted demo (`make demo` until the skill layer exists): the simulated robot drives to the
red can, grasps it by friction, lifts it, carries it to the box and drops it in.

The motion is driven by the ORACLE expert (ground-truth poses from the simulator, closed loop at
20 Hz in simulated time) — not by perception; every log line and the summary say so. Writes:
  camera.mp4     what the robot camera saw, with the current phase as a caption
  overview.mp4   a fixed scene camera showing the whole scene
  frame_*.png    the robot camera at the start of each phase
  overview.png   the overview camera at the end
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from robomatrix.hardware.robot import Observation, make_robot
from robomatrix.sim.oracle_expert import OracleExpert, oracle_in_container
from robomatrix.video import VideoWriter, caption, save_png

VIDEO_FPS = 10.0


def run_scripted_demo(out_dir="out/demo", scene="office", seed: int = 0, video: bool = True,
                      width: int = 640, height: int = 480, target: str = "red can", container: str = "box",
                      verbose: bool = True) -> dict:
    """Run the ORACLE-driven pick-and-place once; returns a JSON-able summary
    {success_oracle, sim_time_s, wall_time_s, realtime_factor, phases, files, ...}."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    say = print if verbose else (lambda *a, **k: None)
    wall_start = time.perf_counter()
    files: list[str] = []
    with make_robot("mujoco", camera_width=width, camera_height=height) as robot:
        robot.reset(scene=scene, seed=seed)
        spec = robot.scene
        box = spec.container(container)
        spec.object(target)  # a clear error now rather than mid-run
        say(f"[demo] scene '{spec.name}' seed {seed}: {', '.join(spec.names)}")
        say(f"[demo] ORACLE-driven scripted motion (ground-truth poses, not perception): {target} -> {container}")

        cam_video = VideoWriter(out / "camera.mp4", VIDEO_FPS) if video else None
        over_video = VideoWriter(out / "overview.mp4", VIDEO_FPS) if video else None
        state = {"phase": None, "next_frame_s": 0.0}

        def on_step(phase: str, obs: Observation) -> None:
            new_phase = phase != state["phase"]
            if new_phase:
                state["phase"] = phase
                say(f"[demo] t={obs.stamp_s:5.2f}s  {phase}")
            if not video:
                return
            if obs.stamp_s + 1e-9 >= state["next_frame_s"] or new_phase:
                rgb, _ = robot.render("robot_camera", depth=False)
                text = f"t={obs.stamp_s:4.1f}s  {phase}"
                cam_video.write(caption(rgb, text))
                over, _ = robot.render("overview", depth=False)
                over_video.write(caption(over, text))
                if new_phase:
                    name = f"frame_{len([f for f in files if 'frame_' in f]):02d}_{phase.split(' (')[0].replace(' ', '_')}.png"
                    files.append(str(save_png(out / name, caption(rgb, text))))
                state["next_frame_s"] = obs.stamp_s + 1.0 / VIDEO_FPS

        expert = OracleExpert(robot, rate_hz=20.0, on_step=on_step)
        picked = expert.pick(target)
        lifted_z = float(expert.oracle_object_position(target)[2])
        placed = picked and expert.place(box.pose[:2])
        expert.open_gripper(0.5)
        final = expert.oracle_object_position(target)
        success = bool(oracle_in_container(final, box))
        if video:
            cam_video.close()
            over_video.close()
            files += [str(cam_video.path), str(over_video.path)]
            over, _ = robot.render("overview", depth=False)
            files.append(str(save_png(out / "overview.png", caption(over, f"end: {target} in {container} (oracle): {success}"))))
        sim_time = robot.sim_time_s
    wall = time.perf_counter() - wall_start
    summary = {
        "scene": spec.name, "seed": seed, "target": target, "container": container,
        "driven_by": "oracle (ground-truth poses)",
        "success_oracle": success, "picked": bool(picked), "placed": bool(placed),
        "lifted_to_z_m_oracle": round(lifted_z, 3),
        "final_position_oracle": [round(float(v), 3) for v in np.asarray(final)],
        "sim_time_s": round(sim_time, 2), "wall_time_s": round(wall, 2),
        "realtime_factor": round(sim_time / wall, 1) if wall > 0 else None,
        "phases": [{"name": p.name, "ok": p.ok, "end_s": round(p.sim_time_s, 2)} for p in expert.log],
        "files": files,
    }
    say(f"[demo] {'SUCCESS' if success else 'FAILED'} (oracle check: {target} inside {container}); "
        f"{sim_time:.1f} s simulated in {wall:.1f} s wall; files in {out}/")
    return summary
