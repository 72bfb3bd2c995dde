"""`robomatrix bench planner`: case file loading, scoring, report structure, agreement of hf with rule."""
import json

import pytest

from robomatrix.bench.planner import expected_steps, load_cases, run_planner_bench, run_tree_bench
from robomatrix.errors import UsageError


def test_shipped_cases_are_well_formed_and_split():
    cases = load_cases()
    splits = {c["split"] for c in cases}
    assert splits == {"train", "heldout", "test", "hand"}
    assert sum(c["split"] == "heldout" for c in cases) >= 300
    assert sum(c["expected"] is None for c in cases) >= 30  # refusals to get right too
    for c in cases:
        expected_steps(c)  # parses against the registry


def test_rule_bench_structure(tmp_path):
    result = run_planner_bench("rule", limit=60)
    assert result["cases"] == 60 and 0 <= result["exact_match"] <= 1
    assert set(result["by_split"]) <= {"train", "heldout", "test", "hand"}
    assert result["latency_ms"]["p50"] >= 0 and result["tokens_per_task"] is None
    assert result["exact_match"] >= 0.95
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instruction": "x"}\n')
    with pytest.raises(UsageError, match="bad.jsonl:1"):
        run_planner_bench("rule", bad)


def test_hf_agrees_with_rule_on_trained_phrasings(tmp_path):
    cases = [c for c in load_cases() if c["split"] == "train"][:15]
    path = tmp_path / "few.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in cases))
    hf = run_planner_bench("hf", path)
    rule = run_planner_bench("rule", path)
    assert rule["exact_match"] == 1.0
    assert hf["exact_match"] >= 0.85 and hf["tokens_per_task"] > 20
    assert hf["heldout_known_words"] == {"cases": 0, "exact_match": None} and "heldout_known_words" not in rule


def test_tree_bench_counts_tokens_for_both(tmp_path):
    cases = [c for c in load_cases() if c["split"] == "hand" and c["expected"] is not None][:3]
    path = tmp_path / "tree.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in cases))
    result = run_tree_bench(path, tasks=3, k=2)
    assert result["tree"]["tasks"] == result["iterative"]["tasks"] == 3
    assert result["tree"]["calls_per_task"] < result["iterative"]["calls_per_task"]
    assert 0 < result["token_reduction"] < 1


def test_cli_bench_planner_json(capsys):
    from robomatrix.cli.main import main

    assert main(["bench", "planner", "--planner", "rule", "--limit", "5", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["cases"] == 5 and result["planner"] == "rule"
    assert main(["bench", "planner", "--planner", "rul"]) == 2
