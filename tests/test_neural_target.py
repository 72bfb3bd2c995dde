"""Perception's belief about a call's object as a network input: recorded per step, read back (zeros for
episodes without it), given only to the config's `target_skills`, and a checkpoint widened to take it."""
import math

import numpy as np
import pytest
import torch
from neural_fixtures import write_tiny_dataset
from test_neural import inputs, tiny_model

from robomatrix.cli.main import main
from robomatrix.errors import UsageError
from robomatrix.perception.tracking import PerceptionState, TrackedObject
from robomatrix.skills.data.format import (
    TARGET_BASE_WIDTH,
    TARGET_NAMES,
    DatasetReader,
    DatasetWriter,
    EpisodeMeta,
    target_object,
    target_vector,
)
from robomatrix.skills.data.loader import ChunkDataset
from robomatrix.skills.neural.checkpoint import load_checkpoint, save_checkpoint
from robomatrix.skills.neural.config import neural_config
from robomatrix.skills.neural.model import SkillPolicyNet
from robomatrix.skills.neural.train import TrainConfig, train


def state_with(name, xy, in_view):
    obj = TrackedObject(name=name, kind="can", position_odom=np.array([*xy, 0.06]),
                        position_base=np.array([*xy, 0.06]), yaw_odom=None, size=None, in_view=in_view,
                        last_seen_s=0.0, confidence=0.9)
    return PerceptionState(stamp_s=1.0, base_pose=np.zeros(3), objects={name: obj})


def fake_embed(texts):
    return np.stack([np.full(384, len(t) / 100.0, np.float32) for t in texts])


def test_target_vector_is_range_and_bearing_of_the_calls_object():
    state = state_with("red can", (0.0, -0.8), in_view=False)  # straight to the right, out of view
    v = target_vector(state, "red can")
    assert v.shape == (len(TARGET_NAMES),) and v.dtype == np.float32
    known, in_view, rng, s, c, *facing = v.tolist()
    assert facing == [0.0, 0.0, 0.0]  # a can has no front
    assert known == 1.0 and in_view == 0.0 and rng == pytest.approx(0.8)
    assert s == pytest.approx(-1.0) and c == pytest.approx(0.0, abs=1e-6)
    assert target_vector(state_with("red can", (0.6, 0.6), True), "red can")[1:5].tolist() == pytest.approx(
        [1.0, math.hypot(0.6, 0.6), math.sqrt(0.5), math.sqrt(0.5)])
    assert not target_vector(state, "blue can").any() and not target_vector(None, "red can").any()
    assert target_object("position_over", {"object": "red can", "target": "bin"}) == "bin"
    assert target_object("open_drawer", {}) == "drawer" and target_object("move_to", {"object": "box"}) == "box"
    assert target_object("nudge", {"direction": "up", "amount": 0.02}) is None


def test_target_round_trip_and_episodes_without_it_read_zeros(tmp_path):
    writer = DatasetWriter(tmp_path)
    rgb = [np.zeros((8, 8, 3), np.uint8)] * 3
    target = np.array([[1, 0, 0.8, -1, 0, 1, 0.6, 0.8], [1, 1, 0.7, -0.5, 0.8, 1, 0.0, 1.0],
                       [1, 1, 0.6, 0, 1, 0, 0, 0]], np.float32)
    meta = EpisodeMeta(skill="search", instruction="look around for the red can", steps=3, success=True)
    writer.add(meta, rgb, None, np.zeros((3, 10)), np.zeros((3, 6)), [False, False, True], target=target)
    old = EpisodeMeta(skill="search", instruction="look around for the red can", steps=3, success=True)
    writer.add(old, rgb, None, np.zeros((3, 10)), np.zeros((3, 6)), [False, False, True])
    reader = DatasetReader(tmp_path)
    assert np.array_equal(reader.load(0).target, target)
    assert reader.load(1).target.shape == (3, len(TARGET_NAMES)) and not reader.load(1).target.any()
    with pytest.raises(ValueError):
        writer.add(EpisodeMeta(skill="search", instruction="x", steps=3, success=True), rgb, None,
                   np.zeros((3, 10)), np.zeros((3, 6)), [False] * 3, target=np.zeros((3, 4)))
    # an episode recorded before the facing values (5 columns) reads them back as zero
    path = tmp_path / reader.meta[0]["file"]
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["target"] = target[:, :TARGET_BASE_WIDTH]
    np.savez(path, **arrays)
    legacy = DatasetReader(tmp_path).load(0).target
    assert legacy.shape == (3, len(TARGET_NAMES))
    assert np.array_equal(legacy[:, :TARGET_BASE_WIDTH], target[:, :TARGET_BASE_WIDTH])
    assert not legacy[:, TARGET_BASE_WIDTH:].any()


