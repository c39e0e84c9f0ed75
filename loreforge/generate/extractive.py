"""The extractor behind the offline (extractive) strategy: questions and answers cut from a chunk's own
sentences, with no LLM at all (`loreforge.generate.strategies.ExtractiveStrategy` uses it).

LOWER QUALITY by design. It exists so that the whole pipeline runs offline and as the default when no
model is configured. It is not an LLM provider: it answers no prompt, it only extracts.

How it works, deterministically: the chunk is split into sentences (Chinese at 。！？；, English at . ! ? ;
followed by a space, both at line breaks); headings, tables, bylines and fragments are skipped. Sentences
are ranked facts first: amounts and percentages, then dates, then other numbers, then names (quoted terms, 《titles》,
capitalised words), then the rest, each tier in reading order. A fact becomes a cloze question — the
sentence up to the fact's clause with the figure replaced by 多少 / 何时 (how much / when) — and the answer
is the sentence itself (cut to the clauses around the fact when it is long), always a substring of the chunk.

English is asked as English is spoken (`loreforge.generate.extractive_en`): lines wrapped inside a paragraph
do not end a sentence, "No. 7" and "Dr." do not either, and each fact becomes a wh-question and an in-place
question about its named subject ("Who is the chief executive of Brindle & Osk Coffee?", "Quillmark employs
how many people?") with a short answer naming that subject; pronouns are resolved to the chunk's entity (its
nearest heading that is a name, or the last named subject). A fact it cannot ask that way is asked as a cloze.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from loreforge.settings.engine import ExtractiveSettings

FactKind = Literal["amount", "date", "number", "name"]
_TIERS: dict[str, int] = {"amount": 0, "date": 1, "number": 2, "name": 3}

_SENTENCE_END = re.compile(r"[。！？；!?;]+[”」』\"’）)]*|\.(?=\s|$)[”\"’)]*|\n+")
# English: a line break inside a paragraph is a space; a sentence ends at . ! ? ; (not after an abbreviation or
# an initial), at a blank line, or before a line that starts a block (heading, list item, table, quote).
_SENTENCE_END_EN = re.compile(
    r"(?<!\bNo)(?<!\bNos)(?<!\bMr)(?<!\bMrs)(?<!\bMs)(?<!\bDr)(?<!\bSt)(?<!\bInc)(?<!\bLtd)(?<!\bCo)(?<!\bCorp)"
    r"(?<!\bvs)(?<!\be\.g)(?<!\bi\.e)(?<!\bapprox)(?<!\b[A-Z])\.(?=\s|$)[”\"’)]*|[!?;]+[”\"’)]*"
    r"|\n(?=[^\S\n]*(?:\n|[#>|*+-]|\d{1,3}[.)]\s))"
)
_LEAD_JUNK = " \t\u3000#>*-+|•·"
_DATE = re.compile(
    r"\d{4}\s*年(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?)?(?:第?[一二三四1-4]季度)?"
    r"|\d{1,2}\s*月\s*\d{1,2}\s*日|\d{4}-\d{1,2}-\d{1,2}"
    r"|(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2}(?:,\s*\d{4})?"
    r"|\b(?:Q[1-4]|H[12])\s*\d{4}\b|\b(?:19|20)\d{2}\b"
)
_UNIT = (
    r"%|％|个百分点|万亿元|亿美元|万美元|亿港元|亿元|万元|千元|美元|港元|元|亿|万|倍|家|个|款|单|人|户|台|次|笔"
    r"|\s?(?:percent|per cent|percentage points?|billion|million|thousand|bps)\b"
)
_AMOUNT = re.compile(r"(?:约|近|超|逾|超过)?[$¥€£]?\d[\d,]*(?:\.\d+)?(?P<unit>" + _UNIT + r")?")
_NAME = re.compile(r"“[^”]{2,20}”|《[^》]{1,30}》|「[^」]{2,20}」|\b[A-Z][a-zA-Z]+(?:\s+[A-Z][a-zA-Z]+)+\b")
# English names: capitalised words (joined by "&", "of", "and" between two names), a "No. 7" suffix; a single
# capitalised word counts unless it starts the sentence.
_NAME_EN = re.compile(
    r"\b[A-Z][\w'’-]*(?:[ \t]*\n?[ \t]+(?:No\.\s*\d+|(?:&\s+|of\s+|and\s+(?=[A-Z]))?[A-Z][\w'’-]*))*"
)
_CLAUSE = re.compile(r"[，：:]|,(?!\d{3})")
_UNCLOSED = re.compile(r"[（(][^）)]*$")
_PAREN = re.compile(r"（[^（）]*）|\([^()]*\)")


@dataclass(frozen=True)
class ExtractedQA:
    """One extracted pair. `answer` and `evidence` (the whole sentence) are substrings of the chunk text."""

    question: str
    answer: str
    evidence: str
    start: int  # offset of `answer` in the chunk text
    fact: str  # the figure, date or name asked about ("" for a sentence without one)


@dataclass(frozen=True)
class _Fact:
    kind: FactKind
    start: int  # relative to the sentence
    end: int
    unit: str


@dataclass(frozen=True)
class _Sentence:
    start: int  # in the chunk
    text: str
    facts: tuple[_Fact, ...]

    @property
    def tier(self) -> int:
        return min((_TIERS[f.kind] for f in self.facts), default=len(_TIERS))


def _sentences(text: str, settings: ExtractiveSettings, language: str = "zh") -> list[_Sentence]:
    out: list[_Sentence] = []
    begin = 0
    ends = _SENTENCE_END_EN if language == "en" else _SENTENCE_END
    for match in ends.finditer(text + "\n\n"):
        raw_end = min(match.end(), len(text))
        start, end = begin, min(match.start(), len(text)) if match.group().startswith("\n") else raw_end
        begin = raw_end
        while start < end and (text[start] in _LEAD_JUNK or text[start].isspace()):
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        piece = text[start:end]
        if len(piece) < settings.min_sentence_chars or "**" in piece or "|" in piece:
            continue
        line_start = text.rfind("\n", 0, start) + 1
        if text[line_start:start].lstrip().startswith("#") or piece.lstrip().startswith("#"):
            continue  # a heading
        terminated = piece[-1] in "。！？；!?;.”\"’）)"
        if not terminated and len(piece) < 2 * settings.max_lead_chars:
            continue  # a title, byline or fragment
        out.append(_Sentence(start, piece, _facts(piece, language)))
    return out


def _facts(sentence: str, language: str = "zh") -> tuple[_Fact, ...]:
    facts: list[_Fact] = []
    taken = [False] * len(sentence)
    for m in _DATE.finditer(sentence):
        facts.append(_Fact("date", m.start(), m.end(), ""))
        taken[m.start():m.end()] = [True] * (m.end() - m.start())
    names = list((_NAME_EN if language == "en" else _NAME).finditer(sentence))
    in_name = [False] * len(sentence)
    if language == "en":
        for m in names:
            if "No." in m.group():
                in_name[m.start():m.end()] = [True] * (m.end() - m.start())
    for m in _AMOUNT.finditer(sentence):
        if any(taken[m.start():m.end()]) or any(in_name[m.start():m.end()]):
            continue
        if language == "en" and _glued(sentence, m.start(), m.end()):
            continue  # a model name ("Gull-3", "A320", "COVID-19"), not a figure
        unit = (m.group("unit") or "").strip()
        facts.append(_Fact("amount" if unit else "number", m.start(), m.end(), unit))
        taken[m.start():m.end()] = [True] * (m.end() - m.start())
    for m in names:
        if language == "en" and (m.start() == 0 or any(taken[m.start():m.end()]) or re.fullmatch(r"[A-Z]{1,3}", m.group())):
            continue  # a sentence's first word, a figure's unit, an acronym
        facts.append(_Fact("name", m.start(), m.end(), ""))
    facts.sort(key=lambda f: (_TIERS[f.kind], f.start))
    return tuple(facts)


def _glued(sentence: str, start: int, end: int) -> bool:
    """A number glued to letters, directly or by a hyphen: part of a name."""
    before = sentence[max(0, start - 2):start]
    after = sentence[end:end + 1]
    return bool(re.search(r"[A-Za-z]-?\Z", before)) or after.isalpha()


def _clause_start(sentence: str, at: int) -> int:
    """Start of the clause (between ， , ： :) holding position `at`."""
    start = 0
    for m in _CLAUSE.finditer(sentence, 0, at):
        start = m.end()
    return start


def _clause_end(sentence: str, at: int) -> int:
    """End of the clause that position `at` is in (the next separator, or the sentence's end)."""
    m = _CLAUSE.search(sentence, at)
    return m.start() if m else len(sentence.rstrip("。！？；!?;.”\"’）)"))


def _lead(text: str, language: str, settings: ExtractiveSettings) -> str:
    lead = _PAREN.sub("", text[: _clause_end(text, 0)]).strip()
    if language == "zh":
        return lead[: settings.max_lead_chars]
    return " ".join(lead.split()[: settings.max_lead_words])


def _question(s: _Sentence, fact: _Fact | None, language: str, settings: ExtractiveSettings) -> str:
    text = s.text
    if fact is None or fact.kind == "name":
        lead = _lead(text, language, settings)
        return f"{lead}——具体情况如何？" if language == "zh" else f"What do we know about: {lead}?"
    c_start, c_end = _clause_start(text, fact.start), _clause_end(text, fact.end)
    if len((text[c_start:fact.start] + text[fact.end:c_end]).strip()) < 4:
        c_end = _clause_end(text, min(c_end + 1, len(text)))  # too little left to ask: take the next clause
    clause = (text[c_start:fact.start] + _blank(fact, language) + text[fact.end:c_end]).strip()
    head = text[:c_start]
    first_end = _clause_end(text, 0)
    if len(head) > settings.max_lead_chars and c_start > first_end + 1:
        head = text[:first_end] + ("，…，" if language == "zh" else ", …, ")
    if language != "zh" and head and not head.endswith(" "):
        head += " "
    question = _UNCLOSED.sub("", _PAREN.sub("", head + clause)).strip(" ，,：:")
    if language == "zh":
        return question + "？"
    return question[:1].upper() + question[1:] + "?"


def _blank(fact: _Fact, language: str) -> str:
    if fact.kind == "date":
        return "何时" if language == "zh" else "when"
    if language == "zh":
        return "多少" if fact.unit in ("%", "％", "") else "多少" + fact.unit
    if fact.unit in ("%", "％") or "percent" in fact.unit:
        return "what percentage"
    return "how many" if not fact.unit else "how much"


def _answer(s: _Sentence, fact: _Fact | None, settings: ExtractiveSettings) -> tuple[str, int]:
    """The sentence, or for a long one the clauses around the fact, as (text, offset in the sentence)."""
    if len(s.text) <= settings.max_answer_chars or fact is None:
        return s.text, 0
    bounds = [0] + [m.end() for m in _CLAUSE.finditer(s.text)] + [len(s.text)]
    i = max(k for k in range(len(bounds) - 1) if bounds[k] <= fact.start)
    lo, hi = i, i + 1
    while lo > 0 and bounds[hi] - bounds[lo - 1] <= settings.max_answer_chars:
        lo -= 1
    while hi < len(bounds) - 1 and bounds[hi + 1] - bounds[lo] <= settings.max_answer_chars:
        hi += 1
    piece = s.text[bounds[lo]:bounds[hi]]
    stripped = piece.rstrip(" ，,：:")
    return stripped, bounds[lo]


class Extractor:
    """No LLM: deterministic extractive questions and answers. Lower quality — see the module docstring."""

    def __init__(self, settings: ExtractiveSettings) -> None:
        self._settings = settings

    def __repr__(self) -> str:
        return "Extractor()"

    def extract_questions(self, chunk_text: str, n: int, language: str, heading: str = "") -> list[ExtractedQA]:
        """Up to `n` question/answer pairs from `chunk_text`, facts first, in a deterministic order. `heading`
        (the chunk's heading path) names what an English chunk is about when its sentences say "it"."""
        sentences = _sentences(chunk_text, self._settings, language)
        out: list[ExtractedQA] = []
        subjects: dict[int, Any] = {}
        if language == "en":
            faq, answered = _faq_pairs(chunk_text, sentences)
            out.extend(faq[:n])
            sentences = [s for s in sentences if s.start not in answered and not s.text.rstrip().endswith("?")]
            subjects = _subjects(chunk_text, sentences, heading)
        ranked = sorted(sentences, key=lambda s: (s.tier, s.start))
        rounds = max((len(s.facts) for s in ranked), default=0)
        seen: set[str] = {qa.question for qa in out}
        fallback: list[tuple[_Sentence, _Fact | None]] = []
        for r in range(max(rounds, 1)):
            for s in ranked:
                if len(out) >= n:
                    return out
                if r >= max(len(s.facts), 1):
                    continue
                fact = s.facts[r] if s.facts else None
                if r > 0 and fact is not None and fact.kind == "name" and language != "en":
                    continue
                asked = _english(s, fact, subjects[s.start]) if language == "en" else None
                if asked is None and language == "en":
                    fallback.append((s, fact))  # a cloze reads badly in English: only if nothing else is asked
                    continue
                if asked is None:
                    asked = [(_question(s, fact, language, self._settings), *_answer(s, fact, self._settings))]
                for question, answer, offset in asked:
                    if question in seen or len(out) >= n:
                        continue
                    seen.add(question)
                    fact_text = s.text[fact.start:fact.end] if fact else ""
                    out.append(ExtractedQA(question, answer, s.text, s.start + offset, fact_text))
        for s, fact in fallback[:n] if not out else []:
            question = " ".join(_question(s, fact, language, self._settings).split())
            answer, offset = _answer(s, fact, self._settings)
            out.append(ExtractedQA(question, answer, s.text, s.start + offset, s.text[fact.start:fact.end] if fact else ""))
        return out


def _english(s: _Sentence, fact: _Fact | None, subjects: Any) -> list[tuple[str, str, int]] | None:
    """(question, answer, answer offset) for one fact of one English sentence; [] when it is not asked (a name in
    the subject, a fronted date: the sentence's other facts ask it); None: asked as a cloze."""
    from loreforge.generate.english import Fact, english_qa, english_what_qa

    if fact is None:
        return [(q, qa.answer, 0) for qa in english_what_qa(s.text, subjects) for q in qa.questions] or None
    qa = english_qa(s.text, Fact(fact.start, fact.end, fact.kind, fact.unit), subjects)
    if qa is not None:
        return [(q, qa.answer, 0) for q in qa.questions]
    if fact.kind == "name" or (fact.kind == "date" and fact.start < 12):
        return []
    return None


def _subjects(chunk_text: str, sentences: list[_Sentence], heading: str) -> dict[int, Any]:
    """What each English sentence's subjects refer to (`english.Subjects`): pronouns to the last named subject
    before it, else the chunk's nearest heading that is a name; bare "The X" to that heading."""
    from loreforge.generate.english import Subjects, heading_topic, named_subject

    topic = heading_topic(heading, chunk_text)
    names = [m.group() for m in _NAME_EN.finditer(f"{heading}\n\n{chunk_text}") if " " in m.group()]
    words = frozenset(w for name in names + [p for p in heading.split(" > ")] for w in name.split() if w[:1].isupper())
    current = Subjects(topic, topic, words)
    out: dict[int, Any] = {}
    for s in sorted(sentences, key=lambda x: x.start):
        named = named_subject(s.text, current)
        if named:
            current = Subjects(named, topic, words)
        out[s.start] = current
    return out


_QUESTION_HEADING = re.compile(r"^#{1,6}[ \t]+(.+\?)[ \t]*$", re.M)


def _faq_pairs(chunk_text: str, sentences: list[_Sentence]) -> tuple[list[ExtractedQA], set[int]]:
    """An FAQ's own pairs: a question — a sentence, or a heading — and the sentences after it in its paragraph (up
    to two, up to the next question) as the answer. Returns the pairs and the starts of the answer sentences."""
    headings = [_Sentence(m.start(1), m.group(1), ()) for m in _QUESTION_HEADING.finditer(chunk_text)]
    ordered = sorted(sentences + headings, key=lambda s: s.start)
    pairs: list[ExtractedQA] = []
    answered: set[int] = set()
    for i, s in enumerate(ordered):
        if not s.text.rstrip().endswith("?"):
            continue
        parts: list[_Sentence] = []
        end = s.start + len(s.text)
        for nxt in ordered[i + 1:i + 3]:
            between = chunk_text[end:nxt.start]
            if nxt.text.rstrip().endswith("?") or ("\n\n" in between and (parts or s not in headings)):
                break
            parts.append(nxt)
            end = nxt.start + len(nxt.text)
        if parts:
            begin = s.start + len(s.text)
            begin += len(chunk_text[begin:parts[0].start]) - len(chunk_text[begin:parts[0].start].lstrip())
            span = chunk_text[begin:end]  # from right after the question: a short "Yes." opens the answer too
            pairs.append(ExtractedQA(" ".join(s.text.split()), " ".join(span.split()), span, begin, ""))
            answered.update(p.start for p in parts)
    return pairs, answered
