"""Turning an LLM's structured reply into a validated value, and the re-ask message when that fails.

Order of work: strip `<think>` (kept as reasoning), take the fenced ```json block if there is one (else the
outermost JSON object or array in the text), parse it (repairing with json-repair when strict parsing
fails), validate with pydantic. Failures raise `ParseFailure` carrying the reason and the raw reply; the
runner (`runner.Runner.call_json`) re-asks once quoting the reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Hashable
from functools import lru_cache
from typing import Any, TypeVar, cast

import json_repair
from pydantic import BaseModel, TypeAdapter, ValidationError, model_validator

from loreforge.errors import LoreForgeError
from loreforge.providers.base import split_think

T = TypeVar("T")

_FENCE = re.compile(r"```[ \t]*(json5?|JSON)?[ \t]*\r?\n?(.*?)(?:```|\Z)", re.DOTALL)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_REASK = {
    "en": "Your previous reply could not be used: {reason}. Reply again with only valid JSON in the requested "
          "format — no explanations, no code fences.",
    "zh": "你上一次的回复无法解析：{reason}。请重新回复，只输出符合要求格式的合法 JSON，不要附加任何解释或代码块标记。",
}
REASK_SEPARATOR = "\n\n----- re-ask -----\n\n"


class ParseFailure(LoreForgeError):
    """A structured reply could not be parsed or validated (after the re-ask, when one was made).

    `reason` is the last parse/validation error; `raw_outputs` holds every raw reply, in order, so the item
    can be marked failed with the model's output kept for inspection.
    """

    http_status = 502

    def __init__(self, reason: str, raw_outputs: tuple[str, ...], *, hint: str | None = None) -> None:
        self.reason = reason
        self.raw_outputs = raw_outputs
        super().__init__(f"The model's reply could not be used: {reason}", hint=hint)

    @property
    def raw_output(self) -> str:
        return REASK_SEPARATOR.join(self.raw_outputs)


def extract_json_text(text: str) -> str | None:
    """The JSON part of a reply: a fenced block (```json preferred), else the outermost object or array."""
    fences = [(m.group(1), m.group(2).strip()) for m in _FENCE.finditer(text)]
    tagged = [body for tag, body in fences if tag]
    for body in tagged + [body for _tag, body in fences]:
        if body[:1] in "{[":
            return body
    starts = [i for i in (text.find("{"), text.find("[")) if i != -1]
    if not starts:
        return None
    start = min(starts)
    end = text.rfind("}" if text[start] == "{" else "]")
    return text[start:end + 1] if end > start else text[start:]


@lru_cache(maxsize=256)
def _adapter(schema: Hashable) -> TypeAdapter[Any]:
    return TypeAdapter(cast(Any, schema))


def _load(candidate: str) -> Any:
    try:
        return json.loads(candidate)
    except ValueError:
        return json_repair.repair_json(candidate, return_objects=True)


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        parts.append(f"{where}: {err['msg']}")
    more = exc.error_count() - len(parts)
    tail = f" (+{more} more)" if more > 0 else ""
    return "the JSON does not match the expected format — " + "; ".join(parts) + tail


def parse_reply(text: str, schema: type[T]) -> tuple[T, str]:
    """Parse and validate `text` as `schema` (a pydantic model, or any type pydantic validates, e.g.
    list[Model]). Returns (value, reasoning from <think> tags). Raises ParseFailure."""
    body, reasoning = split_think(text)
    candidate = extract_json_text(body)
    if candidate is None:
        raise ParseFailure("the reply contains no JSON object or array", (text,))
    data = _load(candidate)
    if data is None or data == "":
        raise ParseFailure("the JSON in the reply could not be parsed or repaired", (text,))
    try:
        return _adapter(cast(Hashable, schema)).validate_python(data), reasoning
    except ValidationError as exc:
        raise ParseFailure(_describe(exc), (text,)) from None


def reask_message(reason: str, messages: list[dict[str, str]]) -> dict[str, str]:
    """The user message of the one re-ask, in the language of the original prompt."""
    prompt = "".join(m.get("content") or "" for m in messages if m.get("role") != "assistant")
    language = "zh" if _CJK.search(prompt) else "en"
    return {"role": "user", "content": _REASK[language].format(reason=reason)}


class ListReply(BaseModel):
    """A reply whose single list field may also arrive as a bare JSON list (models often drop the wrapper)."""

    @model_validator(mode="before")
    @classmethod
    def _bare_list(cls, value: Any) -> Any:
        if isinstance(value, list):
            (name,) = cls.model_fields
            return {name: value}
        return value
