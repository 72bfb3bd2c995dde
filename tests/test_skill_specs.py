"""The meta-skill spec registry: the issue's skill set, typed argument checks, attaching parts by name."""
import pytest

from robomatrix.errors import UsageError
from robomatrix.skills import specs
from robomatrix.skills.specs import (
    ArgSpec,
    SkillSpec,
    attach,
    attachment,
    attachments,
    describe_skills,
    register_skill,
    skill_names,
    skill_spec,
    validate_call,
)

EXPECTED = {
    "search": ["object"], "move_to": ["object"], "grasp": ["object"], "lift": ["object"],
    "position_over": ["object", "target"], "release": ["object"], "open_drawer": [], "close_drawer": [],
    "push": ["object", "direction"], "nudge": ["direction", "amount"],
}


@pytest.fixture
def clean_registry(monkeypatch):
    monkeypatch.setattr(specs, "_SKILLS", dict(specs._SKILLS))
    monkeypatch.setattr(specs, "_ATTACHMENTS", {k: dict(v) for k, v in specs._ATTACHMENTS.items()})


def test_the_issue_skill_set_is_registered_with_its_arguments():
    assert set(skill_names()) == set(EXPECTED)
    for name, args in EXPECTED.items():
        assert [a.name for a in skill_spec(name).args] == args


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_spec_has_a_one_line_description_a_time_limit_and_a_postcondition(name):
    spec = skill_spec(name)
    assert spec.description and "\n" not in spec.description
    assert spec.time_limit_s > 0
    assert spec.postcondition.replace("_", "").isalpha()
    assert spec.signature().startswith(f"{name}(")
    assert f"{spec.signature()}: {spec.description}" in describe_skills()


def test_postconditions_name_the_perception_checks():
    assert skill_spec("grasp").postcondition == "object_in_gripper"
    assert skill_spec("open_drawer").postcondition == "drawer_open"
    assert skill_spec("close_drawer").postcondition == "drawer_closed"
    assert skill_spec("move_to").postcondition == "robot_near_object"
    assert skill_spec("position_over").postcondition == "object_above_target"


def test_unknown_skill_suggests_the_closest_name():
    with pytest.raises(UsageError, match=r"Unknown skill 'graps'\. Did you mean 'grasp'\?"):
        skill_spec("graps")


def test_validate_call_fills_defaults_and_returns_typed_args():
    assert validate_call("nudge", {"direction": "left"}) == {"direction": "left", "amount": 0.05}
    assert validate_call("nudge", {"direction": "up", "amount": 0.1}) == {"direction": "up", "amount": 0.1}
    assert validate_call("position_over", {"object": "red can", "target": "box"}) == {
        "object": "red can", "target": "box"}
    assert validate_call("open_drawer", {}) == {}


@pytest.mark.parametrize("skill, args, message", [
    ("grasp", {}, r"grasp\(object\) is missing its 'object' argument"),
    ("grasp", {"objet": "red can"}, r"Did you mean 'object'\?"),
    ("grasp", {"object": ""}, r"must be an object name"),
    ("grasp", {"object": 3}, r"must be an object name"),
    ("push", {"object": "box", "direction": "sideways"}, r"Unknown direction .*'sideways'"),
    ("push", {"object": "box", "direction": "up"}, r"Valid: backward, forward, left, right"),
    ("nudge", {"direction": "left", "amount": 2.0}, r"within 0\.005–0\.3 m, got 2\.0"),
    ("nudge", {"direction": "left", "amount": True}, r"must be a number of metres"),
    ("nudge", {"direction": "left", "amount": float("nan")}, r"must be a number of metres"),
    ("open_drawer", {"object": "drawer"}, r"open_drawer\(\) takes no arguments"),
    ("grasp", ["red can"], r"arguments must be a mapping"),
])
def test_validate_call_rejects_bad_arguments_with_one_clear_line(skill, args, message):
    with pytest.raises(UsageError, match=message) as info:
        validate_call(skill, args)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("make, field", [
    (lambda: ArgSpec("bad name", "object"), "ArgSpec.name"),
    (lambda: ArgSpec("x", "colour"), "ArgSpec.kind"),
    (lambda: ArgSpec("d", "direction"), "ArgSpec.choices"),
    (lambda: ArgSpec("a", "distance_m", bounds=(1.0, 0.0)), "ArgSpec.bounds"),
    (lambda: ArgSpec("a", "distance_m", portable=True), "ArgSpec.portable"),
    (lambda: SkillSpec("wave", (), "", 1.0, "x"), "SkillSpec.description"),
    (lambda: SkillSpec("wave", (), "wave", 0.0, "x"), "SkillSpec.time_limit_s"),
    (lambda: SkillSpec("wave", (), "wave", 1.0, ""), "SkillSpec.postcondition"),
    (lambda: SkillSpec("wave", (ArgSpec("o", "object"), ArgSpec("o", "object")), "wave", 1.0, "x"),
     "SkillSpec.args"),
])
def test_spec_validation_names_the_field(make, field):
    with pytest.raises(ValueError, match=field):
        make()


def test_one_registration_adds_a_skill_and_parts_attach_by_name(clean_registry):
    spec = SkillSpec("wave", (ArgSpec("times", "distance_m", required=False, default=0.1, bounds=(0.01, 1)),),
                     "wave the gripper", 5.0, "gripper_moved")
    register_skill(spec)
    assert "wave" in skill_names() and skill_spec("wave") is spec
    with pytest.raises(ValueError, match="already registered"):
        register_skill(spec)

    def policy():
        return "waving"

    attach("wave", "policy.scripted", policy)
    attach("grasp", "policy.scripted", "grasp-policy")
    assert attachment("wave", "policy.scripted") is policy
    # Other skills may already carry scripted policies (registered when the skill layer is imported).
    attached = attachments("policy.scripted")
    assert attached["wave"] is policy and attached["grasp"] == "grasp-policy"
    with pytest.raises(UsageError, match="postcondition"):
        attachment("wave", "postcondition")
    with pytest.raises(UsageError, match="Unknown skill 'wav'"):
        attach("wav", "policy.scripted", policy)
