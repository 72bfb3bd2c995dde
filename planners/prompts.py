"""What model planners are told: the compact prompt of our own planner model and the chat prompt of any other.

`compact_prompt` is the input our small trained model reads (`robomatrix train-planner`):
the scene and the instruction in a fixed word layout, lower case. `chat_messages` is what an
instruction-tuned model or an OpenAI-compatible endpoint reads: the skills with their
descriptions, the rules of the plan format, worked examples, then the scene and the
instruction (and, when replanning, what failed). Both end where the plan begins.
"""
from __future__ import annotations

import json
import re
from collections.abc import Sequence

from robomatrix.messages import SkillCall
from robomatrix.planners.base import SceneObjects, display
from robomatrix.planners.grammar import REFUSAL, plan_text
from robomatrix.skills.specs import describe_skills


def normalise_instruction(text: str) -> str:
    """Lower case, straight quotes, single spaces: what the compact prompt carries."""
    t = text.lower().replace("’", "'").replace("\n", " ")
    return " ".join(t.split())


def model_reading(text: str) -> str:
    """An instruction as our trained model reads it: the `rule` parser's phrasing normalisation
    (politeness dropped, "bring it over to" → "bring it to", "along with" → "and", "give it a
    shove" → "push it", …; `robomatrix.planners.parse.normalise`), then `normalise_instruction`.
    Sentence ends stay clause breaks (", ")."""
    from robomatrix.planners.parse import normalise

    return normalise_instruction(normalise(text).replace(" ; ", ", "))


def scene_fields(scene: SceneObjects) -> tuple[list[str], list[str]]:
    visible = [n for n in scene.names() if scene.in_view(n)]
    hidden = [n for n in scene.names() if not scene.in_view(n)]
    return visible, hidden


def compact_prompt(instruction: str, scene: SceneObjects, history: Sequence[str] = ()) -> str:
    """`scene : red can , box ; hidden : blue can ; held : none ; drawer : unknown ; instruction : … ; plan :`

    `history` (iterative planning) adds `done : move_to(red can) ok ; …` before `plan :`.
    """
    visible, hidden = scene_fields(scene)
    drawer = {True: "open", False: "closed", None: "unknown"}[scene.drawer_open]
    parts = [f"scene : {' , '.join(visible) or 'nothing'}", f"hidden : {' , '.join(hidden) or 'none'}",
             f"held : {scene.held or 'none'}", f"drawer : {drawer}",
             f"instruction : {normalise_instruction(instruction)}"]
    if history:
        parts.append("done : " + " ".join(history))
    return " ; ".join(parts) + " ; plan :"


SYSTEM = """You plan for a mobile robot with a gripper. Turn the instruction into a sequence of skill calls.
Skills:
{skills}
Rules:
- Write only the plan: steps like skill(arg, arg); separated by spaces, nothing else.
- Arguments are object names exactly as listed in the scene, directions, or metres.
- An object not in view needs search(object) before anything else uses it.
- Before grasp or push, move_to the object. Pick and place is move_to, grasp, lift, position_over, release.
- A closed drawer needs open_drawer() before anything goes into it; move_to(drawer) before open_drawer() or
  close_drawer() unless the robot is already at the drawer.
- If the instruction names something that is not in the scene or asks for something no skill does, write {refusal};
Examples:
{examples}"""

EXAMPLES: tuple[tuple[str, SceneObjects, list[SkillCall] | None], ...] = (
    ("put the red can in the box", SceneObjects.from_names(["red can", "green can", "box"]),
     [SkillCall("move_to", {"object": "red can"}), SkillCall("grasp", {"object": "red can"}),
      SkillCall("lift", {"object": "red can"}), SkillCall("position_over", {"object": "red can", "target": "box"}),
      SkillCall("release", {"object": "red can"})]),
    ("open the drawer", SceneObjects.from_names(["box"], hidden=["drawer"]),
     [SkillCall("search", {"object": "drawer"}), SkillCall("move_to", {"object": "drawer"}),
      SkillCall("open_drawer", {})]),
    ("push the blue can to the left", SceneObjects.from_names(["blue can", "bin"]),
     [SkillCall("move_to", {"object": "blue can"}), SkillCall("push", {"object": "blue can", "direction": "left"})]),
    ("make me a coffee", SceneObjects.from_names(["red can", "box"]), None),
)


def scene_text(scene: SceneObjects) -> str:
    visible, hidden = scene_fields(scene)
    text = f"In view: {', '.join(visible) or 'nothing'}. Not in view: {', '.join(hidden) or 'nothing'}."
    if scene.held:
        text += f" Holding: {scene.held}."
    if scene.drawer_open is not None:
        text += f" The drawer is {'open' if scene.drawer_open else 'closed'}."
    return text


def _answer(steps: list[SkillCall] | None) -> str:
    return REFUSAL + ";" if steps is None else plan_text(steps)


def system_prompt() -> str:
    examples = "\n".join(f"Scene: {scene_text(s)}\nInstruction: {i}\nPlan: {_answer(p)}" for i, s, p in EXAMPLES)
    return SYSTEM.format(skills=describe_skills(), refusal=REFUSAL, examples=examples)


def user_prompt(instruction: str, scene: SceneObjects, failure: str = "", history: Sequence[str] = ()) -> str:
    text = f"Scene: {scene_text(scene)}\nInstruction: {instruction.strip()}"
    if history:
        text += "\nDone so far: " + " ".join(history) + "\nWrite only the next step, or nothing when finished."
    if failure:
        text += f"\nWhat went wrong: {failure.strip()}\nPlan again from the scene as it is now."
    return text


def chat_messages(instruction: str, scene: SceneObjects, failure: str = "", history: Sequence[str] = ()) -> list[dict]:
    return [{"role": "system", "content": system_prompt()},
            {"role": "user", "content": user_prompt(instruction, scene, failure, history)}]


# -- a machine-readable request our own server understands ---------------------------------------
REQUEST_TAG = "robomatrix-request"


def tagged_request(instruction: str, scene: SceneObjects, failure: str = "", history: Sequence[str] = ()) -> str:
    """A fenced JSON block appended to the user message so `robomatrix serve-planner` reads the scene exactly."""
    body = {"instruction": instruction, "scene": scene.to_dict(), "failure": failure, "history": list(history)}
    return f"```{REQUEST_TAG}\n{json.dumps(body)}\n```"


_TAGGED = re.compile(r"```" + REQUEST_TAG + r"\s*\n(.*?)\n```", re.S)


def read_tagged_request(text: str) -> dict | None:
    m = _TAGGED.search(text)
    return json.loads(m.group(1)) if m else None


def describe(scene: SceneObjects) -> str:
    return ", ".join(display(n) for n in scene.names())


class TokenUsage:
    """Prompt and completion tokens spent by a model planner (per call, summed per task)."""

    __slots__ = ("prompt_tokens", "completion_tokens", "calls")

    def __init__(self, prompt_tokens: int = 0, completion_tokens: int = 0, calls: int = 0):
        self.prompt_tokens, self.completion_tokens, self.calls = int(prompt_tokens), int(completion_tokens), int(calls)

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, other: TokenUsage) -> TokenUsage:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.calls += other.calls
        return self

    def to_dict(self) -> dict:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "total_tokens": self.total, "calls": self.calls}

    def __repr__(self) -> str:
        return f"TokenUsage({self.prompt_tokens} prompt + {self.completion_tokens} completion, {self.calls} calls)"