def test_the_facing_is_the_turn_that_squares_the_base_up_to_the_drawer_front():
    def drawer_state(pull_yaw, base_yaw):  # the drawer pulls out along world yaw `pull_yaw`
        drawer = TrackedObject(name="drawer", kind="drawer", position_odom=np.array([1.0, 0.0, 0.3]),
                               position_base=np.array([1.0, 0.0, 0.3]), yaw_odom=pull_yaw, size=None,
                               in_view=True, last_seen_s=0.0, confidence=0.9)
        return PerceptionState(stamp_s=1.0, base_pose=np.array([0.0, 0.0, base_yaw]), objects={"drawer": drawer})

    square = target_vector(drawer_state(math.pi, 0.0), "drawer")  # pulls out toward the robot facing +x
    assert square[TARGET_BASE_WIDTH:].tolist() == pytest.approx([1.0, 0.0, 1.0], abs=1e-6)
    # the front turned 0.3 rad: the base has to turn 0.3 rad left (+) to face it square
    turned = target_vector(drawer_state(math.pi + 0.3, 0.0), "drawer")
    assert turned[TARGET_BASE_WIDTH:].tolist() == pytest.approx([1.0, math.sin(0.3), math.cos(0.3)], abs=1e-6)
    # the same drawer, the base already turned 0.3 rad left: square
    assert target_vector(drawer_state(math.pi + 0.3, 0.3), "drawer")[TARGET_BASE_WIDTH + 1] == pytest.approx(0.0, abs=1e-6)
    # a drawer whose front perception has not estimated: range and bearing, no facing
    assert not target_vector(drawer_state(None, 0.0), "drawer")[TARGET_BASE_WIDTH:].any()


def test_only_target_skills_get_the_target_and_only_facing_skills_its_facing(tmp_path):
    writer = DatasetWriter(tmp_path)
    rgb = [np.zeros((8, 8, 3), np.uint8)] * 2
    row = [1, 1, 0.5, 0.0, 1.0, 1.0, 0.6, 0.8]
    for skill in ("search", "grasp", "open_drawer"):
        meta = EpisodeMeta(skill=skill, instruction=f"{skill} the red can", steps=2, success=True)
        writer.add(meta, rgb, None, np.zeros((2, 10)), np.zeros((2, 6)), [False, True], target=np.tile(row, (2, 1)))
    data = ChunkDataset(tmp_path, image_size=8, chunk_size=2, target_skills=("search", "open_drawer"),
                        facing_skills=("open_drawer",), embed=fake_embed)
    batch = data.batch(np.arange(len(data)))
    skills = [data.episodes[int(e)].meta["skill"] for e in data._episode_of]
    assert batch["target"].shape == (6, len(TARGET_NAMES))
    for skill, got in zip(skills, batch["target"].tolist()):
        want = {"search": row[:TARGET_BASE_WIDTH] + [0.0] * 3, "grasp": [0.0] * 8, "open_drawer": row}[skill]
        assert got == pytest.approx(want)
    assert DatasetReader(tmp_path).load(0).target[0].tolist() == pytest.approx(row)  # the file keeps them all


