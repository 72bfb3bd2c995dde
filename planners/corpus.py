"""Instruction → plan pairs for training and evaluating the planner model, generated from templates.

Each intent has sentence frames (`{o}` an object phrase, `{c}` a container phrase, `{d}` a
direction, `{n}` a number of centimetres). Frames are split once and for all into TRAIN and
HELDOUT: held-out frames never appear in the training corpus, so accuracy on them measures
new phrasings. Object phrases (colour words, "soda", brand names like "coke") are shared.

Scenes are drawn from the simulator's vocabulary (cans of seven colours, box, bin, drawer),
with objects out of view, something held, or the drawer open or closed. The target plan of
every pair is what the `rule` planner makes of it, so both planners agree on canonical
sequences; an instruction the rule planner refuses becomes a refusal example (`cannot()`).
"""
from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from robomatrix.planners.base import PlanningError, SceneObjects

CAN_COLOURS = ("red", "green", "blue", "yellow", "orange", "purple", "white")
CONTAINERS = ("box", "bin", "drawer")
BRANDS = {"red": ("coke", "coca cola"), "green": ("sprite",), "blue": ("pepsi",), "orange": ("fanta",)}
CONTAINER_PHRASES = {"box": ("the box", "the cardboard box", "box"),
                     "bin": ("the bin", "the trash bin", "the bin", "the garbage bin"),
                     "drawer": ("the drawer", "the drawer", "the cabinet drawer")}
DIRECTIONS = {"left": ("left", "to the left"), "right": ("right", "to the right"),
              "forward": ("forward", "forwards"), "backward": ("backward", "backwards")}
CENTIMETRES = (1, 2, 3, 5, 10, 15, 20)

# intent: (needs, train frames, held-out frames). needs: o = a can, o2 = a second can, c / c2 = containers,
# drawer = a drawer in the scene, bin = a bin in the scene, held = a can in the gripper, d = push direction,
# m = nudge direction.
FRAMES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "place": ("o c", (
        "put {o} in {c}", "put {o} into {c}", "place {o} in {c}", "place {o} into {c}", "drop {o} in {c}",
        "drop {o} into {c}", "move {o} to {c}", "move {o} into {c}", "bring {o} to {c}", "carry {o} to {c}",
        "transfer {o} to {c}", "put {o} inside {c}", "stick {o} in {c}", "set {o} in {c}", "dump {o} in {c}",
        "deposit {o} in {c}", "could you put {o} in {c}", "please place {o} in {c}", "pick up {o} and put it in {c}",
        "grab {o} and drop it into {c}", "take {o} and place it in {c}", "pick up {o} then put it in {c}",
        "i want you to put {o} in {c}", "put {o} in {c} please", "can you place {o} into {c}",
        "throw {o} in {c}", "take {o} to {c}"), (
        "load {o} into {c}", "pop {o} into {c}", "can you move {o} into {c} please", "grab {o}, then put it into {c}",
        "lay {o} in {c}", "toss {o} into {c}", "stash {o} in {c}", "would you drop {o} inside {c}",
        "get {o} and put it in {c}", "first pick up {o}, then place it in {c}")),
    "pick": ("o", (
        "pick up {o}", "pick {o} up", "lift {o}", "take {o}", "raise {o}", "lift up {o}", "please pick up {o}",
        "could you pick up {o}", "pick up {o} please"), (
        "get {o}", "can you lift {o} up", "would you pick {o} up", "please lift {o}")),
    "grasp": ("o", (
        "grasp {o}", "grab {o}", "grip {o}", "take hold of {o}", "seize {o}", "please grasp {o}"), (
        "hold {o}", "get hold of {o}", "clutch {o}", "could you grab {o}")),
    "move_to": ("x", (
        "move to {x}", "go to {x}", "drive to {x}", "approach {x}", "navigate to {x}", "head over to {x}",
        "go near {x}", "please go to {x}"), (
        "get close to {x}", "move towards {x}", "drive up to {x}", "walk to {x}", "could you approach {x}")),
    "search": ("x", (
        "find {x}", "look for {x}", "search for {x}", "locate {x}", "please find {x}"), (
        "spot {x}", "can you find {x}", "search around for {x}", "look around for {x}")),
    "open": ("drawer", ("open the drawer", "pull the drawer open", "open the cabinet", "please open the drawer"),
             ("pull out the drawer", "could you open the drawer", "open up the drawer")),
    "close": ("drawer", ("close the drawer", "shut the drawer", "please close the drawer"),
              ("push the drawer closed", "close the cabinet", "shut the drawer please")),
    "push": ("o d", ("push {o} {d}", "shove {o} {d}", "push {o}", "please push {o} {d}"),
             ("slide {o} {d}", "nudge {o} {d}", "could you shove {o} {d}")),
    "nudge": ("m", ("move a bit to the {m}", "move {m} a little", "go {m} {n} cm", "nudge {m} {n} cm",
                    "move the gripper {m} a bit", "move {m} {n} centimeters"),
              ("shift {m} a little", "inch {m} {n} cm", "go {m} a bit", "move {n} cm {m}")),
    "dispose": ("o bin", ("throw {o} away", "throw away {o}", "discard {o}", "dispose of {o}"),
                ("get rid of {o}", "toss {o} away", "trash {o}")),
    "stow": ("o drawer", ("put {o} away", "please put {o} away"), ("stow {o}", "tidy {o} away")),
    "hold_over": ("o c", ("hold {o} over {c}", "hold {o} above {c}"), ("position {o} above {c}",)),
    "release": ("held", ("release it", "let go", "drop it", "put it down", "release {h}"),
                ("let go of {h}", "open the gripper", "set it down")),
    "two_place": ("o o2 c c2", ("put {o} in {c} and {o2} in {c2}", "put {o} and {o2} in {c}",
                                "put {o} in {c}, then put {o2} in {c2}"),
                  ("place {o} in {c}, then put {o2} in {c2}", "move {o} and {o2} into {c}")),
    "all": ("c", ("put all the cans in {c}", "put every can in {c}", "put all cans into {c}"),
            ("place all the cans in {c}", "move all of the cans to {c}")),
    "drawer_place": ("o drawer", ("open the drawer and put {o} in it", "put {o} in the drawer and close it"),
                     ("open the drawer, then place {o} inside it", "put {o} in the drawer, then close the drawer")),
    "pick_move": ("o c", ("pick up {o} and go to {c}",), ("grab {o}, then move to {c}",)),
}
# Requests no skill does or objects that are not there: refusal examples, both splits.
UNSUPPORTED = (("dance", "sing a song", "make me a coffee", "wash {o}", "cook dinner", "paint {o}", "fly to {c}",
                "fold the laundry", "water the plants", "turn on the lights"),
               ("clean {o}", "play some music", "jump", "sweep the floor"))


