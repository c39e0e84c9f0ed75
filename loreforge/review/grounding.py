"""The grounding check: is every number, amount, date and name in an answer found in its source chunk?

The review stage runs this on each QA pair (answer against the chunk it was generated from) without an LLM,
to catch the reference workflow's failure mode: a fluent answer with a wrong figure (the source says 快手's
adjusted net profit grew 73.7 %; a tuned model answered 48.7 %).

Both texts are normalised the same way (`loreforge.review.textnorm`: NFKC so full-width digits and ％ become
ASCII, Markdown emphasis dropped), then the answer's facts are extracted and looked up in the source's:

- **numbers** (`loreforge.review.quantities`): grounded when the source states the same value (magnitude
  applied, so 46.8亿 = 4680000万 = 4.68 billion; thousands separators and trailing zeros ignored) with a
  compatible unit (the same dimension, or no unit on one side: "310亿元" is grounded by "约310亿元" and by
  "310亿"; "48.7%" is not grounded by "73.7%", nor "5个百分点" by "5%"). A bare integer is also grounded by
  a year the source states (answer "in 2024", source "2024年");
- **dates** (`loreforge.review.dates`): grounded when a source date states every field the answer's does
  ("8月20日" by "2024年8月20日"), or when its year and the rest are each grounded ("2024年8月20日" by
  "2024年…" and "8月20日…");
- **names** (`loreforge.review.names`): grounded when the source contains them, case-insensitively (Latin
  names on word boundaries, so "AI" is not found inside "AIGC").

Offending values are reported as the answer wrote them ("48.7%", "2024年8月21日", "Kling").
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from loreforge.review.dates import DateRef, find_dates
from loreforge.review.names import LATIN_LETTERS as _LATIN
from loreforge.review.names import NameRef, find_names
from loreforge.review.numerals import compatible
from loreforge.review.quantities import Quantity, find_quantities
from loreforge.review.textnorm import Mask, Normalized, normalize


@dataclass(frozen=True)
class Grounding:
    """The result of `check_grounding`: `ok` when nothing is missing; values as the answer wrote them."""

    ok: bool
    missing: tuple[str, ...]
    checked: tuple[str, ...]


@dataclass(frozen=True)
class Facts:
    """What one text states: its numbers, dates and names, located in its normalised form."""

    text: Normalized
    quantities: tuple[Quantity, ...]
    dates: tuple[DateRef, ...]
    names: tuple[NameRef, ...]


def extract_facts(text: str) -> Facts:
    """Normalise `text` and find its dates first, then numbers, then names (each claims its characters)."""
    norm = normalize(text)
    mask = Mask(len(norm.text))
    dates = find_dates(norm.text, mask)
    quantities = find_quantities(norm.text, mask)
    names = find_names(norm.text, mask)
    return Facts(norm, tuple(quantities), tuple(dates), tuple(names))


class _Source:
    """The source chunk's facts, indexed for lookups."""

    def __init__(self, text: str) -> None:
        facts = extract_facts(text)
        self.values: dict[Decimal, set[str | None]] = defaultdict(set)
        for quantity in facts.quantities:
            self.values[quantity.value].add(quantity.dimension)
        self.dates = facts.dates
        self.years = {d.year for d in facts.dates if d.year is not None}
        lowered = facts.text.text.lower()
        self.flat = re.sub(r"\s+", "", lowered)
        self.spaced = re.sub(r"\s+", " ", lowered)

    def has_quantity(self, quantity: Quantity) -> bool:
        dimensions = self.values.get(quantity.value, set())
        if any(compatible(quantity.dimension, found) for found in dimensions):
            return True
        value = quantity.value
        return quantity.dimension is None and value == value.to_integral_value() and int(value) in self.years

    def has_date(self, date: DateRef) -> bool:
        if any(date.within(found) for found in self.dates):
            return True
        parts = date.parts()
        if len(parts) > 1:
            return all(self.has_date(part) for part in parts)
        only_year = date.year is not None and date.key()[1:] == (None,) * 4
        return only_year and None in self.values.get(Decimal(date.year or 0), set())

    def has_name(self, name: NameRef) -> bool:
        if not name.latin:
            return any(key in self.flat for key in name.keys)
        for key in name.keys:
            words = r"[\s\-&.'’]*".join(re.escape(w) for w in key.split())  # "Brindle & Osk", "St. Ives"
            if re.search(rf"(?<![{_LATIN}0-9]){words}(?![{_LATIN}0-9])", self.spaced):
                return True
        return False


@lru_cache(maxsize=128)
def _source(text: str) -> _Source:
    return _Source(text)


def check_grounding(answer: str, source: str) -> Grounding:
    """Check that every number, percentage, amount, date and proper name in `answer` appears in `source`."""
    facts = extract_facts(answer)
    index = _source(source)
    found: list[tuple[int, str, bool]] = []
    for quantity in facts.quantities:
        found.append((quantity.start, facts.text.raw(quantity.start, quantity.end), index.has_quantity(quantity)))
    for date in facts.dates:
        found.append((date.start, facts.text.raw(date.start, date.end), index.has_date(date)))
    for name in facts.names:
        found.append((name.start, facts.text.raw(name.start, name.end), index.has_name(name)))
    found.sort(key=lambda item: item[0])
    checked = tuple(dict.fromkeys(raw for _, raw, _ in found if raw))
    missing = tuple(dict.fromkeys(raw for _, raw, ok in found if raw and not ok))
    return Grounding(ok=not missing, missing=missing, checked=checked)
