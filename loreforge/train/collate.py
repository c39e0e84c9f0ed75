"""Batching for the trainer: pad encoded examples (or packed rows) into tensors.

Fed by `loreforge/train/data.py` (`encode` gives (input_ids, labels); `pack` gives `PackedRow`s, turned into
feature dicts by the trainer); feeds the transformers `Trainer` as its `data_collator`.

- Unpacked features (`input_ids`, `labels`) are right-padded to the longest row in the batch: `input_ids` with
  the tokenizer's pad id, `labels` with -100, and an `attention_mask` of 1 on real tokens, 0 on padding.
- Packed features also carry `position_ids` restarting at 0 for each example. No `attention_mask` is passed
  then: transformers (>= 4.56) reads the restarts in `position_ids` as sequence boundaries and keeps attention
  within each example (sdpa/eager build a block-diagonal mask, FlashAttention uses varlen kernels). Padding gets
  its own positions from 0, so it forms one more (unlabelled) block that no real token attends to. The
  detection runs only without a KV cache: the model must run with `use_cache=False` (the trainer sets it).
torch is imported inside the functions only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from loreforge.train.data import IGNORE_INDEX

Feature = Mapping[str, Sequence[int]]


def _pad(rows: Sequence[Sequence[int]], value: int, length: int) -> list[list[int]]:
    return [list(row) + [value] * (length - len(row)) for row in rows]


@dataclass(frozen=True)
class SFTCollator:
    """Pads a list of features into a batch of tensors; `pad_to_multiple_of` rounds the length up."""

    pad_token_id: int
    pad_to_multiple_of: int | None = None

    def __call__(self, features: Sequence[Feature]) -> dict[str, Any]:
        import torch

        if not features:
            raise ValueError("cannot collate an empty batch")
        length = max(len(f["input_ids"]) for f in features)
        if self.pad_to_multiple_of:
            length = -(-length // self.pad_to_multiple_of) * self.pad_to_multiple_of
        ids = [f["input_ids"] for f in features]
        batch: dict[str, Any] = {
            "input_ids": torch.tensor(_pad(ids, self.pad_token_id, length), dtype=torch.long),
            "labels": torch.tensor(_pad([f["labels"] for f in features], IGNORE_INDEX, length), dtype=torch.long),
        }
        if all("position_ids" in f for f in features):
            positions = [list(f["position_ids"]) + list(range(length - len(f["position_ids"]))) for f in features]
            batch["position_ids"] = torch.tensor(positions, dtype=torch.long)
        else:
            batch["attention_mask"] = torch.tensor(_pad([[1] * len(row) for row in ids], 0, length), dtype=torch.long)
        return batch
