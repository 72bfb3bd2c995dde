"""Learned meta-skills: one language-conditioned visuomotor network for every skill.

Importing this package registers the `neural` policy kind for every registered skill
(`make_policy("neural", "grasp")`) without importing torch; the network is loaded on first use.
Pieces: `config` (NeuralPolicyConfig, registered by name), `model` (SkillPolicyNet), `checkpoint`
(safetensors + JSON), `policy` (NeuralSkillPolicy: chunking + temporal ensembling), `train`.
"""
from robomatrix.skills.registry import register_policy
from robomatrix.skills.specs import skill_names


def _factory():
    from robomatrix.skills.neural.policy import NeuralSkillPolicy

    return NeuralSkillPolicy()


for _skill in skill_names():
    register_policy("neural", _skill, _factory)
