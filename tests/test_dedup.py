"""Near-duplicate detection: normalisation, the trigram-Jaccard score with its number and substitution guards,
the inverted index (checked against brute force) and `dedupe`'s order semantics."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loreforge.errors import UserError
from loreforge.generate.dedup import DuplicateIndex, dedupe, ngrams, normalize, similarity, skeleton

T = 0.85  # the threshold the scorer is tuned for; settings own the project default

Q2 = "公司2024年第二季度营收是多少？"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (Q2, "公司2024年第二季度营收是多少"),
        ("  Hello,   World! ", "helloworld"),
        ("营收\t是\r\n多少\u3000？", "营收是多少"),
        ("ＡＢＣ１２３，Ｑ２", "abc123q2"),
        ("“腾讯”（控股）【年报】《2024》……、；：", "腾讯控股年报2024"),
        ("\"quoted\" 'text' (a) [b] <c> {d}", "quotedtextabcd"),
        ("a+b=c ^ `x` | ~y 😀", "abcxy"),
        ("价格$5、¥6、€7", "价格$5¥6€7"),
        ("Ⅱ期 ½", "ii期12"),
        ("这是真的吗？", "这是真的"),
        ("是什么呢吗？ ", "是什么"),
        ("吗", "吗"),
        ("", ""),
        ("？！。，…", ""),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("公司2024年第二季度的营收是多少？", "公司2024年第二季度营收是多少"),
        ("请问一下，利润了吗", "利润"),
        ("What was Tencent's revenue in Q2 2024?", "whattencentrevenueq22024"),
        ("What was the revenue of Tencent in Q2 2024", "whatrevenuetencentq22024"),
        ("the", "the"),
        ("的", "的"),
    ],
)
def test_skeleton_drops_function_words(text: str, expected: str) -> None:
    assert skeleton(text) == expected


@pytest.mark.parametrize(
    ("text", "n", "expected"),
    [
        ("abcd", 3, {"abc", "bcd"}),
        ("A, B c!", 2, {"ab", "bc"}),
        ("ab", 3, {"ab"}),
        ("腾讯腾讯腾讯", 3, {"腾讯腾", "讯腾讯"}),
        ("", 3, set()),
        ("？", 1, set()),
    ],
)
def test_ngrams(text: str, n: int, expected: set[str]) -> None:
    assert ngrams(text, n) == expected


def test_ngrams_rejects_nonpositive_n() -> None:
    with pytest.raises(UserError, match="n >= 1"):
        ngrams("abc", 0)


NEAR_DUPLICATES = [
    (Q2, "公司2024年第二季度的营收是多少"),
    ("腾讯2024年第二季度营收是多少？", "请问腾讯２０２４年第二季度的营收是多少呢"),
    ("腾讯 2024 年第二季度营收是多少?", "腾讯2024年第二季度营收是多少？"),
    ("营收为1,000亿元吗？", "营收为1000亿元"),
    ("What was Tencent's revenue in Q2 2024?", "what was Tencent’s revenue in Q2 2024"),
    ("What is the revenue of Tencent in Q2 2024?", "What was the revenue of Tencent in Q2 2024"),
]

DISTINCT = [
    ("腾讯2024年第二季度营收是多少？", "阿里2024年第二季度营收是多少？"),  # company
    ("公司2024年第一季度营收是多少？", Q2),  # quarter, Chinese numeral
    ("公司2023年第二季度营收是多少？", Q2),  # year
    ("公司2042年第二季度营收是多少？", Q2),  # same digits, other number
    ("公司2024年第二、三季度营收是多少？", Q2),  # a number added
    ("营收为2.5亿元吗", "营收为25亿元吗"),  # the decimal point is dropped from the text, not the number
    ("腾讯2024年第二季度净利润是多少？", "腾讯2024年第二季度毛利润是多少？"),  # one character
    ("腾讯2024年上半年营收是多少？", "腾讯2024年下半年营收是多少？"),
    ("腾讯2024年第二季度营收是多少？", "腾讯2024年第二季度收入是多少？"),  # paraphrase: kept apart on purpose
    ("腾讯收购了阿里", "阿里收购了腾讯"),
    ("What was Tencent's revenue in Q2 2024?", "What was Tencent's revenue in Q3 2024?"),
    ("What was Tencent's revenue in Q2 2024?", "What was Alibaba's revenue in Q2 2024?"),
    ("What was Tencent's revenue in the second quarter?", "What was Tencent's revenue in the third quarter?"),
]


@pytest.mark.parametrize(("a", "b"), NEAR_DUPLICATES)
def test_near_duplicates_score_high(a: str, b: str) -> None:
    assert similarity(a, b) >= T
    assert dedupe([a, b], T) == [None, 0]


@pytest.mark.parametrize(("a", "b"), DISTINCT)
def test_entity_number_and_quarter_differences_stay_apart(a: str, b: str) -> None:
    assert similarity(a, b) < T
    assert dedupe([a, b], T) == [None, None]


def test_guards_veto_outright() -> None:
    assert similarity("腾讯2024年第二季度营收是多少？", "阿里2024年第二季度营收是多少？") == 0.0
    assert similarity("What was Tencent's revenue in Q2 2024?", "What was Tencent's revenue in Q3 2024?") == 0.0


def test_reordered_english_is_similar_but_under_the_threshold() -> None:
    score = similarity("What was Tencent's revenue in Q2 2024?", "What was the revenue of Tencent in Q2 2024")
    assert 0.6 <= score < T


def test_added_content_lowers_the_score() -> None:
    # One-sided additions pass the guards; trigrams charge for them by length.
    assert 0.7 < similarity("腾讯控股2024年第二季度的利润是多少", "腾讯控股2024年第二季度的净利润是多少") < T
    assert similarity("利润是多少", "净利润是多少") == pytest.approx(0.75)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [("", "", 1.0), ("", "？！", 1.0), ("", "营收", 0.0), ("。", "a", 0.0), ("ab", "ab", 1.0), ("ab", "ac", 0.0)],
)
def test_empty_and_short_texts(a: str, b: str, expected: float) -> None:
    assert similarity(a, b) == expected


def test_index_add_find_remove() -> None:
    index = DuplicateIndex()
    index.add(1, "腾讯2024年第二季度营收是多少？")
    index.add("alibaba", "阿里2024年第二季度营收是多少？")
    assert len(index) == 2 and 1 in index and "alibaba" in index
    assert index.find("请问腾讯2024年第二季度的营收是多少", T) == (1, 1.0)
    assert index.find("阿里2024年第二季度营收是多少", T) == ("alibaba", 1.0)
    assert index.find("京东2024年第二季度营收是多少？", T) is None
    index.remove(1)
    assert len(index) == 1 and 1 not in index
    assert index.find("腾讯2024年第二季度营收是多少？", T) is None
    with pytest.raises(KeyError):
        index.remove(1)


def test_index_returns_the_best_match_then_the_earliest() -> None:
    index = DuplicateIndex()
    index.add("partial", "腾讯控股2024年第二季度利润是多少")
    index.add("exact", "腾讯控股2024年第二季度净利润是多少")
    index.add("exact-later", "腾讯控股2024年第二季度的净利润是多少？")
    assert index.find("腾讯控股2024年第二季度净利润是多少", 0.7) == ("exact", 1.0)
    assert index.find("腾讯控股2024年第二季度利润是多少？", 0.7) == ("partial", 1.0)


def test_index_readding_a_key_replaces_its_text() -> None:
    index = DuplicateIndex()
    index.add(7, "腾讯营收是多少")
    index.add(7, "美团营收是多少")
    assert len(index) == 1
    assert index.find("腾讯营收是多少", T) is None
    assert index.find("美团营收是多少", T) == (7, 1.0)


def test_index_threshold_is_honoured() -> None:
    index = DuplicateIndex()
    index.add(0, "腾讯控股2024年第二季度利润是多少")
    query = "腾讯控股2024年第二季度净利润是多少"
    score = similarity(query, "腾讯控股2024年第二季度利润是多少")
    assert index.find(query, score) == (0, score)
    assert index.find(query, min(1.0, score + 0.01)) is None


def test_index_handles_texts_that_normalise_to_nothing() -> None:
    index = DuplicateIndex()
    assert index.find("？", 1.0) is None
    index.add(0, "营收")
    index.add(1, "？！")
    assert index.find("", 1.0) == (1, 1.0)
    index.remove(1)
    assert index.find("", 0.5) is None


@pytest.mark.parametrize("threshold", [0.0, -0.1, 1.01, float("nan")])
def test_threshold_must_be_in_unit_interval(threshold: float) -> None:
    with pytest.raises(UserError, match=r"\(0, 1\]"):
        DuplicateIndex().find("营收", threshold)
    with pytest.raises(UserError):
        dedupe(["营收"], threshold)


def test_dedupe_points_at_the_earlier_kept_text() -> None:
    texts = [
        "腾讯2024年第二季度营收是多少？",
        "阿里2024年第二季度营收是多少？",
        "腾讯2024年第二季度的营收是多少",
        "请问阿里2024年第二季度营收是多少呢",
        "腾讯2024年第三季度营收是多少？",
        "腾讯2024年第二季度营收是多少？",
    ]
    assert dedupe(texts, T) == [None, None, 0, 1, None, 0]
    assert dedupe([], T) == []


def test_dedupe_matches_only_kept_texts_so_chains_do_not_form() -> None:
    base = "abcdefghij"  # 8 trigrams; each added letter adds one
    texts = [base, base + "k", base + "kl"]
    assert similarity(texts[1], texts[0]) >= T and similarity(texts[2], texts[1]) >= T
    assert similarity(texts[2], texts[0]) < T
    assert dedupe(texts, T) == [None, 0, None]


# Texts drawn from a small alphabet so that near-duplicates, shared numbers and empties are common.
ALPHABET = "腾讯阿里营收利润第二三季度的吗请问年20241Qq ab？,。"
near_texts = st.text(alphabet=ALPHABET, max_size=14)
thresholds = st.sampled_from([0.3, 0.5, 0.7, 0.85, 1.0])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_a_text_is_a_duplicate_of_itself(text: str) -> None:
    assert similarity(text, text) == 1.0
    index = DuplicateIndex()
    index.add("k", text)
    assert index.find(text, 1.0) == ("k", 1.0)
    assert dedupe([text, text], 1.0) == [None, 0]
    assert normalize(normalize(text)) == normalize(text)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=30), near_texts), st.one_of(st.text(max_size=30), near_texts))
def test_similarity_is_symmetric_and_bounded(a: str, b: str) -> None:
    score = similarity(a, b)
    assert 0.0 <= score <= 1.0
    assert score == similarity(b, a)


@settings(max_examples=150, deadline=None)
@given(st.lists(near_texts, max_size=12), near_texts, thresholds)
def test_index_agrees_with_brute_force(stored: list[str], query: str, threshold: float) -> None:
    index = DuplicateIndex()
    for key, text in enumerate(stored):
        index.add(key, text)
    scores = [(similarity(query, text), -key) for key, text in enumerate(stored)]
    best = max((pair for pair in scores if pair[0] >= threshold), default=None)
    assert index.find(query, threshold) == (None if best is None else (-best[1], best[0]))


@settings(max_examples=100, deadline=None)
@given(st.lists(near_texts, max_size=12), thresholds)
def test_dedupe_keeps_a_set_with_no_duplicates_inside(texts: list[str], threshold: float) -> None:
    result = dedupe(texts, threshold)
    kept = [i for i, match in enumerate(result) if match is None]
    for i, match in enumerate(result):
        if match is not None:
            assert match < i and result[match] is None
            assert similarity(texts[i], texts[match]) >= threshold
    for position, i in enumerate(kept):
        assert all(similarity(texts[i], texts[j]) < threshold for j in kept[:position])


def _mutate(rng: random.Random, text: str, alphabet: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(0, 3)):
        at = rng.randint(0, len(chars))
        op = rng.choice("ids")
        if op == "i":
            chars.insert(at, rng.choice(alphabet))
        elif chars and at < len(chars):
            chars[at : at + 1] = [] if op == "d" else [rng.choice(alphabet)]
    return "".join(chars)


@pytest.mark.parametrize(
    "alphabet",
    ["腾讯阿里美团营收利润率季度年的请问多少是 ？", "营收利润第二三季度2024的吗 Qq？"],
    ids=["words", "numbers"],
)
@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.85, 0.95])
def test_index_agrees_with_brute_force_at_scale(alphabet: str, threshold: float) -> None:
    # Many variants of a few texts, so that candidate filtering has to prune, and prune correctly.
    rng = random.Random(f"{alphabet}{threshold}")
    seeds = ["".join(rng.choice(alphabet) for _ in range(rng.randint(6, 18))) for _ in range(6)]
    stored = [_mutate(rng, rng.choice(seeds), alphabet) for _ in range(200)]
    index = DuplicateIndex()
    for key, text in enumerate(stored):
        index.add(key, text)
    for _ in range(30):
        query = _mutate(rng, rng.choice(stored), alphabet)
        scores = [(similarity(query, text), -key) for key, text in enumerate(stored)]
        best = max((pair for pair in scores if pair[0] >= threshold), default=None)
        assert index.find(query, threshold) == (None if best is None else (-best[1], best[0])), query
