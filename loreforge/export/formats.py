"""Pure converters from one reviewed `QAPair` to one output record, per export format.

Fed by the review stage (QAPair records); feeds the writers. Nothing here does I/O.

A dialogue (`QAPair.kind` "dialogue") always carries its earlier rounds in the chat layouts, and its own system
prompt when the export sets none; in alpaca and custom its rounds need `include_history` (the export service
turns it on when the selection holds dialogues).

Fields each format writes (for import, which maps them back; "cot" handling follows `ExportOptions.cot`:
"think" prefixes the answer text with `<think>{cot}</think>\\n\\n` when the pair has a CoT, "field" adds a
top-level `cot` string (empty when the pair has none), "none" drops the CoT):

- **alpaca**: `instruction` (question), `input` (always ""), `output` (answer), `system` (only when a
  system prompt is set), `history` ([[question, answer], ...] earlier turns; only with include_history,
  then on every record, possibly []), `cot` (cot="field").
- **sharegpt**: `conversations` [{"from": "human"|"gpt", "value": ...}, ...] (earlier turns first when
  include_history; the last two entries are the question and the answer), `system` (only when set; a
  dialogue's own system prompt, without an export-wide one, is a leading {"from": "system"} turn),
  `cot` (cot="field").
- **sharegpt-messages** (LLaMA Factory "sharegpt" formatting with OpenAI-style tags) and **messages**
  (OpenAI chat JSONL): `messages` [{"role": "system", "content"} (only when set), {"role": "user"},
  {"role": "assistant"}, ...]; earlier turns precede the last user/assistant pair; `cot` (cot="field").
  The two write the same record; they differ in the file type and `dataset_info.json` entry they imply.
- image QA items (`with_images`): alpaca and sharegpt records get `images` (paths under the export's `images/`
  folder; an empty list for text items), the sharegpt question starts with `<image>`, and in the messages layouts
  the user turn is OpenAI content parts (`image_url` with that path, then the text); `to_mllm` is the LLaMA Factory
  bundle's multimodal entry (`<image>` in the user turn, `images`).
- **custom**: `custom_fields[key]` (or the key itself) for question, answer, cot (cot="field"), system
  (when set), history (include_history; [[q, a], ...]), tag (only when "tag" is in custom_fields).
- **multilingual-thinking** (Easy Dataset's layout of HuggingFaceH4/Multilingual-Thinking):
  `reasoning_language`, `developer` (system prompt, may be ""), `user` (question), `analysis` (CoT or null),
  `final` (answer), `messages` [{"content", "role": "system", "thinking": null},
  {"content": question, "role": "user", "thinking": null},
  {"content": answer, "role": "assistant", "thinking": CoT or null}]. The answer is never prefixed;
  any cot mode other than "none" fills analysis/thinking. Earlier turns are not written.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from loreforge.export.options import ExportOptions
from loreforge.records import QAPair

Record = dict[str, Any]


IMAGE_TOKEN = "<image>"  # where LLaMA Factory puts an image in a text turn


def image_names(pair: QAPair) -> list[str]:
    """The image paths a record names: relative to the export folder, under `images/` (the export copies them there)."""
    return [f"images/{Path(p).name}" for p in pair.images]


def answer_text(pair: QAPair, options: ExportOptions) -> str:
    """The answer as written: prefixed with `<think>…</think>` when cot="think" and the pair has a CoT."""
    if options.cot == "think" and pair.cot:
        return f"<think>{pair.cot}</think>\n\n{pair.answer}"
    return pair.answer


def _add_cot_field(record: Record, pair: QAPair, options: ExportOptions) -> Record:
    if options.cot == "field":
        record["cot"] = pair.cot
    return record


def _history(pair: QAPair, options: ExportOptions) -> tuple[tuple[str, str], ...]:
    """Earlier turns written: with include_history, and always for a dialogue (its rounds are what it is)."""
    return pair.history if options.include_history or pair.kind == "dialogue" else ()


def _system(pair: QAPair, options: ExportOptions) -> str:
    """The system prompt of a chat record: the export's, else a dialogue's own."""
    return options.system_prompt or (pair.system if pair.kind == "dialogue" else "")


def to_alpaca(pair: QAPair, options: ExportOptions) -> Record:
    record: Record = {"instruction": pair.question, "input": "", "output": answer_text(pair, options)}
    if options.system_prompt:
        record["system"] = options.system_prompt
    if options.include_history:
        record["history"] = [[q, a] for q, a in pair.history]
    if options.with_images:
        record["images"] = image_names(pair)
    return _add_cot_field(record, pair, options)  # a dialogue's rounds need include_history (the export sets it)


def to_sharegpt(pair: QAPair, options: ExportOptions) -> Record:
    turns: list[dict[str, str]] = []
    for q, a in _history(pair, options):
        turns += [{"from": "human", "value": q}, {"from": "gpt", "value": a}]
    question = IMAGE_TOKEN * len(pair.images) + pair.question
    turns += [{"from": "human", "value": question}, {"from": "gpt", "value": answer_text(pair, options)}]
    if not options.system_prompt and _system(pair, options):  # a dialogue's own: a leading system turn, columns unchanged
        turns.insert(0, {"from": "system", "value": _system(pair, options)})
    record: Record = {"conversations": turns}
    if options.system_prompt:
        record["system"] = options.system_prompt
    if options.with_images:
        record["images"] = image_names(pair)
    return _add_cot_field(record, pair, options)


def chat_messages(pair: QAPair, options: ExportOptions) -> list[dict[str, Any]]:
    """OpenAI-style messages: optional system, earlier turns, then the question and the answer."""
    messages: list[dict[str, str]] = []
    if _system(pair, options):
        messages.append({"role": "system", "content": _system(pair, options)})
    for q, a in _history(pair, options):
        messages += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    question: Any = pair.question
    if pair.images:  # OpenAI content parts, the image named by its path in the export folder
        question = [{"type": "image_url", "image_url": {"url": name}} for name in image_names(pair)] + [{"type": "text", "text": pair.question}]
    messages += [
        {"role": "user", "content": question},
        {"role": "assistant", "content": answer_text(pair, options)},
    ]
    return messages


def to_mllm(pair: QAPair, options: ExportOptions) -> Record:
    """LLaMA Factory's multimodal ShareGPT record: `<image>` in the user turn, the image paths in `images`."""
    messages: list[dict[str, str]] = [{"role": "system", "content": options.system_prompt}] if options.system_prompt else []
    messages += [{"role": "user", "content": IMAGE_TOKEN * len(pair.images) + pair.question},
                 {"role": "assistant", "content": answer_text(pair, options)}]
    return {"messages": messages, "images": image_names(pair)}


