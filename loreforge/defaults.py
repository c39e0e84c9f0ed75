"""Plain defaults of the shells (server address, paging), kept free of imports so that `loreforge --help`
starts fast. `loreforge.settings` re-exports them; nothing else defines them."""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8717
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
DEFAULT_VAL_SIZE = 0.1  # share held out for validation: `export`, `train --project` and the demo alike

# The vocabularies of export and import, here so that the CLI can offer them without importing the stages.
EXPORT_FORMATS: tuple[str, ...] = ("alpaca", "sharegpt", "sharegpt-messages", "messages", "custom", "multilingual-thinking")
"""The record layouts of the export stage."""
EXPORT_TARGETS: tuple[str, ...] = EXPORT_FORMATS + ("llamafactory", "hf")
"""Every `--format` of `loreforge export`: the record layouts, the LLaMA Factory bundle, a `datasets` folder."""
FILE_TYPES: tuple[str, ...] = ("json", "jsonl", "csv", "parquet", "hf")
IMPORT_FORMATS: tuple[str, ...] = ("auto", "alpaca", "sharegpt", "messages", "multilingual-thinking", "custom")
DATASET_SORTS: tuple[str, ...] = ("id", "-id", "score", "-score", "rating", "-rating")
"""The orders a dataset list can be read in (`-` first: descending)."""
