"""A fact's phrase inside a clause, as a wh-phrase (`loreforge.generate.english`): its preposition, the figure
and the noun it counts become "In which year", "Where", "Who", "How many service centres", "How much revenue",
"What share of its revenue", "By what percentage", "What … called"; the words left around it are cleaned of
other figures and names, so one question asks one fact."""

from __future__ import annotations

import re
from dataclasses import dataclass

from loreforge.generate.english.clauses import Clause
from loreforge.generate.english.verbs import CHANGE_VERBS, COPULA, DETERMINERS, PREPOSITIONS

CURRENCY = re.compile(r"EUR|USD|RMB|CNY|GBP|JPY|HKD|CHF|€|\$|£|¥")
MONEY = re.compile(r"[$€£¥]|\b(?:euros?|dollars?|yuan|pounds|francs|yen|rmb|usd|eur|cents?)\b", re.I)
PERSON_WORDS = ("executive", "founder", "chair", "ceo", "director", "head", "manager", "president", "officer",
                "owner", "leader", "chief", "partner", "engineer", "author")
_TIME = re.compile(r"(?:the\s+)?(?:(?:first|second|third|fourth)\s+(?:quarter|half)\s+of\s+)?(?:Q[1-4]\s+|H[12]\s+)?(?:19|20)\d{2}")
_STOP = PREPOSITIONS | {"and", "or", "a", "an", "the", "that", "which", "who", "each", "while", "to", "year", "quarter"}


@dataclass(frozen=True)
class Fact:
    """A fact inside a text: its character span, its kind (amount, number, date, name) and unit."""

    start: int
    end: int
    kind: str
    unit: str = ""


@dataclass(frozen=True)
class Phrase:
    wh: str  # the fronted wh-phrase ("In which year", "How many people")
    echo: str  # what stands in its place in the echo question ("in which year", "how many people")
    before: str  # the words after the verb and before the phrase (other facts removed)
    after: str  # the words after it
    who_active: bool = False  # "founded by X" asked as "Who founded S?"
    echo_before: str | None = None  # `before` of the echo question when it differs
    stranded: str = ""  # a preposition the wh-question ends with ("What does it ship with?")

    @property
    def echo_rest(self) -> str:
        before = self.before if self.echo_before is None else self.echo_before
        return " ".join(p for p in (before, self.echo, self.after) if p)

    @property
    def plain_rest(self) -> str:
        return " ".join(p for p in (self.before, self.after) if p)


def phrase_of(clause: Clause, fact: Fact) -> Phrase | None:
    """The fact's phrase in `clause` (`fact` offsets count from the start of `clause.rest`); None: not askable."""
    rest = clause.rest
    if fact.start < 0 or fact.end > len(rest):
        return None
    if "," in rest[:fact.start]:
        return None  # in a trailing comma phrase (", up 38% from ..."): the answer would not hold it
    head = rest[:fact.start].split()
    value = rest[fact.start:fact.end]
    tail = until_comma(rest[fact.end:].split())
    noun, tail = _counted_noun(fact, value, tail)
    if head and CURRENCY.fullmatch(head[-1]):  # "revenue of EUR 42.3 million": the currency stands before the figure
        head, noun = head[:-1], head[-1]
    prep = _governing_preposition(head)
    if prep:
        head = head[:len(head) - len(prep)]
    return _build(clause, fact, value, prep[0].lower() if prep else "", noun, head, tail)


def until_comma(words: list[str]) -> list[str]:
    """The words after a fact up to a comma: ", all of them on the coast" is not part of the question."""
    for i, w in enumerate(words):
        if w.endswith(","):
            return words[:i] + [w.rstrip(",")]
    return words


def _governing_preposition(head: list[str]) -> list[str]:
    """The preposition a fact's noun phrase hangs on, with the words between: ["by", "the", "oceanographer"]."""
    for back in range(0, min(3, len(head)) + 1):
        i = len(head) - back - 1
        if i < 0:
            break
        if head[i].lower() in PREPOSITIONS:
            between = head[i + 1:]
            return head[i:] if all(w.isalpha() and w.islower() for w in between) else []
        if not (head[i].isalpha() and head[i].islower()):
            break
    return []


def _counted_noun(fact: Fact, value: str, tail: list[str]) -> tuple[str, list[str]]:
    """The noun a figure counts, with its compound and an "of" complement: "14 service centres", "1,800 tonnes
    of coffee". Dates and percentages count nothing."""
    if fact.kind in ("date", "name") or "%" in value:
        return "", tail
    words: list[str] = []
    i = 0
    while i < len(tail) and len(words) < 3 and plain(tail[i]):
        words.append(tail[i])
        i += 1
    if words and not MONEY.search(words[-1]) and tail[i:i + 1] == ["of"] and i + 1 < len(tail) and plain(tail[i + 1]):
        words += ["of", tail[i + 1]]
        i += 2
    return " ".join(words), tail[i:]


def plain(word: str) -> bool:
    """A lowercase word that can be part of a noun phrase (no preposition, article or conjunction)."""
    return word.isalpha() and word.islower() and word not in _STOP


