"""Per-answer scores of the evaluation stage, against hand-worked Chinese and English cases: key facts read by
the grounding check's normalisers, key kinds, choice letters and true/false, BLEU-4 and ROUGE as LLaMA Factory
computes them (the contract stage compares with LLaMA Factory's own code, tests/test_contract_llamafactory.py)."""

from __future__ import annotations

import math

import pytest

from loreforge.errors import UserError
from loreforge.evaluate.metrics import (
    bleu4,
    choice_letters,
    key_fact_match,
    key_kind,
    rouge,
    similarity,
    true_false,
)

KEY_FACTS = [
    # (answer, key, expected)
    ("调整后净利润同比增长73.7%。", "73.7%", True),
    ("调整后净利润同比增长48.7%。", "73.7%", False),  # the walkthrough's wrong figure
    ("Adjusted net profit rose 48.7%.", "73.7%", False),
    ("增长了 73.7 %", "73.7%", True),
    ("同比增长百分之七十三点七", "73.7%", True),
    ("增长１７３.７%", "73.7%", False),  # full-width digits, and 73.7 only inside 173.7
    ("增长173.7%", "73.7", False),
    ("It grew 73.70%.", "73.7%", True),
    ("增长73.7个百分点", "73.7%", False),  # percentage points are not percent
    ("收入为1,234万元", "1234万元", True),  # thousands separator
    ("It has 1,234 stores.", "1234", True),
    ("It has 12,345 stores.", "1234", False),
    ("营收12.3亿元", "1,230,000,000元", True),  # 亿
    ("revenue of 1.23 billion yuan", "12.3亿元", True),
    ("revenue of 1.23 billion US dollars", "12.3亿元", False),  # another currency
    ("营收12.3亿元", "123亿元", False),
    ("员工1.2万人", "12000人", True),  # 万
    ("员工1.2万人", "1.2万家", False),  # another counting word
    ("3.5 million users", "350万", True),
    ("约310亿元", "310亿元", True),
    ("截至2024年6月30日", "June 30, 2024", True),  # dates across languages
    ("As of June 30, 2024.", "2024年6月30日", True),
    ("As of 2024-06-30.", "2024年6月30日", True),
    ("As of June 3, 2024.", "2024年6月30日", False),
    ("截至2023年6月30日", "2024年6月30日", False),
    ("It was founded in 2011.", "2011年", True),
    ("快手CEO程一笑表示", "程一笑", True),  # a name no extractor finds alone: normalised text
    ("The product is called Kling.", "Kling", True),
    ("Klingon ships", "Kling", False),  # Latin names on word boundaries
    ("morgan stanley advised it", "Morgan Stanley", True),
    ("Goldman Sachs advised it", "Morgan Stanley", False),
    ("", "73.7%", False),
]


@pytest.mark.parametrize(("answer", "key", "expected"), KEY_FACTS)
def test_key_fact_match(answer: str, key: str, expected: bool) -> None:
    assert key_fact_match(answer, key) is expected


def test_an_empty_key_is_refused() -> None:
    with pytest.raises(UserError, match="key fact cannot be empty"):
        key_fact_match("73.7%", "  ")


KINDS = [
    ("73.7%", "percentage"),
    ("百分之七十三点七", "percentage"),
    ("5个百分点", "percentage"),
    ("12.3亿元", "amount"),
    ("US$1.2 billion", "amount"),
    ("约310亿元", "amount"),
    ("1,234", "number"),
    ("3家", "number"),
    ("2024年6月30日", "date"),
    ("June 30, 2024", "date"),
    ("Q2 2024", "date"),
    ("2011", "date"),  # a bare year
    ("Kling", "name"),
    ("Morgan Stanley", "name"),
    ("程一笑", "name"),
    ("GPT-4", "name"),
    ("apple", None),
    ("正确", None),
    ("12% and 15%", None),  # two values
    ("", None),
    ("The revenue grew a lot over the last decade, as the company said in its annual report.", None),
]


