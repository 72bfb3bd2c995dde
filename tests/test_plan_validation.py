"""Plans are checked against the skill registry, the scene and the order skills need."""
import pytest

from robomatrix.errors import UsageError
from robomatrix.messages import Plan, SkillCall
from robomatrix.planners.base import PlanValidationError, SceneObjects
from robomatrix.planners.validate import validate_plan

SCENE = SceneObjects.from_names(["red can", "green can", "box", "bin", "drawer"], hidden=["blue can"])


def plan(*steps):
    return Plan(instruction="test", steps=[SkillCall(s, a) for s, a in steps], planner="test")


PICK_PLACE = [("move_to", {"object": "red can"}), ("grasp", {"object": "red can"}), ("lift", {"object": "red can"}),
              ("position_over", {"object": "red can", "target": "box"}), ("release", {"object": "red can"})]


def test_a_sound_pick_and_place_passes():
    validate_plan(plan(*PICK_PLACE), SCENE)


def test_a_sound_drawer_task_with_search_passes():
    validate_plan(plan(("open_drawer", {}), ("search", {"object": "blue can"}), ("move_to", {"object": "blue can"}),
                       ("grasp", {"object": "blue can"}), ("lift", {"object": "blue can"}),
                       ("position_over", {"object": "blue can", "target": "drawer"}),
                       ("release", {"object": "blue can"}), ("close_drawer", {}),
                       ("push", {"object": "box", "direction": "left"}), ("nudge", {"direction": "up"})), SCENE)


def test_plans_as_plain_dicts_validate_too():
    validate_plan({"steps": [{"skill": s, "args": a} for s, a in PICK_PLACE]}, SCENE)


@pytest.mark.parametrize("steps, scene_facts, reason", [
    ([("graps", {"object": "red can"})], {}, r"Step 1: Unknown skill 'graps'\. Did you mean 'grasp'\?"),
    ([("grasp", {})], {}, r"Step 1: grasp\(object\) is missing its 'object' argument"),
    ([("push", {"object": "box", "direction": "up"})], {}, r"Step 1: Unknown direction"),
    ([("move_to", {"object": "purple can"})], {}, r"Step 1, move_to\(purple can\): there is no purple can in the scene"),
    ([("grasp", {"object": "box"})], {}, r"Step 1, grasp\(box\): the box cannot be carried"),
    ([("grasp", {"object": "red can"}), ("position_over", {"object": "red can", "target": "green can"})], {},
     r"Step 2, position_over\(red can, green can\): the green can is not a container"),
    ([("lift", {"object": "red can"})], {}, r"Step 1, lift\(red can\): the red can is not in the gripper; grasp it first"),
    ([("release", {"object": "red can"})], {}, r"not in the gripper; grasp it first"),
    ([("position_over", {"object": "red can", "target": "box"})], {}, r"not in the gripper"),
    ([("grasp", {"object": "red can"}), ("grasp", {"object": "green can"})], {},
     r"Step 2, grasp\(green can\): the gripper already holds the red can; release it first"),
    ([("grasp", {"object": "red can"}), ("grasp", {"object": "red can"})], {}, r"already in the gripper"),
    ([("grasp", {"object": "red can"}), ("release", {"object": "red can"}), ("lift", {"object": "red can"})], {},
     r"Step 3, lift\(red can\): the red can is not in the gripper"),
    ([("move_to", {"object": "blue can"})], {}, r"Step 1, move_to\(blue can\): the blue can is not in view; search for it first"),
    ([("grasp", {"object": "blue can"})], {}, r"not in view; search for it first"),
    ([("open_drawer", {}), ("open_drawer", {})], {}, r"Step 2, open_drawer\(\): the drawer is already open"),
    ([("open_drawer", {})], {"drawer_open": True}, r"the drawer is already open"),
    ([("close_drawer", {})], {"drawer_open": False}, r"the drawer is already closed"),
    ([("grasp", {"object": "red can"}), ("open_drawer", {})], {},
     r"Step 2, open_drawer\(\): the gripper holds the red can; release it before using the drawer handle"),
    ([("grasp", {"object": "red can"}), ("position_over", {"object": "red can", "target": "drawer"})],
     {"drawer_open": False}, r"the drawer is closed; open it first"),
    ([("grasp", {"object": "red can"}), ("push", {"object": "red can", "direction": "left"})], {},
     r"release it before pushing it"),
])
def test_each_broken_rule_gives_a_one_line_reason_naming_the_step(steps, scene_facts, reason):
    scene = SceneObjects.from_names(["red can", "green can", "box", "bin", "drawer"], hidden=["blue can"],
                                    **scene_facts)
    with pytest.raises(PlanValidationError, match=reason) as info:
        validate_plan(plan(*steps), scene)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, UsageError)


def test_drawer_skills_need_a_drawer():
    scene = SceneObjects.from_names(["red can", "box"])
    with pytest.raises(PlanValidationError, match="there is no drawer in the scene"):
        validate_plan(plan(("open_drawer", {})), scene)


def test_state_from_the_scene_counts_an_object_already_held():
    scene = SceneObjects.from_names(["red can", "box"], held="red can")
    validate_plan(plan(("lift", {"object": "red can"}), ("position_over", {"object": "red can", "target": "box"}),
                       ("release", {"object": "red can"})), scene)


def test_search_then_move_to_makes_a_hidden_object_usable():
    validate_plan(plan(("search", {"object": "blue can"}), ("move_to", {"object": "blue can"})), SCENE)
