"""Reading and checking a recipe before any work starts (`loreforge.pipeline.recipe` is what it may say).

`load_recipe` reads the YAML (or takes a mapping), applies `--set KEY=VALUE` overrides, validates every key
(unknown ones named with the nearest valid key), resolves paths against the recipe's folder, and checks what can
be checked without working: the documents exist and some are of a supported type, the settings are valid
values, the model configs named exist, a local model path exists, the training keys are LLaMA Factory's, probe
files exist. What it returns (`Resolved`) is what the run stores and fingerprints.
"""

from __future__ import annotations

import difflib
import glob
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from loreforge.errors import ConfigError
from loreforge.pipeline.recipe import GENERATION, SECTION_MODELS, STARTER, Recipe, base_dir

SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".docx", ".pdf", ".epub")
_SETTINGS_SECTIONS = {"split": "split", "generation.questions": "questions", "generation.answers": "answers",
                      "generation.llm": "llm"}
_EVAL_SETTINGS = ("max_new_tokens", "batch_size", "rag_k", "temperature")
_PROBE_SETTINGS = ("size", "rotations", "leakage_threshold")
_RUN_OWNED = ("dataset", "dataset_dir", "output_dir", "eval_dataset")
SHIPPED = Path(__file__).resolve().parent.parent / "examples" / "recipes"


def shipped_recipe(name: str) -> Path | None:
    """A recipe that ships inside the package, by name (`demo`), unless a file of that name is meant."""
    path = SHIPPED / f"{name}.yaml"
    return path if name and "/" not in name and "\\" not in name and not Path(name).exists() and path.is_file() else None


@dataclass(frozen=True)
class Resolved:
    """A checked recipe: the model, the concrete files, the project settings it sets, the run's folder."""

    recipe: Recipe
    path: Path | None
    name: str
    project: str
    documents: tuple[Path, ...]
    settings: dict[str, Any]  # dotted project settings the recipe sets
    probe_files: tuple[Path, ...] = ()
    output_dir: Path | None = None
    skipped: tuple[str, ...] = field(default_factory=tuple)  # files in document folders of unsupported types

    def as_json(self) -> dict[str, Any]:
        """What the run stores: the recipe as validated, paths absolute."""
        data = self.recipe.model_dump(mode="json", exclude_none=False)
        data.update(name=self.name, project=self.project, documents=[str(p) for p in self.documents])
        if data.get("probes"):
            data["probes"]["files"] = [str(p) for p in self.probe_files]
        data["output_dir"] = str(self.output_dir) if self.output_dir else None
        where = base_dir(self.path)
        for section, key in (("train", "model_name_or_path"), ("eval", "base")):
            value = (data.get(section) or {}).get(key)
            if value and looks_local(value):
                data[section][key] = str((where / value).expanduser().resolve())
        return data


def load_recipe(source: str | Path | dict[str, Any], overrides: list[str] | None = None, name: str | None = None) -> Resolved:
    """Read, validate and resolve a recipe (a YAML path or a mapping); `overrides`: "a.b=value" strings."""
    path = Path(source).expanduser() if isinstance(source, (str, Path)) else None
    data = _read(path) if path is not None else dict(source)  # type: ignore[arg-type]
    for item in overrides or []:
        _override(data, item)
    recipe = _validate(data, path)
    where = base_dir(path)
    run_name = (recipe.name or name or (path.stem if path else "") or "run").strip()
    _check_name(run_name, "name")
    project = (recipe.project or run_name).strip()
    _check_name(project, "project")
    documents, skipped = _documents(recipe.documents, where)
    settings = _settings(recipe)
    _check_models(recipe, where)
    _check_providers(recipe)
    probe_files = tuple(_existing(p, where, f"probes.files[{i}]") for i, p in enumerate(recipe.probes.files)) if recipe.probes else ()
    out = (where / recipe.output_dir).expanduser().resolve() if recipe.output_dir else None
    return Resolved(recipe, path.resolve() if path else None, run_name, project, documents, settings, probe_files, out, skipped)


# ---------------------------------------------------------------------------------------------- reading

def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"No recipe file {path}", hint="Give the path of a recipe .yaml (see examples/recipes/)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text", got=str(exc), hint="Save it as UTF-8") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"{path} is not valid YAML", got=f"{getattr(exc, 'problem', None) or exc}{where}",
                          hint="Fix the file there") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must be a mapping of recipe keys", got=type(data).__name__,
                          hint="Start from examples/recipes/demo.yaml")
    return data


