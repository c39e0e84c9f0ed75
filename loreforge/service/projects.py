"""Project actions: create (optionally copying settings and model configs), list, show, rename, delete, and
the per-project task settings."""

from __future__ import annotations

import shutil
import unicodedata
from typing import Any

from sqlalchemy import select

from loreforge.errors import Conflict, UserError
from loreforge.secrets import drop_orphans
from loreforge.service import lookups, text_input
from loreforge.service.base import ServiceBase
from loreforge.settings import build_settings, check_key, describe, flatten, parse_value
from loreforge.store.models import ModelConfig, Project
from loreforge.views import Deleted, ProjectView, SettingView, from_row

NAME_MAX = 200
COPIED_CONFIG = ("name", "provider", "model", "base_url", "api_key_ref", "active")


UNSAFE_IN_NAME = "/\\?#%"  # they change the meaning of a URL path (or a file path) even when quoted by hand
NAME_RULE = (f"1-{NAME_MAX} characters, not all digits (a number means a project id), without control "
             f"characters or any of {' '.join(UNSAFE_IN_NAME)}")


def name_problem(name: str) -> str | None:
    """Why `name` (already stripped) cannot name a project, or None. Ids stay plain numbers, and a name must
    be usable as one segment of an API path: `/api/projects/{name}`."""
    if not name or len(name) > NAME_MAX:
        return f"{len(name)} characters"
    if name.isdigit():
        return "all digits, which reads as a project id"
    if name in (".", ".."):
        return "a name that means a folder"
    unsafe = sorted({c for c in name if c in UNSAFE_IN_NAME or unicodedata.category(c) == "Cc"})
    if unsafe:
        return "it holds " + " ".join(repr(c) for c in unsafe)
    return None


def _shown(name: str, limit: int = 60) -> str:
    return repr(name[:limit]) + ("…" if len(name) > limit else "")


def _check_name(name: str) -> str:
    text_input.check_text("name", name)
    clean = name.strip()
    problem = name_problem(clean)
    if problem is not None:
        raise UserError("Invalid project name", expected=NAME_RULE, got=f"{_shown(name)} ({problem})",
                        hint="Pick another name, e.g. with letters or a dash: 'faq-2'")
    return clean


class ProjectActions(ServiceBase):
    def _project_view(self, session: Any, project: Project) -> ProjectView:
        return from_row(ProjectView, project, counts=lookups.counts(session, project.id),
                        path=str(lookups.project_dir(self.config, project)))

    def create_project(self, name: str, description: str = "", copy_from: str | None = None) -> ProjectView:
        """Create a project; `copy_from` copies settings and model configs from another project."""
        name = _check_name(name)
        with self.db.session() as session:
            if session.scalar(select(Project).where(Project.name == name)) is not None:
                raise Conflict(f"A project named '{name}' already exists", hint="Pick another name or delete the old one")
            settings: dict[str, Any] = {}
            source = lookups.project(session, copy_from) if copy_from else None
            if source is not None:
                settings = dict(source.settings or {})
            project = Project(name=name, description=description, settings=settings)
            session.add(project)
            session.flush()
            if source is not None:
                for mc in session.scalars(select(ModelConfig).where(ModelConfig.project_id == source.id)):
                    session.add(ModelConfig(project_id=project.id, **{k: getattr(mc, k) for k in COPIED_CONFIG},
                                            options=dict(mc.options or {})))
            lookups.project_dir(self.config, project).mkdir(parents=True, exist_ok=True)
            return self._project_view(session, project)

    def list_projects(self) -> list[ProjectView]:
        with self.db.session() as session:
            projects = session.scalars(select(Project).order_by(Project.name)).all()
            return [self._project_view(session, p) for p in projects]

    def get_project(self, project: str | int) -> ProjectView:
        with self.db.session() as session:
            return self._project_view(session, lookups.project(session, project))

    def rename_project(self, project: str | int, new_name: str) -> ProjectView:
        new_name = _check_name(new_name)
        with self.db.session() as session:
            row = lookups.project(session, project)
            clash = session.scalar(select(Project).where(Project.name == new_name))
            if clash is not None and clash.id != row.id:
                raise Conflict(f"A project named '{new_name}' already exists", hint="Pick another name")
            row.name = new_name
            session.flush()
            return self._project_view(session, row)

    def delete_project(self, project: str | int) -> Deleted:
        """Delete a project, its rows and its files."""
        with self.db.session() as session:
            row = lookups.project(session, project)
            counts = lookups.counts(session, row.id)
            folder = lookups.project_dir(self.config, row)
            session.delete(row)
            drop_orphans(session)  # the stored keys of its model configs
        shutil.rmtree(folder, ignore_errors=True)
        return Deleted(deleted=1, detail=counts.model_dump())

    # -- settings ------------------------------------------------------------------------------------
    def show_settings(self, project: str | int) -> list[SettingView]:
        with self.db.session() as session:
            overrides = dict(lookups.project(session, project).settings or {})
        return [SettingView(**vars(info)) for info in describe(overrides)]

    def set_setting(self, project: str | int, key: str, value: Any) -> SettingView:
        """Set one dotted key (e.g. `split.max_length`); the whole settings object is validated first."""
        parsed = parse_value(key, value)
        with self.db.session() as session:
            row = lookups.project(session, project)
            overrides = dict(row.settings or {})
            overrides[key] = parsed
            settings = build_settings(overrides)  # raises ConfigError naming the key
            overrides[key] = flatten(settings)[key]
            row.settings = overrides
        return next(v for v in self.show_settings(project) if v.key == key)

    def reset_setting(self, project: str | int, key: str) -> SettingView:
        """Drop a project's override so the default applies again."""
        check_key(key)
        with self.db.session() as session:
            row = lookups.project(session, project)
            overrides = dict(row.settings or {})
            overrides.pop(key, None)
            build_settings(overrides)
            row.settings = overrides
        return next(v for v in self.show_settings(project) if v.key == key)
