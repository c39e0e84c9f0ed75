"""Dates and periods in normalised text, for the grounding check.

Reads 2024年8月20日, 8月20日, 2024年8月, 2024年 (a year), 2024-08-20 / 2024/8/20 / 2024.8.20, 第二季度 / 二季度 /
2024年第二季度, Q2 / Q2 2024 / 2024 Q2 / Q2'24 / 2Q24 / second quarter of 2024, 上半年 / H1 2024 / first half,
FY2024 / 2024财年, and English "August 20, 2024" / "20 Aug 2024" / "June 2024". Each becomes a `DateRef` whose
fields (year, quarter, half, month, day) are None where the text does not say them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

from loreforge.review.textnorm import Mask

_Y = r"(?P<y>(?:19|20)\d{2})"
_YO = r"(?:(?P<y>(?:19|20)\d{2}) ?年 ?(?:度 ?)?(?:的 ?)?)?"  # an optional Chinese year before a period
_M = r"(?P<m>1[0-2]|0?[1-9])"
_D = r"(?P<d>3[01]|[12]\d|0?[1-9])"
_MONTH = (
    r"(?P<mn>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?"
    r"|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)(?![A-Za-z])\.?"
)
_CN_Q = "一二三四"
_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4}
_NOT_AFTER = r"(?![A-Za-z0-9])"
_NOT_BEFORE = r"(?<![A-Za-z0-9])"

_MONTH_WORDS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")

# (pattern, words one of which the lower-cased text must hold for the pattern to be tried). Order matters:
# earlier patterns claim their text first.
_PATTERNS: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (re.compile(rf"(?<![\d.]){_Y}(?P<sep>[-/.]){_M}(?P=sep){_D}(?![\d]|\.\d)"), ("-", "/", ".")),
    (
        re.compile(rf"{_YO}(?:第 ?(?P<q>[一二三四1-4])|(?<![上下前后\d〇零一二两三四五六七八九十百千])(?P<qc>[一二三四]))季度"),
        ("季度",),
    ),
    (re.compile(rf"{_YO}(?P<hc>上|下)半年度?"), ("半年",)),
    (
        re.compile(
            rf"(?:{_Y} ?年 ?)?{_NOT_BEFORE}[Qq](?P<q>[1-4])"
            rf"(?:[ \-/](?P<y2>(?:19|20)\d{{2}})|['’](?P<yy>\d{{2}}))?{_NOT_AFTER}"
        ),
        ("q",),
    ),
    (re.compile(rf"{_NOT_BEFORE}{_Y} ?[Qq](?P<q>[1-4]){_NOT_AFTER}"), ("q",)),
    (re.compile(rf"{_NOT_BEFORE}(?P<q>[1-4])Q ?(?:(?P<y2>(?:19|20)\d{{2}})|(?P<yy>\d{{2}}))?{_NOT_AFTER}"), ("q",)),
    (
        re.compile(rf"{_NOT_BEFORE}H(?P<h>[12])(?:[ \-/](?P<y2>(?:19|20)\d{{2}})|['’](?P<yy>\d{{2}}))?{_NOT_AFTER}"),
        ("h",),
    ),
    (re.compile(rf"{_NOT_BEFORE}{_Y} ?H(?P<h>[12]){_NOT_AFTER}"), ("h",)),
    (re.compile(rf"{_NOT_BEFORE}(?P<h>[12])H ?(?:(?P<y2>(?:19|20)\d{{2}})|(?P<yy>\d{{2}})){_NOT_AFTER}"), ("h",)),
    (
        re.compile(
            r"(?i)(?<![a-z])(?P<qw>first|second|third|fourth|1st|2nd|3rd|4th) quarter"
            r"(?: of)?(?: (?:the )?(?:fiscal )?(?:year )?(?P<y>(?:19|20)\d{2}))?"
        ),
        ("quarter",),
    ),
    (
        re.compile(
            r"(?i)(?<![a-z])(?P<hw>first|second) half(?: of)?(?: (?:the )?(?:fiscal )?(?:year )?(?P<y>(?:19|20)\d{2}))?"
        ),
        ("half",),
    ),
    (re.compile(rf"(?<!\d){_Y} ?年 ?{_M} ?月份?(?: ?{_D} ?[日号])?"), ("月",)),
    (re.compile(rf"(?<![\d.]){_M} ?月份?(?: ?{_D} ?[日号])?(?!\d)"), ("月",)),
    (re.compile(rf"(?<!\d){_Y} ?(?:年|财年)"), ("年",)),
    (re.compile(rf"{_NOT_BEFORE}FY ?(?:(?P<y2>(?:19|20)\d{{2}})|(?P<yy>\d{{2}})){_NOT_AFTER}"), ("fy",)),
    (re.compile(rf"(?<![A-Za-z]){_MONTH} {_D}(?:st|nd|rd|th)?(?:,? {_Y})?(?!\d)"), _MONTH_WORDS),
    (re.compile(rf"{_NOT_BEFORE}{_D}(?:st|nd|rd|th)? (?:of )?{_MONTH}(?:,? {_Y})?(?!\d)"), _MONTH_WORDS),
    (re.compile(rf"(?<![A-Za-z]){_MONTH},? {_Y}(?!\d)"), _MONTH_WORDS),
]


@dataclass(frozen=True)
class DateRef:
    """A date or period; None fields are not stated. `start`/`end` locate it in the normalised text."""

    year: int | None = None
    quarter: int | None = None
    half: int | None = None
    month: int | None = None
    day: int | None = None
    start: int = 0
    end: int = 0

    def key(self) -> tuple[int | None, ...]:
        return (self.year, self.quarter, self.half, self.month, self.day)

    def within(self, other: DateRef) -> bool:
        """Every field this date states is stated the same way by `other`."""
        return all(mine is None or mine == theirs for mine, theirs in zip(self.key(), other.key(), strict=True))

    def parts(self) -> list[DateRef]:
        """The year alone and the rest alone, for dates that state both (else just itself)."""
        rest = DateRef(None, self.quarter, self.half, self.month, self.day)
        if self.year is None or rest.key() == (None,) * 5:
            return [self]
        return [DateRef(year=self.year), rest]


def _group(match: re.Match[str], name: str) -> str | None:
    return match.groupdict().get(name)


def _year(match: re.Match[str]) -> int | None:
    for name in ("y", "y2"):
        value = _group(match, name)
        if value:
            return int(value)
    short = _group(match, "yy")
    return 2000 + int(short) if short else None


def _quarter(match: re.Match[str]) -> int | None:
    for name in ("q", "qc"):
        value = _group(match, name)
        if value:
            return int(value) if value.isdigit() else _CN_Q.index(value) + 1
    word = _group(match, "qw")
    return _ORDINALS[word.lower()] if word else None


def _half(match: re.Match[str]) -> int | None:
    value = _group(match, "h") or _group(match, "hc") or _group(match, "hw")
    if not value:
        return None
    return {"1": 1, "2": 2, "上": 1, "下": 2, "first": 1, "second": 2}[value.lower()]


def _month(match: re.Match[str]) -> int | None:
    value = _group(match, "m")
    if value:
        return int(value)
    name = _group(match, "mn")
    return _MONTH_WORDS.index(name[:3].lower()) + 1 if name else None


def _ref(match: re.Match[str]) -> DateRef:
    day = _group(match, "d")
    return DateRef(
        _year(match), _quarter(match), _half(match), _month(match), int(day) if day else None,
        match.start(), match.end(),
    )


def find_dates(text: str, mask: Mask) -> list[DateRef]:
    """Every date or period in `text` not already claimed in `mask`; claims what it finds."""
    found: list[DateRef] = []
    lower = text.lower()
    for pattern, needles in _PATTERNS:
        if not any(needle in lower for needle in needles):
            continue
        for match in pattern.finditer(text):
            if match.end() > match.start() and mask.free(match.start(), match.end()):
                ref = _ref(match)
                if any(getattr(ref, f.name) is not None for f in fields(DateRef)[:5]):
                    mask.take(match.start(), match.end())
                    found.append(ref)
    return found
