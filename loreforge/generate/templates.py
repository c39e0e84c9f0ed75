"""Question templates' pure parts: the answer format a template wants, checked when the template is made, told
to the model beside the question, and enforced on the reply.

A template (`question_templates` row, service `templates.py`) is a fixed question put to every chunk (or image)
with an answer type: `text` (free), `label` (one of the template's labels; anything else becomes "other"), or
`json` (a value shaped like the example the user gave: the same keys, value types and nesting). The answers
stage adds `instruction()` to the question in its prompt and passes each reply through `conform()`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from loreforge.errors import UserError

ANSWER_TYPES = ("text", "label", "json")
SOURCES = ("text", "image")
OTHER = {"zh": "其他", "en": "other"}
MAX_LABELS = 100
_QUOTES = "\"'“”‘’「」『』[]【】《》`"


@dataclass(frozen=True)
class AnswerFormat:
    """What a template's question wants as its answer."""

    answer_type: str = "text"
    labels: tuple[str, ...] = ()
    json_format: str = ""
    description: str = ""


def parse_format(text: str) -> Any:
    """The user's JSON format (an example value), parsed; UserError naming what is wrong when it is not JSON."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise UserError("The template's JSON format is not valid JSON", got=f"{text[:80]!r} ({exc})",
                        hint='Give an example value, e.g. --format \'{"company": "…", "revenue": 0, "risks": ["…"]}\'') from None
    if not isinstance(value, (dict, list)):
        raise UserError("The template's JSON format must be an object or an array", got=type(value).__name__,
                        hint='e.g. {"company": "…", "revenue": 0}')
    return value


def check_template(answer_type: str, labels: list[str], json_format: str) -> tuple[list[str], str]:
    """The labels and JSON format a template of `answer_type` keeps, checked (UserError says what to fix)."""
    if answer_type not in ANSWER_TYPES:
        raise UserError("Unknown answer type", expected=", ".join(ANSWER_TYPES), got=repr(answer_type))
    clean = list(dict.fromkeys(label.strip() for label in labels if label.strip()))
    if answer_type == "label":
        if not clean:
            raise UserError("A label template needs labels", hint="Pass --labels 'positive,negative,neutral'")
        if len(clean) > MAX_LABELS:
            raise UserError("Too many labels", expected=f"at most {MAX_LABELS}", got=str(len(clean)))
        return clean, ""
    if answer_type == "json":
        if not json_format.strip():
            raise UserError("A json template needs its format", hint='Pass --format \'{"field": "…"}\' (an example value)')
        return [], json.dumps(parse_format(json_format), ensure_ascii=False)
    return [], ""


def instruction(fmt: AnswerFormat, language: str) -> str:
    """What is added to the question in the prompt so that the model answers in the format."""
    zh = language == "zh"
    extra = f" {fmt.description.strip()}" if fmt.description.strip() else ""
    if fmt.answer_type == "label":
        labels = ("、" if zh else ", ").join(fmt.labels)
        return (f"{extra}（只回答以下标签之一：{labels}；都不合适时回答“{OTHER['zh']}”）" if zh
                else f"{extra} (answer with exactly one of these labels: {labels}; if none fits, answer \"{OTHER['en']}\")")
    if fmt.answer_type == "json":
        return (f"{extra}（答案只输出一个符合此结构的 JSON 值，不加任何说明：{fmt.json_format}）" if zh
                else f"{extra} (answer with only a JSON value shaped exactly like this, nothing else: {fmt.json_format})")
    return extra


def shape_errors(value: Any, example: Any, where: str = "$") -> list[str]:
    """How `value` differs from the shape of `example`: same keys, value types and nesting (numbers are numbers;
    a null in the example takes anything; a list's items follow its first example item)."""
    if example is None:
        return []
    if isinstance(example, dict):
        if not isinstance(value, dict):
            return [f"{where}: expected an object, got {type(value).__name__}"]
        errors = [f"{where}: missing key '{k}'" for k in example if k not in value]
        for key in example:
            if key in value:
                errors += shape_errors(value[key], example[key], f"{where}.{key}")
        return errors
    if isinstance(example, list):
        if not isinstance(value, list):
            return [f"{where}: expected an array, got {type(value).__name__}"]
        return [e for i, item in enumerate(value) for e in shape_errors(item, example[0], f"{where}[{i}]")] if example else []
    if isinstance(example, bool) or isinstance(value, bool):
        ok = isinstance(example, bool) and isinstance(value, bool)
    elif isinstance(example, (int, float)):
        ok = isinstance(value, (int, float))
    else:
        ok = isinstance(value, type(example))
    return [] if ok else [f"{where}: expected {type(example).__name__}, got {type(value).__name__}"]


def conform(answer: str, fmt: AnswerFormat, language: str) -> tuple[str, str | None]:
    """The answer as the template wants it, or (the answer, why it cannot be used). A label answer that is none of
    the labels becomes "other"; a JSON answer must parse and have the example's shape (it is stored compact)."""
    if fmt.answer_type == "label":
        return _label(answer, fmt.labels, language), None
    if fmt.answer_type != "json":
        return answer, None
    from loreforge.generate.parsing import extract_json_text

    candidate = extract_json_text(answer)
    try:
        value = json.loads(candidate) if candidate is not None else None
    except ValueError:
        value = None
    if value is None:
        return answer, "the answer is not JSON (the template wants a JSON value)"
    errors = shape_errors(value, json.loads(fmt.json_format))
    if errors:
        return answer, "the JSON answer does not have the template's format: " + "; ".join(errors[:5])
    return json.dumps(value, ensure_ascii=False), None


def _label(answer: str, labels: tuple[str, ...], language: str) -> str:
    text = answer.strip().strip(_QUOTES).strip().rstrip("。.!！").strip(_QUOTES).strip()
    folded = {label.casefold(): label for label in labels}
    if text.casefold() in folded:
        return folded[text.casefold()]
    inside = [label for label in labels if label.casefold() in text.casefold()]
    return inside[0] if len(inside) == 1 else OTHER.get(language, OTHER["en"])


def conform_draft(draft: Any, formats: dict[int, AnswerFormat], language: str) -> Any:
    """An answers stage draft (`strategies.AnswerDraft`) with each template question's answer conformed; an answer
    that cannot be used is dropped from it and named in its error (the item fails; a retry asks again)."""
    problems: list[str] = []
    for qid, fmt in formats.items():
        if qid not in draft.answers:
            continue
        answer, cot = draft.answers[qid]
        fixed, error = conform(answer, fmt, language)
        if error is None:
            draft.answers[qid] = (fixed, cot)
        else:
            del draft.answers[qid]
            problems.append(f"question {qid}: {error} (got {answer[:120]!r})")
    if problems:
        draft.error = "; ".join(([draft.error] if draft.error else []) + problems)
    return draft
