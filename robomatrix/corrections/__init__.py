"""Language corrections (issue 6, after "Yell At Your Robot"): a person steers the running robot in words.

- `interpret`: text → what it means at the motion, skill or plan level (or a question back);
- `handler`: applies it to the running skill (`SkillRunner.adjust`), the plan (`Executive.edit`),
  announces what was understood on the status channel and stores it;
- `memory`: the corrections dataset (FORMAT.md) and `MemoryPlanner`, which applies past
  preferences and fixes to new tasks; `training`: corrected plans for the `hf` planner;
- `session` (one process, `SimSession.correct`) and `node` (the executive and skill server nodes).
"""
