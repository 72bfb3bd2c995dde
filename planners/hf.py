"""The `hf` planner: a local transformers causal LM, decoding constrained to valid plans.

Two kinds of model directory work:

- our own planner model (`robomatrix train-planner`; `robomatrix_planner.json` in the
  directory): it reads the compact prompt (`robomatrix.planners.prompts.compact_prompt`);
  with no `model` option the shipped one in `checkpoints/planner/` is used;
- any other causal LM, e.g. a small instruction-tuned Qwen or Llama: it reads the skill
  descriptions, the plan rules, examples and the scene (through the tokenizer's chat
  template when it has one).

Either way every token is chosen among those `robomatrix.planners.grammar.SkillGrammar`
allows after the tokens before it, so the output is a valid plan for the scene (or the
refusal `cannot()`, answered with the reason the rule planner's parser and grounding give).
"""
from __future__ import annotations

import json
import os
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from robomatrix.errors import UsageError
from robomatrix.messages import Plan, SkillCall
from robomatrix.planners.base import (
    Planner,
    PlanningError,
    SceneObjects,
    UnsupportedActionError,
    planner_config,
    register_planner,
)
from robomatrix.planners.grammar import SkillGrammar, step_text
from robomatrix.planners.prompts import (
    TokenUsage,
    chat_messages,
    compact_prompt,
    model_reading,
    normalise_instruction,
    system_prompt,
    user_prompt,
)
from robomatrix.planners.validate import validate_plan

MARKER = "robomatrix_planner.json"
SHIPPED_MODEL = Path(__file__).resolve().parent.parent / "checkpoints" / "planner"


def default_model_dir() -> Path:
    """ROBOMATRIX_PLANNER_MODEL when set, else the shipped `checkpoints/planner`."""
    return Path(os.environ.get("ROBOMATRIX_PLANNER_MODEL") or SHIPPED_MODEL)


@dataclass
class HFPlannerConfig:
    """Settings of the `hf` planner (`make_planner("hf", model="path/to/dir")`)."""

    model: str = ""  # transformers model directory; "" = ROBOMATRIX_PLANNER_MODEL or checkpoints/planner
    max_steps: int = 40  # longest plan the grammar allows
    max_new_tokens: int = 600  # generation budget; a step cut off by it is dropped
    temperature: float = 1.0  # sampling temperature for `sample`
    num_beams: int = 4  # beam width of plan() (1: greedy); beams score whole plans, not single tokens
    threads: int = -1  # torch CPU threads while generating; -1: one for our small model, torch's default otherwise

    def __post_init__(self):
        if self.max_steps < 1:
            raise ValueError(f"HFPlannerConfig.max_steps must be >= 1, got {self.max_steps!r}")
        if self.max_new_tokens < 1:
            raise ValueError(f"HFPlannerConfig.max_new_tokens must be >= 1, got {self.max_new_tokens!r}")
        if not self.temperature > 0:
            raise ValueError(f"HFPlannerConfig.temperature must be > 0, got {self.temperature!r}")
        if self.num_beams < 1:
            raise ValueError(f"HFPlannerConfig.num_beams must be >= 1, got {self.num_beams!r}")
        if self.threads < -1:
            raise ValueError(f"HFPlannerConfig.threads must be >= -1, got {self.threads!r}")


