"""Tiny synthetic datasets in the real on-disk format, for the dataset/neural/train tests."""
from __future__ import annotations

import numpy as np

from robomatrix.skills.data.format import ACTION_NAMES, PROPRIO_NAMES, DatasetWriter, EpisodeMeta

EPISODES = (("grasp", "grasp the red can", 12), ("nudge", "nudge left by 5 cm", 7),
            ("grasp", "grasp the blue can", 9), ("nudge", "nudge up by 3 cm", 5))


def write_tiny_dataset(root, episodes=EPISODES, size=(40, 30), seed=0):
    """Random frames and arrays that follow the format; returns the written EpisodeMeta list."""
    rng = np.random.default_rng(seed)
    writer = DatasetWriter(root)
    metas = []
    for skill, instruction, steps in episodes:
        w, h = size
        rgb = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(steps)]
        depth = [rng.uniform(0.2, 2.0, (h, w)).astype(np.float32) for _ in range(steps)]
        proprio = rng.normal(size=(steps, len(PROPRIO_NAMES))).astype(np.float32)
        action = rng.normal(size=(steps, len(ACTION_NAMES))).astype(np.float32)
        done = np.zeros(steps, bool)
        done[-1] = True
        meta = EpisodeMeta(skill=skill, instruction=instruction, steps=steps, success=True, source="scripted",
                           scene="pick", seed=len(metas), phases=["a", "b"])
        metas.append(writer.add(meta, rgb, depth, proprio, action, done, phase=np.arange(steps) % 2,
                                progress=np.linspace(0, 1, steps)))
    return metas
