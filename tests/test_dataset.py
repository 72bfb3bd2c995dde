"""The demonstration dataset: format round trip, loader samples, recorder in MuJoCo, dataset CLI."""
import json

import numpy as np
import pytest
from neural_fixtures import write_tiny_dataset

from robomatrix.cli.main import main
from robomatrix.errors import UsageError
from robomatrix.skills.data.format import DatasetReader, DatasetWriter, EpisodeMeta, read_index
from robomatrix.skills.data.instructions import instruction_text
from robomatrix.skills.data.loader import ChunkDataset, split_episodes


def fake_embed(texts):
    return np.stack([np.full(384, len(t) / 100.0, np.float32) for t in texts])


def test_round_trip(tmp_path):
    metas = write_tiny_dataset(tmp_path)
    index = read_index(tmp_path)
    assert [row["id"] for row in index] == [0, 1, 2, 3]
    assert index[1]["file"] == "episode_000001.npz" and index[1]["steps"] == 7 and index[1]["camera"] == [40, 30]
    reader = DatasetReader(tmp_path)
    ep = reader.load(2)
    assert len(ep) == metas[2].steps == 9
    assert ep.action.dtype == np.float32 and ep.action.shape == (9, 6) and ep.proprio.shape == (9, 10)
    assert ep.done.tolist() == [False] * 8 + [True]
    assert ep.rgb(3).shape == (30, 40, 3) and ep.rgb(3).dtype == np.uint8
    assert ep.depth(3).shape == (30, 40)
    # appending continues the numbering
    write_tiny_dataset(tmp_path, episodes=(("lift", "lift the red can", 3),))
    assert [row["id"] for row in read_index(tmp_path)] == [0, 1, 2, 3, 4]


def test_frames_survive_compression(tmp_path):
    rgb = np.zeros((24, 32, 3), np.uint8)
    rgb[:, :16] = (200, 30, 30)
    depth = np.full((24, 32), 1.234, np.float32)
    meta = EpisodeMeta(skill="lift", instruction="lift the red can", steps=1, success=True)
    DatasetWriter(tmp_path).add(meta, [rgb], [depth], np.zeros((1, 10)), np.zeros((1, 6)), [True])
    ep = DatasetReader(tmp_path).load(0)
    assert np.abs(ep.rgb(0).astype(int) - rgb).mean() < 6  # JPEG, colours stay RGB (not BGR)
    assert ep.rgb(0)[12, 4, 0] > 150 and ep.rgb(0)[12, 4, 2] < 80
    assert np.allclose(ep.depth(0), 1.234, atol=1e-3)


def test_bad_metadata_and_missing_dataset(tmp_path):
    with pytest.raises(ValueError, match="source"):
        EpisodeMeta(skill="grasp", instruction="x", steps=3, success=True, source="youtube")
    with pytest.raises(UsageError, match="not a dataset"):
        DatasetReader(tmp_path / "nothing")
    write_tiny_dataset(tmp_path)
    (tmp_path / "episode_000001.npz").write_bytes(b"garbage")
    with pytest.raises(UsageError, match="cannot be read"):
        DatasetReader(tmp_path).load(1)
    with pytest.raises(UsageError, match="episode 9"):
        DatasetReader(tmp_path).load(9)