class HFPlanner(Planner):
    """Constrained decoding over a local causal LM; see the module docstring."""

    name = "hf"

    def __init__(self, config: HFPlannerConfig | None = None, **overrides):
        self.config = planner_config(HFPlannerConfig, config, overrides, "hf planner option")
        self.model_dir = Path(self.config.model) if self.config.model else default_model_dir()
        if not (self.model_dir / "config.json").is_file():
            hint = " Train one with `robomatrix train-planner`." if not self.config.model else ""
            raise UsageError(f"No transformers model in '{self.model_dir}' (config.json missing).{hint}")
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(self.model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(self.model_dir).eval()
        marker = self.model_dir / MARKER
        self.meta = json.loads(marker.read_text()) if marker.is_file() else {}
        self.compact = self.meta.get("prompt") == "compact"
        self.mapper = None
        if self.compact:  # our word-level model: unknown words are mapped to known ones as in training
            from robomatrix.planners.train import word_mapper

            self.mapper = word_mapper(self.tokenizer, embeddings=self.meta.get("word_mapper", False))
        # A tiny model is fastest on one thread; more threads only spin on a busy CPU.
        self.threads = self.config.threads if self.config.threads >= 0 else (1 if self.compact else 0)
        eos = self.tokenizer.eos_token_id
        if eos is None:
            eos = self.model.generation_config.eos_token_id
            eos = eos[0] if isinstance(eos, (list, tuple)) else eos
        if eos is None:
            raise UsageError(f"The tokenizer in '{self.model_dir}' has no end-of-sequence token.")
        self.end_id = int(eos)
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.end_id
        self.last_usage = TokenUsage()
        self.last_decided_by = ""  # "grounding" when precheck refused before decoding, else "model"
        self._lock = threading.Lock()  # generate() is not re-entrant across threads (serve-planner)
        self.last_trie: TrieDecoder | None = None  # the decoder of the last `generate_trie`, for inspection

    # -- prompts ----------------------------------------------------------------------------
    def _encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False)

    def prompt_ids(self, instruction: str, scene: SceneObjects, failure: str = "",
                   done: list[SkillCall] | tuple = ()) -> list[int]:
        """The prompt's tokens; `done` steps are written as the start of the answer (iterative planning)."""
        answer = [t for c in done for t in self._encode(" " + step_text(c) + ";")]
        if self.compact:
            return self._encode(compact_prompt(self.read_instruction(instruction), scene)) + answer
        if getattr(self.tokenizer, "chat_template", None):
            text = self.tokenizer.apply_chat_template(chat_messages(instruction, scene, failure), tokenize=False,
                                                      add_generation_prompt=True)
            text = text if isinstance(text, str) else self.tokenizer.decode(text)
        else:
            text = f"{system_prompt()}\n\n{user_prompt(instruction, scene, failure)}\nPlan:"
        return self._encode(text) + answer

    def read_instruction(self, instruction: str) -> str:
        """The instruction as our word-level model reads it: normalised, unknown words mapped (`WordMapper`)."""
        # models trained since the `reads` marker read the rule parser's normalisation (`model_reading`)
        text = model_reading(instruction) if self.meta.get("reads") == "normalised" else normalise_instruction(instruction)
        return self.mapper.map_text(text) if self.mapper else text

    # -- decoding ---------------------------------------------------------------------------
    @contextmanager
    def _decoding(self):
        """One decoding at a time, without gradients, on `threads` torch threads (restored after)."""
        import torch

        with self._lock, torch.no_grad():
            previous = torch.get_num_threads()
            if self.threads:
                torch.set_num_threads(self.threads)
            try:
                yield
            finally:
                torch.set_num_threads(previous)

    def generate(self, instruction: str, scene: SceneObjects, *, k: int = 1, sample: bool = False,
                 failure: str = "", done: list[SkillCall] | tuple = (), max_steps: int | None = None,
                 temperature: float | None = None, trie: bool = False) -> tuple[list[list[SkillCall] | None], TokenUsage]:
        """`k` plans (None for a refusal) and the tokens spent: the prompt once, every sampled token.

        Plans include the `done` steps. Beam search (`num_beams`, 1 = greedy) unless `sample`;
        sampling uses `temperature`. `trie`: the K plans are grown as one prefix tree instead
        (`generate_trie`), and only its nodes are counted.
        """
        import torch

        portable, containers = named_objects(instruction, scene)
        grammar = SkillGrammar(self._encode, self.end_id, scene, max_steps=max_steps or self.config.max_steps,
                               allow_refusal=not done, done=list(done), portable=portable, containers=containers)
        ids = self.prompt_ids(instruction, scene, failure, done)
        if trie:
            return self.generate_trie(grammar, ids, k, sample=sample, temperature=temperature)
        prompt = torch.tensor([ids])
        options = dict(max_new_tokens=self.config.max_new_tokens, prefix_allowed_tokens_fn=grammar.prefix_fn(len(ids)),
                       eos_token_id=self.end_id, pad_token_id=self.pad_id, num_return_sequences=k,
                       attention_mask=torch.ones_like(prompt))
        if sample:
            options.update(do_sample=True, temperature=temperature or self.config.temperature, top_k=0, top_p=1.0)
        else:  # beams for whole plans; a step-limited call (iterative) is greedy: beams favour the 1-token end
            step_limited = bool(done) or max_steps is not None
            options.update(do_sample=False, num_beams=max(1 if step_limited else self.config.num_beams, k))
        with self._decoding():
            out = self.model.generate(prompt, **options)
        plans, completion = [], 0
        for row in out[:, len(ids):].tolist():
            n = row.index(self.end_id) + 1 if self.end_id in row else len(row)
            completion += n
            cursor = grammar.parse(row[:n])
            plans.append(None if cursor.refused else cursor.steps)
        usage = TokenUsage(len(ids), completion, 1)
        self.last_usage = usage
        return plans, usage

    def generate_trie(self, grammar: SkillGrammar, ids: list[int], k: int, *, sample: bool = False,
                      temperature: float | None = None) -> tuple[list[list[SkillCall] | None], TokenUsage]:
        """`k` plans grown as one prefix tree over the prompt `ids` (`generate(..., trie=True)`).

        Not sampling: the greedy plan and the `k` - 1 likeliest other plans under the grammar, found
        best-first and ranked by log-probability per token (`TrieDecoder.k_best`; fewer when fewer
        exist). Sampling: `k` samples at `temperature` that share their decoded prefixes
        (`TrieDecoder.samples`), duplicates kept. Every token is computed by one
        model forward from its parent's cached keys and values, so the tokens counted as
        completion are exactly the trie's nodes (`TrieDecoder` says how they relate to the
        forwards). `last_trie` keeps the decoder for inspection.
        """

        with self._decoding():
            decoder = TrieDecoder(self.model, grammar, self.end_id, self.config.max_new_tokens,
                                  temperature=(temperature or self.config.temperature) if sample else 1.0)
            root = decoder.prefill(ids)
            ends = decoder.samples(root, k) if sample else decoder.k_best(root, k)
        plans = []
        for end in ends:
            cursor = grammar.parse(end.tokens())
            plans.append(None if cursor.refused else cursor.steps)
        usage = TokenUsage(len(ids), decoder.nodes, 1)
        self.last_usage, self.last_trie = usage, decoder
        return plans, usage

    def unknown_words(self, instruction: str) -> list[str]:
        """Words of the instruction our word-level model cannot read, even after `WordMapper` (none for other models)."""
        if not self.mapper:
            return []
        return [w for w in re.findall(r"[a-z]+", self.read_instruction(instruction)) if w not in self.mapper.known_set]

    def precheck(self, instruction: str, scene: SceneObjects) -> None:
        """Refuse before decoding, with the reason, when the instruction cannot be grounded in the scene.

        A colour, brand or container kind the scene lacks (`named_objects`) is refused at once.
        An instruction with a word the model cannot read (not even through `WordMapper`) is
        checked by the rule planner's parser and grounder: when they find no object for a
        phrase ("the banana") or no skill for the verb ("juggle"), that reason is the refusal;
        otherwise the model decides. `last_decided_by` says which happened ("grounding" or "model").
        """
        self.last_decided_by = "grounding"
        if not isinstance(instruction, str) or not instruction.strip():
            raise PlanningError("The instruction is empty; say what to do, e.g. 'put the red can in the box'.")
        if [] in named_objects(instruction, scene):
            raise refusal(instruction, scene, self.name)  # it names a colour or container the scene lacks
        if self.unknown_words(instruction):
            from robomatrix.planners.base import UnknownObjectError, make_planner

            try:
                make_planner("rule").plan(instruction, scene)
            except (UnknownObjectError, UnsupportedActionError) as err:
                raise err from None
            except PlanningError:
                pass  # e.g. an ambiguous reference: the model may still read it
        self.last_decided_by = "model"

    def plan(self, instruction: str, scene: SceneObjects, task_id: str = "", failure: str = "") -> Plan:
        self.precheck(instruction, scene)
        (steps,), _ = self.generate(instruction, scene, failure=failure)
        if steps is None:
            raise refusal(instruction, scene, self.name)
        plan = Plan(instruction=instruction, steps=steps, planner=self.name, task_id=task_id)
        validate_plan(plan, scene)
        return plan

    def replan(self, plan: Plan, failure: str, scene: SceneObjects) -> Plan:
        """Plan `plan.instruction` again from the scene as it is now (chat models also read `failure`)."""
        return self.plan(plan.instruction, scene, task_id=plan.task_id, failure="" if self.compact else failure)


