"""Test-session settings that must hold before any test module imports a renderer."""
import os

# MuJoCo picks its GL backend at import: EGL renders offscreen on this CPU (Mesa). A test module
# importing mujoco before this is set would abort the whole process.
os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
# DDS in tests stays on loopback (robomatrix.comm.dds defaults to it; this makes it explicit).
os.environ.setdefault("ROBOMATRIX_DISCOVERY", "localhost")
