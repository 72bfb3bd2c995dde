"""`robomatrix bench comm`: message latency and image rate per transport, through the Node API.

For each transport a *bench* node talks to an *echo* node: in the same process for
`inproc` (a second executor thread), in a separate process for `dds` (this module run
with `--peer`, discovery forced to localhost, so nothing leaves the loopback interface).

- Twist and 640x480 rgb8 Image latency: ping-pong, one message in flight; latency is
  half the round trip measured on the bench process's clock (`time.perf_counter_ns`), so
  it needs no clock shared between processes and includes serialisation, delivery thread,
  executor wake-up and callback on both sides.
- Image rate: images published back to back on a reliable topic whose depth holds them
  all (flow-controlled, no drops); the echo node acknowledges each with a small String
  carrying its count; rate = images acknowledged / (last acknowledgement - first send).

    python -m robomatrix.bench.comm --json [--transports inproc,dds] [--n-twist 1000] [--n-image 300]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time

import numpy as np

from robomatrix import comm
from robomatrix.comm.peer import PeerProcess, serve
from robomatrix.errors import UsageError
from robomatrix.msgs import Image, String, Twist, Vector3

TARGETS = {"dds_image_latency_p50_ms_max": 5.0, "dds_twist_latency_p50_ms_max": 1.0,
           "dds_image_rate_hz_min": 100.0}
PEER_START_TIMEOUT_S = 30.0
PING_TIMEOUT_S = 2.0
WARMUP = 20
LATENCY_QOS = comm.QoSProfile(depth=10)


# ----------------------------------------------------------------------------- echo side
def setup_echo(node: comm.Node, max_burst: int) -> list:
    """Echo roles: twist and image ping → pong; /bench/image_rate images are acknowledged with a count."""
    twist_pong = node.create_publisher(Twist, "/bench/twist_pong", LATENCY_QOS)
    image_pong = node.create_publisher(Image, "/bench/image_pong", LATENCY_QOS)
    burst_qos = comm.QoSProfile(depth=max(10, max_burst))
    ack = node.create_publisher(String, "/bench/image_rate_ack", burst_qos)
    counts: dict[str, int] = {}

    def on_rate_image(img: Image) -> None:
        run = img.header.frame_id
        counts[run] = counts.get(run, 0) + 1
        ack.publish(String(data=f"{run} {counts[run]}"))

    return [twist_pong, image_pong, ack,
            node.create_subscription(Twist, "/bench/twist_ping", twist_pong.publish, LATENCY_QOS),
            node.create_subscription(Image, "/bench/image_ping", image_pong.publish, LATENCY_QOS),
            node.create_subscription(Image, "/bench/image_rate", on_rate_image, burst_qos)]


def run_peer(transport: str, max_burst: int, lifetime_s: float) -> int:
    """The echo process: prints READY, exits when stdin closes or after `lifetime_s`."""
    ctx = comm.Context(transport=transport)
    node = comm.Node("bench_echo", context=ctx)
    keep = setup_echo(node, max_burst)  # noqa: F841  (endpoints live as long as the node)
    return serve(ctx, [node], lifetime_s)


class _Echo:
    """The echo node for one transport: a thread (inproc) or a process (anything else)."""

    def __init__(self, transport: str, ctx: comm.Context, max_burst: int):
        self.peer = self._thread = None
        if transport == "inproc":
            self.node = comm.Node("bench_echo", context=ctx)
            self._keep = setup_echo(self.node, max_burst)
            self.executor = comm.Executor([self.node])
            self._thread = threading.Thread(target=self.executor.spin, name="bench-echo", daemon=True)
            self._thread.start()
            return
        self.peer = PeerProcess(
            [sys.executable, "-m", "robomatrix.bench.comm", "--peer", "--transports", transport,
             "--n-image", str(max_burst)], what=f"{transport} echo process", start_timeout_s=PEER_START_TIMEOUT_S)

    def close(self) -> None:
        if self._thread is not None:
            self.executor.shutdown()
            self._thread.join(5)
            self.node.destroy_node()
        if self.peer is not None:
            self.peer.close()


# ----------------------------------------------------------------------------- bench side
def _percentiles_ms(samples_ns: list[int]) -> dict:
    if not samples_ns:
        return {"p50": None, "p99": None, "n": 0}
    arr = np.asarray(samples_ns, dtype=np.float64) / 1e6
    return {"p50": round(float(np.percentile(arr, 50)), 4), "p99": round(float(np.percentile(arr, 99)), 4),
            "mean": round(float(arr.mean()), 4), "n": int(arr.size)}


def _ping_pong(node, executor, msg_type, ping_topic, pong_topic, make_msg, tag_of, n: int) -> dict:
    """Half round trips (ns) of `n` pings, one in flight, after matching and a warm-up.

    `make_msg(i)` builds ping i; `tag_of(msg)` reads i back, so a late echo of a lost ping
    is never taken for the current one."""
    pongs: set = set()
    sub = node.create_subscription(msg_type, pong_topic, lambda m: pongs.add(tag_of(m)), LATENCY_QOS)
    pub = node.create_publisher(msg_type, ping_topic, LATENCY_QOS)
    try:
        deadline = time.monotonic() + PEER_START_TIMEOUT_S
        while not pongs:  # both directions matched once a ping comes back
            if time.monotonic() > deadline:
                raise RuntimeError(f"no echo on '{pong_topic}' within {PEER_START_TIMEOUT_S:.0f} s")
            pub.publish(make_msg(-1))
            executor.spin_until(lambda: bool(pongs), 0.2)
        executor.spin_until(lambda: False, 0.1)  # drain stray echoes of the matching pings
        half_rtts, lost = [], 0
        for i in range(WARMUP + n):
            msg = make_msg(i)
            start = time.perf_counter_ns()
            pub.publish(msg)
            if not executor.spin_until(lambda i=i: i in pongs, PING_TIMEOUT_S):
                lost += 1
                continue
            elapsed = time.perf_counter_ns() - start
            if i >= WARMUP:
                half_rtts.append(elapsed // 2)
        return {**_percentiles_ms(half_rtts), "lost": lost}
    finally:
        sub.destroy()
        pub.destroy()


def _image_rate(node, executor, image: Image, n: int, run: str) -> dict:
    """Publish `n` images back to back; rate from the echo's acknowledgements."""
    acked: dict[str, int] = {}
    last_ack_ns = [0]

    def on_ack(msg: String) -> None:
        tag, _, count = msg.data.partition(" ")
        acked[tag] = max(acked.get(tag, 0), int(count))
        last_ack_ns[0] = time.perf_counter_ns()

    qos = comm.QoSProfile(depth=max(10, n))
    sub = node.create_subscription(String, "/bench/image_rate_ack", on_ack, qos)
    pub = node.create_publisher(Image, "/bench/image_rate", qos)
    try:
        deadline = time.monotonic() + PEER_START_TIMEOUT_S
        image.header.frame_id = run + "-warmup"
        while not acked:  # an acknowledged image: both directions are matched
            if time.monotonic() > deadline:
                raise RuntimeError("the image-rate echo never acknowledged")
            pub.publish(image)
            executor.spin_until(lambda: bool(acked), 0.2)
        executor.spin_until(lambda: False, 0.1)
        image.header.frame_id = run
        start = time.perf_counter_ns()
        for _ in range(n):
            pub.publish(image)
            executor.spin_once(0)  # take acknowledgements as they come
        executor.spin_until(lambda: acked.get(run, 0) >= n, 30.0)
        done = acked.get(run, 0)
        seconds = (last_ack_ns[0] - start) / 1e9
        return {"images": n, "acknowledged": done, "seconds": round(seconds, 4),
                "rate_hz": round(done / seconds, 1) if done else 0.0,
                "megabytes_per_s": round(done * len(image.data) / seconds / 1e6, 1) if done else 0.0}
    finally:
        sub.destroy()
        pub.destroy()


