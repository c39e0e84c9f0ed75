"""Question types beyond the open question, built offline from a probe's key fact: short answer (the key
alone), true/false (the question paired with its true value or a distractor), single and multiple choice.

Distractors are other values of the same kind from the same document (numbers with numbers, amounts with
amounts — the same unit first —, dates with dates, names with names), never a value the question or the
reference states. Choice options are stored in one seeded order with the correct indices; the evaluation asks
each probe once per rotation (`rotations`: cyclic shifts, each putting every correct option somewhere else),
and counts it right only if right in all, so a model that always answers "A" — or guesses — does not score.
`prompt_text` renders a probe as asked (`loreforge.evaluate.metrics` reads the replies back).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from loreforge.evaluate.probes.keys import KeyValue, answer_values, values
from loreforge.generate.questions import text_language
from loreforge.evaluate.probes.records import ProbeDraft

LETTERS = "ABCDEFGHIJ"
NO_KEY = "no checkable value in the reference"
NO_DISTRACTOR = "no other value of the same kind in its document"
_TF = {
    "en": "{question}\nProposed answer: {value}\nIs the proposed answer correct?",
    "zh": "{question}\n给出的答案：{value}\n这个答案正确吗？",
}
_ASK = {
    ("en", "single_choice"): "Answer with the letter of the correct option only.",
    ("en", "multiple_choice"): "Answer with the letters of all correct options (there may be more than one), e.g. \"A, C\".",
    ("en", "true_false"): "Answer with true or false only.",
    ("zh", "single_choice"): "请只回答正确选项的字母。",
    ("zh", "multiple_choice"): "请回答所有正确选项的字母（可能不止一个），例如“A, C”。",
    ("zh", "true_false"): "请只回答“对”或“错”。",
}


def _distinct(a: KeyValue, b: KeyValue) -> bool:
    """Two values a reader would not take for one another: other values, and for names neither inside the other
    ("Shakespeare" / "William Shakespeare")."""
    if a.norm == b.norm or a.text.lower() == b.text.lower():
        return False
    x, y = a.text.lower(), b.text.lower()
    return a.kind != "name" or (x not in y and y not in x)


def distractors(key: KeyValue, pool: Sequence[KeyValue], avoid: Sequence[KeyValue], n: int, rng: random.Random) -> list[KeyValue]:
    """Up to `n` values of the key's kind from `pool` (the same unit first), none that `avoid` holds."""
    banned = [key, *avoid]
    fit = [v for v in pool if v.kind == key.kind and all(_distinct(v, b) for b in banned)]
    same = [v for v in fit if v.dimension == key.dimension]
    other = [v for v in fit if v.dimension != key.dimension]
    rng.shuffle(same)
    rng.shuffle(other)
    return (same + other)[:n]


def _shuffled(correct: list[str], wrong: list[str], rng: random.Random) -> tuple[tuple[str, ...], tuple[int, ...]]:
    options = [(text, True) for text in correct] + [(text, False) for text in wrong]
    rng.shuffle(options)
    return tuple(t for t, _ in options), tuple(i for i, (_, ok) in enumerate(options) if ok)


_SEVERAL = re.compile(r"\bboth\b|\beach\b|respectively|分别|各自|各是|各为")


def asks_several(question: str) -> bool:
    """Whether a question says it asks for several values ("both", "respectively", "分别"): only then does its multiple-choice
    form count every value of the key's kind in the reference as correct (else the key alone is)."""
    return bool(_SEVERAL.search(question.lower()))


@dataclass(frozen=True)
class Expansion:
    """The probes one base question gives in the requested question types, and why any type was not made."""

    probes: list[ProbeDraft]
    skipped: Counter[str]


