"""Ground a person's object words ("the red one", "coke", "the trash") to names perception reports.

Words first, embeddings second. Colour words must match exactly: sentence embeddings put
"purple can" next to "blue can" (0.77) and do not separate opposites, so they never decide
a colour. The noun is matched by its words (singular or plural) and, only when no scene
noun fits, by cosine similarity between the phrase and a short description of each object
(all-MiniLM-L6-v2), above a threshold and ahead of the runner-up by a margin. More than
one fitting object is an ambiguity the planner reports, listing them; none is a refusal
naming what is there.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from robomatrix.planners.base import (
    AmbiguousReferenceError,
    PlanningError,
    SceneObjects,
    UnknownObjectError,
    display,
    is_container,
)
from robomatrix.planners.embeddings import SentenceEmbedder

COLOURS = frozenset({"red", "green", "blue", "yellow", "orange", "purple", "pink", "white", "black",
                     "grey", "gray", "brown", "cyan", "magenta", "violet"})
DETERMINERS = frozenset({"the", "a", "an", "this", "that", "these", "those", "my", "your", "our", "its",
                         "some", "any", "of"})
PLACEHOLDERS = frozenset({"one", "ones", "thing", "things", "object", "objects", "item", "items", "stuff"})
ALL_WORDS = frozenset({"all", "every", "each", "both", "everything"})

# Short descriptions the phrase is compared with, per object noun. They say what the thing is,
# in the words people use for it; the model does the matching of other words.
NOUN_GLOSSES: dict[str, tuple[str, ...]] = {
    "can": ("a drink can, a soda can, a tin can",),
    "box": ("an open cardboard box, a carton or crate",),
    "bin": ("a trash bin, trash can or garbage can for rubbish and litter", "a dustbin or waste basket"),
    "drawer": ("a drawer of a cabinet, cupboard or dresser",),
    "block": ("a toy block, a cube or brick",),
    "cube": ("a cube, a toy block",),
    "ball": ("a ball",),
    "basket": ("a basket",),
    "tray": ("a tray",),
    "bowl": ("a bowl",),
    "cup": ("a cup or mug",),
    "bottle": ("a bottle",),
}
# World knowledge the small model lacks: which brand a coloured object looks like.
COLOUR_GLOSSES = {
    ("red", "can"): "a can of Coke, Coca-Cola",
    ("green", "can"): "a can of Sprite",
    ("blue", "can"): "a can of Pepsi",
    ("orange", "can"): "a can of Fanta",
}

BRAND_COLOURS = {w: colour for (colour, _), text in COLOUR_GLOSSES.items()
                 for w in re.findall(r"[a-z]+", text.split(" of ", 1)[1].lower())}
"""Brand words and the colour they mean: coke, coca, cola → red; sprite → green; pepsi → blue; fanta → orange."""


def singular(word: str) -> str:
    """cans → can, boxes → box, batteries → battery; leaves 'glass' alone."""
    if len(word) > 3 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and re.search(r"(x|ch|sh|ss)es$", word):
        return word[:-2]
    if len(word) > 2 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def words_of(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


@dataclass(frozen=True)
class ObjectName:
    """A scene name split into colour words and the noun: "red can" → ({"red"}, "can")."""

    name: str
    colours: frozenset[str]
    noun: str  # non-colour words joined, singular
    head: str  # last noun word

    @classmethod
    def parse(cls, name: str) -> ObjectName:
        ws = words_of(name)
        colours = frozenset(w for w in ws if w in COLOURS)
        nouns = [singular(w) for w in ws if w not in COLOURS] or [""]
        return cls(name, colours, " ".join(nouns), nouns[-1])


@dataclass(frozen=True)
class Phrase:
    """A referring phrase taken apart: colours, noun words, spatial qualifier, plural, 'all'."""

    text: str  # cleaned phrase, e.g. "purple can"
    colours: frozenset[str]
    noun: str  # singular noun words, "" for "the red one"
    plural: bool
    every: bool  # "all", "every", "both", "everything"
    spatial: str | None  # nearest, farthest, leftmost, rightmost

    @classmethod
    def parse(cls, text: str) -> Phrase:
        ws = words_of(text.replace("'s", ""))
        spatial = None
        joined = " ".join(ws)
        for pattern, value in ((r"\b(nearest|closest)\b", "nearest"), (r"\b(farthest|furthest)\b", "farthest"),
                               (r"\b(leftmost|on (the|your|my) left)\b", "leftmost"),
                               (r"\b(rightmost|on (the|your|my) right)\b", "rightmost"),
                               (r"^(the )?left\b", "leftmost"), (r"^(the )?right\b", "rightmost")):
            if re.search(pattern, joined):
                spatial = value
                joined = re.sub(pattern, " ", joined)
        ws = joined.split()
        every = any(w in ALL_WORDS for w in ws)
        content = [w for w in ws if w not in DETERMINERS and w not in ALL_WORDS and w not in ("to", "me")]
        colours = frozenset(w for w in content if w in COLOURS)
        nouns = [w for w in content if w not in COLOURS]
        plural = any(w in ("ones", "things", "objects", "items") or (singular(w) != w) for w in nouns) or \
            "both" in ws or "everything" in ws
        noun_words = [singular(w) for w in nouns if w not in PLACEHOLDERS]
        if "everything" in ws:
            noun_words = []
        cleaned = " ".join(w for w in content if w != "everything") or "everything"
        return cls(cleaned, colours, " ".join(noun_words), plural, every, spatial)


class Grounder:
    """Resolves phrases against one scene. `embedder=None` matches words only."""

    def __init__(self, scene: SceneObjects, embedder: SentenceEmbedder | None = None,
                 threshold: float = 0.40, margin: float = 0.06, brand_threshold: float = 0.55):
        self.scene = scene
        self.embedder = embedder
        self.threshold = threshold
        self.margin = margin
        self.brand_threshold = brand_threshold
        self.names = [ObjectName.parse(n) for n in scene.names()]

    # -- public -------------------------------------------------------------------------------
    def resolve(self, phrase: str, kind: str | None = None) -> str:
        """The one object `phrase` means. kind: "portable", "container" or None (anything)."""
        found = self._match(Phrase.parse(phrase), kind, phrase)
        if len(found) > 1:
            raise self._ambiguous(Phrase.parse(phrase), found)
        return found[0]

    def resolve_many(self, phrase: str, kind: str | None = None) -> list[str]:
        """Objects for "all the cans", "both cans", "the red and green cans", "X and Y", or one."""
        parts = [p for p in re.split(r"\s*(?:,|\band\b|&)\s*", phrase) if p.strip()]
        if len(parts) > 1:
            head = Phrase.parse(parts[-1])
            out: list[str] = []
            for part in parts:
                p = Phrase.parse(part)
                if not p.noun and head.noun and not PLACEHOLDERS & set(part.split()):
                    # "the red and green cans": share the noun (not "the red one and the sprite")
                    part = f"{part} {head.noun}"
                for name in self.resolve_many(part, kind):
                    if name not in out:
                        out.append(name)
            return out
        p = Phrase.parse(phrase)
        if p.every or p.plural:
            found = self._match(p, kind, phrase, many=True)
            return self._order(found)
        return [self.resolve(phrase, kind)]

    # -- matching -----------------------------------------------------------------------------
    def _match(self, p: Phrase, kind: str | None, original: str, many: bool = False) -> list[str]:
        """`_candidates`, but a phrase that names an object of the wrong kind says so."""
        try:
            return self._candidates(p, kind, original, many)
        except UnknownObjectError:
            if kind is None:
                raise
            try:
                other = self._candidates(p, None, original, many)
            except PlanningError:
                other = []
            if not other:
                raise
            shown = display(other[0]) if len(other) == 1 else p.text
            if kind == "container":
                containers = [display(n) for n in self.scene.names() if is_container(n)]
                raise PlanningError(f"I can't put things in the {shown}; I can put them in: "
                                    f"{', '.join(containers) or 'nothing here'}.") from None
            raise PlanningError(f"I can't pick up the {shown}: it is a container or fixture.") from None

    def _candidates(self, p: Phrase, kind: str | None, original: str, many: bool = False) -> list[str]:
        pool = [o for o in self.names if _fits_kind(o.name, kind)]
        said = " ".join(words_of(original))
        exact = [o for o in pool if " ".join(words_of(o.name)) in (said, p.text)]
        if exact and not many:
            return [exact[0].name]
        if p.noun:
            matched = [o for o in pool if p.noun in (o.noun, o.head) or p.noun == o.name]
            if not matched:
                matched = self._by_embedding(p, pool)
            if not matched:
                last = p.noun.split()[-1]
                matched = [o for o in pool if last == o.head]
        else:
            matched = pool
        if p.colours:
            matched = [o for o in matched if p.colours <= o.colours]
        if not p.noun and not p.colours and not p.every:
            raise UnknownObjectError(f"Which object do you mean by '{original.strip()}'? "
                                     f"I can see: {self.scene.describe()}.", original)
        names = [o.name for o in matched]
        if not names:
            raise UnknownObjectError(f"There is no {p.text} here. I can see: {self.scene.describe()}.", p.text)
        if len(names) > 1 and p.spatial and not many:
            picked = self._spatial(names, p.spatial)
            if picked:
                return [picked]
        return names

    def _by_embedding(self, p: Phrase, pool: list[ObjectName]) -> list[ObjectName]:
        """Objects whose description is closest to the phrase's noun words, in two stages.

        First the noun class (can, bin, drawer, ...), scored by the class description and by
        any brand description of its members ("sprite" is a can); classes within `margin` of
        the best all stay. Then, among the survivors, one object whose brand description
        stands out by `margin` is picked ("coke" → red can); otherwise all survivors return.
        """
        if self.embedder is None or not pool:
            return []
        if p.colours:
            pool = [o for o in pool if p.colours <= o.colours] or pool
        brands = {BRAND_COLOURS[w] for w in p.noun.split() if w in BRAND_COLOURS}
        if brands:  # "the coke" is a red can: never the only can of another colour
            pool = [o for o in pool if brands & o.colours]
            if not pool:
                return []
        query = self.embedder.embed([p.noun])[0]
        heads = sorted({o.head for o in pool})
        class_texts = [(h, f"{h}: {g}") for h in heads for g in NOUN_GLOSSES.get(h, (f"a {h}",))]
        brand = {o.name: COLOUR_GLOSSES[(c, o.head)] for o in pool for c in sorted(o.colours)
                 if (c, o.head) in COLOUR_GLOSSES}
        brand_names = list(brand)
        vecs = self.embedder.embed([t for _, t in class_texts] + [brand[n] for n in brand_names])
        class_score = dict.fromkeys(heads, -1.0)
        for (h, _), score in zip(class_texts, (vecs[: len(class_texts)] @ query).tolist()):
            class_score[h] = max(class_score[h], score)
        brand_score = dict(zip(brand_names, (vecs[len(class_texts):] @ query).tolist()))
        for o in pool:
            if brand_score.get(o.name, 0.0) >= self.brand_threshold:
                class_score[o.head] = max(class_score[o.head], brand_score[o.name])
        best = max(class_score.values())
        if best < self.threshold:
            return []
        kept = [o for o in pool if class_score[o.head] >= best - self.margin]
        scored = sorted(((brand_score.get(o.name, 0.0), o) for o in kept), key=lambda t: -t[0])
        if len(scored) > 1 and scored[0][0] >= self.brand_threshold \
                and scored[0][0] - scored[1][0] >= self.margin:
            return [scored[0][1]]
        return kept

    def _spatial(self, names: list[str], how: str) -> str | None:
        pos = {n: self.scene.position(n) for n in names}
        if any(v is None for v in pos.values()):
            return None
        key = {
            "nearest": lambda n: pos[n][0] ** 2 + pos[n][1] ** 2,
            "farthest": lambda n: -(pos[n][0] ** 2 + pos[n][1] ** 2),
            "leftmost": lambda n: -pos[n][1],
            "rightmost": lambda n: pos[n][1],
        }[how]
        return min(names, key=key)

    def _order(self, names: list[str]) -> list[str]:
        """Nearest first when positions are known (a greedy tour), else perception's order."""
        if not names or any(self.scene.position(n) is None for n in names):
            return list(names)
        out, here, left = [], (0.0, 0.0), list(names)
        while left:
            nxt = min(left, key=lambda n: (self.scene.position(n)[0] - here[0]) ** 2
                      + (self.scene.position(n)[1] - here[1]) ** 2)
            out.append(nxt)
            left.remove(nxt)
            here = self.scene.position(nxt)[:2]
        return out

    def _ambiguous(self, p: Phrase, names: Iterable[str]) -> AmbiguousReferenceError:
        names = list(names)
        what = p.text if p.noun else "one"
        shown = [display(n) for n in names]
        listed = ", ".join(shown[:-1]) + f" or {shown[-1]}"
        return AmbiguousReferenceError(f"Which {what} do you mean: {listed}?", p.text, names)


def _fits_kind(name: str, kind: str | None) -> bool:
    if kind == "container":
        return is_container(name)
    if kind == "portable":
        return not is_container(name)
    return True
