"""Record layouts of dataset files, and how each maps onto an `ImportedPair`.

Fed parsed records (dicts) by `loreforge.review.importing`; the inverse of `loreforge.export.formats`:

- **alpaca**: `instruction` (+ `input`, appended after a blank line when not empty) → question, `output` →
  answer, `system`, `history` [[q, a], ...], and LoreForge's `cot` field.
- **sharegpt**: `conversations` [{"from": human|user|gpt|assistant|system, "value"}], top-level `system` and
  `cot`. The last user/assistant pair is the QA; earlier pairs become history.
- **messages** (OpenAI chat, and LoreForge's sharegpt-messages): `messages` [{"role", "content"}] with the
  same turn logic; an assistant's `thinking` / `reasoning_content` is the CoT; content may be a list of
  {"type": "text", "text"} parts.
- **multilingual-thinking** (Easy Dataset's layout): `user` → question, `final` → answer, `analysis` → CoT,
  `developer` → system (falling back to `messages` when user/final are absent).
- **custom**: a mapping from our fields (question, answer, cot, system, tag, history) to the file's keys.

Everywhere: a `<think>…</think>` prefix of the answer is split off into the CoT (an explicit CoT field
wins); numbers and booleans where text is expected become text; lists/dicts where text is expected, empty
questions or answers, and missing required fields raise `BadRecord` with a message naming the field. In
CSV files, structured cells (history, conversations, messages) hold JSON text and are parsed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from loreforge.review.dataset import ImportedPair

PAIR_FIELDS = ("question", "answer", "cot", "system", "tag", "history")
_THINK = re.compile(r"\s*<think>(.*?)</think>\s*", re.DOTALL)
_USER_ROLES = frozenset({"human", "user"})
_ASSISTANT_ROLES = frozenset({"gpt", "assistant", "model", "bot"})
_COT_KEYS = ("thinking", "reasoning_content", "reasoning")


class BadRecord(Exception):
    """A record that does not fit its layout; the message says which field and what was expected."""


def _text(value: Any, key: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    kind = "a list" if isinstance(value, list) else "an object" if isinstance(value, dict) else type(value).__name__
    raise BadRecord(f"'{key}' is {kind} — expected text")


def _required(record: Mapping[str, Any], key: str, expected: str, *, allow_empty: bool = False) -> str:
    if key not in record:
        raise BadRecord(f"no '{key}' field — expected {expected}")
    text = _text(record[key], key)
    if not text.strip() and not allow_empty:
        raise BadRecord(f"'{key}' is empty")
    return text


def _structured(value: Any, key: str) -> Any:
    """A list given as JSON text (a CSV cell) is parsed; anything else is returned as it is."""
    if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise BadRecord(f"'{key}' is not valid JSON — {exc.msg}") from None
    return value


def _history(value: Any, key: str) -> tuple[tuple[str, str], ...]:
    value = _structured(value, key)
    if value in (None, ""):
        return ()
    if not isinstance(value, list):
        raise BadRecord(f"'{key}' must be a list of [question, answer] pairs")
    turns: list[tuple[str, str]] = []
    for turn in value:
        if not isinstance(turn, (list, tuple)) or len(turn) != 2:
            raise BadRecord(f"'{key}' must be a list of [question, answer] pairs, got {json.dumps(turn)[:60]}")
        turns.append((_text(turn[0], key), _text(turn[1], key)))
    return tuple(turns)


def split_think(answer: str, cot: str = "") -> tuple[str, str]:
    """(answer, cot) with a leading `<think>…</think>` moved out of the answer (an explicit `cot` wins)."""
    match = _THINK.match(answer)
    if not match:
        return answer, cot
    return answer[match.end() :], cot or match.group(1).strip()


def _pair(question: str, answer: str, cot: str = "", **extra: Any) -> ImportedPair:
    answer, cot = split_think(answer, cot)
    if not answer.strip():
        raise BadRecord("the answer is empty")
    return ImportedPair(question=question, answer=answer, cot=cot, **extra)


def from_alpaca(record: Mapping[str, Any]) -> ImportedPair:
    expected = "alpaca fields instruction/output (or pass a mapping)"
    extra = _text(record.get("input"), "input")
    question = _required(record, "instruction", expected, allow_empty=bool(extra.strip()))
    question = "\n\n".join(part for part in (question, extra) if part.strip())
    return _pair(
        question,
        _required(record, "output", expected),
        _text(record.get("cot"), "cot"),
        system=_text(record.get("system"), "system"),
        tag=_text(record.get("tag"), "tag"),
        history=_history(record.get("history"), "history"),
    )


def _content(value: Any, key: str) -> str:
    if isinstance(value, list):  # OpenAI content parts
        if not all(isinstance(p, dict) and p.get("type") == "text" for p in value):
            raise BadRecord(f"'{key}' holds non-text parts — only text messages can be imported")
        return "".join(_text(p.get("text"), key) for p in value)
    return _text(value, key)


def _conversation(turns: list[tuple[str, str, str]], key: str, system: str, cot: str, tag: str) -> ImportedPair:
    """Turns (role, text, thinking): system turns → system; the last user/assistant pair → the QA."""
    system = "\n\n".join(text for text in [system] + [text for role, text, _ in turns if role == "system"] if text)
    rest = [t for t in turns if t[0] != "system"]
    roles = [role for role, _, _ in rest]
    if not rest or roles[-1] != "assistant":
        raise BadRecord(f"'{key}' does not end with an assistant reply")
    if len(rest) % 2 or any(role != ("user" if i % 2 == 0 else "assistant") for i, role in enumerate(roles)):
        raise BadRecord(f"'{key}' must alternate user and assistant turns, got {'/'.join(roles)}")
    if not rest[-2][1].strip():
        raise BadRecord(f"'{key}' has an empty question")
    history = tuple((rest[i][1], rest[i + 1][1]) for i in range(0, len(rest) - 2, 2))
    return _pair(rest[-2][1], rest[-1][1], cot or rest[-1][2], system=system, tag=tag, history=history)


def _turn_list(record: Mapping[str, Any], key: str, expected: str) -> list[Any]:
    if key not in record:
        raise BadRecord(f"no '{key}' field — expected {expected} (or pass a mapping)")
    value = _structured(record[key], key)
    if not isinstance(value, list) or not all(isinstance(m, dict) for m in value):
        raise BadRecord(f"'{key}' must be a list of message objects")
    return value


def _role(raw: Any, key: str) -> str:
    role = _text(raw, key).strip().lower()
    if role in _USER_ROLES:
        return "user"
    if role in _ASSISTANT_ROLES:
        return "assistant"
    if role == "system":
        return "system"
    raise BadRecord(f"'{key}' has a '{role}' turn — only system, user and assistant turns can be imported")


def _thinking(message: Mapping[str, Any], key: str) -> str:
    return next((_text(message[k], key) for k in _COT_KEYS if message.get(k)), "")


def _turns(messages: list[Any], key: str, role: str, content: str) -> list[tuple[str, str, str]]:
    return [(_role(m.get(role), key), _content(m.get(content), key), _thinking(m, key)) for m in messages]


def from_sharegpt(record: Mapping[str, Any]) -> ImportedPair:
    messages = _turn_list(record, "conversations", "sharegpt fields conversations [{from, value}]")
    return _conversation(_turns(messages, "conversations", "from", "value"), "conversations", *_common(record))


def from_messages(record: Mapping[str, Any]) -> ImportedPair:
    messages = _turn_list(record, "messages", "messages fields messages [{role, content}]")
    return _conversation(_turns(messages, "messages", "role", "content"), "messages", *_common(record))


def _common(record: Mapping[str, Any]) -> tuple[str, str, str]:
    """Top-level system, cot and tag, as LoreForge's exports may write them."""
    return (_text(record.get("system"), "system"), _text(record.get("cot"), "cot"), _text(record.get("tag"), "tag"))


