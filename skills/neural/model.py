"""The network: camera image + proprioception + instruction embedding → action chunk + done logit.

    image (B, 3, S, S) uint8 ─ conv blocks (stride 2, GroupNorm, FiLM from the instruction, SiLU) ─┐
        └ (optional) spatial-softmax keypoints of one block's map: K expected (x, y) ───────────────┤
    proprio (B, P) ─ normalised, selected ─┬─ linear ──────────────────────────────────────────────┼─ MLP ─┬─ (B, K, A) actions
    (optional) target (B, 5 or 8), raw ────┘ (perception's belief about the call's object)        │
    instruction (B, 384) ─ standardised ─ linear ──────────────────────────────────────────────────┘ (FiLM) └─ (B,) done logit
        └ + (optional) linear(direction one-hot (B, 6)): the call's direction argument, for `direction_skills`

Actions come out normalised (zero mean, unit std per dimension, statistics from the training
data kept as buffers); `unnormalise_actions` maps them back to metres, m/s and gripper units.
"""
from __future__ import annotations

import torch
from torch import nn

from robomatrix.skills.neural.config import NeuralPolicyConfig

ADDED_INPUTS = ("target_in.", "direction_in.")  # inputs a checkpoint without them can gain (`load_widened`)
NORMALISATION_KEYS = ("proprio_mean", "proprio_std", "action_mean", "action_std", "instruction_mean",
                      "instruction_std")


