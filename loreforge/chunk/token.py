"""The `token` strategy: chunk_size and overlap counted in tokens of a local tokenizer.

settings.tokenizer is a tokenizer.json file or a folder holding one, loaded with `tokenizers` (nothing is
ever downloaded). Without one — unset, missing or unreadable — token counts are estimated from characters
(a CJK character ≈ 1 token, other text ≈ `CHARS_PER_TOKEN` characters per token) and the result carries a
warning. Chunks are filled up to chunk_size tokens at the strongest boundary (as in the markdown strategy,
without the heading preference); min_length and max_length (characters) still bound every chunk and win
over chunk_size when they disagree. Tables and code blocks are kept whole when they fit both limits.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from loreforge.chunk.boundaries import BLOCK, STANDARD_LEVELS, Profile
from loreforge.chunk.measure import Measure
from loreforge.chunk.packer import Plan, Sizing
from loreforge.chunk.sizes import bounded_overlap
from loreforge.settings import SplitSettings

TOKENIZER_FILE = "tokenizer.json"
CHARS_PER_TOKEN = 4
_FIRST_GUESS_CHARS_PER_TOKEN = 6
_CJK = (
    "\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003ffff"
)
_RUNS = re.compile(f"(?P<cjk>[{_CJK}]+)|[^{_CJK}]+")
NOT_SET_WARNING = (
    "split.tokenizer is not set — token sizes are estimated from characters; set split.tokenizer to a local "
    "tokenizer.json for exact counts (nothing is downloaded)"
)


class EstimatedTokens:
    """Token counts estimated from characters: CJK characters count 1, other text 1 per CHARS_PER_TOKEN."""

    @staticmethod
    def _rate(match: re.Match[str]) -> float:
        return 1.0 if match.lastgroup == "cjk" else 1.0 / CHARS_PER_TOKEN

    def count(self, text: str) -> int:
        total = sum((m.end() - m.start()) * self._rate(m) for m in _RUNS.finditer(text))
        return int(total + 0.999)

    def limit(self, text: str, start: int, units: int, cap: int) -> int:
        if units <= 0:
            return start
        used = 0.0
        for m in _RUNS.finditer(text, start, cap):
            rate = self._rate(m)
            cost = (m.end() - m.start()) * rate
            if used + cost > units:
                return m.start() + int((units - used) / rate)
            used += cost
        return cap

    def tail(self, text: str, end: int, units: int, floor: int) -> int:
        if units <= 0:
            return end
        used = 0.0
        for m in reversed(list(_RUNS.finditer(text, floor, end))):
            rate = self._rate(m)
            cost = (m.end() - m.start()) * rate
            if used + cost > units:
                return m.end() - int((units - used) / rate)
            used += cost
        return floor


class TokenizerTokens:
    """Exact token counts from a `tokenizers.Tokenizer` (special tokens are not added).

    The packer asks for a chunk's reach (`limit`) and then for the overlap at its end (`tail`) over the same
    text, so the last window's encoding is kept and reused for `tail` when it covers the span.
    """

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer
        self._last: tuple[int, int, Any] | None = None  # (start, stop, encoding) of the last `limit` window

    def _encode(self, text: str) -> Any:
        return self._tokenizer.encode(text, add_special_tokens=False)

    def count(self, text: str) -> int:
        return len(self._encode(text))

    def limit(self, text: str, start: int, units: int, cap: int) -> int:
        if units <= 0:
            return start
        window = max(units * _FIRST_GUESS_CHARS_PER_TOKEN, 256)
        while True:
            stop = min(cap, start + window)
            encoding = self._encode(text[start:stop])
            self._last = (start, stop, encoding)
            if len(encoding) > units:
                return start + max(_token_start(encoding, units), 1)
            if stop >= cap:
                return cap
            window *= 2

    def tail(self, text: str, end: int, units: int, floor: int) -> int:
        if units <= 0:
            return end
        last = self._last
        if last is not None and last[0] == floor and end <= last[1]:
            index = last[2].char_to_token(end - floor - 1)
            if index is not None:
                first = index + 1 - units
                return floor if first <= 0 else floor + _token_start(last[2], first)
        encoding = self._encode(text[floor:end])
        if len(encoding) <= units:
            return floor
        return floor + _token_start(encoding, len(encoding) - units)


def _token_start(encoding: Any, index: int) -> int:
    span = encoding.token_to_chars(index)
    return 0 if span is None else int(span[0])


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> Any:
    from tokenizers import Tokenizer

    return Tokenizer.from_file(path)


def load_measure(setting: str | None) -> tuple[Measure, str | None]:
    """The token measure for settings.tokenizer, or the estimate and a warning saying why."""
    if not setting:
        return EstimatedTokens(), NOT_SET_WARNING
    path = Path(setting).expanduser()
    if path.is_dir():
        path = path / TOKENIZER_FILE
    fallback = "token sizes are estimated from characters (nothing is downloaded)"
    if not path.is_file():
        return EstimatedTokens(), (
            f"split.tokenizer '{setting}' was not found (no file at {path}) — {fallback}; set split.tokenizer "
            f"to a local {TOKENIZER_FILE} or a folder holding one"
        )
    try:
        tokenizer = _load(str(path.resolve()), path.stat().st_mtime)
    except Exception as exc:  # tokenizers raises plain Exception for malformed files
        return EstimatedTokens(), (
            f"split.tokenizer '{setting}' could not be read as a tokenizers file ({exc}) — {fallback}; "
            f"point it at a valid {TOKENIZER_FILE}"
        )
    return TokenizerTokens(tokenizer), None


def plan(settings: SplitSettings) -> Plan:
    measure, warning = load_measure(settings.tokenizer)
    warnings = [warning] if warning else []
    sizing = Sizing(
        settings.min_length,
        settings.max_length,
        target=settings.chunk_size,
        policy="far",
        overlap=bounded_overlap(settings, settings.chunk_size, "tokens", warnings),
        measure=measure,
        token_units=True,
    )
    return Plan(Profile(STANDARD_LEVELS, heading_edges=False, edge=BLOCK), sizing, warnings=tuple(warnings))
