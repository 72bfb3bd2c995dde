"""Simulation backends (MuJoCo, PyBullet), robot description, scene specs, task suite."""
import os

# MuJoCo picks its OpenGL platform when first imported: offscreen EGL unless the user chose one.
os.environ.setdefault("MUJOCO_GL", "egl")
