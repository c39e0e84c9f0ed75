"""Prompt templates: files per language (`zh/`, `en/`) with named `{{variables}}`, rendered by one function
and versioned by the hash of their text. A project can override any template; an override that misses a
required variable (or uses an unknown one) is rejected with a clear error.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from loreforge.errors import ConfigError

FOLDER = Path(__file__).resolve().parent
LANGUAGES = ("zh", "en")
VAR = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")

# name -> (required variables, what it is for)
SPECS: dict[str, tuple[frozenset[str], str]] = {
    "system": (frozenset(), "System message shared by every generation call (kept identical for prefix caching)."),
    "questions": (frozenset({"chunk", "n", "tags"}), "Ask N questions of a chunk and pick each one's tag."),
    "questions_ga": (frozenset({"chunk", "n", "tags", "pairs"}), "Ask N questions of a chunk in each active genre–audience pair's style, in one call."),
    "ga_pairs": (frozenset({"text", "n"}), "Propose N genre–audience pairs from (the beginning of) a document."),
    "dialogue": (frozenset({"chunk", "question", "rounds", "user_role", "assistant_role", "scenario", "grounding"}),
                 "Write a whole multi-turn dialogue started by a question, in one call."),
    "dialogue_turn": (frozenset({"chunk", "conversation", "round", "rounds", "user_role", "assistant_role", "scenario", "grounding", "next"}),
                      "Write one round of a dialogue (the reply and the next user message) when the whole one could not be made at once."),
    "distill_tags": (frozenset({"path", "tag", "shape", "existing"}), "Make the sub-tags (and, when small, the whole subtree) of a distillation tag."),
    "distill_questions": (frozenset({"path", "tag", "n", "existing"}), "Ask N questions of a distillation leaf tag, none like the existing ones."),
    "distill_answers": (frozenset({"path", "questions", "cot"}), "Answer a leaf's distilled questions from the model's own knowledge, in one call."),
    "image_qa": (frozenset({"ask", "templates"}), "Write N questions about an image with their answers, and answer its template questions, in one vision call."),
    "pdf_page": (frozenset(), "Transcribe one PDF page image as Markdown (the vision strategy of `pdf convert`)."),
    "pdf_headings": (frozenset({"headings"}), "Set the level of every heading of a PDF transcribed page by page, in one call."),
    "answers_batched": (frozenset({"chunk", "questions", "cot"}), "Answer all questions of a chunk in one call."),
    "answer_single": (frozenset({"chunk", "question", "cot"}), "Answer one question with its chunk."),
    "cot_synthesize": (frozenset({"chunk", "pairs"}), "Write the chain of thought of answers the model gave none for (one call per chunk; `answers.cot = ask`)."),
    "clean_chunk": (frozenset({"text"}), "Rewrite a chunk without its noise (headers, footers, page numbers, broken line wraps, ads), every fact kept."),
    "answer_optimize": (frozenset({"chunk", "question", "answer", "advice"}), "Rewrite an answer following advice."),
    "tags": (frozenset({"toc", "existing", "mode"}), "Build or revise the two-level domain tag tree from the TOC."),
    "judge": (frozenset({"chunk", "question", "answer"}), "Score a QA pair 0-5 against its chunk, with a reason."),
    "probe_reword": (frozenset({"question", "answer"}), "Rewrite a trained question with a different structure (reworded probes)."),
    "eval_judge": (frozenset({"question", "reference", "answer"}), "Score a model's answer 0-1 against the reference, with a reason (evaluation)."),
    "eval_rag": (frozenset({"context", "question"}), "Ask a probe with the chunks BM25 found in the project (the retrieval baseline of `eval --rag`)."),
}


@dataclass(frozen=True)
class Prompt:
    name: str
    language: str
    text: str
    overridden: bool

    @property
    def hash(self) -> str:
        return hashlib.sha256(f"{self.name}\0{self.language}\0{self.text}".encode()).hexdigest()[:16]

    @property
    def variables(self) -> set[str]:
        return set(VAR.findall(self.text))

    def render(self, **values: object) -> str:
        missing = self.variables - values.keys()
        if missing:
            raise ConfigError(f"Prompt '{self.name}' needs values for {sorted(missing)}")
        return VAR.sub(lambda m: str(values[m.group(1)]), self.text)


def check_name(name: str, language: str) -> None:
    if name not in SPECS:
        raise ConfigError("Unknown prompt", expected="one of " + ", ".join(SPECS), got=repr(name))
    if language not in LANGUAGES:
        raise ConfigError("Unknown prompt language", expected="zh or en", got=repr(language))


def default_text(name: str, language: str) -> str:
    check_name(name, language)
    return (FOLDER / language / f"{name}.md").read_text(encoding="utf-8")


def validate(name: str, text: str) -> None:
    """Reject an override that misses a required variable or uses an unknown one."""
    required, _ = SPECS[name]
    used = set(VAR.findall(text))
    missing, unknown = required - used, used - required
    if missing or unknown or not text.strip():
        raise ConfigError(
            f"The override of prompt '{name}' cannot be used",
            expected="the variables " + (", ".join("{{" + v + "}}" for v in sorted(required)) or "(none)"),
            got=("missing " + ", ".join(sorted(missing)) if missing else "")
            + ("; " if missing and unknown else "")
            + ("unknown " + ", ".join(sorted(unknown)) if unknown else "")
            or "an empty text",
            hint="Start from `loreforge prompts show PROJECT NAME` and keep every {{variable}}",
        )


def load(name: str, language: str, override_dir: Path | None = None) -> Prompt:
    """The template in force: the project's override when there is one, else the shipped file."""
    check_name(name, language)
    if override_dir is not None:
        path = override_dir / language / f"{name}.md"
        if path.is_file():
            return Prompt(name, language, path.read_text(encoding="utf-8"), overridden=True)
    return Prompt(name, language, default_text(name, language), overridden=False)
