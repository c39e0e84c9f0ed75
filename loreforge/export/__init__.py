"""The export stage: reviewed QA pairs -> training files (Alpaca, ShareGPT, OpenAI messages, custom,
multilingual-thinking) as JSON / JSONL / CSV / Parquet / a `datasets` folder, and the LLaMA Factory bundle.

Pure: no store, no CLI. The service layer passes a `pairs_factory` (a callable returning a fresh iterator of
`QAPair`s) and gets an `ExportResult` back. pyarrow and datasets are imported only by the Parquet and HF
writers (the `export` extra).
"""

from __future__ import annotations

from loreforge.export.exporter import ExportResult, PairsFactory, export_dataset
from loreforge.export.formats import CONVERTERS, answer_text, chat_messages, convert
from loreforge.export.llamafactory import dataset_info, export_llamafactory, render_train_yaml
from loreforge.export.options import (
    CUSTOM_FIELD_KEYS,
    EXPORT_FORMATS,
    FILE_TYPES,
    TARGETS,
    ExportOptions,
    TrainRecipe,
    make_options,
)
from loreforge.export.split import PairKey, balance, key_of, split_pairs
from loreforge.export.writers import WriteResult, file_sha256, open_writer, output_name, write_rows

__all__ = [
    "CONVERTERS",
    "CUSTOM_FIELD_KEYS",
    "EXPORT_FORMATS",
    "FILE_TYPES",
    "TARGETS",
    "ExportOptions",
    "ExportResult",
    "PairKey",
    "PairsFactory",
    "TrainRecipe",
    "WriteResult",
    "answer_text",
    "balance",
    "chat_messages",
    "convert",
    "dataset_info",
    "export_dataset",
    "export_llamafactory",
    "file_sha256",
    "key_of",
    "make_options",
    "open_writer",
    "output_name",
    "render_train_yaml",
    "split_pairs",
    "write_rows",
]
