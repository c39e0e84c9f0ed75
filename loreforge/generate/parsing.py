"""Turning an LLM's structured reply into a validated value, and the re-ask message when that fails.

Order of work: a reply the model did not finish (`finish_reason` "length" or "content_filter") is refused as
cut; strip `<think>` (kept as reasoning), take the fenced ```json block if there is one (else the outermost JSON
object or array in the text), parse it strictly; when that fails, JSON that stops before its end (inside a
string, or with an array or object left open) is refused as cut, anything else is repaired with json-repair
(trailing commas, single quotes, prose around it); validate with pydantic. A cut reply raises `CutReply` and
is never repaired: repair would close the cut and store half an answer. Other failures raise `ParseFailure`.
Both carry the reason and the raw reply; the runner (`runner.Runner.call_json`) asks again.
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


LIMIT_FINISH = frozenset({"length", "max_tokens"})
"""Finish reasons that say a token limit stopped the reply (OpenAI-compatible "length", Ollama "length")."""
CUT_FINISH = LIMIT_FINISH | {"content_filter"}
"""Finish reasons of a reply the model did not finish."""


class CutReply(ParseFailure):
    """A reply that was cut off: a token limit or filter stopped it, or its JSON stops before its end.

    `by_limit` is True when a token limit stopped it (`finish_reason` "length"): asking again with a larger
    `max_tokens` may help. A cut reply is never repaired into a value.
    """

    def __init__(self, reason: str, raw_outputs: tuple[str, ...], *, by_limit: bool, hint: str | None = None) -> None:
        self.by_limit = by_limit
        super().__init__(reason, raw_outputs, hint=hint)


def is_limit(finish_reason: str | None) -> bool:
    """True when `finish_reason` says a token limit stopped the reply."""
    return (finish_reason or "").lower() in LIMIT_FINISH


def check_finished(text: str, finish_reason: str | None) -> None:
    """Raise CutReply when the provider says the model did not finish its reply."""
    reason = (finish_reason or "").lower()
    if reason not in CUT_FINISH:
        return
    what = "a token limit" if reason in LIMIT_FINISH else "the provider's content filter"
    raise CutReply(f"the reply was cut off by {what} (finish_reason '{finish_reason}')", (text,),
                   by_limit=reason in LIMIT_FINISH)


_OPENERS = {"{": "}", "[": "]"}
_AFTER_STRING = frozenset(",:}]")
_BEFORE_SINGLE = frozenset("{[,:")


def _string_end(text: str, start: int, quote: str) -> int | None:
    """Index of the quote that closes the string opened before `start`, or None when it is never closed.

    A quote closes the string only when what follows it (after spaces) ends a value — `,` `:` `}` `]` or the
    end of the text — so the unescaped quotes models put inside Chinese text (`截至今年"多少老员工日"`) do not.
    """
    n = len(text)
    j = start
    while j < n:
        c = text[j]
        if c == "\\":
            j += 2
            continue
        if c == quote:
            k = j + 1
            while k < n and text[k].isspace():
                k += 1
            if k == n or text[k] in _AFTER_STRING:
                return j
        j += 1
    return None


def _unclosed(stack: list[str]) -> str:
    objects, arrays = stack.count("{"), stack.count("[")
    parts = [f"{objects} object{'s' if objects > 1 else ''}" if objects else "",
             f"{arrays} array{'s' if arrays > 1 else ''}" if arrays else ""]
    return " and ".join(p for p in parts if p)


def cut_reason(candidate: str) -> str | None:
    """Why the JSON text `candidate` stops before its end — a string never closed, or arrays/objects left
    open when the text ends — else None. Only the first top-level value counts: what follows it is prose."""
    stack: list[str] = []
    last = ""  # the last character outside strings that is not a space
    i, n = 0, len(candidate)
    while i < n:
        ch = candidate[i]
        if ch == '"' or (ch == "'" and (last == "" or last in _BEFORE_SINGLE)):
            end = _string_end(candidate, i + 1, ch)
            if end is None:
                return "the JSON stops inside a string that is never closed"
            i, last = end + 1, ch
            continue
        if ch in _OPENERS:
            stack.append(ch)
        elif ch in "}]" and any(_OPENERS[o] == ch for o in stack):
            while _OPENERS[stack.pop()] != ch:  # a mismatched closer closes what it matches (a model's slip)
                pass
            if not stack:
                return None
        if not ch.isspace():
            last = ch
        i += 1
    if stack:
        return f"the JSON stops with {_unclosed(stack)} never closed"
    return None


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
"""NUL and lone surrogates: no store or file can hold them (SQLite and PostgreSQL refuse to encode them)."""


def storable_text(text: str) -> str:
    """`text` with NUL and lone surrogates (a model's JSON may escape half an emoji, `\\ud83d`) replaced by U+FFFD;
    the same object when there are none."""
    return text if _UNSTORABLE.search(text) is None else _UNSTORABLE.sub("\ufffd", text)


def storable_value(data: Any) -> Any:
    """Parsed JSON with `storable_text` applied to every string in it, keys included (walked without recursion)."""
    root: list[Any] = [data]
    stack: list[tuple[Any, Any]] = [(root, 0)]
    while stack:
        holder, key = stack.pop()
        value = holder[key]
        if isinstance(value, str):
            holder[key] = storable_text(value)
        elif isinstance(value, list):
            stack.extend((value, i) for i in range(len(value)))
        elif isinstance(value, dict):
            if any(isinstance(k, str) and _UNSTORABLE.search(k) for k in value):
                value = holder[key] = {storable_text(k) if isinstance(k, str) else k: v for k, v in value.items()}
            stack.extend((value, k) for k in value)
    return root[0]


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


def _load(candidate: str, text: str) -> Any:
    """Strict JSON, else — unless it was cut — json-repair's reading of it."""
    try:
        return json.loads(candidate)
    except ValueError:
        pass
    cut = cut_reason(candidate)
    if cut is not None:
        raise CutReply(f"the reply was cut off: {cut}", (text,), by_limit=False)
    return json_repair.repair_json(candidate, return_objects=True)


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        parts.append(f"{where}: {err['msg']}")
    more = exc.error_count() - len(parts)
    tail = f" (+{more} more)" if more > 0 else ""
    return "the JSON does not match the expected format — " + "; ".join(parts) + tail


def parse_reply(text: str, schema: type[T], finish_reason: str | None = None) -> tuple[T, str]:
    """Parse and validate `text` as `schema` (a pydantic model, or any type pydantic validates, e.g.
    list[Model]). Returns (value, reasoning from <think> tags). Raises CutReply for a reply that was cut off
    (by `finish_reason` or by its JSON), ParseFailure for any other reply that cannot be used."""
    check_finished(text, finish_reason)
    body, reasoning = split_think(text)
    candidate = extract_json_text(body)
    if candidate is None:
        raise ParseFailure("the reply contains no JSON object or array", (text,))
    data = storable_value(_load(candidate, text))
    if data is None or data == "":
        raise ParseFailure("the JSON in the reply could not be parsed or repaired", (text,))
    try:
        return _adapter(cast(Hashable, schema)).validate_python(data), reasoning
    except ValidationError as exc:
        raise ParseFailure(_describe(exc), (text,)) from None


def reask_message(reason: str, messages: list[dict[str, str]]) -> dict[str, str]:
    """The user message of the one re-ask, in the language of the original prompt."""
    from loreforge.providers.base import message_text

    prompt = "".join(message_text(m.get("content")) for m in messages if m.get("role") != "assistant")
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
