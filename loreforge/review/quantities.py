"""Numbers, percentages and amounts in normalised text, for the grounding check.

An Arabic number is read with what surrounds it: a currency sign or code before it ($, US$, HK$, ¥, €, £,
RMB, USD, 人民币, 美元, ...), then a magnitude (万, 亿, 千万, million, bn, k, ...) and a unit (元, 美元, 港元,
%, 个百分点, percent, bps, 倍, times, 人次, a Chinese counting word such as 家 or 个, ...), each optionally
after one space. "2,432.36亿元" reads as 243,236,000,000 CNY; "73.7 %" as 73.7 %. Chinese numerals are read
where they are unambiguous: 百分之七十三点七 (73.7 %), 三亿 / 十二万元 (with a magnitude), 两倍 (times) and
七成 after 近/超/约/... (70 %).

Not read as numbers: digits glued to Latin letters (GPT-4, H20, Qwen2.5, 5G: these are names), version
strings (2.0.1), list markers at the start of a line ("1. ", "2、"), and whatever an earlier extractor
(dates) claimed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from loreforge.review.numerals import (
    CJK_COUNT_WORDS,
    CJK_UNITS,
    CN_NUMERAL_CHARS,
    CURRENCY_PREFIXES,
    EN_UNITS,
    MAGNITUDES,
    parse_chinese,
    parse_decimal,
    unit_dimension,
)
from loreforge.review.textnorm import Mask

_NUMBER = re.compile(r"(?<![0-9.,])(\d{1,3}(?:,\d{3})+(?![0-9])(?:\.\d+)?|\d+(?:\.\d+)?)(?![0-9]|\.\d)")
_LIST_MARKER = re.compile(r"(?m)^[ \t>-]*(?:[(\[]\d{1,2}[)\]]|\d{1,2}[.、)](?!\d))")


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_CJK_MAGS = [w for w in MAGNITUDES if not w.isascii()]
_MAG = re.compile(
    rf" ?(?P<cjk>{_alternation(_CJK_MAGS)})"
    rf"| ?(?P<word>(?i:trillion|billion|million|thousand|bn|mn|mln|tn))(?![A-Za-z])"
    r"|(?P<letter>[kKmMbB])(?![A-Za-z])"
)
_UNIT = re.compile(
    rf" ?(?P<cjk>{_alternation(list(CJK_UNITS))}|[{CJK_COUNT_WORDS}])"
    rf"| ?(?P<word>(?i:{_alternation([w for w in EN_UNITS if len(w) > 1])}))(?![A-Za-z])"
    r"|(?P<letter>[xX])(?![A-Za-z])"
)
_PREFIX = re.compile(
    r"(?:(?<![A-Za-z])(?i:us\$|hk\$|rmb|cny|usd|hkd|eur|gbp|jpy)|[$¥€£]|人民币|美元|港元|港币) ?$"
)
_CN = f"[{CN_NUMERAL_CHARS}点]"
_CN_PATTERNS = [
    re.compile(rf"百分之(?P<pct>{_CN}+)"),
    re.compile(
        rf"(?<![数几多{CN_NUMERAL_CHARS}万亿])(?P<num>[零〇一二两三四五六七八九十][{CN_NUMERAL_CHARS}]*(?:点[零〇一二三四五六七八九]+)?)"
        rf"(?P<mag>万亿|亿|万)"
    ),
    re.compile(rf"(?<![{CN_NUMERAL_CHARS}万亿])(?P<times>[两二三四五六七八九十])倍"),
    re.compile(r"(?<=[近超逾约达占增降过至])(?P<tenth>[一二三四五六七八九])成(?![为功立长熟绩本果员交都就型品分年人])"),
]


@dataclass(frozen=True)
class Quantity:
    """A number as stated: its value (magnitude applied) and dimension, located in the normalised text."""

    value: Decimal
    dimension: str | None
    start: int
    end: int


def _prefix(text: str, start: int) -> tuple[int, str | None]:
    match = _PREFIX.search(text, max(0, start - 5), start)
    if not match:
        return start, None
    return match.start(), CURRENCY_PREFIXES[match.group(0).strip().lower()]


def _magnitude(text: str, pos: int) -> tuple[int, int]:
    match = _MAG.match(text, pos)
    if not match:
        return pos, 1
    word = match.group("cjk") or match.group("word") or match.group("letter")
    return match.end(), MAGNITUDES[word.lower()]


def _unit(text: str, pos: int) -> tuple[int, str | None]:
    match = _UNIT.match(text, pos)
    if not match:
        return pos, None
    word = match.group("cjk") or match.group("word") or match.group("letter")
    return match.end(), unit_dimension(word)


def _glued_to_letters(text: str, start: int, end: int, has_prefix: bool) -> bool:
    before = text[start - 1] if start else ""
    if not has_prefix and (before.isascii() and before.isalpha()):
        return True
    if before == "-" and start >= 2 and text[start - 2].isascii() and text[start - 2].isalpha():
        return True
    after = text[end] if end < len(text) else ""
    return after.isascii() and after.isalpha()


def _arabic(text: str, mask: Mask) -> list[Quantity]:
    found: list[Quantity] = []
    for match in _NUMBER.finditer(text):
        if not mask.free(match.start(), match.end()):
            continue
        value = parse_decimal(match.group(1))
        start, currency = _prefix(text, match.start())
        pos, factor = _magnitude(text, match.end())
        end, dimension = _unit(text, pos)
        if value is None or _glued_to_letters(text, match.start(), end, currency is not None):
            continue
        if not mask.free(start, end):
            start, end = match.start(), match.end()
        mask.take(start, end)
        found.append(Quantity(value * factor, dimension or currency, start, end))
    return found


def _chinese(text: str, mask: Mask) -> list[Quantity]:
    found: list[Quantity] = []
    for pattern in _CN_PATTERNS:
        for match in pattern.finditer(text):
            groups = {k: v for k, v in match.groupdict().items() if v}
            number = parse_chinese(groups.get("pct") or groups.get("num") or groups.get("times") or groups["tenth"])
            if number is None or not mask.free(match.start(), match.end()):
                continue
            end, dimension = match.end(), None
            if "pct" in groups:
                dimension = "%"
            elif "times" in groups:
                dimension = "times"
            elif "tenth" in groups:
                number, dimension = number * 10, "%"
            else:
                number *= MAGNITUDES[groups["mag"]]
                end, dimension = _unit(text, end)
            mask.take(match.start(), end)
            found.append(Quantity(number, dimension, match.start(), end))
    return found


def find_quantities(text: str, mask: Mask) -> list[Quantity]:
    """Every number in `text` not already claimed in `mask` (list markers are skipped); claims them."""
    for marker in _LIST_MARKER.finditer(text):
        mask.take(marker.start(), marker.end())
    return _arabic(text, mask) + _chinese(text, mask)
