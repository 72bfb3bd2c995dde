"""Instruction text → a list of intents (action + object phrases), before any grounding.

Splits an instruction into clauses ("…, then …", "… and then …", "first … then …",
"…; …", "… and <verb> …") and matches each clause against a small set of verb patterns.
Object phrases stay as words here; `robomatrix.planners.rule` grounds them in the scene.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from robomatrix.planners.base import UnsupportedActionError
from robomatrix.planners.grounding import COLOURS, DETERMINERS
from robomatrix.skills.specs import skill_specs

ACTIONS = ("search", "move_to", "pick", "grasp", "lift", "place", "hold_over", "release", "open_drawer",
           "close_drawer", "push", "nudge", "dispose", "stow")


@dataclass(frozen=True)
class Intent:
    """One clause's meaning. Phrases are the person's words ("the coke", "it", "all the cans")."""

    action: str  # one of ACTIONS
    obj: str = ""  # object phrase
    target: str = ""  # container phrase (place, hold_over)
    direction: str = ""  # push / nudge direction, canonical (left, right, forward, backward, up, down)
    amount_m: float | None = None  # nudge distance when given
    text: str = ""  # the clause, for error messages


# -- vocabulary --------------------------------------------------------------------------------
_DIRS = {"left": "left", "leftwards": "left", "leftward": "left", "right": "right", "rightwards": "right",
         "rightward": "right", "forward": "forward", "forwards": "forward", "ahead": "forward",
         "away": "forward", "front": "forward", "back": "backward", "backward": "backward",
         "backwards": "backward", "closer": "backward", "up": "up", "upwards": "up", "upward": "up",
         "down": "down", "downwards": "down", "downward": "down"}
DIR = r"(?:(?:to|towards|toward) (?:the |your |my )?|in front|in |(?:the )?)?(?P<dir>" + "|".join(
    sorted(_DIRS, key=len, reverse=True)) + r")(?: (?:a bit|a little|slightly))?"
_NUMBERS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
            "nine": 9, "ten": 10, "fifteen": 15, "twenty": 20, "half a": 0.5}
_UNITS = {"cm": 0.01, "centimeter": 0.01, "centimetre": 0.01, "mm": 0.001, "millimeter": 0.001,
          "millimetre": 0.001, "m": 1.0, "meter": 1.0, "metre": 1.0, "inch": 0.0254, "in": 0.0254}
AMOUNT = (r"(?P<num>\d+(?:\.\d+)?|" + "|".join(_NUMBERS) + r")\s*(?P<unit>cm|mm|m|in|inch(?:es)?|"
          r"(?:centi|milli)?met(?:er|re)s?)\b")
SMALL = r"(?:just )?(?:a (?:little )?bit|a little|a tad|a touch|slightly|a few centimet(?:er|re)s|a smidge)"

# Verbs this planner understands; a clause after "and" or "," starting with one is a new step.
VERBS = frozenset("""put place drop move throw toss slip bring carry take transfer stick set dump deposit stash
store load pop lay get lower grasp grab grip seize hold catch clutch pick lift raise release let open
close shut pull push shove slide nudge shift roll poke bump knock search look find locate spot seek scan
go drive navigate head walk travel come approach reach visit discard dispose bin trash inch scoot back
adjust see keep chuck hunt track pack insert leave""".split())
# Common verbs no skill does: after "and" they start an (unsupported) step rather than an object.
OTHER_VERBS = frozenset("""dance sing wash clean cook make eat drink jump fly run turn spin wave say tell pour
cut fold stack kick hit break paint write read play fetch give hand wipe sweep water feed unlock lock
switch press sit stand stop wait follow charge shake flip rotate twist squeeze crush sort arrange organize
organise tidy fix build climb sleep talk call bake boil fry heat wake help""".split())

_FILLERS = [r"\bplease\b", r"\bkindly\b", r"^(?:could|can|would|will) you\b", r"\bi(?:'d| would) like you to\b",
            r"\bi want you to\b", r"\bi need you to\b", r"\bgo ahead and\b", r"^(?:hey )?robot\b",
            r"\bfor me\b", r"(?<!\bthe )\bright now\b", r"\bnow\b", r"^(?:ok(?:ay)?|so|and)\b", r"\btry to\b",
            r",?\s*\bthank(?:s| you)(?: very much)?\b", r"\b(?:firmly|tightly|gently|carefully|quickly)\b"]


def normalise(text: str) -> str:
    t = text.lower().replace("’", "'").replace("&", " and ").replace('"', " ")
    t = re.sub(r"[!?]+", " ", t)
    t = re.sub(r"(?<!\d)\.(?!\d)", " ; ", t)  # sentence ends; keep decimals
    t = re.sub(r"\s+", " ", t).strip(" ,;")
    t = re.sub(r"\b(and|then)(?: \1\b)+", r"\1", t)
    t = re.sub(r"\bthe (\w+), all of them,?", r"all the \1", t)  # "the cans, all of them," → "all the cans"
    t = re.sub(r"\bgrab and lift\b", "pick up", t)
    t = re.sub(r"\b(?:along with|together with|as well as|and also)\b", "and", t)
    t = re.sub(r"\bgive (.+?) a (?:little |small |gentle |quick )?(?:push|shove|nudge|poke|bump|tap)\b", r"push \1", t)
    t = re.sub(r"\bover (?=(?:to the |to )?(?:left|right|forwards?|backwards?)\b)", "", t)  # "shove it over to the left"
    t = re.sub(r",?\s*\bnext\b(?! to\b)\s*", ", then ", t)  # "…, next drop …" (not "next to")
    # "over" or "up" before a preposition is only a particle: "bring it over to the box", "go up close to"
    t = re.sub(r"\b(?:over|up|back|right|straight)\s+(?=(?:to|into|in|inside|towards|toward|near|close to|next to)\b)",
               "", t)
    # where something lies is not part of its name: "pick the can up off the floor"
    t = re.sub(r"\s*\b(?:up )?(?:off|from) (?:the )?(?:floor|ground|table)\b", "", t)
    t = re.sub(r"\b(?:release|loosen|relax) (?:your |the )?(?:grip|hold) (?:on|of)\b", "release", t)
    for _ in range(2):
        for f in _FILLERS:
            t = re.sub(f, " ", t).strip(" ,")
            t = re.sub(r"\s+", " ", t)
    return t


def split_clauses(text: str) -> list[str]:
    """'pick up the coke, then put it in the bin and close the drawer' → three clauses."""
    t = normalise(text)
    t = re.sub(r"^(?:first(?:ly)?|to start|start by)\b,?\s*", "", t)
    hard = re.split(r"\s*(?:;|,?\s*\band then\b|,?\s*\bthen\b|,?\s*\bafter that\b|,?\s*\bafterwards\b|"
                    r",?\s*\band finally\b|,?\s*\bfinally\b|,?\s*\bnext\b(?! to)|,?\s*\band also\b|"
                    r",?\s*\band next\b|,?\s*\bonce (?:done|finished|that is done)\b)\s*,?\s*", t)
    clauses: list[str] = []
    for part in hard:
        part = part.strip(" ,")
        if not part:
            continue
        pieces = re.split(r"\s*,\s*(?:and\s+)?|\s+and\s+", part)
        current = ""
        for piece in pieces:
            piece = piece.strip()
            if not piece:
                continue
            first = piece.split()[0]
            if not current or first in VERBS or first in OTHER_VERBS:
                if current:
                    clauses.append(current)
                current = piece
            elif _complete_place(current) and re.match(rf"^.+? {PREP} .+$", piece):
                # "put the red can in the box and the green can in the bin": the verb carries over.
                clauses.append(current)
                current = f"{current.split()[0]} {piece}"
            else:  # "put the red can and the green can in the bin": one clause, several objects
                current += " and " + piece
        if current:
            clauses.append(current)
    # "load the red can into the box and then the green can into the bin": the verb carries over.
    for i in range(1, len(clauses)):
        first = clauses[i].split()[0]
        if first not in VERBS and first not in OTHER_VERBS and _complete_place(clauses[i - 1]) \
                and re.match(rf"^.+? {PREP} .+$", clauses[i]):
            clauses[i] = f"{clauses[i - 1].split()[0]} {clauses[i]}"
    return clauses


def _complete_place(clause: str) -> bool:
    return re.match(rf"^(?:{PLACE_VERBS}) .+? {PREP} .+$", clause) is not None

# -- clause patterns ---------------------------------------------------------------------------
def _direction(word: str) -> str:
    return _DIRS[word]


def _amount(text: str, default_m: float) -> tuple[float | None, str]:
    """(metres or None, text without the amount)."""
    m = re.search(AMOUNT, text)
    if m:
        num = _NUMBERS.get(m["num"]) if m["num"] in _NUMBERS else float(m["num"])
        unit = m["unit"].rstrip("s")
        unit = "inch" if unit.startswith("inch") else unit
        scale = next(v for k, v in _UNITS.items() if unit == k or unit.endswith(k) and len(k) > 2)
        before = re.sub(r"\bby\s*$", "", text[:m.start()])  # "inch up by 3 cm"
        return round(num * scale, 4), (before + text[m.end():]).strip()
    m = re.search(r"\ba lot\b|\bmuch\b|\bfar\b", text)
    if m:
        return round(3 * default_m, 4), (text[:m.start()] + text[m.end():]).strip()
    m = re.search(SMALL, text)
    if m:
        return default_m, (text[:m.start()] + text[m.end():]).strip()
    return None, text


RELATIONS = r"\b(?:next to|beside|behind|underneath|under|below|between|out of|in front of|on the side of)\b"
PLACE_VERBS = (r"put|place|drop|move|throw|toss|slip|bring|carry|take|transfer|stick|set|dump|deposit|stash|store|"
               r"load|pop|lay|get|lower|slide|hide|tuck|return")
PREP = r"(?:back )?(?P<prep>into|in to|inside of|inside|in|onto|on top of|on to|on|to|at)"
_PATTERNS: list[tuple[str, str]] = [
    # drawer and gripper
    (r"^(?:pull |slide )?open (?:up )?(?P<obj>.+?)(?: up)?$", "open"),
    (r"^(?:pull|slide) (?P<obj>.+?) open$", "open"),
    (r"^(?:pull out|slide out) (?P<obj>.+)$", "open"),
    (r"^(?:close|shut|slide shut|push shut|push in|close up) (?P<obj>.+?)(?: up| tight| all the way)?$", "close"),
    (r"^(?:push|slide) (?P<obj>.+?) (?:closed|shut|in)$", "close"),
    # searching and driving
    (r"^(?:search(?: around| the room)?(?: for)?|look(?: around)?(?: the room| everywhere)? for|look for|find|locate|spot|seek|"
     r"scan for|hunt for|track down|see|go find|go and find|go look for) (?P<obj>.+)$", "search"),
    (r"^(?:move|go|drive|navigate|head|walk|roll|travel|come|get|make your way)(?: over| up| back)? (?:to|towards|toward|"
     r"near|up to|next to|close to|closer to|by)(?: where)? (?P<obj>.+?)(?: is)?$", "move_to"),
    (r"^(?:approach|reach|visit) (?P<obj>.+)$", "move_to"),
    # carrying
    (r"^(?:throw|toss|chuck) (?P<obj>.+?) (?:away|out)$", "dispose"),
    (r"^(?:put|tidy|stow|store|clear|stash|pack) (?P<obj>.+?) away$", "stow"),
    (r"^(?:put away|tidy away|tidy up|stow away|store away|stow|clear away) (?P<obj>.+)$", "stow"),
    (r"^tidy (?P<obj>.+?) up$", "stow"),
    (r"^(?:throw away|toss away|put away in the bin|discard|dispose of|get rid of|bin|trash|chuck out|throw out)"
     r" (?P<obj>.+)$",
     "dispose"),
    (r"^(?:hold|position|lift|raise|carry|bring|move|keep) (?P<obj>.+?) (?:up |right |directly |just )?"
     r"(?:over|above) (?P<target>.+)$",
     "hold_over"),
    (r"^(?:put|set|place|lay) (?P<obj>.+?) down$", "release"),
    (r"^(?:put|set|place|lay) down (?P<obj>.+)$", "release"),
    (rf"^(?:{PLACE_VERBS}) (?P<obj>.+?) (?:in |over )?(?P<target>there)$", "place"),
    (rf"^(?:{PLACE_VERBS}) (?P<obj>.+?) {PREP} (?P<target>.+)$", "place"),
    (rf"^(?:{PLACE_VERBS}) (?P<obj>.+?) (?:in|inside|into)(?P<target>)$", "place"),  # "… and put the can in": in it
    (r"^(?:grasp|grab|grip|seize|hold(?: on to| onto)?|take hold of|get hold of|catch hold of|catch|clutch|pinch)"
     r" (?P<obj>.+)$", "grasp"),
    (r"^(?:pick up|pick|lift up|take|grab and lift|get|raise) (?P<obj>.+?)(?: up)?$", "pick"),
    (r"^(?:lift) (?P<obj>.+?)(?: up)?$", "lift"),
    (r"^(?:release|let go of|let go|drop|let loose|unhand)(?: (?P<obj>.+))?$", "release"),
    (r"^let (?P<obj>.+?) go$", "release"),
    (r"^where(?: is|'s| are) (?P<obj>.+)$", "search"),
    (r"^(?:do you know|can you tell me|tell me) where (?P<obj>.+?)(?: is| are)$", "search"),
]
_MOTION = (r"^(?:nudge|shift|move|go|drive|inch|scoot|slide|adjust|back|step|lean|lower|raise|lift)"
           r"(?: (?:the |your )?(?:gripper|arm|hand|base|robot|yourself|it))?")
_PUSH = r"^(?P<verb>push|shove|slide|nudge|move|roll|shift|poke|bump|knock) (?P<obj>.+?)"


def parse_clause(clause: str, default_nudge_m: float = 0.05) -> Intent:
    """One clause → Intent; UnsupportedActionError when nothing matches."""
    text = clause.strip()
    m = re.search(RELATIONS, text)
    if m and not re.match(r"^(?:move|go|drive|navigate|head|walk|roll|travel|come|get)(?: over| up| back)? next to ",
                          text):
        raise UnsupportedActionError(f"I can't place or take things '{m[0]}' something; I can put things in or on "
                                     f"a box, bin or drawer (e.g. 'put the red can in the box'). {capabilities()}")
    if re.fullmatch(r"(?:search|look|look around|search around|find|scan|explore)", text):
        raise UnsupportedActionError("Search for what? Say e.g. 'find the blue can'.")
    # Small corrective motions: "move a bit to the left", "go forward 10 cm", "back up a little".
    m = re.fullmatch(r"(?:lift|raise) (?P<obj>it|them) up", text)  # the held can, not the arm: "pick it and lift it up"
    if m:
        return Intent("lift", obj=m["obj"], text=text)
    amount, rest = _amount(text, default_nudge_m)
    rest = re.sub(r"\s+", " ", rest).strip()
    if re.match(r"^(?:back(?: up| off| away)?|move back|go back)$", rest):
        return Intent("nudge", direction="backward", amount_m=_or(amount, default_nudge_m), text=text)
    m = re.match(_MOTION + r"(?: more| further| over)? " + DIR + r"(?: more| further)?$", rest)
    if m is not None:
        return Intent("nudge", direction=_direction(m["dir"]), amount_m=_or(amount, default_nudge_m), text=text)
    # Pushing an object in a direction: "push the red can left", "shove the box to the right".
    m = re.match(_PUSH + r" (?:over |a bit |a little |slightly |gently )?" + DIR + r"$", text)
    if m:
        return Intent("push", obj=m["obj"], direction=_direction(m["dir"]), text=text)
    m = re.match(r"^(?:push|shove|poke|bump|knock)(?: over)? (?P<obj>.+)$", text)
    if m and not re.search(r"\b(closed|shut|in)$", text):
        return Intent("push", obj=m["obj"], direction="forward", text=text)
    for pattern, action in _PATTERNS:
        m = re.match(pattern, text)
        if not m:
            continue
        groups = m.groupdict()
        obj, target = (groups.get("obj") or "").strip(), (groups.get("target") or "").strip()
        if action == "open":
            if re.search(r"\b(gripper|hand|claw|fingers?)\b", obj):
                return Intent("release", obj="", text=text)
            return Intent("open_drawer", obj=obj, text=text)
        if action == "close":
            if re.search(r"\b(gripper|hand|claw|fingers?)\b", obj):
                raise UnsupportedActionError(
                    f"To close the gripper, say what to grasp (e.g. 'grasp the red can'). {capabilities()}")
            return Intent("close_drawer", obj=obj, text=text)
        if action == "place" and not target:
            target = "it"
        if action == "place" and _is_direction_phrase(target):
            return Intent("push", obj=obj, direction=_direction(target.split()[-1]), text=text)
        return Intent(action, obj=obj, target=target, text=text)
    first = text.split()[0] if text else ""
    if first in {"put", "place", "drop", "throw", "bring", "carry", "move", "take", "set"}:
        raise UnsupportedActionError(f"Where should it go? Say e.g. 'put the red can in the box' "
                                     f"(I could not read '{text}').")
    raise UnsupportedActionError(f"I can't '{text}': no skill does that. {capabilities()}")


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def _is_direction_phrase(text: str) -> bool:
    return re.fullmatch(DIR, text) is not None and not any(w in COLOURS for w in text.split())


def capabilities() -> str:
    """One line listing what the robot can do, from the skill registry's descriptions."""
    return "I can: " + "; ".join(f"{s.signature()} — {s.description}" for s in skill_specs()) + "."


def parse_instruction(instruction: str, default_nudge_m: float = 0.05) -> list[Intent]:
    """Every clause's intent, in order. UnsupportedActionError for an empty or unreadable step."""
    clauses = split_clauses(instruction)
    if not clauses:
        raise UnsupportedActionError(f"The instruction is empty. {capabilities()}")
    return [parse_clause(c, default_nudge_m) for c in clauses]


def strip_determiners(phrase: str) -> str:
    return " ".join(w for w in phrase.split() if w not in DETERMINERS)