CONTAINER_WORDS = {"box": "box", "carton": "box", "crate": "box", "bin": "bin", "trash": "bin", "garbage": "bin",
                   "dustbin": "bin", "rubbish": "bin", "waste": "bin", "drawer": "drawer", "cabinet": "drawer",
                   "cupboard": "drawer", "dresser": "drawer"}
"""Words that name a container kind (the last word of a scene name: "box", "bin", "drawer")."""


def named_objects(instruction: str, scene: SceneObjects) -> tuple[list[str] | None, list[str] | None]:
    """(portable objects, containers) the instruction can mean by its words; None: not restricted.

    Colour (and brand) words must match exactly, as in the rule planner's grounding: "the blue
    one" can only be a blue object. Container words ("bin", "trash", "cabinet") restrict
    containers to those kinds. An empty list means the instruction names something the scene
    does not have, so only a refusal is left.
    """
    from robomatrix.planners.base import is_container, name_words
    from robomatrix.planners.corpus import BRANDS
    from robomatrix.planners.grounding import COLOURS, singular, words_of

    words = [singular(w) for w in words_of(instruction)]
    brand_colour = {w: colour for colour, names in BRANDS.items() for n in names for w in n.split() if w != "cola"}
    said = {w for w in words if w in COLOURS} | {brand_colour[w] for w in words if w in brand_colour}
    portable = None
    if said:
        held = [scene.held] if scene.held else []
        portable = held + [n for n in scene.names()
                           if not is_container(n) and set(name_words(n)) & said and n not in held]
    kinds = {CONTAINER_WORDS[w] for w in words if w in CONTAINER_WORDS}
    containers = [n for n in scene.names() if is_container(n) and name_words(n)[-1] in kinds] if kinds else None
    return portable, containers


