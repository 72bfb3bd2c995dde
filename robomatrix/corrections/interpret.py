"""What a person's correction means, at three levels, without middleware (after "Yell At Your Robot").

    u = interpret("a bit to the left", CorrectionContext(scene, plan, step_index=2))
    u.level, u.summary, u.offset        # "motion", "move 3.0 cm left", MotionOffset(base_dy_m=0.03)

Levels and what each gives the handler (`robomatrix.corrections.handler`) to apply:
- motion: "a bit to the left", "higher", "lower", "forward 5 cm", "slower" → `offset`, a
  `MotionOffset` for the running skill (the skill is not aborted);
- skill: "no, the blue one", "grasp it lower", "let go" → the current step's object changes
  (`substitute` {old: new}), a standing offset for one skill (`skill_offset`), or new steps
  (`release_now`);
- plan: "put it in the drawer instead", "open the drawer first", "skip that", "stop", "resume",
  "cancel the task", "try again" → an edit kind (`edit`: replace/skip/pause/resume/cancel/replan),
  for replace with the instruction the new steps come from (`instruction`, `where`);
- preference: "the trash is the blue bin" → an `alias` {phrase: object}, kept in memory;
- question: anything not understood, or a referent that fits several objects → `question`, and
  nothing moves.

Words decide, not embeddings: sentence embeddings do not tell "left" from "right" or "open" from
"close" (0.91), which is exactly what a correction turns on. Referents are grounded in the scene
with the planner's `Grounder` (colour words exact, nouns by words then by MiniLM).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from robomatrix.messages import Plan, SkillCall
from robomatrix.planners.base import (
    AmbiguousReferenceError,
    PlanningError,
    SceneObjects,
    display,
    is_container,
)
from robomatrix.planners.grounding import COLOURS, Grounder, ObjectName
from robomatrix.skills.runner import MotionOffset

LEVELS = ("motion", "skill", "plan", "preference", "question")
DEFAULT_SHIFT_M = 0.03  # "a bit to the left", "lower": one small step
LARGE_SHIFT_M = 0.08  # "a lot further left", "much higher"
SLOWER, FASTER = 0.5, 1.5  # "slower", "faster"; "a bit slower" goes half as far
EXAMPLES = "'a bit to the left', 'lower', 'no, the blue one', 'put it in the box instead', 'skip that', 'stop'"

# direction word → (field, sign): base for the planar ones, the gripper for up/down
_DIRECTIONS = (
    (r"(?:to the |towards the |more to the |further )?left(?:wards)?", ("base_dy_m", 1.0)),
    (r"(?:to the |towards the |more to the |further )?right(?:wards)?", ("base_dy_m", -1.0)),
    (r"forwards?|ahead|further in|closer", ("base_dx_m", 1.0)),
    (r"backwards?|back(?: up| off)?|further back|away", ("base_dx_m", -1.0)),
    (r"up|higher|upwards?|raise(?: it)?", ("arm_dz_m", 1.0)),
    (r"down|lower|downwards?", ("arm_dz_m", -1.0)),
)
_DIR_RE = re.compile(r"\b(" + "|".join(f"(?:{p})" for p, _ in _DIRECTIONS) + r")\b")
_AMOUNT_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(cm|centimet(?:er|re)s?|mm|millimet(?:er|re)s?|m|met(?:er|re)s?|inch(?:es)?)\b")
_SMALL = re.compile(r"\b(a (?:little )?bit|a little|slightly|a tad|a touch|just a bit)\b")
_LARGE = re.compile(r"\b(a lot|much|way|far)\b")
_PAUSE = re.compile(r"^(?:stop|wait|hold on|hold it|pause|freeze|halt|stop (?:it|there|now|moving)|"
                    r"wait a (?:second|moment|sec)|one moment)$")
_RESUME = re.compile(r"^(?:resume|continue|go on|carry on|go ahead|keep going|proceed|ok(?:ay)?,? (?:go on|continue)|"
                     r"you can (?:go on|continue))$")
_CANCEL = re.compile(r"^(?:cancel(?: (?:it|that|the task|everything|the job))?|abort(?: (?:it|the task))?|"
                     r"forget (?:it|about it|the task)|never ?mind|stop the task|give up)$")
_SKIP = re.compile(r"^(?:skip(?: (?:that|this|it|the step|this step|that step|that one|this one))?|"
                   r"(?:don't|do not) do (?:that|this)|leave (?:that|it)|next(?: step)?)$")
_RETRY = re.compile(r"^(?:try again|again|redo(?: it)?|retry|start over|do it again)$")
_LET_GO = re.compile(r"^(?:let (?:it )?go|release(?: it)?|drop it|open the gripper|let go of it|put it down)$")
_FIRST = re.compile(r"^(?:but |please )?(?P<what>.+?),? (?:first|before that|beforehand)$|^first,? (?P<what2>.+)$")
_AFTER = re.compile(r"^(?:and |also |then )(?P<what>.+?)(?:,? (?:afterwards|after that|at the end|too|as well))?$"
                    r"|^(?P<what2>.+?),? (?:afterwards|after that|at the end|as well)$")
_INSTEAD = re.compile(r"\binstead\b|^(?:no|not there|wrong place)\b")
_TARGET = re.compile(r"\b(?:in|into|inside|to|over|on)(?: the| a| that)? (?P<phrase>[a-z ]+?)(?: instead)?$")
_ALIAS = re.compile(r"^(?:(?:remember|note)(?: that)?,? )?(?:by |when i say )?(?:the |a |my )?(?P<phrase>[a-z ]+?)"
                    r" (?:is|means|=|i mean|are) (?:the |a |my )?(?P<target>[a-z ]+)$")
_SKILL_ADJUST = re.compile(r"^(?:(?:always|please|and) )?(?P<verb>grasp|grab|grip|pick up|pick|hold|take|release|drop)"
                           r" (?P<what>it|them|that|this|the [a-z ]+?|[a-z]+ cans?|cans|[a-z]+s|everything)"
                           r" (?P<rest>.+)$")


@dataclass
class CorrectionContext:
    """What the correction is about: the task, the plan and step running now, the scene."""

    scene: SceneObjects | None = None  # what perception sees now
    plan: Plan | None = None  # the plan being executed (None: no task runs)
    step_index: int = -1  # the step running now (-1: none)
    instruction: str = ""  # the task's instruction
    question: AmbiguousReferenceError | None = None  # a pending question the text may answer

    @property
    def step(self) -> SkillCall | None:
        if self.plan is None or not 0 <= self.step_index < len(self.plan.steps):
            return None
        return self.plan.steps[self.step_index]

    @property
    def remaining(self) -> list[SkillCall]:
        if self.plan is None:
            return []
        return list(self.plan.steps[max(self.step_index, 0):])


@dataclass
class Understanding:
    """What a correction means (module docstring); `summary` is what the status channel says."""

    text: str  # the correction as said
    level: str  # one of LEVELS
    summary: str  # what was understood, in words, or the question
    offset: MotionOffset | None = None  # motion: for the running skill
    skill_offset: tuple[str, str, MotionOffset] | None = None  # skill: (skill, object noun or "", offset) from now on
    edit: str = ""  # plan edit kind (robomatrix.executive.core.EDIT_KINDS), "" for none
    instruction: str = ""  # replace: plan this (from the scene now) for the new steps
    where: str = "replace"  # replace: "replace" the remaining steps, or put the new ones "before"/"after" them
    substitute: dict[str, str] = field(default_factory=dict)  # skill: object name → new object name
    release_now: bool = False  # skill: open the gripper now (and drop the steps that needed the held object)
    alias: dict[str, str] = field(default_factory=dict)  # preference: phrase → object name
    answer: str = ""  # the object a pending question is answered with
    question: str = ""  # question: what to ask back

    def __post_init__(self):
        if self.level not in LEVELS:
            raise ValueError(f"Understanding.level must be one of {LEVELS}, got {self.level!r}")

    def to_dict(self) -> dict:
        out = {"text": self.text, "level": self.level, "summary": self.summary}
        if self.offset is not None:
            out["offset"] = self.offset.to_dict()
        if self.skill_offset is not None:
            out["skill_offset"] = {"skill": self.skill_offset[0], "noun": self.skill_offset[1],
                                   "offset": self.skill_offset[2].to_dict()}
        for name in ("edit", "instruction", "substitute", "alias", "answer", "question"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        if self.edit == "replace":
            out["where"] = self.where
        if self.release_now:
            out["release_now"] = True
        return out


def normalise(text: str) -> str:
    """Lower case, one space, no trailing punctuation; "cm" split from its number; "ok, …" dropped."""
    t = text.lower().replace("’", "'")
    t = re.sub(r"(\d)(cm|mm|m)\b", r"\1 \2", t)
    t = re.sub(r"[!?.;]+", " ", t)
    t = " ".join(t.split()).strip(" ,")
    t = re.sub(r"^(?:ok(?:ay)?|hey|robot|um|uh|err|please|now|hmm)[, ]+", "", t)
    return re.sub(r"[, ]+please$", "", t).strip(" ,")


def interpret(text: str, ctx: CorrectionContext | None = None, grounder: Grounder | None = None) -> Understanding:
    """Understand `text` in `ctx` (see the module docstring). Never raises for what a person says:
    what is not understood comes back as level "question"."""
    ctx = ctx or CorrectionContext()
    t = normalise(text)
    if not t:
        return _question(text, f"I did not hear a correction. You can say e.g. {EXAMPLES}.")
    g = grounder or (Grounder(ctx.scene) if ctx.scene is not None else None)
    if ctx.question is not None:
        answered = _answer(text, t, ctx, g)
        if answered is not None:
            return answered
    for rule in (_plan_control, _let_go, _motion, _skill_adjust, _alias, _target_change, _first_or_after,
                 _other_object):
        found = rule(text, t, ctx, g)
        if found is not None:
            return found
    return _question(text, f"Sorry, I did not understand '{text.strip()}'. You can say e.g. {EXAMPLES}.")


# ------------------------------------------------------------------ rules, most specific first
def _question(text: str, question: str) -> Understanding:
    return Understanding(text, "question", question, question=question)


def _plan_control(text, t, ctx, g):
    for pattern, kind, summary in ((_PAUSE, "pause", "pause: stop and wait"),
                                   (_RESUME, "resume", "resume the task"),
                                   (_CANCEL, "cancel", "cancel the task"),
                                   (_SKIP, "skip", "skip the current step"),
                                   (_RETRY, "replan", "plan the rest again and retry")):
        if pattern.match(t):
            if kind == "skip" and ctx.step is not None:
                summary = f"skip {ctx.step.to_text()}"
            return Understanding(text, "plan", summary, edit=kind)
    return None


def _let_go(text, t, ctx, g):
    if not _LET_GO.match(t):
        return None
    held = ctx.scene.held if ctx.scene is not None else None
    if held is None:
        return _question(text, "I am not holding anything. What should I do instead?")
    return Understanding(text, "skill", f"let go of the {display(held)} now", release_now=True, edit="replace")


def _amount(t: str) -> float:
    m = _AMOUNT_RE.search(t)
    if m:
        value, unit = float(m.group(1)), m.group(2)
        scale = 0.01 if unit.startswith("c") else 0.001 if unit.startswith("mil") or unit == "mm" else \
            0.0254 if unit.startswith("inch") else 1.0
        return value * scale
    if _LARGE.search(t) and not _SMALL.search(t):
        return LARGE_SHIFT_M
    return DEFAULT_SHIFT_M


_SPEED_RE = re.compile(r"\b(slower|slow down|more slowly|too fast|slowly|carefully|careful|faster|speed up|"
                       r"more quickly|too slow|hurry up|hurry|quicker)\b")


def _offset_from(t: str) -> MotionOffset | None:
    """Directions and speed words in `t` as one offset (None: no motion words)."""
    values = {"base_dx_m": 0.0, "base_dy_m": 0.0, "arm_dz_m": 0.0}
    found = False
    amount = _amount(t)
    for m in _DIR_RE.finditer(_SPEED_RE.sub(" ", t)):  # "slow down" is a speed, not a direction
        word = m.group(1)
        for pattern, (name, sign) in _DIRECTIONS:
            if re.fullmatch(pattern, word):
                values[name] += sign * amount
                found = True
                break
    scale = 1.0
    if re.search(r"\b(slower|slow down|more slowly|too fast|slowly|careful(?:ly)?)\b", t):
        scale = 0.75 if _SMALL.search(t) else SLOWER
        found = True
    elif re.search(r"\b(faster|speed up|more quickly|too slow|hurry(?: up)?|quicker)\b", t):
        scale = 1.25 if _SMALL.search(t) else FASTER
        found = True
    if not found:
        return None
    clip = MotionOffset.MAX_SHIFT_M
    return MotionOffset(**{k: max(-clip, min(clip, v)) for k, v in values.items()}, speed_scale=scale)


_MOTION_FILLER = frozenset("a an the bit little slightly tad touch just more further to towards move go come it shift "
                           "nudge please now no bit much lot way far and then by cm centimeter centimeters centimetre "
                           "centimetres mm millimeter millimeters m meter meters metre metres inch inches a too a "
                           "little of your side little".split())


def _motion(text, t, ctx, g):
    """Only direction, amount and speed words ("a bit to the left", "forward 5 cm", "slower")."""
    offset = _offset_from(t)
    if offset is None:
        return None
    rest = _DIR_RE.sub(" ", _SPEED_RE.sub(" ", t))
    rest = _AMOUNT_RE.sub(" ", rest)
    if any(w not in _MOTION_FILLER and not w.isdigit() for w in rest.split()):
        return None
    step = ctx.step
    where = f" ({step.to_text()})" if step is not None else " (the next skill: nothing runs now)"
    shifts = MotionOffset(offset.base_dx_m, offset.base_dy_m, offset.arm_dx_m, offset.arm_dz_m)
    what = f"move {offset.describe()}" if not shifts.is_zero else \
        f"{'slow down' if offset.speed_scale < 1 else 'speed up'} to {offset.describe()}"
    return Understanding(text, "motion", f"{what}{where}", offset=offset)


def _skill_adjust(text, t, ctx, g):
    """"grasp it lower", "grasp cans a bit lower", "always grab the cans more to the left"."""
    m = _SKILL_ADJUST.match(t)
    if not m:
        return None
    offset = _offset_from(m.group("rest"))
    if offset is None:
        return None
    verb = m.group("verb")
    skill = "release" if verb in ("release", "drop") else "grasp"
    what = m.group("what")
    noun = ""
    if what in ("it", "that", "this", "them"):
        obj = _step_object(ctx)
        noun = ObjectName.parse(obj).head if obj else ""
    elif what != "everything":
        noun = ObjectName.parse(re.sub(r"^the ", "", what)).head
    scope = f"{noun}s" if noun else "everything"
    return Understanding(text, "skill", f"{skill} {scope} {offset.describe()} from now on",
                         skill_offset=(skill, noun, offset))


def _alias(text, t, ctx, g):
    """"the trash is the blue bin", "by soda I mean the green can"."""
    m = _ALIAS.match(t)
    if not m or g is None:
        return None
    phrase, target = m.group("phrase").strip(), m.group("target").strip()
    if phrase in ("it", "that", "this", "there") or not phrase:
        return None
    try:
        name = g.resolve(target)
    except AmbiguousReferenceError as exc:
        return _question(text, str(exc))
    except PlanningError as exc:
        return _question(text, f"{exc} What is '{phrase}'?")
    return Understanding(text, "preference", f"'{phrase}' means the {display(name)}", alias={phrase: name})


def _target_change(text, t, ctx, g):
    """"put it in the drawer instead", "no, in the bin", "the box instead"."""
    if not _INSTEAD.search(t) or g is None:
        return None
    core = re.sub(r"\binstead\b", "", re.sub(r"^(?:no|not there|wrong place)[, ]*", "", t)).strip(" ,")
    m = _TARGET.search(core)
    phrase = m.group("phrase") if m else core
    phrase = re.sub(r"^(?:put it|put that|place it|drop it|use)\s*", "", phrase).strip()
    if not phrase:
        return None
    try:
        target = g.resolve(phrase, "container")
    except AmbiguousReferenceError as exc:
        return _question(text, str(exc))
    except PlanningError as exc:
        if is_container(phrase):  # "the purple box instead": a container that is not here
            return _question(text, str(exc))
        return None  # maybe a different object ("the blue one instead"): later rules decide
    obj = _moved_object(ctx)
    if obj is None:
        return _question(text, f"Put what in the {display(target)}? Nothing is being carried or planned to be.")
    old = _plan_target(ctx)
    instruction = f"put the {display(obj)} in the {display(target)}"
    summary = f"put the {display(obj)} in the {display(target)}" + (f" instead of the {display(old)}" if old else "")
    return Understanding(text, "plan", summary, edit="replace", instruction=instruction,
                         substitute={old: target} if old else {})


def _first_or_after(text, t, ctx, g):
    """"open the drawer first", "then close the drawer"."""
    for pattern, where in ((_FIRST, "before"), (_AFTER, "after")):
        m = pattern.match(t)
        if m:
            what = (m.group("what") or m.group("what2") or "").strip(" ,")
            if what and not _offset_from(what):
                label = "first" if where == "before" else "afterwards"
                return Understanding(text, "plan", f"{what} {label}, then go on" if where == "before"
                                     else f"go on, then {what}", edit="replace", instruction=what, where=where)
    return None


def _other_object(text, t, ctx, g):
    """"no, the blue one", "not that one, the green can", "I meant the yellow can", "the blue one instead"."""
    if g is None:
        return None
    core = re.sub(r"^(?:no|nope|not that one|not that|wrong one|wrong can|i meant|i mean|i said|rather|actually)"
                  r"[, ]*", "", t)
    core = re.sub(r"^(?:no|not that one|i meant|i mean)[, ]*", "", core)
    core = re.sub(r"\b(?:instead|please|one instead)$", "", core).strip(" ,")
    core = re.sub(r"^(?:take|grab|get|use|pick|do) ", "", core)
    if not core or core == t and not re.match(r"^(?:the )?[a-z]+ (?:one|can)$", t):
        return None
    old = _step_object(ctx)
    noun = ObjectName.parse(old).noun if old else ""
    words = core.split()
    phrase = core if not (noun and words[-1] in ("one", "ones")) else " ".join(words[:-1] + [noun])
    try:
        new = g.resolve(phrase, "portable")
    except AmbiguousReferenceError as exc:
        return _question(text, str(exc))
    except PlanningError:
        return None
    if old is None:
        return _question(text, f"The {display(new)} instead of what? Nothing is being done with an object now.")
    if new == old:
        return Understanding(text, "skill", f"already on the {display(new)}; going on")
    instruction = _substituted(ctx.instruction, old, new)
    return Understanding(text, "skill", f"the {display(new)}, not the {display(old)}", edit="replace",
                         substitute={old: new}, instruction=instruction)


def _answer(text, t, ctx, g) -> Understanding | None:
    """A reply to "Which can do you mean: …?" naming one of the candidates."""
    q = ctx.question
    candidates = list(q.candidates)
    if g is None or not candidates:
        return None
    core = re.sub(r"^(?:the one|i mean|i meant|that's|that is|it's|it is)[, ]*", "", t).strip()
    core = re.sub(r"\b(?:please|one)$", "", core).strip()
    noun = ObjectName.parse(candidates[0]).noun
    words = core.split()
    if words and all(w in COLOURS or w in ("the", "a") for w in words):
        core = f"{core} {noun}"
    try:
        name = Grounder(SceneObjects.from_names(candidates)).resolve(core)
    except PlanningError:
        return None
    return Understanding(text, "skill", f"the {display(name)}", answer=name)


# ------------------------------------------------------------------ context helpers
def _step_object(ctx: CorrectionContext) -> str | None:
    """The movable object the task is about now: the running step's, else the next step's, else held."""
    for call in ctx.remaining:
        obj = call.args.get("object")
        if obj and not is_container(obj):
            return obj
    return ctx.scene.held if ctx.scene is not None else None


def _moved_object(ctx: CorrectionContext) -> str | None:
    held = ctx.scene.held if ctx.scene is not None else None
    if held:
        return held
    for call in ctx.remaining:
        if call.skill in ("position_over", "grasp", "move_to") and call.args.get("object") \
                and not is_container(call.args["object"]):
            return call.args["object"]
    return None


def _plan_target(ctx: CorrectionContext) -> str | None:
    for call in ctx.remaining:
        if call.skill == "position_over":
            return call.args.get("target")
    return None


def _substituted(instruction: str, old: str, new: str) -> str:
    """The instruction with the old object's words replaced by the new one's ("" when it does not name it)."""
    if not instruction:
        return ""
    old_words, new_words = display(old), display(new)
    if re.search(rf"\b{re.escape(old_words)}\b", instruction.lower()):
        return re.sub(rf"\b{re.escape(old_words)}\b", new_words, instruction.lower())
    old_colours = ObjectName.parse(old).colours
    new_colours = sorted(ObjectName.parse(new).colours)
    if len(old_colours) == 1 and len(new_colours) == 1:
        (colour,) = old_colours
        if re.search(rf"\b{colour}\b", instruction.lower()):
            return re.sub(rf"\b{colour}\b", new_colours[0], instruction.lower())
    return ""
