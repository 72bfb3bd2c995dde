"""The corrections memory: every correction with its context, on disk, and what it teaches for next time.

    memory = CorrectionMemory("~/.robomatrix/corrections")      # None (default): this process only
    memory.add(record, frame=rgb)                                # one JSON line + frames/<id>.png
    planner = MemoryPlanner(make_planner("rule"), memory)        # applies past preferences and fixes
    runner.offset_sources.append(memory.offset_for)              # remembered motion fixes per skill

The on-disk format is documented in `FORMAT.md` next to this module. Each record carries
`rules`: what the correction teaches, in a form that applies to new tasks without being said:

- `alias` {phrase, object}: "the trash is the blue bin" — the phrase is replaced by the object's
  name in every new instruction that says it;
- `referent` {phrase, object}: the answer to "Which can do you mean?" — used when the planner finds
  the same phrase ambiguous again and the object is among the candidates;
- `target` {from, to}: "put it in the box instead" — in new plans for similar instructions
  (MiniLM cosine >= `similarity`), position_over targets `from` become `to` (drawer steps follow);
- `object` {from, to}: "no, the blue one" — for nearly the same instruction (cosine >= 0.9) the
  plan's object `from` becomes `to`;
- `offset` {skill, noun, offset}: "grasp cans lower", or motion corrections given during a skill
  — added (as a `MotionOffset`) whenever that skill starts on an object of that noun; the latest
  record for a (skill, noun) wins (it already includes the earlier ones it was applied on top of).

Which records apply to a new instruction is decided by sentence embeddings (all-MiniLM-L6-v2,
`robomatrix.planners.embeddings`) between the new instruction and each record's instruction;
without the model, by word overlap.
"""
from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from robomatrix.errors import UsageError
from robomatrix.messages import Plan, SkillCall, new_id
from robomatrix.planners.base import (
    AmbiguousReferenceError,
    Planner,
    PlanningError,
    SceneObjects,
    display,
)
from robomatrix.planners.grounding import ObjectName
from robomatrix.planners.validate import drawer_name, validate_plan
from robomatrix.skills.runner import MotionOffset

DEFAULT_DIR = "~/.robomatrix/corrections"
RECORDS_FILE = "corrections.jsonl"
FRAMES_DIR = "frames"
RULE_KINDS = ("alias", "referent", "target", "object", "offset")
FORMAT_VERSION = 1


@dataclass
class CorrectionRecord:
    """One correction with its context (one line of corrections.jsonl; FORMAT.md)."""

    text: str  # what the person said
    level: str  # motion | skill | plan | preference | question
    understood: str  # what the robot understood, or the question it asked back
    instruction: str = ""  # the task running when it was said ("" when none)
    plan: list[dict] = field(default_factory=list)  # the plan's steps then: [{"skill", "args"}]
    step_index: int = -1  # the step running then (-1: none)
    scene: dict = field(default_factory=dict)  # SceneObjects.to_dict() then
    change: dict = field(default_factory=dict)  # what changed (the Understanding's fields)
    rules: list[dict] = field(default_factory=list)  # what it teaches for next time (module docstring)
    frame: str | None = None  # camera frame PNG, relative to the memory directory
    id: str = field(default_factory=new_id)
    time: float = field(default_factory=time.time)  # wall-clock seconds since the epoch
    source: str = "user"  # who said it: user, console, bench, ...
    version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict) -> CorrectionRecord:
        if not isinstance(data, dict):
            raise UsageError(f"a correction record must be a JSON object, got {type(data).__name__}")
        known = set(cls.__dataclass_fields__)
        missing = [k for k in ("text", "level", "understood") if k not in data]
        if missing:
            raise UsageError(f"a correction record lacks {', '.join(missing)}")
        return cls(**{k: v for k, v in data.items() if k in known})


