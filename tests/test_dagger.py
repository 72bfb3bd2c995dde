"""DAgger: the learner drives, the expert labels; its episodes, their done targets, fine-tuning from them."""
import json

import numpy as np
import pytest
import torch
from neural_fixtures import write_tiny_dataset

from robomatrix.cli.main import main
from robomatrix.errors import UsageError
from robomatrix.hardware.robot import Action, Observation, RobotConfig
from robomatrix.messages import SkillCall, SkillResult
from robomatrix.skills.data.dagger import DaggerRecorder, DaggerWriter
from robomatrix.skills.data.format import (
    ACTION_NAMES,
    PROPRIO_NAMES,
    TARGET_BASE_WIDTH,
    TARGET_NAMES,
    DatasetReader,
    DatasetWriter,
    EpisodeMeta,
)
from robomatrix.skills.data.loader import ChunkDataset
from robomatrix.skills.neural.checkpoint import load_checkpoint, save_checkpoint
from robomatrix.skills.neural.train import TrainConfig, train
from robomatrix.skills.policies.base import PolicyStep, SkillPolicy


def obs(t: float, rgb: bool = True) -> Observation:
    image = np.full((6, 8, 3), int(t * 100) % 256, np.uint8) if rgb else None
    return Observation(rgb=image, depth=np.ones((6, 8), np.float32) if rgb else None, intrinsics=None,
                       camera_pose_base=np.eye(4), base_pose=np.array([t, 0.0, 0.0]), base_velocity=np.zeros(3),
                       ee_position=np.array([0.25, 0.16]), gripper_opening=1.0, stamp_s=t)


class Learner(SkillPolicy):
    skill = "move_to"

    def reset(self, args, state, o):
        self.ticks = 0

    def act(self, state, o):
        self.ticks += 1
        return PolicyStep(Action((0.1, 0.0, 0.0), (0.3, 0.1), None), done=False)


class Expert(SkillPolicy):
    """Sideways for 3 ticks, then done (twice), then it raises: labelling must end there."""

    skill = "move_to"
    phase = "approach"

    def reset(self, args, state, o):
        self.ticks = 0

    def act(self, state, o):
        self.ticks += 1
        if self.ticks > 5:
            raise RuntimeError("lost the can")
        if self.ticks > 3:
            self.phase = "stop"
            return PolicyStep(Action((0.1, 0.0, 0.0), None, 1.0), done=True, progress=1.0)
        return PolicyStep(Action((0.0, 0.1, 0.0), None, None), progress=0.5)


def run_recorder(beta):
    rec = DaggerRecorder(Learner(), Expert(), RobotConfig(), beta=beta, rng=np.random.default_rng(0))
    rec.reset({"object": "red can"}, None, obs(0.0))
    sent = [rec.act(None, obs(0.05 * (i + 1), rgb=i % 2 == 1)) for i in range(7)]
    return rec, sent


def test_learner_drives_and_the_expert_labels():
    rec, sent = run_recorder(beta=0.0)
    run = rec.run
    assert all(s.action.base_velocity == (0.1, 0.0, 0.0) and not s.done for s in sent)  # the learner's commands
    assert run.executed_steps == 7 and run.expert_ticks == 0
    assert len(run.action) == 5 and run.label_end.startswith("expert raised RuntimeError: lost the can")
    labels = np.array(run.action)
    assert np.allclose(labels[:3, :3], [0.0, 0.1, 0.0])  # the expert's sideways command, not the learner's
    assert np.allclose(labels[3:, :3], 0.0)  # a done label stops the base
    # the expert never moved the arm: its "hold" is its own set-point (where the arm was at the start),
    # not the target the learner has sent since (0.3, 0.1)
    assert np.allclose(labels[:, 3:5], [0.25, 0.16])
    assert np.allclose(labels[:3, 5], 1.0) and np.allclose(labels[3:, 5], 1.0)
    assert run.done == [False, False, False, True, True]
    assert run.phases == ["approach", "stop"] and run.phase == [0, 0, 0, 1, 1]
    # frames: the learner's last camera frame (odd ticks reuse the previous one); proprio from the start
    assert run.rgb[1] is run.rgb[2] and run.rgb[0] is not run.rgb[1] and run.rgb[3] is not run.rgb[2]
    assert np.isclose(run.proprio[0][PROPRIO_NAMES.index("elapsed_s")], 0.05)


