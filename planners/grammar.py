"""The skill grammar: plan text, the legal steps in a scene, and a token trie for constrained decoding.

A plan as text is a list of steps, each `skill(arg, arg);`, e.g.
`move_to(red can); grasp(red can); lift(red can); position_over(red can, box); release(red can);`
with scene names as arguments (no quotes). `cannot();` alone means the model refuses.

`SkillGrammar` turns the legal steps into token sequences for one tokenizer and answers, for
any prefix of generated tokens, which tokens may come next (`allowed`): only skill names from
the registry, arguments naming objects the scene has (containers where a container goes,
portable objects where the gripper carries), directions and distances the skill accepts, and
only steps that `robomatrix.planners.validate` accepts after the steps before them, and no
search for an object already in view except as the first step (the person asked for it), and
no going back to an object this plan has already put into a container. A model
decoded through `allowed` (transformers' `prefix_allowed_tokens_fn`) can only write valid plans.
"""
from __future__ import annotations

import copy
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from robomatrix.errors import UsageError
from robomatrix.messages import SkillCall
from robomatrix.planners.base import PlanValidationError, SceneObjects, is_container
from robomatrix.planners.validate import PlanState
from robomatrix.skills.specs import skill_spec, skill_specs, validate_call

REFUSAL = "cannot()"
"""The one step a model writes when the instruction cannot be done in this scene."""
NUDGE_AMOUNTS_M = (0.01, 0.02, 0.03, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)
"""Distances the grammar offers for distance arguments (clipped to the skill's bounds)."""


