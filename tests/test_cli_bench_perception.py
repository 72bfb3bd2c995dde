"""`robomatrix bench perception --json` prints one JSON object scored against the oracle."""
import json
import subprocess
import sys
from pathlib import Path

ROBOMATRIX = Path(sys.executable).parent / "robomatrix"


def test_bench_perception_json_is_one_object_with_per_kind_scores():
    out = subprocess.run([str(ROBOMATRIX), "bench", "perception", "--json", "--n-scenes", "1", "--views", "1",
                          "--camera", "160x120"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["scored_against"] == "oracle" and result["image"] == [160, 120]
    assert 0.0 <= result["precision"] <= 1.0 and 0.0 <= result["recall"] <= 1.0
    assert set(result["per_kind"]) <= {"can", "box", "bin", "drawer"}


def test_bench_perception_refuses_a_bad_camera_size_with_exit_2():
    out = subprocess.run([str(ROBOMATRIX), "bench", "perception", "--camera", "big"], capture_output=True, text=True)
    assert out.returncode == 2 and "WxH" in out.stderr and "Traceback" not in out.stderr