def test_beta_one_sends_the_expert():
    rec, sent = run_recorder(beta=1.0)
    assert [s.action.base_velocity for s in sent[:3]] == [(0.0, 0.1, 0.0)] * 3 and sent[3].done
    assert rec.run.expert_ticks == 5  # once the expert has no answer, the learner runs
    with pytest.raises(UsageError, match="beta"):
        DaggerRecorder(Learner(), Expert(), RobotConfig(), beta=1.5)


def test_writer_writes_one_episode_per_labelled_call(tmp_path):
    class Runner:
        robot = type("R", (), {"config": RobotConfig()})()
        config = type("C", (), {"policy_kind": "neural", "control_rate_hz": 20.0})()
        policy_wrapper = on_result = None

    runner, writer = Runner(), DaggerWriter(tmp_path / "ds", learner="neural", learner_name="tiny")
    writer.attach(runner)
    writer.context = {"scene": "pick", "seed": 7, "task": "grasp_blue"}
    for ticks, success in ((7, False), (2, False), (3, True)):
        policy = runner.policy_wrapper(Learner())
        policy.expert = Expert()
        policy.reset({"object": "red can"}, None, obs(0.0))
        for i in range(ticks):
            policy.act(None, obs(0.05 * (i + 1)))
        runner.on_result(SkillCall("move_to", {"object": "red can"}),
                         SkillResult(goal_id="g", skill="move_to", success=success, reason="short" if not success else ""))
    assert runner.policy_wrapper(type("Grasp", (Learner,), {"skill": "grasp"})()).skill == "grasp"
    assert writer.recorder is None  # the grasp expert cannot label a learner's states: run unrecorded
    writer.detach()
    assert runner.policy_wrapper is None and runner.on_result is None
    reader = DatasetReader(tmp_path / "ds")
    assert len(reader) == 2  # the 2-tick call is too short to keep
    meta = reader.load(0).meta
    assert reader.load(0).done.tolist() == [False, False, False, True, True]
    # the learner stopped after 3 ticks and its postcondition held: stopping there was right
    assert reader.load(1).done.tolist() == [False, False, True] and reader.load(1).meta["success"] is True
    assert meta["source"] == "dagger" and meta["success"] is False and meta["steps"] == 5
    assert meta["outcome"]["learner"] == "tiny" and meta["outcome"]["task"] == "grasp_blue"
    assert meta["outcome"]["executed_steps"] == 7 and meta["outcome"]["label_end"].startswith("expert raised")
    assert meta["instruction"] == "drive up to the red can" and meta["camera"] == [8, 6] and meta["seed"] == 7
    assert writer.per_skill["move_to"] == {"calls": 3, "learner_ok": 1, "episodes": 2, "steps": 8}


def fake_embed(texts):
    return np.stack([np.full(384, len(t) / 100.0, np.float32) for t in texts])


def test_dagger_done_targets_come_from_the_expert(tmp_path):
    writer = DatasetWriter(tmp_path)
    n = 8
    done = np.array([0, 0, 0, 1, 1, 1, 0, 0], bool)  # the expert would have stopped at 3; the learner went on
    meta = EpisodeMeta(skill="move_to", instruction="move to the red can", steps=n, success=False, source="dagger")
    writer.add(meta, [np.zeros((6, 8, 3), np.uint8)] * n, None, np.zeros((n, len(PROPRIO_NAMES))),
               np.zeros((n, len(ACTION_NAMES))), done)
    ds = ChunkDataset(tmp_path, image_size=8, chunk_size=2, done_window_steps=1, embed=fake_embed)
    assert [float(ds[t]["done"]) for t in range(n)] == [0, 0, 1, 1, 1, 1, 0, 0]



