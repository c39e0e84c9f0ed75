"""Probes (issue 11): the store tables and their migration; the builders, the leakage filter, choice rotation,
file import/export, and the CLI and REST shells."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from loreforge.store.db import Database, alembic_config

PG = os.environ.get("LOREFORGE_TEST_DATABASE_URL")


def _round_trip(url: str) -> None:
    """Upgrade to head, down to 0005 (the probe tables go), up again (they come back)."""
    db = Database(url)
    assert {"probe_sets", "probes"} <= set(inspect(db.engine).get_table_names())
    db.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    assert not {"probe_sets", "probes"} & set(inspect(engine).get_table_names())
    engine.dispose()
    db = Database(url)
    names = {c["name"] for c in inspect(db.engine).get_columns("probes")}
    assert {"probe_set_id", "position", "kind", "qtype", "key", "key_kind", "options", "answer", "source_question"} <= names
    with db.engine.begin() as conn:
        now = "2026-12-01 00:00:00+00"
        conn.execute(text("INSERT INTO projects (id, name, description, settings, created_at, updated_at) VALUES (1, 'p', '', '{}', :t, :t)"), {"t": now})
        conn.execute(text("INSERT INTO probe_sets (id, project_id, name, kinds, language, params, counts, created_at, updated_at) "
                          "VALUES (1, 1, 's', '[]', 'en', '{}', '{}', :t, :t)"), {"t": now})
        conn.execute(text("INSERT INTO probes (probe_set_id, position, kind, qtype, question, reference, provenance, created_at) "
                          "VALUES (1, 0, 'user', 'open', 'q', 'r', '{}', :t)"), {"t": now})
    with pytest.raises(Exception, match="(?i)unique"), db.engine.begin() as conn:
        conn.execute(text("INSERT INTO probes (probe_set_id, position, kind, qtype, question, reference, provenance, created_at) "
                          "VALUES (1, 0, 'user', 'open', 'q2', 'r', '{}', :t)"), {"t": now})
    with db.engine.begin() as conn:  # a project's deletion takes its sets and their probes
        if db.engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        conn.execute(text("DELETE FROM projects WHERE id = 1"))
        assert conn.execute(text("SELECT count(*) FROM probes")).scalar() == 0
    db.dispose()


def test_migration_0006_up_down_up_sqlite(tmp_path: Path) -> None:
    _round_trip(f"sqlite:///{tmp_path / 'p.db'}")


@pytest.mark.skipif(not PG, reason="no PostgreSQL server (set LOREFORGE_TEST_DATABASE_URL; CI does)")
def test_migration_0006_up_down_up_postgresql() -> None:
    from sqlalchemy.engine import make_url

    assert PG is not None
    name = f"lf_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        _round_trip(make_url(PG).set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


# -- building probes ------------------------------------------------------------------------------------------

import csv  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
from collections.abc import Iterator  # noqa: E402

import click.testing  # noqa: E402
from fake_llm import FakeLLM, Recorded, Reply  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from loreforge.errors import Conflict, UserError  # noqa: E402
from loreforge.evaluate.probes import find_key, jaccard, rotations, values  # noqa: E402
from loreforge.evaluate.probes.build import BuildOptions, Item, build_offline, item_probes  # noqa: E402
from loreforge.evaluate.probes.choices import prompt_text  # noqa: E402
from loreforge.evaluate.probes.keys import document_values  # noqa: E402
from loreforge.evaluate.probes.leakage import LeakageIndex  # noqa: E402
from loreforge.service import Service  # noqa: E402
from loreforge.store.models import DatasetItem, LLMCall, Probe  # noqa: E402

FACTS = """# Harbor Light Robotics

## History

Harbor Light Robotics was founded in 2015 by Mira Chen in Fennick Bay. The company has 1,200 employees.

## Products

Its warehouse robot, the Tern, costs $48,000 and carries 350 kilograms. In 2024 the company sold 2,300 robots.

## Finance

Revenue in 2024 was $96.5 million, up 18% from 2023. The gross margin was 41%. It runs 14 service centres.

# Copperfield Foods

## History

Copperfield Foods was founded in 1998 by Daniel Okafor in Riverton. It employs 860 people.

## Stores

Copperfield Foods operates 64 shops. Its largest shop opened in 2019 and covers 4,500 square metres.

## Finance

