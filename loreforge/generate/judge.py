"""The AI quality score's pure parts: the judge prompt messages and the reply schema (0-5 on question
quality, answer accuracy against the chunk, relevance and consistency, with a one-line reason)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from loreforge.prompts import Prompt


class JudgeReply(BaseModel):
    question_quality: float = Field(ge=0, le=5)
    accuracy: float = Field(ge=0, le=5)
    relevance: float = Field(ge=0, le=5)
    consistency: float = Field(ge=0, le=5)
    score: float | None = Field(None, ge=0, le=5)
    reason: str = ""

    @property
    def overall(self) -> float:
        """The model's overall score, or the mean of the four criteria when it gave none."""
        if self.score is not None:
            return round(self.score, 2)
        return round((self.question_quality + self.accuracy + self.relevance + self.consistency) / 4, 2)


def judge_messages(system: Prompt, prompt: Prompt, chunk: str, question: str, answer: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": system.render()},
        {"role": "user", "content": prompt.render(chunk=chunk, question=question, answer=answer)},
    ]
