"""Turning the size settings into a target and an overlap every strategy can honour.

Used by the fixed, recursive and token strategy modules. min_length and max_length (characters) bound every
chunk; chunk_size is a target inside them, and the overlap must leave room for new text in each chunk.
"""

from __future__ import annotations

from loreforge.settings import SplitSettings


def char_target(settings: SplitSettings, warnings: list[str]) -> int:
    """chunk_size clamped to [min_length, max_length], with a warning when it had to move."""
    target = min(max(settings.chunk_size, settings.min_length), settings.max_length)
    if target != settings.chunk_size:
        warnings.append(
            f"split.chunk_size ({settings.chunk_size}) is outside split.min_length..split.max_length "
            f"({settings.min_length}..{settings.max_length}); chunks aim at {target} characters instead"
        )
    return target


def bounded_overlap(settings: SplitSettings, target: int, unit: str, warnings: list[str]) -> int:
    """The overlap, at most half of the target so that every chunk still holds new text."""
    overlap = min(settings.overlap, target // 2)
    if overlap != settings.overlap:
        warnings.append(
            f"split.overlap ({settings.overlap} {unit}) is more than half of the chunk size ({target} {unit}); "
            f"{overlap} {unit} are repeated instead so that every chunk holds new text"
        )
    return overlap
