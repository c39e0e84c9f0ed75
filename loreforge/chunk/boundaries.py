"""Where a chunk may end, and how good each place is.

The packer (`packer.py`) asks a `Finder` for the best cut inside a window of offsets. A cut is an offset just
after some non-whitespace character; the next chunk starts at the next non-whitespace character. Each
candidate has a strength; the strongest level present in the window wins, and a policy picks among the
candidates of that level (the farthest, the nearest to the window start, or the nearest to a target).

Candidates come from three places:
- block edges from `layout.py` (before/after a heading, code block or table);
- regexes over the plain text between blocks (paragraph, list item, line, sentence, clause, word, character);
- the inside of blocks too long for one chunk: between table rows / code lines, then words, then characters.
Small tables and code blocks have no inside candidates: they are never split. A cut right after a heading
(its body would start the next chunk) is the weakest candidate of all, `LAST`.

Text between blocks is searched with the regexes directly on the document string (`pos`/`endpos`), never on
copies, so the cost of a window is proportional to its size.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Callable, Literal, NamedTuple

from loreforge.chunk.layout import HEADING, LABEL, Block, Layout, rstrip_pos

Policy = Literal["far", "near", "target"]

CUSTOM = 200
HEADING_BASE = 100  # a heading of level L starts a section with strength HEADING_BASE - L (94..99)
LABEL_EDGE = 93  # markdown: before a bold-line label (weaker than any heading)
SEPARATOR_BASE = 90  # recursive: separator i has strength SEPARATOR_BASE - i
BLOCK = 60
LIST = 55
LINE = 50
SENTENCE = 40
CLAUSE = 30
WORD = 20
INNER_LINE = 16  # between rows of a table / lines of a code block too long for one chunk
CHAR = 12
INNER_WORD = 8
INNER_CHAR = 7
LAST = 5  # right after a heading (or label) whose body follows
HEAD_WORD = 4  # inside a heading line longer than a chunk
HEAD_CHAR = 3

_H = r"[^\S\n]"
_CLOSERS = "”’\"'』」）)\\]"
# Patterns start with a literal or a character class so the regex engine can skip ahead quickly; patterns
# marked `at_start` cut where the match starts (before the whitespace they match), the others where it ends.
PARAGRAPH_RX = re.compile(rf"\n{_H}*\n")
LIST_RX = re.compile(rf"\n(?={_H}*(?:[-*+]|\d{{1,9}}[.)]){_H})")
LINE_RX = re.compile(r"\n")
SENTENCE_RX = re.compile(rf"[。！？；]+[{_CLOSERS}]*|[.!?]+[{_CLOSERS}]*(?=\s)")
CLAUSE_RX = re.compile(r"[，、：]+|[,;:](?=\s)")
WORD_RX = re.compile(r"\s+")
CHARACTER_RX = re.compile(r"(?<=\S)")  # any offset just after text: the character level (scanned directly)
_INLINE_WORD_RX = re.compile(rf"{_H}+")
_BACK = 8  # a match may start this far before the window and still end inside it


@dataclass(frozen=True)
class Level:
    """One kind of candidate inside text: its strength and the regex that finds the cuts.

    The cut is the match end, or its start when `at_start`; a cut inside whitespace counts as a cut at the
    text before it. `characters` marks the character level (the last resort, no regex: every offset just
    after a non-whitespace character, moved off combining marks).
    """

    strength: int
    pattern: re.Pattern[str]
    at_start: bool = False
    characters: bool = False


def character_level(strength: int) -> Level:
    return Level(strength, CHARACTER_RX, characters=True)


def _ws(strength: int, rx: re.Pattern[str]) -> Level:
    return Level(strength, rx, at_start=True)


STANDARD_LEVELS: tuple[Level, ...] = (
    _ws(BLOCK, PARAGRAPH_RX),
    _ws(LIST, LIST_RX),
    _ws(LINE, LINE_RX),
    Level(SENTENCE, SENTENCE_RX),
    Level(CLAUSE, CLAUSE_RX),
    _ws(WORD, WORD_RX),
    character_level(CHAR),
)
_INNER_LEVELS = (_ws(INNER_LINE, LINE_RX), _ws(INNER_WORD, _INLINE_WORD_RX), character_level(INNER_CHAR))
_HEADING_LEVELS = (_ws(HEAD_WORD, WORD_RX), character_level(HEAD_CHAR))


@dataclass(frozen=True)
class Profile:
    """What a strategy considers a good place to cut."""

    text_levels: tuple[Level, ...]
    heading_edges: bool  # True: a heading of level L starts a section (strength HEADING_BASE - L)
    edge: int  # strength of the other block edges (before/after a table or code block)
    near: frozenset[int] = frozenset()  # levels whose candidates are taken nearest to the window start


class Cut(NamedTuple):
    pos: int
    strength: int


class _Segment(NamedTuple):
    levels: tuple[Level, ...]
    lo: int  # candidates lie strictly between lo and hi
    hi: int


def safe_char(text: str, pos: int, floor: int) -> int:
    """Step back so a character-level cut does not separate a combining mark or joiner from its base."""
    if pos >= len(text):
        return pos
    probe = pos
    while probe > floor + 1 and (unicodedata.combining(text[probe]) or text[probe] in "\u200d\ufe0e\ufe0f"):
        probe -= 1
    return probe if probe > floor else pos


class Finder:
    """Finds the best cut in a window of a laid-out document for one strategy profile."""

    def __init__(self, layout: Layout, profile: Profile, is_big: Callable[[Block], bool]) -> None:
        self.layout = layout
        self.text = layout.text
        self.profile = profile
        self.is_big = is_big
        self._ahead = max(
            [64] + [len(lv.pattern.pattern) + 8 for lv in profile.text_levels]
        )

    # -- public ---------------------------------------------------------------------------------
    def best(
        self, lo: int, hi: int, policy: Policy, target: int = 0, min_strength: int = 0, max_strength: int = CUSTOM
    ) -> Cut | None:
        """The strongest candidate with lo <= pos <= hi and a strength in [min_strength, max_strength]."""
        if hi < lo:
            return None
        segments, edges = self._collect(lo, hi)
        strengths = {c.strength for c in edges}
        for seg in segments:
            strengths.update(lv.strength for lv in seg.levels)
        for strength in sorted(strengths, reverse=True):
            if strength > max_strength:
                continue
            if strength < min_strength:
                break
            # after-heading cuts: the farthest keeps a chain of headings together
            pol: Policy = "near" if strength in self.profile.near else "far" if strength == LAST else policy
            found = [c.pos for c in edges if c.strength == strength]
            for seg in segments:
                for level in seg.levels:
                    if level.strength == strength:
                        found.extend(self._scan(level, seg, lo, hi, pol, target))
            if found:
                return Cut(_pick(found, pol, target), strength)
        return None

    def headings_between(self, lo: int, hi: int) -> list[Cut]:
        """Section starts (heading edges that are not `LAST`) with lo <= pos <= hi, in order."""
        layout = self.layout
        i = max(layout.index_before(lo) - 1, 0)
        cuts: list[Cut] = []
        while i < len(layout.blocks) and layout.blocks[i].prev_end <= hi:
            block = layout.blocks[i]
            if block.kind == HEADING and block.prev_end >= lo:
                strength = self._before(i)
                if strength != LAST:
                    cuts.append(Cut(block.prev_end, strength))
            i += 1
        return cuts

    # -- candidates -----------------------------------------------------------------------------
    def _before(self, i: int) -> int:
        """Strength of the cut just before block i."""
        blocks = self.layout.blocks
        block = blocks[i]
        prev = blocks[i - 1] if i > 0 and blocks[i - 1].end == block.prev_end else None
        if prev is not None and prev.kind == HEADING:
            if not (block.kind == HEADING and block.level <= prev.level):
                return LAST  # the previous heading would end the chunk without its body
        if prev is not None and prev.kind == LABEL and block.kind != HEADING:
            return LAST
        if self.profile.heading_edges and block.kind == HEADING:
            return HEADING_BASE - block.level
        if self.profile.heading_edges and block.kind == LABEL:
            return LABEL_EDGE
        return self.profile.edge

    def _after(self, block: Block) -> int:
        return LAST if block.kind in (HEADING, LABEL) else self.profile.edge

    def _collect(self, lo: int, hi: int) -> tuple[list[_Segment], list[Cut]]:
        layout = self.layout
        blocks = layout.blocks
        segments: list[_Segment] = []
        edges: list[Cut] = []
        i = layout.index_before(lo)
        gap_start = 0
        if i >= 0:
            self._add_block(blocks[i], i, lo, hi, segments, edges)
            gap_start = blocks[i].end
        i += 1
        while True:
            nxt = blocks[i] if i < len(blocks) else None
            gap_end = nxt.prev_end if nxt is not None else layout.content_end
            if gap_end > gap_start + 1 and gap_start < hi and gap_end > lo:
                segments.append(_Segment(self.profile.text_levels, gap_start, gap_end))
            if nxt is None or nxt.prev_end > hi:
                break
            if nxt.prev_end >= lo and nxt.prev_end > 0:
                edges.append(Cut(nxt.prev_end, self._before(i)))
            if nxt.start > hi:
                break
            self._add_block(nxt, i, lo, hi, segments, edges)
            gap_start = nxt.end
            i += 1
        return segments, edges

    def _add_block(self, block: Block, i: int, lo: int, hi: int, segments: list[_Segment], edges: list[Cut]) -> None:
        blocks = self.layout.blocks
        if block.end > lo and block.start < hi:
            if block.kind in (HEADING, LABEL):
                segments.append(_Segment(_HEADING_LEVELS, block.start, block.end))
            elif self.is_big(block):
                segments.append(_Segment(_INNER_LEVELS, block.inner, block.body_end))
        adjacent = i + 1 < len(blocks) and blocks[i + 1].prev_end == block.end
        if lo <= block.end <= hi and not adjacent and block.end < self.layout.content_end:
            edges.append(Cut(block.end, self._after(block)))

    def _scan(self, level: Level, seg: _Segment, lo: int, hi: int, policy: Policy, target: int) -> list[int]:
        a, b = max(lo, seg.lo + 1), min(hi, seg.hi - 1)
        if a > b:
            return []
        if level.characters:
            return self._characters(a, b, policy, target)
        rx, at_start, floor = level.pattern, level.at_start, seg.lo
        if policy == "near":
            found = [self._first(rx, at_start, floor, a, b)]
        elif policy == "far":
            found = [self._last(rx, at_start, floor, a, b)]
        else:
            t = min(max(target, a), b)
            found = [self._last(rx, at_start, floor, a, t), self._first(rx, at_start, floor, t, b)]
        return [p for p in found if p is not None]

    def _characters(self, a: int, b: int, policy: Policy, target: int) -> list[int]:
        """Character-level cuts (just after a non-whitespace character), without a regex per position."""
        text = self.text
        found = []
        if policy != "near":
            p = b if policy == "far" else min(max(target, a), b)
            while p > a and text[p - 1].isspace():
                p -= 1
            if not text[p - 1].isspace():
                found.append(safe_char(text, p, a - 1))
        if policy != "far":
            p = a if policy == "near" else min(max(target, a), b)
            while p < b and text[p - 1].isspace():
                p += 1
            if not text[p - 1].isspace():
                found.append(safe_char(text, p, a - 1))
        return found

    def _cut(self, m: re.Match[str], at_start: bool, floor: int) -> int:
        """The cut of a match; a cut inside whitespace (before "\n", before a separator such as "\n\n") is
        a cut at the text before it. Returns `floor` when there is no text before it in the segment."""
        return rstrip_pos(self.text, m.start() if at_start else m.end(), floor)

    def _first(self, rx: re.Pattern[str], at_start: bool, floor: int, a: int, b: int) -> int | None:
        for m in rx.finditer(self.text, max(0, a - _BACK), min(len(self.text), b + self._ahead)):
            if (m.start() if at_start else m.end()) > b:
                return None
            cut = self._cut(m, at_start, floor)
            if cut >= a and cut > floor:
                return cut
        return None

    def _last(self, rx: re.Pattern[str], at_start: bool, floor: int, a: int, b: int) -> int | None:
        width = 256
        while True:
            start = max(a, b - width)
            last = None
            for m in rx.finditer(self.text, max(0, start - _BACK), min(len(self.text), b + self._ahead)):
                if (m.start() if at_start else m.end()) > b:
                    break
                cut = self._cut(m, at_start, floor)
                if cut >= a and cut > floor:
                    last = cut
            if last is not None or start <= a:
                return last
            width *= 4


def _pick(found: list[int], policy: Policy, target: int) -> int:
    if policy == "far":
        return max(found)
    if policy == "near":
        return min(found)
    return min(found, key=lambda p: (abs(p - target), -p))
