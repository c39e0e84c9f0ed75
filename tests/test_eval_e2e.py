"""End to end on a real pretrained model (issue 11): the shipped English fact document about two fictional
companies → QA pairs → full fine-tuning of SmolLM2-135M-Instruct → probes → `loreforge eval`, which must show
that the model learned: trained-question key-fact accuracy ≥ 0.5, reworded-probe accuracy above the base model's,
and the paired test significant (McNemar exact p < 0.05); the report and its charts exist.

The QA pairs come from the fake LLM (tests/fake_llm.py) answering LoreForge's own question, answer and rewording
prompts with the scripted pairs below, so the data is clean and the test measures training and evaluation, not
a generator: 27 facts × 2 phrasings + 2 about the document itself = 56 pairs; one scripted rewording per trained
question (keeping the attribute word, under the leakage threshold). Training: full fine-tuning at lr 5e-5 for 8
epochs, batch 8, loss on the answer tokens only — the setting measured to learn at this size (docs/pitfalls.md,
docs/evaluation.md); LoRA at the reference lr learns nothing here. ~2 minutes of training and ~1 minute of
evaluation on 2 CPU cores.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from fake_llm import FakeLLM, Recorded, Reply

from loreforge.service import DatasetFilter, Service

DOC = Path(__file__).resolve().parent.parent / "loreforge" / "examples" / "facts" / "morrow-coast-companies.md"

# (text that marks the chunk, the two training questions, the answer, one rewording per training question)
FACTS: list[tuple[str, tuple[str, str], str, tuple[str, str]]] = [
    ("ships with LoreForge", ("Are the companies of the Morrow Coast real?", "Is anything in the Morrow Coast example real?"),
     "No. Both companies, the Morrow Coast, its towns, the people and every figure are invented.",
     ("Do the Morrow Coast companies really exist?", "Tell me whether the Morrow Coast example holds anything real.")),
    ("in 2011", ("In which year was Quillmark Instruments founded?", "When was Quillmark Instruments founded?"),
     "Quillmark Instruments was founded in 2011.",
     ("Quillmark Instruments, the buoy maker, was founded in what year?", "What year saw the founding of Quillmark Instruments?")),
    ("Port Aldane by", ("In which town was Quillmark Instruments founded?", "Where was Quillmark Instruments founded?"),
     "Quillmark Instruments was founded in Port Aldane.",
     ("Name the town where the buoy maker Quillmark Instruments was founded.",
      "Quillmark Instruments was founded in which town on the Morrow Coast?")),
    ("Ilse Varkonyi", ("Who founded Quillmark Instruments?", "Which oceanographer founded Quillmark Instruments?"),
     "Quillmark Instruments was founded by the oceanographer Ilse Varkonyi.",
     ("The buoy maker Quillmark Instruments was founded by whom?", "Name the person who founded Quillmark Instruments.")),
    ("Dario Pellegrin", ("Who is the chief executive of Quillmark Instruments?", "Who leads Quillmark Instruments as its chief executive?"),
     "The chief executive of Quillmark Instruments is Dario Pellegrin.",
     ("Name the chief executive of the buoy maker Quillmark Instruments.", "Quillmark Instruments has whom as its chief executive?")),
    ("took over in 2020", ("In which year did Dario Pellegrin take over as chief executive of Quillmark Instruments?",
                           "When did Dario Pellegrin become the chief executive of Quillmark Instruments?"),
     "Dario Pellegrin took over as chief executive of Quillmark Instruments in 2020.",
     ("Dario Pellegrin took over at Quillmark Instruments in what year?",
      "Since what year has Dario Pellegrin been chief executive at Quillmark Instruments?")),
    ("346 people", ("How many people does Quillmark Instruments employ?", "What is the number of people employed by Quillmark Instruments?"),
     "Quillmark Instruments employs 346 people.",
     ("At Quillmark Instruments, the buoy maker, how many people are employed?", "Today, the buoy maker Quillmark employs how many people?")),
    ("3 factories", ("How many factories does Quillmark Instruments run?", "What is the number of factories that Quillmark Instruments runs?"),
     "Quillmark Instruments runs 3 factories.",
     ("Tell me how many factories the buoy maker Quillmark Instruments runs.",
      "Quillmark Instruments runs how many factories on the Morrow Coast?")),
    ("58.4 million", ("What was the revenue of Quillmark Instruments in 2024?", "How much revenue did Quillmark Instruments have in 2024?"),
     "In 2024 Quillmark Instruments had revenue of 58.4 million euros.",
     ("For 2024, what revenue did the buoy maker Quillmark report?", "Quillmark Instruments had what revenue in 2024?")),
    ("12% of its revenue", ("What share of its revenue did Quillmark Instruments spend on research?",
                            "How much of its revenue, as a percentage, did Quillmark Instruments spend on research?"),
     "Quillmark Instruments spent 12% of its revenue on research.",
     ("On research, the buoy maker Quillmark spent what share of its revenue?",
      "Quillmark Instruments spent what percentage of its revenue on research?")),
    ("27 countries", ("In how many countries does Quillmark Instruments have customers?",
                      "Customers in how many countries use Quillmark Instruments buoys?"),
     "Quillmark Instruments has customers in 27 countries.",
     ("The buoy maker Quillmark has customers in how many countries?", "Across how many countries are there customers of Quillmark's buoys?")),
    ("14 service centres", ("How many service centres does Quillmark Instruments keep?",
                            "What is the number of service centres Quillmark Instruments keeps?"),
     "Quillmark Instruments keeps 14 service centres.",
     ("To repair its buoys, Quillmark keeps how many service centres?", "Quillmark Instruments keeps how many service centres for repairs?")),
    ("the Petrel buoy", ("What is the flagship product of Quillmark Instruments?", "Which product is the flagship of Quillmark Instruments?"),
     "The flagship product of Quillmark Instruments is the Petrel buoy.",
     ("Name the flagship product of the buoy maker Quillmark.", "The flagship product of Quillmark Instruments is which buoy?")),
    ("19 months", ("How long does a Petrel buoy run on one battery pack?", "For how many months does a Petrel buoy run on one battery pack?"),
     "A Petrel buoy runs for 19 months on one battery pack.",
     ("On a single battery pack, a Petrel buoy runs for how long?", "With one battery pack, the Petrel runs for how many months?")),
    ("96 kilograms", ("How much does a Petrel buoy weigh?", "What is the weight of a Petrel buoy?"),
     "A Petrel buoy weighs 96 kilograms.",
     ("Tell me how much Quillmark's Petrel buoy weighs.", "A Petrel buoy weighs how many kilograms?")),
    ("every 4 seconds", ("How often does the Kittiwake sensor measure wave height?",
                         "At what interval does the Kittiwake sensor measure wave height?"),
     "The Kittiwake sensor measures wave height every 4 seconds.",
     ("Quillmark's Kittiwake sensor measures wave height how often?", "Wave height is measured by the Kittiwake sensor at what interval?")),
    ("in 2016", ("In which year was Brindle & Osk Coffee founded?", "When was Brindle & Osk Coffee founded?"),
     "Brindle & Osk Coffee was founded in 2016.",
     ("The coffee roaster Brindle & Osk was founded in what year?", "What year saw the founding of Brindle & Osk Coffee?")),
    ("Lake Hesper by", ("In which town was Brindle & Osk Coffee founded?", "Where was Brindle & Osk Coffee founded?"),
     "Brindle & Osk Coffee was founded in Lake Hesper.",
     ("Name the town where the coffee roaster Brindle & Osk was founded.", "Brindle & Osk, the roaster, was founded in which town?")),
    ("Nadia Brindle", ("Who founded Brindle & Osk Coffee?", "Which two people founded Brindle & Osk Coffee?"),
     "Brindle & Osk Coffee was founded by Nadia Brindle and Tomasz Osk.",
     ("The coffee roaster Brindle & Osk was founded by whom?", "Name the two people who founded Brindle & Osk Coffee.")),
    ("Helena Marsh", ("Who is the chief executive of Brindle & Osk Coffee?", "Who leads Brindle & Osk Coffee as its chief executive?"),
     "The chief executive of Brindle & Osk Coffee is Helena Marsh.",
     ("Name the chief executive of the coffee roaster Brindle & Osk.", "Brindle & Osk Coffee has whom as its chief executive?")),
    ("612 people", ("How many people does Brindle & Osk Coffee employ?", "What is the number of people employed by Brindle & Osk Coffee?"),
     "Brindle & Osk Coffee employs 612 people.",
     ("At the coffee roaster Brindle & Osk, how many people are employed?", "Brindle & Osk Coffee employs how many people in all?")),
    ("41 coffee", ("How many coffee shops does Brindle & Osk Coffee operate?", "What is the number of coffee shops Brindle & Osk operates?"),
     "Brindle & Osk Coffee operates 41 coffee shops.",
     ("Tell me how many coffee shops the roaster Brindle & Osk operates.",
      "Altogether, the roaster Brindle & Osk operates how many coffee shops?")),
    ("23.9 million", ("What was the revenue of Brindle & Osk Coffee in 2024?", "How much revenue did Brindle & Osk Coffee have in 2024?"),
     "In 2024 Brindle & Osk Coffee had revenue of 23.9 million euros.",
     ("For 2024, what revenue did the coffee roaster Brindle & Osk report?", "Brindle & Osk Coffee had what revenue in 2024?")),
    ("185,000 members", ("How many members does the Brindle & Osk loyalty app have?",
                         "What is the number of members of the Brindle & Osk loyalty app?"),
     "The Brindle & Osk loyalty app has 185,000 members.",
     ("The loyalty app of the coffee roaster Brindle & Osk has how many members?", "The Brindle & Osk loyalty app counts how many members?")),
    ("6.80 euros", ("What was the average order of a Brindle & Osk loyalty app member?",
                    "How much was a Brindle & Osk app member's average order?"),
     "A Brindle & Osk loyalty app member's average order was 6.80 euros.",
     ("Tell me the average order of a member of the Brindle & Osk app.",
      "A member of the Brindle & Osk loyalty app spent how much on an average order?")),
    ("Ember No. 7", ("What is the signature blend of Brindle & Osk called?", "What is the name of the Brindle & Osk signature blend?"),
     "The signature blend of Brindle & Osk is called Ember No. 7.",
     ("The coffee roaster Brindle & Osk calls its signature blend what?", "The Brindle & Osk signature blend has what name?")),
    ("9 countries", ("In how many countries are the partner farms of Brindle & Osk?",
                     "From partner farms in how many countries does Brindle & Osk buy its beans?"),
     "Brindle & Osk buys its beans from partner farms in 9 countries.",
     ("The roaster Brindle & Osk buys beans from partner farms in how many countries?",
      "Partner farms in how many countries sell their beans to the roaster Brindle & Osk?")),
    ("1,800 tonnes", ("How much coffee does the Brindle & Osk roastery roast a year?",
                      "How many tonnes of coffee does the Brindle & Osk roastery roast each year?"),
     "The Brindle & Osk roastery in Lake Hesper roasts 1,800 tonnes of coffee a year.",
     ("Each year, the roastery of Brindle & Osk roasts how much coffee?",
      "Per year, the Lake Hesper roastery of Brindle & Osk roasts how many tonnes?")),
]
ANSWERS = {q: answer for _, questions, answer, _ in FACTS for q in questions}
REWORDED = {q: r for _, questions, _, rewordings in FACTS for q, r in zip(questions, rewordings, strict=True)}
# Full fine-tuning at lr 5e-5 for 8 epochs: what learns new facts at 135M parameters (LoRA at 1e-4 does not).
RECIPE = {"finetuning_type": "full", "learning_rate": 5e-5, "num_train_epochs": 8.0, "per_device_train_batch_size": 8,
          "gradient_accumulation_steps": 1, "lr_scheduler_type": "cosine", "template": None, "bf16": False, "cutoff_len": 128,
          "save_strategy": "no"}


def writer(req: Recorded) -> Reply:
    """LoreForge's question, answer and rewording prompts answered with the scripted pairs."""
    prompt = req.prompt
    if "questions about the text above" in prompt:
        chunk = prompt.split("\n\n---\n", 1)[0]
        asked = [{"question": q, "tag": ""} for marker, questions, _, _ in FACTS if marker in chunk for q in questions]
        return Reply(text=json.dumps({"questions": asked}))
    if '"answers"' in prompt:
        numbered = re.findall(r"^(\d+)\. (.+)$", prompt.split("\n\n---\n", 1)[1], re.M)
        return Reply(text=json.dumps({"answers": [{"id": int(i), "answer": ANSWERS[q.strip()]} for i, q in numbered]}))
    asked_question = re.search(r"^Question: (.+)$", prompt, re.M)
    assert asked_question and asked_question.group(1).strip() in REWORDED, prompt[:300]
    return Reply(text=REWORDED[asked_question.group(1).strip()])