def test_chunk_samples(tmp_path):
    write_tiny_dataset(tmp_path)
    ds = ChunkDataset(tmp_path, [0, 1], image_size=16, chunk_size=4, done_window_steps=1, embed=fake_embed)
    assert len(ds) == 12 + 7
    s = ds[10]  # episode 0, step 10 of 12: two real actions, two padded
    assert s["image"].shape == (3, 16, 16) and str(s["image"].dtype) == "torch.uint8"
    assert s["proprio"].shape == (10,) and s["instruction"].shape == (384,)
    assert s["actions"].shape == (4, 6)
    assert s["action_mask"].tolist() == [True, True, False, False]
    ep0 = DatasetReader(tmp_path).load(0)
    assert np.allclose(s["actions"][:2].numpy(), ep0.action[10:12])
    assert np.allclose(s["actions"][3].numpy(), ep0.action[11])  # padding repeats the last action
    assert float(s["done"]) == 1.0 and float(ds[9]["done"]) == 0.0  # last 1 + 1 steps count as done
    batch = ds.batch([10, 3, 15])
    assert batch["image"].shape == (3, 3, 16, 16)
    for key in ("image", "proprio", "actions", "action_mask", "done"):
        assert np.allclose(batch[key][0].numpy(), s[key].numpy())
    stats = ds.statistics()
    assert len(stats["action_mean"]) == 6 and all(v > 0 for v in stats["proprio_std"])
    assert len(stats["instruction_mean"]) == 384
    weights = ds.skill_balanced_weights()  # grasp 12 steps, nudge 7: each skill half of the mass
    assert weights.sum() == pytest.approx(1.0) and weights[:12].sum() == pytest.approx(0.5)
    weights = ds.skill_balanced_weights({"grasp": 3.0})  # grasp shown 3x as often as nudge
    assert weights.sum() == pytest.approx(1.0) and weights[:12].sum() == pytest.approx(0.75)
    assert np.allclose(weights[:12], weights[0]) and np.allclose(weights[12:], weights[12])


def test_split_is_seeded_and_disjoint():
    train, val = split_episodes(10, 0.2, seed=3)
    assert len(val) == 2 and not set(train) & set(val) and sorted(train + val) == list(range(10))
    assert split_episodes(10, 0.2, seed=3) == (train, val)
    assert split_episodes(1, 0.5, seed=0) == ([0], [])


