"""Projects and per-project settings through the service layer, on a real SQLite store."""

from __future__ import annotations

import pytest

from loreforge.errors import ConfigError, Conflict, NotFound, UserError
from loreforge.service import Service
from loreforge.store.models import ModelConfig


def test_create_list_show_rename_delete(svc: Service) -> None:
    a = svc.create_project("alpha", description="first")
    svc.create_project("beta")
    assert [p.name for p in svc.list_projects()] == ["alpha", "beta"]
    assert svc.get_project("alpha").description == "first"
    assert svc.get_project(str(a.id)).name == "alpha"  # by id too
    assert svc.rename_project("alpha", "gamma").name == "gamma"
    with pytest.raises(NotFound):
        svc.get_project("alpha")
    result = svc.delete_project("gamma")
    assert result.deleted == 1
    assert [p.name for p in svc.list_projects()] == ["beta"]


def test_names_are_unique_and_checked(svc: Service) -> None:
    svc.create_project("alpha")
    with pytest.raises(Conflict, match="already exists"):
        svc.create_project("alpha")
    svc.create_project("beta")
    with pytest.raises(Conflict):
        svc.rename_project("beta", "alpha")
    for bad in ["", "   ", "a\nb", "x" * 201]:
        with pytest.raises(UserError, match="Invalid project name"):
            svc.create_project(bad)


def test_missing_project_lists_existing(svc: Service) -> None:
    svc.create_project("alpha")
    with pytest.raises(NotFound) as err:
        svc.get_project("alhpa")
    assert "alpha" in str(err.value)


def test_copy_from_copies_settings_and_model_configs(svc: Service) -> None:
    src = svc.create_project("src")
    svc.set_setting("src", "split.max_length", "2000")
    svc.set_setting("src", "language", "en")
    with svc.db.session() as s:
        s.add(ModelConfig(project_id=src.id, name="ds", provider="deepseek", model="deepseek-chat", api_key_ref="env:DEEPSEEK_API_KEY", options={"temperature": 0.7}, active=True))
    dst = svc.create_project("dst", copy_from="src")
    values = {r.key: r for r in svc.show_settings("dst")}
    assert values["split.max_length"].value == 2000 and values["split.max_length"].source == "project"
    assert values["language"].value == "en"
    with svc.db.session() as s:
        configs = s.query(ModelConfig).filter_by(project_id=dst.id).all()
        assert [(c.name, c.provider, c.active, c.options) for c in configs] == [("ds", "deepseek", True, {"temperature": 0.7})]


def test_settings_show_sources_and_defaults(svc: Service, project: str) -> None:
    rows = {r.key: r for r in svc.show_settings(project)}
    for key in [
        "split.strategy",
        "split.min_length",
        "split.max_length",
        "split.chunk_size",
        "split.overlap",
        "split.separators",
        "split.custom_separator",
        "questions.chars_per_question",
        "llm.concurrency",
        "language",
    ]:
        assert rows[key].source == "default", key
    assert rows["questions.chars_per_question"].value == 240
    assert rows["split.strategy"].value == "markdown"
    svc.set_setting(project, "split.min_length", "500")
    rows = {r.key: r for r in svc.show_settings(project)}
    assert rows["split.min_length"].value == 500 and rows["split.min_length"].source == "project"
    assert svc.reset_setting(project, "split.min_length").source == "default"


def test_settings_values_are_typed(svc: Service, project: str) -> None:
    assert svc.set_setting(project, "split.separators", '["\\n\\n", "。"]').value == ["\n\n", "。"]
    assert svc.set_setting(project, "llm.concurrency", 32).value == 32
    assert svc.set_setting(project, "split.tokenizer", "none").value is None


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [
        ("split.min_length", "-5", "split.min_length"),
        ("split.max_length", "9999999", "20 .. 200000"),
        ("split.strategy", "semantic", "markdown | recursive | fixed | token | custom"),
        ("llm.concurrency", "many", "llm.concurrency"),
        ("language", "fr", "zh | en"),
        ("split.separators", "not json", "JSON list"),
        ("split.min_length", "5000", "must not exceed split.max_length"),
    ],
)
def test_bad_setting_values_name_the_key_and_range(svc: Service, project: str, key: str, value: str, needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        svc.set_setting(project, key, value)
    assert needle in str(err.value)
    assert {r.key: r.source for r in svc.show_settings(project)}[key] == "default"  # nothing stored


def test_unknown_setting_suggests_nearest(svc: Service, project: str) -> None:
    with pytest.raises(ConfigError, match="Did you mean 'split.max_length'"):
        svc.set_setting(project, "split.max_lenght", "10")
