"""The leakage filter: a probe too close to any question the model was trained on measures memory of that
question, not knowledge of the fact, so it is dropped — and counted, never silently.

Similarity is the Jaccard index of character trigram sets, |A∩B| / |A∪B|, of both texts in the comparable
form of near-duplicate detection (`loreforge.generate.dedup.normalize`: NFKC, lower case, no whitespace,
punctuation or trailing 吗/呢), without that module's vetoes (a probe that differs from a training question
only by a number is still the same question). Every probe is compared with EVERY training question through an
inverted trigram index, so a few hundred probes against tens of thousands of questions take well under a
second. Texts shorter than three characters compare as a whole (equal or not).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

N = 3


def grams(text: str) -> frozenset[str]:
    """The character trigrams of `text`'s comparable form (the whole form when it is shorter)."""
    from loreforge.generate.dedup import normalize

    form = normalize(text)
    if len(form) < N:
        return frozenset({form}) if form else frozenset()
    return frozenset(form[i : i + N] for i in range(len(form) - N + 1))


def jaccard(a: str, b: str) -> float:
    ga, gb = grams(a), grams(b)
    if not ga or not gb:
        return 0.0
    return len(ga & gb) / len(ga | gb)


@dataclass(frozen=True)
class Nearest:
    """The training question most similar to a probe, and how similar (0..1)."""

    similarity: float
    question: str | None


class LeakageIndex:
    """The training questions, indexed by trigram; `nearest(text)` finds the most similar one."""

    def __init__(self, questions: Iterable[str] = ()) -> None:
        self._texts: list[str] = []
        self._sizes: list[int] = []
        self._postings: dict[str, list[int]] = defaultdict(list)
        for q in questions:
            self.add(q)

    def __len__(self) -> int:
        return len(self._texts)

    def add(self, question: str) -> None:
        index = len(self._texts)
        g = grams(question)
        self._texts.append(question)
        self._sizes.append(len(g))
        for gram in g:
            self._postings[gram].append(index)

    def nearest(self, text: str) -> Nearest:
        g = grams(text)
        shared: Counter[int] = Counter()
        for gram in g:
            shared.update(self._postings.get(gram, ()))
        best, best_index = 0.0, None
        for index, common in shared.items():
            score = common / (len(g) + self._sizes[index] - common)
            if score > best:
                best, best_index = score, index
        return Nearest(best, self._texts[best_index] if best_index is not None else None)

    def leaked(self, text: str, threshold: float) -> Nearest | None:
        """The nearest training question when it is at least `threshold` similar (the probe leaked), else None."""
        near = self.nearest(text)
        return near if near.similarity >= threshold else None
