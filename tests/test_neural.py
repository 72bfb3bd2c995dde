"""The neural skill policy: config, network shapes, checkpoints and their errors, execution in MuJoCo."""
import json
import math
import re

import numpy as np
import pytest
import torch

from robomatrix.errors import UsageError
from robomatrix.skills.neural.checkpoint import load_checkpoint, save_checkpoint
from robomatrix.skills.neural.config import NeuralPolicyConfig, ensemble_decay_for, neural_config
from robomatrix.skills.neural.model import SkillPolicyNet
from robomatrix.skills.neural.policy import NeuralSkillPolicy, TemporalEnsembler, set_checkpoint
from robomatrix.skills.registry import POLICY_KINDS, make_policy, skills_without_policy
from robomatrix.skills.trace import shadowed


def tiny_model(seed=0) -> SkillPolicyNet:
    torch.manual_seed(seed)
    model = SkillPolicyNet.from_config(neural_config("tiny"))
    model.set_normalisation({"proprio_mean": [0.1] * 10, "proprio_std": [2.0] * 10,
                             "action_mean": [0.0, 0.0, 0.0, 0.3, 0.15, 0.5], "action_std": [0.2] * 6})
    return model.eval()


def inputs(batch=2, size=32, seed=1):
    g = torch.Generator().manual_seed(seed)
    return (torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8, generator=g),
            torch.randn(batch, 10, generator=g), torch.randn(batch, 384, generator=g))


def test_config_validation_names_the_field():
    with pytest.raises(UsageError, match="chunk_size"):
        NeuralPolicyConfig(chunk_size=0)
    with pytest.raises(UsageError, match="groups"):
        NeuralPolicyConfig(channels=(16, 30), groups=8)
    with pytest.raises(UsageError, match="image_size"):
        NeuralPolicyConfig(image_size=60)
    with pytest.raises(UsageError, match="proprio_inputs"):
        NeuralPolicyConfig(proprio_inputs=("ee_x_m", "joint_7"))
    with pytest.raises(UsageError, match="tiny"):
        neural_config("tinny")
    assert neural_config("default", chunk_size=5).chunk_size == 5
    with pytest.raises(UsageError, match="ensemble_decay_by_skill\\['push'\\]"):
        NeuralPolicyConfig(ensemble_decay_by_skill={"push": -1.0})
    cfg = NeuralPolicyConfig(ensemble_decay=0.3, ensemble_decay_by_skill={"push": 1.0})
    assert ensemble_decay_for(cfg, "push") == 1.0 and ensemble_decay_for(cfg, "grasp") == 0.3


def test_forward_shapes_and_no_nan():
    model = tiny_model()
    actions, done = model(*inputs())
    assert actions.shape == (2, 4, 6) and done.shape == (2,)
    assert torch.isfinite(actions).all() and torch.isfinite(done).all()
    default = SkillPolicyNet(neural_config())
    a, d = default(*inputs(batch=1, size=64))
    assert a.shape == (1, 10, 6) and d.shape == (1,)
    raw = model.unnormalise_actions(model.normalise_actions(torch.ones(3, 6)))
    assert torch.allclose(raw, torch.ones(3, 6), atol=1e-6)


def test_save_load_identical_outputs(tmp_path):
    model = tiny_model()
    save_checkpoint(tmp_path / "ck", model, {"skills": ["nudge"]})
    loaded, doc = load_checkpoint(tmp_path / "ck")
    assert doc["skills"] == ["nudge"] and doc["instruction_model"].endswith("all-MiniLM-L6-v2")
    assert doc["normalisation"]["action_mean"][3] == pytest.approx(0.3)
    x = inputs()
    with torch.no_grad():
        a1, d1 = model(*x)
        a2, d2 = loaded(*x)
    assert torch.equal(a1, a2) and torch.equal(d1, d2)


