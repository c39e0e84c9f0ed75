"""The `recursive` strategy: a separator priority list (settings.separators), like a recursive text splitter.

Each separator is a boundary level, the first in the list the strongest; "" means "any character" (the last
resort, and nothing after it is used). Chunks are filled up to chunk_size characters (clamped to
[min_length, max_length]) at the strongest separator available; if that would split a sentence (no sentence
separator such as "。" or ". " reached), a sentence-or-better separator anywhere up to max_length is preferred.
Separator placement: a separator that starts with whitespace ("\\n\\n", " ") begins the next chunk (and is
stripped there as whitespace; the cut is at the end of the text before it); any other separator ("。", ". ",
"，") stays at the end of the chunk it closes.
Headings, tables and code fences are still respected (their edges rank with the first separator).
"""

from __future__ import annotations

import re

from loreforge.chunk.boundaries import BLOCK, CHAR, SEPARATOR_BASE, Level, Profile, character_level
from loreforge.chunk.packer import Plan, Sizing
from loreforge.chunk.sizes import bounded_overlap, char_target
from loreforge.settings import SplitSettings

SENTENCE_SEPARATORS = frozenset({"。", "！", "？", "；", ". ", "! ", "? ", "!\n", "?\n", ".\n"})


def separator_pattern(separator: str) -> re.Pattern[str]:
    """For a separator starting with text: a regex whose match end is the cut (after the text part)."""
    head = separator.rstrip()
    tail = separator[len(head) :]
    return re.compile(re.escape(head) + (f"(?={re.escape(tail)})" if tail else ""))


def separator_level(strength: int, separator: str) -> Level:
    if separator[0].isspace():
        return Level(strength, re.compile(re.escape(separator)), at_start=True)
    return Level(strength, separator_pattern(separator))


def separator_levels(separators: list[str]) -> tuple[tuple[Level, ...], int | None]:
    """Levels for the separator list, and the strength below which a cut splits a sentence (None: no rule)."""
    levels: list[Level] = []
    seen: set[str] = set()
    sentence_strengths: list[int] = []
    for index, separator in enumerate(separators):
        if separator in seen:
            continue
        seen.add(separator)
        if separator == "":
            levels.append(character_level(CHAR))
            break
        strength = max(SEPARATOR_BASE - index, BLOCK + 1)
        levels.append(separator_level(strength, separator))
        if separator in SENTENCE_SEPARATORS:
            sentence_strengths.append(strength)
    return tuple(levels), (min(sentence_strengths) if sentence_strengths else None)


def plan(settings: SplitSettings) -> Plan:
    warnings: list[str] = []
    target = char_target(settings, warnings)
    levels, sentence_floor = separator_levels(settings.separators)
    sizing = Sizing(
        settings.min_length,
        settings.max_length,
        target=target,
        policy="far",
        sentence_floor=sentence_floor,
        overlap=bounded_overlap(settings, target, "characters", warnings),
    )
    profile = Profile(levels, heading_edges=False, edge=levels[0].strength if levels else SEPARATOR_BASE)
    return Plan(profile, sizing, warnings=tuple(warnings))