def _override(data: dict[str, Any], item: str) -> None:
    """`--set a.b=value` (the value read as YAML: numbers, true/false, lists) into the nested mapping."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set takes KEY=VALUE, got {item!r}", hint="e.g. --set train.num_train_epochs=4")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    parts = key.strip().split(".")
    node = data
    for i, part in enumerate(parts[:-1]):
        if part == "settings":  # settings keys are dotted themselves: settings.ingest.max_file_mb
            node = node.setdefault("settings", {})
            node[".".join(parts[i + 1:])] = value
            return
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value


def _validate(data: dict[str, Any], path: Path | None) -> Recipe:
    try:
        return Recipe.model_validate(data)
    except ValidationError as exc:
        raise _recipe_error(exc, path) from None


def _recipe_error(exc: ValidationError, path: Path | None) -> ConfigError:
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"]]
    key = ".".join(loc)
    where = f" in {path.name}" if path else ""
    if err["type"] == "extra_forbidden":
        section = ".".join("*" if i == 1 and loc[0] == "models" else p for i, p in enumerate(loc[:-1]))
        fields = sorted(SECTION_MODELS.get(section, Recipe).model_fields)
        near = difflib.get_close_matches(loc[-1], fields, n=1, cutoff=0.5)
        hint = f"Did you mean `{'.'.join(loc[:-1] + [near[0]])}`?" if near else f"Valid keys here: {', '.join(fields)}"
        return ConfigError(f"Unknown recipe key `{key}`{where}", hint=hint + " (every key: docs/recipes.md)")
    if err["type"] == "missing":
        return ConfigError(f"The recipe{where} has no `{key}`", hint=_MISSING.get(key, "Add it (docs/recipes.md)"))
    msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    return ConfigError(f"Invalid recipe value for `{key}`{where}", got=repr(err.get("input")), hint=msg)


_MISSING = {
    "documents": "Name the documents to learn from, e.g. `documents: [docs/]` (relative to the recipe file)",
    "train.model_name_or_path": "Name the base model, e.g. `model_name_or_path: Qwen/Qwen2.5-3B-Instruct` or `starter`",
}


def _check_name(value: str, key: str) -> None:
    bad = next((c for c in value if c in "/\\?#%" or ord(c) < 32), None)
    if not value or value.isdigit() or bad is not None:
        raise ConfigError(f"Invalid recipe value for `{key}`", got=repr(value),
                          hint="A name with letters, not all digits, without / \\ ? # % or control characters")


# ---------------------------------------------------------------------------------------------- paths

def _documents(entries: list[str], where: Path) -> tuple[tuple[Path, ...], tuple[str, ...]]:
    found: list[Path] = []
    skipped: list[str] = []
    for i, entry in enumerate(entries):
        target = (where / entry).expanduser()
        if any(c in entry for c in "*?["):
            matches = [Path(m) for m in sorted(glob.glob(str(target), recursive=True))]
            if not matches:
                raise ConfigError(f"`documents[{i}]`: no file matches {entry!r}", got=str(target),
                                  hint="Check the pattern (relative to the recipe file)")
        elif target.is_dir():
            matches = sorted(p for p in target.rglob("*") if p.is_file() and not p.name.startswith("."))
        elif target.is_file():
            matches = [target]
        else:
            raise ConfigError(f"`documents[{i}]`: {entry!r} does not exist", got=str(target),
                              hint="Give a file, a folder or a glob pattern, relative to the recipe file")
        for m in (m for m in matches if m.is_file()):
            if m.suffix.lower() in SUPPORTED:
                found.append(m.resolve())
            elif target.is_file():
                raise ConfigError(f"`documents[{i}]`: {m.name} is not a supported document",
                                  expected=", ".join(SUPPORTED), got=m.suffix or "no extension")
            else:
                skipped.append(m.resolve())
    unique = tuple(dict.fromkeys(found))
    if not unique:
        raise ConfigError("The recipe's documents hold no supported file", expected=", ".join(SUPPORTED),
                          got=", ".join(entries), hint="Point `documents` at your .md/.txt/.pdf/... files")
    return unique, tuple(dict.fromkeys(str(p) for p in skipped))


def _existing(entry: str, where: Path, key: str) -> Path:
    target = (where / entry).expanduser()
    if not target.is_file():
        raise ConfigError(f"`{key}`: {entry!r} does not exist", got=str(target), hint="Paths are relative to the recipe file")
    return target.resolve()


def looks_local(model: str) -> bool:
    """A model given as a path (not a hub id): it must exist."""
    return model.startswith(("/", "./", "../", "~")) or model.endswith(".gguf") or "\\" in model


def _check_models(recipe: Recipe, where: Path) -> None:
    names = {GENERATION, *recipe.models}
    refs = {"review.score_model": recipe.review.score_model, "probes.model": recipe.probes.model if recipe.probes else None,
            "eval.judge": recipe.eval.judge if recipe.eval else None, "eval.tuned": recipe.eval.tuned if recipe.eval else None}
    for key, ref in refs.items():
        if ref is not None and ref not in names:
            raise ConfigError(f"`{key}` names no model config: {ref!r}", expected=", ".join(sorted(names)),
                              hint="Define it under `models:` in the recipe")
    for key, model in (("train.model_name_or_path", recipe.train.model_name_or_path if recipe.train else None),
                       ("eval.base", recipe.eval.base if recipe.eval else None)):
        if model and model != STARTER and looks_local(model) and not (where / model).expanduser().exists():
            raise ConfigError(f"`{key}`: the model path {model!r} does not exist", got=str((where / model).expanduser()),
                              hint="Give a model folder or .gguf file (relative to the recipe), a hub id, or `starter`")
    if recipe.train is not None:
        _check_train(recipe)
    if recipe.eval is not None and recipe.train is None and recipe.eval.tuned is None:
        raise ConfigError("`eval` needs a model to evaluate", hint="Add a `train` section, or name an endpoint in `eval.tuned`")
    if recipe.eval is not None and recipe.probes is None:
        raise ConfigError("`eval` needs `probes`", hint="Add a `probes` section (kinds and/or files)")


def _check_providers(recipe: Recipe) -> None:
    """Every model config's provider is known, and its API key is in the environment (a recipe never holds one)."""
    import os

    from loreforge.errors import NeedsKey
    from loreforge.providers import get_preset

    specs = {GENERATION: recipe.generation, **{f"models.{k}": v for k, v in recipe.models.items()}}
    for key, spec in specs.items():
        try:
            preset = get_preset(spec.provider)
        except ConfigError as exc:
            raise ConfigError(f"`{key}.provider`: {exc.message}", expected=exc.expected, got=exc.got, hint=exc.hint) from None
        if preset.kind != "extractive" and not spec.model:
            raise ConfigError(f"`{key}.model` is missing: provider {spec.provider!r} needs a model name",
                              hint="e.g. `model: qwen-max-latest`")
        env = spec.api_key_env or preset.key_env
        if preset.key_required and env and not os.environ.get(env):
            raise NeedsKey(f"The recipe's `{key}` ({spec.provider}) needs an API key: {env} is not set",
                           hint=f"`export {env}=...` and run again (the key is read from the environment, never stored from a recipe)")
        if recipe.probes and key == GENERATION and "reworded" in recipe.probes.kinds and not recipe.probes.model \
                and preset.kind == "extractive":
            raise ConfigError("`probes.kinds` has reworded, which needs an LLM; the generation model is extractive",
                              hint="Name an LLM in `probes.model` (under `models`), or use your own reworded probes in `probes.files`")


