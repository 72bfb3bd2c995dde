"""Simulation backends (MuJoCo, PyBullet), robot description, scene specs, task suite."""
