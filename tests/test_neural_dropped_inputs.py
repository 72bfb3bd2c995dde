"""Proprioception a skill is not given (`proprio_dropped_by_skill`): NaN in the loader's samples and the
policy's input for that skill only, read by the model as the training mean; set by `train` and
`robomatrix train --drop-proprio`, kept in the checkpoint."""
import dataclasses
import json

import numpy as np
import pytest
import torch
from neural_fixtures import write_tiny_dataset
from test_neural import inputs, tiny_model

from robomatrix.cli.main import main
from robomatrix.cli.train import parse_drop_proprio
from robomatrix.errors import UsageError
from robomatrix.skills.data.format import PROPRIO_NAMES, DatasetWriter, EpisodeMeta, proprio_drop_mask
from robomatrix.skills.data.loader import ChunkDataset
from robomatrix.skills.neural.checkpoint import load_checkpoint, save_checkpoint
from robomatrix.skills.neural.config import NeuralPolicyConfig, neural_config
from robomatrix.skills.neural.train import TrainConfig, train

ELAPSED = PROPRIO_NAMES.index("elapsed_s")


def fake_embed(texts):
    return np.stack([np.full(384, len(t) / 100.0, np.float32) for t in texts])


def test_config_checks_and_keeps_the_dropped_inputs():
    cfg = neural_config("tiny", proprio_dropped_by_skill={"search": ["elapsed_s"], "grasp": []})
    assert cfg.proprio_dropped_by_skill == {"search": ("elapsed_s",)}  # empty lists mean "all given"
    again = NeuralPolicyConfig(**json.loads(json.dumps(dataclasses.asdict(cfg))))
    assert again == cfg  # survives the checkpoint's JSON
    with pytest.raises(UsageError, match="proprio_dropped_by_skill"):
        neural_config("tiny", proprio_dropped_by_skill={"search": ["time"]})
    with pytest.raises(UsageError, match="proprio_dropped_by_skill"):
        neural_config("tiny", proprio_dropped_by_skill={"search": "elapsed_s"})
    mask = proprio_drop_mask(cfg.proprio_dropped_by_skill, "search")
    assert mask.tolist() == [n == "elapsed_s" for n in PROPRIO_NAMES]
    assert not proprio_drop_mask(cfg.proprio_dropped_by_skill, "grasp").any()


def test_the_model_reads_a_value_not_given_as_the_training_mean():
    model = tiny_model()
    image, proprio, text = inputs()
    at_mean, missing = proprio.clone(), proprio.clone()
    at_mean[:, ELAPSED] = model.proprio_mean[ELAPSED]
    missing[:, ELAPSED] = float("nan")
    with torch.no_grad():
        a_mean, d_mean = model(image, at_mean, text)
        a_nan, d_nan = model(image, missing, text)
        a_raw, _ = model(image, proprio, text)
    assert torch.isfinite(a_nan).all() and torch.isfinite(d_nan).all()
    assert torch.allclose(a_nan, a_mean, atol=1e-6) and torch.allclose(d_nan, d_mean, atol=1e-6)
    assert not torch.allclose(a_raw, a_mean, atol=1e-5)  # the value itself does matter when given


def test_the_loader_drops_values_for_the_named_skills_only(tmp_path):
    writer = DatasetWriter(tmp_path)
    rgb = [np.zeros((8, 8, 3), np.uint8)] * 3
    proprio = np.tile(np.arange(10, dtype=np.float32), (3, 1)) + 1.0
    for skill in ("search", "grasp"):
        meta = EpisodeMeta(skill=skill, instruction=f"{skill} the red can", steps=3, success=True)
        writer.add(meta, rgb, None, proprio, np.zeros((3, 6)), [False, False, True])
    data = ChunkDataset(tmp_path, image_size=8, chunk_size=2, embed=fake_embed,
                        proprio_dropped_by_skill={"search": ("elapsed_s", "odom_dyaw_rad")})
    batch = data.batch(np.arange(len(data)))["proprio"].numpy()
    skills = [data.episodes[int(e)].meta["skill"] for e in data._episode_of]
    for skill, row in zip(skills, batch):
        dropped = np.isnan(row)
        assert dropped.tolist() == [skill == "search" and n in ("elapsed_s", "odom_dyaw_rad") for n in PROPRIO_NAMES]
        assert np.array_equal(row[~dropped], proprio[0][~dropped])
    one = data[0]["proprio"].numpy()
    assert np.isnan(one[ELAPSED]) == (skills[0] == "search")
    assert not np.isnan(data.episodes[0].proprio).any()  # the episode itself is untouched
    stats = data.statistics()
    assert np.isfinite(stats["proprio_mean"]).all()


def test_parse_drop_proprio_gives_one_line_errors():
    assert parse_drop_proprio("search=elapsed_s,move_to=elapsed_s+odom_dyaw_rad") == {
        "search": ["elapsed_s"], "move_to": ["elapsed_s", "odom_dyaw_rad"]}
    assert parse_drop_proprio("") == {}
    for bad, hint in (("search", "SKILL=NAME"), ("serach=elapsed_s", "search"), ("search=elapsed", "elapsed_s"),
                      ("search=", "SKILL=NAME")):
        with pytest.raises(UsageError, match=hint):
            parse_drop_proprio(bad)


def test_train_init_drops_the_clock_and_the_policy_gets_no_clock(tmp_path, capsys):
    from robomatrix.hardware.robot import make_robot
    from robomatrix.skills.neural.policy import NeuralSkillPolicy

    write_tiny_dataset(tmp_path / "ds")
    init = save_checkpoint(tmp_path / "ck", tiny_model(), {"skills": ["grasp", "nudge"]})
    cfg = TrainConfig(policy="tiny", batch_size=8, val_fraction=0.25, epochs=1)
    train(tmp_path / "ds", tmp_path / "out", cfg, progress=False, log=lambda s: None, init=init,
          proprio_dropped_by_skill={"grasp": ["elapsed_s"]})
    model, doc = load_checkpoint(tmp_path / "out")
    assert model.config.proprio_dropped_by_skill == {"grasp": ("elapsed_s",)}
    assert doc["config"]["proprio_dropped_by_skill"] == {"grasp": ["elapsed_s"]}
    with make_robot("mujoco", camera_width=64, camera_height=48) as robot:
        obs = robot.reset("empty", 0)
        later = dataclasses.replace(obs, stamp_s=obs.stamp_s + 3.0)
        chunks = {}
        for skill in ("grasp", "nudge"):
            policy = NeuralSkillPolicy(checkpoint=tmp_path / "out", device="cpu")
            policy.skill = skill
            args = {"object": "red can"} if skill == "grasp" else {"direction": "up", "amount": 0.02}
            policy.reset(args, None, obs)
            chunks[skill] = (policy.predict(obs)[0], policy.predict(later)[0])
    assert np.allclose(*chunks["grasp"])  # 3 s later looks the same to a skill without the clock
    assert not np.allclose(*chunks["nudge"])  # the other skills still have it
    args = ["train", "--data", str(tmp_path / "ds"), "--out", str(tmp_path / "x"), "--config", "tiny",
            "--epochs", "1", "--drop-proprio", "grasp=elapsed"]
    assert main(args) == 2
    assert "elapsed_s" in capsys.readouterr().err