Revenue in 2024 was $212 million, up 6% from 2023. The net margin was 3.5%. It has 9 warehouses.
"""

# (text the chunk holds, question, answer): two or three facts per chunk, so a chunk split keeps some on each side
QA = [
    ("founded in 2015", "When was Harbor Light Robotics founded?", "Harbor Light Robotics was founded in 2015."),
    ("founded in 2015", "Who founded Harbor Light Robotics?", "Mira Chen founded Harbor Light Robotics."),
    ("founded in 2015", "How many employees does Harbor Light Robotics have?", "Harbor Light Robotics has 1,200 employees."),
    ("the Tern, costs", "How much does the Tern robot cost?", "The Tern costs $48,000."),
    ("the Tern, costs", "How many robots did Harbor Light Robotics sell in 2024?", "It sold 2,300 robots in 2024."),
    ("$96.5 million", "What was Harbor Light Robotics' revenue in 2024?", "Its revenue in 2024 was $96.5 million."),
    ("$96.5 million", "What was Harbor Light Robotics' gross margin?", "Its gross margin was 41%."),
    ("$96.5 million", "How many service centres does Harbor Light Robotics run?", "It runs 14 service centres."),
    ("founded in 1998", "When was Copperfield Foods founded?", "Copperfield Foods was founded in 1998."),
    ("founded in 1998", "Who founded Copperfield Foods?", "Daniel Okafor founded Copperfield Foods."),
    ("founded in 1998", "How many people does Copperfield Foods employ?", "Copperfield Foods employs 860 people."),
    ("operates 64 shops", "How many shops does Copperfield Foods operate?", "Copperfield Foods operates 64 shops."),
    ("operates 64 shops", "When did Copperfield Foods open its largest shop?", "Its largest shop opened in 2019."),
    ("$212 million", "What was Copperfield Foods' revenue in 2024?", "Its revenue in 2024 was $212 million."),
    ("$212 million", "What was Copperfield Foods' net margin?", "Its net margin was 3.5%."),
    ("$212 million", "How many warehouses does Copperfield Foods have?", "It has 9 warehouses."),
]

REWORDS = {  # the fake LLM's rewordings; one of them gives the training question back (leakage)
    "When was Harbor Light Robotics founded?": "In which year did Mira Chen start the robot maker from Fennick Bay?",
    "Who founded Harbor Light Robotics?": "Who founded Harbor Light Robotics?",
    "How much does the Tern robot cost?": "What price does one pay for a Tern warehouse unit?",
    "What was Copperfield Foods' revenue in 2024?": "In 2024, how much did the grocer from Riverton take in?",
}


def reword(req: Recorded) -> Reply:
    asked = re.search(r"^Question: (.+)$", req.prompt, re.M)
    assert asked, req.prompt
    question = asked.group(1).strip()
    return Reply(text=REWORDS.get(question, f"Regarding the firm, could you say: {question.lower().rstrip('?')} — exactly?"))


@pytest.fixture()
def facts(svc: Service, tmp_path: Path) -> str:
    """An English fact project: two documents, 6 chunks and 16 confirmed QA pairs, each on the chunk that states
    its fact."""
    return make_facts(svc, tmp_path)


def make_facts(svc: Service, tmp_path: Path) -> str:
    first, second = FACTS.split("# Copperfield Foods")
    docs = [tmp_path / "harbor.md", tmp_path / "copperfield.md"]
    docs[0].write_text(first, encoding="utf-8")
    docs[1].write_text("# Copperfield Foods" + second, encoding="utf-8")
    svc.create_project("hl")
    for key, value in (("language", "en"), ("split.min_length", 50), ("split.max_length", 300)):
        svc.set_setting("hl", key, value)
    svc.ingest("hl", docs)
    chunks = svc.list_chunks("hl", page_size=100).items
    with svc.db.session() as s:
        for needle, q, a in QA:
            chunk = next(c for c in chunks if needle in c.text)
            s.add(DatasetItem(project_id=chunks[0].project_id, chunk_id=chunk.id, question=q, answer=a, confirmed=True, source="manual"))
    return "hl"


def _opts(**kw: object) -> BuildOptions:
    base = dict(kinds=("held_out", "key_fact"), qtypes=("open", "single_choice"), size=100, options=4, threshold=0.7, seed=1, language="en")
    base.update(kw)
    return BuildOptions(**base)  # type: ignore[arg-type]


# -- pure parts -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("reference", "question", "key", "kind"), [
    ("Harbor Light Robotics was founded in 2015 by Mira Chen.", "Who founded Harbor Light Robotics?", "Mira Chen", "name"),
    ("Harbor Light Robotics was founded in 2015 by Mira Chen.", "When was Harbor Light Robotics founded?", "2015", "date"),
    ("Revenue in 2024 was $96.5 million, up 18%.", "What was the revenue in 2024?", "$96.5 million", "amount"),
    ("毛利率为27.9%，营收12.3亿元。", "星河精密的毛利率是多少？", "27.9%", "percentage"),
    ("星河精密2025年上半年营业收入为12.3亿元。", "星河精密2025年上半年营业收入是多少？", "12.3亿元", "amount"),
    ("It has 1,200 employees.", "How many employees does it have?", "1,200", "number"),
    ("The company was very successful.", "How did it do?", None, None),
])
def test_key_facts(reference: str, question: str, key: str | None, kind: str | None) -> None:
    found = find_key(reference, question)
    assert (found.text if found else None, found.kind if found else None) == (key, kind)


def test_the_leakage_filter_drops_a_probe_identical_to_a_training_question_and_counts_it() -> None:
    trained = [Item(1, "How many shops does Copperfield Foods operate?", "Copperfield Foods operates 64 shops.", 1, 1)]
    index = LeakageIndex(i.question for i in trained)
    counts = {"built": 0, "dropped_leakage": 0, "dropped_other": 0, "per_kind": {}, "per_qtype": {}, "leaked": []}
    same = Item(2, "How many shops does Copperfield Foods operate?", "It operates 64 shops.", 2, 1)
    assert item_probes("held_out", same, same.question, {}, _opts(), index, counts, {}) == []
    assert counts["dropped_leakage"] == 1 and counts["per_kind"]["held_out"]["dropped_leakage"] == 1
    assert counts["leaked"][0]["training_question"] == trained[0].question and counts["leaked"][0]["similarity"] == 1.0
    # punctuation and case do not hide it; a real rewording passes
    assert index.leaked("how many SHOPS does Copperfield Foods operate", 0.7) is not None
    other = "In total, what number of stores are run by the Riverton grocer?"
    assert jaccard(other, trained[0].question) < 0.3 and index.leaked(other, 0.7) is None
    kept = item_probes("reworded", same, other, {}, _opts(qtypes=("open",)), index, counts, {})
    assert [p.question for p in kept] == [other] and counts["built"] == 1 and counts["dropped_leakage"] == 1


def test_choice_rotation_defeats_a_model_that_always_answers_a() -> None:
    options, answer = ("$212 million", "$48,000", "$96.5 million", "$7 million"), (2,)
    turns = rotations(options, answer)
    assert len(turns) == 4 and len({t.answer for t in turns}) == 4  # the right answer is somewhere else each time
    for turn in turns:
        assert [turn.options[i] for i in turn.answer] == ["$96.5 million"]  # still the right option
    always_a = [frozenset({0}) == frozenset(t.answer) for t in turns]  # the picks of a model that always says "A"
    assert sum(always_a) == 1 and not all(always_a)  # right once, so never counted right
    for letter in range(4):  # nor any other fixed letter
        assert sum(frozenset({letter}) == frozenset(t.answer) for t in turns) == 1
    assert len(rotations(options, answer, 2)) == 2 and len(rotations(options, answer, 9)) == 4
    multi = rotations(("a", "b", "c"), (0, 2))
    assert [t.answer for t in multi] == [(0, 2), (1, 2), (0, 1)]


def test_rendering() -> None:
    text = prompt_text("single_choice", "Q?", ["x", "y"], "en")
    assert text.splitlines() == ["Q?", "", "A. x", "B. y", "", "Answer with the letter of the correct option only."]
    assert prompt_text("open", "Q?", None, "en") == "Q?"
    assert prompt_text("true_false", "营收是38.6亿元吗？", None, "en").endswith("请只回答“对”或“错”。")


def test_key_kinds_agree_with_the_metrics() -> None:
    metrics = pytest.importorskip("loreforge.evaluate.metrics")
    pool = document_values([FACTS, "星河精密营业收入为38.6亿元，同比增长12.5%，员工3200人，成立于2008年，董事长张伟。"])
    assert {v.kind for v in pool} == {"number", "percentage", "amount", "date", "name"}
    for value in pool:
        if value.kind != "name":  # a bare name out of its sentence may read as no value
            assert metrics.key_kind(value.text) == value.kind, value


def test_distractors_are_other_values_of_the_same_kind_from_the_same_document() -> None:
    pool = document_values([FACTS])
    items = [Item(i, q, a, 1, 1) for i, (_n, q, a) in enumerate(QA)]
    built = build_offline(items, items, {1: pool}, _opts(kinds=("held_out",), qtypes=("single_choice", "multiple_choice", "true_false")),
                          LeakageIndex(), {})
    choice = [p for p in built.probes if p.options]
    assert len(choice) >= 20
    stated = {v.text: v for v in pool}
    for p in choice:
        assert p.key in [p.options[i] for i in p.answer]
        for option in p.options:
            assert option in stated  # every option is a value the document states, of the key's kind
            assert stated[option].kind == p.key_kind, (p.question, option, p.key_kind)
        if p.key_kind == "amount":  # amounts in dollars with amounts in dollars
            assert {stated[o].dimension for o in p.options} == {"USD"}
        assert len(set(p.options)) == len(p.options)
    tf = [p for p in built.probes if p.qtype == "true_false"]
    assert tf and {p.answer for p in tf} == {True, False}


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_shipped_general_sets(language: str) -> None:
    from loreforge.evaluate.probes import KEY_KINDS
    from loreforge.evaluate.probes.general import general_set

    questions = general_set(language)
    assert len(questions) >= 30 and len({g.question for g in questions}) == len(questions)
    for g in questions:
        assert g.key in g.reference and g.key_kind in KEY_KINDS, g
        assert len(set(g.distractors)) == 3 and g.key not in g.distractors, g
    with pytest.raises(UserError, match="No general probe set in that language"):
        general_set("fr")


def test_true_false_and_prompts_follow_the_questions_language() -> None:
    zh = item_probes("held_out", Item(1, "星河精密2025年上半年营业收入是多少？", "营业收入为38.6亿元。", 1, 1),
                     "星河精密2025年上半年营业收入是多少？", {1: document_values(["营业收入为38.6亿元，净利润4.12亿元，研发投入3.25亿元。"])},
                     _opts(qtypes=("true_false", "single_choice"), language="en"), LeakageIndex(), {**_empty()}, {})
    tf, choice = zh
    assert "给出的答案：" in tf.question and tf.key == "38.6亿元" and tf.key_kind == "amount"
    assert set(choice.options) == {"38.6亿元", "4.12亿元", "3.25亿元"}
    assert prompt_text("single_choice", choice.question, choice.options, "en").endswith("请只回答正确选项的字母。")


def _empty() -> dict:
    return {"built": 0, "dropped_leakage": 0, "dropped_other": 0, "per_kind": {}, "per_qtype": {}, "leaked": []}


# -- through the service --------------------------------------------------------------------------------------

def _export_questions(svc: Service, project: str, out: Path, **split: object) -> tuple[set[str], set[str]]:
    svc.export(project, out, format="alpaca", file_type="jsonl", **split)
    read = lambda name: {json.loads(line)["instruction"] for line in (out / name).read_text(encoding="utf-8").splitlines()}  # noqa: E731
    return read("train.jsonl"), read("val.jsonl")


@pytest.mark.parametrize("split", [{}, {"val_size": 0.4, "split_by": "document", "seed": 7}, {"val_size": 0.4, "seed": 3}])
def test_held_out_probes_are_exactly_the_exports_validation_split(svc: Service, facts: str, tmp_path: Path, split: dict) -> None:
    train_q, val_q = _export_questions(svc, facts, tmp_path / "export", **split)
    assert val_q and train_q
    built = svc.build_probes(facts, name="h", kinds="held-out,key-fact", qtypes="open", provider="extractive", **split)
    probes = svc.get_probe_set(facts, "h", page_size=1000).probes.items
    held = {p.question for p in probes if p.kind == "held_out"}
    assert held == val_q and not held & train_q  # never an item trained on
    keyed = {p.question for p in probes if p.kind == "key_fact"}
    assert keyed <= train_q and keyed  # key-fact probes ask trained questions on purpose
    assert built.params["trained_items"] == len(train_q) and built.params["held_out_items"] == len(val_q)
    assert all(p.provenance["split_side"] == ("val" if p.kind == "held_out" else "train") for p in probes)


def test_held_out_probe_identical_to_a_training_question_is_dropped_and_counted(svc: Service, facts: str, tmp_path: Path) -> None:
    train_q, val_q = _export_questions(svc, facts, tmp_path / "export")
    with svc.db.session() as s:  # the same question, on a chunk of the validation side
        twin = next(i for i in s.query(DatasetItem).all() if i.question in val_q)
        twin.question = sorted(train_q)[0]
    result = svc.build_probes(facts, name="leak", kinds="held-out", qtypes="open", provider="extractive")
    assert result.counts["dropped_leakage"] == 1 and result.counts["per_kind"]["held_out"]["dropped_leakage"] == 1
    assert result.counts["leaked"][0]["question"] == sorted(train_q)[0]
    assert result.probes == len(val_q) - 1


def test_general_probes_and_choice_forms(svc: Service, facts: str) -> None:
    built = svc.build_probes(facts, name="g", kinds="general", qtypes="open,short,single-choice,true-false", provider="extractive")
    page = svc.get_probe_set(facts, "g", page_size=1000, qtype="single-choice").probes
    assert built.counts["per_kind"]["general"]["available"] >= 30 and page.total >= 30
    for p in page.items:
        assert p.kind == "general" and len(p.options or []) == 4 and p.options[p.answer[0]] == p.key
    assert svc.get_probe_set(facts, "g", qtype="short").probes.items[0].reference == svc.get_probe_set(facts, "g", qtype="short").probes.items[0].key


def test_reworded_needs_an_llm(svc: Service, facts: str) -> None:
    with pytest.raises(UserError, match="Reworded probes need an LLM"):
        svc.build_probes(facts, kinds="reworded", provider="extractive")
    with pytest.raises(UserError, match="Unknown probe kind"):
        svc.build_probes(facts, kinds="held-out,trained", provider="extractive")
    assert svc.list_probe_sets(facts) == []


@pytest.fixture()
def llm(svc: Service, facts: str) -> Iterator[FakeLLM]:
    with FakeLLM(responder=reword) as fake:
        svc.add_model(facts, "custom", "fake-model", name="fake", base_url=fake.base_url, api_key="sk-test")
        yield fake


def test_reworded_probes_through_the_runner_with_leakage_counted_and_resume(svc: Service, facts: str, llm: FakeLLM,
                                                                           tmp_path: Path) -> None:
    train_q, _val = _export_questions(svc, facts, tmp_path / "export")
    leaks = sum(1 for q, new in REWORDS.items() if q == new and q in train_q)
    assert leaks == 1  # the data and the default split make "Who founded Harbor Light Robotics?" a trained question
    built = svc.build_probes(facts, name="r", qtypes="open,single-choice")
    assert "reworded" in built.kinds and built.job is not None and built.job.status == "completed"
    trained = built.params["trained_items"]
    assert built.job.total == trained == len(llm.chat_requests())
    reworded = svc.get_probe_set(facts, "r", kind="reworded", page_size=1000).probes.items
    assert reworded and all(p.source_question and p.question != p.source_question for p in reworded)
    assert all(p.provenance["prompt_name"] == "probe_reword" and p.provenance["model"] == "fake-model" for p in reworded)
    per = built.counts["per_kind"]["reworded"]
    assert per["dropped_leakage"] == leaks == built.counts["dropped_leakage"]  # dropped, and counted
    assert built.counts["leaked"][0]["question"] == "Who founded Harbor Light Robotics?"
    assert "1 rewording(s) dropped as too close to a training question" in built.job.progress["notes"]
    assert len({p.dataset_item_id for p in reworded}) == trained - leaks
    with svc.db.session() as s:
        calls = s.query(LLMCall).filter_by(stage="probe_reword").all()
        positions = [p.position for p in s.query(Probe).all()]
    assert len(calls) == trained and all(c.prompt_name == "probe_reword" and c.status == "ok" for c in calls)
    assert len(positions) == len(set(positions))
    again = svc.build_probes(facts, name="r", qtypes="open,single-choice")  # same options: resumes, nothing asked twice
    assert len(llm.chat_requests()) == trained and again.probes == built.probes
    with pytest.raises(Conflict, match="built another way"):
        svc.build_probes(facts, name="r", qtypes="open")


def test_a_failed_rewording_is_retried_as_a_job(svc: Service, facts: str, llm: FakeLLM) -> None:
    svc.set_setting(facts, "llm.max_attempts", 1)
    llm.script(Reply(status=500), Reply(text=""))  # two items fail: a server error, an empty reply
    built = svc.build_probes(facts, name="r", kinds="reworded", qtypes="open")
    assert built.job.status == "completed_with_failures" and built.job.failed == 2
    before = built.probes
    retried = svc.retry_job(built.job.id)
    assert retried.status == "completed" and retried.failed == 0
    assert svc.get_probe_set(facts, "r").set.probes >= before + 1


# -- files ----------------------------------------------------------------------------------------------------

def test_import_reports_bad_lines_and_imports_the_rest(svc: Service, facts: str, tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    lines = [
        json.dumps({"question": "How many shops does Copperfield Foods operate?", "reference": "It operates 64 shops.", "document": "copperfield.md"}),
        json.dumps({"question": "", "reference": "x"}),
        "{not json",
        json.dumps({"question": "What is the Tern?", "reference": "A warehouse robot.", "key": "warehouse robot", "tag": "products"}),
        json.dumps({"question": "Which?", "qtype": "single-choice", "options": ["a"], "answer": [0], "reference": "a"}),
        json.dumps({"question": "Where?", "reference": "Riverton", "document": "nope.md"}),
        json.dumps(["a list"]),
        json.dumps({"question": "Bad\u0000text", "reference": "r"}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = svc.import_probes(facts, path, "mine")
    assert report.imported == 2 and report.skipped == 6
    assert [i["line"] for i in report.issues] == [2, 3, 5, 6, 7, 8]
    messages = " | ".join(i["message"] for i in report.issues)
    for part in ("line 2: 'question' is missing", "line 3: invalid JSON", "line 5: a single_choice probe needs 'options'",
                 "line 6: 'document' 'nope.md' names no document", "line 7: expected an object", "line 8: 'question' holds a NUL"):
        assert part in messages, messages
    probes = svc.get_probe_set(facts, "mine").probes.items
    assert [p.kind for p in probes] == ["user", "user"] and probes[0].key == "64" and probes[0].document_id is not None
    assert probes[1].key == "warehouse robot" and probes[1].tag == "products"
    bad = tmp_path / "bad.csv"
    bad.write_text("question,reference\n,\n", encoding="utf-8")
    with pytest.raises(UserError, match="No probe in bad.csv can be imported"):
        svc.import_probes(facts, bad, "bad")
    with pytest.raises(UserError, match="expected a .jsonl or .csv file"):
        svc.import_probes(facts, path.rename(tmp_path / "mine.txt"), "txt")


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_export_then_import_round_trips(svc: Service, facts: str, tmp_path: Path, suffix: str) -> None:
    svc.build_probes(facts, name="all", qtypes="open,short,true-false,single-choice,multiple-choice", provider="extractive")
    out = tmp_path / f"all{suffix}"
    report = svc.export_probes(facts, "all", out)
    assert report.probes == svc.get_probe_set(facts, "all").set.probes
    back = svc.import_probes(facts, out, "again")
    assert back.imported == report.probes and back.skipped == 0
    fields = ("kind", "qtype", "question", "reference", "key", "key_kind", "options", "answer", "document_id", "tag", "source_question")
    original = [p.model_dump(include=set(fields)) for p in svc.get_probe_set(facts, "all", page_size=1000).probes.items]
    copied = [p.model_dump(include=set(fields)) for p in svc.get_probe_set(facts, "again", page_size=1000).probes.items]
    assert copied == original
    with pytest.raises(UserError, match="Cannot write"):
        svc.export_probes(facts, "all", out / "inside-a-file" / f"x{suffix}")
    with pytest.raises(UserError, match="Invalid probe set name"):
        svc.import_probes(facts, out, "a/b")
    if suffix == ".csv":
        rows = list(csv.DictReader(out.open(encoding="utf-8")))
        assert rows and set(rows[0]) >= {"question", "reference", "key", "document"}


# -- the shells -----------------------------------------------------------------------------------------------

def test_rest(svc: Service, facts: str, tmp_path: Path) -> None:
    from loreforge.web.app import create_app

    with TestClient(create_app(svc)) as client:
        r = client.post(f"/api/projects/{facts}/probes/build", json={"name": "api", "kinds": ["held-out", "key-fact"], "provider": "extractive"})
        assert r.status_code == 201, r.text
        assert r.json()["probes"] > 0 and r.json()["job"] is None
        assert [s["name"] for s in client.get(f"/api/projects/{facts}/probes").json()] == ["api"]
        page = client.get(f"/api/projects/{facts}/probes/api", params={"page_size": 5}).json()
        assert len(page["probes"]["items"]) == 5 and page["set"]["name"] == "api"
        down = client.get(f"/api/projects/{facts}/probes/api/export", params={"format": "jsonl"})
        assert down.status_code == 200 and len(down.text.splitlines()) == page["probes"]["total"]
        up = client.post(f"/api/projects/{facts}/probes/import", data={"name": "copy"}, files={"file": ("copy.jsonl", down.content)})
        assert up.status_code == 201 and up.json()["imported"] == page["probes"]["total"]
        bad = client.post(f"/api/projects/{facts}/probes/build", json={"kinds": ["reworded"], "provider": "extractive"})
        assert bad.status_code == 400 and "need an LLM" in bad.json()["message"]
        again = client.post(f"/api/projects/{facts}/probes/build", json={"name": "api", "kinds": ["held-out"], "provider": "extractive"})
        assert again.status_code == 409
        assert client.get(f"/api/projects/{facts}/probes/nope").status_code == 404
        assert client.delete(f"/api/projects/{facts}/probes/api").json()["detail"]["probes"] == page["probes"]["total"]


def test_cli(svc: Service, facts: str, home: Path, tmp_path: Path) -> None:
    from loreforge.cli import cli

    runner = click.testing.CliRunner()
    run = lambda *args: runner.invoke(cli, ["--home", str(home), *args])  # noqa: E731
    out = run("probes", "build", facts, "--name", "c", "--kinds", "held-out,key-fact,general", "--qtypes", "open,single-choice",
              "--provider", "extractive", "--size", "5")
    assert out.exit_code == 0, out.output
    assert "probe set" in out.output and "general: 10 probes from" in out.output
    assert "c" in run("probes", "list", facts).output
    shown = run("probes", "show", facts, "c", "--json")
    assert json.loads(shown.output)["set"]["params"]["size"] == 5
    path = tmp_path / "c.csv"
    assert run("probes", "export", facts, "c", "--out", str(path)).exit_code == 0 and path.is_file()
    imported = run("probes", "import", facts, str(path), "--name", "c2")
    assert imported.exit_code == 0 and "Imported" in imported.output
    failed = run("probes", "build", facts, "--kinds", "reworded", "--provider", "extractive")
    assert failed.exit_code == 1 and "error: Reworded probes need an LLM" in failed.output
    assert run("probes", "delete", facts, "c2", "--yes").exit_code == 0
    assert [s.name for s in svc.list_probe_sets(facts)] == ["c"]


@pytest.mark.skipif(not PG, reason="no PostgreSQL server (set LOREFORGE_TEST_DATABASE_URL; CI does)")
def test_build_and_reword_on_postgresql(tmp_path: Path) -> None:
    from sqlalchemy.engine import make_url

    from loreforge.settings import AppConfig

    assert PG is not None
    name = f"lf_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    svc = Service(AppConfig(home=tmp_path / "home", database_url=make_url(PG).set(database=name).render_as_string(hide_password=False)))
    try:
        project = make_facts(svc, tmp_path)
        with FakeLLM(responder=reword) as fake:
            svc.add_model(project, "custom", "fake-model", name="fake", base_url=fake.base_url, api_key="sk-test")
            built = svc.build_probes(project, name="pg", qtypes="open,single-choice,true-false")
        assert built.job is not None and built.job.status == "completed" and built.counts["dropped_leakage"] == 1
        assert built.probes == svc.get_probe_set(project, "pg").probes.total > 0
        out = tmp_path / "pg.jsonl"
        svc.export_probes(project, "pg", out)
        assert svc.import_probes(project, out, "pg2").imported == built.probes
        svc.delete_probe_set(project, "pg")
        svc.delete_project(project)
    finally:
        svc.close()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
