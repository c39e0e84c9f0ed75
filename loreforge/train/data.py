"""Training data: datasets from `dataset_info.json`, conversations encoded with loss masks, truncation, packing.

Fed by the export stage's LLaMA Factory bundle (`loreforge/export/llamafactory.py` writes `dataset_info.json`
with alpaca and sharegpt entries) and by `templates.py`; feeds the trainer.

Mirrors LLaMA Factory (paths in its repository):
- `src/llamafactory/data/parser.py` `DatasetAttr`: entry keys and default columns/tags (`DatasetAttr` below);
- `src/llamafactory/data/converter.py` Alpaca/Sharegpt converters: "instruction\\ninput" as the user turn,
  `history` pairs before it, a leading system-tag message as the system text, broken role order skipped;
- `src/llamafactory/data/processor/supervised.py` `_encode_data_example`: per turn truncation by
  `infer_seqlen` (`processor/processor_utils.py`), prompt labels -100, `mask_history` trains only the last
  turn and gives the last turns priority, the efficient-EOS label rule, and the packing layout
  (`greedy_knapsack`, position ids restarting at 0 per example, `sequence_boundaries`).
Packed rows are not padded here (LLaMA Factory pads to cutoff_len + 1; padding belongs to the collator).
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from loreforge.errors import ConfigError, NotFound, UserError
from loreforge.train.templates import Conversation, Message, Template

IGNORE_INDEX = -100
DATASET_INFO = "dataset_info.json"


# ---------------------------------------------------------------- dataset_info.json


@dataclass(frozen=True)
class DatasetAttr:
    """One `dataset_info.json` entry, with LLaMA Factory's defaults for every column and tag."""

    name: str
    file_name: str
    formatting: str = "alpaca"
    system: str | None = None
    prompt: str | None = "instruction"
    query: str | None = "input"
    response: str | None = "output"
    history: str | None = None
    messages: str | None = "conversations"
    role_tag: str = "from"
    content_tag: str = "value"
    user_tag: str = "human"
    assistant_tag: str = "gpt"
    system_tag: str | None = "system"

    @classmethod
    def from_entry(cls, name: str, entry: Mapping[str, Any]) -> DatasetAttr:
        if "file_name" not in entry:
            raise ConfigError(
                f"Dataset `{name}` in {DATASET_INFO} has no `file_name`",
                hint="Only local files are supported (hub, script and cloud entries are not)",
            )
        formatting = entry.get("formatting") or "alpaca"
        if formatting not in ("alpaca", "sharegpt", "openai"):
            raise ConfigError(f"Dataset `{name}`: unknown formatting", expected="alpaca, sharegpt", got=formatting)
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {"name": name, "file_name": entry["file_name"], "formatting": formatting}
        for group in ("columns", "tags"):
            values |= {k: v for k, v in (entry.get(group) or {}).items() if k in known}
        return cls(**values)


def read_dataset_info(dataset_dir: Path) -> dict[str, Any]:
    path = dataset_dir / DATASET_INFO
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise NotFound(
            f"No {DATASET_INFO} in {dataset_dir}",
            hint="`dataset_dir` is resolved against the working directory, as LLaMA Factory does",
        ) from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON", got=str(exc)) from exc
    if not isinstance(info, dict):
        raise ConfigError(f"{path} must be a JSON object", got=type(info).__name__)
    return info


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise NotFound(f"Dataset file {path} does not exist", hint=f"Check `file_name` in {DATASET_INFO}")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"Dataset file {path} is not UTF-8 text", got=str(exc), hint="Save it as UTF-8") from exc


def _read_rows(path: Path, problems: list[str]) -> list[tuple[str, Any]]:
    """(where, row) for each row of a .json list or a .jsonl file. A .jsonl line that is not JSON is reported in
    `problems` and skipped, so one bad line does not stop the rest; a broken .json file is an error."""
    text = _read_text(path)
    if path.suffix == ".jsonl":
        rows = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append((f"{path.name} line {number}", json.loads(line)))
            except json.JSONDecodeError as exc:
                problems.append(f"{path.name} line {number}: not valid JSON ({exc.msg} at column {exc.colno})")
        return rows
    if path.suffix != ".json":
        raise ConfigError(f"Unsupported dataset file {path.name}", expected=".json or .jsonl")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"Dataset file {path} is not valid JSON", got=f"{exc.msg} at line {exc.lineno} column {exc.colno}",
            hint="Fix the file there, or export the dataset again",
        ) from exc
    return [(f"{path.name} row {i}", row) for i, row in enumerate(data if isinstance(data, list) else [data], 1)]


