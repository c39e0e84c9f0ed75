"""The evaluation's LLM judge through the real runner and OpenAI-compatible provider against the fake server:
the score and reason come back, a score outside 0..1 is re-asked and then refused, the prompt carries the
anchored scale and the reference, and a judge may not grade itself."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from fake_llm import FakeLLM

from loreforge import prompts as P
from loreforge.errors import ConfigError, UserError
from loreforge.evaluate.judge import JudgeVerdict, check_judge_differs, judge
from loreforge.generate.parsing import ParseFailure
from loreforge.generate.runner import CallMeta, CallRecord, Runner
from loreforge.providers import CallDefaults, ProviderConfig, RunnerSettings, make_provider

META = CallMeta(stage="eval_judge", prompt_name="placeholder", prompt_hash="placeholder", item="probe:7")
QUESTION = "快手2024年第二季度经调整净利润同比增长多少？"
REFERENCE = "快手2024年第二季度经调整净利润同比增长73.7%。"
EN_QUESTION = "By how much did Kuaishou's adjusted net profit grow in Q2 2024?"
EN_REFERENCE = "It grew 73.7% year on year."


@pytest.fixture()
def fake() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


def run_judge(fake: FakeLLM, *, answer: str, language: str = "zh", prompt: P.Prompt | None = None,
              records: list[CallRecord] | None = None) -> JudgeVerdict:
    provider = make_provider(ProviderConfig(provider="custom", model="judge-model", base_url=fake.base_url))
    runner = Runner(provider, RunnerSettings(), sink=(records if records is not None else []).append)
    question, reference = (QUESTION, REFERENCE) if language == "zh" else (EN_QUESTION, EN_REFERENCE)

    async def go() -> JudgeVerdict:
        try:
            return await judge(runner, question=question, reference=reference, answer=answer, language=language,
                               options=CallDefaults().options(), meta=META,
                               prompt=prompt or P.load("eval_judge", language))
        finally:
            await provider.aclose()
    return asyncio.run(go())


def test_score_and_reason_come_back(fake: FakeLLM) -> None:
    fake.script('{"score": 0, "reason": "回答为48.7%，参考答案为73.7%，关键数字错误。"}')
    records: list[CallRecord] = []
    verdict = run_judge(fake, answer="同比增长48.7%。", records=records)
    assert verdict == JudgeVerdict(0.0, "回答为48.7%，参考答案为73.7%，关键数字错误。")
    sent = fake.chat_requests()
    assert len(sent) == 1 and [m["role"] for m in sent[0].messages] == ["user"]
    prompt = P.load("eval_judge", "zh")
    assert records[-1].prompt_name == "eval_judge" and records[-1].prompt_hash == prompt.hash
    assert records[-1].stage == "eval_judge" and records[-1].item == "probe:7"


def test_the_prompt_holds_the_anchors_question_reference_and_answer(fake: FakeLLM) -> None:
    fake.script('{"score": 0.75, "reason": "Right figure, no year given."}')
    verdict = run_judge(fake, answer="About 73.7%.", language="en")
    assert verdict.score == 0.75 and verdict.reason == "Right figure, no year given."
    text = fake.chat_requests()[0].prompt
    for anchor in ("- 1:", "- 0.75:", "- 0.5:", "- 0.25:", "- 0:"):
        assert anchor in text
    assert EN_QUESTION in text and EN_REFERENCE in text and "About 73.7%." in text
    assert "{{" not in text


def test_the_chinese_prompt_holds_the_anchors(fake: FakeLLM) -> None:
    fake.script('{"score": 1, "reason": "完全正确"}')
    assert run_judge(fake, answer="增长73.7%").score == 1.0
    text = fake.chat_requests()[0].prompt
    assert all(anchor in text for anchor in ("- 1：", "- 0.75：", "- 0.5：", "- 0.25：", "- 0："))
    assert f"参考答案：{REFERENCE}" in text and QUESTION in text


def test_a_score_outside_0_1_is_asked_again(fake: FakeLLM) -> None:
    fake.script('{"score": 4, "reason": "mostly right"}', '{"score": 0.8, "reason": "mostly right"}')
    assert run_judge(fake, answer="73.7%", language="en") == JudgeVerdict(0.8, "mostly right")
    second = fake.chat_requests()[1].messages
    assert [m["role"] for m in second] == ["user", "assistant", "user"]
    assert "score" in second[2]["content"] and "less than or equal to 1" in second[2]["content"]


def test_a_score_that_stays_outside_0_1_is_refused(fake: FakeLLM) -> None:
    fake.script('{"score": 4, "reason": "good"}', '{"score": -1, "reason": "good"}')
    with pytest.raises(ParseFailure) as failure:
        run_judge(fake, answer="73.7%", language="en")
    assert failure.value.raw_outputs == ('{"score": 4, "reason": "good"}', '{"score": -1, "reason": "good"}')
    assert len(fake.chat_requests()) == 2


def test_a_missing_reason_is_asked_again(fake: FakeLLM) -> None:
    fake.script('{"score": 0.5, "reason": "  "}', '{"score": 0.5, "reason": "half of it"}')
    assert run_judge(fake, answer="73%", language="en") == JudgeVerdict(0.5, "half of it")


def test_an_empty_answer_scores_zero_without_a_call(fake: FakeLLM) -> None:
    assert run_judge(fake, answer="  ", language="en").score == 0.0
    assert fake.chat_requests() == []


def test_the_prompt_must_be_the_judge_prompt_in_the_probe_language(fake: FakeLLM) -> None:
    with pytest.raises(ConfigError, match="another language"):
        run_judge(fake, answer="73.7%", language="en", prompt=P.load("eval_judge", "zh"))
    with pytest.raises(ConfigError, match="its own prompt"):
        run_judge(fake, answer="73.7%", language="zh", prompt=P.load("judge", "zh"))
    assert fake.chat_requests() == []


def test_the_judge_must_differ_from_the_judged() -> None:
    check_judge_differs("deepseek-chat", ["SmolLM2-135M-Instruct", "run:12"])
    with pytest.raises(UserError, match="must differ"):
        check_judge_differs("smollm2-135m-instruct ", ["SmolLM2-135M-Instruct", "run:12"])
    with pytest.raises(UserError, match="must differ"):
        check_judge_differs("/models/tuned/", ["/models/tuned"])
    with pytest.raises(UserError, match="needs a model"):
        check_judge_differs("", ["a"])
