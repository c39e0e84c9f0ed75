"""Grounding check: each normalisation rule (table-driven), names and their false-alarm guards, the
reference workflow's wrong-figure case, every number-bearing sentence of the financial corpus (verbatim →
grounded, one number perturbed → flagged) and a property test on template sentences."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import financial
from hypothesis import given, settings
from hypothesis import strategies as st

from loreforge.review import Grounding, check_grounding
from loreforge.review.numerals import parse_chinese
from loreforge.review.textnorm import normalize

OK: tuple[str, ...] = ()


def corpus_files() -> list[Path]:
    return financial()


@pytest.mark.parametrize(
    ("answer", "source", "missing"),
    [
        # full-width digits, letters, ％ and spaces (NFKC)
        ("增长７３．７％", "同比增长73.7%", OK),
        ("ＲＭＢ４７．６ billion", "RMB 47.6 billion", OK),
        ("增长73.7%", "同比增长７３．７％", OK),
        # thousands separators
        ("收入1,260亿元", "收入1260亿元", OK),
        ("收入1260亿元", "收入人民币1,260亿元", OK),
        ("2,432.36亿元", "人民币2,432.36亿元", OK),
        # the full-width comma is punctuation, not a thousands separator
        ("新增12,300家", "新增12，300家门店", ("12,300家",)),
        # spaces between number and unit
        ("73.7 %", "增长73.7%", OK),
        ("增长73.7%", "增长73.7 %", OK),
        ("46.8 亿元", "达46.8亿元", OK),
        ("46.8亿元", "达46.8 亿元左右", OK),
        # trailing zeros
        ("38.60%", "38.6%", OK),
        ("38.6%", "38.60%", OK),
        ("30%", "30.0%", OK),
        # magnitudes: the same value however it is scaled
        ("468000万元", "46.8亿元", OK),
        ("4680000万元", "46.8亿元", ("4680000万元",)),
        ("4.68 billion yuan", "46.8亿元", OK),
        ("RMB 243.236 billion", "人民币2,432.36亿元", OK),
        ("$5.8bn", "58亿美元", OK),
        ("10k", "10,000", OK),
        # approximate source wording
        ("310亿元", "总营收同比增长11.6%至约310亿元", OK),
        # wrong figures
        ("48.7%", "经调整净利润同比增长73.7%", ("48.7%",)),
        ("46.9亿元", "46.8亿元", ("46.9亿元",)),
        ("161.1 billion", "RMB 161.12 billion", ("161.1 billion",)),
        # unit compatibility
        ("46.8亿美元", "46.8亿元", ("46.8亿美元",)),
        ("1.36港元", "1.36美元", ("1.36港元",)),
        ("46.8亿", "46.8亿元", OK),
        ("3亿人", "破3亿", OK),
        ("5个百分点", "提升5%", ("5个百分点",)),
        ("增长2倍", "增长超2倍", OK),
        ("2 times", "增长2倍", OK),
        ("HK$480", "target of HK$ 480", OK),
        ("US$480", "HK$480", ("US$480",)),
        # Chinese numerals
        ("三亿", "日活用户已突破3亿", OK),
        ("十二万元", "12万元", OK),
        ("百分之七十三点七", "增长73.7%", OK),
        ("增超七成", "增长70%", OK),
        ("两倍", "2倍", OK),
        ("四亿", "3亿", ("四亿",)),
        # Markdown emphasis inside the number
        ("3亿", "短剧日活用户破**3**亿", OK),
        # a bare integer grounded by a year
        ("in 2024", "2024年第二季度", OK),
    ],
)
def test_numbers(answer: str, source: str, missing: tuple[str, ...]) -> None:
    result = check_grounding(answer, source)
    assert result.missing == missing
    assert result.ok is (not missing)


@pytest.mark.parametrize(
    ("answer", "source", "missing"),
    [
        ("2024年8月20日", "8月20日，快手科技发布2024年第二季度业绩", OK),
        ("8月20日", "2024年8月20日", OK),
        ("8月21日", "2024年8月20日", ("8月21日",)),
        ("2025年8月20日", "2024年8月20日", ("2025年8月20日",)),
        ("2024-08-20", "2024年8月20日", OK),
        ("2024/8/20", "2024-08-20", OK),
        ("August 20, 2024", "2024年8月20日", OK),
        ("20 Aug 2024", "August 20, 2024", OK),
        ("Q2 2024", "2024年第二季度", OK),
        ("2024 Q2", "Q2 2024", OK),
        ("2Q24", "2024年二季度", OK),
        ("Q2'24", "2024年Q2", OK),
        ("the second quarter of 2024", "2024年第二季度", OK),
        ("第二季度", "Q2", OK),
        ("二季度", "第三季度", ("二季度",)),
        ("Q3 2024", "2024年第二季度", ("Q3 2024",)),
        ("上半年", "H1 2024", OK),
        ("2024年上半年", "first half of 2024", OK),
        ("下半年", "上半年", ("下半年",)),
        ("2024年6月", "2024年6月30日", OK),
        ("2023年", "2024年", ("2023年",)),
        ("FY2024", "2024财年", OK),
    ],
)
def test_dates(answer: str, source: str, missing: tuple[str, ...]) -> None:
    assert check_grounding(answer, source).missing == missing


@pytest.mark.parametrize(
    ("answer", "source", "missing"),
    [
        # capitalised Latin tokens in Chinese text, case-insensitive, on word boundaries
        ("可灵AI的商业化", "可灵AI将寻求更多与B端合作", OK),
        ("Kling的商业化", "可灵AI将寻求更多与B端合作", ("Kling",)),
        ("快手的AI业务", "AIGC营销素材", ("AI",)),
        ("快手的CEO", "董事长兼ceo程一笑", OK),
        ("外循环营销产品Universal Auto X", "外循环营销产品 Universal Auto X (UAX)", OK),
        ("Hermès入驻京东", "Hermès爱马仕香水美妆入驻", OK),
        # English: capitalised runs not at the start of a sentence
        ("Analysts at Morgan Stanley raised the target.", "morgan stanley raised", OK),
        ("Analysts at Goldman Sachs raised the target.", "Morgan Stanley raised", ("Goldman Sachs",)),
        ("Morgan Stanley raised the target.", "Morgan Stanley raised", OK),
        ("The report by Sensor Tower says so.", "Sensor tower的数据显示", OK),
        ("Revenue grew. Tencent's games did well.", "腾讯", OK),  # one word at a sentence start: not a name
        ("Its games, like Honor of Kings, did well.", "Honor of Kings", OK),
        ("Its games, like Honor of Kings, did well.", "Honor", ("Honor of Kings",)),
        ("Brindle & Osk Coffee had revenue.", "Brindle & Osk Coffee had revenue of 23.9 million euros.", OK),
        ("Brindle & Osk Coffee had revenue.", "Brindle Coffee had revenue", ("Brindle & Osk Coffee",)),
        # quoted names and titles
        ("推广“神会员”服务", "推广“神会员”服务等策略", OK),
        ("推广“超级会员”服务", "推广“神会员”服务等策略", ("超级会员",)),
        ("微短剧《山海奇镜》", "《山海奇镜之劈波斩浪》", OK),
        ("微短剧《山海经》", "《山海奇镜之劈波斩浪》", ("山海经",)),
        # Chinese organisations and people after a title
        ("快手科技发布了业绩", "8月20日，快手科技发布", OK),
        ("报告显示京东集团表现良好", "京东集团发布了2024年二季度业绩", OK),
        ("字节跳动公司发布了业绩", "快手科技发布", ("字节跳动公司",)),
        ("快手CEO宿华表示", "董事长兼CEO程一笑在财报后的电话会议上表示", ("宿华",)),
        ("首席执行官吴泳铭说", "阿里巴巴集团首席执行官吴泳铭说", OK),
    ],
)
def test_names(answer: str, source: str, missing: tuple[str, ...]) -> None:
    assert check_grounding(answer, source).missing == missing


@pytest.mark.parametrize(
    "answer",
    [
        "The revenue grew strongly.",  # sentence-initial capital
        "What drove the growth? Mainly ads.",  # question word, sentence starts
        "It was reported in USD and RMB.",  # currency codes
        "A股和B端、C端业务",  # single letters
        "1. 营收增长\n2. 利润增长\n3、现金流改善",  # list markers
        "这家上市公司和两家子公司",  # generic organisation heads
        "首席执行官表示业绩良好",  # a title followed by a verb is not a person
        "该公司在科技零售领域领先",  # 科技 without a name before it
        "Overall, however, the Company did well.",  # stop words
    ],
)
def test_no_false_alarms(answer: str) -> None:
    result = check_grounding(answer, "无关的来源文本")
    assert result.ok, result.missing


def test_digits_glued_to_letters_are_names_not_numbers() -> None:
    result = check_grounding("We compared GPT-4 and Qwen2.5 on H20 chips.", "GPT-4, Qwen2.5 and H20")
    assert result == Grounding(ok=True, missing=(), checked=("GPT-4", "Qwen2.5", "H20"))
    assert check_grounding("We compared GPT-4 and Qwen2.5.", "GPT-5 and Qwen2.5").missing == ("GPT-4",)


def test_checked_lists_values_as_written_in_order() -> None:
    result = check_grounding("８月20日，营收约３１０ 亿元，增长48.7％。", "8月20日，总营收约310亿元，增长73.7%")
    assert result == Grounding(ok=False, missing=("48.7％",), checked=("８月20日", "３１０ 亿元", "48.7％"))


def test_empty_answer_is_grounded() -> None:
    assert check_grounding("", "anything") == Grounding(ok=True, missing=(), checked=())
    assert check_grounding("好的。", "") == Grounding(ok=True, missing=(), checked=())


def test_reference_workflow_wrong_figure() -> None:
    source = financial("kuaishou.md")[0]
    text = source.read_text(encoding="utf-8")
    tuned = "快手2024年第二季度经调整净利润同比增长48.7%，达到46.8亿元左右。"
    base = "快手2024年第二季度经调整净利润同比增长73.7%，达到46.8亿元左右。"
    assert check_grounding(tuned, text) == Grounding(
        ok=False, missing=("48.7%",), checked=("2024年第二季度", "48.7%", "46.8亿元")
    )
    assert check_grounding(base, text).ok


@pytest.mark.parametrize(
    ("text", "expected"),
    [("三", "3"), ("十二", "12"), ("七十三点七", "73.7"), ("一千二百六十", "1260"), ("二〇二四", "2024"),
     ("两", "2"), ("一千零五", "1005"), ("三五", "35"), ("三万", None), ("十五点", "15")],
)
def test_parse_chinese(text: str, expected: str | None) -> None:
    assert parse_chinese(text) == (None if expected is None else Decimal(expected))


def test_normalize_maps_back_to_the_original() -> None:
    norm = normalize("增长**７３．７％**，")
    assert norm.text == "增长73.7%，"
    assert norm.raw(2, 7) == "７３．７％"


# --- the financial corpus -----------------------------------------------------------------------------------

_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]?")
_DIGITS = re.compile(r"(?<![0-9A-Za-z.,])\d+(?:[.,]\d+)*(?![0-9A-Za-z])")


def _chunks(path: Path) -> list[str]:
    return [p for p in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")) if p.strip()]


def _sentences_with_numbers(chunk: str) -> list[str]:
    return [s for s in _SENTENCE.findall(chunk) if re.search(r"\d", s)]


def test_corpus_sentences_are_grounded_in_their_chunk() -> None:
    total = 0
    for path in corpus_files():
        for chunk in _chunks(path):
            for sentence in _sentences_with_numbers(chunk):
                total += 1
                result = check_grounding(sentence, chunk)
                assert result.ok, (path.name, sentence, result.missing)
                assert check_grounding(sentence, path.read_text(encoding="utf-8")).ok
    assert total > 100


def _perturbed(number: str, chunk: str) -> str | None:
    """The number with its last digit changed to one whose value the chunk nowhere writes."""
    plain = re.sub(r"[,\s*]", "", chunk)
    for step in range(1, 10):
        candidate = number[:-1] + str((int(number[-1]) + step) % 10)
        if candidate.replace(",", "") not in plain:
            return candidate
    return None


def test_corpus_sentences_with_one_number_changed_are_flagged() -> None:
    flagged = 0
    for path in corpus_files():
        for chunk in _chunks(path):
            for sentence in _sentences_with_numbers(chunk):
                for match in _DIGITS.finditer(sentence):
                    new = _perturbed(match.group(), chunk)
                    if new is None:
                        continue
                    changed = sentence[: match.start()] + new + sentence[match.end() :]
                    result = check_grounding(changed, chunk)
                    assert not result.ok and any(new in value for value in result.missing), (
                        path.name, changed, result,
                    )
                    flagged += 1
    assert flagged > 300


# --- property: a number in a template sentence is grounded iff the source states it ---------------------------

_TEMPLATES = [
    ("公司营收为{}亿元，同比增长11.6%。", "亿元"),
    ("净利润同比增长{}%。", "%"),
    ("Revenue was RMB {} billion in the quarter.", " billion"),
]


def _write(value: Decimal, style: int) -> str:
    text = f"{value:,.2f}" if style == 1 else f"{value:.2f}" if style == 2 else f"{value:f}"
    if style == 3:
        text = text.translate(str.maketrans("0123456789.", "０１２３４５６７８９．"))
    return text


_VALUES = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999"), places=2)


@settings(max_examples=150, deadline=None)
@given(
    template=st.sampled_from(_TEMPLATES),
    stated=_VALUES,
    answered=st.one_of(_VALUES, st.none()),
    source_style=st.integers(0, 3),
    answer_style=st.integers(0, 3),
)
def test_template_numbers_grounded_iff_present(
    template: tuple[str, str], stated: Decimal, answered: Decimal | None, source_style: int, answer_style: int
) -> None:
    answered = stated if answered is None else answered
    pattern, _unit = template
    source = pattern.format(_write(stated, source_style))
    answer = pattern.format(_write(answered, answer_style))
    result = check_grounding(answer, source)
    assert result.ok is (answered == stated), (answer, source, result)
    if answered != stated:
        assert len(result.missing) == 1