def test_a_widened_model_answers_like_the_original_until_trained():
    base = tiny_model()
    wide = SkillPolicyNet.from_config(neural_config("tiny", target_skills=("move_to",))).eval()
    assert base.target_in is None and wide.target_in.in_features == TARGET_BASE_WIDTH
    wide.load_widened(base)
    x = inputs()
    target = torch.randn(2, len(TARGET_NAMES))
    with torch.no_grad():
        a0, d0 = base(*x)
        a1, d1 = wide(*x, target)
        a2, _ = wide(*x)  # no target: "not known", zeros
        assert torch.allclose(a0, a1, atol=1e-6) and torch.allclose(d0, d1, atol=1e-6)
        assert torch.allclose(a0, a2, atol=1e-6)
        wide.target_in.weight[:] = 0.5  # once trained, the target matters
        assert not torch.allclose(wide(*x, target)[0], a0, atol=1e-4)
    with pytest.raises(RuntimeError):  # another architecture, not just the target input
        SkillPolicyNet.from_config(neural_config("tiny", hidden_dim=16)).load_widened(base)
    # gaining the facing values: the target's base columns keep their weights, the new ones start at zero
    with torch.no_grad():
        wide.target_in.weight[:] = torch.randn_like(wide.target_in.weight)
    facing = SkillPolicyNet.from_config(neural_config("tiny", target_skills=("move_to",),
                                                      facing_skills=("move_to",))).eval()
    assert facing.target_in.in_features == len(TARGET_NAMES)
    facing.load_widened(wide)
    assert torch.equal(facing.target_in.weight[:, :TARGET_BASE_WIDTH], wide.target_in.weight)
    assert not facing.target_in.weight[:, TARGET_BASE_WIDTH:].any()
    with torch.no_grad():
        assert torch.allclose(facing(*x, target)[0], wide(*x, target)[0], atol=1e-6)
        facing.target_in.weight[:, TARGET_BASE_WIDTH:] = 0.5  # once trained, the facing matters
        assert not torch.allclose(facing(*x, target)[0], wide(*x, target)[0], atol=1e-4)
    with pytest.raises(UsageError, match="facing_skills must be target skills too"):  # part of the target input
        neural_config("tiny", target_skills=("move_to",), facing_skills=("open_drawer",))


def test_train_init_gains_the_target_input(tmp_path, capsys):
    write_tiny_dataset(tmp_path / "ds")
    rng = np.random.default_rng(0)
    for _ in range(3):  # grasps with a target array
        meta = EpisodeMeta(skill="grasp", instruction="grasp the red can", steps=6, success=True)
        DatasetWriter(tmp_path / "ds").add(meta, [rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)] * 6, None,
                                           rng.normal(size=(6, 10)), rng.normal(size=(6, 6)), [False] * 5 + [True],
                                           target=rng.uniform(-1, 1, (6, len(TARGET_NAMES))))
    init = save_checkpoint(tmp_path / "ck", tiny_model(), {"skills": ["grasp", "nudge"]})
    cfg = TrainConfig(policy="tiny", batch_size=8, val_fraction=0.25, epochs=1)
    train(tmp_path / "ds", tmp_path / "out", cfg, progress=False, log=lambda s: None, init=init,
          target_skills=["grasp"])
    model, doc = load_checkpoint(tmp_path / "out")
    assert model.config.target_skills == ("grasp",) and doc["config"]["target_skills"] == ["grasp"]
    assert model.target_in.weight.abs().max() > 0  # trained (zero when it started)
    args = ["train", "--data", str(tmp_path / "ds"), "--out", str(tmp_path / "x"), "--config", "tiny",
            "--epochs", "1", "--target-skills", "grasp,serach"]
    assert main(args) == 2
    assert "search" in capsys.readouterr().err
    # --facing-skills: the fine-tune gains the facing columns, which train from zero
    args = ["train", "--data", str(tmp_path / "ds"), "--out", str(tmp_path / "f"), "--epochs", "1",
            "--batch-size", "8", "--init", str(tmp_path / "out"), "--facing-skills", "grasp"]
    assert main(args) == 0
    model, doc = load_checkpoint(tmp_path / "f")
    assert model.config.facing_skills == ("grasp",) and doc["config"]["facing_skills"] == ["grasp"]
    assert model.target_in.weight[:, TARGET_BASE_WIDTH:].abs().max() > 0
    capsys.readouterr()
    bad = ["train", "--data", str(tmp_path / "ds"), "--out", str(tmp_path / "g"), "--config", "tiny",
           "--epochs", "1", "--facing-skills", "grasp"]
    assert main(bad) == 2  # not a target skill: nothing to carry it
    err = capsys.readouterr().err.strip()
    assert "facing_skills must be target skills too" in err and len(err.splitlines()) == 1


