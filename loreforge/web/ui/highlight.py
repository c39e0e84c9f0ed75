"""Marking the values the grounding check looked at — figures, dates, names — in an answer and in its source chunk:
the text cut into (piece, mark) runs that a template wraps in <mark> after escaping each piece."""

from __future__ import annotations

import re
from typing import Any

FOUND, MISSING = "found", "missing"


def runs(text: str, marks: dict[str, str]) -> list[tuple[str, str | None]]:
    """`text` as runs of (piece, class or None); each value in `marks` (value -> class) is marked wherever it
    occurs, longest values first."""
    values = sorted((v for v in marks if v), key=len, reverse=True)
    if not values or not text:
        return [(text, None)]
    pattern = re.compile("|".join(re.escape(v) for v in values))
    out: list[tuple[str, str | None]] = []
    at = 0
    for match in pattern.finditer(text):
        if match.start() > at:
            out.append((text[at:match.start()], None))
        out.append((match.group(0), marks[match.group(0)]))
        at = match.end()
    if at < len(text):
        out.append((text[at:], None))
    return out


def grounding_marks(grounding: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """(marks for the answer, marks for the source): values missing from the source are flagged in the answer;
    the values that were found are marked in both."""
    missing = {str(v) for v in grounding.get("missing") or []}
    checked = {str(v) for v in grounding.get("checked") or []}
    answer = {v: MISSING for v in missing} | {v: FOUND for v in checked - missing}
    return answer, {v: FOUND for v in checked - missing}
