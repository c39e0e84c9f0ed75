"""The main job on embedded defaults: a project from the example documents that ship with LoreForge
(written by us; fictional companies), ingested, split and summarised. Later stages extend this run."""

from __future__ import annotations

from pathlib import Path

from loreforge.errors import NotFound
from loreforge.service.chunks import ChunkActions
from loreforge.service.documents import DocumentActions
from loreforge.service.projects import ProjectActions
from loreforge.views import DemoReport

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DEMO_PROJECT = "demo"


def example_documents() -> list[Path]:
    return sorted(p for p in EXAMPLES.iterdir() if p.is_file() and not p.name.startswith("."))


class DemoActions(ProjectActions, DocumentActions, ChunkActions):
    def demo(self, project: str = DEMO_PROJECT, replace: bool = True) -> DemoReport:
        """Create (or, with `replace`, recreate) a project from the bundled example documents, ingest and
        split them with the default settings, and report the TOC and chunk statistics."""
        if replace:
            try:
                self.delete_project(project)
            except NotFound:
                pass
        view = self.create_project(project, description="LoreForge demo on the bundled example documents")
        report = self.ingest(view.id, example_documents(), split=False)
        split = self.split(view.id)
        return DemoReport(project=self.get_project(view.id), ingest=report, split=split, toc=self.toc(view.id))
