"""Fine-tuning stage: LLaMA Factory-compatible SFT configs, chat templates with loss masks, data encoding.

Fed by the export stage's LLaMA Factory bundle (`dataset_info.json`). Importing this package never imports
torch or transformers; the modules that need them import them inside functions.
"""

from __future__ import annotations

from loreforge.train.config import TrainConfig, load_train_config

__all__ = ["TrainConfig", "load_train_config"]
