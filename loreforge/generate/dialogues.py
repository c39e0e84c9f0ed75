"""The dialogue stage's pure parts: a multi-turn conversation between a user and an assistant role, started by a
question, every assistant turn grounded in the question's chunk (or, for a distilled question, in the model's own
knowledge) — made with as few calls as the model allows.

Easy Dataset makes two calls per round (the assistant's reply, then the user's next message: 2N-1 calls for N
rounds, the chunk sent every time). Here the whole conversation comes from ONE call (`dialogue` prompt); when its
reply cannot be used, or holds fewer rounds than asked, the rest is made one round per call (`dialogue_turn`: the
assistant's reply and the user's next message together: at most N calls). Offline, the extractive strategy strings
a dialogue from the chunk's own sentences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, field_validator

from loreforge.generate.parsing import ListReply, ParseFailure

GROUNDING = {
    ("zh", True): "助手的每一句回答都必须依据上面的参考文本，不得编造文本中没有的事实或数字；不要说\"根据文本\"\"参考资料显示\"之类的话。",
    ("en", True): "Every assistant reply must rest on the reference text above, inventing no fact or figure it does not hold; "
                  "never say \"according to the text\" or \"the reference says\".",
    ("zh", False): "没有参考文本：助手依据自己可靠的知识作答，不确定的内容不要编造。",
    ("en", False): "There is no reference text: the assistant answers from its own reliable knowledge and invents nothing it is unsure of.",
}
NO_SOURCE = {"zh": "（无参考文本）", "en": "(no reference text)"}


class TurnItem(BaseModel):
    user: str
    assistant: str

    @field_validator("user", "assistant", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str:
        return "" if value is None else str(value)


class TurnsReply(ListReply):
    turns: list[TurnItem]


class TurnReply(BaseModel):
    assistant: str
    user: str = ""
    next_user: str = ""

    @field_validator("assistant", "user", "next_user", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str:
        return "" if value is None else str(value)


@dataclass(frozen=True)
class DialogueTask:
    question_id: int
    chunk: str  # "" for a distilled question: no source, the model's own knowledge
    question: str
    rounds: int
    user_role: str
    assistant_role: str
    scenario: str


@dataclass
class DialogueDraft:
    turns: list[tuple[str, str]] = field(default_factory=list)  # (user, assistant), the first user is the question
    tokens_in: int = 0
    tokens_out: int = 0
    model: str = ""
    calls: int = 0
    turn_calls: bool = False  # some rounds were made one call at a time
    whole_rounds: int = 0  # rounds the one whole-dialogue call gave


def _values(ctx: Any, task: DialogueTask) -> dict[str, Any]:
    language = ctx.settings.language
    scenario = task.scenario.strip()
    return {
        "chunk": task.chunk or NO_SOURCE[language], "user_role": task.user_role, "assistant_role": task.assistant_role,
        "scenario": (f"场景：{scenario}\n" if language == "zh" else f"Setting: {scenario}\n") if scenario else "",
        "grounding": GROUNDING[(language, bool(task.chunk))], "rounds": task.rounds,
    }


def _messages(ctx: Any, prompt: str, **values: Any) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": ctx.prompts["system"].render()},
        {"role": "user", "content": ctx.prompts[prompt].render(**values)},
    ]


def _count(draft: DialogueDraft, completion: Any) -> None:
    draft.calls += 1
    draft.tokens_in += completion.usage.prompt_tokens
    draft.tokens_out += completion.usage.completion_tokens
    draft.model = completion.model or draft.model


def _clean(text: str) -> str:
    from loreforge.generate.answers import clean_answer

    return clean_answer(" ".join(text.split()) if "\n" not in text else text.strip())


async def llm_dialogue(runner: Any, ctx: Any, task: DialogueTask) -> DialogueDraft:
    """The dialogue in one call when the model gives it whole; the missing rounds one call each otherwise."""
    draft = DialogueDraft()
    item = f"question:{task.question_id}"
    if ctx.settings.dialogues.mode == "whole":
        messages = _messages(ctx, "dialogue", question=task.question, **_values(ctx, task))
        try:
            result = await runner.call_json(messages, TurnsReply, options=ctx.options, meta=ctx.meta("dialogue", item))
            _count(draft, result.completion)
            for turn in result.value.turns[: task.rounds]:
                if not turn.user.strip() or not turn.assistant.strip():
                    break
                draft.turns.append((turn.user.strip(), _clean(turn.assistant)))
        except ParseFailure:
            pass  # the reply could not be used (it was re-asked once): make the rounds one call each
    draft.whole_rounds = len(draft.turns)
    if draft.turns:
        draft.turns[0] = (task.question, draft.turns[0][1])  # the dialogue starts from the question as asked
    await _by_turns(runner, ctx, task, draft, item)
    return draft


async def _by_turns(runner: Any, ctx: Any, task: DialogueTask, draft: DialogueDraft, item: str) -> None:
    """Complete `draft` to `task.rounds` rounds, one call per round: the assistant's reply and the user's next
    message together (and, after a whole reply that stopped early, the user's message of the round first)."""
    zh = ctx.settings.language == "zh"
    pending: str | None = task.question if not draft.turns else None
    while len(draft.turns) < task.rounds:
        last = len(draft.turns) + 1 == task.rounds
        steps = [] if pending is not None else [
            "先写出用户这一轮自然会问的话（user），" if zh else "First write the user's natural message of this round (user), "]
        steps.append("再写出助手对它的回答（assistant）；" if zh else "then the assistant's reply to it (assistant); ")
        steps.append(("这是最后一轮：next_user 留空。" if zh else "this is the last round: leave next_user empty.") if last else
                     ("最后写出用户接下来自然会问的一句话（next_user），仍围绕参考文本。" if zh
                      else "then the user's natural next message (next_user), still on the same subject."))
        turns = draft.turns + ([(pending, "")] if pending is not None else [])
        messages = _messages(ctx, "dialogue_turn", conversation=_transcript(turns, task, zh), round=len(draft.turns) + 1,
                             next="".join(steps), **_values(ctx, task))
        result = await runner.call_json(messages, TurnReply, options=ctx.options, meta=ctx.meta("dialogue_turn", item))
        _count(draft, result.completion)
        draft.turn_calls = True
        reply = result.value
        user = pending if pending is not None else reply.user.strip()
        if not user or not reply.assistant.strip():
            raise ParseFailure("the reply held no " + ("assistant message" if user else "user message"), (result.raw_text,))
        draft.turns.append((user, _clean(reply.assistant)))
        pending = reply.next_user.strip() or None


def _transcript(turns: list[tuple[str, str]], task: DialogueTask, zh: bool) -> str:
    sep = "：" if zh else ": "
    lines: list[str] = []
    for user, assistant in turns:
        lines.append(f"{task.user_role}{sep}{user}")
        if assistant:
            lines.append(f"{task.assistant_role}{sep}{assistant}")
    return "\n".join(lines)


async def offline_dialogue(extractor: Any, ctx: Any, task: DialogueTask) -> DialogueDraft:
    """No LLM: the question answered by the chunk's best sentence, then the chunk's other facts as follow-up rounds."""
    from loreforge.errors import UserError
    from loreforge.generate.dedup import similarity
    from loreforge.generate.questions import text_language

    if not task.chunk:
        raise UserError("A dialogue without a source chunk needs an LLM (the extractive strategy only uses the text)")
    qas = extractor.extract_questions(task.chunk, 200, text_language(task.chunk, ctx.settings.language))
    if not qas:
        raise UserError("No sentence of the chunk answers the question", hint="Use an LLM (--model) for this chunk")
    first = max(qas, key=lambda qa: similarity(task.question, qa.question))
    turns = [(task.question, first.answer)] + [(qa.question, qa.answer) for qa in qas if qa is not first]
    return DialogueDraft(turns[: task.rounds], model="extractive")
