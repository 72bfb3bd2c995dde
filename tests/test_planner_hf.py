"""The hf planner: a tiny random model (built here, no download) still plans validly; the shipped model plans well."""
import json

import pytest

from robomatrix.planners.base import PlanningError, SceneObjects, UnknownObjectError, make_planner
from robomatrix.planners.grammar import canonical_steps
from robomatrix.planners.validate import validate_plan

SCENE = SceneObjects.from_names(["red can", "green can", "box", "bin"], hidden=["drawer"], drawer_open=False)
CHAT_TEMPLATE = ("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
                 "{% if add_generation_prompt %}assistant:{% endif %}")


def tiny_model_dir(path, chat: bool):
    """A randomly initialised 1-layer GPT-2 with a word-level tokenizer, saved like any local model."""
    import torch
    from test_planner_grammar import word_tokenizer
    from transformers import GPT2Config, GPT2LMHeadModel

    from robomatrix.planners.prompts import system_prompt, user_prompt

    tok = word_tokenizer([system_prompt(), user_prompt("put the red can in the box", SCENE), CHAT_TEMPLATE])
    if chat:
        tok.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=len(tok), n_positions=2048, n_embd=32, n_layer=1, n_head=2,
                     eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    GPT2LMHeadModel(cfg).save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


@pytest.mark.parametrize("chat", [False, True])
def test_tiny_random_model_gives_a_valid_plan(tmp_path, chat):
    planner = make_planner("hf", model=tiny_model_dir(tmp_path, chat), max_steps=6)
    assert not planner.compact
    ids = planner.prompt_ids("put the red can in the box", SCENE)
    text = planner.tokenizer.decode(ids)
    assert ("assistant" in text) == chat and "position_over" in text  # the skills are in the prompt
    for instruction in ("put the red can in the box", "open the drawer"):
        try:
            plan = planner.plan(instruction, SCENE)
        except PlanningError:
            continue  # the random model chose cannot(): a refusal with a reason is also valid output
        assert len(plan.steps) <= 6 and plan.planner == "hf"
        validate_plan(plan, SCENE)
    plans, usage = planner.generate("put the red can in the box", SCENE, k=3, sample=True)
    assert len(plans) == 3 and usage.calls == 1 and usage.prompt_tokens == len(ids)
    for steps in plans:
        if steps is not None:
            validate_plan(steps, SCENE)


def test_missing_model_dir_is_a_clear_error(tmp_path):
    with pytest.raises(PlanningError.__mro__[1], match="config.json missing"):
        make_planner("hf", model=str(tmp_path / "nothing"))


@pytest.fixture(scope="module")
def shipped():
    return make_planner("hf")


def test_shipped_model_plans_trained_and_held_out_phrasings(shipped):
    """Trained frames in new scenes must be near perfect; held-out frames are a regression guard
    (the full held-out number is what `robomatrix bench planner --planner hf` reports)."""
    from robomatrix.bench.planner import case_scene, expected_steps, load_cases

    assert shipped.compact and shipped.meta["pairs"] > 0
    cases = load_cases()
    for split, need in (("train", 16), ("heldout", 12)):
        chosen = [c for c in cases if c["split"] == split and c["expected"] is not None][:20]
        right = 0
        for case in chosen:
            try:
                plan = shipped.plan(case["instruction"], case_scene(case))
            except PlanningError:
                continue  # a wrong refusal counts as wrong
            validate_plan(plan, case_scene(case))
            right += canonical_steps(plan.steps) == expected_steps(case)
        assert right >= need, f"{right}/20 {split} phrasings planned exactly"


def test_shipped_model_refuses_with_a_reason(shipped):
    scene = SceneObjects.from_names(["red can", "box"])
    with pytest.raises(UnknownObjectError, match="purple"):
        shipped.plan("put the purple can in the box", scene)
    with pytest.raises(PlanningError, match="I can"):
        shipped.plan("dance", scene)


def test_marker_describes_training(shipped):
    meta = json.loads((shipped.model_dir / "robomatrix_planner.json").read_text())
    assert meta["prompt"] == "compact" and meta["train_config"]["steps"] >= 100


def test_shipped_model_reads_typos_and_word_forms(shipped):
    scene = SceneObjects.from_names(["red can", "green can", "box"])
    typo = next(t for t in ("plaec", "palce", "plcae", "placce") if t not in shipped.mapper.known_set)
    assert shipped.read_instruction(f"{typo.title()} the red can in the box") == "place the red can in the box"
    plan = shipped.plan(f"{typo} the red can in the box", scene)
    assert [s.skill for s in plan.steps] == ["move_to", "grasp", "lift", "position_over", "release"]
    assert shipped.unknown_words("juggle the red can") == ["juggle"]


def test_constrained_decoding_keeps_every_beam_and_sample_valid(shipped):
    """Held-out phrasings in random scenes: the K best beams and K samples are all valid plans (or cannot())."""
    from robomatrix.planners.corpus import generate_pairs

    for pair in generate_pairs(6, split="heldout", seed=9, refusal_share=0.0):
        for sample in (False, True):
            plans, usage = shipped.generate(pair.instruction, pair.scene, k=3, sample=sample)
            assert len(plans) == 3 and usage.calls == 1
            for steps in plans:
                if steps is not None:
                    validate_plan(steps, pair.scene)


def test_train_planner_tiny_then_go_on_training_it(tmp_path):
    """`train-planner` end to end at a tiny size, then `--init` from its output: same tokenizer, same
    size, weights moved; the model directory plans through the grammar like the shipped one."""
    import torch
    from safetensors.torch import load_file

    from robomatrix.planners.train import MARKER, TrainConfig, train_planner

    first = train_planner(TrainConfig(out=str(tmp_path / "a"), steps=3, pairs=60, layers=1, width=32, heads=2),
                          progress=lambda _: None)
    meta = json.loads((tmp_path / "a" / MARKER).read_text())
    assert meta["reads"] == "normalised" and meta["pairs"] == first["pairs"] == 60
    planner = make_planner("hf", model=str(tmp_path / "a"), max_steps=6)
    assert planner.compact and planner.read_instruction("Could you bring the red can over to the box?") == \
        "bring the red can to the box"
    try:
        validate_plan(planner.plan("put the red can in the box", SCENE), SCENE)
    except PlanningError:
        pass  # a 3-step model may refuse; a refusal with a reason is valid output too
    second = train_planner(TrainConfig(out=str(tmp_path / "b"), steps=2, pairs=40, init=str(tmp_path / "a"),
                                       learning_rate=1e-3), progress=lambda _: None)
    assert second["vocab"] == first["vocab"] and second["parameters"] == first["parameters"]
    assert json.loads((tmp_path / "b" / MARKER).read_text())["train_config"]["width"] == 32  # the model's, not the default
    assert (tmp_path / "b" / "tokenizer.json").read_text() == (tmp_path / "a" / "tokenizer.json").read_text()
    a, b = load_file(tmp_path / "a" / "model.safetensors"), load_file(tmp_path / "b" / "model.safetensors")
    assert a.keys() == b.keys() and any(not torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ValueError, match="not a planner model of ours"):
        TrainConfig(init=str(tmp_path / "nothing"))
