"""Training the neural skill policy on a demonstration dataset (`robomatrix train`).

Loss per sample: L1 between the predicted and the demonstrated action chunk in normalised units
(padded steps past the episode's end masked out, as in ACT) + `done_loss_weight` × binary cross
entropy of the done logit. Episodes are split into train/validation by a seeded shuffle; the
validation loss is computed every epoch. After every epoch the checkpoint folder holds a usable
model (`model.safetensors` + `config.json`), `training_state.pt` (optimizer, epoch, history, RNG
states: `--resume` continues from it) and `loss_curves.png`. Mixed precision (bf16 autocast) on GPU.
"""
from __future__ import annotations

import math
import random
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from robomatrix.errors import UsageError, unknown_name
from robomatrix.skills.data.format import DatasetReader
from robomatrix.skills.data.loader import ChunkDataset, embed_instructions, split_episodes
from robomatrix.skills.neural.checkpoint import load_checkpoint, save_checkpoint
from robomatrix.skills.neural.config import neural_config
from robomatrix.skills.neural.model import ADDED_INPUTS, SkillPolicyNet
from robomatrix.skills.neural.plot import plot_loss_curves

STATE_FILE = "training_state.pt"
CURVES_FILE = "loss_curves.png"


@dataclass
class TrainConfig:
    """Optimisation settings of `robomatrix train`."""

    policy: str = "default"  # registered NeuralPolicyConfig name (skills.neural.config)
    policy_overrides: dict = field(default_factory=dict)  # NeuralPolicyConfig fields to change
    epochs: int = 20  # passes over the training episodes
    batch_size: int = 64  # samples per optimiser step
    # AdamW peak learning rate (cosine decay to 5 %). 1e-3 blew up in epoch 4 of a 12-epoch run on the
    # 1,458-episode set (loss up from 0.29 to 0.41, move_to's commands stopped depending on the input);
    # 5e-4 trained 10 epochs smoothly
    lr: float = 5e-4
    weight_decay: float = 1e-4  # AdamW weight decay
    val_fraction: float = 0.1  # share of episodes held out for the validation loss
    seed: int = 0  # seeds the split, the initial weights, the batches and the augmentation
    device: str = "auto"  # auto (CUDA when present) | cpu | cuda
    # random image translation of up to this many pixels while training; off by default: the camera is
    # fixed on the robot, and a ±4 px shift cost move_to its lateral precision (4/10 vs 10/10 success)
    augment_shift_px: int = 0
    # random brightness scale per training image within 1 ± this (0 = off): lighting varies, and
    # objects of an unseen shade should not look new to the network (hue is unchanged)
    augment_brightness: float = 0.0
    done_loss_weight: float = 1.0  # weight of the done (stop) loss against the action loss
    done_pos_weight: float = 5.0  # BCE positive-class weight: done steps are rare
    balance_skills: bool = True  # sample every skill equally often (short skills have few steps)
    # with balance_skills: a skill's share of an epoch is proportional to its weight here (1 when not
    # named), e.g. {"open_drawer": 2.0} to show a skill with few or hard demonstrations twice as often
    skill_weights: dict = field(default_factory=dict)
    # LR multiplier of the added inputs' weights (model.target_in, model.direction_in)
    target_lr_scale: float = 10.0
    # fine-tuning (`init`): + anchor_weight * sum((w - w_init)^2) over the initial checkpoint's weights
    # (L2-SP, Li et al. 2018), so the skills the new data does not cover stay near where they were. A
    # ck_approach fine-tune on DM2 moved the weights by 6.5 in that sum and lost carries (ckH0). 0 = off
    anchor_weight: float = 0.0

    def __post_init__(self):
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
                raise UsageError(f"TrainConfig.{name} must be an integer >= 1, got {value!r}.")
        for name in ("lr", "done_pos_weight", "target_lr_scale"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise UsageError(f"TrainConfig.{name} must be a positive number, got {value!r}.")
        for name in ("weight_decay", "done_loss_weight", "anchor_weight"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise UsageError(f"TrainConfig.{name} must be a number >= 0, got {value!r}.")
        if not (0.0 <= self.val_fraction < 1.0):
            raise UsageError(f"TrainConfig.val_fraction must be within [0, 1), got {self.val_fraction!r}.")
        if self.device not in ("auto", "cpu", "cuda"):
            raise UsageError(f"TrainConfig.device must be auto, cpu or cuda, got {self.device!r}.")
        if not (isinstance(self.augment_brightness, (int, float)) and 0.0 <= self.augment_brightness < 1.0):
            raise UsageError(f"TrainConfig.augment_brightness must be within [0, 1), got {self.augment_brightness!r}.")
        if not isinstance(self.skill_weights, dict):
            raise UsageError(f"TrainConfig.skill_weights must map skill names to weights, got {self.skill_weights!r}.")
        for skill, weight in self.skill_weights.items():
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not (math.isfinite(weight)
                                                                                      and weight > 0):
                raise UsageError(f"TrainConfig.skill_weights['{skill}'] must be a positive number, got {weight!r}.")
        if self.skill_weights and not self.balance_skills:
            raise UsageError("TrainConfig.skill_weights needs balance_skills (the weights scale the balanced shares).")
        if not (isinstance(self.augment_shift_px, int) and self.augment_shift_px >= 0):
            raise UsageError(f"TrainConfig.augment_shift_px must be an integer >= 0, got {self.augment_shift_px!r}.")


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA device is available here (use --device auto or cpu).")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)


def shift_images(images: torch.Tensor, max_px: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image by a random (dx, dy) within ±max_px (edge pixels repeated)."""
    if max_px <= 0:
        return images
    b, _, h, w = images.shape
    padded = torch.nn.functional.pad(images.float(), (max_px,) * 4, mode="replicate")
    offsets = torch.randint(0, 2 * max_px + 1, (b, 2), generator=generator)
    out = torch.stack([padded[i, :, oy:oy + h, ox:ox + w] for i, (ox, oy) in enumerate(offsets.tolist())])
    return out.to(images.dtype)


def scale_brightness(images: torch.Tensor, amount: float, generator: torch.Generator) -> torch.Tensor:
    """Multiply each uint8 image by a random factor within 1 ± amount (clipped to 0..255)."""
    if amount <= 0:
        return images
    factors = 1.0 + (torch.rand(images.shape[0], generator=generator) * 2.0 - 1.0) * amount
    return (images.float() * factors[:, None, None, None]).clamp(0, 255).round().to(torch.uint8)


def chunk_loss(model: SkillPolicyNet, batch: dict, cfg: TrainConfig, device, autocast: bool):
    """(total, action L1, done BCE) for one batch (tensors already on `device`)."""
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=autocast):
        pred, done_logit = model(batch["image"], batch["proprio"], batch["instruction"], batch.get("target"),
                                 batch.get("direction"))
    pred, done_logit = pred.float(), done_logit.float()
    target = model.normalise_actions(batch["actions"])
    mask = batch["action_mask"].unsqueeze(-1).float()
    l1 = ((pred - target).abs() * mask).sum() / (mask.sum() * pred.shape[-1]).clamp(min=1.0)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(
        done_logit, batch["done"], pos_weight=torch.tensor(cfg.done_pos_weight, device=device))
    return l1 + cfg.done_loss_weight * bce, l1, bce


def _to(batch: dict, device) -> dict:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def evaluate_loss(model, dataset: ChunkDataset, cfg: TrainConfig, device, autocast: bool) -> float:
    if len(dataset) == 0:
        return float("nan")
    model.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(dataset), 256):
            idx = np.arange(start, min(start + 256, len(dataset)))
            loss, _, _ = chunk_loss(model, _to(dataset.batch(idx), device), cfg, device, autocast)
            total += float(loss) * len(idx)
            n += len(idx)
    return total / n


def _anchor_weights(model: SkillPolicyNet, init, cfg: TrainConfig, device, holds_init: bool) -> dict:
    """{name: initial value} of the parameters `cfg.anchor_weight` holds near `init`'s (every one but the
    added inputs, which start at zero and are meant to move); {} when anchoring is off. `holds_init`:
    `model` has just been loaded from `init` (else, resuming, `init` is read again: the anchor is the
    init, not `out`)."""
    if not cfg.anchor_weight:
        return {}
    source = model if holds_init else load_checkpoint(init, device="cpu")[0]
    values = dict(source.named_parameters())
    return {name: values[name].detach().clone().to(device) for name, _ in model.named_parameters()
            if name in values and not name.startswith(ADDED_INPUTS)}


def anchor_penalty(model: SkillPolicyNet, anchor: dict) -> torch.Tensor:
    """sum over the anchored parameters of (w - w_init)^2."""
    params = dict(model.named_parameters())
    return sum(((params[name] - value) ** 2).sum() for name, value in anchor.items())


def _input_overrides(target_skills, proprio_dropped_by_skill, direction_skills=None, facing_skills=None) -> dict:
    """The config fields `train`'s input arguments set (None: the config's own)."""
    overrides = {}
    if target_skills is not None:
        overrides["target_skills"] = tuple(target_skills)
    if facing_skills is not None:
        overrides["facing_skills"] = tuple(facing_skills)
    if direction_skills is not None:
        overrides["direction_skills"] = tuple(direction_skills)
    if proprio_dropped_by_skill is not None:
        overrides["proprio_dropped_by_skill"] = dict(proprio_dropped_by_skill)
    return overrides


def train(data, out, cfg: TrainConfig, resume: bool = False, progress: bool = True, log=print,
          init=None, target_skills=None, proprio_dropped_by_skill=None, direction_skills=None,
          facing_skills=None) -> dict:
    """Train on dataset folder `data`, writing checkpoints to `out`; returns the summary dict.

    `init`: a checkpoint folder to fine-tune (e.g. on DAgger data): its network config, weights and
    normalisation statistics are the starting point, with a fresh optimiser and LR schedule. A
    `resume` that finds a training state in `out` continues that instead. `target_skills` (a list):
    the config's `target_skills` instead; a checkpoint without that input gains it, its new weights
    starting at zero (`SkillPolicyNet.load_widened`) and learning at `cfg.target_lr_scale` x the LR;
    `direction_skills` (a list) likewise for the config's `direction_skills` (the direction input), and
    `facing_skills` (a list) for the config's `facing_skills` (the facing values of the target input).
    `proprio_dropped_by_skill` (a dict): the config's `proprio_dropped_by_skill` instead (a fine-tuned
    checkpoint keeps its weights; the dropped values read as the training mean from then on)."""
    from tqdm import tqdm

    out = Path(out)
    if cfg.anchor_weight and init is None:
        raise UsageError("--anchor needs --init: it holds a fine-tune near the checkpoint it starts from.")
    device = resolve_device(cfg.device)
    autocast = device.type == "cuda"
    seed_everything(cfg.seed)
    reader = DatasetReader(data)
    if len(reader) == 0:
        raise UsageError(f"{data} holds no episodes.")
    initial = None
    if init is not None:  # one-line UsageError when unusable; resuming a fine-tune: its own config
        resuming = resume and (out / STATE_FILE).exists()
        initial, init_doc = load_checkpoint(out if resuming else init, device="cpu")
        policy_cfg = initial.config
        initial = None if resuming else initial
        if not resuming:
            policy_cfg = replace(policy_cfg, **_input_overrides(target_skills, proprio_dropped_by_skill,
                                                                direction_skills, facing_skills))
    else:
        overrides = {**cfg.policy_overrides,
                     **_input_overrides(target_skills, proprio_dropped_by_skill, direction_skills, facing_skills)}
        policy_cfg = neural_config(cfg.policy, **overrides)
    train_ids, val_ids = split_episodes(len(reader), cfg.val_fraction, cfg.seed)
    make = lambda ids: ChunkDataset(data, ids, image_size=policy_cfg.image_size, chunk_size=policy_cfg.chunk_size,  # noqa: E731
                                    done_window_steps=policy_cfg.done_window_steps,
                                    target_skills=policy_cfg.target_skills,
                                    direction_skills=policy_cfg.direction_skills,
                                    facing_skills=policy_cfg.facing_skills,
                                    proprio_dropped_by_skill=policy_cfg.proprio_dropped_by_skill, embed=embed_instructions,
                                    reader=reader)
    train_set, val_set = make(train_ids), make(val_ids)
    model = SkillPolicyNet.from_config(policy_cfg)
    if initial is not None:  # its normalisation too: the weights were trained in those units
        try:
            model.load_widened(initial)  # the same network, or one that gains the target/direction input
        except ValueError as exc:
            raise UsageError(f"--init {init}: its network cannot take these settings ({exc}).") from None
        log(f"fine-tuning {init} ({len(init_doc.get('train', {}).get('history', []))} epochs before)")
    else:
        model.set_normalisation(train_set.statistics())
    model.to(device)
    anchor = _anchor_weights(model, init, cfg, device, holds_init=initial is not None)
    # the added inputs' weights (target, direction) learn at target_lr_scale x the LR: fine-tuning a
    # checkpoint that gained the target input (zero at first), the base LR moved its weights to ~1/20 of
    # the proprioception weights in 8 epochs
    target_params = [p for n, p in model.named_parameters() if n.startswith(ADDED_INPUTS)]
    others = [p for n, p in model.named_parameters() if not n.startswith(ADDED_INPUTS)]
    groups = [{"params": others, "lr": cfg.lr}]
    if target_params:
        groups.append({"params": target_params, "lr": cfg.lr * cfg.target_lr_scale})
    optimizer = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = max(1, math.ceil(len(train_set) / cfg.batch_size))
    total_steps = steps_per_epoch * cfg.epochs
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(s, total_steps) / total_steps)))
    history: list[dict] = []
    start_epoch = 0
    if resume and (out / STATE_FILE).exists():
        loaded, _ = load_checkpoint(out, device=str(device))
        if loaded.config != policy_cfg:
            raise UsageError(f"--resume: {out} was trained with another policy config ({loaded.config.name}); "
                             "use a new --out folder or the same settings.")
        model.load_state_dict(loaded.state_dict())
        state = torch.load(out / STATE_FILE, map_location=device, weights_only=False)
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        history, start_epoch = state["history"], state["epoch"]
        torch.set_rng_state(state["torch_rng"])
        log(f"resuming {out} after epoch {start_epoch}")
    elif resume:
        log(f"--resume: nothing to resume in {out}; starting fresh")
    generator = torch.Generator().manual_seed(cfg.seed)
    extra = {"skills": sorted({ep.meta["skill"] for ep in train_set.episodes}),
             "instructions": {ep.meta["instruction"]: ep.meta["skill"] for ep in train_set.episodes}}
    for skill in cfg.skill_weights:
        if skill not in extra["skills"]:
            raise unknown_name(f"skill_weights skill (not in the training episodes of {data})", skill,
                               extra["skills"])
    balance = train_set.skill_balanced_weights(cfg.skill_weights) if cfg.balance_skills else None
    wall0 = time.perf_counter()
    for epoch in range(start_epoch, cfg.epochs):
        model.train()
        rng = np.random.default_rng(cfg.seed * 1000 + epoch)
        order = rng.choice(len(train_set), len(train_set), p=balance) if balance is not None \
            else rng.permutation(len(train_set))
        generator.manual_seed(cfg.seed * 1000 + epoch)
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="step",
                   disable=not progress, leave=False)
        sums = np.zeros(3)
        for step in bar:
            batch = train_set.batch(order[step * cfg.batch_size:(step + 1) * cfg.batch_size])
            batch["image"] = shift_images(batch["image"], cfg.augment_shift_px, generator)
            batch["image"] = scale_brightness(batch["image"], cfg.augment_brightness, generator)
            loss, l1, bce = chunk_loss(model, _to(batch, device), cfg, device, autocast)
            optimizer.zero_grad(set_to_none=True)
            if anchor:
                (loss + cfg.anchor_weight * anchor_penalty(model, anchor)).backward()
            else:
                loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            sums += (loss.item(), l1.item(), bce.item())
            bar.set_postfix(loss=f"{sums[0] / (step + 1):.3f}")
        bar.close()
        val = evaluate_loss(model, val_set, cfg, device, autocast)
        mean = sums / steps_per_epoch
        row = {"epoch": epoch + 1, "train_loss": float(mean[0]), "train_action_l1": float(mean[1]),
               "train_done_bce": float(mean[2]), "val_loss": val,
               "wall_s": round(time.perf_counter() - wall0, 1)}
        history.append(row)
        log(f"epoch {epoch + 1}/{cfg.epochs}: train {row['train_loss']:.4f} (action L1 {row['train_action_l1']:.4f}, "
            f"done {row['train_done_bce']:.4f})  val {val:.4f}")
        summary = {"train": {"config": asdict(cfg), "data": str(data), "init": str(init) if initial is not None else None, "episodes_train": len(train_ids),
                             "episodes_val": len(val_ids), "samples_train": len(train_set), "device": str(device),
                             "history": history}, **extra}
        save_checkpoint(out, model, summary)
        torch.save({"optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(), "epoch": epoch + 1,
                    "history": history, "torch_rng": torch.get_rng_state()}, out / STATE_FILE)
        plot_loss_curves(history, out / CURVES_FILE)
    return {"out": str(out), "epochs": cfg.epochs, "history": history, "device": str(device),
            "wall_time_s": round(time.perf_counter() - wall0, 1), "parameters": sum(p.numel() for p in model.parameters())}
