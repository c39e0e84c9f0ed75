"""Vision calls' pure parts: an image as an OpenAI content part (scaled down for the call, as a data URL), and the
image QA stage — N questions about an image with their answers, and the image's template questions answered, all
in ONE call (Easy Dataset asks an image's questions in one call and answers each in another).

Fed by the service (`service/images.py`, job kind `image_qa`); the PDF vision conversion (`generate/pdf_vision.py`)
uses the same content parts.
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, field_validator, model_validator


ASK_ZH = ("提出 {n} 个能仅凭图片内容准确回答的问题，并逐一回答，写进 qa：\n"
          "- 问题覆盖图片中的不同要点（文字、数字、对象、关系、结论），彼此不重复，问题自成一体；\n"
          "- 答案准确完整，只写图片中确实能看到或读出的内容，不要编造；看不清的内容不要提问。")
ASK_EN = ("Write {n} questions that can be answered accurately from the image alone, and answer each, in qa:\n"
          "- cover different points of the image (text, figures, objects, relations, conclusions); no two alike; each stands alone;\n"
          "- answers are accurate and complete and state only what can be seen or read in the image; invent nothing.")


def data_url(data: bytes, max_side: int) -> str:
    """The image as a `data:` URL, scaled so that its longest side is at most `max_side` (PNG stays PNG; anything
    else is sent as JPEG)."""
    from loreforge.ingest.images import pillow

    image_mod = pillow()
    with image_mod.open(io.BytesIO(data)) as img:
        fmt = "PNG" if img.format == "PNG" else "JPEG"
        if max(img.size) <= max_side and img.format in ("PNG", "JPEG"):
            payload = data
        else:
            img.thumbnail((max_side, max_side))
            out = io.BytesIO()
            (img if fmt == "PNG" else img.convert("RGB")).save(out, format=fmt)
            payload = out.getvalue()
    return f"data:image/{fmt.lower()};base64,{base64.b64encode(payload).decode('ascii')}"


def vision_messages(system: str, text: str, url: str) -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": system},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}, {"type": "text", "text": text}]},
    ]


class QAItem(BaseModel):
    question: str
    answer: str

    @field_validator("question", "answer", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str:
        return "" if value is None else str(value)


class TemplateAnswer(BaseModel):
    id: int
    answer: str | None = None

    @field_validator("answer", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return None if value is None else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class ImageQAReply(BaseModel):
    qa: list[QAItem] = []
    answers: list[TemplateAnswer] = []

    @model_validator(mode="before")
    @classmethod
    def _bare_list(cls, value: Any) -> Any:
        return {"qa": value} if isinstance(value, list) else value


@dataclass(frozen=True)
class ImageQATask:
    image_id: int
    url: str
    n: int
    templates: list[tuple[int, str]]  # (question id, question with its answer format) to answer too


@dataclass
class ImageQADraft:
    pairs: list[tuple[str, str]]
    template_answers: dict[int, tuple[str, str]]  # question id -> (answer, "")
    tokens_in: int
    tokens_out: int
    model: str
    error: str | None = None
    raw: str | None = None
    dropped: dict[str, int] = field(default_factory=dict)


async def llm_image_qa(runner: Any, ctx: Any, task: ImageQATask) -> ImageQADraft:
    """One call: `task.n` questions about the image with their answers, and the template questions answered."""
    from loreforge.generate.answers import clean_answer
    from loreforge.generate.strategies import QUESTION_MAX_CHARS

    zh = ctx.settings.language == "zh"
    ask = ((ASK_ZH if zh else ASK_EN).format(n=task.n) if task.n else "")
    listed = "\n".join(f"{i}. {q}" for i, (_qid, q) in enumerate(task.templates, 1))
    templates = ((f"\n按各自要求回答下列问题，写进 answers（id 是编号）：\n{listed}" if zh else
                  f"\nAnswer these questions as each one asks, in answers (id is the number):\n{listed}") if task.templates else "")
    text = ctx.prompts["image_qa"].render(ask=ask, templates=templates)
    messages = vision_messages(ctx.prompts["system"].render(), text, task.url)
    result = await runner.call_json(messages, ImageQAReply, options=ctx.options, meta=ctx.meta("image_qa", f"image:{task.image_id}"))
    seen: set[str] = set()
    pairs: list[tuple[str, str]] = []
    for item in result.value.qa:
        q, a = " ".join(item.question.split()), clean_answer(item.answer)
        if q and a and q not in seen and len(q) <= QUESTION_MAX_CHARS:
            seen.add(q)
            pairs.append((q, a))
    answers = {task.templates[t.id - 1][0]: (t.answer.strip(), "") for t in result.value.answers
               if 1 <= t.id <= len(task.templates) and t.answer and t.answer.strip()}
    missing = [qid for qid, _q in task.templates if qid not in answers]
    usage = result.completion.usage
    error = f"no answer in the reply for template question(s) {missing}" if missing else None
    return ImageQADraft(pairs[: task.n + task.n // 2], answers, usage.prompt_tokens, usage.completion_tokens, result.completion.model,
                        error, result.raw_text if missing else None)
