"""Grounding object words in what perception sees: colour words first, MiniLM embeddings for synonyms."""
import pytest

from robomatrix.planners.base import (
    AmbiguousReferenceError,
    SceneObject,
    SceneObjects,
    UnknownObjectError,
)
from robomatrix.planners.embeddings import get_embedder
from robomatrix.planners.grounding import Grounder, Phrase, singular

SCENE = SceneObjects.from_names(["red can", "green can", "blue can", "box", "bin", "drawer"])


@pytest.fixture(scope="module")
def grounder():
    return Grounder(SCENE, get_embedder())


@pytest.mark.parametrize("phrase, expected", [
    ("the red can", "red can"), ("red can", "red can"), ("the Red Can", "red can"),
    ("the red one", "red can"), ("the green thing", "green can"), ("blue", "blue can"),
    ("the box", "box"), ("bin", "bin"), ("the drawer", "drawer"),
])
def test_names_and_colour_words_match_exactly(grounder, phrase, expected):
    assert grounder.resolve(phrase) == expected


@pytest.mark.parametrize("phrase, expected", [
    ("coke", "red can"), ("the coca cola", "red can"), ("the coke can", "red can"), ("diet coke", "red can"),
    ("sprite", "green can"), ("the pepsi", "blue can"),
    ("trash", "bin"), ("the garbage", "bin"), ("the rubbish bin", "bin"), ("the trash can", "bin"),
    ("waste basket", "bin"), ("the recycling", "bin"), ("garbage can", "bin"),
    ("the carton", "box"), ("the cardboard box", "box"), ("the crate", "box"),
    ("the cupboard", "drawer"), ("the cabinet", "drawer"), ("chest of drawers", "drawer"), ("the dresser", "drawer"),
])
def test_synonyms_ground_through_sentence_embeddings(grounder, phrase, expected):
    assert grounder.resolve(phrase) == expected


@pytest.mark.parametrize("phrase", ["soda", "the soda can", "the can", "the drink", "cans"])
def test_a_phrase_that_fits_several_cans_is_ambiguous_and_lists_them(grounder, phrase):
    with pytest.raises(AmbiguousReferenceError, match=r"do you mean: red can, green can or blue can\?") as info:
        grounder.resolve(phrase)
    assert info.value.candidates == ("red can", "green can", "blue can")


@pytest.mark.parametrize("phrase, shown", [
    ("the purple can", "purple can"), ("a banana", "banana"), ("the table", "table"), ("the blue bin", "blue bin"),
    ("the mug", "mug"), ("the fanta", "fanta"),
])
def test_something_not_in_the_scene_is_refused_naming_what_is_there(grounder, phrase, shown):
    with pytest.raises(UnknownObjectError) as info:
        grounder.resolve(phrase)
    assert str(info.value) == f"There is no {shown} here. I can see: red can, green can, blue can, box, bin, drawer."


def test_colour_never_comes_from_embeddings(grounder):
    # "purple can" embeds at 0.77 to "blue can": words must decide colours.
    with pytest.raises(UnknownObjectError, match="no purple can"):
        grounder.resolve("purple can")
    assert grounder.resolve("the green soda") == "green can"


def test_kind_filters_to_containers_or_portable_things():
    scene = SceneObjects.from_names(["red can", "red bin", "box"])
    g = Grounder(scene, None)
    assert g.resolve("the red one", "portable") == "red can"
    assert g.resolve("the red one", "container") == "red bin"
    with pytest.raises(AmbiguousReferenceError, match="red can or red bin"):
        g.resolve("the red one")


def test_many_objects_from_all_both_plurals_and_lists(grounder):
    assert grounder.resolve_many("all the cans", "portable") == ["red can", "green can", "blue can"]
    assert grounder.resolve_many("every can") == ["red can", "green can", "blue can"]
    assert grounder.resolve_many("the red and green cans") == ["red can", "green can"]
    assert grounder.resolve_many("the red can and the blue can") == ["red can", "blue can"]
    assert grounder.resolve_many("the coke and the sprite") == ["red can", "green can"]
    assert grounder.resolve_many("everything", "portable") == ["red can", "green can", "blue can"]
    assert grounder.resolve_many("the box") == ["box"]


def test_plural_order_is_a_nearest_first_tour_when_positions_are_known():
    scene = SceneObjects(objects=(SceneObject("red can", (2.0, 0.0, 0.0)), SceneObject("green can", (0.5, 0.0, 0.0)),
                                  SceneObject("blue can", (1.0, 0.1, 0.0)), SceneObject("bin", (0.0, 1.0, 0.0))))
    assert Grounder(scene).resolve_many("all the cans") == ["green can", "blue can", "red can"]


def test_spatial_words_pick_among_candidates_by_position():
    scene = SceneObjects(objects=(SceneObject("red can", (1.0, 0.5, 0.0)), SceneObject("green can", (0.6, -0.4, 0.0)),
                                  SceneObject("blue can", (2.0, 0.0, 0.0))))
    g = Grounder(scene)
    assert g.resolve("the can on the left") == "red can"
    assert g.resolve("the rightmost can") == "green can"
    assert g.resolve("the nearest can") == "green can"
    assert g.resolve("the farthest can") == "blue can"


def test_known_objects_out_of_view_are_grounded_and_listed():
    scene = SceneObjects.from_names(["red can", "box"], hidden=["blue can"])
    g = Grounder(scene)
    assert g.resolve("the blue can") == "blue can"
    with pytest.raises(UnknownObjectError, match=r"I can see: red can, box \(not in view: blue can\)\."):
        g.resolve("the green can")


def test_perception_style_names_with_underscores_ground_and_display_with_spaces():
    scene = SceneObjects.from_names(["red_can", "green_can", "box"])
    g = Grounder(scene)
    assert g.resolve("the red can") == "red_can"
    assert g.resolve("red_can") == "red_can"
    with pytest.raises(AmbiguousReferenceError, match="red can or green can"):
        g.resolve("the can")


def test_without_embeddings_synonyms_are_refused_but_words_still_work():
    g = Grounder(SCENE, None)
    assert g.resolve("the red can") == "red can"
    with pytest.raises(UnknownObjectError, match="no coke"):
        g.resolve("the coke")


def test_phrase_parsing_and_singulars():
    p = Phrase.parse("all the red cans")
    assert (p.colours, p.noun, p.plural, p.every) == (frozenset({"red"}), "can", True, True)
    assert Phrase.parse("the red one").noun == ""
    assert [singular(w) for w in ("cans", "boxes", "batteries", "glass", "bus")] == ["can", "box", "battery",
                                                                                    "glass", "bus"]


def test_the_embedder_returns_unit_vectors_and_caches_them():
    e = get_embedder()
    v = e.embed(["trash", "bin", "trash"])
    assert v.shape == (3, 384)
    assert abs(float((v * v).sum(1).max()) - 1.0) < 1e-4
    assert float(v[0] @ v[2]) > 0.9999
    assert get_embedder() is e
