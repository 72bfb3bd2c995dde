"""`robomatrix bench sim`: physics speed without rendering, and RGB-D render rate, of a simulator
backend (`mujoco` by default, `pybullet`).

Physics is measured on a robot that is doing something (base driving and turning, arm moving,
gripper cycling) through the public `Robot` contract at a 50 Hz control rate, so the number
includes the control loop's own overhead. Rendering is `get_observation()` (RGB + metric depth
+ state) at 128x128 and 640x480.
"""
from __future__ import annotations

import math
import os
import time

from robomatrix.hardware.robot import Action, make_robot

TARGETS = {"realtime_factor_min": 20.0, "rgbd_128x128_fps_min": 150.0}
CONTROL_PERIOD_S = 0.02


def _busy_action(t: float) -> Action:
    """A command that keeps the base driving/turning and the arm and gripper moving."""
    return Action(base_velocity=(0.4 * math.sin(0.7 * t), 0.25 * math.cos(0.5 * t), 0.8 * math.sin(0.3 * t)),
                  arm_target=(0.30 + 0.10 * math.sin(1.3 * t), 0.16 + 0.12 * math.sin(0.9 * t)),
                  gripper=0.5 + 0.5 * math.sin(2.0 * t))


def bench_physics(scene: str = "office", seed: int = 0, seconds: float = 5.0, backend: str = "mujoco") -> dict:
    """Drive the robot for about `seconds` of wall time; steps/s and realtime factor."""
    with make_robot(backend, camera_width=64, camera_height=48) as robot:
        robot.reset(scene=scene, seed=seed)
        timestep = float(robot.config.physics_timestep_s)
        for _ in range(10):  # warm-up
            robot.send_action(_busy_action(robot.sim_time_s))
            robot.advance(CONTROL_PERIOD_S)
        sim_start, start = robot.sim_time_s, time.perf_counter()
        while time.perf_counter() - start < seconds:
            for _ in range(25):
                robot.send_action(_busy_action(robot.sim_time_s))
                robot.advance(CONTROL_PERIOD_S)
        wall = time.perf_counter() - start
        sim = robot.sim_time_s - sim_start
        moved = float(abs(robot.get_state().base_pose[:2]).sum())
    return {"timestep_s": timestep, "sim_seconds": round(sim, 2), "wall_seconds": round(wall, 3),
            "steps_per_s": round(sim / timestep / wall), "realtime_factor": round(sim / wall, 1),
            "control_rate_hz": 1.0 / CONTROL_PERIOD_S, "base_moved": moved > 0.05}


def bench_render(width: int, height: int, scene: str = "office", seed: int = 0, frames: int = 200,
                 backend: str = "mujoco") -> dict:
    """Time `get_observation()` (RGB + depth in metres + state) at width x height."""
    with make_robot(backend, camera_width=width, camera_height=height) as robot:
        robot.reset(scene=scene, seed=seed)
        for _ in range(5):  # warm-up (GL context, first uploads)
            robot.get_observation()
        times = []
        for i in range(frames):
            robot.send_action(_busy_action(robot.sim_time_s))
            robot.advance(CONTROL_PERIOD_S)
            start = time.perf_counter()
            obs = robot.get_observation()
            times.append(time.perf_counter() - start)
            assert obs.rgb.shape == (height, width, 3) and obs.depth.shape == (height, width), i
    times.sort()
    mean = sum(times) / len(times)
    return {"frames": frames, "rgbd_fps": round(1.0 / mean, 1), "ms_per_frame_mean": round(mean * 1e3, 2),
            "ms_per_frame_p50": round(times[len(times) // 2] * 1e3, 2)}


def _renderer_name(backend: str) -> str:
    with make_robot(backend, camera_width=32, camera_height=24) as robot:
        return getattr(robot, "renderer_name", "")


def run_sim_bench(scene: str = "office", seed: int = 0, seconds: float = 5.0, render_frames: int = 300,
                  backend: str = "mujoco") -> dict:
    """The whole benchmark as a JSON-able dict with `targets` and `meets_targets`: physics for
    about `seconds` of wall time, then `render_frames` RGB-D frames at 128x128 (a fifth at 640x480)."""
    physics = bench_physics(scene, seed, seconds, backend)
    render = {"128x128": bench_render(128, 128, scene, seed, frames=render_frames, backend=backend),
              "640x480": bench_render(640, 480, scene, seed, frames=max(5, render_frames // 5), backend=backend)}
    meets = (physics["realtime_factor"] >= TARGETS["realtime_factor_min"]
             and render["128x128"]["rgbd_fps"] >= TARGETS["rgbd_128x128_fps_min"])
    return {"benchmark": "sim", "backend": backend, "scene": scene, "seed": seed,
            "renderer": os.environ.get("MUJOCO_GL", "") if backend == "mujoco" else _renderer_name(backend), "cpu_count": os.cpu_count(),
            "physics": physics, "render": render, "targets": TARGETS, "meets_targets": bool(meets)}


if __name__ == "__main__":
    import json

    print(json.dumps(run_sim_bench()))
