"""Bad input on every planner path: an instruction that cannot be grounded is refused, the message says
why (unknown object, unsupported action) and what is possible (what is in the scene, what the robot can do)."""
import pytest

from robomatrix.planners.base import PlanningError, SceneObjects, UnknownObjectError, make_planner
from robomatrix.planners.server import BackgroundServer, create_app

SCENE = SceneObjects.from_names(["red can", "green can", "box"], hidden=["bin"])
UNKNOWN_OBJECT = [("put the banana in the box", "banana"), ("put the purple can in the box", "purple can")]
UNSUPPORTED = ["juggle the red can", "dance", "paint the green can"]


@pytest.fixture(scope="module")
def hf():
    return make_planner("hf")


@pytest.fixture(scope="module")
def served_hf(hf):
    with BackgroundServer(create_app(hf)) as url:
        yield make_planner("openai", base_url=url)


@pytest.fixture(scope="module")
def planners(hf, served_hf):
    from robomatrix.planners.tree import TreePlanner

    return {"rule": make_planner("rule"), "hf": hf, "tree": TreePlanner(sampler=hf, k=3), "openai": served_hf}


@pytest.mark.parametrize("name", ["rule", "hf", "tree", "openai"])
def test_unknown_objects_are_refused_naming_them_and_what_is_there(planners, name):
    planner = planners[name]
    for text, phrase in UNKNOWN_OBJECT:
        with pytest.raises(UnknownObjectError) as err:
            planner.plan(text, SCENE)
        message = str(err.value)
        assert phrase in message and "I can see: red can, green can, box (not in view: bin)" in message, message
        assert "\n" not in message
    no_red = SceneObjects.from_names(["green can", "box"])  # "the coke" is a red can
    with pytest.raises(UnknownObjectError, match="I can see: green can, box"):
        planner.plan("pick up the coke", no_red)


@pytest.mark.parametrize("name", ["rule", "hf", "tree", "openai"])
def test_unsupported_actions_are_refused_with_what_the_robot_can_do(planners, name):
    planner = planners[name]
    for text in UNSUPPORTED:
        with pytest.raises(PlanningError) as err:
            planner.plan(text, SCENE)
        message = str(err.value)
        assert "no skill does that" in message and "I can: search(object)" in message, (text, message)
        assert "position_over(object, target)" in message


def test_hf_says_when_the_grounding_check_refused(hf):
    with pytest.raises(PlanningError):
        hf.plan("juggle the red can", SCENE)  # "juggle": a word the model never saw
    assert hf.last_decided_by == "grounding"
    hf.plan("put the red can in the box", SCENE)
    assert hf.last_decided_by == "model"