def test_bad_checkpoints_get_one_line_errors(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        load_checkpoint(tmp_path / "missing")
    folder = save_checkpoint(tmp_path / "ck", tiny_model())
    weights = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(weights[:100])
    with pytest.raises(UsageError, match="corrupted") as err:
        load_checkpoint(folder)
    assert "\n" not in str(err.value)
    (folder / "model.safetensors").write_bytes(weights)
    doc = json.loads((folder / "config.json").read_text())
    doc["config"]["hidden_dim"] = 48  # weights from another architecture
    (folder / "config.json").write_text(json.dumps(doc))
    with pytest.raises(UsageError, match="different models"):
        load_checkpoint(folder)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(UsageError, match="not valid JSON"):
        load_checkpoint(folder)
    (folder / "config.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(UsageError, match="not a RoboMatrix"):
        load_checkpoint(folder)


def test_checkpoint_from_before_instruction_standardisation_loads(tmp_path):
    from safetensors.torch import load_file, save_file

    model = tiny_model()
    folder = save_checkpoint(tmp_path / "ck", model, {"skills": ["grasp"]})
    state = load_file(str(folder / "model.safetensors"))
    save_file({k: v for k, v in state.items() if not k.startswith("instruction_")}, str(folder / "model.safetensors"))
    loaded, _ = load_checkpoint(folder)
    assert torch.equal(loaded.instruction_mean, torch.zeros(384)) and torch.equal(loaded.instruction_std, torch.ones(384))
    image, proprio, text = inputs()
    with torch.no_grad():
        assert torch.allclose(loaded(image, proprio, text)[0], model(image, proprio, text)[0])
    from robomatrix.skills.data.format import PROPRIO_NAMES
    from robomatrix.skills.neural.checkpoint import config_from_dict

    old = {k: v for k, v in json.loads((folder / "config.json").read_text())["config"].items() if k != "proprio_inputs"}
    assert config_from_dict(old, "old config.json").proprio_inputs == PROPRIO_NAMES  # before the field: every value


def test_per_skill_ensemble_decay_survives_a_checkpoint_and_reaches_the_policy(tmp_path):
    torch.manual_seed(0)
    model = SkillPolicyNet.from_config(neural_config("tiny", ensemble_decay_by_skill={"nudge": 2.0}))
    folder = save_checkpoint(tmp_path / "ck", model, {"skills": ["nudge", "grasp"]})
    loaded, _ = load_checkpoint(folder)
    assert loaded.config == model.config and loaded.config.ensemble_decay_by_skill == {"nudge": 2.0}
    from robomatrix.hardware.robot import make_robot

    set_checkpoint(folder)
    try:
        with make_robot("mujoco", camera_width=64, camera_height=48) as robot:
            obs = robot.reset("empty", 0)
            for skill, args, decay in (("nudge", {"direction": "up", "amount": 0.03}, 2.0),
                                       ("grasp", {"object": "red can"}, loaded.config.ensemble_decay)):
                policy = make_policy("neural", skill)
                policy.reset(args, None, obs)
                assert policy._ensembler.decay == decay
    finally:
        set_checkpoint(None)


def test_temporal_ensembling_weights():
    ens = TemporalEnsembler(chunk_size=3, decay=0.5)
    ens.add(0, np.array([[0.0], [1.0], [2.0]]))
    assert ens.action(0)[0] == pytest.approx(0.0)
    ens.add(1, np.array([[10.0], [11.0], [12.0]]))
    w_old, w_new = math.exp(-0.5), 1.0  # tick 1: the chunk from tick 0 is one step old
    assert ens.action(1)[0] == pytest.approx((w_old * 1.0 + w_new * 10.0) / (w_old + w_new))
    ens.add(3, np.array([[30.0], [31.0], [32.0]]))  # the tick-0 chunk no longer covers tick 3
    assert ens.action(3)[0] == pytest.approx((math.exp(-1.0) * 12.0 + 30.0) / (math.exp(-1.0) + 1.0))


def test_neural_kind_covers_every_skill():
    assert "neural" in POLICY_KINDS
    assert skills_without_policy("neural") == []
    assert isinstance(make_policy("neural", "grasp"), NeuralSkillPolicy)


@pytest.fixture()
def tiny_checkpoint(tmp_path):
    folder = save_checkpoint(tmp_path / "ck", tiny_model(), {"skills": ["nudge"]})
    set_checkpoint(folder)
    yield folder
    set_checkpoint(None)


def test_neural_policy_drives_a_skill_in_mujoco(tiny_checkpoint):
    from robomatrix.hardware.robot import make_robot
    from robomatrix.messages import SkillGoal
    from robomatrix.perception import Perception
    from robomatrix.skills.runner import SkillRunner

    with make_robot("mujoco", camera_width=64, camera_height=48) as robot:
        obs = robot.reset("empty", 0)
        policy = make_policy("neural", "nudge")
        policy.reset({"direction": "left", "amount": 0.05}, None, obs)
        assert policy.instruction == "nudge left by 5 cm"
        for _ in range(5):
            step = policy.act(None, robot.get_state())
            assert len(step.action.base_velocity) == 3 and all(map(math.isfinite, step.action.base_velocity))
            assert 0.0 <= step.action.gripper <= 1.0 and 0.0 <= step.progress <= 1.0
            robot.send_action(step.action)
            robot.advance(0.05)
        runner = SkillRunner(robot, Perception(), policy_kind="neural")
        rows = []  # per-tick trace beside the shadow scripted expert (bench skills --trace)
        runner.policy_wrapper = lambda policy: shadowed(policy, rows)
        z0 = float(robot.get_state().ee_position[1])
        result = runner.run(SkillGoal("nudge", {"direction": "up", "amount": 0.03}, time_limit_s=0.3))
        assert result.skill == "nudge" and result.duration_s > 0  # ran (an untrained net rarely succeeds)
        assert [r["tick"] for r in rows] == list(range(len(rows))) and len(rows) >= 5
        assert rows[0]["camera"] and not rows[1]["camera"]  # a frame every 2nd tick
        assert all(len(r["action"]) == 6 and 0.0 <= r["p_done"] <= 1.0 for r in rows)
        expert = rows[0]["expert"]  # the scripted nudge: base still, gripper 3 cm up from where it started
        assert expert[:3] == [0.0, 0.0, 0.0] and expert[4] == pytest.approx(z0 + 0.03, abs=2e-3)
        assert rows[0]["expert_phase"] == "move" and rows[0]["target"] is None
        assert len(rows[0]["odom"]) == 3 and rows[0]["ee"][1] == pytest.approx(z0, abs=1e-3)
        fallback = make_policy("neural", "lift")  # not in the checkpoint: the scripted policy runs it
        fallback.reset({"object": "red can"}, Perception().update(robot.get_observation()), robot.get_observation())
        assert fallback.fallback is not None
        assert fallback.act(None, robot.get_state()).message.startswith("scripted fallback")


def test_neural_policy_drives_a_drawer_skill(tmp_path):
    from robomatrix.hardware.robot import make_robot
    from robomatrix.perception import Perception

    folder = save_checkpoint(tmp_path / "ck", tiny_model(), {"skills": ["open_drawer", "close_drawer"]})
    set_checkpoint(folder)
    try:
        with make_robot("mujoco", camera_width=64, camera_height=48) as robot:
            obs = robot.reset("drawer", 0)
            state = Perception().update(obs)
            policy = make_policy("neural", "open_drawer")
            policy.reset({}, state, obs)
            assert policy.fallback is None and policy.instruction == "open the drawer"
            for _ in range(4):
                obs = robot.get_observation()
                step = policy.act(state, obs)
                assert all(map(math.isfinite, (*step.action.base_velocity, *step.action.arm_target)))
                robot.send_action(step.action)
                robot.advance(0.05)
            chunk, p_done = policy.predict(robot.get_observation())
            assert chunk.shape == (4, 6) and np.all(np.isfinite(chunk)) and 0.0 <= p_done <= 1.0
            assert policy._tick == 4 and np.all(np.isfinite(robot.get_state().base_pose))
    finally:
        set_checkpoint(None)


def test_bench_skills_trace_writes_each_episode(tiny_checkpoint, tmp_path, capsys):
    from robomatrix.cli.main import main

    trace = tmp_path / "trace.jsonl"
    args = ["bench", "skills", "--policy", "neural", "--skills", "nudge", "--episodes", "1", "--json",
            "--checkpoint", str(tiny_checkpoint)]
    assert main(args + ["--trace", str(trace)]) == 0
    assert json.loads(capsys.readouterr().out)["per_skill"]["nudge"]["n"] == 1
    lines = [json.loads(line) for line in trace.read_text().splitlines()]
    assert len(lines) == 1 and lines[0]["skill"] == "nudge" and lines[0]["seed"] == 1000
    ticks = lines[0]["ticks"]
    assert len(ticks) >= 2 and all(len(t["action"]) == 6 and len(t["expert"]) == 6 for t in ticks)
    assert main(args + ["--trace", str(tmp_path / "no" / "t.jsonl")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_bench_skills_variant_runs_that_variants_scenarios(monkeypatch, capsys):
    """`bench skills --variant office_places`: its three skills by default, each episode set up as that
    variant's scenario (the container rotates box, bin, drawer), the variant named in the JSON."""
    from robomatrix.bench import policy as bench_policy
    from robomatrix.cli.main import main
    from robomatrix.skills.evaluate import scenario

    seen = []

    def fake_run(robot, skill, episode, seed, kind, perception="rgbd", trace=None, goal_stop="auto",
                 variant="standard"):
        sc = scenario(skill, episode, variant)
        seen.append((skill, seed, sc.scene, sc.call.args.get("target"), [c.skill for c in sc.setup]))
        ok = skill != "close_drawer" and not (skill == "position_over" and sc.call.args.get("target") == "bin")
        return {"setup_ok": True, "call": sc.call.to_text(), "success": ok, "postcondition_ok": ok, "oracle_ok": ok,
                "reason": "fake", "ticks": 1, "wall_s": 0.01}

    monkeypatch.setattr(bench_policy, "run_skill_scenario", fake_run)
    assert main(["bench", "skills", "--variant", "office_places", "--episodes", "3", "--seed", "7", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # successes per call: the rotating targets each get their own count
    assert out["per_skill"]["position_over"]["by_call"] == {
        "position_over(object='red can', target='box')": {"successes": 1, "n": 1},
        "position_over(object='red can', target='bin')": {"successes": 0, "n": 1},
        "position_over(object='red can', target='drawer')": {"successes": 1, "n": 1}}
    assert out["per_skill"]["position_over"]["successes"] == 2
    assert out["variant"] == "office_places" and list(out["per_skill"]) == ["position_over", "release", "close_drawer"]
    assert out["per_skill"]["release"]["successes"] == 3 and out["per_skill"]["close_drawer"]["successes"] == 0
    assert [t for s, _, _, t, _ in seen if s == "position_over"] == ["box", "bin", "drawer"]
    assert {scene for _, _, scene, _, _ in seen} == {"office"}
    assert [seed for s, seed, *_ in seen if s == "release"] == [7, 8, 9]
    close_setups = [c for s, _, _, _, c in seen if s == "close_drawer"]
    assert all(c[:2] == ["search", "open_drawer"] and c[-2:] == ["position_over", "release"] for c in close_setups)
    # the table for people: "successes/n" per call where a skill made more than one kind of call
    seen.clear()
    assert main(["bench", "skills", "--variant", "office_places", "--episodes", "3", "--seed", "7"]) == 0
    table = capsys.readouterr().out
    assert re.search(r"^per_skill\.position_over\.by_call\.position_over\(object='red can', target='bin'\) +0/1$",
                     table, re.M)
    assert "failures" not in table


def test_office_drawer_variant_opens_the_drawer_in_the_office():
    from robomatrix.errors import UsageError
    from robomatrix.skills.evaluate import scenario

    sc = scenario("open_drawer", 3, "office_drawer")
    assert sc.scene == "office" and [c.to_text() for c in sc.setup] == ["search(object='drawer')"]
    assert sc.call.skill == "open_drawer"
    with pytest.raises(UsageError, match="covers open_drawer, not close_drawer"):
        scenario("close_drawer", 0, "office_drawer")
    from robomatrix.bench.policy import evaluate_policy_skills

    with pytest.raises(UsageError, match="Unknown scenario variant 'ofice_drawer'"):  # before any simulator starts
        evaluate_policy_skills("scripted", variant="ofice_drawer")


def test_drawer_approach_variant_drives_up_to_the_drawer_and_opens_it_from_there():
    from robomatrix.errors import UsageError
    from robomatrix.skills.evaluate import scenario

    sc = scenario("open_drawer", 3, "drawer_approach")
    assert sc.scene == "office" and [c.to_text() for c in sc.setup] == [
        "search(object='drawer')", "move_to(object='drawer')"] and sc.call.skill == "open_drawer"
    even, odd = scenario("move_to", 2, "drawer_approach"), scenario("move_to", 3, "drawer_approach")
    assert even.call.to_text() == odd.call.to_text() == "move_to(object='drawer')"
    assert [c.to_text() for c in even.setup] == ["search(object='drawer')"]
    assert [c.to_text() for c in odd.setup] == ["search(object='drawer')", "search(object='green can')"]
    with pytest.raises(UsageError, match="covers move_to, open_drawer, not close_drawer"):
        scenario("close_drawer", 0, "drawer_approach")


def test_drawer_oblique_variant_comes_to_the_drawer_from_beside_a_can():
    from robomatrix.errors import UsageError
    from robomatrix.skills.evaluate import scenario

    side = ["search(object='red can')", "move_to(object='red can')", "move_to(object='drawer')"]
    first = scenario("open_drawer", 0, "drawer_oblique")
    assert first.scene == "office" and first.call.to_text() == "open_drawer()"
    assert [c.to_text() for c in first.setup] == ["search(object='drawer')", *side]
    stepped = scenario("open_drawer", 4, "drawer_oblique")  # the second round of four: also a step to a side
    assert [c.to_text() for c in stepped.setup][-1] == "nudge(direction='left', amount=0.06)"
    assert [c.to_text() for c in scenario("open_drawer", 12, "drawer_oblique").setup][-1] == \
        "nudge(direction='right', amount=0.06)"
    closing = scenario("close_drawer", 1, "drawer_oblique")
    assert [c.to_text() for c in closing.setup][:3] == ["search(object='drawer')", "move_to(object='drawer')",
                                                        "open_drawer()"]
    assert "move_to(object='green can')" in [c.to_text() for c in closing.setup]
    with pytest.raises(UsageError, match="covers open_drawer, close_drawer, not move_to"):
        scenario("move_to", 0, "drawer_oblique")


def test_at_the_drawer_oracle_wants_the_handle_straight_ahead_at_reach():
    import math
    from types import SimpleNamespace

    from robomatrix.sim.scenes import split_scene
    from robomatrix.skills.evaluate import scenario

    cab = split_scene("office", 5).cabinet
    hx, hy, _ = cab.handle_position(0.0)
    facing = cab.pose[2] + math.pi  # the robot looks at the drawer front

    def robot_at(ahead, side, turn):
        yaw = facing + turn
        x = hx - ahead * math.cos(yaw) + side * math.sin(yaw)
        y = hy - ahead * math.sin(yaw) - side * math.cos(yaw)
        return SimpleNamespace(scene=SimpleNamespace(cabinet=cab), oracle_drawer_opening=lambda: 0.0,
                               get_state=lambda: SimpleNamespace(base_pose=(x, y, yaw)))

    check = scenario("move_to", 0, "drawer_approach").oracle_check
    assert check(robot_at(0.45, 0.0, 0.0), None)[0]
    assert check(robot_at(0.47, 0.02, 0.1), None)[0]
    assert not check(robot_at(0.60, 0.0, 0.0), None)[0]  # stopped short
    assert not check(robot_at(0.30, 0.0, 0.0), None)[0]  # drove in too far
    ok, why = check(robot_at(0.45, 0.10, 0.0), None)
    assert not ok and "oracle" in why


def test_bench_policy_latency_only(tmp_path, capsys):
    from robomatrix.cli.main import main

    ck = save_checkpoint(tmp_path / "ck", tiny_model(), {"skills": ["grasp"]})
    try:
        assert main(["bench", "policy", "--checkpoint", str(ck), "--n", "10", "--closed-loop-episodes", "0",
                     "--json"]) == 0
    finally:
        set_checkpoint(None)
    out = json.loads(capsys.readouterr().out)
    cpu = out["latency"]["cpu"]
    assert out["closed_loop"] is None and cpu["n"] == 10 and 0 < cpu["p50_ms"] <= cpu["p99_ms"]
    assert out["targets"]["cpu_p50_met"] == (cpu["p50_ms"] <= 10.0)
    assert main(["bench", "policy", "--closed-loop-episodes", "-1"]) == 2
    assert "--closed-loop-episodes" in capsys.readouterr().err
