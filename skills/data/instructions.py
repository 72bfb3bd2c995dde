"""Instruction text for a skill call: what the neural policy is conditioned on.

One plain-English sentence per call (e.g. "grasp the red can", "nudge left by 5 cm"), so that
teleoperated demonstrations typed by a person and the scripted ones read alike; calls without a
template fall back to `SkillCall.to_text()`.
"""
from __future__ import annotations

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


def instruction_text(skill: str, args: dict) -> str:
    """The instruction sentence for `skill(**args)` (args validated, defaults filled)."""
    if skill == "nudge":
        return f"nudge {args.get('direction', 'forward')} by {100.0 * float(args.get('amount') or 0.05):.0f} cm"
    template = TEMPLATES.get(skill)
    try:
        return template.format(**args) if template else SkillCall(skill, dict(args)).to_text()
    except KeyError:
        return SkillCall(skill, dict(args)).to_text()