def test_a_stop_the_expert_confirms_soon_after_a_handover_is_a_right_stop():
    from robomatrix.skills.data.format import Episode
    from robomatrix.skills.data.loader import HANDOVER_STOP_SLACK_STEPS, dagger_done_flags

    def episode(done, handover):
        ep = Episode.__new__(Episode)
        ep.done, ep.meta = np.asarray(done, bool), {"outcome": {"handover_tick": handover}}
        return ep

    near = [0, 0, 0, 0, 0, 1]  # the learner stopped at 2, the expert 3 ticks later: the learner was right
    assert dagger_done_flags(episode(near, 2)).tolist() == [0, 0, 1, 1, 1, 1]
    far = [0] * (HANDOVER_STOP_SLACK_STEPS + 3) + [1]  # the expert drove on well past it: a too-early stop
    assert dagger_done_flags(episode(far, 1)).tolist() == far
    assert dagger_done_flags(episode(near, -1)).tolist() == near  # no hand-over
    assert dagger_done_flags(episode([0, 0, 0], 1)).tolist() == [0, 0, 0]  # the expert never stopped


def test_fine_tuning_starts_from_the_checkpoint(tmp_path):
    write_tiny_dataset(tmp_path / "ds")
    cfg = TrainConfig(policy="tiny", batch_size=8, val_fraction=0.25, epochs=1)
    train(tmp_path / "ds", tmp_path / "base", cfg, progress=False, log=lambda s: None)
    base, _ = load_checkpoint(tmp_path / "base")
    write_tiny_dataset(tmp_path / "other", seed=5)
    # another dataset has other statistics: fine-tuning keeps the checkpoint's units
    small = TrainConfig(policy="tiny", batch_size=8, val_fraction=0.25, epochs=1, lr=1e-9)
    train(tmp_path / "other", tmp_path / "ft", small, progress=False, log=lambda s: None, init=tmp_path / "base")
    tuned, doc = load_checkpoint(tmp_path / "ft")
    assert doc["train"]["init"] == str(tmp_path / "base")
    for (name, a), (_, b) in zip(base.state_dict().items(), tuned.state_dict().items()):
        assert torch.allclose(a, b, atol=1e-4), name  # lr ~0: the weights and buffers are the checkpoint's
    fresh_dir = tmp_path / "fresh"
    train(tmp_path / "other", fresh_dir, small, progress=False, log=lambda s: None)
    fresh, _ = load_checkpoint(fresh_dir)
    assert not torch.allclose(fresh.action_mean, base.action_mean)  # without --init: the new data's statistics
    (tmp_path / "broken").mkdir()
    assert main(["train", "--data", str(tmp_path / "ds"), "--out", str(tmp_path / "x"), "--config", "tiny",
                 "--epochs", "1", "--init", str(tmp_path / "broken")]) == 2


def test_collect_dagger_in_mujoco(tmp_path, capsys):
    from test_neural import tiny_model

    ck = save_checkpoint(tmp_path / "ck", tiny_model(), {"skills": ["move_to"]})
    out = tmp_path / "dg"
    args = ["collect", "--dagger", "--skills", "move_to", "--episodes", "1", "--camera", "64x48", "--out", str(out),
            "--checkpoint", str(ck), "--seed", "3"]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["per_skill"]["move_to"]["calls"] == 1 and summary["learner"].startswith("neural:")
    reader = DatasetReader(out)
    assert len(reader) == 1
    ep = reader.load(0)
    assert ep.meta["source"] == "dagger" and ep.meta["outcome"]["expert"] == "scripted"
    assert not any(ep.meta["oracle"].values())
    assert np.isfinite(ep.action).all() and ep.rgb(0).shape == (48, 64, 3)
    assert ep.meta["outcome"]["executed_steps"] >= len(ep)
    # perception's belief about the can, every labelled step: known, with a unit bearing vector
    assert ep.target.shape == (len(ep), len(TARGET_NAMES)) and (ep.target[:, 0] == 1.0).all()
    assert np.allclose(ep.target[:, 3] ** 2 + ep.target[:, 4] ** 2, 1.0, atol=1e-5)
    assert not ep.target[:, TARGET_BASE_WIDTH:].any()  # a can has no front to square up to
    for bad in (["--beta", "1.5"], ["--perception", "oracle"], ["--early-stop", "never"]):
        assert main(args + bad) == 2
        assert "--" in capsys.readouterr().err
    assert main(["collect", "--skills", "nudge", "--episodes", "1", "--out", str(out), "--beta", "0.5"]) == 2
    assert "--dagger" in capsys.readouterr().err
    assert main(["collect", "--dagger", "--skills", "grasp", "--episodes", "1", "--out", str(out)]) == 2
    assert "cannot label" in capsys.readouterr().err and len(DatasetReader(out)) == 1


