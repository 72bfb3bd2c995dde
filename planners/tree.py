"""The `tree` planner (after Tree-Planner, Hu et al. 2023): sample K plans once, merge, decide while executing.

1. Plan sampling: one call to a sampling planner (`hf` by default) returns K plans; the
   prompt is paid for once. `decoding="trie"` (default) grows the K plans as one prefix tree
   of tokens (`robomatrix.planners.hf.TrieDecoder`: the greedy plan and the likeliest others,
   ranked per token), so a prefix the plans share is decoded, and paid for, once;
   `decoding="beam"` takes the K best plans of a beam search, best first (the hf sampler
   counts the K plans returned, each whole, not the other beams it computed), and
   `decoding="sample"` K samples at `temperature`, each paid for whole.
2. Tree construction: the plans are merged into an action tree; shared prefixes become one
   path, each node sums the weights of the plans through it: 1 per sample, and 1, 1/2,
   1/4, … down the ranking (trie or beam), so the best plan outweighs all the others together and
   the rest are the alternatives to fall back on.
3. Grounded deciding: `execute` walks the tree top-down. At each branch, perception (the
   scene the executor reports) rules out children that cannot run now (`validate`), the
   heaviest remaining child runs; on failure the step is retried up to `attempts_per_step`,
   then its subtree is abandoned and the walk backtracks to the nearest alternative, with no
   new model call. Only when the whole tree is exhausted is the model asked again
   (`max_resamples`), with the failure in words.

`iterative_execute` is the baseline it is measured against: the model is prompted for one next
step at a time with the steps done so far in the prompt, and again after every failure.
Both return the tokens spent (prompt + completion) per task.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

from robomatrix.messages import Plan, SkillCall
from robomatrix.planners.base import (
    Planner,
    PlanningError,
    PlanValidationError,
    SceneObjects,
    planner_config,
    register_planner,
)
from robomatrix.planners.grammar import canonical_steps
from robomatrix.planners.prompts import TokenUsage
from robomatrix.planners.validate import PlanState, validate_plan

StepExecutor = Callable[[SkillCall], "tuple[bool, SceneObjects]"]
"""Runs one step; returns (succeeded, the scene perception reports afterwards)."""


@dataclass
class TreeNode:
    step: SkillCall | None  # None at the root
    count: float = 0.0  # weight of the sampled plans through this node
    ends: float = 0.0  # weight of the sampled plans that end here
    children: list[TreeNode] = field(default_factory=list)
    parent: TreeNode | None = None
    failed: bool = False  # abandoned after failing

    def child(self, step: SkillCall) -> TreeNode:
        key = canonical_steps([step])
        for c in self.children:
            if canonical_steps([c.step]) == key:
                return c
        node = TreeNode(step, parent=self)
        self.children.append(node)
        return node


class ActionTree:
    """Sampled plans merged by shared prefixes; `weights` (default 1 each) say how much each plan counts."""

    def __init__(self, plans: list[list[SkillCall]], weights: list[float] | None = None):
        self.root = TreeNode(None)
        weights = [1.0] * len(plans) if weights is None else list(weights)
        if len(weights) != len(plans):
            raise ValueError(f"ActionTree got {len(plans)} plans but {len(weights)} weights")
        for steps, w in zip(plans, weights):
            node = self.root
            node.count += w
            for s in steps:
                node = node.child(s)
                node.count += w
            node.ends += w

    def nodes(self) -> int:
        stack, n = [self.root], 0
        while stack:
            node = stack.pop()
            n += 1
            stack += node.children
        return n - 1

    def best_path(self) -> list[SkillCall]:
        """The plan that follows the most sampled child at every branch (stopping where most samples end)."""
        node, out = self.root, []
        while node.children:
            best = max(node.children, key=lambda c: c.count)
            if node.ends >= best.count:
                break
            node = best
            out.append(node.step)
        return out


@dataclass
class TreeRun:
    """What one task cost and how it went."""

    success: bool
    executed: list[SkillCall]  # steps that succeeded, in order
    usage: TokenUsage
    failures: int = 0  # failed executions
    backtracks: int = 0  # subtrees abandoned
    resamples: int = 0  # extra model calls after the tree ran out
    tree_nodes: int = 0
    reason: str = ""


def _runnable(step: SkillCall, scene: SceneObjects) -> bool:
    try:
        PlanState.start(scene).apply(step)
        return True
    except PlanValidationError:
        return False


DECODINGS = ("trie", "beam", "sample")
"""How the tree planner draws its K plans (`TreePlannerConfig.decoding`)."""


@dataclass
class TreePlannerConfig:
    """Settings of the `tree` planner."""

    sampler: str = "hf"  # planner that samples plans (needs generate(..., k=, sample=True))
    k: int = 2  # plans drawn per model call
    decoding: str = "trie"  # "trie": K plans as one prefix tree (hf only); "beam": the K best of a beam search;
    # "sample": K samples at `temperature`
    temperature: float = 0.5  # sampling temperature (lower: fewer, likelier branches)
    attempts_per_step: int = 2  # executions of one step before its subtree is abandoned
    max_resamples: int = 1  # model calls after the whole tree failed
    model: str = ""  # model directory for the hf sampler ("" = the shipped one)

    def __post_init__(self):
        if self.k < 1:
            raise ValueError(f"TreePlannerConfig.k must be >= 1, got {self.k!r}")
        if self.decoding not in DECODINGS:
            raise ValueError(f"TreePlannerConfig.decoding must be one of {', '.join(DECODINGS)}, got {self.decoding!r}")
        if not self.temperature > 0:
            raise ValueError(f"TreePlannerConfig.temperature must be > 0, got {self.temperature!r}")
        if self.attempts_per_step < 1:
            raise ValueError(f"TreePlannerConfig.attempts_per_step must be >= 1, got {self.attempts_per_step!r}")
        if self.max_resamples < 0:
            raise ValueError(f"TreePlannerConfig.max_resamples must be >= 0, got {self.max_resamples!r}")


class TreePlanner(Planner):
    """Sample-once, decide-while-executing planner; `plan` returns the tree's most sampled path."""

    name = "tree"

    def __init__(self, config: TreePlannerConfig | None = None, sampler: Planner | None = None, **overrides):
        self.config = planner_config(TreePlannerConfig, config, overrides, "tree planner option")
        if sampler is None:
            from robomatrix.planners.base import make_planner

            options = {"model": self.config.model, "temperature": self.config.temperature} \
                if self.config.sampler == "hf" else {}
            sampler = make_planner(self.config.sampler, **{k: v for k, v in options.items() if v != ""})
        if not callable(getattr(sampler, "generate", None)):
            raise PlanningError(f"The tree planner needs a sampling planner (one with generate()), "
                                f"not '{getattr(sampler, 'name', sampler)}'.")
        if self.config.decoding == "trie" and "trie" not in inspect.signature(sampler.generate).parameters:
            raise PlanningError(f"The tree planner's decoding 'trie' needs a sampler that decodes a prefix tree "
                                f"(hf), not '{getattr(sampler, 'name', sampler)}'; use decoding 'beam' or 'sample'.")
        self.sampler = sampler
        self.last_usage = TokenUsage()
        self.last_tree: ActionTree | None = None

    def sample_tree(self, instruction: str, scene: SceneObjects, failure: str = "") -> tuple[ActionTree, TokenUsage]:
        precheck = getattr(self.sampler, "precheck", None)
        if precheck is not None:  # the sampler's grounding refusals (hf: objects the scene lacks)
            precheck(instruction, scene)
        sample = self.config.decoding == "sample"
        trie = {"trie": True} if self.config.decoding == "trie" else {}
        plans, usage = self.sampler.generate(instruction, scene, k=self.config.k, sample=sample, failure=failure,
                                             temperature=self.config.temperature if sample else None, **trie)
        weights = [1.0 if sample else 0.5 ** i for i in range(len(plans))]
        ranked = [(p, w) for p, w in zip(plans, weights) if p is not None]
        if 2 * sum(w for _, w in ranked) <= sum(weights):  # the refusals weigh at least as much as the plans
            from robomatrix.planners.hf import refusal

            raise refusal(instruction, scene, self.name)
        return ActionTree([p for p, _ in ranked], [w for _, w in ranked]), usage

    def plan(self, instruction: str, scene: SceneObjects, task_id: str = "") -> Plan:
        if not isinstance(instruction, str) or not instruction.strip():
            raise PlanningError("The instruction is empty; say what to do, e.g. 'put the red can in the box'.")
        tree, usage = self.sample_tree(instruction, scene)
        self.last_tree, self.last_usage = tree, usage
        plan = Plan(instruction=instruction, steps=tree.best_path(), planner=self.name, task_id=task_id)
        validate_plan(plan, scene)
        return plan

    def replan(self, plan: Plan, failure: str, scene: SceneObjects) -> Plan:
        return self.plan(plan.instruction, scene, task_id=plan.task_id)

    def execute(self, instruction: str, scene: SceneObjects, run_step: StepExecutor) -> TreeRun:
        """Sample once, then execute top-down with backtracking (see the module docstring)."""
        tree, usage = self.sample_tree(instruction, scene)
        run = TreeRun(False, [], TokenUsage().add(usage), tree_nodes=tree.nodes())
        for resample in range(self.config.max_resamples + 1):
            if resample:
                failure = f"every sampled plan failed after {', '.join(s.to_text() for s in run.executed) or 'nothing'}"
                tree, usage = self.sample_tree(instruction, scene, failure)
                run.usage.add(usage)
                run.resamples += 1
                run.tree_nodes += tree.nodes()
            scene, done = self._walk(tree, scene, run_step, run)
            if done:
                run.success = True
                break
        self.last_usage, self.last_tree = run.usage, tree
        return run

    def _walk(self, tree: ActionTree, scene: SceneObjects, run_step: StepExecutor, run: TreeRun):
        node = tree.root
        while True:
            options = sorted((c for c in node.children if not c.failed and _runnable(c.step, scene)),
                             key=lambda c: -c.count)
            if node is not tree.root and node.ends and (not options or node.ends >= options[0].count):
                return scene, True
            if not options:
                if node is tree.root:
                    run.reason = "every branch of the action tree failed"
                    return scene, False
                node.failed = True  # nothing more to try below: backtrack
                run.backtracks += 1
                node = node.parent
                continue
            child = options[0]
            for _ in range(self.config.attempts_per_step):
                ok, scene = run_step(child.step)
                if ok:
                    run.executed.append(child.step)
                    node = child
                    break
                run.failures += 1
            else:
                child.failed = True
                run.backtracks += 1


def iterative_execute(sampler: Planner, instruction: str, scene: SceneObjects, run_step: StepExecutor, *,
                      max_calls: int = 60) -> TreeRun:
    """The baseline: prompt for one next step at a time (history in the prompt), execute it, repeat."""
    run = TreeRun(False, [], TokenUsage())
    start = scene
    while run.usage.calls < max_calls:
        (steps,), usage = sampler.generate(instruction, start, done=list(run.executed),
                                           max_steps=len(run.executed) + 1)
        run.usage.add(usage)
        if steps is None:
            run.reason = "the model refused"
            return run
        if len(steps) == len(run.executed):  # the model ended the plan
            run.success = True
            return run
        step = steps[-1]
        ok, scene = run_step(step)
        if ok:
            run.executed.append(step)
        else:
            run.failures += 1
    run.reason = f"no end after {max_calls} model calls"
    return run


register_planner("tree", TreePlanner)
