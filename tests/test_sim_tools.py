"""The simulation's tools: snapshot PNG, the ORACLE-driven scripted demo, video helpers, sim bench."""
import json

import cv2
import numpy as np

from robomatrix.bench.sim import run_sim_bench
from robomatrix.sim.demo_motion import run_scripted_demo
from robomatrix.sim.snapshot import snapshot
from robomatrix.video import VideoWriter, caption, depth_to_colormap, save_png


def test_snapshot_writes_rgb_depth_and_overview_side_by_side(tmp_path):
    path = snapshot("office", seed=3, out=tmp_path / "frame.png", width=160, height=120)
    img = cv2.imread(str(path))
    assert img.shape == (120, 3 * 160, 3)
    rgb, depth = img[:, :160], img[:, 160:320]
    assert rgb[30:].std() > 10 and depth[30:].std() > 10
    assert not np.array_equal(rgb, depth)


def test_scripted_demo_puts_the_red_can_in_the_box(tmp_path):
    summary = run_scripted_demo(tmp_path, scene="pick", seed=2, width=160, height=120, verbose=False)
    json.dumps(summary)
    assert summary["success_oracle"] and summary["driven_by"].startswith("oracle")
    assert summary["lifted_to_z_m_oracle"] > 0.15
    names = {p.split("/")[-1] for p in summary["files"]}
    assert {"camera.mp4", "overview.mp4", "overview.png"} <= names
    cap = cv2.VideoCapture(str(tmp_path / "camera.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) > 40  # ~10 fps over ~8 s
    ok, frame = cap.read()
    assert ok and frame.shape == (120, 160, 3)


def test_video_helpers(tmp_path):
    frame = np.full((48, 64, 3), 200, np.uint8)
    captioned = caption(frame, "grasp")
    assert captioned.shape == frame.shape and not np.array_equal(captioned, frame)
    assert np.array_equal(frame, np.full((48, 64, 3), 200, np.uint8))  # input untouched
    depth = np.linspace(0.2, 1.5, 48 * 64, dtype=np.float32).reshape(48, 64)
    depth[0, 0] = 0.0
    cm = depth_to_colormap(depth, scale_bar=False)
    assert cm.shape == (48, 64, 3) and cm.dtype == np.uint8 and not cm[0, 0].any()  # no return: black
    assert cm[-1, -1, 2] > cm[-1, -1, 0] and cm[0, 1, 0] > cm[0, 1, 2]  # near red, far blue
    with VideoWriter(tmp_path / "v.mp4", fps=5) as video:
        for i in range(6):
            video.write(np.full((48, 64, 3), 40 * i, np.uint8))
    assert video.frames == 6 and (tmp_path / "v.mp4").stat().st_size > 0
    assert cv2.imread(str(save_png(tmp_path / "a/b.png", frame))).shape == (48, 64, 3)


def test_sim_bench_reports_json_with_targets():
    result = run_sim_bench(seconds=0.2, render_frames=10)
    json.dumps(result)
    assert result["physics"]["steps_per_s"] > 0 and result["physics"]["base_moved"]
    assert result["render"]["128x128"]["rgbd_fps"] > 0 and result["render"]["640x480"]["rgbd_fps"] > 0
    assert set(result["targets"]) == {"realtime_factor_min", "rgbd_128x128_fps_min"}
    assert isinstance(result["meets_targets"], bool)