def test_search_instruction_says_where_the_object_was_last_seen():
    from robomatrix.skills.data.instructions import instruction_text

    class Seen:
        def __init__(self, y):
            self.position_base = (0.3, y, 0.06)

    class State:
        def get(self, name):
            return {"red can": Seen(-0.4), "box": Seen(0.2)}.get(name)

    # the scripted search turns towards the side it last saw the object on: the network is told
    assert instruction_text("search", {"object": "red can"}, State()) == \
        "look around for the red can, last seen on your right"
    assert instruction_text("search", {"object": "box"}, State()) == "look around for the box, last seen on your left"
    assert instruction_text("search", {"object": "bin"}, State()) == "look around for the bin"
    assert instruction_text("grasp", {"object": "red can"}, State()) == "grasp the red can"


def test_a_learner_stopping_where_the_expert_would_go_on_is_overridden():
    class Quitter(Learner):
        def act(self, state, o):
            return PolicyStep(Action((0.0, 0.0, 0.0), None, None), done=True)

    rec = DaggerRecorder(Quitter(), Expert(), RobotConfig())
    rec.reset({"object": "red can"}, None, obs(0.0))
    sent = [rec.act(None, obs(0.05 * (i + 1))) for i in range(4)]
    # ticks 1-3: the expert would go on, so the call goes on (and the labels say "not done");
    # tick 4: the expert would stop too, so the learner's stop ends the call
    assert [s.done for s in sent] == [False, False, False, True]
    assert rec.run.stops_overridden == 3 and rec.run.done == [False, False, False, True]


def test_handover_lets_the_expert_drive_after_a_too_early_stop():
    class StopsAtTwo(Learner):
        def act(self, state, o):
            self.ticks += 1
            return PolicyStep(Action((0.1, 0.0, 0.0), None, None), done=self.ticks >= 2)

    rec = DaggerRecorder(StopsAtTwo(), Expert(), RobotConfig(), early_stop="handover")
    rec.reset({"object": "red can"}, None, obs(0.0))
    sent = [rec.act(None, obs(0.05 * (i + 1))) for i in range(4)]
    # tick 1: the learner drives; tick 2: it stops too early, so the expert's command goes out from there
    # on (HG-DAgger) and the call ends where the expert stops (tick 4), not the learner
    assert [s.action.base_velocity for s in sent[:3]] == [(0.1, 0.0, 0.0), (0.0, 0.1, 0.0), (0.0, 0.1, 0.0)]
    assert [s.done for s in sent] == [False, False, False, True]
    assert rec.run.handover_tick == 1 and rec.run.expert_ticks == 3 and rec.run.stops_overridden == 1
    assert rec.run.done == [False, False, False, True]
    with pytest.raises(UsageError, match="unknown early-stop rule 'never'"):
        DaggerRecorder(StopsAtTwo(), Expert(), RobotConfig(), early_stop="never")


