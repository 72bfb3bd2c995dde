"""Training samples from a dataset folder: (frame, proprio, instruction embedding, action chunk, done).

`ChunkDataset` is a torch `Dataset`. It reads every episode's small arrays and compressed frames
once (kilobytes per step), decodes an episode's frames the first time one of them is asked for,
resizes them to `image_size` and keeps them in RAM (64x64 RGB is 12 KB a frame), so an epoch
after the first touches no disk and no JPEG decoder. Each instruction is embedded once.

A sample at step t of an episode with T steps:
- `image` (3, S, S) uint8, `proprio` (P,) float32 (raw units; the model normalises);
  The values the model config does not give a skill (`proprio_dropped_by_skill`) are NaN;
- `target` (len(TARGET_NAMES),) float32: perception's belief about the call's object, for the skills
  in `target_skills` (the model config's); zeros for every other skill, as at run time; its facing values
  only for the skills in `facing_skills` (zeros for the other target skills);
- `direction` (len(DIRECTION_NAMES),) float32: the call's direction argument as a one-hot, for the
  skills in `direction_skills`; zeros for every other skill;
- `instruction` (D,) float32 embedding of the episode's instruction;
- `actions` (K, A) float32: actions t … t+K-1, steps past the end repeat the last action and
  have `action_mask` False (ACT's padding);
- `done` float32: 1 for the last `done_window_steps + 1` steps of a successful episode; in a
  DAgger episode (`source="dagger"`, skills.data.dagger) 1 where the expert's done flag is set
  within the next `done_window_steps + 1` steps (the learner may have driven on past it). Where the
  expert took over after the learner's stop (`early_stop="handover"`) and stopped itself within
  `HANDOVER_STOP_SLACK_STEPS`, the learner's stop was right (the expert only waited out its
  "settled" test): done from the hand-over on, else the network learns to stop later than the expert.

`batch(indices)` builds a whole batch with array indexing (what the trainer uses; faster than
collating dicts).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np
import torch

from robomatrix.skills.data.format import (
    DIRECTION_NAMES,
    DatasetReader,
    Episode,
    direction_vector,
    proprio_drop_mask,
    target_input,
)

HANDOVER_STOP_SLACK_STEPS = 10  # 0.5 s at 20 Hz


def dagger_done_flags(ep: Episode) -> np.ndarray:
    """The done flags a DAgger episode trains on: the expert's, and true from a hand-over on when the
    expert stopped within HANDOVER_STOP_SLACK_STEPS of it (module docstring)."""
    done = np.asarray(ep.done, bool).copy()
    h = int(ep.meta.get("outcome", {}).get("handover_tick", -1))
    if 0 <= h < len(done):
        after = np.flatnonzero(done[h:])
        if len(after) and after[0] <= HANDOVER_STOP_SLACK_STEPS:
            done[h:h + after[0]] = True
    return done


def embed_instructions(texts: list[str]) -> np.ndarray:
    """(n, 384) MiniLM embeddings of `texts` (the offline model, loaded once per process)."""
    from robomatrix.planners.embeddings import get_embedder

    return get_embedder().embed(list(texts))


def split_episodes(n: int, val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """(train ids, validation ids): a seeded shuffle; at least one of each when n >= 2."""
    ids = np.random.default_rng(seed).permutation(n).tolist()
    n_val = min(max(1 if n >= 2 else 0, int(round(n * val_fraction))), n - 1) if n >= 2 else 0
    return sorted(ids[n_val:]), sorted(ids[:n_val])


class ChunkDataset(torch.utils.data.Dataset):
    """Samples of the episodes `episode_ids` of dataset `root` (see module docstring)."""

    def __init__(self, root, episode_ids: Sequence[int] | None = None, *, image_size: int = 64,
                 chunk_size: int = 10, done_window_steps: int = 2, target_skills: Sequence[str] = (),
                 direction_skills: Sequence[str] = (), facing_skills: Sequence[str] = (),
                 proprio_dropped_by_skill: dict | None = None,
                 embed: Callable[[list[str]], np.ndarray] = embed_instructions, reader: DatasetReader | None = None):
        self.reader = reader or DatasetReader(root)
        ids = list(range(len(self.reader))) if episode_ids is None else list(episode_ids)
        self.episodes: list[Episode] = [self.reader.load(i) for i in ids]
        self.image_size, self.chunk_size, self.done_window_steps = image_size, chunk_size, done_window_steps
        texts = sorted({ep.meta["instruction"] for ep in self.episodes})
        vectors = np.asarray(embed(texts), np.float32) if texts else np.zeros((0, 1), np.float32)
        self.instruction_vectors = dict(zip(texts, vectors))
        self._instr = np.stack([self.instruction_vectors[ep.meta["instruction"]] for ep in self.episodes]) \
            if self.episodes else np.zeros((0, 1), np.float32)
        self._dagger_done = {e: dagger_done_flags(ep) for e, ep in enumerate(self.episodes)
                             if ep.meta.get("source") == "dagger"}
        for ep in self.episodes:  # the input the network gets only for these skills, as at run time
            ep.target = target_input(ep.target, ep.meta["skill"], target_skills, facing_skills)
        self._direction = np.stack([direction_vector(ep.meta.get("args", {})) if ep.meta["skill"] in direction_skills
                                    else np.zeros(len(DIRECTION_NAMES), np.float32) for ep in self.episodes]) \
            if self.episodes else np.zeros((0, len(DIRECTION_NAMES)), np.float32)
        self._dropped = np.stack([proprio_drop_mask(proprio_dropped_by_skill or {}, ep.meta["skill"])
                                  for ep in self.episodes]) if self.episodes else np.zeros((0, 0), bool)
        lengths = np.array([len(ep) for ep in self.episodes], np.int64)
        self._episode_of = np.repeat(np.arange(len(self.episodes)), lengths)
        self._step_of = np.concatenate([np.arange(n) for n in lengths]) if len(lengths) else np.zeros(0, np.int64)
        self._frames: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._episode_of)

    def frames(self, e: int) -> np.ndarray:
        """(T, S, S, 3) uint8 frames of episode e, decoded and resized once, then cached."""
        if e not in self._frames:
            ep, s = self.episodes[e], self.image_size
            self._frames[e] = np.stack([cv2.resize(ep.rgb(t), (s, s), interpolation=cv2.INTER_AREA)
                                        for t in range(len(ep))])
        return self._frames[e]

    def _chunk(self, e: int, t: int):
        ep = self.episodes[e]
        n = len(ep)
        idx = np.arange(t, t + self.chunk_size)
        mask = idx < n
        actions = ep.action[np.minimum(idx, n - 1)]
        if e in self._dagger_done:  # the expert's done flag on every tick it would have stopped
            done = float(self._dagger_done[e][t:t + self.done_window_steps + 1].any())
        else:
            done = float(bool(ep.meta.get("success", True)) and t >= n - 1 - self.done_window_steps)
        return actions, mask, done

    def _proprio(self, es: np.ndarray, proprio: np.ndarray) -> np.ndarray:
        """Rows of episodes `es` with the values their skill is not given set to NaN (a copy)."""
        proprio = np.array(proprio, np.float32)
        proprio[self._dropped[es]] = np.nan
        return proprio

    def __getitem__(self, i: int) -> dict:
        e, t = int(self._episode_of[i]), int(self._step_of[i])
        actions, mask, done = self._chunk(e, t)
        return {"image": torch.from_numpy(np.ascontiguousarray(self.frames(e)[t].transpose(2, 0, 1))),
                "proprio": torch.from_numpy(self._proprio(np.array([e]), self.episodes[e].proprio[t][None])[0]),
                "target": torch.from_numpy(self.episodes[e].target[t].copy()),
                "instruction": torch.from_numpy(self._instr[e].copy()),
                "direction": torch.from_numpy(self._direction[e].copy()),
                "actions": torch.from_numpy(actions), "action_mask": torch.from_numpy(mask),
                "done": torch.tensor(done, dtype=torch.float32)}

    def batch(self, indices) -> dict:
        """The samples `indices` stacked into tensors (same keys as one sample, batch first)."""
        indices = np.asarray(indices, np.int64)
        es, ts = self._episode_of[indices], self._step_of[indices]
        images = np.stack([self.frames(int(e))[int(t)] for e, t in zip(es, ts)]).transpose(0, 3, 1, 2)
        chunks = [self._chunk(int(e), int(t)) for e, t in zip(es, ts)]
        return {"image": torch.from_numpy(np.ascontiguousarray(images)),
                "proprio": torch.from_numpy(self._proprio(es, np.stack([self.episodes[int(e)].proprio[int(t)]
                                                                        for e, t in zip(es, ts)]))),
                "target": torch.from_numpy(np.stack([self.episodes[int(e)].target[int(t)] for e, t in zip(es, ts)])),
                "instruction": torch.from_numpy(self._instr[es]),
                "direction": torch.from_numpy(self._direction[es]),
                "actions": torch.from_numpy(np.stack([c[0] for c in chunks])),
                "action_mask": torch.from_numpy(np.stack([c[1] for c in chunks])),
                "done": torch.tensor([c[2] for c in chunks], dtype=torch.float32)}

    def statistics(self) -> dict:
        """Mean and std of proprio and action over every step, and of the embeddings over the distinct
        instructions (the model's normalisation)."""
        proprio = np.concatenate([ep.proprio for ep in self.episodes])
        action = np.concatenate([ep.action for ep in self.episodes])
        texts = np.stack(list(self.instruction_vectors.values()))
        return {"proprio_mean": proprio.mean(0).tolist(), "proprio_std": proprio.std(0).tolist(),
                "action_mean": action.mean(0).tolist(), "action_std": action.std(0).tolist(),
                "instruction_mean": texts.mean(0).tolist(), "instruction_std": texts.std(0).tolist()}

    def skill_balanced_weights(self, skill_weights: dict[str, float] | None = None) -> np.ndarray:
        """Per-sample weights (sum 1) giving every skill the same share of an epoch, or, with
        `skill_weights` ({skill: w}, 1 for skills not named), a share proportional to its w."""
        skills = np.array([self.episodes[int(e)].meta["skill"] for e in self._episode_of])
        weights = np.zeros(len(skills))
        names = np.unique(skills)
        share = {str(n): float((skill_weights or {}).get(str(n), 1.0)) for n in names}
        total = sum(share.values())
        for name in names:
            members = skills == name
            weights[members] = share[str(name)] / (members.sum() * total)
        return weights