def _build(clause: Clause, fact: Fact, value: str, prep: str, noun: str, head: list[str], tail: list[str]) -> Phrase | None:
    before, after = " ".join(without_other_facts(head)), drop_trailing(" ".join(without_other_facts(tail)))
    lead = f"{prep.capitalize()} " if prep else ""
    if fact.kind == "date":
        wh = _date_wh(value, prep)
        return Phrase(wh, wh[:1].lower() + wh[1:], before, after)
    if fact.kind == "name":
        return _name_phrase(clause, prep, head, value, before, after)
    if "%" in value or "percent" in fact.unit:
        return _percent_phrase(clause, prep, head, tail, before, after)
    if MONEY.search(f"{value} {noun}") or CURRENCY.fullmatch(noun):
        if prep == "of" and head and plain(head[-1]):
            thing, kept = head[-1], [w for w in head[:-1]]
            while kept and kept[-1].lower() in DETERMINERS:
                kept.pop()
            return Phrase(f"How much {thing}", f"{thing} of how much", " ".join(without_other_facts(kept)), after,
                          echo_before=" ".join(without_other_facts(head[:-1])))
        return Phrase(f"{lead}how much" if prep else "How much", f"{prep} how much".strip(), before, after)
    if prep == "every" and noun:
        return Phrase("How often", f"every how many {noun}", before, after)
    if noun:
        return Phrase(f"{lead}how many {noun}" if prep else f"How many {noun}", f"{prep} how many {noun}".strip(), before, after)
    return None


def _date_wh(value: str, prep: str) -> str:
    if re.fullmatch(r"(?:19|20)\d{2}", value):
        return {"in": "In which year", "since": "Since when"}.get(prep, "When")
    if re.match(r"(?:Q[1-4]|H[12])\b", value) or "quarter" in value or "half" in value:
        return "In which quarter" if prep == "in" and not value.startswith("H") else "When"
    return "On what date" if prep == "on" else "When"


def _percent_phrase(clause: Clause, prep: str, head: list[str], tail: list[str], before: str, after: str) -> Phrase:
    if tail[:1] == ["of"] and len(tail) > 1:
        share = _phrase_until_prep(tail[1:])
        after = drop_trailing(" ".join(without_other_facts(tail[1 + len(share.split()):])))
        return Phrase(f"What share of {share}", f"what share of {share}", before, after)
    if prep == "by" or (not prep and clause.verb.lower() in CHANGE_VERBS and not head):
        return Phrase("By what percentage", "by what percentage", before, after)
    lead = f"{prep.capitalize()} " if prep else ""
    return Phrase(f"{lead}what percentage" if prep else "What percentage", f"{prep} what percentage".strip(), before, after)


def _name_phrase(clause: Clause, prep: str, head: list[str], value: str, before: str, after: str) -> Phrase | None:
    copula = clause.verb.lower() in COPULA
    if prep == "by":
        return Phrase("Who", "by whom", before, after, who_active=True) if copula and head else Phrase("By whom", "by whom", before, after)
    if prep in ("in", "at", "near"):
        return Phrase("Where", "where", before, after)
    if prep:
        who = _looks_like_person(clause.subject, value) and value.count(" ") >= 1
        word = "whom" if who else "what"
        return Phrase("Who" if who else "What", f"{prep} {word}", before, after, stranded=prep)
    if head and head[-1].lower() in ("called", "named") and copula:
        return Phrase("What", "what", " ".join(head), "")
    if copula and all(w.lower() in DETERMINERS or plain(w) for w in head):
        who = _looks_like_person(clause.subject, value)
        return Phrase("Who" if who else "What", "who" if who else "what", "", "")
    return None


def _looks_like_person(subject: str, value: str) -> bool:
    words = value.split()
    titled = 2 <= len(words) <= 3 and all(w[:1].isupper() for w in words) and not any(w in ("&", "No.") for w in words)
    return any(p in subject.lower() for p in PERSON_WORDS) or titled


def _phrase_until_prep(words: list[str]) -> str:
    out: list[str] = []
    for w in words:
        if out and w.lower() in PREPOSITIONS:
            break
        out.append(w.strip(","))
        if w.endswith(","):
            break
    return " ".join(out)


def without_other_facts(words: list[str]) -> list[str]:
    """Words around a fact without the other figures and names: prepositional phrases that state one go, and so
    do bare figures ("rose 21.4% to …" asked about the amount: "rose to …"); a time qualifier stays."""
    out: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        if w.lower() in PREPOSITIONS and i + 1 < len(words):
            j = i + 1
            while j < len(words) and words[j].lower() not in PREPOSITIONS and not words[j - 1].endswith(","):
                j += 1
            phrase = words[i + 1:j]
            if _TIME.fullmatch(" ".join(phrase).strip(",")) or not any(re.search(r"\d", p) or p[:1].isupper() for p in phrase):
                out.extend(words[i:j])  # a time qualifier ("in Q2 2024") is context, not another fact
            i = j
            continue
        if not re.search(r"\d", w):
            out.append(w)
        i += 1
    return out


def drop_trailing(text: str) -> str:
    """A clause without a trailing comma phrase (", all of them on the coast") or a dangling conjunction."""
    text = text.split(", ")[0] if ", " in text else text
    return re.sub(r"\s+(?:and|or|but)$", "", text.strip(" ,"))
