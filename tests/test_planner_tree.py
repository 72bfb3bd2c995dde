"""The tree planner: sampled plans merge into an action tree; execution backtracks instead of re-prompting."""
import json

import pytest

from robomatrix.bench.planner import SymbolicWorld
from robomatrix.messages import SkillCall
from robomatrix.planners.base import PlanningError, SceneObjects
from robomatrix.planners.grammar import canonical_steps, parse_plan_text, plan_text
from robomatrix.planners.prompts import TokenUsage
from robomatrix.planners.tree import ActionTree, TreePlanner, iterative_execute

SCENE = SceneObjects.from_names(["red can", "green can", "box"])


def steps(text):
    return parse_plan_text(text)


class FakeSampler:
    """Returns fixed plans; costs 50 prompt tokens + 5 per step, like a model call would."""

    name = "fake"

    def __init__(self, plans):
        self.plans = [steps(p) if p else None for p in plans]
        self.calls = 0

    def generate(self, instruction, scene, *, k=1, sample=False, failure="", done=(), max_steps=None,
                 temperature=None, trie=False):
        self.calls += 1
        if max_steps is not None:  # iterative: the next step of the first plan after `done`
            plan = self.plans[0]
            nxt = plan[: len(done) + 1] if len(done) < len(plan) else list(done)
            return [nxt], TokenUsage(50 + 5 * len(done), 5, 1)
        chosen = [self.plans[i % len(self.plans)] for i in range(k)]
        return chosen, TokenUsage(50, sum(5 * len(p or []) for p in chosen), 1)


def test_tree_merges_shared_prefixes():
    tree = ActionTree([steps("move_to(red can); grasp(red can); lift(red can);"),
                       steps("move_to(red can); grasp(red can); release(red can);"),
                       steps("move_to(red can); grasp(red can); lift(red can);"),
                       steps("move_to(green can);")])
    assert tree.nodes() == 5  # move_to(red) → grasp → {lift, release}; move_to(green)
    assert plan_text(tree.best_path()) == "move_to(red can); grasp(red can); lift(red can);"
    top = tree.root.children
    assert [c.count for c in top] == [3, 1]


def test_plan_returns_the_most_sampled_path():
    sampler = FakeSampler(["move_to(red can); grasp(red can);", "move_to(red can); grasp(red can);",
                           "move_to(green can); grasp(green can);"])
    plan = TreePlanner(sampler=sampler, k=3).plan("grab a can", SCENE)
    assert plan_text(plan.steps) == "move_to(red can); grasp(red can);" and plan.planner == "tree"


def test_backtracks_to_a_sibling_without_a_new_model_call():
    sampler = FakeSampler(["move_to(red can); grasp(red can); lift(red can);",
                           "move_to(red can); grasp(red can); lift(red can);",
                           "move_to(green can); grasp(green can); lift(green can);"])
    world = SymbolicWorld(SCENE)

    def run_step(call: SkillCall):
        if call.skill == "grasp" and call.args["object"] == "red can":  # the red can cannot be grasped
            return False, world.observe()
        return world.run_step(call)

    planner = TreePlanner(sampler=sampler, k=3, attempts_per_step=2)
    run = planner.execute("pick up a can", SCENE, run_step)
    assert run.success and sampler.calls == 1 and run.resamples == 0
    assert plan_text(run.executed) == ("move_to(red can); move_to(green can); grasp(green can); lift(green can);")
    assert run.failures == 2 and run.backtracks >= 1  # two grasp attempts, then the red branch is abandoned
    assert run.usage.calls == 1 and run.usage.prompt_tokens == 50


def test_exhausted_tree_resamples_then_fails_with_a_reason():
    sampler = FakeSampler(["move_to(red can); grasp(red can);"])
    planner = TreePlanner(sampler=sampler, k=2, attempts_per_step=1, max_resamples=1)
    world = SymbolicWorld(SCENE)
    run = planner.execute("grab the red can", SCENE,
                          lambda call: (False, world.observe()) if call.skill == "grasp" else world.run_step(call))
    assert not run.success and run.resamples == 1 and sampler.calls == 2
    assert "failed" in run.reason


