"""English questions for the extractive (no-LLM) strategy: one fact of one sentence → a natural question in
two phrasings and a short answer that names its subject (`loreforge.generate.extractive` calls it).

A question only teaches a model a fact it can recall later when it names what it is about. So instead of a
cloze of the sentence ("Its chief executive is who?"), each fact becomes:

- a **wh-question** with the subject resolved and the verb inverted — "Who is the chief executive of
  Brindle & Osk Coffee?", "How many people does Quillmark employ?", "In which year was Quillmark Instruments
  founded?", "What share of its revenue did Quillmark Instruments spend on research?";
- an **in-place** (echo) question, the second phrasing — "Quillmark employs how many people?";
- an **answer**: the fact's clause as a sentence with its subject named — "The chief executive of Brindle &
  Osk Coffee is Helena Marsh." Its figures, dates and names are the chunk's own.

How, deterministically and without a parser (`clauses`, `phrases`, `verbs`): fronted time phrases ("In 2024,
…") move to the end; the sentence is cut into clauses; the subject is the words before the first verb;
pronoun subjects become the entity the chunk is about; the fact's phrase becomes the wh-phrase; do-support
gives "did/does/do" + the verb's base form. What it cannot analyse it does not ask (None): the caller decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from loreforge.generate.english.clauses import NAME_WORD, SPLITTERS, WORD, Clause, Subjects, clause_of, unfront, verb_phrase_of
from loreforge.generate.english.phrases import Fact, Phrase, drop_trailing, phrase_of
from loreforge.generate.english.verbs import MODALS, PARTICIPLES, verb_index

_GENERIC_HEADINGS = {"company", "overview", "products", "results", "summary", "introduction", "background", "history",
                     "customers", "people", "finance", "outlook", "highlights", "contents", "appendix", "notes", "faq",
                     "q&a", "faqs", "about", "contact", "team", "news", "details", "facts"}

_FIXED_PHRASES = re.compile(r"\b(year|quarter|month) on \1\b")  # "year on year" is one adverb: keep it whole
__all__ = ["EnglishQA", "Fact", "Subjects", "english_qa", "english_what_qa", "heading_topic", "named_subject"]


@dataclass(frozen=True)
class EnglishQA:
    """Phrasings of one question (the wh-question first) and its answer sentence."""

    questions: tuple[str, ...]
    answer: str


def heading_topic(heading: str, text: str = "") -> str | None:
    """The nearest heading of a chunk's heading path ("A > B > C") that is a proper name: several capitalised
    words, or one that the chunk's text also names (a single "Sourcing" or "Products" is a section, not a name)."""
    for part in reversed([p.strip() for p in heading.split(" > ") if p.strip()]):
        words = part.split()
        if not words[0][:1].isupper() or not all(NAME_WORD.match(w) for w in words):
            continue
        if len(words) == 1 and (part.lower() in _GENERIC_HEADINGS or not re.search(rf"(?<!^)(?<![.!?]\s)\b{re.escape(part)}\b", text)):
            continue
        return part
    return None


def named_subject(sentence: str, subjects: Subjects) -> str | None:
    """The sentence's subject when it is a proper name ("Quillmark Instruments was founded …" → the name)."""
    words = [w.group() for w in WORD.finditer(unfront(" ".join(sentence.split()))[1])]
    v = verb_index(words)
    if v is None:
        return None
    subject = " ".join(words[:v]).strip(",")
    if not subjects.is_name(subject):
        return None
    return "the" + subject[3:] if subject.startswith("The ") else subject  # "the Gull-3" inside a question


