"""Numbers as the grounding check reads them: Arabic and Chinese numerals, magnitudes and units.

Used by `loreforge.review.facts` to turn "2,432.36亿元", "46.8 亿", "RMB 243.2 billion", "三亿" and
"百分之七十三点七" into a comparable (value, dimension) pair. Values are `Decimal`s so that "38.60" and "38.6",
or "46.8亿" and "4680000万", compare equal exactly. A dimension says what the number counts: a currency
("CNY", "USD", ...), "%" (percent), "pp" (percentage points), "bp" (basis points), "times", or a counting
word ("人", "家", "分钟", ...); None when the text gives no unit.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

# Magnitude words after a number: their factor.
MAGNITUDES: dict[str, int] = {
    "万亿": 10**12,
    "千亿": 10**11,
    "百亿": 10**10,
    "十亿": 10**9,
    "亿": 10**8,
    "千万": 10**7,
    "百万": 10**6,
    "十万": 10**5,
    "万": 10**4,
    "千": 10**3,
    "trillion": 10**12,
    "tn": 10**12,
    "billion": 10**9,
    "bn": 10**9,
    "b": 10**9,
    "million": 10**6,
    "mln": 10**6,
    "mn": 10**6,
    "m": 10**6,
    "thousand": 10**3,
    "k": 10**3,
}

# Currency signs and codes written before a number.
CURRENCY_PREFIXES: dict[str, str] = {
    "us$": "USD",
    "hk$": "HKD",
    "$": "USD",
    "¥": "CNY",
    "€": "EUR",
    "£": "GBP",
    "rmb": "CNY",
    "cny": "CNY",
    "usd": "USD",
    "hkd": "HKD",
    "eur": "EUR",
    "gbp": "GBP",
    "jpy": "JPY",
    "人民币": "CNY",
    "美元": "USD",
    "港元": "HKD",
    "港币": "HKD",
}

# Units written after a number (Chinese ones need no word boundary; English ones do).
CJK_UNITS: dict[str, str] = {
    "元人民币": "CNY",
    "元": "CNY",
    "人民币": "CNY",
    "块钱": "CNY",
    "美元": "USD",
    "港元": "HKD",
    "港币": "HKD",
    "欧元": "EUR",
    "日元": "JPY",
    "英镑": "GBP",
    "韩元": "KRW",
    "%": "%",
    "‰": "‰",
    "个百分点": "pp",
    "百分点": "pp",
    "基点": "bp",
    "倍": "times",
    "人次": "人次",
    "分钟": "分钟",
    "小时": "小时",
    "个月": "个月",
    "平方米": "平方米",
    "公里": "公里",
}
CJK_COUNT_WORDS = "人个家单款条次天秒周年股吨辆台部件份名位户座所场项种笔张篇岁颗只亩"
EN_UNITS: dict[str, str] = {
    "percentage points": "pp",
    "percentage point": "pp",
    "percent": "%",
    "per cent": "%",
    "pct": "%",
    "pp": "pp",
    "bps": "bp",
    "bp": "bp",
    "basis points": "bp",
    "times": "times",
    "x": "times",
    "yuan": "CNY",
    "renminbi": "CNY",
    "rmb": "CNY",
    "cny": "CNY",
    "us dollars": "USD",
    "dollars": "USD",
    "usd": "USD",
    "hk dollars": "HKD",
    "hkd": "HKD",
    "euros": "EUR",
    "eur": "EUR",
    "gbp": "GBP",
    "pounds": "GBP",
    "yen": "JPY",
    "jpy": "JPY",
    "days": "天",
    "hours": "小时",
    "minutes": "分钟",
}

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
CN_NUMERAL_CHARS = "".join(_CN_DIGITS) + "".join(_CN_UNITS)


def parse_decimal(text: str) -> Decimal | None:
    """'2,432.36' → Decimal('2432.36'); None when the text is not a plain number."""
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None


def _cn_integer(text: str) -> int | None:
    if not text:
        return 0
    if all(c in _CN_DIGITS for c in text):  # digit by digit: 二〇二四 → 2024
        return int("".join(str(_CN_DIGITS[c]) for c in text))
    total, digit = 0, None
    for char in text:
        if char in _CN_DIGITS:
            if digit is not None:
                return None  # two digits in a row inside a positional numeral: not simple
            digit = _CN_DIGITS[char]
        elif char in _CN_UNITS:
            total += (1 if digit is None else digit) * _CN_UNITS[char]
            digit = None
        else:
            return None
    return total + (digit or 0)


def parse_chinese(text: str) -> Decimal | None:
    """Simple Chinese numerals: 三 → 3, 七十三点七 → 73.7, 一千二百六十 → 1260, 二〇二四 → 2024, 两 → 2.

    Returns None for anything it cannot read with certainty (mixed forms like 三五).
    """
    whole, _, fraction = text.partition("点")
    integer = _cn_integer(whole.replace("零", "") if any(c in _CN_UNITS for c in whole) else whole)
    if integer is None or any(c not in _CN_DIGITS for c in fraction):
        return None
    digits = "".join(str(_CN_DIGITS[c]) for c in fraction)
    return Decimal(f"{integer}.{digits}") if digits else Decimal(integer)


def unit_dimension(unit: str | None) -> str | None:
    """The dimension a unit word names (元 → CNY, percent → %, 家 → 家), or None."""
    if not unit:
        return None
    key = unit.strip().lower()
    if key in CJK_UNITS:
        return CJK_UNITS[key]
    if key in EN_UNITS:
        return EN_UNITS[key]
    return key if key in CJK_COUNT_WORDS else None


def compatible(asked: str | None, found: str | None) -> bool:
    """Whether a number stated with dimension `asked` is supported by one with dimension `found`.

    A missing unit on either side is compatible with any unit (the value still has to match).
    """
    return asked is None or found is None or asked == found
