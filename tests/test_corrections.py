"""Language corrections: the interpreter at every level, the handler's edits and questions, motion offsets
reaching a running skill, the memory's round trip and what it teaches, and one simulated task whose
outcome a correction changes."""
from __future__ import annotations

import json

import numpy as np
import pytest

from robomatrix.corrections.handler import CorrectionHandler
from robomatrix.corrections.interpret import CorrectionContext, interpret
from robomatrix.corrections.memory import CorrectionMemory, CorrectionRecord, MemoryPlanner
from robomatrix.hardware.robot import Action, CameraIntrinsics, Observation
from robomatrix.messages import ExecutiveStatus, Plan, SkillCall
from robomatrix.planners.base import AmbiguousReferenceError, SceneObjects, make_planner
from robomatrix.skills.runner import MotionOffset, RunnerConfig, SkillRunner

NAMES = ["red can", "green can", "blue can", "yellow can", "box", "bin", "drawer"]


def scene(held=None, drawer_open=False):
    return SceneObjects.from_names(NAMES, held=held, drawer_open=drawer_open)


def rule():
    return make_planner("rule", embeddings="off")


def context(step=1, held=None, instruction="put the red can in the box"):
    s = scene(held)
    plan = rule().plan(instruction, s)
    return CorrectionContext(s, plan, step, instruction)


# ------------------------------------------------------------------ the interpreter
@pytest.mark.parametrize("text, level, check", [
    ("a bit to the left", "motion", lambda u: u.offset == MotionOffset(base_dy_m=0.03)),
    ("higher", "motion", lambda u: u.offset.arm_dz_m == pytest.approx(0.03)),
    ("lower", "motion", lambda u: u.offset.arm_dz_m == pytest.approx(-0.03)),
    ("forward 5 cm", "motion", lambda u: u.offset.base_dx_m == pytest.approx(0.05)),
    ("move 2cm right", "motion", lambda u: u.offset.base_dy_m == pytest.approx(-0.02)),
    ("slower", "motion", lambda u: u.offset.speed_scale == 0.5 and u.offset.base_dx_m == 0.0),
    ("slow down", "motion", lambda u: u.offset == MotionOffset(speed_scale=0.5)),
    ("no, the blue one", "skill", lambda u: u.substitute == {"red can": "blue can"}
     and u.instruction == "put the blue can in the box"),
    ("I meant the green can", "skill", lambda u: u.substitute == {"red can": "green can"}),
    ("grasp it lower", "skill", lambda u: u.skill_offset[:2] == ("grasp", "can")
     and u.skill_offset[2].arm_dz_m == pytest.approx(-0.03)),
    ("put it in the drawer instead", "plan", lambda u: u.edit == "replace" and u.substitute == {"box": "drawer"}
     and u.instruction == "put the red can in the drawer"),
    ("no, in the bin", "plan", lambda u: u.instruction == "put the red can in the bin"),
    ("open the drawer first", "plan", lambda u: u.edit == "replace" and u.where == "before"
     and u.instruction == "open the drawer"),
    ("then close the drawer", "plan", lambda u: u.where == "after" and u.instruction == "close the drawer"),
    ("skip that", "plan", lambda u: u.edit == "skip" and "grasp" in u.summary),
    ("stop", "plan", lambda u: u.edit == "pause"),
    ("Resume!", "plan", lambda u: u.edit == "resume"),
    ("cancel the task", "plan", lambda u: u.edit == "cancel"),
    ("try again", "plan", lambda u: u.edit == "replan"),
    ("the trash is the bin", "preference", lambda u: u.alias == {"trash": "bin"}),
    ("make me a sandwich", "question", lambda u: "did not understand" in u.question and u.offset is None
     and not u.edit),
    ("no, the purple one", "question", lambda u: u.question and not u.edit),
    ("put it in the purple box instead", "question", lambda u: "no purple box" in u.question and not u.edit),
])
def test_interpreter_understands_each_kind_of_correction(text, level, check):
    u = interpret(text, context())
    assert u.level == level, u.to_dict()
    assert check(u), u.to_dict()


def test_let_go_needs_something_held_and_a_pending_question_takes_an_answer():
    assert interpret("let go", context()).level == "question"
    u = interpret("let go", CorrectionContext(scene(held="red can"), None, -1))
    assert u.level == "skill" and u.release_now
    q = AmbiguousReferenceError("Which can do you mean: red can or blue can?", "can", ["red can", "blue can"])
    assert interpret("the blue one", CorrectionContext(scene(), question=q)).answer == "blue can"
    assert interpret("red", CorrectionContext(scene(), question=q)).answer == "red can"


