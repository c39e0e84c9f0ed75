"""Run inside the LLaMA Factory venv: LLaMA Factory's own loader reads the multimodal entry of our bundle.

Usage: python lf_mllm.py BUNDLE ENTRY ROWS — loads ENTRY from BUNDLE/dataset_info.json with LLaMA Factory 0.9.5's
`get_dataset_list` and `_load_single_dataset` (which aligns it with its ShareGPT converter and resolves each image
against `media_dir`, the bundle by default) and checks every row: the user turn holds `<image>`, each image path is
an existing file, the response is there. Prints `OK mllm N`."""

from __future__ import annotations

import os
import sys
import tempfile

from transformers import Seq2SeqTrainingArguments

from llamafactory.data.loader import _load_single_dataset
from llamafactory.data.parser import get_dataset_list
from llamafactory.hparams import DataArguments, ModelArguments


def main(bundle: str, entry: str, rows: int) -> None:
    data_args = DataArguments(dataset=entry, dataset_dir=bundle)
    assert data_args.media_dir == bundle, data_args.media_dir  # images resolve against the bundle
    model_args = ModelArguments(model_name_or_path="unused")
    training_args = Seq2SeqTrainingArguments(output_dir=tempfile.mkdtemp(), report_to=[])
    (attr,) = get_dataset_list([entry], bundle)
    assert attr.formatting == "sharegpt" and attr.images == "images", attr
    dataset = _load_single_dataset(attr, model_args, data_args, training_args)
    assert len(dataset) == rows, (len(dataset), rows)
    for row in dataset:
        assert "<image>" in row["_prompt"][-1]["content"], row["_prompt"]
        assert row["_response"] and row["_response"][0]["content"], row
        assert row["_images"] and all(os.path.isfile(p) for p in row["_images"]), row["_images"]
    print(f"OK mllm {len(dataset)}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