def test_dataset_info_and_view_cli(tmp_path, capsys):
    write_tiny_dataset(tmp_path / "ds")
    assert main(["dataset", "info", str(tmp_path / "ds"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["episodes"] == 4 and info["steps"] == 33 and info["per_skill"]["grasp"]["episodes"] == 2
    assert info["per_skill"]["nudge"]["instructions"] == 2
    out = tmp_path / "ep.mp4"
    assert main(["dataset", "view", str(tmp_path / "ds"), "--episode", "1", "--out", str(out)]) == 0
    assert out.stat().st_size > 1000
    assert main(["dataset", "view", str(tmp_path / "ds"), "--episode", "7", "--out", str(out)]) == 2
    assert "episode 7" in capsys.readouterr().err


def test_collect_records_a_skill_in_mujoco(tmp_path, capsys):
    out = tmp_path / "demos"
    assert main(["collect", "--skills", "nudge", "--episodes", "1", "--camera", "64x48", "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["per_skill"]["nudge"]["kept"] == 1
    meta = read_index(out)[0]
    assert meta["skill"] == "nudge" and meta["success"] is True and meta["source"] == "scripted"
    assert meta["oracle"]["perception"] is False and meta["instruction"].startswith("nudge ")
    ep = DatasetReader(out).load(0)
    assert ep.done[-1] and not ep.done[:-1].any()
    assert ep.rgb(0).shape == (48, 64, 3) and ep.depth(0).max() > 0
    assert np.isfinite(ep.action).all() and np.isfinite(ep.proprio).all()
    assert main(["collect", "--skills", "graps", "--episodes", "1", "--out", str(out)]) == 2
    assert "grasp" in capsys.readouterr().err


def test_collect_records_a_whole_task_in_mujoco(tmp_path, capsys):
    out = tmp_path / "chains"
    assert main(["collect", "--tasks", "move_to_green", "--episodes", "1", "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["per_task"]["move_to_green"]["failed"] == 0
    rows = read_index(out)
    assert [r["skill"] for r in rows] == ["move_to"] and rows[0]["source"] == "scripted"
    assert rows[0]["instruction"] == instruction_text("move_to", {"object": "green can"})


def test_merge_appends_renumbered_episodes(tmp_path, capsys):
    from neural_fixtures import EPISODES

    write_tiny_dataset(tmp_path / "a", EPISODES[:2], seed=1)
    write_tiny_dataset(tmp_path / "b", EPISODES[2:], seed=2)
    assert main(["dataset", "merge", str(tmp_path / "b"), "--into", str(tmp_path / "a")]) == 0
    assert json.loads(capsys.readouterr().out) == {"added": 2, "skipped": 0, "episodes": 4}
    merged, b = DatasetReader(tmp_path / "a"), DatasetReader(tmp_path / "b")
    assert [m["id"] for m in merged.meta] == [0, 1, 2, 3]
    assert [m["instruction"] for m in merged.meta] == [e[1] for e in EPISODES]
    assert merged.meta[2]["merged_from"].endswith("episode_000000.npz")
    np.testing.assert_array_equal(merged.load(3).action, b.load(1).action)
    np.testing.assert_array_equal(merged.load(3).rgb(0), b.load(1).rgb(0))
    assert main(["dataset", "merge", str(tmp_path / "a"), "--into", str(tmp_path / "a")]) == 2
    capsys.readouterr()
    assert main(["dataset", "merge", str(tmp_path / "b"), "--into", str(tmp_path / "c"), "--skills", "nudge"]) == 0
    assert json.loads(capsys.readouterr().out) == {"added": 1, "skipped": 1, "episodes": 1}
    assert main(["dataset", "merge", str(tmp_path / "b"), "--into", str(tmp_path / "c"), "--exclude-skills",
                 "nudge"]) == 0
    assert [m["skill"] for m in DatasetReader(tmp_path / "c").meta] == ["nudge", "grasp"]
    assert main(["dataset", "merge", str(tmp_path / "b"), "--into", str(tmp_path / "c"), "--skills", "nudj"]) == 2
    capsys.readouterr()
    # only some calls of a skill (e.g. the forward pushes of a DAgger set)
    index = tmp_path / "b" / "index.jsonl"
    rows = [json.loads(line) for line in index.read_text().splitlines()]
    rows[0]["call"], rows[1]["call"] = "grasp(object='blue can')", "nudge(direction='up', amount=0.03)"
    index.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["dataset", "merge", str(tmp_path / "b"), "--into", str(tmp_path / "d"), "--calls",
                 "direction='up';direction='down'"]) == 0
    assert json.loads(capsys.readouterr().out) == {"added": 1, "skipped": 1, "episodes": 1}
    assert [m["skill"] for m in DatasetReader(tmp_path / "d").meta] == ["nudge"]


def collect_variant(out, skill, variant, seed, capsys):
    """Two episodes of `skill` in scenario variant `variant`, read back."""
    assert main(["collect", "--skills", skill, "--variant", variant, "--episodes", "2", "--seed", str(seed),
                 "--camera", "64x48", "--out", str(out)]) == 0
    capsys.readouterr()
    return DatasetReader(out)


def test_collect_search_turned_away_records_a_remembered_object(tmp_path, capsys):
    from robomatrix.skills.evaluate import scenario

    sc = scenario("search", 1, "turned_away")
    assert [c.skill for c in sc.setup] == ["search"] and sc.setup[0].args["object"] != sc.call.args["object"]
    out = tmp_path / "ta"
    reader = collect_variant(out, "search", "turned_away", 91000, capsys)
    assert [reader.meta[i]["args"]["object"] for i in range(2)] == ["red can", "box"]
    assert all(reader.load(i).target[0, 0] == 1.0 for i in range(2))  # seen during the set-up's search
    assert "last seen on your" in reader.meta[1]["instruction"]
    for bad in (["--skills", "grasp", "--variant", "turned_away"], ["--skills", "search", "--variant", "sideways"]):
        assert main(["collect", "--episodes", "1", "--out", str(out), *bad]) == 2
        assert "variant" in capsys.readouterr().err
    assert len(DatasetReader(out)) == 2


def test_collect_office_cans_names_each_can_in_turn(tmp_path, capsys):
    from robomatrix.skills.evaluate import OFFICE_CANS, scenario

    grasp = scenario("grasp", 2, "office_cans")
    assert grasp.scene == "office" and grasp.call.args["object"] == OFFICE_CANS[2]
    assert [(c.skill, c.args["object"]) for c in grasp.setup] == [("search", "blue can"), ("move_to", "blue can")]
    out = tmp_path / "oc"
    reader = collect_variant(out, "move_to", "office_cans", 93000, capsys)
    assert [reader.meta[i]["args"]["object"] for i in range(2)] == ["red can", "green can"]
    assert "green can" in reader.meta[1]["instruction"]
    assert main(["collect", "--skills", "lift", "--variant", "office_cans", "--episodes", "1", "--out", str(out)]) == 2
    assert "'office_cans' covers search, move_to, grasp" in capsys.readouterr().err