# ------------------------------------------------------------------ the handler
class FakeExecutive:
    """`current` and `edit` as robomatrix.executive.core.Executive has them."""

    def __init__(self, plan: Plan | None, index: int):
        self.plan, self.index, self.edits = plan, index, []

    @property
    def current(self):
        return self.plan, self.index

    def edit(self, edit):
        self.edits.append(edit)


def handler_for(instruction="put the red can in the box", index=1, held=None, memory=None):
    s = scene(held)
    exe = FakeExecutive(rule().plan(instruction, s), index)
    statuses, adjusts = [], []
    h = CorrectionHandler(exe, rule(), lambda: s, adjust=lambda o: adjusts.append(o) or "grasp(object='red can')",
                          memory=memory, on_status=statuses.append)
    h.start_task(instruction)
    return h, exe, statuses, adjusts


def test_handler_edits_the_plan_and_announces_what_it_understood():
    h, exe, statuses, adjusts = handler_for()
    h.handle("put it in the drawer instead")
    (edit,) = exe.edits
    assert edit.kind == "replace" and "drawer" in edit.reason
    skills = [(c.skill, c.args.get("target")) for c in edit.steps]
    assert ("open_drawer", None) in skills and ("position_over", "drawer") in skills
    assert statuses[-1].correction == "put it in the drawer instead" and statuses[-1].correction_level == "plan"
    assert statuses[-1].message.startswith("Understood (plan)")
    ExecutiveStatus.from_json(statuses[-1].to_json())  # the new fields travel on the wire
    h.handle("no, the blue one")
    assert {c.args.get("object") for c in exe.edits[-1].steps} == {"blue can"}
    h.handle("stop")
    h.handle("skip that")
    assert [e.kind for e in exe.edits[-2:]] == ["pause", "skip"]
    h.handle("a bit to the left")
    assert adjusts == [MotionOffset(base_dy_m=0.03)] and statuses[-1].correction_level == "motion"


def test_not_understood_asks_back_and_nothing_moves():
    h, exe, statuses, adjusts = handler_for()
    u = h.handle("wibble the flange")
    assert u.level == "question" and not exe.edits and not adjusts
    assert statuses[-1].correction_level == "question" and statuses[-1].message.startswith("Question:")
    assert h.memory.records()[-1].level == "question" and h.memory.records()[-1].rules == []


def test_let_go_releases_now_and_drops_the_steps_that_needed_the_held_can():
    h, exe, _, _ = handler_for(index=3, held="red can")
    h.handle("let go")
    assert [c.skill for c in exe.edits[-1].steps] == ["release"]


# ------------------------------------------------------------------ motion offsets reach a running skill
class KinematicRobot:
    """A lock-step robot without physics: the base integrates its velocity, the arm jumps to its target."""

    def __init__(self):
        self.pose, self.ee, self.t, self.sent = np.zeros(3), np.array([0.2, 0.10]), 0.0, []
        self.intr = CameraIntrinsics(10, 10, 5.0, 5.0, 5.0, 5.0)

    def _obs(self):
        return Observation(None, None, self.intr, np.eye(4), self.pose.copy(), np.zeros(3), self.ee.copy(), 1.0, self.t)

    get_state = get_observation = _obs

    def send_action(self, action: Action):
        self.sent.append(action)
        self.v = np.asarray(action.base_velocity, float)
        if action.arm_target is not None:
            self.ee = np.asarray(action.arm_target, float)
        return action

    def advance(self, dt):
        c, s = np.cos(self.pose[2]), np.sin(self.pose[2])
        vx, vy, wz = getattr(self, "v", np.zeros(3))
        self.pose = self.pose + np.array([c * vx - s * vy, s * vx + c * vy, wz]) * dt
        self.t += dt

    def stop(self):
        self.v = np.zeros(3)


class NoPerception:
    def update(self, obs):
        from robomatrix.perception import PerceptionState

        return PerceptionState(stamp_s=obs.stamp_s, base_pose=obs.base_pose)

    update_proprio = update