def refusal(instruction: str, scene: SceneObjects, who: str) -> PlanningError:
    """Why a model refused, in words: the rule planner's reason when it refuses too, else what is possible."""
    from robomatrix.planners.base import make_planner
    from robomatrix.planners.parse import capabilities

    try:
        make_planner("rule").plan(instruction, scene)
    except PlanningError as err:
        return err
    return UnsupportedActionError(f"The {who} planner could not turn '{instruction.strip()}' into a plan "
                                  f"with what I see ({scene.describe()}). {capabilities()}")


class TrieNode:
    """One decoded token of a `TrieDecoder`; the root stands for the prompt."""

    __slots__ = ("token", "parent", "cursor", "logprob", "depth", "keys_values", "next_logprobs", "children",
                 "ended")

    def __init__(self, token: int, parent: TrieNode | None, cursor, logprob: float, depth: int, ended: bool):
        self.token = token  # -1 at the root
        self.parent = parent
        self.cursor = cursor  # the grammar's `Cursor` after this token
        self.logprob = logprob  # of the tokens from the root to here (over the allowed tokens, at the temperature)
        self.depth = depth  # tokens after the prompt
        self.ended = ended  # the end token, or the `max_new_tokens` limit: a plan ends here
        self.keys_values: tuple | None = None  # the model's keys and values of this token per layer (root: prompt's)
        self.next_logprobs: dict[int, float] = {}  # allowed next token → log-probability, ids ascending
        self.children: dict[int, TrieNode] = {}

    def tokens(self) -> list[int]:
        """The generated tokens from the root to here."""
        out, node = [], self
        while node.parent is not None:
            out.append(node.token)
            node = node.parent
        return out[::-1]

    def best_next(self) -> int:
        """The most likely allowed next token (the lowest id among equals, as greedy `generate` picks)."""
        return max(self.next_logprobs, key=self.next_logprobs.__getitem__)


