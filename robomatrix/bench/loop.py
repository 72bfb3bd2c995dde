"""`robomatrix bench loop`: closed-loop latency and jitter, camera frame → command, over DDS.

Three processes, as the stack runs on a robot:
  robot      `SimServeNode` (what `robomatrix sim serve --profile sim` runs): renders and publishes
             RGB-D frames on the profile's topics and receives the driver's cmd_vel;
  hardware   `hardware_node` with backend ros2 (profile sim): relays the frames to the stack's
             camera topics as they arrive, and the stack's /cmd_vel to the robot on its control tick;
  reactor    this process: the skill server's parts (`TopicRobot` on the hardware topics and the
             skill layer's `Perception` on every RGB-D frame) answering each frame with a command.

Each command carries which frame it answers: a tiny yaw rate, 1 mrad/s × (1 + frame index mod
50), which passes every limit unchanged. The robot timestamps each frame as it publishes it and
each command as it arrives; latency = command arrival − frame publication, both on the robot
process's clock. The legs are timed with CLOCK_MONOTONIC, which all processes of one machine
share: frame delivery (robot → hardware_node → reactor), reaction (perception + publish) and
command delivery (reactor → hardware_node's next control tick → robot). Jitter is the standard
deviation of the latency. DDS stays on loopback.

    python -m robomatrix.bench.loop --json [--duration 20] [--control-rate 50]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from robomatrix import comm
from robomatrix.errors import RoboMatrixError, UsageError

CODE_STEP_RADPS = 1e-3  # yaw rate per code unit: small enough to pass every limit, large enough to read back
CODE_MODULUS = 50  # codes repeat every 50 frames (>3 s at 15 Hz: far longer than any latency)
WARMUP_S = 3.0
TARGETS = {"loop_latency_p50_ms_max": 50.0, "loop_latency_p99_ms_max": 100.0}


def frame_code(frame_index: int) -> int:
    return 1 + frame_index % CODE_MODULUS


def code_of(wz: float) -> int:
    return int(round(wz / CODE_STEP_RADPS))


# ----------------------------------------------------------------------------- robot process
def run_robot(out: str, duration_s: float, width: int, height: int, camera_rate_hz: float, seed: int) -> None:
    """The simulated robot with time stamps on frames out and commands in; writes them to `out`."""
    from robomatrix.msgs import Twist
    from robomatrix.sim.serve import SimServeNode

    frames: list[tuple[float, float]] = []  # (stamp, t_published)
    commands: list[tuple[int, float]] = []  # (code, t_received)

    class TimedSimServe(SimServeNode):
        def _on_cmd_vel(self, msg: Twist) -> None:
            commands.append((code_of(msg.angular.z), time.monotonic()))
            super()._on_cmd_vel(msg)

    ctx = comm.Context(transport="dds")
    node = TimedSimServe(context=ctx, parameter_overrides={
        "profile": "sim", "scene": "office", "seed": seed, "camera_width": width, "camera_height": height,
        "camera_rate_hz": camera_rate_hz})
    depth_pub = node.pub["depth"]
    publish = depth_pub.publish

    def timed_publish(msg) -> None:  # the depth image completes a frame (rgb is published first)
        publish(msg)
        frames.append((msg.header.stamp.to_sec(), time.monotonic()))

    depth_pub.publish = timed_publish
    executor = comm.Executor([node])
    deadline = time.monotonic() + duration_s
    try:
        while time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
    finally:
        executor.shutdown()
        node.destroy_node()
        ctx.shutdown()
    Path(out).write_text(json.dumps({"frames": frames, "commands": commands,
                                     "camera_period_s": 1.0 / camera_rate_hz}))


# ----------------------------------------------------------------------------- reactor
class Reactor:
    """TopicRobot + Perception answering every new RGB-D frame with a coded command."""

    def __init__(self, ctx: comm.Context, camera_period_s: float, perception: bool = True):
        from robomatrix.hardware.robot import Action
        from robomatrix.hardware.topic_robot import TopicRobot
        from robomatrix.msgs import Image
        from robomatrix.perception import Perception

        self.Action = Action
        self.node = comm.Node("loop_reactor", context=ctx)
        self.robot = TopicRobot(self.node)
        self.robot.connect()
        self.perception = Perception() if perception else None
        self.camera_period_s = camera_period_s
        self.new_frame = threading.Event()
        self.frame_rx: dict[int, float] = {}  # frame index → t_received (delivery thread)
        self.node._create_direct_subscription(Image, "/camera/depth/image_raw", self._on_depth,
                                              comm.QOS_SENSOR_DATA)
        self.executor = comm.Executor([self.node])
        self.spinner = threading.Thread(target=self.executor.spin, daemon=True)
        self.spinner.start()
        self.reactions: list[tuple[float, float, float]] = []  # (stamp, t_received, t_sent)
        self.perception_ms: list[float] = []

    def _on_depth(self, msg) -> None:
        self.frame_rx[int(round(msg.header.stamp.to_sec() / self.camera_period_s))] = time.monotonic()
        self.new_frame.set()

    def run(self, duration_s: float, startup_timeout_s: float = 60.0) -> None:
        if not self.robot.wait_for_data(startup_timeout_s):
            raise RoboMatrixError("bench loop: no frames from hardware_node (robot process or hardware_node down?)")
        deadline = time.monotonic() + duration_s
        last = None
        while time.monotonic() < deadline:
            if not self.new_frame.wait(0.5):
                continue
            self.new_frame.clear()
            # the direct subscription hears the frame first; TopicRobot gets it through the executor a
            # moment later: wait for that (at most one camera period) instead of for the next frame
            newest = max(self.frame_rx, default=None)
            obs = self.robot.get_observation()
            until = time.monotonic() + self.camera_period_s
            while (newest is not None and int(round(obs.stamp_s / self.camera_period_s)) < newest
                   and time.monotonic() < until):
                time.sleep(0.0005)
                obs = self.robot.get_observation()
            if obs.stamp_s == last:
                continue
            last = obs.stamp_s
            index = int(round(obs.stamp_s / self.camera_period_s))
            if self.perception is not None:
                t0 = time.perf_counter()
                self.perception.update(obs)
                self.perception_ms.append((time.perf_counter() - t0) * 1e3)
            self.robot.send_action(self.Action(base_velocity=(0.0, 0.0, frame_code(index) * CODE_STEP_RADPS)))
            t_rx = self.frame_rx.get(index)
            if t_rx is not None:
                self.reactions.append((obs.stamp_s, t_rx, time.monotonic()))

    def close(self) -> None:
        self.robot.stop()
        self.executor.shutdown()
        self.node.destroy_node()


# ----------------------------------------------------------------------------- analysis
def match(frames, commands, reactions, camera_period_s: float, warmup_until: float) -> dict[str, list[float]]:
    """Per answered frame: total latency and its three legs, in ms."""
    published = {round(stamp / camera_period_s): t for stamp, t in frames}
    by_code: dict[int, list[float]] = {}
    for code, t in commands:
        by_code.setdefault(code, []).append(t)
    legs = {"latency": [], "frame_delivery": [], "reaction": [], "command_delivery": []}
    for stamp, t_rx, t_sent in reactions:
        index = round(stamp / camera_period_s)
        t_pub = published.get(index)
        if t_pub is None or t_pub < warmup_until:
            continue
        arrivals = [t for t in by_code.get(frame_code(index), []) if t >= t_sent]
        if not arrivals:
            continue
        t_cmd = min(arrivals)
        if t_cmd - t_pub > CODE_MODULUS * camera_period_s / 2:  # an older frame's code: not this answer
            continue
        legs["latency"].append((t_cmd - t_pub) * 1e3)
        legs["frame_delivery"].append((t_rx - t_pub) * 1e3)
        legs["reaction"].append((t_sent - t_rx) * 1e3)
        legs["command_delivery"].append((t_cmd - t_sent) * 1e3)
    return legs


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 2) if values else None


def run_loop_bench(duration_s: float = 20.0, width: int = 320, height: int = 240, camera_rate_hz: float = 15.0,
                   control_rate_hz: float = 50.0, seed: int = 0, perception: bool = True,
                   progress=lambda line: None) -> dict:
    if duration_s <= WARMUP_S:
        raise UsageError(f"--duration must be more than the {WARMUP_S:g} s warm-up, got {duration_s:g}")
    env = dict(os.environ, ROBOMATRIX_DISCOVERY="localhost", ROBOMATRIX_TRANSPORT="dds",
               MUJOCO_GL=os.environ.get("MUJOCO_GL", "egl"))
    os.environ.setdefault("ROBOMATRIX_DISCOVERY", "localhost")
    with tempfile.TemporaryDirectory(prefix="rmx_loop_") as tmp:
        out = str(Path(tmp) / "robot.json")
        robot_s = duration_s + 40.0  # start-up of the other two processes included; it ends itself
        robot = subprocess.Popen([sys.executable, "-m", "robomatrix.bench.loop", "--robot", "--out", out,
                                  "--duration", str(robot_s), "--width", str(width), "--height", str(height),
                                  "--camera-rate", str(camera_rate_hz), "--seed", str(seed)],
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        hardware = subprocess.Popen([str(Path(sys.executable).parent / "hardware_node"), "--ros-args",
                                     "-p", "backend:=ros2", "-p", "profile:=sim",
                                     "-p", f"control_rate_hz:={control_rate_hz}"],
                                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        ctx = comm.Context(transport="dds", discovery="localhost")
        reactor = None
        try:
            progress("bench loop: waiting for the robot and hardware_node ...")
            reactor = Reactor(ctx, 1.0 / camera_rate_hz, perception=perception)
            start = time.monotonic()
            progress(f"bench loop: measuring for {duration_s:g} s")
            reactor.run(duration_s)
            warmup_until, measured_until = start + WARMUP_S, start + duration_s
        finally:
            if reactor is not None:
                reactor.close()
            ctx.shutdown()
            hardware.terminate()
            try:
                hardware.wait(timeout=10)
            except subprocess.TimeoutExpired:
                hardware.kill()
        robot.wait(timeout=robot_s + 30)
        if robot.returncode != 0 or not Path(out).exists():
            raise RoboMatrixError(f"bench loop: the robot process failed: {robot.stderr.read()[-400:]}")
        data = json.loads(Path(out).read_text())
    legs = match(data["frames"], data["commands"], reactor.reactions, data["camera_period_s"], warmup_until)
    lat = legs["latency"]
    frames_measured = sum(1 for _, t in data["frames"] if warmup_until <= t <= measured_until)
    result = {
        "loop_latency_p50_ms": _pct(lat, 50), "loop_latency_p90_ms": _pct(lat, 90),
        "loop_latency_p99_ms": _pct(lat, 99), "loop_latency_max_ms": round(max(lat), 2) if lat else None,
        "loop_jitter_ms": round(float(np.std(lat)), 2) if lat else None,
        "legs_p50_ms": {k: _pct(v, 50) for k, v in legs.items() if k != "latency"},
        "legs_p99_ms": {k: _pct(v, 99) for k, v in legs.items() if k != "latency"},
        "perception_ms_p50": _pct(reactor.perception_ms, 50),
        "frames_answered": len(lat), "frames_published": frames_measured,  # after the warm-up
        "config": {"duration_s": duration_s, "camera": f"{width}x{height}", "camera_rate_hz": camera_rate_hz,
                   "hardware_control_rate_hz": control_rate_hz, "transport": "dds (loopback)",
                   "profile": "sim", "reaction": "perception" if perception else "none", "cpu_count": os.cpu_count(), "machine": platform.machine()},
        "targets": TARGETS,
    }
    result["targets_met"] = bool(lat) and (result["loop_latency_p50_ms"] <= TARGETS["loop_latency_p50_ms_max"]
                                          and result["loop_latency_p99_ms"] <= TARGETS["loop_latency_p99_ms_max"])
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m robomatrix.bench.loop")
    parser.add_argument("--robot", action="store_true", help="internal: run the robot process")
    parser.add_argument("--out", default="")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--camera-rate", type=float, default=15.0)
    parser.add_argument("--control-rate", type=float, default=50.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-perception", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.robot:
        run_robot(args.out, args.duration, args.width, args.height, args.camera_rate, args.seed)
        return
    result = run_loop_bench(args.duration, args.width, args.height, args.camera_rate, args.control_rate, args.seed,
                            perception=not args.no_perception, progress=lambda line: print(line, file=sys.stderr, flush=True))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
