"""The offline generator's English questions (loreforge.generate.english): each fact of a sentence becomes a
wh-question and an in-place question about its named subject, with a short answer naming that subject.

Table-driven on sentences of the kinds business documents hold (copula, passive with agent and place, counts,
money, shares, changes, relative clauses, coordinated verbs, fronted dates), then on the shipped Morrow Coast
document through the extractive strategy as the pipeline runs it (heading paths from the real splitter), and on
an FAQ. Every answer's figures, dates and names must be in the chunk or its headings (the grounding check)."""

from __future__ import annotations

from pathlib import Path

import pytest

from loreforge.generate.extractive import Extractor
from loreforge.review import check_grounding
from loreforge.settings import SplitSettings
from loreforge.settings.engine import ExtractiveSettings

EXTRACTOR = Extractor(ExtractiveSettings())
DOC = Path(__file__).resolve().parent.parent / "loreforge" / "examples" / "facts" / "morrow-coast-companies.md"


def asked(chunk: str, heading: str = "") -> dict[str, str]:
    return {qa.question: qa.answer for qa in EXTRACTOR.extract_questions(chunk, 50, "en", heading)}


@pytest.mark.parametrize(("chunk", "heading", "question", "answer"), [
    ("Its chief executive is Helena Marsh.", "Brindle & Osk Coffee > Company",
     "Who is the chief executive of Brindle & Osk Coffee?", "The chief executive of Brindle & Osk Coffee is Helena Marsh."),
    ("Quillmark employs 346 people and runs 3 factories, all of them on the Morrow Coast.", "Quillmark Instruments",
     "How many factories does Quillmark run?", "Quillmark runs 3 factories."),
    ("Quillmark employs 346 people and runs 3 factories.", "Quillmark Instruments",
     "How many people does Quillmark employ?", "Quillmark employs 346 people."),
    ("Quillmark Instruments was founded in 2011 in Port Aldane by the oceanographer Ilse Varkonyi.", "",
     "In which year was Quillmark Instruments founded?",
     "Quillmark Instruments was founded in 2011 in Port Aldane by the oceanographer Ilse Varkonyi."),
    ("Quillmark Instruments was founded in 2011 in Port Aldane by the oceanographer Ilse Varkonyi.", "",
     "Who founded Quillmark Instruments in 2011?", None),
    ("Quillmark Instruments was founded in 2011 in Port Aldane by the oceanographer Ilse Varkonyi.", "",
     "Quillmark Instruments was founded in 2011 where?", None),
    ("In 2024 Quillmark Instruments had revenue of 58.4 million euros.", "",
     "How much revenue did Quillmark Instruments have in 2024?", "Quillmark Instruments had revenue of 58.4 million euros in 2024."),
    ("It spent 12% of its revenue on research.", "Quillmark Instruments > Results",
     "What share of its revenue did Quillmark Instruments spend on research?", "Quillmark Instruments spent 12% of its revenue on research."),
    ("Its buoys are used by customers in 27 countries, and the company keeps 14 service centres to repair them.",
     "Quillmark Instruments", "How many service centres does Quillmark Instruments keep to repair them?",
     "Quillmark Instruments keeps 14 service centres to repair them."),
    ("Its buoys are used by customers in 27 countries, and the company keeps 14 service centres.", "Quillmark Instruments",
     "In how many countries are the buoys of Quillmark Instruments used by customers?",
     "The buoys of Quillmark Instruments are used by customers in 27 countries."),
    ("The smaller Kittiwake sensor measures wave height every 4 seconds.", "",
     "How often does the smaller Kittiwake sensor measure wave height?", None),
    ("The signature blend of Brindle & Osk is called Ember No. 7.", "",
     "What is the signature blend of Brindle & Osk called?", "The signature blend of Brindle & Osk is called Ember No. 7."),
    ("The flagship product is the Petrel buoy.", "Quillmark Instruments > Products",
     "What is the flagship product of Quillmark Instruments?", "The flagship product of Quillmark Instruments is the Petrel buoy."),
    ("Its chief executive is Dario Pellegrin, who took over in 2020.", "Quillmark Instruments",
     "In which year did Dario Pellegrin take over?", "Dario Pellegrin took over in 2020."),
    ("Its roastery in Lake Hesper roasts 1,800 tonnes of coffee a year.", "Brindle & Osk Coffee",
     "How many tonnes of coffee does the roastery of Brindle & Osk Coffee in Lake Hesper roast a year?", None),
    ("Net profit increased by 35.8% year on year to 4.12 billion yuan.", "",
     "By what percentage did net profit increase year-on-year?", "Net profit increased by 35.8% year-on-year to 4.12 billion yuan."),
    ("Revenue rose 21.4% to $38.6 billion in Q2 2024.", "", "To how much did revenue rise in Q2 2024?", None),
    ("Harbor Light Robotics has shipped 12,000 units since 2019.", "",
     "How many units has Harbor Light Robotics shipped since 2019?", "Harbor Light Robotics has shipped 12,000 units since 2019."),
    ("Dr. Mei Chen leads the research team, which has 85 engineers.", "",
     "How many engineers does the research team have?", "The research team has 85 engineers."),
    ("It makes weather buoys and coastal sensors.", "Quillmark Instruments > Company",
     "What does Quillmark Instruments make?", "Quillmark Instruments makes weather buoys and coastal sensors."),
    ("The board approved a dividend of 0.85 yuan per share.", "Harbor Light Robotics",
     "How much dividend did the board of Harbor Light Robotics approve per share?", None),
    ("In the 2024 financial year it had revenue of EUR 42.3 million, up 38% from EUR 30.7 million in 2023.",
     "Harbor Light Robotics", "How much revenue did Harbor Light Robotics have in the 2024 financial year?",
     "Harbor Light Robotics had revenue of EUR 42.3 million in the 2024 financial year."),
    ("Harbor Light Robotics sells robots, and employed 215 people.", "",
     "How many people did Harbor Light Robotics employ?", "Harbor Light Robotics employed 215 people."),
    ("The Gull-3 climbs booms. It weighs 14.5 kg, runs for 6 hours on one battery and detects cracks down to 0.8 mm.", "",
     "For how many hours does the Gull-3 run on one battery?", "The Gull-3 runs for 6 hours on one battery."),
    ("Service plans include a guaranteed replacement within 72 hours.", "",
     "Within how many hours do service plans include a guaranteed replacement?", None),
])
def test_a_fact_becomes_a_question_about_its_named_subject(chunk: str, heading: str, question: str, answer: str | None) -> None:
    pairs = asked(chunk, heading)
    assert question in pairs, sorted(pairs)
    if answer is not None:
        assert pairs[question] == answer
    for text in pairs.values():
        assert check_grounding(text, f"{heading}\n{chunk}").ok, text


