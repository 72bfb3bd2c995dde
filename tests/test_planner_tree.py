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
                 temperature=None):
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


class ScriptedModel:
    """A deterministic stand-in for a model: each instruction's plan from a table; 40 prompt tokens
    plus 3 per step already in the prompt, 6 completion tokens per step written (and 1 for the end)."""

    name = "scripted"

    def __init__(self, table):
        self.table = {k: steps(v) for k, v in table.items()}
        self.last_usage = TokenUsage()

    def generate(self, instruction, scene, *, k=1, sample=False, failure="", done=(), max_steps=None,
                 temperature=None):
        plan = self.table[instruction]
        if max_steps is not None:  # one more step after `done`, or the end
            nxt = plan[: len(done) + 1]
            usage = TokenUsage(40 + 3 * len(done), 6 if len(nxt) > len(done) else 1, 1)
            self.last_usage = usage
            return [nxt], usage
        self.last_usage = TokenUsage(40, k * (6 * len(plan) + 1), 1)
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
    result = _tree_vs_iterative(ScriptedModel(table), path, tasks=3, k=2, seed=0, min_steps=3, via="hf")
    tree, it = result["tree"], result["iterative"]
    assert tree["tasks"] == it["tasks"] == 3 and tree["success"] == it["success"] == 1.0
    # tree: one call per task, the prompt once and K whole plans
    assert tree["calls_per_task"] == 1.0
    assert tree["tokens_per_task"] == pytest.approx(sum(40 + 2 * (6 * n + 1) for n in (5, 3, 5)) / 3, abs=0.1)
    # iterative: a call per step, one more after the injected failure, one that ends; the prompt every time
    assert it["calls_per_task"] == pytest.approx(sum(n + 2 for n in (5, 3, 5)) / 3, abs=0.01)
    least = sum(sum(40 + 3 * i + 6 for i in range(n)) + 40 + 3 * n + 1 for n in (5, 3, 5)) / 3
    assert least < it["tokens_per_task"] < least + 70
    assert result["token_reduction"] == pytest.approx(1 - tree["tokens_per_task"] / it["tokens_per_task"], abs=1e-4)
