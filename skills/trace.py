"""Per-tick traces of a skill run beside a shadow scripted expert (`bench skills --trace FILE`).

A learned policy that fails rarely fails in a way its success rate explains: it stops short, drifts
sideways, backs off too early. `ShadowTrace` wraps the policy under test and on every tick also asks
the scripted expert of the same skill what it would command from the same perception state and
proprioception. The expert's commands are recorded, never sent. It keeps its own phase memory, so
once the two runs diverge its row reads "what the expert would do from here, in the phase it
believes it is in".

One row per tick (`rows`): tick, t_s (since the skill started), camera (a new frame this tick),
action (the policy's command: vx, vy, wz, arm x, arm z, gripper; a "hold" is None), done, p_done (the
policy's done probability, when it reports one), expert (the expert's command, same layout; None
when the expert raised, with expert_error saying why), expert_done, expert_phase, target (the target object's perceived position in base_link, m, or None
while perception does not track it), and what the robot measured: odom (x, y, yaw of the base in
the odometry frame), base_velocity (vx, vy, wz in base_link), ee (gripper x, z in base_link) and
gripper (the measured opening, 0 closed .. 1 open).
"""
from __future__ import annotations

import math

from robomatrix.skills.policies.base import PolicyStep, SkillPolicy


def action_row(action) -> list[float | None]:
    """(vx, vy, wz, arm x, arm z, gripper) of an Action, rounded for logs; None for held values."""
    arm = action.arm_target if action.arm_target is not None else (None, None)
    return [None if v is None else round(float(v), 4) for v in (*action.base_velocity, *arm, action.gripper)]


def target_name(skill: str, args: dict) -> str | None:
    """The object a skill call acts on, as perception names it ("drawer" for the drawer skills)."""
    if "drawer" in skill:
        return "drawer"
    return args.get("object")


class ShadowTrace(SkillPolicy):
    """Runs `policy`; records it and a shadow `expert` (a fresh scripted policy of the same skill)."""

    def __init__(self, policy: SkillPolicy, expert: SkillPolicy, rows: list | None = None):
        self.policy, self.expert = policy, expert
        self.skill = expert.skill = policy.skill
        self.rows = rows if rows is not None else []

    def reset(self, args, state, obs) -> None:
        self.policy.reset(args, state, obs)
        self.expert.reset(args, state, obs)
        self.target = target_name(self.skill, args)
        self.t0, self.tick = obs.stamp_s, 0

    def act(self, state, obs) -> PolicyStep:
        step = self.policy.act(state, obs)
        try:
            shadow = self.expert.act(state, obs)
            expert, expert_done, note = action_row(shadow.action), bool(shadow.done), ""
        except Exception as exc:  # noqa: BLE001 - e.g. the expert's target lost: record it, keep the run going
            expert, expert_done, note = None, False, f"{type(exc).__name__}: {exc}"
        obj = state.get(self.target) if state is not None and self.target else None
        p_done = getattr(self.policy, "last_done_probability", None)
        self.rows.append({
            "tick": self.tick, "t_s": round(obs.stamp_s - self.t0, 3), "camera": obs.rgb is not None,
            "action": action_row(step.action), "done": bool(step.done),
            "p_done": round(float(p_done), 4) if p_done is not None and math.isfinite(p_done) else None,
            "expert": expert, "expert_done": expert_done, "expert_phase": str(getattr(self.expert, "phase", "") or ""),
            "expert_error": note,
            "target": [round(float(v), 4) for v in obj.position_base] if obj is not None else None,
            "odom": [round(float(v), 4) for v in obs.base_pose],
            "base_velocity": [round(float(v), 4) for v in obs.base_velocity],
            "ee": [round(float(v), 4) for v in obs.ee_position],
            "gripper": round(float(obs.gripper_opening), 4)})
        self.tick += 1
        return step


def shadowed(policy: SkillPolicy, rows: list) -> SkillPolicy:
    """`policy` wrapped in a ShadowTrace that appends to `rows` (the expert: the scripted policy)."""
    from robomatrix.skills.registry import make_policy

    return ShadowTrace(policy, make_policy("scripted", policy.skill), rows)
