"""The whole report of an evaluation run: what `report.json`'s `summary` holds
(accuracy per model and per set, kind, question type, document and tag with 95% intervals; the paired
comparisons with McNemar's exact p; every regression, the general-knowledge losses and the largest wins with both
answers and the reference) — read from that file once the run completed (the bootstrap intervals take seconds on
thousands of answers), computed from the stored answers while it is still answering (a partial report) or when the
file is gone. Fed by `eval_results` and the run's probes (`eval_plan`); read by the Evaluation page,
`loreforge eval report` and GET /api/evals/{id}/report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from loreforge.model_views import EvalReportView
from loreforge.service.base import ServiceBase
from loreforge.service.eval_plan import ModelSpec, load_probes, result_rows
from loreforge.service.evaluation import _get

DEFAULT_TOP = 20  # largest wins listed when the run's config does not say


def _written(report_dir: str | None) -> dict[str, Any] | None:
    """The summary of a finished run's report.json (what was computed when it finished), or None."""
    from loreforge.evaluate.report import REPORT_JSON

    path = Path(report_dir) / REPORT_JSON if report_dir else None
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path is not None and path.is_file() else None
    except (OSError, ValueError):
        return None
    summary = data.get("summary") if isinstance(data, dict) else None
    return summary if isinstance(summary, dict) else None


def summary_from_store(app: Any, eval_id: int) -> dict[str, Any]:
    """The report's numbers computed now from the stored answers and the run's probes."""
    from loreforge.evaluate.aggregate import summarize

    with app.db.session() as session:
        row = _get(session, eval_id)
        probes, _rotations = load_probes(session, list(row.probe_set_ids or []))
        rows = result_rows(session, row.id)
        top = int((row.config or {}).get("top_examples") or DEFAULT_TOP)
    return summarize(probes, rows, top)


class EvalReportActions(ServiceBase):
    def eval_report(self, eval_id: int) -> EvalReportView:
        """The evaluation run's report: a completed run's report.json summary (computed when it finished), else
        computed from the stored answers (partial while it runs)."""
        view = self.app.get_eval(eval_id)
        config = view.config
        summary = (_written(view.report_dir) if view.status == "completed" else None) or summary_from_store(self.app, eval_id)
        specs = config.get("models", {})
        models = {label: ModelSpec.from_dict(spec).name for label, spec in specs.items() if label != "judge"}
        if config.get("rag") and "base" in models:
            models["rag"] = f"{models['base']} + BM25 top-{config.get('rag_k')} chunks"
        return EvalReportView(run=view, models=models, summary=summary)