def check_rule(rule: dict) -> dict:
    """A rule checked for its kind's fields (UsageError naming what is wrong)."""
    kind = rule.get("kind") if isinstance(rule, dict) else None
    needs = {"alias": ("phrase", "object"), "referent": ("phrase", "object"), "target": ("from", "to"),
             "object": ("from", "to"), "offset": ("skill", "noun", "offset")}
    if kind not in needs:
        raise UsageError(f"correction rule kind must be one of {', '.join(RULE_KINDS)}, got {kind!r}")
    for name in needs[kind]:
        if name not in rule:
            raise UsageError(f"correction rule '{kind}' lacks '{name}'")
    if kind == "offset":
        MotionOffset.from_dict(rule["offset"])
    return rule


class CorrectionMemory:
    """The corrections dataset (FORMAT.md) and retrieval over it. Thread-safe.

    `directory=None` keeps records in this process only (nothing is written)."""

    def __init__(self, directory: str | os.PathLike | None = None, similarity: float = 0.75,
                 embedder=None):
        self.directory = Path(os.path.expanduser(str(directory))) if directory is not None else None
        self.similarity = similarity  # cosine an instruction needs to a record's for target rules to apply
        self._embedder = embedder
        self._lock = threading.Lock()
        self._records: list[CorrectionRecord] = []
        if self.directory is not None:
            if self.directory.exists() and not self.directory.is_dir():
                raise UsageError(f"corrections memory {self.directory} is not a directory")
            path = self.directory / RECORDS_FILE
            if path.exists():
                for n, line in enumerate(path.read_text().splitlines(), 1):
                    if not line.strip():
                        continue
                    try:
                        self._records.append(CorrectionRecord.from_dict(json.loads(line)))
                    except (json.JSONDecodeError, UsageError, TypeError) as exc:
                        raise UsageError(f"{path}:{n}: not a correction record ({exc})") from None
        self._loaded_size = self._size()

    def _size(self) -> int:
        path = self.directory / RECORDS_FILE if self.directory is not None else None
        return path.stat().st_size if path is not None and path.exists() else 0

    def refresh(self) -> CorrectionMemory:
        """Read records another process appended since (the skill server shares the executive's memory)."""
        size = self._size()
        if self.directory is None or size == self._loaded_size:
            return self
        fresh = CorrectionMemory(self.directory, self.similarity, self._embedder)
        with self._lock:
            self._records, self._loaded_size = fresh._records, size
        return self

    # ------------------------------------------------------------------ storing
    def add(self, record: CorrectionRecord, frame: np.ndarray | None = None) -> CorrectionRecord:
        """Append `record` (its camera frame, RGB uint8, written as frames/<id>.png)."""
        for rule in record.rules:
            check_rule(rule)
        with self._lock:
            if self.directory is not None:
                self.directory.mkdir(parents=True, exist_ok=True)
                if frame is not None:
                    record.frame = f"{FRAMES_DIR}/{record.id}.png"
                    _write_png(self.directory / record.frame, frame)
                with (self.directory / RECORDS_FILE).open("a") as f:
                    f.write(json.dumps(record.to_dict(), allow_nan=False) + "\n")
                self._loaded_size = self._size()
            self._records.append(record)
        return record

    def records(self) -> list[CorrectionRecord]:
        with self._lock:
            return list(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def rules(self, kind: str) -> list[tuple[CorrectionRecord, dict]]:
        """Every (record, rule) of `kind`, oldest first."""
        return [(r, rule) for r in self.records() for rule in r.rules if rule.get("kind") == kind]

    # ------------------------------------------------------------------ retrieval
    def similar(self, instruction: str, kind: str, threshold: float | None = None
                ) -> list[tuple[float, CorrectionRecord, dict]]:
        """(similarity, record, rule) of `kind` whose record's instruction is like `instruction`, best first."""
        found = [(r, rule) for r, rule in self.rules(kind) if r.instruction]
        if not found or not instruction.strip():
            return []
        scores = self._similarities(instruction, [r.instruction for r, _ in found])
        limit = self.similarity if threshold is None else threshold
        out = [(s, r, rule) for s, (r, rule) in zip(scores, found) if s >= limit]
        return sorted(out, key=lambda t: (-t[0], -t[1].time))

    def _similarities(self, query: str, texts: list[str]) -> list[float]:
        try:
            embedder = self._embedder or _embedder()
            vecs = embedder.embed([query.lower(), *[t.lower() for t in texts]])
            return [float(v) for v in vecs[1:] @ vecs[0]]
        except Exception:  # no embedding model: word overlap (Jaccard)
            q = set(re.findall(r"[a-z0-9]+", query.lower()))
            return [len(q & w) / max(1, len(q | w)) for w in (set(re.findall(r"[a-z0-9]+", t.lower())) for t in texts)]

    def offset_for(self, call: SkillCall) -> MotionOffset | None:
        """The remembered offset for `call`'s skill on an object of its noun (a SkillRunner offset source)."""
        obj = call.args.get("object")
        noun = ObjectName.parse(obj).head if isinstance(obj, str) else ""
        best = None
        for _, rule in self.rules("offset"):
            if rule["skill"] == call.skill and rule["noun"] in ("", noun):
                best = rule  # the latest wins
        return MotionOffset.from_dict(best["offset"]) if best is not None else None

    def aliases(self) -> dict[str, str]:
        """phrase → object, the latest statement winning."""
        return {rule["phrase"]: rule["object"] for _, rule in self.rules("alias")}

    def referent(self, error: AmbiguousReferenceError) -> str | None:
        """The object this person meant last time the same phrase was ambiguous, if it is a candidate."""
        phrase = _norm(error.phrase)
        answer = None
        for _, rule in self.rules("referent"):
            if _norm(rule["phrase"]) == phrase and rule["object"] in error.candidates:
                answer = rule["object"]
        return answer


def _norm(phrase: str) -> str:
    return " ".join(w for w in re.findall(r"[a-z0-9]+", phrase.lower()) if w not in ("the", "a", "an"))


def _write_png(path: Path, rgb: np.ndarray) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.asarray(rgb)
    if image.ndim == 3 and image.shape[2] == 3:
        image = image[:, :, ::-1]  # RGB → BGR for OpenCV
    if not cv2.imwrite(str(path), np.ascontiguousarray(image)):
        raise OSError(f"could not write {path}")


def _embedder():
    from robomatrix.planners.embeddings import get_embedder

    return get_embedder()


# ------------------------------------------------------------------ applying rules to plans
def rewrite_aliases(instruction: str, aliases: dict[str, str]) -> tuple[str, list[str]]:
    """The instruction with each alias phrase (whole words) replaced by its object's name."""
    out, applied = instruction, []
    for phrase, obj in sorted(aliases.items(), key=lambda kv: -len(kv[0])):
        pattern = rf"\b(?:the |a |my )?{re.escape(phrase)}\b"
        if re.search(pattern, out, flags=re.IGNORECASE):
            out = re.sub(pattern, f"the {display(obj)}", out, flags=re.IGNORECASE)
            applied.append(f"'{phrase}' is the {display(obj)}")
    return out, applied


def retarget(steps: list[SkillCall], old: str, new: str, scene: SceneObjects) -> list[SkillCall]:
    """Steps with position_over targets `old` → `new`; drawer steps dropped or added as the new target
    needs (no drawer left to use: its open/close/search go; the drawer as new target: opened first)."""
    out = [SkillCall(s.skill, {**s.args, "target": new}) if s.skill == "position_over" and s.args.get("target") == old
           else SkillCall(s.skill, dict(s.args)) for s in steps]
    drawer = drawer_name(scene)
    if old == drawer and not any(s.skill == "position_over" and s.args.get("target") == drawer for s in out):
        out = [s for s in out if s.skill not in ("open_drawer", "close_drawer")
               and not (s.skill == "search" and s.args.get("object") == drawer)]
    if new == drawer and scene.drawer_open is not True and not any(s.skill == "open_drawer" for s in out):
        first = next((i for i, s in enumerate(out) if s.skill in ("search", "move_to", "grasp")), 0)
        out[first:first] = ([] if scene.in_view(drawer) else [SkillCall("search", {"object": drawer})]) + \
            [SkillCall("open_drawer", {})]
    if not scene.in_view(new) and not any(s.skill == "search" and s.args.get("object") == new for s in out):
        at = next((i for i, s in enumerate(out) if s.skill == "position_over" and s.args.get("target") == new), None)
        if at is not None:
            out.insert(at, SkillCall("search", {"object": new}))
    return out


def substitute_object(steps: list[SkillCall], old: str, new: str) -> list[SkillCall]:
    return [SkillCall(s.skill, {k: (new if v == old else v) for k, v in s.args.items()}) for s in steps]


class MemoryPlanner(Planner):
    """Any planner, plus what the corrections memory teaches (module docstring).

    `ask(error) -> object name | None` is asked when the plan has an ambiguous referent that the
    memory does not resolve (the corrections handler puts the question on the status channel and
    waits for the answer). `applied` lists, for the last plan, what the memory changed, in words."""

    def __init__(self, planner: Planner, memory: CorrectionMemory,
                 ask: Callable[[AmbiguousReferenceError], str | None] | None = None):
        self.inner, self.memory, self.ask = planner, memory, ask
        self.task_memory: CorrectionMemory | None = None  # the running task's corrections (replans keep them)
        self.name = planner.name
        self.applied: list[str] = []

    def plan(self, instruction: str, scene: SceneObjects, **kwargs) -> Plan:
        applied: list[str] = []
        text, notes = rewrite_aliases(instruction, self.memory.aliases())
        applied += notes
        for _ in range(4):  # one ambiguous phrase resolved per round
            try:
                plan = self.inner.plan(text, scene, **kwargs)
                break
            except AmbiguousReferenceError as err:
                meant = self.memory.referent(err)
                if meant is not None:
                    applied.append(f"'{err.phrase}' meant the {display(meant)} last time")
                elif self.ask is not None:
                    meant = self.ask(err)
                if meant is None:
                    raise
                text = _replace_phrase(text, err.phrase, meant)
        else:
            raise PlanningError(f"Too many ambiguous phrases in '{instruction}'.")
        plan.instruction = instruction if text == instruction else text
        plan = self._apply_plan_rules(plan, scene, applied)
        self.applied = applied
        return plan

    def replan(self, plan: Plan, failure: str, scene: SceneObjects) -> Plan:
        applied: list[str] = []
        new = self.inner.replan(plan, failure, scene)
        new = self._apply_plan_rules(new, scene, applied)
        self.applied = applied
        return new

    def _similar(self, instruction: str, kind: str, threshold: float | None):
        """The best rule of `kind` for `instruction`: this task's own corrections first, then the memory."""
        for memory in (self.task_memory, self.memory):
            if memory is not None:
                found = memory.similar(instruction, kind, threshold)
                if found:
                    return found[:1]
        return []

    def _apply_plan_rules(self, plan: Plan, scene: SceneObjects, applied: list[str]) -> Plan:
        steps = list(plan.steps)
        for _, record, rule in self._similar(plan.instruction, "object", 0.9):
            if any(rule["from"] in s.args.values() for s in steps) and scene.has(rule["to"]):
                steps = substitute_object(steps, rule["from"], rule["to"])
                applied.append(f"the {display(rule['to'])}, not the {display(rule['from'])} "
                               f"(said for '{record.instruction}')")
        for _, record, rule in self._similar(plan.instruction, "target", None):
            if any(s.skill == "position_over" and s.args.get("target") == rule["from"] for s in steps) \
                    and scene.has(rule["to"]):
                steps = retarget(steps, rule["from"], rule["to"], scene)
                applied.append(f"into the {display(rule['to'])}, not the {display(rule['from'])} "
                               f"(said for '{record.instruction}')")
        if steps == list(plan.steps):
            return plan
        new = Plan(instruction=plan.instruction, steps=steps, planner=plan.planner, task_id=plan.task_id)
        try:
            validate_plan(new, scene)
        except UsageError:
            applied.clear()
            return plan
        return new


def _replace_phrase(text: str, phrase: str, name: str) -> str:
    pattern = rf"\b{re.escape(phrase)}\b" if phrase else ""
    if pattern and re.search(pattern, text, flags=re.IGNORECASE):
        return re.sub(pattern, display(name), text, count=1, flags=re.IGNORECASE)
    noun = ObjectName.parse(name).head
    return re.sub(rf"\b(?:the )?{re.escape(noun)}\b", f"the {display(name)}", text, count=1, flags=re.IGNORECASE)