def test_the_neural_policy_feeds_perceptions_belief_to_target_skills(tmp_path):
    from robomatrix.hardware.robot import make_robot
    from robomatrix.skills.neural.policy import NeuralSkillPolicy

    model = SkillPolicyNet.from_config(neural_config("tiny", target_skills=("move_to",))).eval()
    model.load_widened(tiny_model())
    with torch.no_grad():
        model.target_in.weight[:] = 1.0
    ck = save_checkpoint(tmp_path / "ck", model, {"skills": ["move_to", "grasp"]})
    with make_robot("mujoco", camera_width=64, camera_height=48) as robot:
        obs = robot.reset("empty", 0)
        chunks = {}
        for skill in ("move_to", "grasp"):
            for side in (0.8, -0.8):
                state = state_with("red can", (0.3, side), in_view=False)
                policy = NeuralSkillPolicy(checkpoint=ck, device="cpu")
                policy.skill = skill
                policy.reset({"object": "red can"}, state, obs)
                chunks[skill, side] = policy.predict(obs, state)[0]
    assert not np.allclose(chunks["move_to", 0.8], chunks["move_to", -0.8])  # left vs right changes the command
    assert np.allclose(chunks["grasp", 0.8], chunks["grasp", -0.8])  # not a target skill: not given


def test_the_neural_policy_gives_the_facing_to_facing_skills_only(tmp_path):
    from robomatrix.hardware.robot import make_robot
    from robomatrix.skills.neural.policy import NeuralSkillPolicy

    model = SkillPolicyNet.from_config(neural_config("tiny", target_skills=("move_to", "open_drawer"),
                                                     facing_skills=("open_drawer",))).eval()
    model.load_widened(tiny_model())
    with torch.no_grad():
        model.target_in.weight[:] = 1.0
    ck = save_checkpoint(tmp_path / "ck", model, {"skills": ["move_to", "open_drawer"]})

    def drawer_state(pull_yaw):
        drawer = TrackedObject(name="drawer", kind="drawer", position_odom=np.array([0.5, 0.0, 0.3]),
                               position_base=np.array([0.5, 0.0, 0.3]), yaw_odom=pull_yaw, size=None, in_view=True,
                               last_seen_s=0.0, confidence=0.9)
        return PerceptionState(stamp_s=1.0, base_pose=np.zeros(3), objects={"drawer": drawer})

    with make_robot("mujoco", camera_width=64, camera_height=48) as robot:
        obs = robot.reset("empty", 0)
        chunks = {}
        for skill, args in (("move_to", {"object": "drawer"}), ("open_drawer", {})):
            for turn in (-0.3, 0.3):  # the drawer front turned either way, everything else the same
                policy = NeuralSkillPolicy(checkpoint=ck, device="cpu")
                policy.skill = skill
                state = drawer_state(math.pi + turn)
                policy.reset(args, state, obs)
                chunks[skill, turn] = policy.predict(obs, state)[0]
    assert not np.allclose(chunks["open_drawer", -0.3], chunks["open_drawer", 0.3])  # a facing skill: it matters
    assert np.allclose(chunks["move_to", -0.3], chunks["move_to", 0.3])  # a target skill without the facing
