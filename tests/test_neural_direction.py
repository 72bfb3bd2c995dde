"""A call's direction argument as a network input: a one-hot derived from the episode's args, given only
to the config's `direction_skills`, added to the instruction conditioning, and a checkpoint widened to
take it."""
import numpy as np
import pytest
import torch
from test_neural import inputs, tiny_model
from test_neural_target import fake_embed

from robomatrix.cli.main import main
from robomatrix.skills.data.format import DIRECTION_NAMES, DatasetWriter, EpisodeMeta, direction_vector
from robomatrix.skills.data.loader import ChunkDataset
from robomatrix.skills.neural.checkpoint import load_checkpoint, save_checkpoint
from robomatrix.skills.neural.config import neural_config
from robomatrix.skills.neural.model import SkillPolicyNet
from robomatrix.skills.neural.train import TrainConfig, train


def write_pushes(root, n_each=2, steps=6, seed=0):
    """Push episodes in every push direction, plus grasps (no direction) and nudges."""
    rng = np.random.default_rng(seed)
    writer = DatasetWriter(root)
    calls = [("push", {"object": "red can", "direction": d}, f"push the red can {d}")
             for d in ("left", "right", "forward", "backward")]
    calls += [("grasp", {"object": "red can"}, "grasp the red can"),
              ("nudge", {"direction": "up", "amount": 0.05}, "nudge up by 5 cm")]
    for skill, args, text in calls * n_each:
        meta = EpisodeMeta(skill=skill, instruction=text, steps=steps, success=True, args=args)
        writer.add(meta, [rng.integers(0, 256, (30, 40, 3), dtype=np.uint8) for _ in range(steps)], None,
                   rng.normal(size=(steps, 10)), rng.normal(size=(steps, 6)), [False] * (steps - 1) + [True])


def test_direction_vector_is_a_one_hot_of_the_direction_argument():
    v = direction_vector({"object": "red can", "direction": "right"})
    assert v.dtype == np.float32 and v.shape == (len(DIRECTION_NAMES),)
    assert v.tolist() == [float(n == "right") for n in DIRECTION_NAMES]
    assert direction_vector({"direction": "down", "amount": 0.02})[DIRECTION_NAMES.index("down")] == 1.0
    assert not direction_vector({"object": "red can"}).any() and not direction_vector({}).any()
    assert not direction_vector({"direction": "sideways"}).any() and not direction_vector(None).any()


def test_only_direction_skills_get_the_direction(tmp_path):
    write_pushes(tmp_path)
    data = ChunkDataset(tmp_path, image_size=8, chunk_size=2, direction_skills=("push",), embed=fake_embed)
    batch = data.batch(np.arange(len(data)))
    assert batch["direction"].shape == (len(data), len(DIRECTION_NAMES))
    for e, row in zip(data._episode_of, batch["direction"]):
        meta = data.episodes[int(e)].meta
        if meta["skill"] == "push":
            assert row.tolist() == direction_vector(meta["args"]).tolist() and row.sum() == 1.0
        else:  # grasp has none; nudge has one but is not a direction skill here
            assert not row.any()
    assert data[0]["direction"].tolist() == batch["direction"][0].tolist()


def test_a_model_widened_with_the_direction_answers_like_the_original_until_trained():
    base = tiny_model()
    wide = SkillPolicyNet.from_config(neural_config("tiny", direction_skills=("push",))).eval()
    assert base.direction_in is None and wide.direction_in.in_features == len(DIRECTION_NAMES)
    wide.load_widened(base)
    x = inputs()
    left = torch.tensor([[1.0, 0, 0, 0, 0, 0]] * 2)
    right = torch.tensor([[0, 1.0, 0, 0, 0, 0]] * 2)
    with torch.no_grad():
        a0, d0 = base(*x)
        a1, d1 = wide(*x, None, left)
        assert torch.allclose(a0, a1, atol=1e-6) and torch.allclose(d0, d1, atol=1e-6)
        torch.nn.init.normal_(wide.direction_in.weight)  # once trained, left and right differ
        assert not torch.allclose(wide(*x, None, left)[0], wide(*x, None, right)[0], atol=1e-4)
        assert torch.allclose(wide(*x)[0], a0, atol=1e-6)  # no direction given: zeros