def bench_transport(transport: str, n_twist: int, n_image: int, n_rate: int, width: int, height: int) -> dict:
    ctx = comm.Context(transport=transport)
    echo = None
    try:
        echo = _Echo(transport, ctx, n_rate)
        node = comm.Node("bench_pinger", context=ctx)
        executor = comm.Executor([node])
        pixels = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8).tobytes()

        def image(i: int) -> Image:
            img = Image(height=height, width=width, encoding="rgb8", step=width * 3, data=pixels)
            img.header.frame_id = f"ping-{i}"
            return img

        twist = _ping_pong(node, executor, Twist, "/bench/twist_ping", "/bench/twist_pong",
                           lambda i: Twist(linear=Vector3(x=float(i))), lambda m: int(m.linear.x), n_twist)
        image_latency = _ping_pong(node, executor, Image, "/bench/image_ping", "/bench/image_pong", image,
                                   lambda m: int(m.header.frame_id.removeprefix("ping-")), n_image)
        rate = _image_rate(node, executor, image(0), n_rate, run=f"rate-{os.getpid()}-{time.monotonic_ns()}")
        executor.shutdown()
        return {"twist_latency_ms": twist, "image_latency_ms": image_latency,
                "image_rate_hz": rate["rate_hz"], "image_rate": rate,
                "across_processes": transport != "inproc"}
    finally:
        if echo is not None:
            echo.close()
        ctx.shutdown()