def alpaca_conversation(attr: DatasetAttr, row: Mapping[str, Any]) -> Conversation | None:
    """LLaMA Factory's AlpacaDatasetConverter for SFT rows; None when the row has no string response. A column
    left out of a row counts as empty (as when `datasets` unifies a file's columns)."""
    messages: list[Message] = []
    history = row.get(attr.history) if attr.history else None
    if isinstance(history, list):
        for old_prompt, old_response in history:
            messages += [Message("user", old_prompt), Message("assistant", old_response)]
    query = [row[c] for c in (attr.prompt, attr.query) if c and row.get(c)]
    response = row.get(attr.response) if attr.response else None
    if not isinstance(response, str):
        return None
    messages += [Message("user", "\n".join(query)), Message("assistant", response)]
    system = row.get(attr.system) if attr.system else None
    return Conversation(tuple(messages), system or None)


def sharegpt_conversation(attr: DatasetAttr, row: Mapping[str, Any]) -> Conversation | None:
    """LLaMA Factory's SharegptDatasetConverter for user/assistant turns; None for a broken row."""
    items = list(row[attr.messages or "conversations"])
    system = row[attr.system] if attr.system else None
    if attr.system_tag and items and items[0][attr.role_tag] == attr.system_tag:
        system, items = items[0][attr.content_tag], items[1:]
    messages = []
    for i, item in enumerate(items):
        expected_tag = attr.user_tag if i % 2 == 0 else attr.assistant_tag
        if item[attr.role_tag] != expected_tag:
            return None
        messages.append(Message("user" if i % 2 == 0 else "assistant", item[attr.content_tag]))
    if not messages or len(messages) % 2:
        return None
    return Conversation(tuple(messages), system or None)


@dataclass(frozen=True)
class LoadedDataset:
    conversations: list[Conversation]
    problems: tuple[str, ...] = ()  # one line per row dropped, as LLaMA Factory drops them: where, and why

    @property
    def skipped(self) -> int:
        return len(self.problems)


def _conversation(attr: DatasetAttr, row: Any) -> Conversation | str:
    """The row as a conversation, or why it cannot be one."""
    if not isinstance(row, Mapping):
        return f"not a JSON object (got {type(row).__name__})"
    convert = alpaca_conversation if attr.formatting == "alpaca" else sharegpt_conversation
    try:
        conversation = convert(attr, row)
    except KeyError as exc:
        return f"missing key {exc}"
    except (TypeError, ValueError, UserError) as exc:
        return f"not a row of `{attr.formatting}` format ({type(exc).__name__}: {exc})"
    if conversation is not None:
        return conversation
    if attr.formatting == "alpaca":
        return f"no string response in column `{attr.response}`"
    return "turns are not user/assistant in turn, or the last one is not the assistant's"


def load_dataset(names: Sequence[str], dataset_dir: Path, max_samples: int | None = None) -> LoadedDataset:
    """The named entries of `dataset_dir/dataset_info.json`, concatenated; `max_samples` caps each one."""
    info = read_dataset_info(dataset_dir)
    conversations: list[Conversation] = []
    problems: list[str] = []
    for name in names:
        if name not in info:
            raise NotFound(f"Undefined dataset `{name}` in {dataset_dir / DATASET_INFO}", expected=", ".join(info))
        attr = DatasetAttr.from_entry(name, info[name])
        for where, row in _read_rows(dataset_dir / attr.file_name, problems)[:max_samples]:
            result = _conversation(attr, row)
            if isinstance(result, str):
                problems.append(f"{where}: {result}")
            else:
                conversations.append(result)
    return LoadedDataset(conversations, tuple(problems))


# ---------------------------------------------------------------- encoding


def infer_seqlen(source_len: int, target_len: int, cutoff_len: int) -> tuple[int, int]:
    """LLaMA Factory's rule: keep the answer whole when it fits in half the budget, else keep the prompt
    (when it fits in half), else cut both in proportion. Returns (new_source_len, new_target_len)."""
    if target_len * 2 < cutoff_len:
        max_target_len = cutoff_len
    elif source_len * 2 < cutoff_len:
        max_target_len = cutoff_len - source_len
    else:
        max_target_len = int(cutoff_len * (target_len / (source_len + target_len)))
    new_target_len = min(max_target_len, target_len)
    new_source_len = min(max(cutoff_len - new_target_len, 0), source_len)
    return new_source_len, new_target_len


def _token_ids(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer.encode(text, add_special_tokens=False))


def encode_pairs(conversation: Conversation, tokenizer: Any, template: Template) -> list[tuple[list[int], list[int]]]:
    """(prompt ids, answer ids) per turn; each segment tokenized on its own. The efficient-EOS final EOS is
    not included (encode adds it)."""
    segments = template.segments(conversation, tokenizer)
    if template.efficient_eos and segments and segments[-1].trainable and segments[-1].text == tokenizer.eos_token:
        segments = segments[:-1]
    pairs: list[tuple[list[int], list[int]]] = []
    source: list[int] = []
    target: list[int] = []
    for segment in segments:
        if segment.trainable:
            target += _token_ids(tokenizer, segment.text)
        else:
            if target:
                pairs.append((source, target))
                source, target = [], []
            source += _token_ids(tokenizer, segment.text)
    if source or target:
        pairs.append((source, target))
    return pairs


