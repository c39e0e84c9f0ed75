"""Prompt templates of a project: list, show (the one in force), override (validated), reset."""

from __future__ import annotations

from pathlib import Path

from loreforge import prompts as P
from loreforge.service.base import ServiceBase
from loreforge.store.models import Project
from loreforge.views import PromptView


class PromptActions(ServiceBase):
    def _prompt_dir(self, project: Project) -> Path:
        return self._project_dir(project) / "prompts"

    def _prompt(self, project: Project, name: str, language: str | None = None) -> P.Prompt:
        return P.load(name, language or self._settings(project).language, self._prompt_dir(project))

    @staticmethod
    def _prompt_view(prompt: P.Prompt) -> PromptView:
        required, description = P.SPECS[prompt.name]
        return PromptView(
            name=prompt.name,
            language=prompt.language,
            description=description,
            variables=sorted(required),
            overridden=prompt.overridden,
            hash=prompt.hash,
            text=prompt.text,
        )

    def list_prompts(self, project: str | int, language: str | None = None) -> list[PromptView]:
        with self.db.session() as session:
            row = self._project(session, project)
            return [self._prompt_view(self._prompt(row, name, language)) for name in P.SPECS]

    def show_prompt(self, project: str | int, name: str, language: str | None = None) -> PromptView:
        with self.db.session() as session:
            return self._prompt_view(self._prompt(self._project(session, project), name, language))

    def set_prompt(self, project: str | int, name: str, text: str, language: str | None = None) -> PromptView:
        """Override a template for this project; rejected when a required variable is missing."""
        with self.db.session() as session:
            row = self._project(session, project)
            lang = language or self._settings(row).language
            P.check_name(name, lang)
            P.validate(name, text)
            path = self._prompt_dir(row) / lang / f"{name}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return self._prompt_view(self._prompt(row, name, lang))

    def reset_prompt(self, project: str | int, name: str, language: str | None = None) -> PromptView:
        with self.db.session() as session:
            row = self._project(session, project)
            lang = language or self._settings(row).language
            P.check_name(name, lang)
            (self._prompt_dir(row) / lang / f"{name}.md").unlink(missing_ok=True)
            return self._prompt_view(self._prompt(row, name, lang))
