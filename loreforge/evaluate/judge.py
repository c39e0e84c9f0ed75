"""The LLM judge of the evaluation stage: a score from 0 to 1 for a model's answer to a probe against the probe's
reference answer, with a one-sentence reason. Fed by the probes (question, reference) and the answers an
evaluation run generated; its scores are averaged (with a bootstrap interval) by `loreforge.evaluate.stats`.

The prompt (`eval_judge`, per language, overridable per project) anchors the scale: 1 correct and complete,
0.75 key fact right with a detail missing, 0.5 partly right, 0.25 on topic but the key fact missing or hedged,
0 wrong. The call goes through the one runner (`Runner.call_json`): a reply that is not JSON, or whose score
lies outside 0..1, is asked again once quoting the error, then refused (ParseFailure with every raw reply). A
judge must not grade itself: `check_judge_differs` refuses a judge that is one of the models judged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from pydantic import BaseModel, Field, field_validator

from loreforge.errors import ConfigError, UserError
from loreforge.generate.runner import CallMeta, Runner
from loreforge.prompts import LANGUAGES, Prompt
from loreforge.providers.base import CallOptions

PROMPT_NAME = "eval_judge"


class JudgeReply(BaseModel):
    """The judge's JSON reply: a score in [0, 1] and a non-empty reason."""

    score: float = Field(ge=0, le=1, allow_inf_nan=False)
    reason: str

    @field_validator("reason")
    @classmethod
    def _said_why(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the reason is empty: say in one sentence what is right or wrong")
        return value.strip()


@dataclass(frozen=True)
class JudgeVerdict:
    """One judged answer: `score` in [0, 1] (1 = agrees with the reference) and the judge's `reason`."""

    score: float
    reason: str


def judge_messages(prompt: Prompt, *, question: str, reference: str, answer: str) -> list[dict[str, str]]:
    """The one user message that asks the judge (the template rendered with the three texts)."""
    return [{"role": "user", "content": prompt.render(question=question, reference=reference, answer=answer)}]


def _check_prompt(prompt: Prompt, language: str) -> None:
    if prompt.name != PROMPT_NAME:
        raise ConfigError("The judge needs its own prompt", expected=f"the '{PROMPT_NAME}' template",
                          got=repr(prompt.name), hint=f"Load it with loreforge.prompts.load('{PROMPT_NAME}', language)")
    if language not in LANGUAGES:
        raise UserError("Unknown language of a probe", expected="zh or en", got=repr(language))
    if prompt.language != language:
        raise ConfigError("The judge prompt is in another language than the probe",
                          expected=f"the '{PROMPT_NAME}' template in {language}", got=prompt.language,
                          hint="Load the prompt in the probe's language")


async def judge(runner: Runner, *, question: str, reference: str, answer: str, language: str,
                options: CallOptions, meta: CallMeta, prompt: Prompt) -> JudgeVerdict:
    """Score `answer` against `reference` with the LLM behind `runner`. The call is recorded under the prompt's
    name and hash (the rest of `meta` — stage, job, project, item — as given). An empty answer scores 0
    without a call. Raises ParseFailure when the judge's reply stays unusable after the one re-ask."""
    _check_prompt(prompt, language)
    if not answer.strip():
        return JudgeVerdict(0.0, "empty answer" if language == "en" else "回答为空")
    messages = judge_messages(prompt, question=question, reference=reference, answer=answer)
    meta = replace(meta, prompt_name=prompt.name, prompt_hash=prompt.hash)
    result = await runner.call_json(messages, JudgeReply, options=options, meta=meta)
    return JudgeVerdict(result.value.score, result.value.reason)


def _model_key(name: str) -> str:
    return name.strip().rstrip("/\\").casefold()


def check_judge_differs(judge_model: str, judged: Sequence[str]) -> None:
    """Refuse a judge that is one of the models it would judge (names compared ignoring case, spaces and a
    trailing slash): a model grading its own answers is not evidence."""
    if not judge_model or not judge_model.strip():
        raise UserError("The judge needs a model", expected="a model config or model name", got=repr(judge_model))
    same = [name for name in judged if name and _model_key(name) == _model_key(judge_model)]
    if same:
        raise UserError("The judge must differ from the models it judges",
                        expected="a judge model other than " + ", ".join(sorted(set(judged))),
                        got=repr(judge_model), hint="Pass another model config with --judge, or leave --judge out")