class TrieDecoder:
    """Grows the plans for one prompt as a prefix tree of tokens under a `SkillGrammar`.

    Cost model: the prompt is one forward (`prefill`); every other node that does not end a
    plan is one forward of its single token from its parent's cached keys and values, which
    gives the distribution over its children. A node that ends a plan (the end token, or the
    `max_new_tokens` limit) needs no forward. So after decoding, with `nodes` decoded tokens
    (trie nodes below the root, counted as completion tokens) and `leaves` of them ending a
    plan: `forwards == 1 + nodes - leaves`, `forward_tokens == len(prompt) + nodes - leaves`;
    for one plan this is the count of plain greedy `generate` (n tokens, n forwards).
    Nodes explored by the search but in no returned plan are counted as well.
    """

    def __init__(self, model, grammar: SkillGrammar, end_id: int, max_new_tokens: int, *, temperature: float = 1.0):
        self.model, self.grammar, self.end_id = model, grammar, int(end_id)
        self.max_new_tokens, self.temperature = max_new_tokens, temperature
        self.nodes = 0  # decoded tokens: trie nodes below the root
        self.leaves = 0  # nodes that end a plan
        self.forwards = 0  # model calls, the prompt's included
        self.forward_tokens = 0  # input tokens of those calls
        self._hot: tuple[TrieNode, tuple] | None = None  # the last node forwarded and its full keys and values
        self._pushed = 0  # frontier entries so far: equal log-probabilities pop in the order pushed
        self.root: TrieNode | None = None  # set by `prefill`

    def prefill(self, ids: list[int]) -> TrieNode:
        """The root: the prompt in one forward."""
        root = TrieNode(-1, None, self.grammar.start(), 0.0, 0, False)
        self._forward(root, ids, None)
        self.root = root
        return root

    def child(self, node: TrieNode, token: int) -> TrieNode:
        """`node`'s child for `token` (an allowed one), decoded (one forward) unless it is already there."""
        if token in node.children:
            return node.children[token]
        cursor = self.grammar.advance(node.cursor, token)
        depth = node.depth + 1
        ended = token == self.end_id or depth >= self.max_new_tokens
        out = TrieNode(token, node, cursor, node.logprob + node.next_logprobs[token], depth, ended)
        node.children[token] = out
        self.nodes += 1
        if ended:
            self.leaves += 1
        else:
            self._forward(out, [token], self._past(node))
        return out

    def greedy(self, node: TrieNode, frontier: list | None = None) -> TrieNode:
        """Follow the most likely token from `node` to a plan's end; the other children go on `frontier`."""
        while not node.ended:
            best = node.best_next()
            if frontier is not None:
                self._push(frontier, node, skip=best)
            node = self.child(node, best)
        return node

    def k_best(self, root: TrieNode, k: int, budget: int | None = None) -> list[TrieNode]:
        """The greedy plan and the `k` - 1 likeliest other plans (by total log-probability).

        Every plan other than the greedy one passes through a child that the greedy descent left
        on the frontier, and a path's log-probability only falls as it grows, so popping the
        frontier's likeliest prefix until `k` - 1 more plans have ended finds exactly the likeliest
        others (the `k` best plans whenever the greedy plan is among them). After `budget` nodes
        beyond the greedy plan (default `(k - 1) * max_new_tokens`), the remaining plans are the
        greedy completions of the likeliest open prefixes instead.

        Returns the end nodes ranked by log-probability per token, as beam search ranks finished
        plans (length penalty 1): by total log-probability a short wrong plan or a refusal of a
        small model often outranks the right longer plan (planner model of 2dc0416, 40 tasks of >= 5 steps:
        the first plan was right on 20 ranked by total, 22 per token, greedy alone 18).
        """
        import heapq

        frontier: list = []
        ends = [self.greedy(root, frontier)]
        limit = self.nodes + (budget if budget is not None else (k - 1) * self.max_new_tokens)
        while len(ends) < k and frontier:
            _, _, parent, token = heapq.heappop(frontier)
            node = self.child(parent, token)
            if self.nodes > limit:
                node = self.greedy(node)
            if node.ended:
                ends.append(node)
            else:
                self._push(frontier, node)
        return sorted(ends, key=lambda n: -n.logprob / n.depth)

    def samples(self, root: TrieNode, k: int) -> list[TrieNode]:
        """`k` plans sampled at `temperature` (torch's global generator); a prefix drawn again is reused."""
        import torch

        ends = []
        for _ in range(k):
            node = root
            while not node.ended:
                tokens = list(node.next_logprobs)
                weights = torch.tensor([node.next_logprobs[t] for t in tokens]).exp()
                node = self.child(node, tokens[int(torch.multinomial(weights, 1))])
            ends.append(node)
        return ends

    def _push(self, frontier: list, node: TrieNode, skip: int | None = None) -> None:
        import heapq

        for token, logprob in node.next_logprobs.items():
            if token != skip and token not in node.children:
                self._pushed += 1
                heapq.heappush(frontier, (-(node.logprob + logprob), self._pushed, node, token))

    def _past(self, node: TrieNode) -> tuple:
        """The keys and values of the prompt and every token down to `node`, per layer."""
        import torch

        if self._hot is not None and self._hot[0] is node:
            return self._hot[1]
        chain = []
        while node is not None:
            chain.append(node.keys_values)
            node = node.parent
        chain.reverse()
        return tuple((torch.cat([kv[layer][0] for kv in chain], dim=-2), torch.cat([kv[layer][1] for kv in chain], dim=-2))
                     for layer in range(len(chain[0])))

    def _forward(self, node: TrieNode, ids: list[int], past: tuple | None) -> None:
        """One model call: `ids` after `past`; sets the node's keys and values and its next-token log-probabilities."""
        import torch
        from transformers import DynamicCache

        cache = DynamicCache(ddp_cache_data=past, config=self.model.config)
        out = self.model(input_ids=torch.tensor([ids]), past_key_values=cache, use_cache=True)
        self.forwards += 1
        self.forward_tokens += len(ids)
        full = tuple((layer.keys, layer.values) for layer in out.past_key_values.layers)
        n = len(ids)
        node.keys_values = tuple((keys[..., -n:, :].clone(), values[..., -n:, :].clone()) for keys, values in full)
        self._hot = (node, full)
        allowed = sorted(self.grammar.allowed_after(node.cursor))
        logprobs = torch.log_softmax(out.logits[0, -1].float()[allowed] / self.temperature, dim=-1)
        node.next_logprobs = dict(zip(allowed, logprobs.tolist()))


register_planner("hf", HFPlanner)
