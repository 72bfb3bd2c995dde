"""`robomatrix train`: train the neural skill policy on a demonstration dataset."""
from __future__ import annotations

import json
import sys

COMMAND = "train"
HELP = "train the language-conditioned neural skill policy on a dataset (progress, validation, resumable)"


def add_arguments(parser) -> None:
    parser.add_argument("--data", required=True, help="dataset folder (from `robomatrix collect`)")
    parser.add_argument("--out", required=True, help="checkpoint folder (model.safetensors, config.json, ...)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="auto: CUDA when present (default)")
    parser.add_argument("--epochs", type=int, default=20, help="epochs (default: 20)")
    parser.add_argument("--batch-size", type=int, default=64, help="batch size (default: 64)")
    parser.add_argument("--lr", type=float, default=5e-4, help="peak learning rate (default: 5e-4)")
    parser.add_argument("--config", default="default", help="registered policy config name (default, tiny)")
    parser.add_argument("--seed", type=int, default=0, help="seed for split, weights and batches (default: 0)")
    parser.add_argument("--augment-shift", type=int, default=0,
                        help="random image translation while training, pixels (default: 0 = off)")
    parser.add_argument("--augment-brightness", type=float, default=0.0,
                        help="random brightness scale 1 ± this while training (default: 0 = off)")
    parser.add_argument("--skill-weights", default="", metavar="SKILL=W,...",
                        help="sample these skills W times as often as the others (default: all equal)")
    parser.add_argument("--resume", action="store_true", help="continue from the state saved in --out")
    parser.add_argument("--init", default="", metavar="CKPT_DIR",
                        help="fine-tune this checkpoint (its config, weights and normalisation; fresh optimiser), "
                             "e.g. on DAgger data from `collect --dagger`")
    parser.add_argument("--target-skills", default=None, metavar="SKILL,...",
                        help="give these skills' calls perception's belief about their object as an input "
                             "(skills/data/FORMAT.md, `target`); with --init, a checkpoint without that input "
                             "gains it (new weights start at zero). Default: the config's (or the checkpoint's)")
    parser.add_argument("--facing-skills", default=None, metavar="SKILL,...",
                        help="these target skills' target input also carries the turn that squares the base up to "
                             "the object's front (the drawer's; skills/data/FORMAT.md, `target`), e.g. "
                             "open_drawer,close_drawer; with --init, a checkpoint without it gains it (new weights "
                             "start at zero). Default: the config's (or the checkpoint's)")
    parser.add_argument("--direction-skills", default=None, metavar="SKILL,...",
                        help="give these skills' calls their direction argument as a one-hot input (push, nudge; "
                             "skills/data/FORMAT.md, `args`); with --init, a checkpoint without that input gains it "
                             "(new weights start at zero). Default: the config's (or the checkpoint's)")
    parser.add_argument("--drop-proprio", default=None, metavar="SKILL=NAME[+NAME],...",
                        help="do not give these skills' calls these proprioception values (PROPRIO_NAMES in "
                             "skills/data/FORMAT.md), e.g. search=elapsed_s,move_to=elapsed_s: the network sees "
                             "the training mean instead. Default: the config's (or the checkpoint's)")
    parser.add_argument("--anchor", type=float, default=0.0, metavar="W",
                        help="with --init: add W x the sum of squared weight changes from the initial checkpoint to "
                             "the loss (L2-SP; keeps skills the new data does not cover; default: 0 = off)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (default: torch's choice)")
    parser.set_defaults(handler=run)


def parse_skill_list(text: str, flag: str, argument: str | None = None) -> list[str]:
    """"search,move_to" → ["search", "move_to"]: known skills, and with `argument`, only skills that have
    an argument of that name; UsageError otherwise."""
    from robomatrix.errors import UsageError, unknown_name
    from robomatrix.skills.specs import skill_names, skill_spec

    names = [n.strip() for n in text.split(",") if n.strip()]
    for name in names:
        if name not in skill_names():
            raise unknown_name(f"skill in {flag}", name, skill_names())
        if argument is not None and argument not in {a.name for a in skill_spec(name).args}:
            raise UsageError(f"{flag}: '{name}' has no {argument} argument.")
    return names


def parse_skill_weights(text: str) -> dict[str, float]:
    """"move_to=2,open_drawer=1.5" → {"move_to": 2.0, "open_drawer": 1.5}; UsageError on bad input."""
    from robomatrix.errors import UsageError, unknown_name
    from robomatrix.skills.specs import skill_names

    weights: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.partition("=")
        name = name.strip()
        try:
            weight = float(value) if sep else float("nan")
        except ValueError:
            weight = float("nan")
        if not weight > 0 or weight == float("inf"):
            raise UsageError(f"--skill-weights: '{part}' must be SKILL=W with W a positive number (e.g. open_drawer=2).")
        if name not in skill_names():
            raise unknown_name("skill in --skill-weights", name, skill_names())
        weights[name] = weight
    return weights


def parse_drop_proprio(text: str) -> dict[str, list[str]]:
    """"search=elapsed_s,move_to=elapsed_s+odom_dyaw_rad" → {"search": ["elapsed_s"], "move_to": [...]}."""
    from robomatrix.errors import UsageError, unknown_name
    from robomatrix.skills.data.format import PROPRIO_NAMES
    from robomatrix.skills.specs import skill_names

    dropped: dict[str, list[str]] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        skill, sep, names = part.partition("=")
        skill, names = skill.strip(), [n.strip() for n in names.split("+") if n.strip()]
        if not sep or not names:
            raise UsageError(f"--drop-proprio: '{part}' must be SKILL=NAME[+NAME] (e.g. search=elapsed_s).")
        if skill not in skill_names():
            raise unknown_name("skill in --drop-proprio", skill, skill_names())
        for name in names:
            if name not in PROPRIO_NAMES:
                raise unknown_name("proprioception value in --drop-proprio", name, PROPRIO_NAMES)
        kept = dropped.setdefault(skill, [])
        kept += [n for n in dict.fromkeys(names) if n not in kept]
    return dropped


def run(args) -> int:
    import torch

    from robomatrix.errors import UsageError
    from robomatrix.skills.neural.config import neural_config
    from robomatrix.skills.neural.train import TrainConfig, train

    if args.threads < 0:
        raise UsageError(f"--threads must be >= 0, got {args.threads}.")
    if args.threads:
        torch.set_num_threads(args.threads)
    neural_config(args.config)  # UsageError with a suggestion before anything loads
    cfg = TrainConfig(policy=args.config, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                      seed=args.seed, device=args.device, augment_shift_px=args.augment_shift,
                      augment_brightness=args.augment_brightness, skill_weights=parse_skill_weights(args.skill_weights),
                      anchor_weight=args.anchor)
    target_skills = None if args.target_skills is None else parse_skill_list(args.target_skills, "--target-skills")
    facing_skills = None if args.facing_skills is None else parse_skill_list(args.facing_skills, "--facing-skills")
    direction_skills = None if args.direction_skills is None else parse_skill_list(
        args.direction_skills, "--direction-skills", argument="direction")
    summary = train(args.data, args.out, cfg, resume=args.resume, log=lambda line: print(line, file=sys.stderr),
                    init=args.init or None, target_skills=target_skills, direction_skills=direction_skills,
                    facing_skills=facing_skills,
                    proprio_dropped_by_skill=None if args.drop_proprio is None else parse_drop_proprio(args.drop_proprio))
    last = summary["history"][-1] if summary["history"] else {}
    print(json.dumps({"out": summary["out"], "device": summary["device"], "epochs": summary["epochs"],
                      "parameters": summary["parameters"], "wall_time_s": summary["wall_time_s"],
                      "train_loss": last.get("train_loss"), "val_loss": last.get("val_loss")}))
    return 0