def _check_train(recipe: Recipe) -> None:
    from loreforge.train.config import load_train_config

    assert recipe.train is not None
    keys = recipe.train.model_dump(exclude={"launch"})
    owned = [k for k in _RUN_OWNED if keys.get(k) is not None]
    if owned:
        raise ConfigError(f"`train.{owned[0]}` is set by the run", hint="Leave it out: the run trains on its own exported "
                          "bundle and writes the model into its run folder (or set `output_dir` for the whole run)")
    try:
        load_train_config({**keys, "dataset": "check", "output_dir": "check"})
    except ConfigError as exc:
        raise ConfigError(f"In the recipe's `train` section: {exc.message}", expected=exc.expected, got=exc.got,
                          hint=exc.hint) from None


# ---------------------------------------------------------------------------------------------- settings

def _settings(recipe: Recipe) -> dict[str, Any]:
    """The project settings the recipe sets, as dotted keys, validated together."""
    from loreforge.settings import build_settings, check_key

    out: dict[str, Any] = {}
    if recipe.language:
        out["language"] = recipe.language
    sections = {"split": recipe.split, "generation.questions": recipe.generation.questions,
                "generation.answers": recipe.generation.answers, "generation.llm": recipe.generation.llm}
    for where, values in sections.items():
        for key, value in values.items():
            out[f"{_SETTINGS_SECTIONS[where]}.{key}"] = value
            _named_setting(check_key, f"{_SETTINGS_SECTIONS[where]}.{key}", f"{where}.{key}")
    if recipe.eval is not None:
        out.update({f"eval.{k}": getattr(recipe.eval, k) for k in _EVAL_SETTINGS if getattr(recipe.eval, k) is not None})
    if recipe.probes is not None:
        out.update({f"probes.{k}": getattr(recipe.probes, k) for k in _PROBE_SETTINGS if getattr(recipe.probes, k) is not None})
        if recipe.probes.qtypes:
            out["probes.qtypes"] = [q.replace("-", "_") for q in recipe.probes.qtypes]
    for key, value in recipe.settings.items():
        _named_setting(check_key, key, f"settings.{key}")
        out[key] = value
    try:
        build_settings(out)
    except ConfigError as exc:
        raise ConfigError(f"In the recipe: {exc.message}", expected=exc.expected, got=exc.got, hint=exc.hint) from None
    return out


def _named_setting(check: Any, key: str, recipe_key: str) -> None:
    try:
        check(key)
    except ConfigError as exc:
        hint = exc.hint or ""
        raise ConfigError(f"Unknown recipe key `{recipe_key}`", hint=hint.replace("'", "`")) from None