@pytest.mark.parametrize(("value", "kind"), KINDS)
def test_key_kind(value: str, kind: str | None) -> None:
    assert key_kind(value) == kind


CHOICES = [
    ("B", {1}),
    ("b", {1}),
    ("Ｂ", {1}),
    ("**B**", {1}),
    ("答案：B", {1}),
    ("(b)", {1}),
    ("（C）", {2}),
    ("B and D", {1, 3}),
    ("A, C", {0, 2}),
    ("ABD", {0, 1, 3}),
    ("选 A、C", {0, 2}),
    ("我选C", {2}),
    ("The answer is C.", {2}),
    ("The correct answer is (D)", {3}),
    ("I think the answer is a.", {0}),
    ("Option A is wrong; the answer is C.", {2}),
    ("答案是C，选项A错误", {2}),
    ("A错误，B正确", {1}),
    ("A和C正确", {0, 2}),
    ("B is correct because Paris is the capital.", {1}),
    ("B. Paris", {1}),
    ("C) 1998", {2}),
    ("B，因为巴黎是首都", {1}),
    ("A company is a legal entity.", set()),  # an article, not a letter
    ("I am not sure.", set()),
    ("Paris", set()),
    ("E", set()),  # past the last of 4 options
    ("", set()),
]


@pytest.mark.parametrize(("answer", "picked"), CHOICES)
def test_choice_letters(answer: str, picked: set[int]) -> None:
    assert choice_letters(answer, 4) == frozenset(picked)


def test_choice_letters_respects_the_number_of_options() -> None:
    assert choice_letters("D", 3) == frozenset() and choice_letters("D", 4) == {3}
    with pytest.raises(UserError, match="between 1 and 26 options"):
        choice_letters("A", 0)


TRUE_FALSE = [
    ("对", True), ("正确", True), ("是的，没错", True), ("true", True), ("Yes, it is.", True), ("Correct.", True),
    ("错", False), ("错误", False), ("否", False), ("不对", False), ("不正确，因为…", False), ("不是", False),
    ("False.", False), ("No.", False), ("Incorrect", False),
    ("答案：错误", False), ("The answer is false.", False), ("The statement is true.", True),
    ("This is not correct.", False), ("对于这个问题，说法正确。", True),
    ("Nobody knows", None), ("I don't know", None), ("正确答案是B", None), ("", None),
    ("It is true that X, but the claim is false.", None),  # both verdicts: cannot tell
]


@pytest.mark.parametrize(("answer", "verdict"), TRUE_FALSE)
def test_true_false(answer: str, verdict: bool | None) -> None:
    assert true_false(answer) is verdict


# ---- BLEU-4 / ROUGE, worked by hand ---------------------------------------------------------------------
# ROUGE (rouge_chinese over jieba tokens): ROUGE-N counts each distinct n-gram once, f = 2pr / (p + r + 1e-8);
# ROUGE-L uses the longest common subsequence of the token lists. BLEU-4 (nltk, over characters): the
# geometric mean of the clipped 1-4-gram precisions (a zero count becomes 1 / (2^k · count), method3) times the
# brevity penalty. Values ×100, rounded to 4 decimals.

def f1(p: float, r: float) -> float:
    return round(2 * p * r / (p + r + 1e-8) * 100, 4)


def test_rouge_english_by_hand() -> None:
    # tokens: the cat sat on the mat | the cat is on the mat
    # 1-grams (distinct): {the, cat, sat, on, mat} vs {the, cat, is, on, mat}: 4 of 5 each way
    # 2-grams: the-cat cat-sat sat-on on-the the-mat vs the-cat cat-is is-on on-the the-mat: 3 of 5
    # LCS: the cat on the mat = 5 of 6 tokens each
    scores = rouge("the cat sat on the mat", "the cat is on the mat")
    assert scores == {"rouge-1": f1(0.8, 0.8), "rouge-2": f1(0.6, 0.6), "rouge-l": f1(5 / 6, 5 / 6)}
    assert scores == {"rouge-1": 80.0, "rouge-2": 60.0, "rouge-l": 83.3333}


