"""How chunk sizes are counted: characters, or tokens (see `token.py` for the token measures).

The packer (`packer.py`) converts a size budget into a document offset with `limit` (how far can a chunk
starting here reach?) and an overlap budget into an offset with `tail` (where does the repeated text start?).
"""

from __future__ import annotations

from typing import Protocol


class Measure(Protocol):
    """A way of counting the size of text. Offsets are into `text`; nothing is copied beyond one window."""

    def count(self, text: str) -> int:
        """The size of `text` in this measure's units."""
        ...

    def limit(self, text: str, start: int, units: int, cap: int) -> int:
        """The farthest offset p <= cap such that text[start:p] holds at most `units` units."""
        ...

    def tail(self, text: str, end: int, units: int, floor: int) -> int:
        """The smallest offset p >= floor such that text[p:end] holds at most `units` units."""
        ...


class CharMeasure:
    """Sizes in characters (Python string length)."""

    def count(self, text: str) -> int:
        return len(text)

    def limit(self, text: str, start: int, units: int, cap: int) -> int:
        return max(start, min(cap, start + units))

    def tail(self, text: str, end: int, units: int, floor: int) -> int:
        return min(end, max(floor, end - units))
