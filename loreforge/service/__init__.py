"""THE application layer: one method per user action.

The CLI, the REST API and the web UI are thin shells over `Service`; anything one of them can do, the others
can do too. Each stage module (ingest, chunk, ...) stays pure; this layer reads inputs from the store, runs
the stage and writes results back.
"""

from __future__ import annotations

from loreforge.service.chunks import ChunkActions
from loreforge.service.demo import DemoActions
from loreforge.service.training import TrainingActions
from loreforge.service.usage import UsageActions
from loreforge.service.documents import DocumentActions, Source, Upload
from loreforge.service.projects import ProjectActions
from loreforge.settings import AppConfig


class Service(DemoActions, UsageActions, TrainingActions, ProjectActions, DocumentActions, ChunkActions):
    """Every user action of LoreForge. Open it with `Service()` (reads LOREFORGE_HOME and
    LOREFORGE_DATABASE_URL) or `Service(AppConfig(home=..., database_url=...))`."""


def open_service(home: str | None = None) -> Service:
    return Service(AppConfig.from_env(home))


# The actions the shells must expose (checked by tests/test_surface.py).
ACTIONS: tuple[str, ...] = (
    "create_project",
    "list_projects",
    "get_project",
    "rename_project",
    "delete_project",
    "show_settings",
    "set_setting",
    "reset_setting",
    "ingest",
    "list_documents",
    "get_document",
    "document_text",
    "delete_document",
    "split",
    "toc",
    "list_chunks",
    "get_chunk",
    "edit_chunk",
    "merge_chunks",
    "split_chunk",
    "delete_chunks",
    "demo",
    # LLM engine (issue 3)
    "list_presets",
    "add_model",
    "list_models",
    "use_model",
    "remove_model",
    "test_model",
    "list_remote_models",
    "list_prompts",
    "show_prompt",
    "set_prompt",
    "reset_prompt",
    "build_tags",
    "show_tags",
    "add_tag",
    "rename_tag",
    "delete_tag",
    "generate_questions",
    "list_questions",
    "add_question",
    "edit_question",
    "delete_questions",
    "generate_answers",
    "optimize_answer",
    "list_jobs",
    "get_job",
    "cancel_job",
    "retry_job",
    "usage",
    # review (issue 4)
    "list_dataset",
    "show_dataset_item",
    "edit_dataset_item",
    "confirm_dataset",
    "rate_dataset_item",
    "delete_dataset",
    "check_dataset",
    "dedup_dataset",
    "score_dataset",
    "export",
    "import_dataset",
    # fine-tuning (issue 5, started)
    "environment",
    "tiny_model",
    "train",
    "list_runs",
    "get_run",
    "execute_run",
    "cancel_run",
    "export_model",
    "train_project",
)

__all__ = ["ACTIONS", "Service", "Source", "Upload", "open_service"]