@dataclass(frozen=True)
class Pair:
    """One example: the instruction in a scene and the rule planner's plan (None: refusal)."""

    instruction: str
    scene: SceneObjects
    steps: list | None  # SkillCalls, or None for a refusal
    intent: str
    frame: str
    heldout: bool
    reason: str = ""  # the rule planner's refusal, when refused


def object_phrases(colour: str, rng: random.Random) -> str:
    options = [f"the {colour} can", f"the {colour} can", f"the {colour} one", f"{colour} can",
               f"the {colour} soda", f"the {colour} soda can"]
    options += [f"the {b}" for b in BRANDS.get(colour, ())]
    return rng.choice(options)


def random_scene(rng: random.Random, need: str) -> SceneObjects:
    """A scene with the objects `need` asks for (see FRAMES), others at random."""
    colours = rng.sample(CAN_COLOURS, rng.randint(2 if "o2" in need else 1, 4))
    containers = [c for c in CONTAINERS if rng.random() < 0.6]
    for must in ("drawer", "bin"):
        if must in need.split() and must not in containers:
            containers.append(must)
    if not containers and ("c" in need.split() or "c2" in need.split()):
        containers.append(rng.choice(CONTAINERS))
    names = [f"{c} can" for c in colours] + containers
    rng.shuffle(names)
    hidden = [n for n in names if rng.random() < 0.2]
    visible = [n for n in names if n not in hidden]
    held = None
    if "held" in need.split():
        held = f"{colours[0]} can"
        if held in hidden:
            hidden.remove(held)
            visible.append(held)
    drawer_open = rng.choice((None, None, True, False)) if "drawer" in containers else None
    return SceneObjects.from_names(visible, hidden, held=held, drawer_open=drawer_open)


