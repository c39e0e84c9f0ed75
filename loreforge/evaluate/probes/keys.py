"""Key facts: the checkable value a probe's reference answer carries (a number, percentage, amount, date or
name), found with the grounding check's own extractors and normalisers (`loreforge.review.grounding`), so a
key is read exactly as the review stage reads facts: NFKC, magnitudes applied (46.8亿 = 4.68 billion), dates
by their fields, names case-insensitively.

`values(text)` lists every value a text states, each with its kind and a comparable form; `find_key` picks the
one a question asks for (a value the question itself states is not its answer; "how many / 多少" prefers a
number, "when / 何时" a date, "who / 谁" a name); `document_values` gathers the values of a document's chunks,
where choice probes take their distractors from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from loreforge.evaluate.metrics import quantity_kind

_ASKS = (  # (kind asked for, question words); the first that matches wins
    ("percentage", re.compile(r"percent|percentage|share|ratio|rate|margin|百分|比例|比率|占比|增速|增长率|毛利率|率")),
    ("amount", re.compile(r"how much|revenue|price|cost|income|profit|金额|多少钱|收入|营收|利润|价格|费用|成本")),
    ("date", re.compile(r"\bwhen\b|what year|which year|what date|何时|什么时候|哪一?年|哪天|几月|日期|时间")),
    ("name", re.compile(r"\bwho\b|\bwhom\b|which company|what company|\bname\b|谁|哪位|哪家|哪个公司|名字|名称")),
    ("number", re.compile(r"how many|how large|how big|number of|多少|几个|几家|几名|数量")),
)
_NUMERIC = frozenset({"number", "percentage", "amount"})


@dataclass(frozen=True)
class KeyValue:
    """One value as a text states it: `text` verbatim, its `kind`, its dimension (unit), and `norm`, the form
    two statements of the same value share."""

    text: str
    kind: str
    dimension: str | None
    norm: str
    position: int = 0


def _date_norm(fields: tuple[int | None, ...]) -> str:
    return "date:" + ",".join("" if x is None else str(x) for x in fields)


def values(text: str) -> list[KeyValue]:
    """Every number, percentage, amount, date and name `text` states, in order of appearance."""
    from loreforge.review.grounding import extract_facts

    facts = extract_facts(text)
    raw = facts.text.raw
    found: list[KeyValue] = []
    for q in facts.quantities:
        shown = raw(q.start, q.end)
        kind = quantity_kind(q.value, q.dimension, shown)
        norm = _date_norm((int(q.value), None, None, None, None)) if kind == "date" else f"{kind}:{q.value.normalize():f}:{q.dimension or ''}"
        found.append(KeyValue(shown, kind, q.dimension, norm, q.start))
    for d in facts.dates:
        found.append(KeyValue(raw(d.start, d.end), "date", None, _date_norm(d.key()), d.start))
    for n in facts.names:
        found.append(KeyValue(raw(n.start, n.end), "name", None, "name:" + n.keys[0], n.start))
    return sorted((v for v in found if v.text), key=lambda v: v.position)


def asked_kind(question: str) -> str | None:
    """The kind of value a question asks for, from its question words (None when it does not say)."""
    lowered = question.lower()
    return next((kind for kind, words in _ASKS if words.search(lowered)), None)


def _rank(value: KeyValue, wanted: str | None) -> int:
    if wanted is not None and (value.kind == wanted or (wanted == "number" and value.kind in _NUMERIC)):
        return 0
    return 1 if value.kind in _NUMERIC else 2 if value.kind == "date" else 3


def find_key(reference: str, question: str = "") -> KeyValue | None:
    """The checkable value of `reference` that answers `question`: among the values the question does not state
    itself, the first of the kind it asks for, else the first number, else date, else name."""
    given = {v.norm for v in values(question)} if question else set()
    candidates = [v for v in values(reference) if v.norm not in given]
    if not candidates:
        return None
    wanted = asked_kind(question)
    return min(candidates, key=lambda v: (_rank(v, wanted), v.position))


def answer_values(reference: str, key: KeyValue, question: str = "") -> list[KeyValue]:
    """The values of the key's kind and dimension the reference states (the key first), without those the
    question states: the correct options of a multiple-choice probe."""
    given = {v.norm for v in values(question)} if question else set()
    out = [key]
    for v in values(reference):
        if v.kind == key.kind and v.dimension == key.dimension and v.norm not in given and v.norm not in {o.norm for o in out}:
            out.append(v)
    return out


def document_values(texts: Iterable[str]) -> list[KeyValue]:
    """The distinct values (by comparable form) stated in a document's texts, in order of appearance."""
    seen: dict[str, KeyValue] = {}
    for text in texts:
        for v in values(text):
            seen.setdefault(v.norm, v)
    return list(seen.values())