def test_position_over_expert_carries_again_when_the_base_left_the_spot():
    """The expert labels position_over for DAgger: its 'lower' phase must not say done once another
    policy has driven the base away from where the can was lowered."""
    from robomatrix.skills.policies.place import PositionOverPolicy

    def at(x):
        o = obs(1.0)
        o.base_pose = np.array([x, 0.0, 0.0])
        o.gripper_opening = 0.4  # stopped on the can: held
        return o

    expert = PositionOverPolicy()
    expert.skill, expert.args, expert.phase, expert.phase_start_s = "position_over", {}, "lower", 0.9
    expert.name, expert.target, expert.hold_since_s = "red can", "bin", None
    expert.lower_at, expert.drop_x, expert.carry_z, expert.release_z = np.array([0.0, 0.0]), 0.38, 0.30, 0.22
    action, nxt, message = expert.phase_lower(None, at(0.01))  # still at the spot: lowering
    assert nxt is None and action.arm_target == (0.38, 0.22)
    action, nxt, message = expert.phase_lower(None, at(0.10))
    assert nxt == "carry" and action.arm_target == (0.38, 0.30) and "left the spot" in message
    assert expert.labels_any_state


def test_release_expert_labels_a_learner_that_pulls_back_too_soon():
    """The release expert can label a learner's states (DAgger): while the gripper is still opening it
    says "hold where the release started", wherever the learner has pulled the arm to; once the gripper
    has been open for 0.3 s, "retract"."""
    import dataclasses

    from robomatrix.skills.policies.base import PREGRASP_X_M
    from robomatrix.skills.policies.manipulation import ReleasePolicy

    class PullsBack(Learner):
        skill = "release"

        def act(self, state, o):
            return PolicyStep(Action((0.0, 0.0, 0.0), (0.2, 0.09), 1.0), done=False)

    def at(t, x, opening):
        return dataclasses.replace(obs(t), base_pose=np.zeros(3), ee_position=np.array([x, 0.09]),
                                   gripper_opening=opening)

    expert = ReleasePolicy()
    assert expert.labels_any_state
    rec = DaggerRecorder(PullsBack(), expert, RobotConfig())
    rec.reset({"object": "red can"}, None, at(0.0, 0.40, 0.65))
    assert expert.phase == "open"  # held at grasp height: no set-down first
    # the learner pulls the arm back while the fingers open; the labels hold it where it started
    for k, (x, opening) in enumerate([(0.40, 0.65), (0.37, 0.66), (0.33, 0.76), (0.30, 0.96), (0.27, 1.0)]):
        rec.act(None, at(0.05 * k, x, opening))
    assert np.allclose(np.array(rec.run.action)[:, 3:], [[0.40, 0.09, 1.0]] * 5)
    for k in range(5, 12):  # open for more than 0.3 s: now pull back
        rec.act(None, at(0.05 * k, 0.25, 1.0))
    assert expert.phase == "retract" and np.allclose(rec.run.action[-1][3:], [PREGRASP_X_M, 0.09, 1.0])
    assert not any(rec.run.done)


