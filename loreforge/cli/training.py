"""CLI: `loreforge env` and `loreforge tiny-model`."""

from __future__ import annotations

import click

from loreforge.cli import render
from loreforge.cli.base import cli, json_option, service


@cli.command()
@json_option
def env(as_json: bool) -> None:
    """Python, torch, transformers, peft versions; accelerator (CUDA / ROCm-HIP incl. Hygon DCU / NPU / MPS /
    CPU), devices, memory, bf16 support."""
    view = service().environment()
    if as_json:
        return render.as_json(view.report)
    click.echo(view.text)


@cli.command("tiny-model")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--text", "texts", multiple=True, type=click.Path(dir_okay=False, exists=True), help="Train the tokenizer on these files (default: the bundled examples).")
@click.option("--hidden-size", type=int)
@click.option("--layers", type=int)
@click.option("--vocab-size", type=int)
@click.option("--seed", type=int)
@click.option("--overwrite", is_flag=True, help="Write into a folder that already has files.")
@json_option
def tiny_model(out: str, texts: tuple[str, ...], overwrite: bool, as_json: bool, **shape: int | None) -> None:
    """Build a tiny Qwen2-architecture model + tokenizer in OUT (nothing is downloaded)."""
    sizes = {k: v for k, v in shape.items() if v is not None}
    view = service().tiny_model(out, list(texts) or None, overwrite=overwrite, **sizes)
    if as_json:
        return render.as_json(view)
    click.echo(f"Tiny Qwen2 model ({view.parameters:,} parameters, vocabulary {view.vocab_size}) in:\n{view.path}")