class FiLMBlock(nn.Module):
    """conv 3x3 stride 2 → GroupNorm → FiLM(gamma, beta from the instruction) → SiLU."""

    def __init__(self, c_in: int, c_out: int, groups: int, cond_dim: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, stride=2, padding=1)
        self.norm = nn.GroupNorm(groups, c_out)
        self.film = nn.Linear(cond_dim, 2 * c_out)
        nn.init.zeros_(self.film.weight)  # starts as identity: gamma = 1, beta = 0
        nn.init.zeros_(self.film.bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.film(cond).chunk(2, dim=-1)
        h = self.norm(self.conv(x))
        h = h * (1.0 + gamma[:, :, None, None]) + beta[:, :, None, None]
        return nn.functional.silu(h)


class SpatialSoftmax(nn.Module):
    """1x1 conv to K maps, softmax over each map's pixels, expected (x, y) in -1..1: (B, 2K)."""

    def __init__(self, c_in: int, keypoints: int):
        super().__init__()
        self.proj = nn.Conv2d(c_in, keypoints, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        weights = torch.softmax(self.proj(x).flatten(2).float(), dim=-1).view(b, -1, h, w)
        ys = torch.linspace(-1.0, 1.0, h, device=x.device)
        xs = torch.linspace(-1.0, 1.0, w, device=x.device)
        ex = (weights.sum(2) * xs).sum(-1)
        ey = (weights.sum(3) * ys).sum(-1)
        return torch.cat([ex, ey], dim=-1)


class SkillPolicyNet(nn.Module):
    """One network for every meta-skill, conditioned on the instruction (see module docstring)."""

    def __init__(self, config: NeuralPolicyConfig):
        super().__init__()
        self.config = c = config
        blocks, c_in = [], 3
        for c_out in c.channels:
            blocks.append(FiLMBlock(c_in, c_out, c.groups, c.instruction_dim))
            c_in = c_out
        self.blocks = nn.ModuleList(blocks)
        side = c.image_size // 2 ** len(c.channels)
        self.image_head = nn.Sequential(nn.Flatten(), nn.Linear(c_in * side * side, c.hidden_dim), nn.SiLU())
        from robomatrix.skills.data.format import (
            DIRECTION_NAMES,
            PROPRIO_NAMES,
            TARGET_BASE_WIDTH,
            TARGET_NAMES,
        )

        self.register_buffer("proprio_index", torch.tensor([PROPRIO_NAMES.index(n) for n in c.proprio_inputs]),
                             persistent=False)
        self.proprio_head = nn.Sequential(nn.Linear(len(c.proprio_inputs), c.hidden_dim // 4), nn.SiLU())
        # the target joins the proprioception layer's pre-activation through its own weights (zero at first:
        # a checkpoint without them gains the input unchanged, and the trainer can give them their own LR)
        width = len(TARGET_NAMES) if c.facing_skills else TARGET_BASE_WIDTH  # the facing values or not
        self.target_in = nn.Linear(width, c.hidden_dim // 4, bias=False) if c.target_skills else None
        if self.target_in is not None:
            nn.init.zeros_(self.target_in.weight)
        # the direction one-hot is added to the standardised instruction through its own weights (zero at
        # first, like target_in): whatever the instruction conditions, the direction conditions too
        self.direction_in = (nn.Linear(len(DIRECTION_NAMES), c.instruction_dim, bias=False)
                             if c.direction_skills else None)
        if self.direction_in is not None:
            nn.init.zeros_(self.direction_in.weight)
        self.text_head = nn.Sequential(nn.Linear(c.instruction_dim, c.hidden_dim // 4), nn.SiLU())
        fused = c.hidden_dim + 2 * (c.hidden_dim // 4) + 2 * c.keypoints
        self.keypoints = SpatialSoftmax(c.channels[c.keypoint_block], c.keypoints) if c.keypoints else None
        self.trunk = nn.Sequential(nn.Linear(fused, c.hidden_dim), nn.SiLU(), nn.Dropout(c.dropout),
                                   nn.Linear(c.hidden_dim, c.hidden_dim), nn.SiLU())
        self.trunk_film = nn.Linear(c.instruction_dim, 2 * c.hidden_dim) if c.trunk_film else None
        if self.trunk_film is not None:
            nn.init.zeros_(self.trunk_film.weight)  # starts as identity
            nn.init.zeros_(self.trunk_film.bias)
        self.action_out = nn.Linear(c.hidden_dim, c.chunk_size * c.action_dim)
        self.done_out = nn.Linear(c.hidden_dim, 1)
        # instruction embeddings are standardised per dimension over the training instructions: MiniLM
        # puts "nudge left by 5 cm" and "nudge right by 5 cm" at cosine 0.95, the difference is small
        for name, dim in (("proprio", c.proprio_dim), ("action", c.action_dim), ("instruction", c.instruction_dim)):
            self.register_buffer(f"{name}_mean", torch.zeros(dim))
            self.register_buffer(f"{name}_std", torch.ones(dim))

    def load_widened(self, other: SkillPolicyNet) -> None:
        """Copy the weights and normalisation of `other`, a model with the same config or one without the
        target or direction input, or with a target input without the facing values: then `target_in` /
        `direction_in` (or the facing's columns of `target_in`) stay at zero, so the outputs are `other`'s
        until trained."""
        state = other.state_dict()
        theirs = state.get("target_in.weight")
        if self.target_in is not None and theirs is not None and theirs.shape[1] < self.target_in.in_features:
            pad = theirs.new_zeros(theirs.shape[0], self.target_in.in_features - theirs.shape[1])
            state["target_in.weight"] = torch.cat([theirs, pad], dim=1)
        missing, unexpected = self.load_state_dict(state, strict=False)
        if unexpected or any(not key.startswith(ADDED_INPUTS) for key in missing):
            raise ValueError(f"cannot widen: missing {missing}, unexpected {unexpected}")

    @classmethod
    def from_config(cls, config: NeuralPolicyConfig) -> SkillPolicyNet:
        return cls(config)

    def set_normalisation(self, stats: dict) -> None:
        """stats: {"proprio_mean", "proprio_std", "action_mean", "action_std"[, "instruction_mean",
        "instruction_std"]} → buffers (std floored: 1e-3, instructions 0.02)."""
        for key in NORMALISATION_KEYS:
            if key not in stats and key.startswith("instruction"):
                continue  # keep the identity
            value = torch.as_tensor(stats[key], dtype=torch.float32)
            if key.endswith("std"):
                value = value.clamp(min=0.02 if key.startswith("instruction") else 1e-3)
            getattr(self, key).copy_(value)

    def normalisation(self) -> dict:
        return {k: getattr(self, k).tolist() for k in NORMALISATION_KEYS}

    def normalise_actions(self, actions: torch.Tensor) -> torch.Tensor:
        return (actions - self.action_mean) / self.action_std

    def unnormalise_actions(self, actions: torch.Tensor) -> torch.Tensor:
        return actions * self.action_std + self.action_mean

    def forward(self, image: torch.Tensor, proprio: torch.Tensor, instruction: torch.Tensor,
                target: torch.Tensor | None = None, direction: torch.Tensor | None = None):
        """image (B, 3, S, S) uint8 or float 0..1; proprio (B, P) raw (NaN: not given); instruction (B, D) embedding;
        target (B, len(TARGET_NAMES)) raw, used when the config has `target_skills` (None: zeros, "not
        known"); direction (B, len(DIRECTION_NAMES)) one-hot, used when the config has `direction_skills`
        (None: zeros). Returns (actions (B, K, A) normalised, done logit (B,))."""
        x = image.float() / 255.0 if image.dtype == torch.uint8 else image
        x = x - 0.5
        text = (instruction - self.instruction_mean) / self.instruction_std
        if self.direction_in is not None and direction is not None:
            text = text + self.direction_in(direction.to(text.dtype))
        points = []
        for i, block in enumerate(self.blocks):
            x = block(x, text)
            if self.keypoints is not None and i == self.config.keypoint_block:
                points.append(self.keypoints(x).to(x.dtype))
        # NaN: a value not given for this call (config.proprio_dropped_by_skill) reads as the training mean
        p = torch.nan_to_num((proprio - self.proprio_mean) / self.proprio_std, nan=0.0).index_select(-1, self.proprio_index)
        proprio_pre = self.proprio_head[0](p)
        if self.target_in is not None and target is not None:  # None: "not known", zeros
            # the first columns: a network without the facing values reads the base ones only
            proprio_pre = proprio_pre + self.target_in(target[:, :self.target_in.in_features].to(p.dtype))
        h = torch.cat([self.image_head(x), *points, self.proprio_head[1](proprio_pre), self.text_head(text)], dim=-1)
        h = self.trunk(h)
        if self.trunk_film is not None:
            gamma, beta = self.trunk_film(text).chunk(2, dim=-1)
            h = h * (1.0 + gamma) + beta
        actions = self.action_out(h).view(-1, self.config.chunk_size, self.config.action_dim)
        return actions, self.done_out(h).squeeze(-1)