def test_push_expert_labels_the_learners_push_states():
    """The push expert labels any state (DAgger for push): its phase follows from where perception has the
    can and where the arm is, not from its own earlier commands. The states are the two ways the learned
    push failed on the 40-push bench (checkpoints/README "After ck_approach")."""
    import dataclasses

    from robomatrix.perception import PerceptionState, TrackedObject
    from robomatrix.skills.policies.base import PREGRASP_X_M, TRAVEL_Z_M
    from robomatrix.skills.policies.motion import PUSH_M, PUSH_Z_M, PushPolicy, push_setup

    def state(can_odom, base_x, in_view=True):
        p = np.array([can_odom[0] - base_x, can_odom[1], 0.06])
        can = TrackedObject("red can", "can", np.array([*can_odom, 0.06]), p, None, None, in_view, 0.0, 0.9)
        return PerceptionState(0.0, np.array([base_x, 0.0, 0.0]), {"red can": can})

    def at(t, base_x, arm):
        return dataclasses.replace(obs(t), base_pose=np.array([base_x, 0.0, 0.0]), ee_position=np.array(arm))

    # forward: the open fingers are down behind the can and the base has driven 12 cm; the can is hidden
    # behind the hand and perception remembers it where it stood before the hand reached it
    (cx, _), gx, grip, gap = push_setup("forward")
    expert = PushPolicy()
    assert expert.labels_any_state
    expert.reset({"object": "red can", "direction": "forward"}, state((cx, 0.0), 0.0), at(0.0, 0.0, (0.2, 0.16)))
    step = expert.act(state((cx, 0.0), 0.12, in_view=False), at(1.0, 0.12, (gx, PUSH_Z_M)))
    assert expert.phase == "push" and not step.done and step.action.base_velocity[0] > 0.05
    assert step.action.arm_target == (gx, PUSH_Z_M) and step.action.gripper == grip
    assert expert.pushed == pytest.approx(0.12 - gap, abs=1e-6)  # the can at the contact point
    # pushed far enough: lift the fingers, then done once they are up (the can still hidden)
    done_x = gap + PUSH_M + 0.001
    step = expert.act(state((cx, 0.0), done_x, in_view=False), at(2.0, done_x, (gx, PUSH_Z_M)))
    assert expert.phase == "lift_off" and step.action.arm_target == (gx, TRAVEL_Z_M) and not step.done
    step = expert.act(state((cx, 0.0), done_x, in_view=False), at(2.5, done_x, (gx, TRAVEL_Z_M)))
    assert step.done and step.success is None  # the postcondition decides
    # the same fingers down, but a can seen 5 cm to the side: not in front of them, lift the arm
    expert.reset({"object": "red can", "direction": "forward"}, state((cx, 0.0), 0.0), at(0.0, 0.0, (0.2, 0.16)))
    step = expert.act(state((cx + 0.05, 0.05), 0.05), at(1.0, 0.05, (gx, PUSH_Z_M)))
    assert expert.phase == "raise" and step.action.arm_target == (gx, TRAVEL_Z_M)
    assert step.action.base_velocity == (0.0, 0.0, 0.0)

    # backward: the learner reached out over the can (arm x 0.38, z 0.14) before the base had lined up
    (bx, _), gx, grip, gap = push_setup("backward")
    expert = PushPolicy()
    far = (bx + 0.12, 0.0)
    expert.reset({"object": "red can", "direction": "backward"}, state(far, 0.0), at(0.0, 0.0, (0.2, 0.16)))
    step = expert.act(state(far, 0.0), at(0.5, 0.0, (0.38, 0.14)))
    assert expert.phase == "line_up" and step.action.arm_target == (PREGRASP_X_M, TRAVEL_Z_M)
    assert step.action.base_velocity[0] > 0.02  # drive up to the can with the arm back
    # lined up and still: reach over, then lower beyond the can, then pull it back
    step = expert.act(state(far, 0.12), at(1.0, 0.12, (PREGRASP_X_M, TRAVEL_Z_M)))
    assert expert.phase == "extend" and step.action.arm_target == (gx, TRAVEL_Z_M)
    step = expert.act(state(far, 0.12), at(1.5, 0.12, (gx, TRAVEL_Z_M)))
    assert expert.phase == "lower" and step.action.arm_target == (gx, PUSH_Z_M)
    step = expert.act(state(far, 0.12), at(2.0, 0.12, (gx, PUSH_Z_M)))
    assert expert.phase == "push" and step.action.base_velocity[0] < -0.05
    # coming down (z 0.14), the perceived can 1 cm off the line-up (past its 6 mm, inside the 15 mm pocket):
    # go on down, not back up; 2.5 cm off (out of the pocket): back to travel height to line up again
    for off, phase, z in ((0.01, "lower", PUSH_Z_M), (0.025, "line_up", TRAVEL_Z_M)):
        expert = PushPolicy()
        expert.reset({"object": "red can", "direction": "backward"}, state(far, 0.0), at(0.0, 0.0, (0.2, 0.16)))
        step = expert.act(state((far[0], off), 0.12), at(1.0, 0.12, (gx, TRAVEL_Z_M - 0.02)))
        assert expert.phase == phase and step.action.arm_target[1] == z
