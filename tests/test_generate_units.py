"""Pure parts of the generation stages: question counts, cleaning, tag matching, answer lead-ins, language."""

from __future__ import annotations

import random

import pytest

from loreforge.generate.answers import AnswersReply, clean_answer
from loreforge.generate.questions import QuestionItem, clean_questions, match_tag, question_count, text_language
from loreforge.generate.tags import TagNode, clean_tree


@pytest.mark.parametrize(("chars", "per", "cap", "expected"), [(0, 240, 20, 1), (100, 240, 20, 1), (360, 240, 20, 2), (1200, 240, 20, 5), (1500, 240, 20, 6), (99999, 240, 20, 20)])
def test_question_count(chars: int, per: int, cap: int, expected: int) -> None:
    assert question_count(chars, per, cap) == expected


def test_clean_questions_dedupes_matches_tags_and_drops_marks() -> None:
    items = [QuestionItem(question="  营收是多少？ "), QuestionItem(question="营收是多少？"), QuestionItem(question="", tag="x"),
             QuestionItem(question="利润呢?", tag="利润指标")]
    kept = clean_questions(items, 5, ["收入", "利润"], random.Random(0), 0.0)
    assert kept == [("营收是多少？", ""), ("利润呢?", "利润")]
    dropped = clean_questions(items, 5, [], random.Random(0), 1.0)
    assert [q for q, _ in dropped] == ["营收是多少", "利润呢"]
    half = [q for q, _ in clean_questions([QuestionItem(question=f"问题{i}？") for i in range(200)], 300, [], random.Random(1), 0.5)]
    assert 60 < sum(not q.endswith("？") for q in half) < 140


def test_match_tag() -> None:
    labels = ["营业收入", "净利润", "Cloud revenue"]
    assert match_tag("净利润", labels) == "净利润"
    assert match_tag("收入", labels) == "营业收入"  # contained
    assert match_tag("cloud revenues", labels) == "Cloud revenue"
    assert match_tag("天气", labels) == "" and match_tag("", labels) == ""


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("根据文本，快手净利润增长73.7%。", "快手净利润增长73.7%。"),
        ("根据上述报告内容，营收38.6亿元。", "营收38.6亿元。"),
        ("文本中提到，公司有6840名员工。", "公司有6840名员工。"),
        ("According to the text, revenue grew 38%.", "Revenue grew 38%."),
        ("Based on the passage provided, it weighs 14.5 kg.", "It weighs 14.5 kg."),
        ("营收38.6亿元。", "营收38.6亿元。"),
    ],
)
def test_clean_answer_strips_citations_of_the_text(raw: str, clean: str) -> None:
    assert clean_answer(raw) == clean


def test_language_detection_and_reply_shapes() -> None:
    assert text_language("快手科技发布2024年第二季度业绩。", "en") == "zh"
    assert text_language("Revenue grew 38% in 2024.", "zh") == "en"
    assert text_language("12345", "zh") == "zh"
    assert AnswersReply.model_validate({"answers": [{"id": "2", "answer": 5}]}).answers[0].answer == "5"
    tree = clean_tree([TagNode(label=" 财务 ", children=["收入", "收入", ""]), TagNode(label="财务"), TagNode(label="业务", children=["财务"])])
    assert [(n.label, n.children) for n in tree] == [("财务", ["收入"]), ("业务", [])]
