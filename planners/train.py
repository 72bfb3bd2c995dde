"""Train our small planner model: a word-level tokenizer and a tiny GPT-2, from the generated corpus.

`train_planner(TrainConfig(out=...))` writes a transformers model directory that the `hf`
planner loads (`make_planner("hf", model=DIR)`): config + weights, `tokenizer.json`, and
`robomatrix_planner.json` saying the model reads the compact prompt. The target of each
example is the plan text written step by step exactly as the grammar encodes it, so decoding
constrained by `robomatrix.planners.grammar.SkillGrammar` follows the training distribution.
Words of the instruction are replaced by the unknown token now and then (`word_dropout`), and
an unknown token is sometimes slipped in (`unk_insert`), so that a phrasing with a word never
seen in training still leans on the words it knows. Some instructions carry a typo
(`typo_share`). Words seen fewer than `MIN_COUNT` times stay out of the vocabulary; every
instruction goes through `robomatrix.planners.vocab.WordMapper` (word forms, typos, MiniLM
synonyms) in training exactly as the `hf` planner does at run time.
"""
from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from robomatrix.planners.corpus import BRANDS, CAN_COLOURS, CONTAINERS, FRAMES, Pair, generate_pairs
from robomatrix.planners.grammar import REFUSAL, candidate_steps, step_text
from robomatrix.planners.grounding import COLOURS
from robomatrix.planners.prompts import compact_prompt, model_reading
from robomatrix.planners.vocab import WordMapper

MARKER = "robomatrix_planner.json"
# Words that say which object, where or how far: never dropped, so dropout only hides frame words (verbs, fillers).
CONTENT_WORDS = frozenset(CAN_COLOURS) | frozenset(CONTAINERS) | frozenset(
    w for names in BRANDS.values() for n in names for w in n.split()) | frozenset(
    "can cans box bin drawer cabinet trash garbage cardboard soda one it them all every both and then left right "
    "forward forwards backward backwards up down cm centimeters 1 2 3 5 10 15 20 a bit little".split())
SPECIALS = ("[PAD]", "[UNK]", "[BOS]", "[EOS]")
MIN_COUNT = 6  # an instruction word seen fewer times (a typo) stays out of the vocabulary
PROTECTED = CONTENT_WORDS | COLOURS  # never mapped to or from another word (see WordMapper)


def word_mapper(tokenizer, embeddings: bool = True) -> WordMapper:
    """The mapper for a trained tokenizer's vocabulary (in id order: frequent words win ties)."""
    vocab = tokenizer.get_vocab()
    return WordMapper(sorted(vocab, key=vocab.get), PROTECTED, embeddings=embeddings)


@dataclass
class TrainConfig:
    """Settings of `robomatrix train-planner`; the defaults made the shipped checkpoint."""

    out: str = "checkpoints/planner"  # model directory to write
    steps: int = 1200  # optimiser steps
    pairs: int = 6000  # training pairs generated from the TRAIN frames
    batch_size: int = 32  # examples per step
    learning_rate: float = 2e-3  # AdamW peak learning rate (linear warm-up, cosine decay)
    layers: int = 2  # transformer blocks
    width: int = 128  # hidden size
    heads: int = 4  # attention heads
    word_dropout: float = 0.15  # chance an instruction's frame word (not an object, colour, direction or number) becomes [UNK]
    unk_insert: float = 0.1  # chance an [UNK] is inserted at a random place in the instruction
    typo_share: float = 0.08  # share of training instructions given one typo
    seed: int = 0  # corpus and initialisation seed
    init: str = ""  # a model directory of ours to go on training (its tokenizer and size are kept); "" = from scratch
    oversample: str = ""  # "all=3,two_place=2": those intents' pairs appear that many times (long plans need more)
    threads: int = 1  # torch CPU threads (one is fastest on a busy 2-core machine)

    def oversample_times(self) -> dict[str, int]:
        """`oversample` as {intent: times}; ValueError when an item is not INTENT=TIMES."""
        out = {}
        for item in filter(None, self.oversample.split(",")):
            intent, _, times = (x.strip() for x in item.partition("="))
            if intent not in FRAMES or not times.isdigit() or int(times) < 1:
                raise ValueError(f"TrainConfig.oversample: {item!r} is not INTENT=TIMES with an intent of "
                                 f"{', '.join(FRAMES)}")
            out[intent] = int(times)
        return out

    def __post_init__(self):
        for name in ("steps", "pairs", "batch_size", "layers", "width", "heads", "threads"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"TrainConfig.{name} must be >= 1, got {getattr(self, name)!r}")
        if self.width % self.heads:
            raise ValueError(f"TrainConfig.width must be a multiple of heads ({self.heads}), got {self.width!r}")
        if not 0.0 < self.learning_rate < 1.0:
            raise ValueError(f"TrainConfig.learning_rate must be in (0, 1), got {self.learning_rate!r}")
        for name in ("word_dropout", "unk_insert", "typo_share"):
            if not 0.0 <= getattr(self, name) < 0.5:
                raise ValueError(f"TrainConfig.{name} must be in [0, 0.5), got {getattr(self, name)!r}")
        self.oversample_times()  # ValueError when malformed
        if self.init and not all((Path(self.init) / f).is_file() for f in (MARKER, "config.json", "tokenizer.json")):
            raise ValueError(f"TrainConfig.init: '{self.init}' is not a planner model of ours "
                             f"({MARKER}, config.json and tokenizer.json expected)")