def test_a_pronoun_with_nothing_to_name_is_not_guessed() -> None:
    pairs = asked("It employs 40 people.")
    assert not any(q.startswith("How many people does") for q in pairs)


def test_an_faq_question_is_asked_with_its_answer() -> None:
    chunk = "How long does the battery last? It lasts 9 hours on a full charge.\n\nOur robots can lift 25 kilograms."
    pairs = asked(chunk, "Harbor Light Robotics > FAQ")
    assert pairs["How long does the battery last?"] == "It lasts 9 hours on a full charge."
    assert "How many kilograms can our robots lift?" in pairs
    assert not any("It lasts how many" in q for q in pairs)


def test_lines_wrapped_inside_a_paragraph_do_not_end_sentences() -> None:
    chunk = "The signature blend of Brindle & Osk is called Ember No. 7. The company buys its\nbeans from partner farms in\n9 countries."
    pairs = asked(chunk, "Brindle & Osk Coffee > Sourcing")
    assert pairs["In how many countries does Brindle & Osk Coffee buy its beans from partner farms?"] == (
        "Brindle & Osk Coffee buys its beans from partner farms in 9 countries.")


def test_the_shipped_document_asks_every_fact_as_the_pipeline_splits_it() -> None:
    """Through the real splitter (heading paths), with the demo recipe's chunk sizes: every one of the document's
    figures is asked, by a question naming its company or product, and every answer is grounded."""
    from loreforge.chunk import split_text

    text = DOC.read_text(encoding="utf-8")
    chunks = split_text(text, SplitSettings(min_length=150, max_length=500)).chunks
    questions: dict[str, str] = {}
    for c in chunks:
        for qa in EXTRACTOR.extract_questions(c.text, 40, "en", c.heading):
            assert check_grounding(qa.answer, f"{c.heading}\n{c.text}").ok, qa
            questions[qa.question] = qa.answer
    answers = " ".join(questions.values())
    for figure in ("2011", "2020", "346", "58.4 million", "12%", "27 countries", "14 service", "19 months", "96 kilograms",
                   "every 4 seconds", "2016", "612", "41 coffee", "23.9 million", "185,000", "6.80", "Ember No. 7",
                   "9 countries", "1,800", "Ilse Varkonyi", "Port Aldane", "Lake Hesper", "Nadia Brindle", "Helena Marsh",
                   "Dario Pellegrin", "Petrel buoy"):
        assert figure in answers, figure
    assert not [q for q in questions if q.lower().startswith(("it ", "its ", "what do we know"))], sorted(questions)
    assert "How many people does Brindle & Osk employ?" in questions
    assert "What is the flagship product of Quillmark Instruments?" in questions


def test_what_is_not_a_fact_is_not_asked() -> None:
    """A number inside a model name, a figure in a trailing comma phrase the answer drops, a passive sentence
    without a figure: none becomes a question."""
    pairs = asked("The Gull-3 is a robot. In 2024 it had revenue of EUR 42.3 million, up 38% from EUR 30.7 million in 2023. "
                  "The company, its products and all figures are invented for the demo.", "Harbor Light Robotics")
    assert not [q for q in pairs if "Gull-how" in q or "percentage" in q or "are invented" in q or "What are" in q], sorted(pairs)


def test_a_question_heading_and_its_paragraph_are_a_pair() -> None:
    chunk = "### Can the Gull-3 work in rain?\n\nYes. The Gull-3 is rated IP67 and operates in winds up to 15 m/s.\n\n### Next"
    pairs = asked(chunk, "Harbor Light Robotics > FAQ")
    assert pairs["Can the Gull-3 work in rain?"] == "Yes. The Gull-3 is rated IP67 and operates in winds up to 15 m/s."
