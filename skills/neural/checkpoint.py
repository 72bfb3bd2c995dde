"""Checkpoint folder of a neural skill policy: `model.safetensors` + `config.json`.

config.json holds {"format": "robomatrix-neural-skills", "version", "config": NeuralPolicyConfig
fields, "normalisation": proprio/action mean and std, "instruction_model", "skills": trained skill
names, "instructions": {instruction: skill} seen in training, "train": what produced it}. The
normalisation statistics are also model buffers, so the weights file alone reproduces outputs.
Every way a checkpoint can be unusable (missing, corrupted, from another architecture) raises
`UsageError` with one line naming the folder and what to do.
"""
from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path

from robomatrix.errors import UsageError
from robomatrix.skills.neural.config import NeuralPolicyConfig

FORMAT = "robomatrix-neural-skills"
VERSION = 1
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
# buffers added after the first checkpoints were shipped; a checkpoint without them loads with their
# neutral value (instruction embeddings standardised with mean 0, std 1: left as they are)
OPTIONAL_BUFFERS = ("instruction_mean", "instruction_std")


def save_checkpoint(folder, model, extra: dict | None = None) -> Path:
    """Write `model` (a SkillPolicyNet) and its config to `folder` (created)."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / WEIGHTS_FILE), metadata={"format": FORMAT, "version": str(VERSION)})
    config = asdict(model.config)
    config["channels"] = list(config["channels"])
    doc = {"format": FORMAT, "version": VERSION, "config": config, "normalisation": model.normalisation(),
           "instruction_model": model.config.instruction_model, **(extra or {})}
    tmp = folder / (CONFIG_FILE + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1))
    tmp.replace(folder / CONFIG_FILE)
    return folder


def read_checkpoint_config(folder) -> dict:
    """The parsed config.json of checkpoint `folder`; UsageError when it is not one."""
    folder = Path(folder)
    hint = "train one with `robomatrix train` or point --checkpoint at a checkpoint folder"
    if not folder.is_dir():
        raise UsageError(f"neural checkpoint {folder} does not exist ({hint}).")
    path = folder / CONFIG_FILE
    if not path.exists() or not (folder / WEIGHTS_FILE).exists():
        raise UsageError(f"{folder} is not a neural checkpoint: it needs {CONFIG_FILE} and {WEIGHTS_FILE} ({hint}).")
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UsageError(f"{path} is corrupted (not valid JSON); re-train or restore the checkpoint.") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise UsageError(f"{path} is not a RoboMatrix neural skill checkpoint (format {doc.get('format')!r}, "
                         f"expected {FORMAT!r}).")
    if int(doc.get("version", 0)) > VERSION:
        raise UsageError(f"{path} has checkpoint version {doc['version']}, newer than this code ({VERSION}).")
    return doc


def config_from_dict(values: dict, where: str) -> NeuralPolicyConfig:
    known = {f.name for f in fields(NeuralPolicyConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise UsageError(f"{where}: unknown config fields {', '.join(unknown)} (made by a newer version?).")
    if "proprio_inputs" not in values:  # written before the field existed: the network saw every value
        from robomatrix.skills.data.format import PROPRIO_NAMES

        values = {**values, "proprio_inputs": PROPRIO_NAMES}
    try:
        return NeuralPolicyConfig(**values)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{where}: invalid config ({exc}).") from None


def load_checkpoint(folder, device: str = "cpu"):
    """(SkillPolicyNet in eval mode on `device`, config.json dict) from checkpoint `folder`."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from robomatrix.skills.neural.model import SkillPolicyNet

    folder = Path(folder)
    doc = read_checkpoint_config(folder)
    config = config_from_dict(doc.get("config", {}), str(folder / CONFIG_FILE))
    try:
        state = load_file(str(folder / WEIGHTS_FILE))
    except (SafetensorError, OSError, ValueError) as exc:
        raise UsageError(f"{folder / WEIGHTS_FILE} is corrupted ({str(exc).splitlines()[0][:120]}); "
                         "re-train or restore the checkpoint.") from None
    model = SkillPolicyNet.from_config(config)
    expected = model.state_dict()
    for key in OPTIONAL_BUFFERS:  # checkpoints from before instruction standardisation: the identity
        if key not in state:
            state[key] = expected[key]
    missing, extra = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or extra:
        raise UsageError(f"{folder}: weights do not match its config ({len(missing)} missing, {len(extra)} "
                         f"unexpected tensors, e.g. {(missing + extra)[0]}).")
    for key, tensor in state.items():
        if tuple(tensor.shape) != tuple(expected[key].shape):
            raise UsageError(f"{folder}: tensor {key} has shape {tuple(tensor.shape)} but the config needs "
                             f"{tuple(expected[key].shape)} (weights and config.json are from different models).")
    model.load_state_dict(state)
    return model.to(device).eval(), doc
