"""The whole report of an evaluation run, computed from its stored answers: what `report.json`'s `summary` holds
(accuracy per model and per set, kind, question type, document and tag with 95% intervals; the paired
comparisons with McNemar's exact p; every regression, the general-knowledge losses and the largest wins with both
answers and the reference), available while the run is still answering (a partial report) and without reading the
report folder. Fed by `eval_results` and the run's probes (`eval_plan`); read by the Evaluation page,
`loreforge eval report` and GET /api/evals/{id}/report."""

from __future__ import annotations

from loreforge.model_views import EvalReportView
from loreforge.service.base import ServiceBase
from loreforge.service.eval_plan import ModelSpec, load_probes, result_rows
from loreforge.service.evaluation import _get, eval_view

DEFAULT_TOP = 20  # largest wins listed when the run's config does not say


class EvalReportActions(ServiceBase):
    def eval_report(self, eval_id: int) -> EvalReportView:
        """The evaluation run's report from its stored answers (partial while it runs)."""
        from loreforge.evaluate.aggregate import summarize

        with self.db.session() as session:
            row = _get(session, eval_id)
            view = eval_view(session, row)
            probes, _rotations = load_probes(session, list(row.probe_set_ids or []))
            rows = result_rows(session, row.id)
        config = view.config
        summary = summarize(probes, rows, int(config.get("top_examples") or DEFAULT_TOP))
        specs = config.get("models", {})
        models = {label: ModelSpec.from_dict(spec).name for label, spec in specs.items() if label != "judge"}
        if config.get("rag") and "base" in models:
            models["rag"] = f"{models['base']} + BM25 top-{config.get('rag_k')} chunks"
        return EvalReportView(run=view, models=models, summary=summary)