def test_iterative_baseline_pays_for_every_step():
    sampler = FakeSampler(["move_to(red can); grasp(red can); lift(red can);"])
    world = SymbolicWorld(SCENE, fail_at=1, expected=canonical_steps(steps("move_to(red can); grasp(red can);")))
    run = iterative_execute(sampler, "pick up the red can", SCENE, world.run_step)
    assert run.success and plan_text(run.executed) == "move_to(red can); grasp(red can); lift(red can);"
    assert run.usage.calls == 5  # three steps, one retry after the failure, one call that ends the plan
    tree_run = TreePlanner(sampler=FakeSampler(["move_to(red can); grasp(red can); lift(red can);"]), k=2).execute(
        "pick up the red can", SCENE, SymbolicWorld(SCENE).run_step)
    assert tree_run.usage.total < run.usage.total


def test_refusing_sampler_is_a_planning_error():
    with pytest.raises(PlanningError):
        TreePlanner(sampler=FakeSampler([None]), k=2).plan("dance", SCENE)
    with pytest.raises(PlanningError, match="sampling planner"):
        TreePlanner(sampler=object())


def test_beam_ranking_lets_the_best_plan_outweigh_all_others():
    a, b = "move_to(red can); grasp(red can);", "move_to(green can); grasp(green can);"
    beam = TreePlanner(sampler=FakeSampler([a, b, b, b]), k=4)  # K best, best first
    assert plan_text(beam.plan("grab a can", SCENE).steps) == a
    sampled = TreePlanner(sampler=FakeSampler([a, b, b, b]), k=4, decoding="sample")  # K equal samples
    assert plan_text(sampled.plan("grab a can", SCENE).steps) == b
    with pytest.raises(PlanningError):  # the best answer is a refusal: the tree refuses
        TreePlanner(sampler=FakeSampler([None, a, b]), k=3).plan("dance", SCENE)
    with pytest.raises(ValueError, match="decoding"):
        TreePlanner(sampler=FakeSampler([a]), decoding="greedy")


def test_trie_decoding_needs_a_sampler_that_decodes_a_trie():
    class ChatSampler:  # like the openai planner: K answers of an endpoint, no prefix tree
        name = "openai"

        def generate(self, instruction, scene, *, k=1, sample=False, failure="", done=(), max_steps=None,
                     temperature=None):
            return [None] * k, TokenUsage()

    with pytest.raises(PlanningError, match="'trie' needs a sampler"):
        TreePlanner(sampler=ChatSampler())
    TreePlanner(sampler=ChatSampler(), decoding="beam")
    from robomatrix.bench.planner import run_tree_bench
    from robomatrix.errors import UsageError

    with pytest.raises(UsageError, match="cannot decode a trie"):
        run_tree_bench(via="endpoint", decoding="trie")


class ScriptedModel:
    """A deterministic stand-in for a model: each instruction's plan from a table; 40 prompt tokens
    plus 3 per step already in the prompt, 6 completion tokens per step written (and 1 for the end).
    Its K plans are all the same plan: K whole copies are paid for, or one with `trie` (one path)."""

    name = "scripted"

    def __init__(self, table):
        self.table = {k: steps(v) for k, v in table.items()}
        self.last_usage = TokenUsage()

    def generate(self, instruction, scene, *, k=1, sample=False, failure="", done=(), max_steps=None,
                 temperature=None, trie=False):
        plan = self.table[instruction]
        if max_steps is not None:  # one more step after `done`, or the end
            nxt = plan[: len(done) + 1]
            usage = TokenUsage(40 + 3 * len(done), 6 if len(nxt) > len(done) else 1, 1)
            self.last_usage = usage
            return [nxt], usage
        self.last_usage = TokenUsage(40, (1 if trie else k) * (6 * len(plan) + 1), 1)
        return [plan] * k, self.last_usage