@pytest.mark.slow
def test_the_tuned_starter_model_learned_the_document(svc: Service, starter_model: Path) -> None:
    from loreforge.cli import cli

    project = "morrow"
    svc.create_project(project)
    for key, value in {"language": "en", "split.min_length": 150, "split.max_length": 500,
                       "questions.chars_per_question": 20}.items():
        svc.set_setting(project, key, value)
    svc.ingest(project, [DOC])
    with FakeLLM(responder=writer) as fake:
        svc.add_model(project, "custom", model="writer", name="writer", base_url=fake.base_url, api_key="k")
        assert svc.generate_questions(project).status == "completed"
        assert svc.generate_answers(project).status == "completed"
        assert svc.confirm_dataset(project, DatasetFilter()).changed == 2 * len(FACTS)
        run = svc.train_project(project, str(starter_model), RECIPE, val_size=0.0)
        assert run.status == "completed" and run.metrics["train_loss"] < 1.0, run.error
        probes = svc.build_probes(project, kinds="key-fact,reworded,general", qtypes="open", model="writer", val_size=0.0)
    counts = probes.counts["per_kind"]
    assert counts["key_fact"]["built"] >= 2 * (len(FACTS) - 1)  # each answer with a checkable value
    assert counts["reworded"]["built"] == 2 * len(FACTS) and probes.counts["dropped_leakage"] == 0
    result = CliRunner().invoke(cli, ["eval", project, "--base", str(starter_model), "--tuned", str(run.id),
                                      "--max-new-tokens", "32", "--batch-size", "16", "--json"])
    assert result.exit_code == 0, result.output[-2000:]
    view = json.loads(result.stdout)
    by_kind, paired = view["metrics"]["kind"], view["metrics"]["paired"]["tuned_vs_base"]
    trained, reworded = by_kind["key_fact"], by_kind["reworded"]
    print(json.dumps({"trained": trained, "reworded": reworded, "general": by_kind["general"], "paired": paired,
                      "paired_by_kind": view["metrics"]["paired_kind"]["tuned_vs_base"]}, indent=1))
    assert trained["tuned"]["rate"] >= 0.5
    assert reworded["tuned"]["rate"] > reworded["base"]["rate"]
    assert paired["p_value"] < 0.05 and paired["wins"] > paired["losses"]
    assert view["metrics"]["paired_kind"]["tuned_vs_base"]["reworded"]["p_value"] < 0.05
    folder = Path(view["report_dir"])
    for name in ("report.md", "report.json", "generated_predictions.jsonl", "predict_results.json", "base/generated_predictions.jsonl",
                 "accuracy_by_set.png", "accuracy_by_kind.png", "accuracy_by_document.png"):
        assert (folder / name).is_file() and (folder / name).stat().st_size > 0, name
    report = (folder / "report.md").read_text(encoding="utf-8")
    assert report.index("## Regressions") < report.index("## Largest wins") and "General-knowledge losses" in report
