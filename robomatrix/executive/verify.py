"""The executive's own re-checks through perception, after a skill reported success.

The skill layer checks each skill's postcondition, but some outcomes only show in the scene a
moment later or across two skills: `release(X)` succeeds as soon as the gripper lets go, while
what the person wanted is X inside the container that the preceding `position_over(X, T)` chose.
`PlacementVerifier` checks exactly that on perception's scene (its `contained` facts) and
reports a failure in words, so the executive retries and replans instead of claiming success
for a can that bounced out or came to rest on top of another one.
"""
from __future__ import annotations

from robomatrix.executive.core import SceneProvider
from robomatrix.messages import SkillCall, SkillResult


class PlacementVerifier:
    """`verify(call, result)` for `Executive`: after `release(X)` that followed
    `position_over(X, T)`, X must be inside T in perception's scene."""

    def __init__(self, scene: SceneProvider):
        self.scene = scene
        self._targets: dict[str, str] = {}  # object → container it was last held over

    def __call__(self, call: SkillCall, result: SkillResult) -> tuple[bool, str]:
        obj = call.args.get("object")
        if call.skill == "position_over":
            self._targets[obj] = call.args["target"]
        elif call.skill in ("grasp", "push"):
            self._targets.pop(obj, None)
        elif call.skill == "release" and obj in self._targets:
            target = self._targets[obj]
            scene = self.scene()
            inside = scene.contained.get(obj)
            if inside != target:
                where = f"in the {inside}" if inside else "not inside any container"
                return False, f"after letting go, the {obj} is {where}, not in the {target}"
            del self._targets[obj]
        return True, ""