def _words(text: str, pre) -> list[str]:
    return [w for w, _ in pre.pre_tokenize_str(text)]


def build_tokenizer(pairs: list[Pair]):
    """A word-level tokenizer over the corpus' words and every step the scene vocabulary allows."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from robomatrix.planners.base import SceneObjects

    # words, and a skill name with its bracket ("move_to(") or a run of punctuation ("); ") as one token each:
    # a step is 4–6 tokens instead of 6–8
    pre = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                   pre_tokenizers.Split(Regex(r"\w+\(|\w+|[^\w\s]+"), behavior="isolated")])
    counts: Counter = Counter()
    for p in pairs:
        counts.update(_words(compact_prompt(p.instruction, p.scene), pre))
    counts = Counter({w: c for w, c in counts.items() if c >= MIN_COUNT or w in PROTECTED or not w.isalpha()})
    everything = SceneObjects.from_names([f"{c} can" for c in CAN_COLOURS] + list(CONTAINERS))
    for call in candidate_steps(everything):
        counts.update(_words(" " + step_text(call) + ";", pre))
    counts.update(_words(" " + REFUSAL + ";", pre))
    counts.update(_words("done : ok failed", pre))
    vocab = {w: i for i, w in enumerate(SPECIALS)}
    for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        vocab.setdefault(w, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   bos_token="[BOS]", eos_token="[EOS]")


def encode_example(tokenizer, pair: Pair, mapper: WordMapper | None = None) -> tuple[list[int], list[int], int]:
    """(ids, instruction positions, prompt length): prompt, then each step's tokens, then [EOS]."""
    def enc(text: str) -> list[int]:
        return tokenizer.encode(text, add_special_tokens=False)

    instruction = model_reading(pair.instruction)
    instruction = mapper.map_text(instruction) if mapper else instruction
    prompt = compact_prompt(instruction, pair.scene)
    head, _, _ = prompt.partition("instruction :")
    head_ids = enc(head + "instruction :")
    instr_ids = enc(instruction)
    tail_ids = enc("; plan :")
    ids = head_ids + instr_ids + tail_ids
    assert ids == enc(prompt), "the compact prompt must tokenize piecewise as a whole"
    units = [REFUSAL] if pair.steps is None else [step_text(s) for s in pair.steps]
    target = [t for u in units for t in enc(" " + u + ";")] + [tokenizer.eos_token_id]
    keep = {tokenizer.convert_tokens_to_ids(w) for w in CONTENT_WORDS}
    instr_pos = [len(head_ids) + i for i, t in enumerate(instr_ids) if t not in keep]
    return ids + target, instr_pos, len(ids)


