"""`robomatrix bench comm` runs end to end (tiny counts; the speed targets live in the benchmark itself)."""
import json
import subprocess
import sys

import pytest

from robomatrix.bench.comm import TARGETS, run_comm_bench
from robomatrix.errors import UsageError


def test_comm_bench_reports_every_transport_with_targets():
    result = run_comm_bench(["inproc", "dds"], n_twist=20, n_image=5, n_rate=10, width=64, height=48)
    json.dumps(result)  # JSON-able
    assert result["level"] == "node" and result["targets"] == TARGETS
    for name in ("inproc", "dds"):
        r = result["transports"][name]
        assert r["twist_latency_ms"]["n"] == 20 and r["twist_latency_ms"]["lost"] == 0
        assert r["image_latency_ms"]["n"] == 5 and 0 < r["image_latency_ms"]["p50"] <= r["image_latency_ms"]["p99"]
        assert r["image_rate"]["acknowledged"] == 10 and r["image_rate_hz"] > 0
    assert result["transports"]["dds"]["across_processes"] is True
    assert set(result["target_checks"]) == set(TARGETS)
    assert result["meets_targets"] == all(result["target_checks"].values())


def test_comm_bench_cli_prints_one_json_object():
    done = subprocess.run([sys.executable, "-m", "robomatrix.bench.comm", "--json", "--transports", "inproc",
                           "--n-twist", "5", "--n-image", "3"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert list(result["transports"]) == ["inproc"] and result["meets_targets"] is False  # no dds: unchecked


def test_comm_bench_refuses_bad_input():
    with pytest.raises(UsageError, match="n_twist must be a positive integer"):
        run_comm_bench(["inproc"], n_twist=0)
    with pytest.raises(UsageError, match="Transport 'zenoh' is not available"):
        run_comm_bench(["zenoh"])
