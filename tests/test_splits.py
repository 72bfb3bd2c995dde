"""Generalisation splits (sim/scenes.py SPLITS) and `bench tasks --policy/--split` options."""
import numpy as np
import pytest

from robomatrix.bench import tasks as bench
from robomatrix.cli.main import main
from robomatrix.errors import UsageError
from robomatrix.sim.scene import PALETTE
from robomatrix.sim.scenes import CAN_SIZE, LAYOUTS, SPLITS, office, split, split_scene

UNSEEN = ("unseen_objects", "unseen_layouts", "unseen_both")


def _overlap(a, b) -> bool:
    return max(a[0], b[0]) < min(a[1], b[1])


def test_unseen_ranges_are_disjoint_from_training():
    seen = SPLITS["seen"]
    assert seen.can_look(np.random.default_rng(0)) is None and seen.distractors == (0, 0)
    for name in ("unseen_objects", "unseen_both"):
        sp = SPLITS[name]
        # training cans: shade 0 with ±0.04 per-channel jitter, size scale 1
        assert sp.shades and all(hi < -0.04 for lo, hi in sp.shades)
        assert sp.scales and all(not (lo <= 1.0 <= hi) for lo, hi in sp.scales)
    for name in ("unseen_layouts", "unseen_both"):
        sp = SPLITS[name]
        assert sp.layout != "seen" and sp.distractors[0] >= 1
        for item in ("box", "bin"):  # each container's region is new (x or y interval disjoint)
            (sx, sy), (ux, uy) = LAYOUTS["seen"][item], LAYOUTS[sp.layout][item]
            assert not (_overlap(sx, ux) and _overlap(sy, uy)), item
    assert SPLITS["unseen_objects"].layout == "seen" and SPLITS["unseen_layouts"].shades == ()


def test_split_scenes_follow_their_ranges():
    seed = 4
    assert repr(split_scene("office", seed, "seen")) == repr(office(seed))  # seen = the training scene
    both = split_scene("office", seed, "unseen_both")
    cans = [o for o in both.objects if o.shape == "can"]
    distractors = [o for o in both.objects if o.shape != "can"]
    assert len(cans) == 4 and 2 <= len(distractors) <= 4
    assert all(o.color_name in ("orange", "purple") for o in distractors)
    scale = cans[0].size[0] / CAN_SIZE[0]
    assert any(lo <= scale <= hi for lo, hi in SPLITS["unseen_both"].scales)
    for can in cans:  # darker than the palette colour by more than the training jitter
        assert max(can.rgba[:3]) < max(PALETTE[can.color_name][:3]) - 0.04
    box = both.container("box")
    side = np.sign(both.cabinet.pose[1])
    (bx, by) = LAYOUTS["unseen"]["box"]
    assert bx[0] <= box.pose[0] <= bx[1] and min(side * by[0], side * by[1]) <= box.pose[1] <= max(side * by[0], side * by[1])


def test_unknown_split_and_policy_are_usage_errors():
    with pytest.raises(UsageError, match="Did you mean 'unseen_objects'"):
        split("unseen_object")
    with pytest.raises(UsageError, match="office scene only"):
        split_scene("pick", 0, "unseen_layouts")
    with pytest.raises(UsageError, match="policy kind"):
        bench.BenchConfig(policy="neurall")
    assert bench.BenchConfig(policy="neural", split="unseen_both").split == "unseen_both"


@pytest.mark.parametrize("argv, message", [
    (["--split", "unseen"], "generalisation split"),
    (["--policy", "nueral"], "Did you mean 'neural'"),
    (["--checkpoint", "checkpoints/neural_skills"], "--checkpoint goes with --policy neural"),
    (["--policy", "neural", "--checkpoint", "no/such/folder"], "no/such/folder"),
])
def test_bench_tasks_bad_policy_or_split_exit_2(capsys, argv, message):
    code = main(["bench", "tasks", "--episodes", "1", *argv])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_a_held_can_seen_high_stays_held():
    """Unseen-size cans: a tall lifted can whose bottom the fingers hide is placed up to ~7 cm high;
    once held it stays held (z hysteresis), but a can seen on the floor is dropped."""
    from types import SimpleNamespace

    from robomatrix.perception import Perception
    from robomatrix.perception.detector import PerceivedObject

    class Scripted:
        z = 0.24

        def perceive(self, obs):
            return [PerceivedObject("red can", "can", [0, 0, 5, 5], np.array([0.32, 0.0, self.z]), 1.0)]

    det = Scripted()
    perception = Perception(detector=det)

    def obs(t):
        return SimpleNamespace(rgb=np.zeros((2, 2, 3), np.uint8), depth=np.zeros((2, 2), np.float32),
                               base_pose=np.zeros(3), base_velocity=np.zeros(3), ee_position=np.array([0.32, 0.24]),
                               gripper_opening=0.72, stamp_s=t)

    assert perception.update(obs(0.0)).held_object == "red can"
    det.z = 0.24 + 0.10  # beyond the grab tolerance (0.08), within the keep tolerance (0.12)
    assert perception.update(obs(0.1)).held_object == "red can"
    det.z = 0.06  # on the floor below the gripper: let go
    assert perception.update(obs(0.2)).held_object is None
    det.z = 0.24 + 0.10  # not held before: the stricter grab tolerance applies
    assert perception.update(obs(0.3)).held_object is None
