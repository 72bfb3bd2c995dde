"""Scheduling layer planners: rule (embedded default), transformers, OpenAI-compatible, tree."""