def test_tree_and_iterative_token_accounting_on_fixed_tasks(tmp_path):
    from robomatrix.bench.planner import _tree_vs_iterative

    table = {"put the red can in the box": "move_to(red can); grasp(red can); lift(red can); "
                                           "position_over(red can, box); release(red can);",
             "pick up the green can": "move_to(green can); grasp(green can); lift(green can);",
             "throw the green can in the box": "move_to(green can); grasp(green can); lift(green can); "
                                               "position_over(green can, box); release(green can);"}
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps({"instruction": i, "scene": {"visible": ["red can", "green can", "box"]},
                                        "expected": p, "split": "hand"}) + "\n" for i, p in table.items()))
    beam = _tree_vs_iterative(ScriptedModel(table), path, tasks=3, k=2, seed=0, min_steps=3, via="hf",
                              decoding="beam")
    result = _tree_vs_iterative(ScriptedModel(table), path, tasks=3, k=2, seed=0, min_steps=3, via="hf")
    tree, it = result["tree"], result["iterative"]
    assert tree["tasks"] == it["tasks"] == 3 and tree["success"] == it["success"] == 1.0
    # tree: one call per task, the prompt once and the trie's path (beam: K whole plans)
    assert tree["calls_per_task"] == 1.0 and tree["prompt_tokens_per_task"] == 40
    assert tree["tokens_per_task"] == pytest.approx(sum(40 + 6 * n + 1 for n in (5, 3, 5)) / 3, abs=0.1)
    assert beam["tree"]["tokens_per_task"] == pytest.approx(sum(40 + 2 * (6 * n + 1) for n in (5, 3, 5)) / 3, abs=0.1)
    assert result["decoding"] == "trie" and beam["decoding"] == "beam" and result["min_steps"] == 3
    # iterative: a call per step, one more after the injected failure, one that ends; the prompt every time
    assert it["calls_per_task"] == pytest.approx(sum(n + 2 for n in (5, 3, 5)) / 3, abs=0.01)
    least = sum(sum(40 + 3 * i + 6 for i in range(n)) + 40 + 3 * n + 1 for n in (5, 3, 5)) / 3
    assert least < it["tokens_per_task"] < least + 70
    assert result["token_reduction"] == pytest.approx(1 - tree["tokens_per_task"] / it["tokens_per_task"], abs=1e-4)
    assert result["target"]["met"] == (result["token_reduction"] >= 0.8)  # equal success here


# -- trie decoding (robomatrix.planners.hf.TrieDecoder) ------------------------------------------

class ToyGrammar:
    """Plans of up to 3 tokens from {1, 2}, then the end token 3: 15 plans in all."""

    def start(self):
        return ()

    def advance(self, cursor, token):
        return cursor + (token,)

    def allowed_after(self, cursor):
        return [3] if len(cursor) == 3 else [1, 2, 3]


TOY_PROMPT = [0, 4, 1, 4]
TOY_PLANS = [tuple(p) + (3,) for n in range(4) for p in __import__("itertools").product((1, 2), repeat=n)]


@pytest.fixture(scope="module")
def toy_model():
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(3)
    return GPT2LMHeadModel(GPT2Config(vocab_size=5, n_positions=32, n_embd=16, n_layer=2, n_head=2)).eval()


class ForwardLog:
    """Input lengths of every model forward while it is open."""

    def __init__(self, model):
        self.model, self.lengths = model, []

    def __enter__(self):
        self.handle = self.model.register_forward_pre_hook(
            lambda module, args, kwargs: self.lengths.append(kwargs["input_ids"].shape[1]), with_kwargs=True)
        return self

    def __exit__(self, *exc):
        self.handle.remove()


def exact_logprob(model, tokens):
    """log P(tokens | TOY_PROMPT) under ToyGrammar, each token from a full forward without a cache."""
    import torch

    total = 0.0
    with torch.no_grad():
        for i, token in enumerate(tokens):
            logits = model(input_ids=torch.tensor([TOY_PROMPT + list(tokens[:i])])).logits[0, -1]
            allowed = ToyGrammar().allowed_after(tuple(tokens[:i]))
            total += torch.log_softmax(logits[allowed], dim=-1)[allowed.index(token)].item()
    return total


def trie_nodes(node):
    return sum(1 + trie_nodes(c) for c in node.children.values())


def toy_decoder(model, k=None, sample=False):
    import torch

    from robomatrix.planners.hf import TrieDecoder

    decoder = TrieDecoder(model, ToyGrammar(), 3, max_new_tokens=10)
    with torch.no_grad(), ForwardLog(model) as log:
        root = decoder.prefill(TOY_PROMPT)
        ends = decoder.samples(root, k) if sample else decoder.k_best(root, k)
    return decoder, ends, log.lengths


def test_trie_k_best_is_the_greedy_plan_and_the_likeliest_others_at_one_forward_per_token(toy_model):
    exact = {p: exact_logprob(toy_model, p) for p in TOY_PLANS}
    greedy = ()
    while greedy[-1:] != (3,):  # follow the likeliest allowed token (the lowest among equals), as greedy generate
        greedy += (max(ToyGrammar().allowed_after(greedy), key=lambda t: exact_logprob(toy_model, greedy + (t,))),)
    decoder, ends, lengths = toy_decoder(toy_model, k=4)
    got = [tuple(e.tokens()) for e in ends]
    others = sorted((p for p in TOY_PLANS if p != greedy), key=lambda p: -exact[p])[:3]
    assert set(got) == {greedy, *others} and len(got) == 4
    for e in ends:  # log-probabilities from cached keys and values equal full forwards
        assert e.logprob == pytest.approx(exact[tuple(e.tokens())], abs=1e-4)
    assert [e.logprob / e.depth for e in ends] == sorted((e.logprob / e.depth for e in ends), reverse=True)
    # the count: every node decoded once; one forward per node that does not end a plan, plus the prompt's
    assert decoder.nodes == trie_nodes(decoder.root) and decoder.leaves == 4
    assert lengths == [len(TOY_PROMPT)] + [1] * (decoder.nodes - decoder.leaves)
    assert decoder.forwards == len(lengths) and decoder.forward_tokens == sum(lengths)


