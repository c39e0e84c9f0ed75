"""docs/recipes.md, generated from the recipe models (`loreforge.pipeline.recipe`): every key with its type, default
and meaning, the stages, how a run is resumed and rerun, and the shipped demo recipe in full. `python -m
loreforge.pipeline.doc > docs/recipes.md` writes it; a test checks the file is exactly what this prints."""

from __future__ import annotations

import json
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from loreforge.pipeline.recipe import (
    EvalSection, ExportSection, GenerationSection, ModelSpec, ProbesSection, Recipe, ReviewSection, TrainSection,
)

DEMO = Path(__file__).resolve().parent.parent / "examples" / "recipes" / "demo.yaml"
SECTIONS: list[tuple[str, type[BaseModel], str]] = [
    ("", Recipe, "The recipe's top level."),
    ("generation", GenerationSection, "The model that writes questions and answers, and the settings of those stages."),
    ("models.NAME", ModelSpec, "Other model configs by name — a judge, a scorer, a rewording model, an endpoint serving the "
                               "tuned model — named by `review.score_model`, `probes.model`, `eval.judge`, `eval.tuned`."),
    ("review", ReviewSection, "Which generated pairs become the training data."),
    ("export", ExportSection, "The LLaMA Factory bundle the run trains on (written into the run folder's `dataset/`)."),
    ("train", TrainSection, "Fine-tuning; leave the section out to stop after the dataset. Besides the keys below, any "
                            "LLaMA Factory SFT key ([training.md](training.md)): `finetuning_type`, `lora_rank`, "
                            "`learning_rate`, `num_train_epochs`, `template`, `deepspeed`, ... on top of the exported "
                            "bundle's `train_lora.yaml` (the reference LoRA recipe). `dataset`, `dataset_dir` and "
                            "`output_dir` are the run's own (the model goes to the run folder's `model/`)."),
    ("probes", ProbesSection, "What the evaluation asks ([evaluation.md](evaluation.md#probes)); leave it out for no evaluation."),
    ("eval", EvalSection, "Base vs tuned on every probe set ([evaluation.md](evaluation.md))."),
]

INTRO = """# Recipes

A recipe is what `loreforge run RECIPE.yaml` takes from documents to a tuned, evaluated model: the documents, the
split settings, the generation model, the review policy, export options, training (LLaMA Factory keys), probes and
evaluation. Generated from the recipe models by `python -m loreforge.pipeline.doc > docs/recipes.md` (a test
checks it is current). Shipped recipes: `loreforge run demo` (the offline demo, below) and, in a checkout,
`examples/recipes/` — `reference.yaml` (the reference workflow: DashScope `qwen-max-latest`, Qwen2.5-3B-Instruct
with LoRA), `ollama-gpu.yaml` (nothing leaves the building), `multi-gpu.yaml` (torchrun + DeepSpeed ZeRO-2).

The whole recipe is checked before any work starts: an unknown key is named with the nearest valid one
(`Unknown recipe key generation.modle — did you mean generation.model?`), a wrong value with its key path and what
is allowed, a missing document folder, probe file or local model path with the path as written, a provider's API
key that is not in the environment by its variable. Nothing is stored when a recipe is refused. Paths are relative
to the recipe file. `--set KEY=VALUE` changes a key from the command line (`--set train.num_train_epochs=4`,
`--set settings.ingest.max_file_mb=50`); the value is read as YAML.

## Stages

`ingest → split → tags → questions → answers → review → export → train → probes → eval → report`

| stage | does | inputs that rerun it when they change |
|---|---|---|
| ingest | adds the documents (the same content twice is recognised; a bad file is reported, the others go on; documents no longer in the recipe are kept and listed in the summary) | the documents' content, `settings` `ingest.*` |
| split | splits documents not split yet or split with other settings; a chunk whose text is unchanged keeps its questions and answers | `split` |
| tags | the two-level domain tag tree from the headings | `generation` model, `settings` `tags.*` |
| questions | a job: questions for every chunk not asked yet with this prompt and model | `generation` model and `questions`, the prompts |
| answers | a job: answers for every unanswered question | `generation` model and `answers` |
| review | grounding check, optional AI score and dedup, then confirms per the policy | `review` |
| export | the LLaMA Factory bundle in `RUN_DIR/dataset` | `export` |
| train | a worker process trains into `RUN_DIR/model` (loss curve `training_loss.png`) | `train` |
| probes | one probe set per probe file and per kind | `probes`, the export's split |
| eval | a worker process asks base and tuned every probe; `RUN_DIR/eval/report.md` | `eval`, the trained model, the probes |
| report | the one-screen summary, `RUN_DIR/summary.md` and `summary.json` | written at the end of every run |

A pipeline run is a run like any other: its job (kind `pipeline`) has a status, a heartbeat, progress (stages, and
the running stage's own job), cancel (`loreforge pipeline cancel ID`, `jobs cancel JOB`, Ctrl-C) and resume.
Running the same recipe again (same `name` and `project`) continues its run:

- a stage that completed with the same inputs is skipped (`done before, unchanged`);
- a stage left unfinished (a crash, `kill -9`, Ctrl-C, a failure) resumes **its own job**: generation reruns only
  the items not stored yet (no LLM call is made twice; the summary counts what the store already held), training
  resumes from its last checkpoint (`save_strategy` other than `no`), evaluation answers only what is not stored;
  a worker that outlived a killed run is waited for;
- a changed input reruns its stage and every stage after it, and the decision names the change
  (`changed: split.max_length: 500 → 400`, then `after split` for the stages that follow);
- `--from STAGE` runs that stage and every one after it (the stages before it must have completed); `--until
  STAGE` stops after it.

The run folder (`output_dir`, default `$LOREFORGE_HOME/projects/ID/pipeline/NAME`) holds `dataset/` (the bundle),
`model/` (the model, `trainer_log.jsonl`, `training_loss.png`), `eval/` (the report, its charts, LLaMA Factory's
`generated_predictions.jsonl`), `pipeline.log` (every decision and stage, timestamped) and `summary.md` /
`summary.json`. `loreforge pipeline show ID` shows each stage's status and why it ran or was skipped.
"""

