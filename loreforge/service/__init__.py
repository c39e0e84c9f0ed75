"""THE application layer: one method per user action.

The CLI, the REST API and the web UI are thin shells over `Service`; anything one of them can do, the others
can do too. `Service` puts the action groups side by side — each group derives from `ServiceBase` and nothing
else, and what groups share lives in named helpers (`lookups`, `llm`, `stages`, `kinds`, `prompts`,
`model_configs.generation`). Each stage module (ingest, chunk, generate, ...) stays pure; this layer reads
inputs from the store, runs the stage and writes results back.

Actions that call a model are async at heart (`agenerate_questions`, ...: awaitable from a notebook or an async
app); their plain twins (`generate_questions`, ...) block, and work inside a running event loop too.
"""

from __future__ import annotations

from loreforge.service.answers import AnswerActions
from loreforge.service.arena import ArenaActions
from loreforge.service.base import ServiceBase
from loreforge.service.chatting import ChatActions
from loreforge.service.chunks import ChunkActions
from loreforge.service.cleaning import CleanActions
from loreforge.service.dataset import DatasetActions, DatasetFilter
from loreforge.service.demo import DemoActions
from loreforge.service.dialogues import DialogueActions
from loreforge.service.distill import DistillActions
from loreforge.service.distill_tree import DistillTreeActions
from loreforge.service.documents import DocumentActions, Source, Upload
from loreforge.service.eval_report import EvalReportActions
from loreforge.service.evaluation import EvalActions
from loreforge.service.exporting import ExportActions
from loreforge.service.ga import GaActions
from loreforge.service.images import ImageActions
from loreforge.service.importing import ImportActions
from loreforge.service.jobs import JobActions
from loreforge.service.local_models import LocalModelActions
from loreforge.service.mode_summary import ModeSummaryActions
from loreforge.service.model_configs import ModelConfigActions
from loreforge.service.model_servers import ModelServerActions
from loreforge.service.pdf_convert import PdfActions
from loreforge.service.pipeline import PipelineActions
from loreforge.service.probes import ProbeActions
from loreforge.service.projects import ProjectActions
from loreforge.service.prompts import PromptActions
from loreforge.service.questions import QuestionActions
from loreforge.service.run_insight import RunInsightActions
from loreforge.service.scoring import ScoringActions
from loreforge.service.splitting import SplitActions
from loreforge.service.tags import TagActions
from loreforge.service.templates import TemplateActions
from loreforge.service.text_input import guard_actions
from loreforge.service.train_runs import RunActions
from loreforge.service.training import TrainingActions
from loreforge.service.usage import UsageActions
from loreforge.settings import AppConfig

GROUPS: tuple[type[ServiceBase], ...] = (
    RunInsightActions, EvalReportActions, ChatActions, ArenaActions, ModelServerActions,  # the model half (issue 14)
    ProjectActions, DocumentActions, SplitActions, ChunkActions, ModelConfigActions, PromptActions, TagActions,
    QuestionActions, AnswerActions, JobActions, UsageActions, DatasetActions, ScoringActions, ExportActions,
    ImportActions, RunActions, TrainingActions, DemoActions, LocalModelActions, ProbeActions, EvalActions,
    TemplateActions, CleanActions, GaActions, DialogueActions, DistillActions, DistillTreeActions,
    ImageActions, PdfActions, PipelineActions, ModeSummaryActions,
)


class Service(
    RunInsightActions, EvalReportActions, ChatActions, ArenaActions, ModelServerActions,  # the model half (issue 14)
    ProjectActions, DocumentActions, SplitActions, ChunkActions, ModelConfigActions, PromptActions, TagActions,
    QuestionActions, AnswerActions, JobActions, UsageActions, DatasetActions, ScoringActions, ExportActions,
    ImportActions, RunActions, TrainingActions, DemoActions, LocalModelActions, ProbeActions, EvalActions,
    TemplateActions, CleanActions, GaActions, DialogueActions, DistillActions, DistillTreeActions,
    ImageActions, PdfActions, PipelineActions, ModeSummaryActions,
):
    """Every user action of LoreForge: the action groups side by side (each stands alone on `ServiceBase`).
    Open it with `Service()` (reads LOREFORGE_HOME and LOREFORGE_DATABASE_URL) or
    `Service(AppConfig(home=..., database_url=...))`."""


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
    # probes (issue 11)
    "build_probes",
    "list_probe_sets",
    "get_probe_set",
    "import_probes",
    "export_probes",
    "delete_probe_set",
    # local models: GGUF files and the starter model (issue 11)
    "convert_gguf",
    "starter_model",
    # evaluation runs (issue 11)
    "evaluate",
    "execute_eval",
    "cancel_eval",
    "list_evals",
    "get_eval",
    "compare_evals",
    # the one-command run (issue 12)
    "run_pipeline",
    "execute_pipeline",
    "cancel_pipeline",
    "list_pipelines",
    "get_pipeline",
    # train, evaluate, compare and chat from the web UI (issue 14)
    "inspect_run",
    "compare_runs",
    "preview_train",
    "device_usage",
    "eval_report",
    "chat_reply",
    "save_chat_exchange",
    "create_arena",
    "list_arenas",
    "get_arena",
    "next_arena_round",
    "answer_arena_round",
    "vote_arena_round",
    "start_model_server",
    "list_model_servers",
    "stop_model_server",
    # every way Easy Dataset 1.7 makes data (issue 15): question templates
    "add_template",
    "list_templates",
    "edit_template",
    "delete_template",
    "apply_template",
    # cleaning chunks
    "clean_chunks",
    "chunk_diff",
    "restore_chunk",
    # genre–audience pairs
    "generate_ga_pairs",
    "list_ga_pairs",
    "add_ga_pair",
    "edit_ga_pair",
    "delete_ga_pair",
    # multi-turn dialogues
    "generate_dialogues",
    # distillation without documents
    "distill_estimate",
    "distill_run",
    "distill_tags",
    "distill_questions",
    "distill_answers",
    "list_distill_tags",
    "add_distill_tag",
    "rename_distill_tag",
    "delete_distill_tag",
    # image QA
    "add_images",
    "list_images",
    "get_image",
    "delete_images",
    "generate_image_qa",
    # PDF through a vision model or MinerU
    "convert_pdf",
    "set_mineru_key",
    # what each of them has made (the web UI's More data page)
    "mode_summary",
)

# Awaitable twins of the actions that call a model (or run a stage): `await service.agenerate_questions(...)`.
ASYNC_ACTIONS: tuple[str, ...] = (
    "abuild_tags", "agenerate_questions", "agenerate_answers", "aoptimize_answer", "ascore_dataset", "aretry_job",
    "atest_model", "alist_remote_models", "abuild_probes", "aclean_chunks", "agenerate_ga_pairs", "agenerate_dialogues",
    "adistill_run", "adistill_tags", "adistill_questions", "adistill_answers", "agenerate_image_qa", "aconvert_pdf",
)

# Every string argument of every action is checked once, here, on the way in: NUL and lone surrogates are refused
# with an error naming the argument (loreforge/service/text_input.py), so no action stores what cannot be encoded.
guard_actions(Service, ACTIONS + ASYNC_ACTIONS)

__all__ = ["ACTIONS", "ASYNC_ACTIONS", "GROUPS", "DatasetFilter", "Service", "Source", "Upload", "open_service"]