def from_multilingual_thinking(record: Mapping[str, Any]) -> ImportedPair:
    if "user" not in record and "final" not in record and "messages" in record:
        pair = from_messages(record)
        system = pair.system or _text(record.get("developer"), "developer")
        return ImportedPair(pair.question, pair.answer, pair.cot, system, pair.tag, pair.history)
    expected = "multilingual-thinking fields user/final (or pass a mapping)"
    return _pair(
        _required(record, "user", expected),
        _required(record, "final", expected),
        _text(record.get("analysis"), "analysis"),
        system=_text(record.get("developer"), "developer"),
        tag=_text(record.get("tag"), "tag"),
    )


def custom(mapping: Mapping[str, str]) -> Callable[[Mapping[str, Any]], ImportedPair]:
    """A converter reading our fields from the keys `mapping` names (question and answer are required)."""
    expected = "the mapped fields " + "/".join(repr(mapping[f]) for f in ("question", "answer"))

    def convert(record: Mapping[str, Any]) -> ImportedPair:
        def optional(name: str) -> str:
            return _text(record.get(mapping[name]), mapping[name]) if name in mapping else ""

        return _pair(
            _required(record, mapping["question"], expected),
            _required(record, mapping["answer"], expected),
            optional("cot"),
            system=optional("system"),
            tag=optional("tag"),
            history=_history(record.get(mapping["history"]), mapping["history"]) if "history" in mapping else (),
        )

    return convert


LAYOUTS: dict[str, Callable[[Mapping[str, Any]], ImportedPair]] = {
    "alpaca": from_alpaca,
    "sharegpt": from_sharegpt,
    "messages": from_messages,
    "multilingual-thinking": from_multilingual_thinking,
}


def detect(keys: set[str]) -> tuple[str, dict[str, str] | None] | None:
    """The layout a record's keys suggest: (name, mapping for "custom" or None), or None when unclear."""
    if {"user", "final"} <= keys or {"analysis", "final"} <= keys:
        return "multilingual-thinking", None
    if "conversations" in keys:
        return "sharegpt", None
    if "messages" in keys:
        return "messages", None
    if "instruction" in keys:
        return "alpaca", None
    if {"question", "answer"} <= keys:
        return "custom", {name: name for name in PAIR_FIELDS if name in keys}
    return None