def english_qa(sentence: str, fact: Fact, subjects: Subjects) -> EnglishQA | None:
    """Questions about `fact` (a span of `sentence`) and the answer; None when the sentence cannot be analysed."""
    collapsed = _FIXED_PHRASES.sub(lambda m: m.group().replace(" ", "-"), " ".join(sentence.split()))
    offsets = _collapsed_offsets(sentence, collapsed)
    text = collapsed.rstrip(".;:!")
    start, end = offsets.get(fact.start), offsets.get(fact.end)
    if start is None or end is None:
        return None
    fronted, body, shift = unfront(text)
    if start < shift:
        return None  # the fact is the fronted time phrase: asked through the sentence's other facts
    found = clause_of(body, start - shift)
    if found is None:
        return None
    piece, at = verb_phrase_of(*found)
    clause = Clause.parse(piece, subjects)
    if clause is None:
        return None
    local = at - clause.rest_offset
    phrase = phrase_of(clause, Fact(local, local + (end - start), fact.kind, fact.unit))
    if phrase is None:
        return None  # the fact is in the subject, or its phrase is not one we ask
    tail = f" {fronted}" if fronted else ""
    echo = _capital(" ".join(f"{clause.subject} {clause.verb} {phrase.echo_rest}{tail}".split())) + "?"
    questions = [q for q in (_wh_question(clause, phrase, tail), echo) if q]
    answer = _capital(f"{clause.subject} {clause.verb} {drop_trailing(clause.rest)}{tail}".strip()) + "."
    return EnglishQA(tuple(dict.fromkeys(questions)), answer)


def english_what_qa(sentence: str, subjects: Subjects) -> list[EnglishQA]:
    """For a sentence without a figure, date or name: "It makes weather buoys and coastal sensors." → "What does
    Quillmark Instruments make?" (one question per verb phrase; none when no main verb is found)."""
    text = " ".join(sentence.split()).rstrip(".;:!")
    fronted, body, _ = unfront(text)
    first = SPLITTERS.split(body, maxsplit=1)[0]
    words = list(WORD.finditer(first))
    v = verb_index([w.group() for w in words])
    if v is None or v + 1 >= len(words):
        return []
    starts = [words[v + 1].start()] + [words[v].end() + m.end() for m in re.finditer(r"\s+and\s+(?=\w+\s)", first[words[v].end():])]
    tail = f" {fronted}" if fronted else ""
    out: list[EnglishQA] = []
    for at in starts:
        clause = Clause.parse(verb_phrase_of(first, at)[0], subjects)
        if clause is None or not clause.rest.strip() or clause.verb.lower() in MODALS or "," in clause.subject:
            continue
        head = clause.rest.split()[0].lower()
        if clause.do_form is None and (head in PARTICIPLES or head.endswith("ed")):
            continue  # a passive without a figure ("… are invented for the demo"): nothing to ask
        if clause.do_form is None:
            question = f"What {clause.verb.lower()} {clause.subject}{tail}?"
        else:
            question = f"What {clause.do_form[0]} {clause.subject} {clause.do_form[1]}{tail}?"
        echo = _capital(f"{clause.subject} {clause.verb} what{tail}?")
        answer = _capital(f"{clause.subject} {clause.verb} {drop_trailing(clause.rest)}{tail}.")
        qa = EnglishQA((question, echo), answer)
        if qa not in out:
            out.append(qa)
    return out


def _collapsed_offsets(raw: str, text: str) -> dict[int, int]:
    """Offsets of `raw` mapped onto its whitespace-collapsed form `text` (every offset inside or after a word)."""
    out: dict[int, int] = {}
    pos = 0
    for m in WORD.finditer(raw):
        at = text.find(m.group(), pos)
        if at < 0:
            break
        for i in range(len(m.group()) + 1):
            out[m.start() + i] = at + i
        pos = at + len(m.group())
    return out


def _wh_question(clause: Clause, phrase: Phrase, tail: str) -> str | None:
    if phrase.who_active:
        words = phrase.before.split()
        if not words:
            return None
        return " ".join(" ".join(["Who", words[0], clause.subject, *words[1:], phrase.after]).split()) + f"{tail}?"
    if clause.do_form is None:
        parts = [phrase.wh, clause.verb.lower(), clause.subject, phrase.before, phrase.stranded, phrase.after]
    else:
        parts = [phrase.wh, clause.do_form[0], clause.subject, clause.do_form[1], phrase.before, phrase.stranded, phrase.after]
    return " ".join(" ".join(p for p in parts if p).split()) + f"{tail}?"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
