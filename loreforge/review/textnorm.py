"""Text normalisation for the grounding check, keeping a map back to the original characters.

`normalize` applies NFKC character by character (full-width digits, letters, ％ and spaces become ASCII),
drops Markdown emphasis and code marks (`*`, `` ` ``) so that "破**3**亿" reads "破3亿", and keeps the
full-width comma "，" as it is (NFKC would turn it into ",", which would then read as a thousands separator
in "增长5，2024年"). Every normalised character remembers the span of the original character it came from,
so values found in normalised text are reported exactly as the answer wrote them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

_DROPPED = frozenset("*`")
_KEPT = frozenset("，")


@dataclass(frozen=True)
class Normalized:
    """Normalised text plus, for each of its characters, the index of the original character it came from."""

    text: str
    original: str
    origin: Sequence[int]

    def raw(self, start: int, end: int) -> str:
        """The original text behind normalised characters [start, end), stripped."""
        if start >= end:
            return ""
        return self.original[self.origin[start] : self.origin[end - 1] + 1].strip()


@lru_cache(maxsize=8192)
def _mapped(char: str) -> str:
    if char in _DROPPED:
        return ""
    return char if char in _KEPT or char.isascii() else unicodedata.normalize("NFKC", char)


def normalize(text: str) -> Normalized:
    """NFKC per character, Markdown marks dropped, with an offset map back to `text`."""
    pieces = [_mapped(char) for char in text]
    joined = "".join(pieces)
    if len(joined) == len(text) and all(pieces):  # every character maps to exactly one
        return Normalized(joined, text, range(len(text)))
    origin = [index for index, piece in enumerate(pieces) for _ in piece]
    return Normalized(joined, text, origin)


def is_cjk(char: str) -> bool:
    """A Han character (the CJK unified ideographs and their extension A)."""
    return "\u3400" <= char <= "\u9fff"


class Mask:
    """Which normalised characters an earlier extractor has already claimed."""

    def __init__(self, size: int) -> None:
        self._taken = bytearray(size)

    def free(self, start: int, end: int) -> bool:
        return not any(self._taken[start:end])

    def take(self, start: int, end: int) -> None:
        self._taken[start:end] = b"\x01" * (end - start)
