"""Sentences into clauses for the English question builder (`loreforge.generate.english`): a fronted time
phrase moved aside ("In 2024, …"), the clause holding a fact (", and …", "; …", ", who …", a second verb after
"and"), and a clause's subject (resolved: "It", "Its buoys", "the company" name what the chunk is about),
verb and the words after the verb."""

from __future__ import annotations

import re
from dataclasses import dataclass

from loreforge.generate.english.verbs import DETERMINERS, HAVE, PREPOSITIONS, do_support, is_verb_form, verb_index

WORD = re.compile(r"\S+")
NAME_WORD = re.compile(r"^(?:[A-Z][\w'’.-]*|&|of|and|the|de|van|von|No\.?|\d+)$")
PRONOUN_SUBJECTS = frozenset({"it", "they", "the company", "the firm", "the group", "the business"})
_FRONTED = re.compile(
    r"^(?P<p>In|On|During|Since|As of|By|For|Throughout|Over)\s+(?P<d>(?:the\s+)?(?:(?:first|second|third|fourth)\s+"
    r"(?:quarter|half)\s+of\s+)?(?:(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2},?\s+)?"
    r"(?:Q[1-4]\s+|H[12]\s+)?(?:19|20)\d{2}(?:\s+(?:financial|fiscal)\s+year)?)\s*,?\s+"
)
SPLITTERS = re.compile(r",\s+(?:and|but|while|whereas)\s+|;\s+|,\s+(?=(?:who|which)\s)")


@dataclass(frozen=True)
class Subjects:
    """What a sentence's subjects may refer to: `entity` for pronouns ("It", "Its buoys": the last named
    subject, else the chunk's topic), `topic` (the chunk's nearest heading that is a name) for bare definite
    subjects ("The warranty" → "the warranty of Harbor Light Robotics"), and `name_words` (words of the chunk's
    proper names) to tell a name at the start of a sentence from a capitalised common word."""

    entity: str | None = None
    topic: str | None = None
    name_words: frozenset[str] = frozenset()

    def is_name(self, phrase: str) -> bool:
        """A proper name: capitalised words ("Quillmark Instruments", "Brindle & Osk"), or "The" and one ("The
        Tern", "The Gull-3"); a single word must be one the chunk's names use (not a sentence's first word)."""
        words = phrase.split()
        if len(words) >= 2 and words[0] == "The" and all(NAME_WORD.match(w) and w[:1].isupper() for w in words[1:]):
            return True
        if not words or not all(NAME_WORD.match(w) for w in words) or words[0].lower() in DETERMINERS:
            return False
        return len([w for w in words if w[:1].isupper()]) >= 2 or words[0] in self.name_words


def unfront(text: str) -> tuple[str, str, int]:
    """("in 2024", the rest, where the rest starts) for a sentence opening with a time phrase; else ("", text, 0)."""
    m = _FRONTED.match(text)
    if not m or not text[m.end():m.end() + 1].strip():
        return "", text, 0
    return f"{m.group('p').lower()} {m.group('d')}", text[m.end():], m.end()


def clause_of(body: str, at: int) -> tuple[str, int] | None:
    """The clause of `body` holding offset `at`, and `at` within it. A relative clause gets its antecedent as
    its subject: "…Dario Pellegrin, who took over in 2020" → "Dario Pellegrin took over in 2020"; "…the research
    team, which has 85 engineers" → "the research team has 85 engineers"."""
    bounds = list(SPLITTERS.finditer(body))
    starts = [0] + [m.end() for m in bounds]
    i = max(k for k, s in enumerate(starts) if s <= at)
    end = next((m.start() for m in bounds if m.start() >= starts[i]), len(body))
    piece, local = body[starts[i]:end], at - starts[i]
    rel = re.match(r"(who|which)\s+", piece)
    if not rel:
        first = piece.split()[0].lower() if piece.split() else ""
        if i > 0 and (is_verb_form(first) or first in HAVE):  # ", and employed 215 people": the first clause's subject
            words = body[:bounds[0].start()].split()
            v = verb_index(words)
            if v:
                subject = " ".join(words[:v])
                return f"{subject} {piece}", local + len(subject) + 1
        return piece, local
    antecedent = _antecedent(body[:starts[i]].rstrip(", ").split(), rel.group(1))
    if not antecedent:
        return None
    return f"{antecedent} {piece[rel.end():]}", local - rel.end() + len(antecedent) + 1


