"""Training: a few steps on a tiny dataset in the real format, checkpoint files, resume, CLI errors."""
import json

import numpy as np
import pytest
import torch
from neural_fixtures import write_tiny_dataset

from robomatrix.cli.main import main
from robomatrix.errors import UsageError
from robomatrix.skills.neural.checkpoint import load_checkpoint
from robomatrix.skills.neural.train import TrainConfig, train


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("ds")
    write_tiny_dataset(root)
    return root


def cfg(**kw):
    return TrainConfig(policy="tiny", batch_size=8, val_fraction=0.25, **kw)


def test_two_epochs_write_a_usable_checkpoint(dataset, tmp_path):
    summary = train(dataset, tmp_path / "ck", cfg(epochs=2), progress=False, log=lambda s: None)
    assert [row["epoch"] for row in summary["history"]] == [1, 2]
    assert all(np.isfinite(row["train_loss"]) and np.isfinite(row["val_loss"]) for row in summary["history"])
    for name in ("model.safetensors", "config.json", "training_state.pt", "loss_curves.png"):
        assert (tmp_path / "ck" / name).stat().st_size > 0
    model, doc = load_checkpoint(tmp_path / "ck")
    assert set(doc["skills"]) <= {"grasp", "nudge"} and doc["train"]["episodes_val"] == 1
    stats = doc["normalisation"]
    assert torch.allclose(model.action_std, torch.tensor(stats["action_std"]))


def test_resume_continues_exactly(dataset, tmp_path):
    straight = train(dataset, tmp_path / "a", cfg(epochs=3), progress=False, log=lambda s: None)
    def crash_in_epoch_3(line):
        if line.startswith("epoch 3/3"):  # after epoch 3 trained, before it is saved
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(dataset, tmp_path / "b", cfg(epochs=3), progress=False, log=crash_in_epoch_3)
    assert json.loads((tmp_path / "b" / "config.json").read_text())["train"]["history"][-1]["epoch"] == 2
    resumed = train(dataset, tmp_path / "b", cfg(epochs=3), resume=True, progress=False, log=lambda s: None)
    assert len(resumed["history"]) == 3
    assert resumed["history"][-1]["train_loss"] == pytest.approx(straight["history"][-1]["train_loss"], rel=1e-4)
    a, _ = load_checkpoint(tmp_path / "a")
    b, _ = load_checkpoint(tmp_path / "b")
    for (name, pa), (_, pb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.allclose(pa, pb, atol=1e-5), name


def test_resume_with_another_config_is_refused(dataset, tmp_path):
    train(dataset, tmp_path / "ck", cfg(epochs=1), progress=False, log=lambda s: None)
    other = TrainConfig(policy="tiny", policy_overrides={"chunk_size": 2}, epochs=2, batch_size=8)
    with pytest.raises(UsageError, match="another policy config"):
        train(dataset, tmp_path / "ck", other, resume=True, progress=False, log=lambda s: None)


def test_train_config_validation():
    with pytest.raises(UsageError, match="epochs"):
        TrainConfig(epochs=0)
    with pytest.raises(UsageError, match="device"):
        TrainConfig(device="tpu")


def test_train_cli(dataset, tmp_path, capsys):
    out = tmp_path / "ck"
    assert main(["train", "--data", str(dataset), "--out", str(out), "--config", "tiny", "--epochs", "1",
                 "--batch-size", "8", "--device", "cpu"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["device"] == "cpu" and result["epochs"] == 1 and np.isfinite(result["val_loss"])
    assert main(["train", "--data", str(tmp_path / "none"), "--out", str(out)]) == 2
    assert main(["train", "--data", str(dataset), "--out", str(out), "--config", "tinyy"]) == 2
    if not torch.cuda.is_available():
        assert main(["train", "--data", str(dataset), "--out", str(out), "--device", "cuda"]) == 2
        assert "no CUDA device" in capsys.readouterr().err


def test_brightness_augmentation_scales_within_bounds():
    from robomatrix.skills.neural.train import scale_brightness

    images = torch.full((64, 3, 4, 4), 100, dtype=torch.uint8)
    assert scale_brightness(images, 0.0, torch.Generator()) is images
    out = scale_brightness(images, 0.3, torch.Generator().manual_seed(1))
    assert out.dtype == torch.uint8 and out.shape == images.shape
    per_image = out[:, 0, 0, 0].float()
    assert per_image.min() >= 70 and per_image.max() <= 130 and per_image.std() > 5
    assert torch.all(out == out[:, :1, :1, :1])  # one factor per image: hue is kept
    with pytest.raises(UsageError, match="augment_brightness"):
        TrainConfig(augment_brightness=1.5)


def test_skill_weights_are_validated(dataset, tmp_path, capsys):
    with pytest.raises(UsageError, match="skill_weights\\['grasp'\\] must be a positive number"):
        TrainConfig(skill_weights={"grasp": 0})
    with pytest.raises(UsageError, match="needs balance_skills"):
        TrainConfig(skill_weights={"grasp": 2.0}, balance_skills=False)
    with pytest.raises(UsageError, match="Did you mean 'grasp'"):  # a skill the dataset does not hold
        train(dataset, tmp_path / "ck", cfg(epochs=1, skill_weights={"grasps": 2.0}), progress=False, log=lambda s: None)
    summary = train(dataset, tmp_path / "ck", cfg(epochs=1, skill_weights={"nudge": 2.0}), progress=False,
                    log=lambda s: None)
    assert summary["history"][0]["epoch"] == 1
    _, doc = load_checkpoint(tmp_path / "ck")
    assert doc["train"]["config"]["skill_weights"] == {"nudge": 2.0}
    args = ["train", "--data", str(dataset), "--out", str(tmp_path / "c2"), "--config", "tiny", "--epochs", "1"]
    assert main(args + ["--skill-weights", "nudge=x"]) == 2
    assert "SKILL=W" in capsys.readouterr().err
    assert main(args + ["--skill-weights", "nudg=2"]) == 2
    assert "Did you mean 'nudge'" in capsys.readouterr().err
