"""Bad input is a clear 4xx or a named import issue, never a 500 or a traceback (issue 10, item 4): NUL and lone
surrogates in every kind of user string, project names that read as ids or break an API path, JSON nested too
deeply, a model path that does not exist, and FastAPI's own errors in the documented error shape."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from conftest import write
from loreforge.cli import cli
from loreforge.errors import Conflict, LoreForgeError, NotFound, UserError
from loreforge.review.dataset import ImportFailed
from loreforge.service import Service
from loreforge.service.text_input import check_value, printable, problem
from loreforge.store.models import Project
from loreforge.web.app import create_app

SHAPE = {"error", "message", "expected", "got", "hint"}
SURROGATE, NUL = "\ud800", "\x00"


@pytest.fixture()
def client(svc: Service) -> Iterator[TestClient]:
    with TestClient(create_app(svc), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture()
def chunk_id(svc: Service, project: str, tmp_path: Path) -> int:
    svc.ingest(project, [write(tmp_path / "doc.md", "# Title\n\nThe harbour opened in 1921. It has four piers.\n")])
    return svc.list_chunks(project).items[0].id


def _raw(client: TestClient, method: str, url: str, body: object) -> tuple[int, dict]:
    """Send `body` as JSON the way a client that allows lone surrogates writes it (`\\ud800` escapes)."""
    reply = client.request(method, url, content=json.dumps(body).encode(), headers={"content-type": "application/json"})
    return reply.status_code, reply.json()


# -- the text check ---------------------------------------------------------------------------------------


def test_problem_names_the_character_and_where() -> None:
    assert problem("fine: emoji 🎉, RTL \u200f, CJK 港口") is None
    assert problem("ab" + SURROGATE) == "a lone surrogate U+D800 at character 3"
    assert problem("a" + NUL) == "a NUL character (U+0000) at character 2"
    assert printable("a\udcff" + NUL) == "a\\udcff\\x00"


def test_check_value_walks_nested_values_without_recursion() -> None:
    with pytest.raises(UserError, match=r"Invalid text in 'options\.stop\[1\]'"):
        check_value("options", {"stop": ["ok", "bad" + SURROGATE]})
    with pytest.raises(UserError, match=r"'options \(a key\)'"):
        check_value("options", {NUL: 1})
    deep: list = []
    inner = deep
    for _ in range(100_000):
        inner.append([])
        inner = inner[0]
    inner.append("x" + NUL)
    with pytest.raises(UserError, match="NUL"):
        check_value("value", deep)


# -- the service and its shells -----------------------------------------------------------------------


@pytest.mark.parametrize("bad", [SURROGATE, NUL])
def test_every_kind_of_user_string_is_refused_naming_the_field(svc: Service, project: str, chunk_id: int,
                                                                bad: str) -> None:
    question = svc.add_question(project, chunk_id, "When did the harbour open?")
    svc.add_tag(project, "history")
    calls = {
        "name": lambda: svc.create_project("x" + bad),
        "description": lambda: svc.create_project("fine", description=bad),
        "project": lambda: svc.get_project("p" + bad),
        "text": lambda: svc.edit_chunk(project, chunk_id, "new text" + bad),
        "label": lambda: svc.rename_tag(project, "history", bad),
        "tag": lambda: svc.edit_question(project, question.id, tag=bad),
        "value": lambda: svc.set_setting(project, "split.separators", ["\n", bad]),
        "key": lambda: svc.set_setting(project, "split" + bad, 3),
    }
    for field, call in calls.items():
        with pytest.raises(UserError, match=f"Invalid text in '{field}"):
            call()
    assert [p.name for p in svc.list_projects()] == [project]


def test_the_api_answers_400_in_the_error_shape(client: TestClient, project: str, chunk_id: int) -> None:
    status, body = _raw(client, "POST", "/api/projects", {"name": "a" + SURROGATE})
    assert status == 400 and set(body) == SHAPE and "'name'" in body["message"] and "U+D800" in body["got"]
    status, body = _raw(client, "PUT", f"/api/projects/{project}/chunks/{chunk_id}", {"text": NUL})
    assert status == 400 and "'text'" in body["message"]
    status, body = _raw(client, "POST", f"/api/projects/{project}/tags", {"label": "ok", "parent": SURROGATE})
    assert status == 400 and "'parent'" in body["message"]
    status, body = _raw(client, "POST", f"/api/projects/{project}/questions",
                        {"chunk_id": chunk_id, "text": "Why" + SURROGATE + "?"})
    assert status == 400 and "'text'" in body["message"]


def test_the_cli_prints_one_line_not_a_traceback(home: Path, project: str) -> None:
    result = CliRunner().invoke(cli, ["project", "create", "bad\udcff"])  # argv that was not UTF-8
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "Invalid text in 'name'" in result.output and "U+DCFF" in result.output


# -- project names --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["2", "007", "٢", "a/b", "a\\b", "what?", "#1", "100%", "..", "tab\there", " "])
def test_names_that_read_as_an_id_or_break_a_path_are_refused(svc: Service, name: str) -> None:
    with pytest.raises(UserError, match="Invalid project name") as caught:
        svc.create_project(name)
    assert "not all digits" in str(caught.value)
    svc.create_project("fine")
    with pytest.raises(UserError, match="Invalid project name"):
        svc.rename_project("fine", name)


def test_names_that_are_fine(svc: Service) -> None:
    for name in ["faq-2", "2024 Q2 report", "港口 FAQ", "emoji 🎉", "+2", "v2.0"]:
        assert svc.create_project(name).name == name
    assert svc.get_project("+2").name == "+2"


def test_a_number_is_an_id(svc: Service, client: TestClient) -> None:
    first = svc.create_project("first")
    svc.create_project("second")
    assert svc.get_project(str(first.id)).name == "first"
    assert client.get(f"/api/projects/{first.id}").json()["name"] == "first"
    for ref in ["²", "9" * 30, str(2**63)]:  # '²'.isdigit() is true but int() refuses it; too large for the store
        with pytest.raises(NotFound):
            svc.get_project(ref)
        assert client.get(f"/api/projects/{ref}").status_code == 404
    assert client.get("/api/projects/first/chunks/99999999999999999999999").status_code == 404


def _legacy(svc: Service, name: str) -> int:
    """A project stored before names were checked."""
    with svc.db.session() as session:
        row = Project(name=name, description="", settings={})
        session.add(row)
        session.flush()
        return row.id


def test_a_legacy_all_digit_name_stays_reachable_and_a_clash_says_how_to_rename(svc: Service) -> None:
    first = svc.create_project("first")
    legacy = _legacy(svc, str(first.id))  # named like the id of `first`
    with pytest.raises(Conflict) as caught:
        svc.get_project(str(first.id))
    assert f"loreforge project rename {legacy} NEW-NAME" in str(caught.value)
    assert svc.get_project(legacy).name == str(first.id)  # by its own id
    svc.rename_project(legacy, "renamed")
    assert svc.get_project(str(first.id)).name == "first"
    lonely = _legacy(svc, "777")  # no project has id 777: the name still finds it
    assert svc.get_project("777").id == lonely


def test_a_legacy_name_with_a_slash_is_reached_by_id_over_rest(svc: Service, client: TestClient) -> None:
    legacy = _legacy(svc, "a/b")
    miss = client.get("/api/projects/a/b")
    assert miss.status_code == 404 and set(miss.json()) == SHAPE and "by its id" in miss.json()["message"]
    assert client.get(f"/api/projects/{legacy}").json()["name"] == "a/b"
    renamed = client.patch(f"/api/projects/{legacy}", json={"name": "a-b"})
    assert renamed.status_code == 200 and client.get("/api/projects/a-b").json()["id"] == legacy


# -- FastAPI's own errors -----------------------------------------------------------------------------------


def test_request_validation_errors_come_in_the_error_shape(client: TestClient, project: str) -> None:
    wrong = client.post("/api/projects", json={"name": 5})
    assert wrong.status_code == 422 and set(wrong.json()) == SHAPE
    assert wrong.json()["error"] == "InvalidRequest" and "body.name" in wrong.json()["message"]
    assert wrong.json()["got"] == "5" and wrong.json()["expected"] == "a valid string"
    missing = client.post("/api/projects", json={})
    assert missing.status_code == 422 and missing.json()["got"] == "nothing"
    syntax = client.post("/api/projects", content=b"{bad", headers={"content-type": "application/json"})
    assert syntax.status_code == 422 and "syntax error" in syntax.json()["got"]
    status, body = _raw(client, "POST", "/api/projects", {"name": 5, "description": {"x": SURROGATE}})
    assert status == 422 and set(body) == SHAPE  # an offending value with a surrogate is quoted escaped
    deep = client.post("/api/projects", content=b"[" * 100_000, headers={"content-type": "application/json"})
    assert deep.status_code == 400 and set(deep.json()) == SHAPE
    paged = client.get(f"/api/projects/{project}/chunks", params={"page": "x"})
    assert paged.status_code == 422 and "query.page" in paged.json()["message"]
    method = client.put(f"/api/projects/{project}", json={})
    assert method.status_code == 405 and set(method.json()) == SHAPE and "allow" in method.headers


# -- imports ----------------------------------------------------------------------------------------------------


def test_an_import_names_rows_with_unstorable_text_and_goes_on(svc: Service, project: str, tmp_path: Path) -> None:
    rows = [{"instruction": "q\ud800", "output": "a"}, {"instruction": "q2", "output": "a\u0000"},
            {"instruction": "ok", "output": "fine"}]
    path = write(tmp_path / "d.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(ImportFailed) as caught:
        svc.import_dataset(project, path)
    assert "record 1 (line 1): question holds a lone surrogate" in str(caught.value)
    assert "record 2 (line 2): answer holds a NUL" in str(caught.value)
    report = svc.import_dataset(project, path, keep_good_lines=True)
    assert report.imported == 1 and report.skipped == 2
    csv = write(tmp_path / "d.csv", "instruction,output\n\"q\x00\",a\nq,a\n")
    assert svc.import_dataset(project, csv, keep_good_lines=True).imported == 1


def test_an_import_cli_reports_not_a_traceback(home: Path, project: str, tmp_path: Path) -> None:
    path = write(tmp_path / "d.json", json.dumps([{"instruction": "q\ud800", "output": "a"}]))
    result = CliRunner().invoke(cli, ["dataset", "import", project, str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output and "lone surrogate" in result.output


@pytest.mark.parametrize("name,text", [
    ("array.json", "[" * 100_000),
    ("second.json", '[{"instruction": "q", "output": "a"}, ' + "[" * 100_000),
    ("wrapped.json", '{"data": ' + "[" * 100_000 + "]" * 100_000 + "}"),
    ("lines.jsonl", "[" * 100_000 + "\n"),
])
def test_json_nested_too_deeply_is_a_bad_record(svc: Service, project: str, tmp_path: Path, name: str,
                                               text: str) -> None:
    with pytest.raises(ImportFailed, match="nested too deeply"):
        svc.import_dataset(project, write(tmp_path / name, text))


@pytest.mark.parametrize("name,text", [
    ("array.json", "[" + "9" * 5000 + "]"),
    ("wrapped.json", '{"data": [' + "9" * 5000 + "]}"),
    ("lines.jsonl", '{"instruction": "q", "output": ' + "9" * 5000 + "}\n"),
])
def test_a_number_too_long_for_python_is_a_bad_record(svc: Service, project: str, tmp_path: Path, name: str,
                                                       text: str) -> None:
    with pytest.raises(ImportFailed, match="a number too long"):
        svc.import_dataset(project, write(tmp_path / name, text))


def test_json_text_values_too_deep_or_too_long_are_4xx(svc: Service, project: str, client: TestClient) -> None:
    for raw in ["[" * 100_000, "9" * 5000]:
        with pytest.raises(UserError, match="split.separators"):
            svc.set_setting(project, "split.separators", raw)
        upload = client.post(f"/api/projects/{project}/dataset/import", data={"mapping": raw},
                             files={"file": ("d.jsonl", b'{"q": "x", "a": "y"}', "application/json")})
        assert upload.status_code == 400 and "mapping is not valid JSON" in upload.json()["message"]
        added = CliRunner().invoke(cli, ["--home", str(svc.config.home), "models", "add", project, "--provider",
                                         "ollama", "--extra-body", raw])
        assert added.exit_code == 1 and "--extra-body is not valid JSON" in added.output


def test_deep_lines_are_skipped_and_the_rest_imported(svc: Service, project: str, tmp_path: Path) -> None:
    good = json.dumps({"instruction": "q", "output": "a"})
    path = write(tmp_path / "mixed.jsonl", "[" * 100_000 + "\n" + good + "\n")
    report = svc.import_dataset(project, path, keep_good_lines=True)
    assert report.imported == 1 and "nested too deeply" in report.issues[0]["message"]


def test_an_import_mapping_that_is_not_text_to_text_is_refused(svc: Service, project: str, tmp_path: Path) -> None:
    path = write(tmp_path / "d.jsonl", json.dumps({"q": "x", "a": "y"}) + "\n")
    for mapping in [5, ["question"], {"question": 5, "answer": "a"}]:
        with pytest.raises(UserError, match="Invalid import mapping"):
            svc.import_dataset(project, path, format="custom", mapping=mapping)  # type: ignore[arg-type]


# -- the model path of a train config -----------------------------------------------------------------------


def test_a_model_path_that_does_not_exist_says_so(tmp_path: Path) -> None:
    from loreforge.train.trainer import model_source

    for missing in ["/nonexistent", "./models/tiny", "../tiny", "~/no-such-model", "C:\\models\\x", "a/b/c"]:
        with pytest.raises(NotFound, match="the path does not exist") as caught:
            model_source(missing, tmp_path)
        assert "org/name" in str(caught.value)
    assert model_source("Qwen/Qwen2.5-0.5B-Instruct", tmp_path) == "Qwen/Qwen2.5-0.5B-Instruct"  # a hub id
    assert model_source("gpt2", tmp_path) == "gpt2"
    (tmp_path / "tiny").mkdir()
    assert model_source("tiny", tmp_path) == str(tmp_path / "tiny")


def test_a_question_twice_on_one_chunk_is_a_conflict_not_a_500(svc: Service, project: str, chunk_id: int,
                                                               client: TestClient) -> None:
    first = svc.add_question(project, chunk_id, "When did it open?")
    with pytest.raises(Conflict, match=f"question {first.id}"):
        svc.add_question(project, chunk_id, "When did it open?")
    other = svc.add_question(project, chunk_id, "How many piers?")
    with pytest.raises(Conflict):
        svc.edit_question(project, other.id, text="when did it open")  # the same once normalised
    svc.add_tag(project, "history")
    with pytest.raises(Conflict):  # with a tag too: looking the tag up must not flush the clashing text
        svc.edit_question(project, other.id, text="When did it open?", tag="history")
    assert svc.edit_question(project, first.id, tag="").id == first.id  # its own text is no clash
    reply = client.post(f"/api/projects/{project}/questions", json={"chunk_id": chunk_id, "text": "How many piers?"})
    assert reply.status_code == 409 and set(reply.json()) == SHAPE


def test_a_digit_python_cannot_read_as_an_int_is_not_a_run_id(svc: Service) -> None:
    """'²' is a digit to str.isdigit() and a ValueError to int(): an adapter named so is a path, not a run id."""
    with pytest.raises(LoreForgeError) as info:
        svc.export_model("base", "²", "out")
    assert "²" in str(info.value)


def test_renaming_a_tag_to_a_label_another_tag_has_is_a_conflict(svc: Service, project: str, client: TestClient) -> None:
    # Found by tests/test_bad_input_properties.py: two siblings, one renamed to the other's label, was a
    # UNIQUE constraint error (500) instead of the 409 that adding a duplicate label gives.
    svc.add_tag(project, "finance")
    svc.add_tag(project, "revenue", "finance")
    svc.add_tag(project, "costs", "finance")
    svc.add_tag(project, "people")
    for clash in ("costs", " people "):
        with pytest.raises(Conflict, match="already exists"):
            svc.rename_tag(project, "revenue", clash)
    reply = client.patch(f"/api/projects/{project}/tags/revenue", json={"label": "costs"})
    assert reply.status_code == 409 and "already exists" in reply.json()["message"]
    assert svc.rename_tag(project, "revenue", " revenue ").label == "revenue"  # its own label is fine
    assert sorted(t.label for t in svc.show_tags(project)) == ["finance", "people"]


def test_two_processes_adding_one_label_at_once_store_one_tag(svc: Service, project: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The service's check and the insert are two steps; when another process adds the label in between (here: the
    check is skipped, as if the other had not committed yet), the store's unique (project, label) refuses it — as a
    Conflict, whatever the parent (migration 0018; before it, only siblings were unique, and roots not at all)."""
    from loreforge.service import tags

    svc.add_tag(project, "finance")
    svc.add_tag(project, "revenue", "finance")
    monkeypatch.setattr(tags, "ensure_label_free", lambda *args, **kwargs: None)
    for label, parent in (("finance", None), ("revenue", None), ("finance", "revenue")):
        with pytest.raises(Conflict, match="already exists"):
            svc.add_tag(project, label, parent)
    svc.add_tag(project, "people")
    with pytest.raises(Conflict, match="already exists"):
        svc.rename_tag(project, "people", "revenue")
    assert [(t.label, [c.label for c in t.children]) for t in svc.show_tags(project)] == [("finance", ["revenue"]), ("people", [])]


def test_a_rebuilt_tag_tree_may_move_a_label_between_levels(svc: Service, project: str) -> None:
    """Labels are unique per project, so a rebuilt tree that makes a root a child (or a child a root) moves that tag
    — its questions keep it — instead of adding a second tag of the label."""
    from loreforge.generate.tags import TagNode
    from loreforge.service import lookups
    from loreforge.service.tags import replace_tree

    svc.add_tag(project, "revenue")
    svc.add_tag(project, "overseas", "revenue")
    ids = {t.label: t.id for t in svc.show_tags(project)} | {c.label: c.id for t in svc.show_tags(project) for c in t.children}
    with svc.db.session() as session:
        replace_tree(session, lookups.project(session, project), [TagNode(label="overseas", children=["revenue", "costs"])])
    tree = svc.show_tags(project)
    assert [(t.label, [c.label for c in t.children]) for t in tree] == [("overseas", ["revenue", "costs"])]
    assert tree[0].id == ids["overseas"] and tree[0].children[0].id == ids["revenue"]
