"""The main job on embedded defaults: a project from the example documents that ship with LoreForge
(written by us; fictional companies) taken through the pipeline offline — ingest, split, tag tree, questions
and answers with the extractive provider (no LLM), grounding check, confirm, and the LLaMA Factory bundle.
Later stages (training, evaluation) extend this run."""

from __future__ import annotations

from pathlib import Path

from loreforge.errors import NotFound
from loreforge.service.dataset import DatasetFilter
from loreforge.service.chunks import ChunkActions
from loreforge.service.documents import DocumentActions
from loreforge.service.jobs import JobActions
from loreforge.service.projects import ProjectActions
from loreforge.views import DemoReport

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DEMO_PROJECT = "demo"


def example_documents() -> list[Path]:
    return sorted(p for p in EXAMPLES.iterdir() if p.is_file() and not p.name.startswith("."))


class DemoActions(JobActions, ProjectActions, DocumentActions, ChunkActions):
    def demo(self, project: str = DEMO_PROJECT, replace: bool = True) -> DemoReport:
        """Create (or, with `replace`, recreate) a project from the bundled example documents and run the
        pipeline on the default settings without any LLM: ingest, split, tags, questions, answers (extractive),
        grounding check, confirm the grounded pairs, export the LLaMA Factory bundle into the project folder."""
        if replace:
            try:
                self.delete_project(project)
            except NotFound:
                pass
        view = self.create_project(project, description="LoreForge demo on the bundled example documents")
        report = self.ingest(view.id, example_documents(), split=False)
        split = self.split(view.id)
        tags = self.build_tags(view.id, provider="extractive")
        questions = self.generate_questions(view.id, provider="extractive")
        answers = self.generate_answers(view.id, provider="extractive")
        grounding = self.check_dataset(view.id)
        self.confirm_dataset(view.id, DatasetFilter(grounding_failed=False))
        export = self.export(view.id, Path(view.path) / "exports" / "llamafactory", val_size=0.1, force=True)
        return DemoReport(
            project=self.get_project(view.id), ingest=report, split=split, toc=self.toc(view.id),
            tags=sum(1 + len(t.children) for t in tags), questions=questions, answers=answers, grounding=grounding, export=export,
        )
