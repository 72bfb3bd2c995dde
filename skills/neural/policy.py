"""The `neural` SkillPolicy: runs the trained network in the skill runner's closed loop.

At `reset` the instruction sentence of the call (skills.data.instructions) is embedded once with
the offline MiniLM model; every tick the latest camera frame (the runner sends one every n ticks;
in between the last one is reused) is resized to the model's input, proprioception is computed
exactly as in the recorded demonstrations, and the network predicts a chunk of K future actions
and a done probability. Overlapping chunks are blended by temporal ensembling (ACT): the action
for tick t averages every chunk that covers t with weights exp(-ensemble_decay * age), newest
first, which keeps the commands smooth (the config may set the decay per skill:
`ensemble_decay_by_skill`). The skill ends when the done probability exceeds the config's
`done_threshold`; the runner then checks the skill's postcondition as usual.

The checkpoint is `checkpoints/neural_skills` in the source tree, or the folder named by the
environment variable ROBOMATRIX_NEURAL_CHECKPOINT (or `set_checkpoint(path)`). It is loaded once
per process, on CUDA when present (ROBOMATRIX_NEURAL_DEVICE=cpu|cuda overrides); on CPU torch uses
one thread (ROBOMATRIX_TORCH_THREADS overrides). A skill the
checkpoint was not trained on runs its scripted policy instead, said once on stderr and in every
step's message (`fallback` is True on the policy).
"""
from __future__ import annotations

import math
import os
import sys
import threading
from pathlib import Path

import cv2
import numpy as np

from robomatrix.hardware.robot import Action
from robomatrix.skills.data.format import (
    direction_vector,
    proprio_drop_mask,
    proprio_vector,
    target_input,
    target_object,
    target_vector,
)
from robomatrix.skills.data.instructions import instruction_text
from robomatrix.skills.neural.config import ensemble_decay_for
from robomatrix.skills.policies.base import PolicyStep, SkillPolicy

CHECKPOINT_ENV = "ROBOMATRIX_NEURAL_CHECKPOINT"
DEVICE_ENV = "ROBOMATRIX_NEURAL_DEVICE"
THREADS_ENV = "ROBOMATRIX_TORCH_THREADS"
DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[2] / "checkpoints" / "neural_skills"

_LOCK = threading.Lock()
_MODELS: dict[tuple[str, str], tuple] = {}
_CHECKPOINT: Path | None = None
_WARNED: set[str] = set()


def set_checkpoint(path) -> None:
    """Use checkpoint folder `path` for every neural policy made from now on (None: the default)."""
    global _CHECKPOINT
    _CHECKPOINT = Path(path) if path is not None else None


def checkpoint_path() -> Path:
    if _CHECKPOINT is not None:
        return _CHECKPOINT
    return Path(os.environ[CHECKPOINT_ENV]) if os.environ.get(CHECKPOINT_ENV) else DEFAULT_CHECKPOINT


def runtime_device() -> str:
    import torch

    wanted = os.environ.get(DEVICE_ENV, "auto")
    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    from robomatrix.skills.neural.train import resolve_device

    return str(resolve_device(wanted))


def load_policy_model(path=None, device: str | None = None):
    """(model, checkpoint config dict), loaded once per (folder, device)."""
    from robomatrix.skills.neural.checkpoint import load_checkpoint

    path = Path(path) if path is not None else checkpoint_path()
    device = device or runtime_device()
    key = (str(path.resolve()), device)
    with _LOCK:
        if key not in _MODELS:
            if device == "cpu":
                import torch

                # batch-1 inference of a small net is latency-bound: extra OpenMP threads only spin
                # against the simulator and the renderer on the same cores
                torch.set_num_threads(int(os.environ.get(THREADS_ENV, "1")))
            _MODELS[key] = load_checkpoint(path, device=device)
        return _MODELS[key]


class TemporalEnsembler:
    """Blends overlapping action chunks: the action at tick t averages every chunk predicted at
    t0 <= t < t0 + K with weight exp(-decay * (t - t0)) (ACT's temporal ensembling, but with the newest
    chunk weighted most: ACT's weights favour the oldest)."""

    def __init__(self, chunk_size: int, decay: float):
        self.chunk_size, self.decay = chunk_size, decay
        self.chunks: list[tuple[int, np.ndarray]] = []

    def reset(self) -> None:
        self.chunks = []

    def add(self, t: int, chunk: np.ndarray) -> None:
        self.chunks.append((t, np.asarray(chunk, np.float64)))
        self.chunks = [(t0, c) for t0, c in self.chunks if t - t0 < self.chunk_size]

    def action(self, t: int) -> np.ndarray:
        rows, weights = [], []
        for t0, chunk in self.chunks:
            if 0 <= t - t0 < self.chunk_size:
                rows.append(chunk[t - t0])
                weights.append(math.exp(-self.decay * (t - t0)))
        if not rows:
            raise ValueError(f"no chunk covers tick {t}")
        w = np.asarray(weights)
        return (np.asarray(rows) * w[:, None]).sum(0) / w.sum()