def fill(frame: str, scene: SceneObjects, rng: random.Random, stray: bool = False) -> str:
    """Fill a frame's slots from the scene; `stray` names a can colour the scene does not have."""
    cans = [n for n in scene.names() if n.endswith(" can")]
    containers = [n for n in scene.names() if not n.endswith(" can")]
    present = {n.split()[0] for n in cans}
    o, o2 = (rng.sample(cans, 2) if len(cans) > 1 else (cans * 2)[:2]) if cans else ("red can", "green can")
    if stray:
        o = f"{rng.choice([c for c in CAN_COLOURS if c not in present])} can"
    c = rng.choice(containers) if containers else "box"
    c2 = rng.choice(containers) if containers else "box"
    d = rng.choice(list(DIRECTIONS))
    values = {"o": object_phrases(o.split()[0], rng), "o2": object_phrases(o2.split()[0], rng),
              "c": rng.choice(CONTAINER_PHRASES[c]), "c2": rng.choice(CONTAINER_PHRASES[c2]),
              "x": rng.choice([object_phrases(o.split()[0], rng), rng.choice(CONTAINER_PHRASES[c])]),
              "d": rng.choice(DIRECTIONS[d]), "m": rng.choice(("left", "right", "forward", "backward", "up", "down")),
              "n": str(rng.choice(CENTIMETRES)), "h": object_phrases((scene.held or o).split()[0], rng)}
    return frame.format(**values)


def generate_pairs(n: int, *, heldout: bool, seed: int = 0, refusal_share: float = 0.1,
                   planner=None) -> Iterator[Pair]:
    """`n` pairs from the train (heldout=False) or held-out frames, every intent equally often."""
    from robomatrix.planners.base import make_planner

    rng = random.Random(seed)
    planner = planner or make_planner("rule")
    split = 2 if heldout else 1
    intents = list(FRAMES)
    made = 0
    while made < n:
        if rng.random() < refusal_share:
            scene = random_scene(rng, "o c")
            if rng.random() < 0.5:
                frame, intent = rng.choice(UNSUPPORTED[split - 1]), "unsupported"
                text = fill(frame, scene, rng)
            else:
                intent = rng.choice(["place", "pick", "grasp", "push"])
                frame = rng.choice(FRAMES[intent][split])
                text, intent = fill(frame, scene, rng, stray=True), "unknown_object"
        else:
            intent = intents[made % len(intents)]
            need = FRAMES[intent][0]
            frame = rng.choice(FRAMES[intent][split])
            scene = random_scene(rng, need)
            text = fill(frame, scene, rng)
        try:
            plan = planner.plan(text, scene)
            steps, reason = list(plan.steps), ""
        except PlanningError as err:
            steps, reason = None, str(err)
        if steps is None and not intent.startswith(("unsupported", "unknown")):
            continue  # a frame that this scene cannot serve (e.g. nothing to release); not a refusal example
        if steps is not None and intent.startswith(("unsupported", "unknown")):
            continue
        made += 1
        yield Pair(text, scene, steps, intent, frame, heldout, reason)


def pair_to_case(pair: Pair, case_id: str, split: str) -> dict:
    """One line of a case file: instruction, scene, expected plan text (None: must refuse), split."""
    from robomatrix.planners.grammar import plan_text
    from robomatrix.planners.prompts import scene_fields

    visible, hidden = scene_fields(pair.scene)
    scene = {"visible": visible, "hidden": hidden}
    if pair.scene.held:
        scene["held"] = pair.scene.held
    if pair.scene.drawer_open is not None:
        scene["drawer_open"] = pair.scene.drawer_open
    return {"id": case_id, "instruction": pair.instruction, "scene": scene,
            "expected": None if pair.steps is None else plan_text(pair.steps), "split": split,
            "intent": pair.intent, "frame": pair.frame}


def make_cases(path: str, *, train: int = 150, heldout: int = 400, hand: str | None = None) -> int:
    """Write the case file: `train` cases from TRAIN frames (new scenes and fills, seed 101),
    `heldout` cases from HELDOUT frames (seed 202), then the hand-written cases of `hand`."""
    import json
    from pathlib import Path

    lines = [pair_to_case(p, f"train-{i:03d}", "train") for i, p in enumerate(generate_pairs(train, heldout=False, seed=101))]
    lines += [pair_to_case(p, f"heldout-{i:03d}", "heldout")
              for i, p in enumerate(generate_pairs(heldout, heldout=True, seed=202))]
    if hand:
        lines += [json.loads(x) for x in Path(hand).read_text().splitlines() if x.strip()]
    Path(path).write_text("".join(json.dumps(x) + "\n" for x in lines))
    return len(lines)


if __name__ == "__main__":  # python -m robomatrix.planners.corpus: rewrite the shipped case file
    here = __import__("pathlib").Path(__file__).resolve().parent / "cases"
    print(make_cases(str(here / "core.jsonl"), hand=str(here / "hand.jsonl")), "cases written")