def run_comm_bench(transports: list[str] | None = None, n_twist: int = 1000, n_image: int = 300,
                   n_rate: int = 300, width: int = 640, height: int = 480, progress=None) -> dict:
    """Benchmark each transport (default: inproc and dds, where available); a JSON-able dict."""
    available = comm.available_transports()
    transports = list(transports or [t for t in ("inproc", "dds") if t in available])
    for name in transports:
        if name not in available:
            raise UsageError(f"Transport '{name}' is not available here (available: {', '.join(available)}).")
    for label, value in (("n_twist", n_twist), ("n_image", n_image), ("n_rate", n_rate),
                         ("width", width), ("height", height)):
        if not isinstance(value, int) or value < 1:
            raise UsageError(f"bench comm: {label} must be a positive integer, got {value!r}")
    results = {}
    for name in transports:
        if progress:
            progress(f"bench comm: {name} ...")
        results[name] = bench_transport(name, n_twist, n_image, n_rate, width, height)
    checks = {}
    dds = results.get("dds")
    if dds is not None:
        checks = {
            "dds_twist_latency_p50_ms_max": (dds["twist_latency_ms"]["p50"] or float("inf"))
            <= TARGETS["dds_twist_latency_p50_ms_max"],
            "dds_image_latency_p50_ms_max": (dds["image_latency_ms"]["p50"] or float("inf"))
            <= TARGETS["dds_image_latency_p50_ms_max"],
            "dds_image_rate_hz_min": dds["image_rate_hz"] >= TARGETS["dds_image_rate_hz_min"],
        }
    return {
        "benchmark": "comm",
        "level": "node",
        "latency_method": "round trip / 2 on one clock (perf_counter_ns), one message in flight",
        "image": {"width": width, "height": height, "encoding": "rgb8", "bytes": width * height * 3},
        "transports": results,
        "targets": TARGETS,
        "target_checks": checks,
        "meets_targets": bool(checks) and all(checks.values()),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="robomatrix bench comm", description=__doc__.splitlines()[0])
    ap.add_argument("--transports", default="", help="comma-separated (default: inproc,dds)")
    ap.add_argument("--n-twist", type=int, default=1000)
    ap.add_argument("--n-image", type=int, default=300, help="image pings, and images in the rate burst")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--peer", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--lifetime", type=float, default=600.0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    names = [t for t in args.transports.split(",") if t] or None
    if args.peer:
        return run_peer((names or ["dds"])[0], args.n_image, args.lifetime)
    result = run_comm_bench(names, n_twist=args.n_twist, n_image=args.n_image, n_rate=args.n_image,
                            progress=None if args.json else print)
    if args.json:
        print(json.dumps(result))
    else:
        for name, r in result["transports"].items():
            print(f"{name:7s} twist p50 {r['twist_latency_ms']['p50']} ms p99 {r['twist_latency_ms']['p99']} ms | "
                  f"image p50 {r['image_latency_ms']['p50']} ms p99 {r['image_latency_ms']['p99']} ms | "
                  f"image rate {r['image_rate_hz']} Hz")
        print(f"meets targets: {result['meets_targets']} {result['target_checks']}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