def test_train_init_gains_the_direction_input(tmp_path, capsys):
    write_pushes(tmp_path / "ds")
    init = save_checkpoint(tmp_path / "ck", tiny_model(), {"skills": ["push", "grasp", "nudge"]})
    cfg = TrainConfig(policy="tiny", batch_size=8, val_fraction=0.25, epochs=1)
    train(tmp_path / "ds", tmp_path / "out", cfg, progress=False, log=lambda s: None, init=init,
          direction_skills=["push", "nudge"])
    model, doc = load_checkpoint(tmp_path / "out")
    assert model.config.direction_skills == ("push", "nudge") and doc["config"]["direction_skills"] == ["push", "nudge"]
    assert model.direction_in.weight.abs().max() > 0  # trained (zero when it started)
    base = ["train", "--data", str(tmp_path / "ds"), "--out", str(tmp_path / "x"), "--config", "tiny", "--epochs", "1"]
    assert main(base + ["--direction-skills", "push,grasp"]) == 2
    assert "'grasp' has no direction argument" in capsys.readouterr().err
    assert main(base + ["--direction-skills", "puhs"]) == 2
    assert "push" in capsys.readouterr().err


def test_the_neural_policy_feeds_the_direction_to_direction_skills(tmp_path, monkeypatch):
    from robomatrix.hardware.robot import make_robot
    from robomatrix.skills.data import loader
    from robomatrix.skills.neural.policy import NeuralSkillPolicy

    # every instruction embeds alike here: only the direction input can tell left from right
    monkeypatch.setattr(loader, "embed_instructions", lambda texts: np.zeros((len(texts), 384), np.float32))
    wide = SkillPolicyNet.from_config(neural_config("tiny", direction_skills=("push",))).eval()
    wide.load_widened(tiny_model())
    with torch.no_grad():
        torch.nn.init.normal_(wide.direction_in.weight)
    with_direction = save_checkpoint(tmp_path / "wide", wide, {"skills": ["push"]})
    without = save_checkpoint(tmp_path / "base", tiny_model(), {"skills": ["push"]})
    chunks = {}
    with make_robot("mujoco", camera_width=64, camera_height=48) as robot:
        obs = robot.reset("empty", 0)
        for name, ck in (("wide", with_direction), ("base", without)):
            for direction in ("left", "right"):
                policy = NeuralSkillPolicy(checkpoint=ck, device="cpu")
                policy.skill = "push"
                policy.reset({"object": "red can", "direction": direction}, None, obs)
                chunks[name, direction] = policy.predict(obs, None)[0]
    assert not np.allclose(chunks["wide", "left"], chunks["wide", "right"])
    assert np.allclose(chunks["base", "left"], chunks["base", "right"])
    assert not np.allclose(chunks["wide", "left"], chunks["base", "left"])  # the direction input is used


def test_an_anchored_fine_tune_stays_nearer_its_initial_weights(tmp_path, capsys):
    """L2-SP (`anchor_weight`): the same fine-tune with the anchor moves the weights less, and the penalty
    is the sum of squared changes from the initial checkpoint."""
    from robomatrix.skills.neural.train import anchor_penalty

    write_pushes(tmp_path / "ds", n_each=3)
    init = save_checkpoint(tmp_path / "ck", tiny_model(), {"skills": ["push", "grasp", "nudge"]})
    start = dict(tiny_model().named_parameters())
    drift = {}
    for weight in (0.0, 5.0):
        cfg = TrainConfig(policy="tiny", batch_size=8, val_fraction=0.25, epochs=2, lr=3e-3, anchor_weight=weight)
        train(tmp_path / "ds", tmp_path / f"out{weight}", cfg, progress=False, log=lambda s: None, init=init)
        model, doc = load_checkpoint(tmp_path / f"out{weight}")
        assert doc["train"]["config"]["anchor_weight"] == weight
        anchor = {n: start[n].detach() for n, _ in model.named_parameters()}
        with torch.no_grad():
            drift[weight] = float(anchor_penalty(model, anchor))
            assert drift[weight] == pytest.approx(sum(float(((p - start[n]) ** 2).sum())
                                                      for n, p in model.named_parameters()), rel=1e-5)
    assert 0.0 < drift[5.0] < 0.5 * drift[0.0]
    args = ["train", "--data", str(tmp_path / "ds"), "--out", str(tmp_path / "x"), "--config", "tiny", "--anchor", "1"]
    assert main(args) == 2
    assert "--anchor needs --init" in capsys.readouterr().err