def _antecedent(words: list[str], pronoun: str) -> str:
    """The noun phrase a relative pronoun refers to: the name before "who", the determiner phrase before "which"."""
    if pronoun == "who":
        name: list[str] = []
        for w in reversed(words):
            if not w[:1].isupper():
                break
            name.insert(0, w)
        return " ".join(name)
    for back in range(1, min(5, len(words)) + 1):
        if words[-back].lower() in DETERMINERS:
            return " ".join(words[-back:])
    return ""


def verb_phrase_of(piece: str, at: int) -> tuple[str, int]:
    """ "Quillmark employs 346 people and runs 3 factories": a fact after the second verb is asked of
    "Quillmark runs 3 factories"; a fact before it of "Quillmark employs 346 people"."""
    words = list(WORD.finditer(piece))
    v = verb_index([w.group() for w in words])
    if v is None:
        return piece, at
    for m in re.finditer(r"(?:,\s+(?:and\s+)?|\s+and\s+)(\w+)", piece[words[v].end():]):
        second = m.group(1)
        if second.lower() in DETERMINERS or verb_index(["x", second]) != 1:
            continue
        cut, verb_at = words[v].end() + m.start(), words[v].end() + m.start(1)
        if at < cut:
            return piece[:cut], at
        subject = piece[:words[v].start()].rstrip()
        return verb_phrase_of(f"{subject} {piece[verb_at:]}", at - verb_at + len(subject) + 1)
    return piece, at


@dataclass(frozen=True)
class Clause:
    subject: str  # resolved, as it stands inside a question ("the buoys of Quillmark Instruments")
    verb: str
    rest: str  # the words after the verb
    rest_offset: int  # where `rest` starts in the clause text as given
    do_form: tuple[str, str] | None  # ("did", "spend") for do-support; None: the verb inverts

    @classmethod
    def parse(cls, text: str, subjects: Subjects) -> Clause | None:
        words = list(WORD.finditer(text))
        v = verb_index([w.group() for w in words])
        if v is None or v == 0:
            return None
        subject = resolve(text[:words[v].start()].strip(), subjects)
        if subject is None:
            return None
        verb = words[v].group().strip(",")
        rest_offset = words[v + 1].start() if v + 1 < len(words) else len(text)
        rest = text[rest_offset:]
        return cls(subject, verb, rest, rest_offset, do_support(verb, rest))


def resolve(subject: str, subjects: Subjects) -> str | None:
    """The subject as it reads inside a question, pronouns named; None when a pronoun has nothing to name."""
    low = subject.lower()
    if low in PRONOUN_SUBJECTS:
        return subjects.entity
    for pronoun in ("its ", "their "):
        if low.startswith(pronoun):
            if not subjects.entity:
                return None
            head, prep, more = _split_at_preposition(subject[len(pronoun):])
            return f"the {head} of {subjects.entity}" + (f" {prep} {more}" if prep else "")
    words = subject.split()
    if subjects.topic and low.startswith("the ") and " of " not in low and not any(w[:1].isupper() for w in words[1:]):
        head, prep, more = _split_at_preposition(subject[4:])
        return f"the {head} of {subjects.topic}" + (f" {prep} {more}" if prep else "")
    if words and words[0].lower() in DETERMINERS:
        return words[0].lower() + subject[len(words[0]):]
    if words and not subjects.is_name(subject) and words[0] not in subjects.name_words:
        return subject[:1].lower() + subject[1:]  # "Revenue rose" → "did revenue rise"
    return subject


def _split_at_preposition(phrase: str) -> tuple[str, str, str]:
    """ "roastery in Lake Hesper" → ("roastery", "in", "Lake Hesper")."""
    words = phrase.split()
    for i, w in enumerate(words[1:], 1):
        if w.lower() in PREPOSITIONS:
            return " ".join(words[:i]), w, " ".join(words[i + 1:])
    return phrase, "", ""