class NeuralSkillPolicy(SkillPolicy):
    """One execution of one skill with the trained network (see module docstring)."""

    def __init__(self, checkpoint=None, device: str | None = None):
        self.checkpoint, self.device = checkpoint, device
        self.fallback: SkillPolicy | None = None
        self.last_done_probability = 0.0

    def reset(self, args, state, obs) -> None:
        import torch

        from robomatrix.skills.data.loader import embed_instructions

        self.model, doc = load_policy_model(self.checkpoint, self.device)
        self.fallback = None
        if self.skill not in doc.get("skills", []):
            from robomatrix.skills.registry import make_policy

            if self.skill not in _WARNED:
                _WARNED.add(self.skill)
                print(f"robomatrix: the neural checkpoint was not trained on '{self.skill}'; running its scripted "
                      "policy instead.", file=sys.stderr)
            self.fallback = make_policy("scripted", self.skill)
            self.fallback.reset(args, state, obs)
            return
        self._torch = torch
        cfg = self.model.config
        dev = next(self.model.parameters()).device
        self.instruction = instruction_text(self.skill, args, state)
        self._embedding = torch.as_tensor(embed_instructions([self.instruction]), device=dev)
        self._ensembler = TemporalEnsembler(cfg.chunk_size, ensemble_decay_for(cfg, self.skill))
        self._start_obs, self._tick, self._image = obs, 0, None
        self._dev = dev
        self._target_name = target_object(self.skill, args) if self.skill in cfg.target_skills else None
        self._direction = (torch.as_tensor(direction_vector(args), device=dev)[None]
                           if self.skill in cfg.direction_skills else None)
        self._dropped = proprio_drop_mask(cfg.proprio_dropped_by_skill, self.skill)
        self._set_image(obs)

    def _set_image(self, obs) -> None:
        if obs.rgb is None:
            return
        s = self.model.config.image_size
        small = cv2.resize(obs.rgb, (s, s), interpolation=cv2.INTER_AREA)
        self._image = self._torch.from_numpy(np.ascontiguousarray(small.transpose(2, 0, 1)))[None].to(self._dev)

    def predict(self, obs, state=None) -> tuple[np.ndarray, float]:
        """(unnormalised action chunk (K, A), done probability) for `obs` with the last camera frame and,
        for a skill in the config's `target_skills`, perception's belief about the call's object in
        `state` (the PerceptionState; its facing values only for `facing_skills`); a skill in
        `direction_skills` also gets its direction argument."""
        torch = self._torch
        self._set_image(obs)
        if self._image is None:
            raise RuntimeError("the neural policy has no camera frame yet (reset needs a camera observation)")
        values = proprio_vector(obs, self._start_obs)
        values[self._dropped] = np.nan  # not given to this skill (the model reads the training mean)
        proprio = torch.as_tensor(values, device=self._dev)[None]
        with torch.inference_mode():
            target = None
            if self._target_name is not None:
                values = target_input(target_vector(state, self._target_name), self.skill,
                                      self.model.config.target_skills, self.model.config.facing_skills)
                target = torch.as_tensor(values, device=self._dev)[None]
            actions, done_logit = self.model(self._image, proprio, self._embedding, target, self._direction)
            chunk = self.model.unnormalise_actions(actions)[0].float().cpu().numpy()
        return chunk, float(torch.sigmoid(done_logit.float())[0])

    def act(self, state, obs) -> PolicyStep:
        if self.fallback is not None:
            step = self.fallback.act(state, obs)
            step.message = f"scripted fallback: {step.message}"
            return step
        chunk, p_done = self.predict(obs, state)
        self._ensembler.add(self._tick, chunk)
        a = self._ensembler.action(self._tick)
        self._tick += 1
        self.last_done_probability = p_done
        action = Action((float(a[0]), float(a[1]), float(a[2])), (float(a[3]), float(a[4])),
                        float(min(max(a[5], 0.0), 1.0)))
        done = p_done > self.model.config.done_threshold
        return PolicyStep(action, done=done, success=None, progress=p_done,
                          message=f"neural: {self.instruction} (done p={p_done:.2f})")
