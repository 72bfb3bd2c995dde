"""Skill layer: meta-skill registry, skill server, scripted and neural policies."""
