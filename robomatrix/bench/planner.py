"""`robomatrix bench planner`: plan exact-match accuracy, refusals, latency and tokens on a case file.

A case is one JSON line: `instruction`, `scene` (`visible`/`hidden` names, optional `held`,
`drawer_open`), `expected` (plan text such as `move_to(red can); grasp(red can);`, or null
when the planner must refuse) and `split` (`train`: phrasings from the frames the planner
model was trained on, in new scenes; `heldout`: frames never used in training; `hand`:
written by hand). A plan matches when its steps, with defaults filled in, equal the expected
steps exactly; a refusal case is right when the planner raises a PlanningError.
"""
from __future__ import annotations

import json
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from robomatrix.errors import UsageError

DEFAULT_CASES = Path(__file__).resolve().parent.parent.parent / "planners" / "cases" / "core.jsonl"


def case_scene(case: dict):
    from robomatrix.planners.base import SceneObjects

    s = case.get("scene") or {}
    return SceneObjects.from_names(s.get("visible", ()), s.get("hidden", ()), held=s.get("held"),
                                   drawer_open=s.get("drawer_open"), contained=s.get("contained", {}))


def load_cases(path: str | Path | None = None) -> list[dict]:
    """The cases of a JSONL file (default: the shipped `planners/cases/core.jsonl`); UsageError naming a bad line."""
    path = Path(path) if path else DEFAULT_CASES
    if not path.is_file():
        raise UsageError(f"No case file '{path}'.")
    cases = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            case = json.loads(line)
            if not isinstance(case.get("instruction"), str) or "expected" not in case:
                raise ValueError("needs 'instruction' and 'expected'")
            case_scene(case)
        except (ValueError, TypeError, AttributeError) as err:
            raise UsageError(f"{path}:{number}: not a planner case ({err}).") from None
        case.setdefault("id", f"line-{number}")
        case.setdefault("split", "all")
        cases.append(case)
    if not cases:
        raise UsageError(f"{path} holds no cases.")
    return cases


def expected_steps(case: dict):
    from robomatrix.planners.grammar import canonical_steps, parse_plan_text

    if case["expected"] is None:
        return None
    steps = parse_plan_text(case["expected"]) if isinstance(case["expected"], str) else case["expected"]
    return canonical_steps(steps)


def score_case(planner, case: dict) -> dict:
    """Plan one case: {id, split, ok, refused, seconds, tokens, got, error}."""
    from robomatrix.planners.base import PlanningError
    from robomatrix.planners.grammar import canonical_steps, plan_text

    scene, want = case_scene(case), expected_steps(case)
    t0 = time.perf_counter()
    got, error = None, ""
    try:
        plan = planner.plan(case["instruction"], scene)
        got = canonical_steps(plan.steps)
        shown = plan_text(plan.steps)
    except PlanningError as err:
        error, shown = str(err), None
    seconds = time.perf_counter() - t0
    usage = getattr(planner, "last_usage", None)
    ok = (got is None) if want is None else (got == want)
    return {"id": case["id"], "split": case["split"], "ok": ok, "refused": got is None, "must_refuse": want is None,
            "seconds": seconds, "tokens": usage.total if usage is not None else None, "got": shown, "error": error}


def run_planner_bench(planner_name: str = "rule", cases: str | Path | None = None, *, limit: int | None = None,
                      planner_options: dict[str, Any] | None = None, progress=None) -> dict:
    """Score `planner_name` on the cases; returns accuracy per split, latency and tokens per task."""
    from robomatrix.planners.base import make_planner

    all_cases = load_cases(cases)[:limit] if limit else load_cases(cases)
    planner = make_planner(planner_name, **(planner_options or {}))
    if all_cases:  # the first plan loads lazily loaded models; keep it out of the latency
        try:
            planner.plan(all_cases[0]["instruction"], case_scene(all_cases[0]))
        except UsageError:
            pass
    rows = []
    for i, case in enumerate(all_cases):
        if hasattr(planner, "last_usage"):
            planner.last_usage = None
        rows.append(score_case(planner, case))
        if progress and (i + 1) % 50 == 0:
            progress(f"{i + 1}/{len(all_cases)} cases")
    by_split: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_split[r["split"]].append(r)
    latencies = sorted(r["seconds"] * 1000 for r in rows)
    tokens = [r["tokens"] for r in rows if r["tokens"] is not None]
    result: dict[str, Any] = {
        "planner": planner_name,
        "cases": len(rows),
        "exact_match": round(sum(r["ok"] for r in rows) / len(rows), 4),
        "by_split": {split: {"cases": len(rs), "exact_match": round(sum(r["ok"] for r in rs) / len(rs), 4)}
                     for split, rs in sorted(by_split.items())},
        "refusals": {"cases": sum(r["must_refuse"] for r in rows),
                     "correct": sum(r["must_refuse"] and r["refused"] for r in rows),
                     "false_refusals": sum(r["refused"] and not r["must_refuse"] for r in rows)},
        "latency_ms": {"p50": round(statistics.median(latencies), 2),
                       "p95": round(latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))], 2)},
        "tokens_per_task": round(statistics.fmean(tokens), 1) if tokens else None,
        "failures": [{k: r[k] for k in ("id", "got", "error")} for r in rows if not r["ok"]][:20],
    }
    return result


def format_report(result: dict) -> str:
    lines = [f"planner {result['planner']}: {result['cases']} cases, exact match {100 * result['exact_match']:.1f} %"]
    for split, s in result["by_split"].items():
        lines.append(f"  {split:<8} {s['cases']:>4} cases  {100 * s['exact_match']:5.1f} %")
    r = result["refusals"]
    lines.append(f"  refusals {r['correct']}/{r['cases']} right, {r['false_refusals']} plans refused wrongly")
    lines.append(f"  latency p50 {result['latency_ms']['p50']} ms, p95 {result['latency_ms']['p95']} ms"
                 + (f", {result['tokens_per_task']} tokens per task" if result["tokens_per_task"] else ""))
    if "tree" in result:
        t = result["tree"]
        lines.append(f"  tree vs iterative: {t['tree']['tokens_per_task']} vs {t['iterative']['tokens_per_task']} "
                     f"tokens per task ({100 * t['token_reduction']:.1f} % fewer), success "
                     f"{100 * t['tree']['success']:.1f} % vs {100 * t['iterative']['success']:.1f} %")
    return "\n".join(lines)