def test_trie_returns_every_plan_once_when_fewer_than_k_exist(toy_model):
    decoder, ends, lengths = toy_decoder(toy_model, k=20)
    assert sorted(tuple(e.tokens()) for e in ends) == sorted(TOY_PLANS)  # 15 distinct plans, no repeats
    assert decoder.nodes == 3 + 6 + 12 + 8 and decoder.leaves == 15 and len(lengths) == 1 + 14


def test_trie_samples_share_their_prefixes(toy_model):
    import torch

    torch.manual_seed(0)
    decoder, ends, lengths = toy_decoder(toy_model, k=12, sample=True)
    drawn = [tuple(e.tokens()) for e in ends]
    assert len(drawn) == 12 and len(set(drawn)) < 12  # 15 plans, 12 draws: repeats are kept
    prefixes = {p[:i] for p in drawn for i in range(1, len(p) + 1)}
    assert decoder.nodes == len(prefixes) == trie_nodes(decoder.root)  # a prefix drawn again costs nothing
    assert len(lengths) == 1 + decoder.nodes - len(set(drawn))


@pytest.fixture(scope="module")
def hf_models(tmp_path_factory):
    from test_planner_hf import tiny_model_dir

    from robomatrix.planners.base import make_planner

    tiny = tiny_model_dir(tmp_path_factory.mktemp("tiny"), chat=False)
    return {"tiny": make_planner("hf", model=tiny, max_steps=3, max_new_tokens=40, num_beams=1),
            "shipped": make_planner("hf", num_beams=1)}


@pytest.mark.parametrize("which", ["tiny", "shipped"])
def test_hf_trie_decoding_under_the_skill_grammar(hf_models, which):
    from robomatrix.planners.validate import validate_plan

    planner = hf_models[which]
    scene = SceneObjects.from_names(["red can", "green can", "box", "bin"], hidden=["drawer"], drawer_open=False)
    for instruction in ("put the red can in the box", "open the drawer"):
        (greedy,), plain = planner.generate(instruction, scene)
        (first,), usage = planner.generate(instruction, scene, trie=True)
        assert first == greedy and (usage.prompt_tokens, usage.completion_tokens, usage.calls) == \
            (plain.prompt_tokens, plain.completion_tokens, 1)  # one plan: exactly plain greedy decoding
        with ForwardLog(planner.model) as log:
            plans, usage = planner.generate(instruction, scene, k=3, trie=True)
        trie = planner.last_trie
        assert len(plans) == 3 and len({plan_text(p) if p is not None else None for p in plans}) == 3
        for steps in plans:  # every plan is valid in the scene (None: the refusal cannot())
            if steps is not None:
                validate_plan(steps, scene)
        assert usage.completion_tokens == trie.nodes == trie_nodes(trie.root) and usage.calls == 1
        assert log.lengths == [usage.prompt_tokens] + [1] * (trie.nodes - trie.leaves)
        if greedy:  # the iterative baseline's call (greedy, history in the prompt) counts what it computes too
            with ForwardLog(planner.model) as log:
                (steps,), usage = planner.generate(instruction, scene, done=greedy[:1], max_steps=2)
            assert steps[:1] == greedy[:1] and len(steps) <= 2
            assert log.lengths == [usage.prompt_tokens] + [1] * (usage.completion_tokens - 1)


def test_tree_planner_pays_for_the_trie_only(hf_models):
    planner = TreePlanner(sampler=hf_models["shipped"], k=3)
    assert planner.config.decoding == "trie"
    plan = planner.plan("put the red can in the box", SCENE)
    trie = planner.sampler.last_trie
    whole = sum(e.depth for e in _ends(trie.root))  # what K separately decoded plans would cost
    assert plan.steps and planner.last_usage.completion_tokens == trie.nodes == trie_nodes(trie.root) <= whole


def _ends(node):
    return [node] if node.ended else [e for c in node.children.values() for e in _ends(c)]
