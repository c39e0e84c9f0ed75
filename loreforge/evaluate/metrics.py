"""Per-answer scores of the evaluation stage: did a model's answer to a probe state its key fact, which option
of a choice question did it pick, and how close is it to the reference by BLEU-4 / ROUGE as LLaMA Factory
computes them. Fed by the probes (`loreforge.evaluate.probes`: question, reference, key, options) and the
answers the evaluation run generates; its results are aggregated by `loreforge.evaluate.stats`.

- `key_fact_match(answer, key)`: the key's numbers, amounts, dates and names are read with the grounding
  check's extractors and normalisers (`loreforge.review.grounding`), and each must be stated by the answer:
  "73.7 %" and "百分之七十三点七" state 73.7%, "1,234" states 1234, "1.23 billion" states 12.3亿; 48.7% does
  not state 73.7%, nor 173.7 state 73.7. A key with none of those (a bare person's name, a term) is looked
  up as normalised text, on word boundaries for Latin letters and digits.
- `choice_letters`, `true_false`: what a free-text answer picks ("答案：B", "(b)", "B and D", "错误").
- `bleu4`, `rouge`, `similarity`: exactly LLaMA Factory's `ComputeSimilarity` (v0.9.x): ROUGE-1/2/L
  f-scores of `rouge_chinese` over jieba tokens, BLEU-4 of nltk over characters with smoothing method3,
  each ×100 rounded to 4 decimals, then averaged into `predict_results.json`'s keys.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from typing import Any

from loreforge.errors import ConfigError, UserError
from loreforge.review.grounding import Facts, check_grounding, extract_facts
from loreforge.review.names import LATIN_LETTERS
from loreforge.review.textnorm import is_cjk, normalize

KINDS = ("percentage", "amount", "number", "date", "name")
_PERCENTS = frozenset({"%", "pp", "bp", "‰"})
_CURRENCIES = frozenset({"CNY", "USD", "HKD", "EUR", "GBP", "JPY", "KRW"})
_YEARS = (1800, 2100)  # a bare four-digit integer in this range is read as a year
_MAX_VALUE_CHARS = 60  # longer than this, a text is a sentence, not a value
_L = LATIN_LETTERS


# ---- key facts -------------------------------------------------------------------------------------------

def _has_facts(facts: Facts) -> bool:
    return bool(facts.quantities or facts.dates or facts.names)


def _literal(text: str) -> str:
    return re.sub(r"\s+", " ", normalize(text).text).strip().lower()


def _literal_in(answer: str, key: str) -> bool:
    """The key as normalised text inside the normalised answer; Latin letters and digits on word boundaries."""
    needle, haystack = _literal(key), _literal(answer)
    if not needle:
        return False
    before = rf"(?<![{_L}0-9])" if re.match(rf"[{_L}0-9]", needle) else ""
    after = rf"(?![{_L}0-9])" if re.search(rf"[{_L}0-9]$", needle) else ""
    return re.search(before + re.escape(needle) + after, haystack) is not None


def key_fact_match(answer: str, key: str) -> bool:
    """Whether `answer` states the checkable value `key` (a number, percentage, amount, date or name).

    Every number, date and name the key states must be stated by the answer, as the grounding check reads
    them (the answer plays the source's part): the same value with the magnitude applied and a compatible
    unit, a date with the same fields, a name case-insensitively. A key with no such value is matched as
    normalised text (NFKC, case and spacing ignored)."""
    if not key or not key.strip():
        raise UserError("A key fact cannot be empty", expected="a value such as 73.7%, 12.3亿元 or a name",
                        got=repr(key), hint="Give the probe a key, or score it without one")
    if not answer or not answer.strip():
        return False
    if _has_facts(extract_facts(key)):
        found = check_grounding(key, answer)
        return found.ok and bool(found.checked)
    return _literal_in(answer, key)


def quantity_kind(value: Decimal, dimension: str | None, shown: str) -> str:
    """The key kind of one quantity the grounding check read: percentage, amount, date (a bare year), number."""
    if dimension in _PERCENTS:
        return "percentage"
    if dimension in _CURRENCIES:
        return "amount"
    if dimension is None and re.fullmatch(r"\d{4}", shown) and _YEARS[0] <= value <= _YEARS[1]:
        return "date"
    return "number"


_TRUTH_WORDS = frozenset({"是", "否", "对", "错", "正确", "错误", "是的", "不是", "不对", "不正确"})


def _looks_like_name(text: str) -> bool:
    """A short literal the name extractor cannot place without context: capitalised Latin words ("Kling",
    "GPT-4") or a run of 2-12 Han characters ("程一笑")."""
    if text in _TRUTH_WORDS:
        return False
    words = text.split()
    latin = rf"[0-9]*[{_L}][{_L}0-9]*(?:[-'’&.][{_L}0-9]+)*"
    if 0 < len(words) <= 6 and all(re.fullmatch(latin, w) for w in words):
        return any(c.isupper() for c in words[0])
    return 2 <= len(text) <= 12 and all(is_cjk(c) for c in text)


def key_kind(value: str) -> str | None:
    """What kind of checkable value `value` is: "percentage", "amount", "number", "date" or "name"; None when
    it states no value, several numbers or dates, or is a sentence (over 60 characters) rather than a value.

    Read by the grounding check's extractors: a unit of %, 个百分点, bp or ‰ makes a percentage; a currency
    sign, code or word (元, 美元, US$, yuan) an amount; a bare year (1800-2100) a date."""
    text = value.strip() if value else ""
    if not text or len(text) > _MAX_VALUE_CHARS:
        return None
    facts = extract_facts(text)
    if len(facts.quantities) + len(facts.dates) > 1:
        return None
    if facts.dates:
        return "date"
    if facts.quantities:
        q = facts.quantities[0]
        return quantity_kind(q.value, q.dimension, facts.text.raw(q.start, q.end))
    if len(facts.names) == 1 or _looks_like_name(normalize(text).text):
        return "name"
    return None


# ---- choices and true/false ------------------------------------------------------------------------------

_SEP = r"(?:\s*(?:,|，|、|/|&|;|；|\+|\band\b|\bor\b|以及|和|与|及|或)\s*|\s+)"
_ANY = r"(?:\(\s*[A-Za-z]\s*\)|\[\s*[A-Za-z]\s*\]|[A-Za-z])"
_IN = (  # a letter inside text: parenthesised, a capital standing alone, or a small one before punctuation
    rf"(?:\(\s*[A-Za-z]\s*\)|\[\s*[A-Za-z]\s*\]|(?<![{_L}])[A-Z](?![{_L}])"
    rf"|(?<![{_L}])[a-z](?=\s*(?:[).:：、，,;；。!！]|$)))"
)
_LIST = rf"(?:[A-Z]{{2,}}(?![{_L}])|{_IN}(?:{_SEP}{_IN})*)"
_STRONG = (  # answer markers: "答案：", "选", "The answer is", "I choose"
    r"(?:正确|最终)?答案(?:应该|应当|应)?(?:是|为|选)?|(?:应该|应当|应|我)?选(?!项)择?"
    r"|(?i:(?:the\s+)?(?:correct\s+|right\s+|final\s+|best\s+)?answers?(?:\s+(?:is|are|would\s+be|should\s+be))?"
    r"|\bi\s+(?:would\s+)?(?:choose|pick|select)|\b(?:choose|pick|select))"
)
_WEAK = (  # option markers, read only when no answer marker is there: "选项B", "the correct option is B"
    r"选项|(?i:(?:the\s+)?(?:correct\s+|right\s+|best\s+)?(?:option|choice)s?(?:\s+(?:is|are))?)"
)
_MARKER = f"(?:{_STRONG}|{_WEAK})"
_TAIL = rf"\s*[:：=]?\s*(?:(?i:options?)\s*|选项\s*)?(?P<list>{_LIST})"
_PREFIXED = [re.compile(rf"(?:{_STRONG}){_TAIL}"), re.compile(rf"(?:{_WEAK}){_TAIL}")]
_WHOLE = re.compile(
    rf"\s*(?:(?:{_MARKER})\s*[:：=]?\s*)?(?P<list>[A-Z]{{2,}}|{_ANY}(?:{_SEP}{_ANY})*)\s*[.。!！]?\s*"
)
_POSTFIX = re.compile(
    rf"(?P<list>{_LIST})\s*(?:项|选项)?\s*(?:(?i:is|are)\s+(?:the\s+)?(?i:correct|right|true|answer)"
    rf"|(?:是|为)?(?:正确|对)(?!答案))"
)
_START = re.compile(
    rf"\s*(?:(?P<par>\(\s*[A-Za-z]\s*\)|\[\s*[A-Za-z]\s*\])"
    rf"|(?P<delim>[A-Za-z])\s*[.)）:：、](?!\d)"
    rf"|(?P<cap>[A-Z])(?=[\u3400-\u9fff]|\s*[,，。]|\s*$)"
    rf"|(?P<list>[A-Z](?:{_SEP}[A-Z](?![{_L}]))+))"
)


def _letters(text: str, n_options: int) -> frozenset[int]:
    if re.fullmatch(r"[A-Z]{2,}", text):
        picked = [ord(c) - 65 for c in text]
        if len(set(picked)) != len(picked):
            return frozenset()
    else:
        picked = [ord(c.upper()) - 65 for c in re.findall(r"[A-Za-z]+", text) if len(c) == 1]
    return frozenset(i for i in picked if 0 <= i < n_options)


def _start_letters(text: str) -> str | None:
    match = _START.match(text)
    if not match:
        return None
    return next(v for v in match.groupdict().values() if v)


def choice_letters(answer: str, n_options: int) -> frozenset[int]:
    """The option indices (0-based: A = 0) an answer picks, empty when none can be read.

    Read in this order: an answer that is only letters ("B", "(b)", "B, D", "ABD", "答案：B"); the last letters
    after an answer marker ("The answer is C.", "选 A、C", "I choose B"); letters declared right ("B is
    correct", "A和C正确"); the last letters after an option marker ("选项B", "the correct option is B");
    letters opening the answer ("B. Paris", "(C) 1998", "B，因为…"). Letters past the last option are dropped.
    An article ("A company…") is not read as a letter."""
    if not 1 <= n_options <= 26:
        raise UserError("A choice question needs between 1 and 26 options", expected="1-26", got=str(n_options))
    text = normalize(answer or "").text.strip()
    if not text:
        return frozenset()
    whole = _WHOLE.fullmatch(text)
    if whole:
        return _letters(whole.group("list"), n_options)
    strong, weak = (list(marker.finditer(text)) for marker in _PREFIXED)
    if strong:
        return _letters(strong[-1].group("list"), n_options)
    postfix = [m.group("list") for m in _POSTFIX.finditer(text)]
    if postfix:
        return frozenset().union(*(_letters(found, n_options) for found in postfix))
    if weak:
        return _letters(weak[-1].group("list"), n_options)
    start = _start_letters(text)
    return _letters(start, n_options) if start else frozenset()


_TF_MARKER = re.compile(
    r"^(?:(?:正确)?答案(?:是|为)?|判断(?:结果)?(?:是|为)?|(?i:(?:the\s+)?(?:correct\s+)?answer(?:\s+is)?))\s*[:：]?\s*"
)
_TF_END = r"(?=$|[\s,，.。!！、:：;；)）]|的)"
_TF_START = [
    (False, re.compile(rf"(?:不正确|不对|错误|错|否|不是|×|✗){_TF_END}|(?i:false|incorrect|wrong|no)(?![a-z])")),
    (True, re.compile(rf"(?:正确|对|是|√|✓){_TF_END}|(?i:true|correct|right|yes)(?![a-z])")),
]
_TF_FALSE = re.compile(r"不正确|不对|错误|有误|(?i:\bfalse\b|\bincorrect\b|\bnot\s+(?:true|correct)\b|\bwrong\b)")
_TF_TRUE = re.compile(r"正确|(?i:\btrue\b|\bcorrect\b)")
_TF_NOT_A_VERDICT = re.compile(r"正确答案|正确选项|(?i:correct\s+answer)")


def true_false(answer: str) -> bool | None:
    """What a true/false answer says, in Chinese or English: True for 对/正确/是/true/yes/correct, False for
    错/错误/否/不对/false/no/incorrect, read at the start of the answer (after "答案：" / "The answer is"), else
    from the verdict words in the whole answer when they all agree; None when it cannot be told."""
    text = normalize(answer or "").text.strip()
    text = _TF_MARKER.sub("", text, count=1).lstrip(" \t\"'“‘(（[*-#>")
    for verdict, pattern in _TF_START:
        if pattern.match(text):
            return verdict
    rest = _TF_NOT_A_VERDICT.sub(" ", text)
    said_false = bool(_TF_FALSE.search(rest))
    said_true = bool(_TF_TRUE.search(_TF_FALSE.sub(" ", rest)))
    if said_false != said_true:
        return said_true
    return None


# ---- BLEU-4 and ROUGE as LLaMA Factory computes them ---------------------------------------------------

@lru_cache(maxsize=1)
def _similarity_libs() -> tuple[Callable[[str], Any], Any, Callable[..., float], Any]:
    try:
        import jieba  # type: ignore[import-untyped]
        from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu  # type: ignore[import-untyped]
        from rouge_chinese import Rouge  # type: ignore[import-untyped]
    except ImportError as exc:
        raise ConfigError("BLEU and ROUGE need jieba, nltk and rouge-chinese", got=str(exc),
                          hint="pip install jieba nltk rouge-chinese") from None
    jieba.setLogLevel(logging.WARNING)
    return jieba.cut, Rouge, sentence_bleu, SmoothingFunction().method3


def rouge(prediction: str, reference: str) -> dict[str, float]:
    """ROUGE-1, ROUGE-2 and ROUGE-L f-scores ×100 (4 decimals), as LLaMA Factory's ComputeSimilarity: both
    texts cut by jieba, the tokens joined by spaces and scored by `rouge_chinese.Rouge`; 0 when either text
    has no token."""
    cut, rouge_class, _, _ = _similarity_libs()
    hypothesis, ref = " ".join(cut(prediction)), " ".join(cut(reference))
    if not hypothesis.split() or not ref.split():
        return {"rouge-1": 0.0, "rouge-2": 0.0, "rouge-l": 0.0}
    scores = rouge_class().get_scores(hypothesis, ref)[0]
    return {name: float(round(score["f"] * 100, 4)) for name, score in scores.items()}


def bleu4(prediction: str, reference: str) -> float:
    """BLEU-4 ×100 (4 decimals), as LLaMA Factory's ComputeSimilarity: nltk's `sentence_bleu` over the
    CHARACTERS of both texts (not jieba tokens), uniform weights, smoothing method3."""
    _, _, sentence_bleu, method3 = _similarity_libs()
    return float(round(sentence_bleu([list(reference)], list(prediction), smoothing_function=method3) * 100, 4))


def similarity(predictions: list[str], references: list[str]) -> dict[str, float]:
    """The means of `bleu4` and `rouge` over pairs, under the keys of LLaMA Factory's `predict_results.json`:
    "predict_bleu-4", "predict_rouge-1", "predict_rouge-2", "predict_rouge-l"."""
    if len(predictions) != len(references):
        raise UserError("Predictions and references must pair up", expected=f"{len(references)} predictions",
                        got=str(len(predictions)))
    if not predictions:
        raise UserError("BLEU and ROUGE need at least one prediction", expected="one or more", got="none")
    columns: dict[str, list[float]] = {"rouge-1": [], "rouge-2": [], "rouge-l": [], "bleu-4": []}
    for prediction, reference in zip(predictions, references, strict=True):
        for name, value in rouge(prediction, reference).items():
            columns[name].append(value)
        columns["bleu-4"].append(bleu4(prediction, reference))
    order = ("bleu-4", "rouge-1", "rouge-2", "rouge-l")
    return {f"predict_{name}": math.fsum(columns[name]) / len(columns[name]) for name in order}
