"""`robomatrix train-planner [--out DIR] [--steps N]`: train our small planner model for the `hf` planner."""
from __future__ import annotations

import json
import sys

COMMAND = "train-planner"
HELP = "train the small planner model (word-level GPT-2) from the generated instruction → plan corpus"


def add_arguments(parser) -> None:
    from robomatrix.planners.train import TrainConfig

    d = TrainConfig()
    parser.add_argument("--out", default=d.out, help=f"model directory to write (default: {d.out})")
    parser.add_argument("--steps", type=int, default=d.steps, help=f"optimiser steps (default: {d.steps})")
    parser.add_argument("--pairs", type=int, default=d.pairs, help=f"training pairs to generate (default: {d.pairs})")
    parser.add_argument("--batch-size", type=int, default=d.batch_size, help=f"examples per step (default: {d.batch_size})")
    parser.add_argument("--layers", type=int, default=d.layers, help=f"transformer blocks (default: {d.layers})")
    parser.add_argument("--width", type=int, default=d.width, help=f"hidden size (default: {d.width})")
    parser.add_argument("--seed", type=int, default=d.seed, help=f"corpus and initialisation seed (default: {d.seed})")
    parser.add_argument("--init", default="", metavar="DIR",
                        help="go on training a planner model of ours (its tokenizer and size are kept; "
                             "--layers/--width are ignored)")
    parser.add_argument("--oversample", default="", metavar="INTENT=TIMES,...",
                        help="repeat the pairs of some intents, e.g. all=3 (long plans need more examples)")
    parser.add_argument("--learning-rate", type=float, default=d.learning_rate,
                        help=f"peak learning rate (default: {d.learning_rate})")
    parser.add_argument("--with-corrections", default="", metavar="DIR",
                        help="add the plans people corrected (a corrections memory, robomatrix/corrections/FORMAT.md) "
                             "to the corpus")
    parser.add_argument("--json", action="store_true", help="print the training summary as one JSON object")
    parser.set_defaults(handler=train)


def train(args) -> int:
    from robomatrix.errors import UsageError
    from robomatrix.planners.train import TrainConfig, train_planner

    try:
        cfg = TrainConfig(out=args.out, steps=args.steps, pairs=args.pairs, batch_size=args.batch_size,
                          layers=args.layers, width=args.width, seed=args.seed, init=args.init, oversample=args.oversample,
                          learning_rate=args.learning_rate)
    except ValueError as err:
        raise UsageError(str(err)) from None
    extra = {}
    if args.with_corrections:
        from robomatrix.corrections.training import correction_pairs

        pairs = correction_pairs(args.with_corrections)
        if not pairs:
            raise UsageError(f"--with-corrections: no plan-changing corrections in {args.with_corrections}")
        extra = {"extra_pairs": pairs}
    try:
        summary = train_planner(cfg, progress=lambda line: print(line, file=sys.stderr, flush=True), **extra)
    except ValueError as err:  # e.g. an --init model too short for this corpus
        raise UsageError(str(err)) from None
    print(json.dumps(summary) if args.json else f"planner model written to {cfg.out}")
    return 0