@pytest.mark.parametrize("call, offset, where", [
    (SkillCall("nudge", {"direction": "up", "amount": 0.05}), MotionOffset(arm_dz_m=0.02), ("ee", 1, 0.17)),
    (SkillCall("nudge", {"direction": "left", "amount": 0.05}), MotionOffset(base_dy_m=0.03), ("pose", 1, 0.08)),
])
def test_a_motion_offset_reaches_the_running_skill_without_aborting_it(call, offset, where):
    robot = KinematicRobot()
    runner = SkillRunner(robot, NoPerception(), config=RunnerConfig(check_postcondition=False))
    applied, said = [], []
    runner.on_adjust_applied = lambda o, running: applied.append((o, running))

    def feedback(fb):  # said while the skill runs, from its own loop
        if not said:
            said.append(runner.adjust(offset))

    result = runner.run(call, on_feedback=feedback)
    assert result.success, result.reason
    assert said == [call.to_text()] and applied == [(offset, call.to_text())]
    attr, i, value = where
    assert getattr(robot, attr)[i] == pytest.approx(value, abs=0.006)
    assert runner.running is None and runner.adjust(MotionOffset(base_dx_m=0.01)) == ""  # waits for the next skill


def test_motion_offset_arithmetic_and_bounds():
    a = MotionOffset(base_dy_m=0.03, speed_scale=0.5) + MotionOffset(base_dy_m=-0.01, arm_dz_m=0.02)
    assert a.base_dy_m == pytest.approx(0.02) and (a.arm_dz_m, a.speed_scale) == (0.02, 0.5)
    assert MotionOffset.from_dict(a.to_dict()) == a
    assert a.apply(Action((0.2, 0.0, 0.4), (0.3, 0.1), 1.0)).arm_target == pytest.approx((0.3, 0.12))
    with pytest.raises(Exception, match="within"):
        MotionOffset(base_dx_m=1.0)


