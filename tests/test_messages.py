"""The stack's own JSON messages: round trips, validation, and malformed messages dropped by nodes."""
import json

import pytest

from robomatrix import comm
from robomatrix.messages import (
    MESSAGE_CLASSES,
    Correction,
    Detection,
    Detections,
    ExecutiveStatus,
    MessageError,
    Plan,
    SkillCall,
    SkillFeedback,
    SkillGoal,
    SkillResult,
    Task,
)
from robomatrix.msgs import String

EXAMPLES = [
    Task("put the red can in the box", stamp=1.5),
    SkillCall("grasp", {"object": "red_can"}),
    Plan("put the red can in the box",
         [SkillCall("move_to", {"object": "red_can"}), SkillCall("grasp", {"object": "red_can"})], planner="rule"),
    SkillGoal("grasp", {"object": "red_can"}, time_limit_s=20),
    SkillFeedback("g1", "grasp", progress=0.5, elapsed_s=1.25, message="closing"),
    SkillResult("g1", "grasp", success=False, reason="object slipped", duration_s=3.0),
    Detection("red_can", [10, 20, 30, 40], [0.5, 0.0, 0.05], 0.9),
    Detections(2.0, [Detection("red_can", [10, 20, 30, 40]), Detection("box", [0, 0, 5, 5], None, 0.4)]),
    Correction("a bit to the left", stamp=3.0),
    ExecutiveStatus("executing", step_index=1, step_count=3, plan_id="p1", skill="grasp"),
]


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda m: type(m).__name__)
def test_round_trip_through_json_and_string(message):
    cls = type(message)
    assert cls.from_json(message.to_json()) == message
    msg = message.to_msg()
    assert isinstance(msg, String) and cls.from_msg(msg) == message
    assert cls.from_dict(json.loads(msg.data)) == message


def test_every_message_class_has_an_example():
    assert {type(m).__name__ for m in EXAMPLES} == set(MESSAGE_CLASSES)


def test_ints_widen_to_floats_and_nested_messages_decode():
    plan = Plan.from_json('{"instruction": "x", "steps": [{"skill": "release"}]}')
    assert plan.steps == [SkillCall("release", {})] and plan.id
    det = Detection.from_json('{"name": "can", "box": [1, 2, 3, 4]}')
    assert det.box == [1.0, 2.0, 3.0, 4.0] and isinstance(det.box[0], float)


@pytest.mark.parametrize("cls, text, reason", [
    (Plan, "{not json", "not valid JSON"),
    (Plan, "[1, 2]", "must be a JSON object"),
    (Plan, '{"instruction": "x"}', "missing field(s): steps"),
    (Plan, '{"instruction": "x", "steps": [{"skil": "grasp"}]}', "did you mean 'skill'"),
    (Plan, '{"instruction": "x", "steps": [{"skill": 3}]}', "Plan.steps[0].skill must be str"),
    (Plan, '{"instruction": "x", "steps": "grasp"}', "Plan.steps must be a list"),
    (Task, '{"instruction": "  "}', "Task.instruction must not be empty"),
    (SkillGoal, '{"skill": "grasp", "time_limit_s": 0}', "time_limit_s must be > 0"),
    (SkillFeedback, '{"goal_id": "g", "skill": "s", "progress": 1.5}', "progress must be within 0..1"),
    (SkillFeedback, '{"goal_id": "g", "skill": "s", "progress": NaN}', "must be finite"),
    (SkillResult, '{"goal_id": "g", "skill": "s", "success": "yes"}', "success must be bool"),
    (Detection, '{"name": "a", "box": [1, 2, 3]}', "box must be [x, y, w, h]"),
    (Detection, '{"name": "a", "box": [1, 2, 3, 4], "position_base": [1, 2]}', "position_base must be"),
    (Detection, '{"name": "a", "box": [1, 2, 3, 4], "confidence": true}', "confidence must be a number"),
    (ExecutiveStatus, '{"state": "exploding"}', "state 'exploding' is unknown"),
    (ExecutiveStatus, '{"state": "idle", "step_index": 1.5}', "step_index must be an integer"),
])
def test_malformed_messages_raise_one_line_message_errors(cls, text, reason):
    with pytest.raises(MessageError) as info:
        cls.from_json(text)
    assert reason in str(info.value)
    assert "\n" not in str(info.value)


def test_construction_validates_too():
    with pytest.raises(MessageError, match="SkillCall.args must be an object"):
        SkillCall("grasp", ["red_can"])
    with pytest.raises(MessageError, match="must hold only JSON values"):
        SkillCall("grasp", {"object": object()})


def test_json_subscription_drops_malformed_messages_with_one_warning(capsys):
    with comm.Context() as ctx:
        node = comm.Node("planner_listener", context=ctx)
        plans = []
        node.create_json_subscription(Plan, "/robomatrix/plan", plans.append, 10)
        raw = node.create_publisher(String, "/robomatrix/plan", 10)
        typed = node.create_json_publisher(Plan, "/robomatrix/plan", 10)
        raw.publish(String(data="{broken"))
        raw.publish(String(data='{"instruction": "x", "steps": [{"skill": 3}]}'))
        good = Plan("close the drawer", [SkillCall("close_drawer")])
        typed.publish(good)
        assert comm.spin_until(node, lambda: plans, 2)
        comm.spin_once(node, 0.05)
        with pytest.raises(TypeError):
            typed.publish(Task("not a plan"))
    assert plans == [good]
    warnings = [line for line in capsys.readouterr().err.splitlines() if "Dropped a malformed Plan" in line]
    assert len(warnings) == 2
    assert warnings[0].startswith("[WARN] [planner_listener]: Dropped a malformed Plan on '/robomatrix/plan'")
