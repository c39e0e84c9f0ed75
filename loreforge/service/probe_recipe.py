"""How a probe set is to be built (`Recipe`: the options of `probes build` resolved against the project's
`probes.*` settings and the export's split defaults) and its offline part stored: held-out, key-fact and
general probes, in one transaction with the set row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from loreforge.errors import UserError
from loreforge.evaluate.probes.build import available, build_offline
from loreforge.evaluate.probes.records import BUILT_KINDS, QTYPES, parse_names
from loreforge.secrets import SecretBox
from loreforge.service import lookups
from loreforge.service.probe_plan import STAGE, TrainingView, needs_llm, now, options_of
from loreforge.store.models import ModelConfig, Probe, ProbeSet, Project


def _split_defaults() -> dict[str, Any]:
    from loreforge.export.options import ExportOptions

    fields = ExportOptions.model_fields
    return {k: fields[k].default for k in ("val_size", "split_by", "seed")}


@dataclass(frozen=True)
class Recipe:
    name: str
    kinds: tuple[str, ...]
    qtypes: tuple[str, ...]
    size: int
    options: int
    rotations: int | None
    threshold: float
    val_size: float
    split_by: str
    seed: int
    language: str
    model: str | None  # the model config that rewords (its name), None when nothing is reworded
    provider: str | None

    @classmethod
    def resolve(cls, secrets: SecretBox, session: Session, row: Project, name: str, kinds: Any, qtypes: Any, size: int | None,
                rotations: int | None, model: str | None, provider: str | None, threshold: float | None,
                val_size: float | None, split_by: str | None, seed: int | None) -> Recipe:
        settings = lookups.settings(row)
        ps = settings.probes
        llm = _rewording_model(secrets, session, row, model, provider)
        wanted = parse_names(kinds, BUILT_KINDS, "probe kind")
        if wanted is None:
            wanted = [k for k in BUILT_KINDS if k != "reworded" or llm is not None]
        if "reworded" in wanted and llm is None:
            raise needs_llm()
        checked = _checked(size, rotations, threshold)
        split = _split_defaults()
        return cls(name, tuple(wanted), tuple(parse_names(qtypes, QTYPES, "question type") or ps.qtypes), checked[0] or ps.size,
                   ps.options, checked[1] if checked[1] is not None else ps.rotations,
                   checked[2] if checked[2] is not None else ps.leakage_threshold,
                   split["val_size"] if val_size is None else val_size, split_by or split["split_by"],
                   split["seed"] if seed is None else seed, settings.language,
                   llm if "reworded" in wanted else None, provider)

    def params(self, split_hash: str) -> dict[str, Any]:
        return {"kinds": list(self.kinds), "qtypes": list(self.qtypes), "size": self.size, "options": self.options,
                "rotations": self.rotations, "leakage_threshold": self.threshold, "val_size": self.val_size,
                "split_by": self.split_by, "seed": self.seed, "language": self.language, "model": self.model,
                "provider": self.provider, "split_hash": split_hash, "leakage": "character-trigram Jaccard",
                "built": now()}


def _checked(size: int | None, rotations: int | None, threshold: float | None) -> tuple[int | None, int | None, float | None]:
    if size is not None and size < 1:
        raise UserError("Invalid --size", expected="1 or more probes per kind", got=str(size))
    if rotations is not None and not 1 <= rotations <= 10:
        raise UserError("Invalid --rotations", expected="1 to 10 (at most the number of options is used)", got=str(rotations))
    if threshold is not None and not 0 < threshold <= 1:
        raise UserError("Invalid --leakage-threshold", expected="a similarity above 0 and at most 1", got=str(threshold))
    return size, rotations, threshold


def _rewording_model(secrets: SecretBox, session: Session, row: Project, model: str | None, provider: str | None) -> str | None:
    """The name of the model config that would reword (None: no LLM — extractive, or no config)."""
    from sqlalchemy import select

    from loreforge.generate.strategies import LLMStrategy, strategy_class
    from loreforge.service.model_configs import generation

    gen = generation(secrets, session, row, model, provider)
    if strategy_class(gen.config) is not LLMStrategy:
        return None
    if model is not None:
        return model
    return session.scalar(select(ModelConfig.name).where(ModelConfig.project_id == row.id, ModelConfig.active.is_(True)))


def offline_probes(session: Session, row: Project, recipe: Recipe, params: dict[str, Any], view: TrainingView) -> ProbeSet:
    """Create the set with its held-out, key-fact and general probes; rewording comes after them."""
    provenance = {"source": "dataset", "split": {"val_size": recipe.val_size, "split_by": recipe.split_by, "seed": recipe.seed},
                  "created": now()}
    built = build_offline(view.train, view.val, view.pools, options_of(params), view.index, provenance)
    if "reworded" in recipe.kinds:
        available(built.counts, "reworded", len(view.train))
    target = ProbeSet(project_id=row.id, name=recipe.name, kinds=list(recipe.kinds), language=recipe.language,
                      params={**params, "reword_offset": len(built.probes), "reword_stage": STAGE if "reworded" in recipe.kinds else None,
                              "trained_items": len(view.train), "held_out_items": len(view.val)},
                      counts=built.counts)
    session.add(target)
    session.flush()
    if built.probes:
        session.execute(insert(Probe), [{"probe_set_id": target.id, "position": i, **p.row()} for i, p in enumerate(built.probes)])
    return target