# ------------------------------------------------------------------ the memory
def test_memory_round_trip_and_what_it_teaches_next_time(tmp_path):
    memory = CorrectionMemory(tmp_path)
    frame = np.zeros((24, 32, 3), np.uint8)
    frame[:, :, 0] = 200
    memory.add(CorrectionRecord("put it in the box instead", "plan", "put the red can in the box",
                                instruction="put the red can away", step_index=0,
                                rules=[{"kind": "target", "from": "drawer", "to": "box"}]), frame)
    memory.add(CorrectionRecord("the blue one", "skill", "the blue can", instruction="put the can in the box",
                                rules=[{"kind": "referent", "phrase": "can", "object": "blue can"}]))
    memory.add(CorrectionRecord("grasp cans lower", "skill", "grasp cans lower",
                                rules=[{"kind": "offset", "skill": "grasp", "noun": "can",
                                        "offset": MotionOffset(arm_dz_m=-0.02).to_dict()}]))
    memory.add(CorrectionRecord("the trash is the bin", "preference", "'trash' means the bin",
                                rules=[{"kind": "alias", "phrase": "trash", "object": "bin"}]))
    lines = (tmp_path / "corrections.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    assert len(lines) == 4 and first["frame"] == f"frames/{first['id']}.png"
    import cv2

    assert cv2.imread(str(tmp_path / first["frame"]))[0, 0, 2] == 200  # RGB stored as a PNG, red kept red

    again = CorrectionMemory(tmp_path)  # a later session
    assert [r.text for r in again.records()] == [r.text for r in memory.records()]
    assert again.offset_for(SkillCall("grasp", {"object": "green can"})) == MotionOffset(arm_dz_m=-0.02)
    assert again.offset_for(SkillCall("grasp", {"object": "box"})) is None
    hits = again.similar("put the green can away", "target")
    assert hits and hits[0][1].instruction == "put the red can away"

    planner = MemoryPlanner(rule(), again)
    s = scene()
    plan = planner.plan("put the green can away", s)  # the rule planner alone: into the drawer
    assert [c.args["target"] for c in plan.steps if c.skill == "position_over"] == ["box"]
    assert not any(c.skill == "open_drawer" for c in plan.steps) and planner.applied
    plan = planner.plan("put the can in the box", s)  # ambiguous alone; meant the blue one last time
    assert plan.steps[0].args["object"] == "blue can"
    plan = planner.plan("put the red can in the trash", s)
    assert plan.steps[-2].args["target"] == "bin"
    with pytest.raises(AmbiguousReferenceError):
        MemoryPlanner(rule(), CorrectionMemory(None)).plan("put the can in the box", s)


def test_plan_changing_corrections_become_planner_training_pairs(tmp_path):
    from robomatrix.corrections.training import correction_pairs

    memory = CorrectionMemory(tmp_path)
    s = scene().to_dict()
    memory.add(CorrectionRecord("put it in the box instead", "plan", "box", instruction="put the red can away", scene=s,
                                rules=[{"kind": "target", "from": "drawer", "to": "box"}]))
    memory.add(CorrectionRecord("lower", "motion", "lower", instruction="pick up the red can", scene=s,
                                rules=[{"kind": "offset", "skill": "grasp", "noun": "can",
                                        "offset": {"arm_dz_m": -0.02}}]))
    pairs = correction_pairs(str(tmp_path), repeat=3)
    assert len(pairs) == 3 and {p.instruction for p in pairs} == {"put the red can away"}
    assert [c.args.get("target") for c in pairs[0].steps if c.skill == "position_over"] == ["box"]


def test_corrections_are_stored_with_their_context_and_frame(tmp_path):
    memory = CorrectionMemory(tmp_path)
    h, _, _, _ = handler_for(memory=memory)
    h.frame = lambda: np.full((8, 8, 3), 90, np.uint8)
    h.handle("put it in the bin instead")
    (record,) = CorrectionMemory(tmp_path).records()
    assert record.instruction == "put the red can in the box" and record.step_index == 1
    assert record.plan[1] == {"skill": "grasp", "args": {"object": "red can"}}
    assert record.rules == [{"kind": "target", "from": "box", "to": "bin"}]
    assert (tmp_path / record.frame).exists() and record.scene["objects"]


# ------------------------------------------------------------------ in simulation
def test_a_live_correction_changes_the_outcome_of_a_grasp_that_an_offset_error_spoils():
    """An injected 4 cm grasp offset (a miscalibrated gripper) makes the grasp miss; "a bit to the
    right", said from another thread while the grasp runs (as the console does), fixes it; the
    memory then fixes the next task unasked."""
    import threading
    import time

    from robomatrix.executive import ExecutiveConfig
    from robomatrix.run import Hooks, RunConfig, SimSession

    heard, outcomes, sessions = [], [], []
    live = threading.Event()
    fault = MotionOffset(base_dy_m=0.04)  # INJECTED FAULT, not a correction
    cfg = RunConfig(camera_width=160, camera_height=120, time_limit_s=40.0,
                    executive=ExecutiveConfig(max_retries_per_step=0, max_replans=0, max_backtracks=0))

    def robot_side():  # the renderer belongs to the thread that made the session: it runs everything
        with SimSession(cfg, Hooks(on_status=lambda s: heard.append(s) if s.correction else None)) as session:
            sessions.append(session)
            for episode in range(3):
                session.reset(seed=3)
                session.runner.offset_sources.insert(0, lambda call: fault if call.skill == "grasp" else None)
                if episode == 1:
                    live.set()
                outcomes.append(session.run("grasp the red can").success)
                live.clear()

    worker = threading.Thread(target=robot_side)
    worker.start()
    deadline = time.monotonic() + 120
    while not live.is_set() and worker.is_alive() and time.monotonic() < deadline:
        time.sleep(0.002)
    session = sessions[0]
    while worker.is_alive() and not (session.runner.running or "").startswith("grasp(") and time.monotonic() < deadline:
        time.sleep(0.002)
    session.correct("a bit to the right")  # the person, on another thread while run() executes
    worker.join(120)
    assert outcomes == [False, True, True]
    assert [(s.correction, s.correction_level) for s in heard] == [("a bit to the right", "motion")]
    assert "grasp(object='red can')" in heard[0].message
    assert session.corrections.handler.latencies_ms and session.corrections.handler.latencies_ms[0] < 1000


def test_two_motion_corrections_are_remembered_as_their_sum():
    """What memory keeps is the running skill's whole live offset (the runner's), not only the last words."""
    s = scene(None)
    instruction = "put the red can in the box"
    exe = FakeExecutive(rule().plan(instruction, s), 1)  # step 2: grasp(red can)
    live = MotionOffset()

    def adjust(offset):
        nonlocal live
        live = live + offset
        return "grasp(object='red can')"

    # as in one process: nothing remembered was applied when the grasp started
    h = CorrectionHandler(exe, rule(), lambda: s, adjust=adjust, live_offset=lambda: live,
                          remembered=lambda call: None)
    h.start_task(instruction)
    h.handle("a bit to the left")
    h.handle("a bit to the left")
    (rule_,) = [r for r in h.memory.records()[-1].rules if r["kind"] == "offset"]
    assert rule_["skill"] == "grasp" and MotionOffset.from_dict(rule_["offset"]) == MotionOffset(base_dy_m=0.06)
