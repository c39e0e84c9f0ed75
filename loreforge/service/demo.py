"""The main job on embedded defaults: a project from the example documents that ship with LoreForge
(written by us; fictional companies) taken through the pipeline offline — ingest, split, tag tree, questions
and answers with the extractive strategy (no LLM), grounding check, confirm, and the LLaMA Factory bundle.
Later stages (training, evaluation) extend this run."""

from __future__ import annotations

from pathlib import Path

from loreforge.defaults import DEFAULT_VAL_SIZE
from loreforge.errors import NotFound
from loreforge.service.base import ServiceBase
from loreforge.service.dataset import DatasetFilter
from loreforge.views import DemoReport

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DEMO_PROJECT = "demo"
DEMO_RECIPE = EXAMPLES / "recipes" / "demo.yaml"  # the learning half: `loreforge run demo`


def example_documents() -> list[Path]:
    """The dataset half's documents: the files at the top of the examples folder (not the learning half's)."""
    return sorted(p for p in EXAMPLES.iterdir() if p.is_file() and not p.name.startswith("."))


class DemoActions(ServiceBase):
    def demo(self, project: str = DEMO_PROJECT, replace: bool = True) -> DemoReport:
        """Create (or, with `replace`, recreate) a project from the bundled example documents and run the
        pipeline on the default settings without any LLM: ingest, split, tags, questions, answers (extractive),
        grounding check, confirm the grounded pairs, export the LLaMA Factory bundle into the project folder."""
        app = self.app
        if replace:
            try:
                app.delete_project(project)
            except NotFound:
                pass
        view = app.create_project(project, description="LoreForge demo on the bundled example documents")
        report = app.ingest(view.id, example_documents(), split=False)
        split = app.split(view.id)
        tags = app.build_tags(view.id, provider="extractive")
        questions = app.generate_questions(view.id, provider="extractive")
        answers = app.generate_answers(view.id, provider="extractive")
        grounding = app.check_dataset(view.id)
        app.confirm_dataset(view.id, DatasetFilter(grounding_failed=False))
        export = app.export(view.id, Path(view.path) / "exports" / "llamafactory", val_size=DEFAULT_VAL_SIZE, force=True)
        return DemoReport(
            project=app.get_project(view.id), ingest=report, split=split, toc=app.toc(view.id),
            tags=sum(1 + len(t.children) for t in tags), questions=questions, answers=answers, grounding=grounding, export=export,
        )