def expand(base: ProbeDraft, key: KeyValue | None, pool: Sequence[KeyValue], qtypes: Sequence[str], options: int,
           rng: random.Random, language: str, only_key: bool = False) -> Expansion:
    """`base` (an open question with its reference) in each of `qtypes`; types that need a key or distractors
    are skipped with the reason when there are none. A multiple-choice probe's correct options are every value of
    the key's kind the reference states when the question asks for several (`asks_several`), else the key alone
    (always with `only_key`)."""
    out: list[ProbeDraft] = []
    skipped: Counter[str] = Counter()
    keyed = base.but(key=key.text, key_kind=key.kind) if key else base
    avoid = values(base.question) + values(base.reference)
    for qtype in qtypes:
        if qtype == "open":
            out.append(keyed)
            continue
        if key is None:
            skipped[NO_KEY] += 1
            continue
        wrong = distractors(key, pool, avoid, options - 1, rng)
        if qtype == "short":
            out.append(keyed.but(qtype="short", reference=key.text))
        elif not wrong:
            skipped[NO_DISTRACTOR] += 1
        elif qtype == "true_false":
            truth = rng.random() < 0.5
            shown = key.text if truth else wrong[0].text
            template = _TF[text_language(base.question, language if language in _TF else "en")]
            out.append(keyed.but(qtype="true_false", question=template.format(question=base.question, value=shown),
                                 answer=truth, source_question=base.source_question or base.question))
        else:
            several = qtype == "multiple_choice" and not only_key and asks_several(base.question)
            right = [v.text for v in answer_values(base.reference, key, base.question)] if several else [key.text]
            right = right[: options - 1]
            opts, answer = _shuffled(right, [v.text for v in wrong[: options - len(right)]], rng)
            out.append(keyed.but(qtype=qtype, options=opts, answer=answer))
    return Expansion(out, skipped)


def general_expand(base: ProbeDraft, given: Sequence[str], qtypes: Sequence[str], options: int, rng: random.Random,
                   language: str) -> Expansion:
    """A general-knowledge question in each of `qtypes`, its distractors written with it (`given`)."""
    pool = [KeyValue(text, "given", None, f"given:{text.lower()}", i) for i, text in enumerate(given)]
    key = KeyValue(base.key, "given", None, f"given:{base.key.lower()}") if base.key else None
    result = expand(base, key, pool, qtypes, options, rng, language, only_key=True)  # the written distractors, as written
    return Expansion([p.but(key_kind=base.key_kind) for p in result.probes], result.skipped)


@dataclass(frozen=True)
class Rotation:
    """One order a choice probe is asked in: options shifted left by `shift`, the correct indices moved along."""

    shift: int
    options: tuple[str, ...]
    answer: tuple[int, ...]


def rotation_count(n_options: int, wanted: int | None) -> int:
    """How many rotations a probe with `n_options` gets: `wanted` (None: all), never more than its options."""
    return n_options if wanted is None else max(1, min(wanted, n_options))


def rotations(options: Sequence[str], answer: Sequence[int], count: int | None = None) -> list[Rotation]:
    """The orders a choice probe is asked in. Each rotation moves every correct option to another position, so
    across `count` ≤ len(options) rotations a fixed letter is right at most once per correct option."""
    n = len(options)
    out = []
    for shift in range(rotation_count(n, count)):
        moved = tuple(options[shift:]) + tuple(options[:shift])
        out.append(Rotation(shift, moved, tuple(sorted((i - shift) % n for i in answer))))
    return out


def prompt_text(qtype: str, question: str, options: Sequence[str] | None, language: str) -> str:
    """A probe as put to a model: the question, its lettered options, and how to answer (in the question's
    language; `language` when it is mixed)."""
    if qtype not in ("single_choice", "multiple_choice", "true_false"):
        return question
    lines = [question, ""]
    if options:
        lines += [f"{LETTERS[i]}. {text}" for i, text in enumerate(options)] + [""]
    lines.append(_ASK[(text_language(question, language if language in ("zh", "en") else "en"), qtype)])
    return "\n".join(lines)