def to_messages(pair: QAPair, options: ExportOptions) -> Record:
    return _add_cot_field({"messages": chat_messages(pair, options)}, pair, options)


def to_custom(pair: QAPair, options: ExportOptions) -> Record:
    names = options.custom_fields

    def name(key: str) -> str:
        return names[key] if key in names else key

    record: Record = {name("question"): pair.question, name("answer"): answer_text(pair, options)}
    if options.cot == "field":
        record[name("cot")] = pair.cot
    if options.system_prompt:
        record[name("system")] = options.system_prompt
    if options.include_history:
        record[name("history")] = [[q, a] for q, a in pair.history]
    if "tag" in names:
        record[names["tag"]] = pair.tag
    return record


def to_multilingual_thinking(pair: QAPair, options: ExportOptions) -> Record:
    thinking = pair.cot if options.cot != "none" and pair.cot else None
    return {
        "reasoning_language": options.reasoning_language,
        "developer": options.system_prompt,
        "user": pair.question,
        "analysis": thinking,
        "final": pair.answer,
        "messages": [
            {"content": options.system_prompt, "role": "system", "thinking": None},
            {"content": pair.question, "role": "user", "thinking": None},
            {"content": pair.answer, "role": "assistant", "thinking": thinking},
        ],
    }


CONVERTERS: dict[str, Callable[[QAPair, ExportOptions], Record]] = {
    "alpaca": to_alpaca,
    "sharegpt": to_sharegpt,
    "sharegpt-messages": to_messages,
    "messages": to_messages,
    "custom": to_custom,
    "multilingual-thinking": to_multilingual_thinking,
}


def convert(pair: QAPair, options: ExportOptions) -> Record:
    """Convert one pair to the record layout named by `options.format`."""
    return CONVERTERS[options.format](pair, options)


# A pair with every field filled: converting it gives a record whose value types describe the whole file
# (used to fix a Parquet schema before the first row, so all-empty columns still get the right type).
SCHEMA_PROBE = QAPair(id=0, question="q", answer="a", cot="c", tag="t", history=(("q", "a"),))
