"""Instruction text for a skill call: what the neural policy is conditioned on.

One plain-English sentence per call (e.g. "grasp the red can", "nudge left by 5 cm"), so that
teleoperated demonstrations typed by a person and the scripted ones read alike; calls without a
template fall back to `SkillCall.to_text()`.
"""
from __future__ import annotations

import math

from robomatrix.messages import SkillCall

TEMPLATES = {
    "search": "look around for the {object}",
    "move_to": "drive up to the {object}",
    "grasp": "grasp the {object}",
    "lift": "lift the {object}",
    "position_over": "hold the {object} over the {target}",
    "release": "release the {object}",
    "open_drawer": "open the drawer",
    "close_drawer": "close the drawer",
    "push": "push the {object} {direction}",
}


def instruction_text(skill: str, args: dict, state=None) -> str:
    """The instruction sentence for `skill(**args)` (args validated, defaults filled).

    `state`, the PerceptionState when the call starts, adds what the network cannot see but the
    scripted expert acts on: a `search` for an object perception remembers (seen before, now out
    of view or not) says on which side it was last seen, "look around for the red can, last seen
    on your right"; the expert turns that way (bearing < 0: right), and a policy that only has the
    current image could not know which way to turn."""
    if skill == "search" and state is not None:
        obj = state.get(args.get("object", "")) if hasattr(state, "get") else None
        if obj is not None:
            side = "right" if math.atan2(float(obj.position_base[1]), float(obj.position_base[0])) < 0 else "left"
            return f"look around for the {args['object']}, last seen on your {side}"
    if skill == "nudge":
        return f"nudge {args.get('direction', 'forward')} by {100.0 * float(args.get('amount') or 0.05):.0f} cm"
    template = TEMPLATES.get(skill)
    try:
        return template.format(**args) if template else SkillCall(skill, dict(args)).to_text()
    except KeyError:
        return SkillCall(skill, dict(args)).to_text()