def test_rouge_chinese_by_hand() -> None:
    # jieba: 快手 / 净利润 / 增长 / 73.7%   vs   快手 / 净利润 / 增长 / 48.7%
    assert rouge("快手净利润增长73.7%", "快手净利润增长48.7%") == {"rouge-1": 75.0, "rouge-2": 66.6667, "rouge-l": 75.0}
    # jieba: 京东 的 营业 收入 为 1.16 万亿元   vs   京东 营业 收入 是 1.16 万亿元 。
    # 1-grams 5 of 7 each; 2-grams 营业-收入 and 1.16-万亿元: 2 of 6 each; LCS 京东 营业 收入 1.16 万亿元: 5 of 7
    got = rouge("京东的营业收入为1.16万亿元", "京东营业收入是1.16万亿元。")
    assert got == {"rouge-1": f1(5 / 7, 5 / 7), "rouge-2": f1(1 / 3, 1 / 3), "rouge-l": f1(5 / 7, 5 / 7)}
    assert got == {"rouge-1": 71.4286, "rouge-2": 33.3333, "rouge-l": 71.4286}


def test_rouge_of_an_empty_text_is_zero() -> None:
    assert rouge("", "快手") == rouge("   ", "快手") == {"rouge-1": 0.0, "rouge-2": 0.0, "rouge-l": 0.0}


def test_bleu4_by_hand() -> None:
    assert bleu4("快手净利润增长73.7%", "快手净利润增长73.7%") == 100.0
    # characters a b c d vs a b c e: 1-grams 3/4, 2-grams 2/3, 3-grams 1/2, 4-grams 0/1 -> 1/(2·1) by method3
    assert bleu4("abcd", "abce") == round((3 / 4 * 2 / 3 * 1 / 2 * 1 / 2) ** 0.25 * 100, 4) == 59.4604
    # 12 characters each; clipped matches: 1-grams 10/12 (one of the two 7s, '.', '%'), 2-grams 8/11
    # (six inside 快手净利润增长, '.7', '7%'), 3-grams 6/10, 4-grams 4/9; equal lengths, no brevity penalty
    expected = round((10 / 12 * 8 / 11 * 6 / 10 * 4 / 9) ** 0.25 * 100, 4)
    assert bleu4("快手净利润增长73.7%", "快手净利润增长48.7%") == expected == 63.4047


def test_bleu4_brevity_penalty_by_hand() -> None:
    # "abcd" against "abcdefgh": every n-gram precision is 1; the brevity penalty is exp(1 - 8/4) = e^-1
    assert bleu4("abcd", "abcdefgh") == round(math.exp(1 - 8 / 4) * 100, 4) == 36.7879


def test_similarity_averages_into_llamafactory_keys() -> None:
    got = similarity(["the cat sat on the mat", "abcd"], ["the cat is on the mat", "abce"])
    assert list(got) == ["predict_bleu-4", "predict_rouge-1", "predict_rouge-2", "predict_rouge-l"]
    assert got["predict_bleu-4"] == pytest.approx((bleu4("the cat sat on the mat", "the cat is on the mat") + 59.4604) / 2)
    assert got["predict_rouge-1"] == pytest.approx((80.0 + 0.0) / 2)  # "abcd" / "abce": one token each, no match
    with pytest.raises(UserError, match="pair up"):
        similarity(["a"], ["a", "b"])
    with pytest.raises(UserError, match="at least one"):
        similarity([], [])


def test_scores_are_floats_even_when_zero() -> None:
    assert isinstance(bleu4("", "营业收入为310亿元。"), float) and bleu4("", "营业收入为310亿元。") == 0.0
    assert all(isinstance(v, float) for v in rouge("abc", "abc").values())
