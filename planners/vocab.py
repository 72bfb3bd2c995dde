"""Words a word-level planner model never saw, mapped to words it knows before it reads them.

Our planner model (`robomatrix train-planner`) has a closed vocabulary. A person's word outside
it becomes [UNK] unless `WordMapper` finds a known word that means the same, in this order:

1. the word form: "closed" → "close", "cans" → "can", "grabbing" → "grab";
2. a typo: one edit (two for long words) from a known word, "plcae" → "place";
3. meaning: the offline MiniLM embedding of the word is close to a known word's
   ("toss" → "throw"), above a high threshold, since single-word similarities are noisy
   ("closed" is nearer "open" than "shut").

Protected words (colours, container nouns, brands, numbers) are never a mapping's target or
source: a colour the model does not know must stay unknown, not turn into a neighbouring
colour. Training maps its instructions through the same mapper, so both see the same text.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

SIMILARITY = 0.65
"""Cosine similarity a MiniLM match needs (measured: toss→throw 0.73, clean→wash 0.71, load→open 0.48)."""

_SUFFIXES = (("ing", ""), ("ing", "e"), ("ed", ""), ("ed", "e"), ("d", ""), ("es", ""), ("s", ""), ("ly", ""))


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau–Levenshtein (adjacent swaps count one), stopping early above `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2, prev = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if prev2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


_ENGLISH: frozenset[str] | None = None


def _english_word(word: str) -> bool:
    """Whether `word` is a whole word of the offline MiniLM model's vocabulary (30k word pieces of
    English); such a word is never treated as a typo. False when the model is not installed."""
    global _ENGLISH
    if _ENGLISH is None:
        from robomatrix.planners.embeddings import EmbeddingsUnavailable, model_path

        try:
            lines = (model_path() / "vocab.txt").read_text(encoding="utf-8").split("\n")
            _ENGLISH = frozenset(w for w in lines if w.isalpha() and w.islower() and len(w) > 2)
        except (EmbeddingsUnavailable, OSError):
            _ENGLISH = frozenset()
    return word in _ENGLISH


class WordMapper:
    """`map_text("pls plcae the red can into the box")` → the same words, unknown ones replaced."""

    def __init__(self, known: Iterable[str], protected: Iterable[str] = (), *, embeddings: bool = True,
                 similarity: float = SIMILARITY):
        self.protected = frozenset(protected)
        self.known = [w for w in dict.fromkeys(known) if w.isalpha()]  # order = preference on ties
        self.known_set = frozenset(self.known)
        self.targets = [w for w in self.known if w not in self.protected and len(w) > 1]
        self.embeddings, self.similarity = embeddings, similarity
        self._cache: dict[str, str] = {}
        self._target_vectors = None

    def map_word(self, word: str) -> str:
        """A known word for `word` (itself when known, protected, not a word, or nothing is close)."""
        if word in self.known_set or word in self.protected or not word.isalpha():
            return word
        if word not in self._cache:
            self._cache[word] = self._find(word)
        return self._cache[word]

    def map_text(self, text: str) -> str:
        return re.sub(r"[a-z]+", lambda m: self.map_word(m.group(0)), text)

    def _find(self, word: str) -> str:
        for suffix, repl in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 2:
                stem = word[: -len(suffix)] + repl
                for form in (stem, stem[:-1] if not repl and stem[-1:] == stem[-2:-1] else ""):  # grabbing → grab
                    if form in self.known_set:
                        return form
        if len(word) >= 4 and not _english_word(word):  # "jump" is a word, not a typo of "bump"
            limit = 2 if len(word) >= 8 else 1
            best = min(((_edit_distance(word, w, limit), i, w) for i, w in enumerate(self.targets)), default=None)
            if best is not None and best[0] <= limit:
                return best[2]
        if self.embeddings and self.targets:
            found = self._by_meaning(word)
            if found:
                return found
        return word

    def _by_meaning(self, word: str) -> str | None:
        from robomatrix.planners.embeddings import EmbeddingsUnavailable, get_embedder

        try:
            embedder = get_embedder()
            if self._target_vectors is None:
                self._target_vectors = embedder.embed(self.targets)
            sims = self._target_vectors @ embedder.embed([word])[0]
        except EmbeddingsUnavailable:
            self.embeddings = False
            return None
        best = int(sims.argmax())
        return self.targets[best] if float(sims[best]) >= self.similarity else None
