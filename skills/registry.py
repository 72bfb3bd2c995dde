"""Policy registry: which policy runs a meta-skill, by kind ("scripted", "neural").

Policies hang on the skill specs (`skills.specs.attach(skill, "policy.<kind>", factory)`), so
`specs` stays free of imports and a new skill is one module that registers its spec and its
policy. `make_policy("scripted", "grasp")` builds a fresh policy for one execution.

    register_policy("scripted", "wave", WavePolicy)   # factory: () -> SkillPolicy
"""
from __future__ import annotations

import importlib
from collections.abc import Callable

from robomatrix.errors import UsageError, unknown_name
from robomatrix.skills.specs import attach, attachments, skill_names, skill_spec

POLICY_KINDS = ("scripted", "neural")
# Modules that register the built-in policies of a kind when imported.
_BUILTIN_MODULES = {"scripted": "robomatrix.skills.policies", "neural": "robomatrix.skills.neural"}


def register_policy(kind: str, skill: str, factory: Callable[[], object]) -> None:
    """Make `factory()` the `kind` policy of registered skill `skill`."""
    if kind not in POLICY_KINDS:
        raise unknown_name("policy kind", kind, POLICY_KINDS)
    skill_spec(skill)
    if not callable(factory):
        raise TypeError(f"policy factory for {kind} {skill!r} must be callable, got {factory!r}")
    attach(skill, f"policy.{kind}", factory)


def _load(kind: str) -> None:
    module = _BUILTIN_MODULES.get(kind)
    if module:
        importlib.import_module(module)


def policies(kind: str = "scripted") -> dict[str, Callable[[], object]]:
    """{skill name: factory} of every skill that has a `kind` policy."""
    if kind not in POLICY_KINDS:
        raise unknown_name("policy kind", kind, POLICY_KINDS)
    _load(kind)
    return attachments(f"policy.{kind}")


def make_policy(kind: str, skill: str):
    """A fresh `kind` policy for `skill`; UsageError naming what exists when there is none."""
    available = policies(kind)
    skill_spec(skill)
    if skill not in available:
        have = ", ".join(sorted(available)) or "none"
        raise UsageError(f"Skill '{skill}' has no {kind} policy (skills with one: {have}).")
    policy = available[skill]()
    policy.skill = skill
    return policy


def skills_without_policy(kind: str = "scripted") -> list[str]:
    """Registered skills that `kind` cannot run (a test keeps this empty for scripted)."""
    available = policies(kind)
    return [s for s in skill_names() if s not in available]
