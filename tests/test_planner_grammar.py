"""The skill grammar: plan text round trips, legal continuations, and valid plans from random tiny models."""
import pytest

from robomatrix.errors import UsageError
from robomatrix.messages import SkillCall
from robomatrix.planners.base import SceneObjects
from robomatrix.planners.grammar import (
    REFUSAL,
    SkillGrammar,
    candidate_steps,
    canonical_steps,
    parse_plan_text,
    plan_text,
)
from robomatrix.planners.validate import validate_plan

SCENE = SceneObjects.from_names(["red can", "green can", "box", "bin"], hidden=["drawer"], drawer_open=False)


def word_tokenizer(words=()):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    pre = pre_tokenizers.Whitespace()
    vocab = {w: i for i, w in enumerate(["[PAD]", "[UNK]", "[EOS]"])}
    texts = [plan_text(candidate_steps(SCENE)), " " + REFUSAL + ";", *words]
    for text in texts:
        for w, _ in pre.pre_tokenize_str(text):
            vocab.setdefault(w, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", eos_token="[EOS]")


def bpe_tokenizer():
    """A small byte-pair tokenizer, so steps span several sub-word tokens as with real LLMs."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=120, special_tokens=["[UNK]", "[EOS]"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(["put the red can in the box", "move_to grasp lift release"] * 20, trainer)
    return tok


def test_plan_text_round_trip():
    steps = [SkillCall("move_to", {"object": "red can"}), SkillCall("position_over", {"object": "red can", "target": "box"}),
             SkillCall("nudge", {"direction": "left"})]
    text = plan_text(steps)
    assert text == "move_to(red can); position_over(red can, box); nudge(left, 0.05);"
    assert canonical_steps(parse_plan_text(text)) == canonical_steps(steps)
    assert parse_plan_text("cannot();") is None
    with pytest.raises(UsageError, match="graps"):
        parse_plan_text("graps(red can);")
    with pytest.raises(UsageError, match="Cannot read"):
        parse_plan_text("move the can please")


def test_candidates_respect_kinds():
    texts = {plan_text([c]) for c in candidate_steps(SCENE)}
    assert "grasp(red can);" in texts and "grasp(box);" not in texts  # containers are not portable
    assert "position_over(red can, bin);" in texts and "position_over(red can, green can);" not in texts
    assert "push(drawer, left);" in texts and "push(red can, up);" not in texts  # push directions only


def test_allowed_follows_plan_state():
    tok = word_tokenizer()
    enc = lambda t: tok.encode(t, add_special_tokens=False)  # noqa: E731
    g = SkillGrammar(enc, tok.eos_token_id, SCENE)
    first = {tok.convert_ids_to_tokens(i) for i in g.allowed([])}
    assert {"move_to", "grasp", "search", "cannot"} <= first
    assert "lift" not in first and "open_drawer" not in first  # nothing held; drawer not in view
    assert "[EOS]" in first  # an empty plan is allowed: the goal may already hold
    ids = enc(" grasp(red can);")
    after = {tok.convert_ids_to_tokens(i) for i in g.allowed(ids)}
    assert {"lift", "release", "position_over", "[EOS]"} <= after
    assert "grasp" not in after and "cannot" not in after
    with pytest.raises(ValueError):
        g.allowed(enc(" lift(red can);"))


@pytest.mark.parametrize("make_tok", ["word", "bpe"])
def test_random_token_choices_always_give_valid_plans(make_tok):
    """Whatever the model prefers, choosing only allowed tokens ends in a valid plan."""
    import random

    if make_tok == "word":
        tok = word_tokenizer()
        enc, end = (lambda t: tok.encode(t, add_special_tokens=False)), tok.eos_token_id
    else:
        tok = bpe_tokenizer()
        enc, end = (lambda t: tok.encode(t).ids), tok.token_to_id("[EOS]")
    rng = random.Random(0)
    for _ in range(30):
        g = SkillGrammar(enc, end, SCENE, max_steps=8)
        ids = []
        while True:
            allowed = g.allowed(ids)
            t = rng.choice(allowed)
            ids.append(t)
            if t == end:
                break
        cursor = g.parse(ids)
        assert cursor.done
        if not cursor.refused:
            assert len(cursor.steps) <= 8
            validate_plan(cursor.steps, SCENE)