def format_value(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def step_text(call: SkillCall) -> str:
    """`position_over(red can, box)`: the skill and its argument values in the registry's order."""
    spec = skill_spec(call.skill)
    full = validate_call(call.skill, call.args)
    return f"{call.skill}({', '.join(format_value(full[a.name]) for a in spec.args)})"


def plan_text(steps: Sequence[SkillCall]) -> str:
    return " ".join(step_text(s) + ";" for s in steps)


def canonical_steps(steps: Sequence) -> list[tuple[str, tuple]]:
    """Steps as comparable (skill, full argument values) tuples; defaults filled, numbers rounded."""
    out = []
    for s in steps:
        skill, args = (s["skill"], s.get("args") or {}) if isinstance(s, dict) else (s.skill, s.args)
        full = validate_call(skill, args)
        out.append((skill, tuple((k, round(v, 4) if isinstance(v, float) else v) for k, v in full.items())))
    return out


_STEP = re.compile(r"\s*([a-z_][a-z0-9_]*)\s*\(([^()]*)\)\s*[;,\n]?")


def parse_plan_text(text: str) -> list[SkillCall] | None:
    """`move_to(red can); grasp(red can);` → SkillCalls; None for `cannot()`. UsageError when malformed."""
    body = text.strip().strip("`").strip()
    calls, pos = [], 0
    while pos < len(body):
        m = _STEP.match(body, pos)
        if not m:
            raise UsageError(f"Cannot read a plan step at {body[pos:pos + 40]!r}; expected 'skill(arg, ...);'.")
        pos = m.end()
        name, raw = m.group(1), m.group(2).strip()
        if name == "cannot":
            return None
        spec = skill_spec(name)
        values = [v.strip().strip("'\"") for v in raw.split(",")] if raw else []
        if len(values) > len(spec.args):
            raise UsageError(f"{spec.signature()} takes {len(spec.args)} arguments, got {len(values)} in {m.group(0)!r}.")
        args = {}
        for a, v in zip(spec.args, values):
            args[a.name] = float(v) if a.kind == "distance_m" else v
        calls.append(SkillCall(name, args))
    return calls


def candidate_steps(scene: SceneObjects) -> list[SkillCall]:
    """Every call whose arguments fit the scene's objects (before any ordering rule)."""
    names = scene.names()
    containers = [n for n in names if is_container(n)]
    portable = [n for n in names if not is_container(n)]
    out: list[SkillCall] = []
    for spec in skill_specs():
        choices: list[list] = []
        for a in spec.args:
            if a.kind == "container":
                choices.append(containers)
            elif a.kind == "object":
                choices.append(portable if a.portable else names)
            elif a.kind == "direction":
                choices.append(list(a.choices))
            else:
                lo, hi = a.bounds or (0.0, float("inf"))
                choices.append([v for v in NUDGE_AMOUNTS_M if lo <= v <= hi])
        combos: list[list] = [[]]
        for values in choices:
            combos = [c + [v] for c in combos for v in values]
        out += [SkillCall(spec.name, dict(zip((a.name for a in spec.args), c))) for c in combos]
    return out


def legal_next(state: PlanState, candidates: Sequence[SkillCall]) -> list[SkillCall]:
    """The candidates `validate_plan` accepts as the next step from `state`."""
    out = []
    for call in candidates:
        trial = copy.copy(state)
        trial.visible = set(state.visible)
        try:
            trial.apply(call)
        except PlanValidationError:
            continue
        out.append(call)
    return out


@dataclass
class _Node:
    children: dict[int, _Node] = field(default_factory=dict)
    call: SkillCall | None = None  # set where a step's tokens end
    refusal: bool = False


@dataclass
class Cursor:
    """Where decoding stands: the steps completed, the symbolic state after them, the partial step."""

    state: PlanState
    steps: list[SkillCall]
    node: _Node | None  # None: at a step boundary
    done: bool = False  # the end token was written
    refused: bool = False


class SkillGrammar:
    """Legal continuations of a plan in token space, for one tokenizer and one scene.

    encode: text → token ids (no special tokens); each step is encoded on its own as
    `" " + step_text + ";"`, so what the model writes is exactly those pieces in a row.
    end_id: the token that ends the plan (the tokenizer's EOS).
    max_steps: counts the `done` steps too; at the limit only the end token is allowed.
    portable, containers: when given, the only portable objects / containers steps may name
    (those the instruction refers to; see `robomatrix.planners.hf.named_objects`).
    """

    def __init__(self, encode: Callable[[str], list[int]], end_id: int, scene: SceneObjects, *,
                 max_steps: int = 40, allow_refusal: bool = True, done: Sequence[SkillCall] = (),
                 portable: Sequence[str] | None = None, containers: Sequence[str] | None = None):
        if max_steps < 1:
            raise ValueError(f"SkillGrammar max_steps must be >= 1, got {max_steps!r}")
        self.encode, self.end_id, self.scene = encode, int(end_id), scene
        self.max_steps, self.allow_refusal = max_steps, allow_refusal
        self.done = list(done)  # steps already in the prompt (iterative planning): decoding continues after them
        self.candidates = candidate_steps(scene)
        if portable is not None:  # only these portable objects may fill object slots
            keep = set(portable)
            self.candidates = [c for c in self.candidates
                               if all(is_container(v) or v in keep for k, v in c.args.items() if k == "object")]
        if containers is not None:  # only these containers may be named at all
            keep = set(containers)
            self.candidates = [c for c in self.candidates
                               if all(not is_container(v) or v in keep for k, v in c.args.items()
                                      if k in ("object", "target"))]
        self._ids: dict[str, tuple[int, ...]] = {}
        self._tries: dict[tuple, _Node] = {}
        self._cursors: dict[tuple[int, ...], Cursor] = {}

    def unit_ids(self, text: str) -> tuple[int, ...]:
        if text not in self._ids:
            ids = tuple(self.encode(" " + text + ";"))
            if not ids:
                raise ValueError(f"the tokenizer encodes step {text!r} to no tokens")
            self._ids[text] = ids
        return self._ids[text]

    def _trie(self, cursor: Cursor) -> _Node:
        st = cursor.state
        first = not cursor.steps
        placed = frozenset(b.args["object"] for a, b in zip(cursor.steps, cursor.steps[1:])
                           if a.skill == "position_over" and b.skill == "release")
        key = (st.held, st.drawer_open, frozenset(st.visible), placed, first, first and self.allow_refusal)
        if key not in self._tries:
            root = _Node()
            units = [(self.unit_ids(step_text(c)), c, False) for c in legal_next(st, self.candidates)
                     if (first or not (c.skill == "search" and c.args["object"] in st.visible))
                     and not (c.skill in ("move_to", "grasp") and c.args["object"] in placed)]
            if key[-1]:
                units.append((self.unit_ids(REFUSAL), None, True))
            for ids, call, refusal in units:
                node = root
                for t in ids:
                    node = node.children.setdefault(t, _Node())
                node.call, node.refusal = call, refusal
            self._tries[key] = root
        return self._tries[key]

    def start(self) -> Cursor:
        """Before the first generated token: after the `done` steps given at construction."""
        state = PlanState.start(self.scene)
        for number, call in enumerate(self.done, start=1):
            state.apply(call, number)
        return Cursor(state, list(self.done), None)

    def advance(self, cursor: Cursor, token: int) -> Cursor:
        """The cursor after `token`; ValueError when the token is not allowed there."""
        if cursor.done:
            return cursor  # padding after the end
        if cursor.node is None and token == self.end_id:
            return Cursor(cursor.state, cursor.steps, None, done=True, refused=cursor.refused)
        node = (cursor.node or self._trie(cursor)).children.get(token)
        if node is None:
            raise ValueError(f"token {token} is not a legal continuation")
        if node.children:  # a step's tokens go on (a finished step that prefixes another is not chosen)
            return Cursor(cursor.state, cursor.steps, node, refused=cursor.refused)
        if node.refusal:
            return Cursor(cursor.state, cursor.steps, None, done=True, refused=True)
        state = copy.copy(cursor.state)
        state.visible = set(cursor.state.visible)
        state.apply(node.call)
        return Cursor(state, cursor.steps + [node.call], None)

    def allowed_after(self, cursor: Cursor) -> list[int]:
        if cursor.done:
            return [self.end_id]
        if cursor.node is not None:
            return list(cursor.node.children)
        if len(cursor.steps) >= self.max_steps:
            return [self.end_id]
        # The end may come first: an empty plan is right when the goal already holds (drawer already open).
        return list(self._trie(cursor).children) + [self.end_id]

    def walk(self, generated: Sequence[int]) -> Cursor:
        """The cursor after `generated` (the tokens after the prompt); prefixes are cached."""
        key = tuple(int(t) for t in generated)
        if key in self._cursors:
            return self._cursors[key]
        cursor = self.walk(key[:-1]) if key else self.start()
        if key:
            cursor = self.advance(cursor, key[-1])
        if len(self._cursors) > 20000:
            self._cursors.clear()
        self._cursors[key] = cursor
        return cursor

    def allowed(self, generated: Sequence[int]) -> list[int]:
        """Token ids that may follow `generated`."""
        return self.allowed_after(self.walk(generated))

    def prefix_fn(self, prompt_length: int) -> Callable:
        """A `prefix_allowed_tokens_fn` for `model.generate` when every row's prompt is `prompt_length` long."""
        return lambda batch_id, input_ids: self.allowed(input_ids[prompt_length:].tolist())

    def parse(self, generated: Sequence[int]) -> Cursor:
        """The completed steps of `generated`; a step cut off by the token limit is dropped."""
        cursor = self.start()
        for t in generated:
            cursor = self.advance(cursor, int(t))
            if cursor.done:
                break
        return cursor