SETTINGS_NOTE = """
Keys that are project settings (`language`, `split`, `generation.questions`, `generation.answers`,
`generation.llm`, `probes.size`/`rotations`/`leakage_threshold`/`qtypes`, `eval.max_new_tokens`/`batch_size`/
`rag_k`/`temperature`, and any dotted key under `settings`) take the names, defaults and limits of
[settings.md](settings.md): `split: {max_length: 500}` is the setting `split.max_length`. They are written to the
project when a run starts; a key the recipe does not name keeps the project's value.
"""


def _type(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        names = [_type(a) for a in args if a is not type(None)]
        return " or ".join(names) + (", or null" if type(None) in args else "")
    if origin is typing.Literal:
        return " \\| ".join(str(a) for a in args)
    if origin is list:
        return f"list of {_type(args[0])}" if args else "list"
    if origin is dict:
        return "mapping"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "section"
    name = getattr(annotation, "__name__", str(annotation))
    return {"str": "text", "int": "integer", "float": "number", "bool": "true/false"}.get(name, name)


def _default(field: Any) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "its keys' defaults"
    return f"`{json.dumps(value, ensure_ascii=False)}`"


def keys(model: type[BaseModel], prefix: str) -> list[tuple[str, str, str, str]]:
    """(dotted key, type, default, meaning) of a section's fields (a nested section's keys have their own table)."""
    out = []
    for name, field in model.model_fields.items():
        key = f"{prefix}.{name}" if prefix else name
        meaning = " ".join((field.description or "").split()).replace("|", "\\|")
        out.append((key, _type(field.annotation), _default(field), meaning))
    return out


def all_keys() -> list[str]:
    return [k for prefix, model, _ in SECTIONS for k, *_ in keys(model, prefix)]


def render() -> str:
    blocks = [INTRO.rstrip(), "## Keys", SETTINGS_NOTE.strip()]
    for prefix, model, about in SECTIONS:
        title = f"### `{prefix}`" if prefix else "### Top level"
        rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
        rows += [f"| `{k}` | {t} | {d} | {m} |" for k, t, d, m in keys(model, prefix)]
        blocks.append(f"{title}\n\n{about}\n\n" + "\n".join(rows))
    demo = DEMO.read_text(encoding="utf-8").rstrip()
    blocks.append(f"## The demo recipe\n\n`loreforge run demo` (and `loreforge demo`) runs this file, which ships inside "
                  f"the package (`loreforge/examples/recipes/demo.yaml`):\n\n```yaml\n{demo}\n```")
    return "\n\n".join(blocks) + "\n"


def main() -> None:
    print(render(), end="")


if __name__ == "__main__":
    main()
