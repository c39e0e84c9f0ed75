"""Defaults of `loreforge chat` and `loreforge serve-model`, kept free of imports so that `loreforge --help`
starts fast. The engine's own keyword defaults (greedy, batch 16) are in its signatures."""

DEFAULT_MODEL_PORT = 8718  # beside `loreforge serve` on 8717
DEFAULT_MAX_NEW_TOKENS = 512  # an answer's length when a chat or a request sets none
DEFAULT_TEMPERATURE = 0.0  # greedy: answers to compare should not change from one call to the next
DEFAULT_BATCH_SIZE = 16  # most requests for one served model generated together
DEFAULT_BATCH_WAIT_S = 0.02  # how long a request waits for others to join its batch
LAYOUTS = ("auto", "stacked", "columns")  # chat --compare: columns when the terminal is wide enough (auto)
DEVICES_HELP = "auto (cuda if available, else cpu), cpu, cuda, cuda:1, mps"
DTYPES = ("auto", "float32", "bfloat16", "float16")
