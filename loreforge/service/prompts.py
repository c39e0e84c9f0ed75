"""Prompt templates of a project: list, show (the one in force), override (validated), reset."""

from __future__ import annotations

from pathlib import Path

from loreforge import prompts as P
from loreforge.service import lookups
from loreforge.service.base import ServiceBase
from loreforge.settings import AppConfig
from loreforge.store.models import Project
from loreforge.views import PromptView


def prompt_dir(config: AppConfig, project: Project) -> Path:
    return lookups.project_dir(config, project) / "prompts"


def load_prompt(config: AppConfig, project: Project, name: str, language: str | None = None) -> P.Prompt:
    """The template in force for the project (its override, else the shipped one) in its language."""
    return P.load(name, language or lookups.settings(project).language, prompt_dir(config, project))


def load_prompts(config: AppConfig, project: Project, *names: str) -> dict[str, P.Prompt]:
    return {name: load_prompt(config, project, name) for name in names}


def _prompt_view(prompt: P.Prompt, shipped: str | None = None) -> PromptView:
    required, description = P.SPECS[prompt.name]
    return PromptView(name=prompt.name, language=prompt.language, description=description, variables=sorted(required),
                      overridden=prompt.overridden, hash=prompt.hash, text=prompt.text, shipped_text=shipped)


class PromptActions(ServiceBase):
    def list_prompts(self, project: str | int, language: str | None = None) -> list[PromptView]:
        with self.db.session() as session:
            row = lookups.project(session, project)
            return [_prompt_view(load_prompt(self.config, row, name, language)) for name in P.SPECS]

    def show_prompt(self, project: str | int, name: str, language: str | None = None) -> PromptView:
        """The template in force; an override comes with the shipped text beside it (to diff against)."""
        with self.db.session() as session:
            prompt = load_prompt(self.config, lookups.project(session, project), name, language)
        return _prompt_view(prompt, P.load(name, prompt.language).text if prompt.overridden else None)

    def set_prompt(self, project: str | int, name: str, text: str, language: str | None = None) -> PromptView:
        """Override a template for this project; rejected when a required variable is missing."""
        with self.db.session() as session:
            row = lookups.project(session, project)
            lang = language or lookups.settings(row).language
            P.check_name(name, lang)
            P.validate(name, text)
            path = prompt_dir(self.config, row) / lang / f"{name}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return _prompt_view(load_prompt(self.config, row, name, lang))

    def reset_prompt(self, project: str | int, name: str, language: str | None = None) -> PromptView:
        with self.db.session() as session:
            row = lookups.project(session, project)
            lang = language or lookups.settings(row).language
            P.check_name(name, lang)
            (prompt_dir(self.config, row) / lang / f"{name}.md").unlink(missing_ok=True)
            return _prompt_view(load_prompt(self.config, row, name, lang))
