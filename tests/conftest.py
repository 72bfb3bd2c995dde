"""Test-session settings that must hold before any test module imports a renderer."""
import os

# MuJoCo picks its GL backend at import: EGL renders offscreen on this CPU (Mesa). A test module
# importing mujoco before this is set would abort the whole process.
os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
# DDS in tests stays on loopback (robomatrix.comm.dds defaults to it; this makes it explicit).
os.environ.setdefault("ROBOMATRIX_DISCOVERY", "localhost")
# A DDS domain of this test session's own, inherited by the peer processes it starts: two test
# sessions on one machine (two checkouts, a CI job beside a developer) never hear each other's
# echo peers. Domain ids 100..232 keep clear of the default 0; ports stay below 65535.
os.environ.setdefault("ROS_DOMAIN_ID", str(100 + os.getpid() % 133))
