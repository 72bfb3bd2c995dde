"""The perception benchmark runs, is JSON-able and scores a working detector as working."""
from __future__ import annotations

import json

from robomatrix.bench.perception import format_report, run_perception_bench


def test_bench_small_run():
    calls = []
    result = run_perception_bench(scenes=("office", "drawer"), n_scenes=2, seed=5, views_per_scene=2,
                                  width=160, height=120, progress=lambda i, n: calls.append((i, n)))
    json.dumps(result)
    assert result["frames"] == 8 and calls[-1] == (4, 4)
    assert result["scored_against"] == "oracle"
    assert set(result["per_kind"]) >= {"can", "drawer"}
    assert result["precision"] >= 0.9 and result["recall"] >= 0.9
    assert result["per_kind"]["can"]["error"]["median_m"] < 0.02
    text = format_report(result)
    assert "can" in text and "ORACLE" in text