def train_planner(cfg: TrainConfig, progress: Callable[[str], None] = print, extra_pairs: list[Pair] | None = None) -> dict:
    """Generate the corpus, train, save to `cfg.out`; returns a summary (also written into the marker).
    `extra_pairs` join the generated corpus (a person's corrections: robomatrix.corrections.training)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    t0 = time.perf_counter()
    pairs = list(generate_pairs(cfg.pairs, split="train", seed=cfg.seed, typo_share=cfg.typo_share))
    progress(f"corpus: {len(pairs)} pairs from the train frames in {time.perf_counter() - t0:.1f} s")
    for intent, times in cfg.oversample_times().items():
        more = [p for p in pairs if p.intent == intent] * (times - 1)
        pairs += more
        progress(f"corpus: + {len(more)} repeated pairs of '{intent}'")
    if extra_pairs:
        pairs += list(extra_pairs)
        progress(f"corpus: + {len(extra_pairs)} pairs from corrections")
    if cfg.init:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(cfg.init)
    else:
        tokenizer = build_tokenizer(pairs)
    mapper = word_mapper(tokenizer)
    examples = [encode_example(tokenizer, p, mapper) for p in pairs]
    unknown = sum(tokenizer.unk_token_id in ids[:plen] for ids, _, plen in examples)
    progress(f"vocabulary {len(tokenizer)} words; {unknown} instructions keep an unknown word after mapping")
    longest = max(len(e[0]) for e in examples)
    if cfg.init:  # the size is the initial model's: record that, not the (ignored) options
        model = GPT2LMHeadModel.from_pretrained(cfg.init)
        cfg = replace(cfg, layers=model.config.n_layer, width=model.config.n_embd, heads=model.config.n_head)
        if longest + 1 > model.config.n_positions:  # +1: an inserted [UNK]
            raise ValueError(f"TrainConfig.init: the model in '{cfg.init}' reads at most {model.config.n_positions} "
                             f"tokens; the longest example has {longest + 1}")
    else:
        model = GPT2LMHeadModel(GPT2Config(
            vocab_size=len(tokenizer), n_positions=max(256, longest + 64), n_embd=cfg.width, n_layer=cfg.layers,
            n_head=cfg.heads, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=0.01)
    warm = max(1, cfg.steps // 20)

    def lr_at(step: int) -> float:
        if step < warm:
            return cfg.learning_rate * (step + 1) / warm
        frac = (step - warm) / max(1, cfg.steps - warm)
        return cfg.learning_rate * 0.5 * (1 + torch.cos(torch.tensor(frac * torch.pi)).item())

    unk, pad = tokenizer.unk_token_id, tokenizer.pad_token_id
    by_length = sorted(examples, key=lambda e: (len(e[0]), rng.random()))
    model.train()
    t1 = time.perf_counter()
    loss_value = float("nan")
    for step in range(cfg.steps):
        # a random batch from a random window of similar lengths: little padding, yet no two batches alike
        window = min(len(by_length), 8 * cfg.batch_size)
        start = rng.randrange(len(by_length) - window + 1)
        batch = rng.sample(by_length[start:start + window], min(cfg.batch_size, window))
        width = max(len(ids) for ids, _, _ in batch) + 1  # room for an inserted [UNK]
        inputs = torch.full((len(batch), width), pad, dtype=torch.long)
        labels = torch.full((len(batch), width), -100, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, (ids, instr_pos, plen) in enumerate(batch):
            ids = list(ids)
            for i in instr_pos:
                if rng.random() < cfg.word_dropout:
                    ids[i] = unk
            if instr_pos and rng.random() < cfg.unk_insert:  # an unknown word slipped in; the plan shifts by one
                ids.insert(rng.choice(instr_pos), unk)
                plen += 1
            inputs[row, :len(ids)] = torch.tensor(ids)
            labels[row, plen:len(ids)] = torch.tensor(ids[plen:])
            mask[row, :len(ids)] = 1
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        loss = model(input_ids=inputs, attention_mask=mask, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        loss_value = loss.item()
        if step % 100 == 0 or step == cfg.steps - 1:
            progress(f"step {step + 1}/{cfg.steps} loss {loss_value:.4f} ({time.perf_counter() - t1:.0f} s)")
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    model.eval()
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    summary = {"prompt": "compact", "word_mapper": True, "reads": "normalised", "train_config": asdict(cfg),
               "pairs": len(pairs), "vocab": len(tokenizer),
               "parameters": sum(p.numel() for p in model.parameters()), "final_loss": round(loss_value, 5),
               "train_seconds": round(time.perf_counter() - t1, 1)}
    (out / MARKER).write_text(json.dumps(summary, indent=2) + "\n")
    progress(f"saved to {out} ({summary['parameters']} parameters, loss {loss_value:.4f})")
    return summary
