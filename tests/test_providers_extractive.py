"""The extractive (no-LLM) provider on the real financial corpus, read by path, plus small cases."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from conftest import examples, financial

from loreforge.errors import ConfigError
from loreforge.providers import CallDefaults, ExtractiveSettings
from loreforge.generate.extractive import ExtractedQA, Extractor
from loreforge.generate.strategies import ExtractiveStrategy, StageContext, check

# The five reports of the shared corpus (skipped without it) and the example report LoreForge ships.
REPORTS = ["alibaba-2.txt", "jd.txt", "kuaishou.md", "meituan.md", "tencent.md", "example:xinghe-precision-2025h1.md"]
PROVIDER = Extractor(ExtractiveSettings())


def chunks(text: str, size: int = 800) -> list[str]:
    """Paragraph-packed chunks of about `size` characters (a stand-in for the chunk stage)."""
    out, current = [], ""
    for para in re.split(r"\n\s*\n", text):
        current = f"{current}\n\n{para}" if current else para
        if len(current) >= size:
            out.append(current)
            current = ""
    return out + ([current] if current.strip() else [])


def rank(qa: ExtractedQA) -> int:
    return 0 if re.search(r"\d", qa.fact) else 1 if qa.fact else 2


def _report(name: str) -> Path:
    if name.startswith("example:"):
        return next(p for p in examples() if p.name == name.removeprefix("example:"))
    return financial(name)[0]


def test_corpus_is_there() -> None:
    assert len(financial()) == 5, "expected the five financial reports in the shared corpus"


@pytest.mark.parametrize("name", REPORTS)
def test_questions_and_answers_from_the_real_corpus(name: str) -> None:
    text = _report(name).read_text(encoding="utf-8")
    total = 0
    for chunk in chunks(text):
        n = max(1, round(len(chunk) / 240))
        qas = PROVIDER.extract_questions(chunk, n, "zh")
        assert qas == PROVIDER.extract_questions(chunk, n, "zh"), "must be deterministic"
        assert len(qas) <= n and len({q.question for q in qas}) == len(qas)
        for qa in qas:
            assert qa.question.strip() and qa.question.endswith("？")
            assert qa.answer and chunk[qa.start:qa.start + len(qa.answer)] == qa.answer
            assert qa.evidence in chunk and qa.answer in qa.evidence
            assert qa.fact in qa.evidence
        first_round = []
        for qa in qas:
            if any(qa.evidence == f.evidence for f in first_round):
                break
            first_round.append(qa)
        ranks = [rank(qa) for qa in first_round]
        assert ranks == sorted(ranks), f"facts with numbers must come first: {ranks}"
        total += len(qas)
    assert total >= len(text) // 600


def test_a_metric_sentence_becomes_a_question_about_that_metric() -> None:
    chunk = "公司简介如下，主要从事精密制造业务。报告期内，营业收入 38.6亿元，同比增长 21.4%。公司将继续推进研发。"
    qas = PROVIDER.extract_questions(chunk, 3, "zh")
    assert qas[0].answer == "报告期内，营业收入 38.6亿元，同比增长 21.4%。"
    assert qas[0].question == "报告期内，营业收入 多少亿元？" and qas[0].fact == "38.6亿元"
    assert all(q.answer in chunk for q in qas)
    assert rank(qas[-1]) == 2


def test_english_text() -> None:
    chunk = ("The company sells industrial robots. Revenue rose 21.4% to $38.6 billion in Q2 2024. "
             "On March 3, 2024, the firm opened a plant with 1,200 workers.")
    qas = PROVIDER.extract_questions(chunk, 5, "en", "Acme Robotics > Results")
    assert qas[0].question == "By what percentage did revenue rise in Q2 2024?"
    assert qas[1].question == "Revenue rose by what percentage in Q2 2024?"
    assert qas[0].answer == "Revenue rose 21.4% to $38.6 billion in Q2 2024."
    assert all(q.evidence in chunk and q.question.endswith("?") for q in qas)


def test_empty_and_markup_only_input() -> None:
    assert PROVIDER.extract_questions("", 3, "zh") == []
    assert PROVIDER.extract_questions("# 标题\n\n| a | b |\n|---|---|\n| 1 | 2 |", 3, "zh") == []


def test_a_strategy_not_a_provider_and_labelled_lower_quality() -> None:
    """Offline generation is a strategy: no complete() that raises; the stages it cannot do are refused by name
    before any work starts, and it labels its rows `extractive`."""
    from loreforge.errors import UserError
    from loreforge.providers import ProviderConfig, make_provider

    assert "lower quality" in (Extractor.__doc__ or "").lower()
    strategy = ExtractiveStrategy(ExtractiveSettings())
    assert strategy.source == "extractive" and not hasattr(strategy, "complete")
    config = ProviderConfig(provider="extractive")
    check(config, "questions")
    check(config, "answers")
    with pytest.raises(UserError, match="Scoring needs an LLM"):
        check(config, "score")
    with pytest.raises(UserError, match="needs an LLM"):
        check(config, "rewrite")
    with pytest.raises(ConfigError, match="extractive"):
        make_provider(config)
    from loreforge.settings import build_settings

    ctx = StageContext("ping", None, None, build_settings({}), {}, CallDefaults().options())
    assert "no LLM" in asyncio.run(strategy.ping(ctx))