def encode(
    conversation: Conversation,
    tokenizer: Any,
    template: Template,
    cutoff_len: int,
    train_on_prompt: bool = False,
    mask_history: bool = False,
) -> tuple[list[int], list[int]]:
    """Token ids and labels: -100 on prompt tokens; every answer trained, or only the last with
    `mask_history` (which also keeps the last turns first when truncating); everything with `train_on_prompt`."""
    if train_on_prompt and mask_history:
        raise ConfigError("`mask_history` is incompatible with `train_on_prompt` (as in LLaMA Factory)")
    if train_on_prompt and template.efficient_eos:
        raise ConfigError(f"Template `{template.name}` does not support `train_on_prompt` (as in LLaMA Factory)")
    pairs = encode_pairs(conversation, tokenizer, template)
    input_ids: list[int] = []
    labels: list[int] = []
    total = 1 if template.efficient_eos else 0
    if mask_history:
        pairs = pairs[::-1]
    for turn, (source, target) in enumerate(pairs):
        if total >= cutoff_len:
            break
        source_len, target_len = infer_seqlen(len(source), len(target), cutoff_len - total)
        source, target = source[:source_len], target[:target_len]
        total += source_len + target_len
        if train_on_prompt:
            source_labels = list(source)
        elif template.efficient_eos and turn != 0 and source_len:
            source_labels = [tokenizer.eos_token_id] + [IGNORE_INDEX] * (source_len - 1)
        else:
            source_labels = [IGNORE_INDEX] * source_len
        target_labels = [IGNORE_INDEX] * target_len if mask_history and turn != 0 else list(target)
        if mask_history:
            input_ids = source + target + input_ids
            labels = source_labels + target_labels + labels
        else:
            input_ids += source + target
            labels += source_labels + target_labels
    if template.efficient_eos:
        input_ids.append(tokenizer.eos_token_id)
        labels.append(tokenizer.eos_token_id)
    return input_ids, labels


# ---------------------------------------------------------------- packing


@dataclass(frozen=True)
class PackedRow:
    """Several examples in one row. `boundaries` are cumulative offsets ([0, n1, n1+n2, ...]);
    `position_ids` restart at 0 in each example so attention can be kept within it."""

    input_ids: list[int]
    labels: list[int]
    position_ids: list[int]
    boundaries: list[int] = field(default_factory=lambda: [0])

    @property
    def segment_ids(self) -> list[int]:
        """1, 1, ..., 2, 2, ...: LLaMA Factory's neat_packing attention mask (example index from 1)."""
        out: list[int] = []
        for i, (start, end) in enumerate(zip(self.boundaries, self.boundaries[1:], strict=False)):
            out += [i + 1] * (end - start)
        return out


def greedy_knapsack(lengths: Iterable[int], capacity: int) -> list[list[int]]:
    """LLaMA Factory's grouping: repeatedly take the longest length that still fits."""
    numbers = sorted(lengths)
    knapsacks = []
    while numbers:
        knapsack, remaining = [], capacity
        while (index := bisect.bisect(numbers, remaining) - 1) >= 0:
            remaining -= numbers[index]
            knapsack.append(numbers.pop(index))
        if not knapsack:  # longer than capacity: cannot be packed
            break
        knapsacks.append(knapsack)
    return knapsacks


def pack(examples: Sequence[tuple[list[int], list[int]]], cutoff_len: int) -> tuple[list[PackedRow], int]:
    """Pack (input_ids, labels) examples into rows of at most `cutoff_len` tokens.
    Returns the rows and the number of examples dropped for being longer than `cutoff_len`."""
    by_length: dict[int, list[int]] = {}
    for index, (ids, labels) in enumerate(examples):
        if len(ids) != len(labels):
            raise UserError("input_ids and labels differ in length", got=f"{len(ids)} vs {len(labels)}")
        if len(ids) <= cutoff_len:
            by_length.setdefault(len(ids), []).append(index)
    dropped = len(examples) - sum(len(v) for v in by_length.values())
    lengths = [n for n, indexes in by_length.items() for _ in indexes]
    for indexes in by_length.values():
        indexes.reverse()  # pop() takes them in input order
    rows = []
    for knapsack in greedy_knapsack(lengths, cutoff_len):
        ids_all: list[int] = []
        labels_all: list[int] = []
        positions: list[int] = []
        boundaries = [0]
        for length in knapsack:
            ids, labels = examples[by_length[length].pop()]
            ids_all += ids
            labels_all += labels
            positions += list(range(length))
            boundaries.append(boundaries[-1] + length)
        rows.append(PackedRow(ids_all, labels_all, positions, boundaries))
    return rows, dropped
