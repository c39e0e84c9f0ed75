"""Near-duplicate detection for generated questions (and QA pairs), in Chinese and English.

The question and answer stages feed this module: before a generated question is stored, `DuplicateIndex.find`
asks whether the project already holds one that says the same thing; `dedupe` does the same for a list.

How two texts are compared (`similarity`):

1. Both are reduced to a *skeleton*: NFKC, lower case, function words dropped (English: a, an, the, of, in,
   on, at, is, are, was, were, be, been, do, does, did, please and the possessive 's; Chinese: 请问, 一下,
   的, 了), then whitespace, punctuation and symbols (except currency signs) dropped and trailing question
   particles 吗/呢 stripped — see `normalize` and `skeleton`.
2. The surface score is the **Jaccard** index of the skeletons' character trigram sets, |A∩B| / |A∪B|.
   Jaccard rather than Dice because it is the stricter of the two for the same overlap, and because its
   size bound (t·|A| ≤ |B| ≤ |A|/t) and prefix bound make the index's candidate filtering exact.
3. Two guards then veto the pair (score 0.0, a duplicate at no threshold), because financial questions
   often differ only by one company, quarter or figure and must never be merged:
   - *numbers*: the multisets of numbers differ — runs of ASCII digits (full-width ones arrive via NFKC,
     thousands commas ignored) and runs of Chinese numerals (二〇二四 reads as 2024, 第二 as 2);
   - *substitution*: each skeleton has characters the other lacks (as multisets). Near-duplicates may differ
     by what one of them says in addition (a particle, a 请问, word order); two texts that each say something
     the other does not (腾讯 / 阿里, 净利润 / 毛利润, 上半年 / 下半年) are different questions.

What is left to the threshold are pure additions and reorderings, which trigrams penalise by length: adding
one content character to a 20-character question scores about 0.75. Two texts that are both empty after
normalisation score 1.0 with each other and 0.0 with anything else. The scorer is conservative on purpose:
a paraphrase with different wording (营收 / 收入) is kept as a separate question.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from itertools import chain, repeat
from typing import NamedTuple, cast

from loreforge.errors import UserError

Key = int | str

_TRIGRAM = 3
_EPS = 1e-9
_PARTICLES = "吗呢"
_NO_POSTINGS: dict[str, set[Key]] = {}
_EN_FUNCTION = re.compile(
    r"(?<![a-z0-9])(?:a|an|the|of|in|on|at|is|are|was|were|be|been|do|does|did|please)(?![a-z0-9])"
    r"|(?<=[a-z0-9])['’]s(?![a-z0-9])"
)
_LATIN = re.compile("[a-z]")
_ZH_FUNCTION = re.compile("请问|一下|的|了")
_NUMBER = re.compile(r"[0-9]+(?:,[0-9]{3}(?![0-9]))*(?:\.[0-9]+)?|[〇零一二两三四五六七八九十百千万亿]+")
_HANZI_DIGIT = str.maketrans("〇零一二两三四五六七八九", "001223456789")


class _DropTable(dict[int, int | None]):
    """A `str.translate` table, filled on first sight of each character: None drops it, its code keeps it.
    Drops whitespace, punctuation (P*), separators (Z*), control and format characters (Cc, Cf) and
    symbols (S*) other than currency signs (Sc)."""

    def __missing__(self, code: int) -> int | None:
        char = chr(code)
        category = unicodedata.category(char)
        dropped = (
            char.isspace()
            or category[0] in "PZ"
            or category in ("Cc", "Cf")
            or (category[0] == "S" and category != "Sc")
        )
        self[code] = None if dropped else code
        return self[code]


_DROP = _DropTable()


def _fold(text: str) -> str:
    """NFKC and lower case (NFKC again, as lower-casing can leave a non-NFKC form). The quick check skips
    the costly normalisation for the usual text that is already in NFKC."""
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    text = text.lower()
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


def _finish(folded: str) -> str:
    """Drop whitespace, punctuation and symbols; strip trailing 吗/呢 while something is left before them.
    Dropping a character can leave a letter next to a combining mark (NFKC turns '¯' into ' ̄'), so the
    result is brought back to NFKC."""
    kept = folded.translate(_DROP)
    if not unicodedata.is_normalized("NFKC", kept):
        kept = unicodedata.normalize("NFKC", kept).translate(_DROP)
    while len(kept) > 1 and kept[-1] in _PARTICLES:
        kept = kept[:-1]
    return kept


def normalize(text: str) -> str:
    """The comparable form of `text`: NFKC (full-width letters and digits become ASCII), lower case, no
    whitespace, punctuation or symbols other than currency signs (ASCII, CJK and full-width alike), and no
    trailing 吗/呢 question particles (a lone particle is kept). Idempotent."""
    return _finish(_fold(text))


def _content(folded: str) -> str:
    """A folded text without its function words (see the module docstring)."""
    if _LATIN.search(folded):
        folded = _EN_FUNCTION.sub(" ", folded)
    return _ZH_FUNCTION.sub("", folded)


def skeleton(text: str) -> str:
    """What `similarity` compares: `normalize` after dropping function words (的, 了, 请问, 一下; the, of,
    was, 's, ...). A text made only of function words keeps its plain normalised form."""
    return _Prepared.of(text).form


def _numbers(folded: str) -> tuple[str, ...]:
    """The sorted numbers in a folded text: decimal numbers without their thousands commas, and runs of
    Chinese numerals (digit-by-digit ones such as 二〇二四 or 第二 rewritten as 2024 and 2)."""
    runs = _NUMBER.findall(folded)
    if not runs:
        return ()
    found = []
    for run in runs:
        if run[0].isascii():
            found.append(run.replace(",", ""))
        else:
            digits = run.translate(_HANZI_DIGIT)
            found.append(digits if digits.isdigit() else run)
    return tuple(sorted(found))


def _grams(text: str, n: int) -> frozenset[str]:
    """Character n-grams of an already normalised text; a non-empty text shorter than n is its own gram."""
    if len(text) < n:
        return frozenset([text]) if text else frozenset()
    return frozenset([text[i : i + n] for i in range(len(text) - n + 1)])


def ngrams(text: str, n: int = _TRIGRAM) -> set[str]:
    """Character n-grams of `normalize(text)`; a text shorter than n gives {that text}, an empty one set()."""
    if n < 1:
        raise UserError("n-gram size must be positive", expected="n >= 1", got=str(n))
    return set(_grams(normalize(text), n))


class _Prepared(NamedTuple):
    """One text made ready for comparison: its skeleton, trigrams and numbers (a NamedTuple rather than a
    frozen dataclass because the index builds one per add and per find)."""

    form: str
    grams: frozenset[str]
    numbers: tuple[str, ...]

    @classmethod
    def of(cls, text: str) -> _Prepared:
        folded = _fold(text)
        content = _content(folded)
        form = _finish(content) or _finish(folded)
        return cls(form, _grams(form, _TRIGRAM), _numbers(content))


def _compatible(a: _Prepared, b: _Prepared) -> bool:
    """The guards: same numbers, and no two-sided difference in characters."""
    if a.numbers != b.numbers:
        return False
    if a.form == b.form:
        return True
    chars_a, chars_b = Counter(a.form), Counter(b.form)
    return not (chars_a - chars_b) or not (chars_b - chars_a)


def _score(a: _Prepared, b: _Prepared) -> float:
    """Jaccard of the trigram sets, 0.0 when a guard vetoes; two empty texts score 1.0."""
    if not a.grams or not b.grams:
        return 1.0 if a.grams == b.grams else 0.0
    shared = len(a.grams & b.grams)
    return shared / (len(a.grams) + len(b.grams) - shared) if _compatible(a, b) else 0.0


def similarity(a: str, b: str) -> float:
    """Duplicate score of two texts in [0, 1], symmetric; 1.0 for texts with the same skeleton. See the
    module docstring for the rule (trigram Jaccard on skeletons, vetoed to 0.0 by the number and
    substitution guards)."""
    return _score(_Prepared.of(a), _Prepared.of(b))


def _check_threshold(threshold: float) -> None:
    if not 0.0 < threshold <= 1.0:
        raise UserError(
            "Duplicate threshold out of range",
            expected="a number in (0, 1], e.g. 0.85",
            got=repr(threshold),
            hint="Raise it to merge fewer questions, lower it to merge more",
        )


class DuplicateIndex:
    """An inverted trigram index over many texts (tens of thousands) for fast near-duplicate lookup.

    `find` scores only a handful of candidates, exactly. Texts are partitioned by their numbers (the number
    guard vetoes every pair across partitions). Within the query's partition, a text scoring >= t against a
    query of q trigrams shares at least ceil(t·q) of them, so it holds one of any q - ceil(t·q) + 1 of the
    query's trigrams: the index reads the postings of the rarest ones (and of further rare ones while that
    costs no more than the first did), counts how many each text shares, and keeps a text of s trigrams only
    if t·q <= s <= q/t and its count plus the unread trigrams could reach the Jaccard bound
    shared >= t·(q + s) / (1 + t). Re-adding a key replaces its text.
    """

    def __init__(self) -> None:
        self._prepared: dict[Key, _Prepared] = {}
        self._order: dict[Key, int] = {}
        self._sizes: dict[Key, int] = {}
        self._postings: defaultdict[tuple[str, ...], defaultdict[str, set[Key]]] = defaultdict(
            lambda: defaultdict(set)
        )
        self._empty: dict[Key, None] = {}
        self._seq = 0

    def __len__(self) -> int:
        return len(self._prepared)

    def __contains__(self, key: object) -> bool:
        return key in self._prepared

    def add(self, key: Key, text: str) -> None:
        """Index `text` under `key` (replacing what `key` held before)."""
        self._insert(key, _Prepared.of(text))

    def remove(self, key: Key) -> None:
        """Forget `key`; KeyError if it is not indexed."""
        prepared = self._prepared.pop(key)
        del self._order[key], self._sizes[key]
        self._empty.pop(key, None)
        postings = self._postings[prepared.numbers]
        for gram in prepared.grams:
            keys = postings[gram]
            keys.discard(key)
            if not keys:
                del postings[gram]
        if not postings:
            del self._postings[prepared.numbers]

    def find(self, text: str, threshold: float) -> tuple[Key, float] | None:
        """The indexed text with the highest `similarity` to `text` at or above `threshold` (ties: the one
        added first), as (key, score); None if there is none. `threshold` must be in (0, 1]."""
        _check_threshold(threshold)
        return self._lookup(_Prepared.of(text), threshold)

    def _insert(self, key: Key, prepared: _Prepared) -> None:
        if key in self._prepared:
            self.remove(key)
        self._prepared[key] = prepared
        self._order[key] = self._seq
        self._sizes[key] = len(prepared.grams)
        self._seq += 1
        if not prepared.grams:
            self._empty[key] = None
        postings = self._postings[prepared.numbers]
        for gram in prepared.grams:
            postings[gram].add(key)

    def _lookup(self, query: _Prepared, threshold: float) -> tuple[Key, float] | None:
        if not query.grams:
            first = next(iter(self._empty), None)
            return None if first is None else (first, 1.0)
        size = len(query.grams)
        scored = []
        for key in self._candidates(query, threshold):
            shared = len(query.grams & self._prepared[key].grams)
            score = shared / (size + self._sizes[key] - shared)  # the Jaccard of `_score`, computed in place
            if score >= threshold:
                scored.append((-score, self._order[key], key))
        for negative, _, key in sorted(scored):
            if _compatible(query, self._prepared[key]):
                return key, -negative
        return None

    def _candidates(self, query: _Prepared, threshold: float) -> list[Key]:
        """Keys that can score >= threshold (see the class docstring)."""
        postings = self._postings.get(query.numbers, _NO_POSTINGS)
        grams = list(query.grams)
        by_rarity = sorted(zip(map(len, map(postings.get, grams, repeat(()))), grams, strict=True))
        size = len(by_rarity)
        probed = size - math.ceil(threshold * size - _EPS) + 1
        budget = sum(count for count, _ in by_rarity[:probed])
        while probed < size and by_rarity[probed][0] <= budget:
            budget -= by_rarity[probed][0]
            probed += 1
        counts = Counter(chain.from_iterable(postings[gram] for count, gram in by_rarity[:probed] if count))
        unread = size - probed
        least = {
            other: math.ceil(threshold * (size + other) / (1 + threshold) - _EPS) - unread
            for other in range(math.ceil(threshold * size - _EPS), math.floor(size / threshold + _EPS) + 1)
        }
        sizes = self._sizes
        return [key for key, count in counts.items() if count >= least.get(sizes[key], size + 1)]


def dedupe(texts: list[str], threshold: float) -> list[int | None]:
    """For each text, the index of the earlier text it duplicates (`similarity` >= threshold), or None.

    Greedy and in order: a text is matched only against earlier texts that were kept (None), so every index
    returned points at a kept text and chains never form; among several matches the best-scoring, then the
    earliest, wins. The texts marked None are therefore pairwise below the threshold.
    """
    _check_threshold(threshold)
    index = DuplicateIndex()
    result: list[int | None] = []
    for position, text in enumerate(texts):
        prepared = _Prepared.of(text)
        match = index._lookup(prepared, threshold)
        if match is None:
            index._insert(position, prepared)
            result.append(None)
        else:
            result.append(cast(int, match[0]))
    return result
