"""The review stage's pure parts: the grounding check and dataset import.

`check_grounding(answer, source)` checks, without an LLM, that every number, amount, date and name in an
answer appears in its source chunk (`grounding`, with `textnorm`, `numerals`, `quantities`, `dates` and
`names`). `read_dataset(path, ...)` and its streaming form `iter_dataset(path, ...)` read Alpaca, ShareGPT,
OpenAI-messages, multilingual-thinking or custom-mapped JSON / JSONL / CSV files into `ImportedPair`s for
the service layer to store as unconfirmed items (`importing`, with `readers`, `layouts` and `dataset`).
"""

from loreforge.review.dataset import ImportedPair, ImportFailed, ImportIssue, ImportResult
from loreforge.review.grounding import Grounding, check_grounding
from loreforge.review.importing import (
    IMPORT_FORMATS,
    SUPPORTED_EXTENSIONS,
    DatasetStream,
    ImportFormat,
    iter_dataset,
    read_dataset,
)

__all__ = [
    "IMPORT_FORMATS",
    "SUPPORTED_EXTENSIONS",
    "DatasetStream",
    "Grounding",
    "ImportFailed",
    "ImportFormat",
    "ImportIssue",
    "ImportResult",
    "ImportedPair",
    "check_grounding",
    "iter_dataset",
    "read_dataset",
]
