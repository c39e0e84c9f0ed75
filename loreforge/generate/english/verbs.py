"""English verbs for the extractive question builder (`loreforge.generate.english`): which word of a clause is
its verb, and how the verb inverts ("is" → "is S …?") or takes do-support ("spent" → "did S spend …?").

Word lists, not a tagger: auxiliaries and modals, an irregular past table, -s / -ed suffix rules with the
common exceptions (nouns in -s that follow no determiner, "its", "news", ...)."""

from __future__ import annotations

import re

COPULA = frozenset({"is", "are", "was", "were"})
HAVE = frozenset({"has", "have", "had"})
MODALS = frozenset({"will", "would", "can", "could", "may", "might", "shall", "should", "must", "does", "do", "did"})
PREPOSITIONS = frozenset({"in", "on", "at", "by", "for", "from", "to", "of", "with", "over", "under", "since", "during",
                          "across", "per", "into", "after", "before", "between", "through", "about", "every", "within",
                          "than", "near", "outside", "inside"})
DETERMINERS = frozenset({"the", "a", "an", "its", "their", "his", "her", "our", "your", "this", "that", "these", "those",
                         "each", "every", "all", "some", "no", "any", "one", "two", "three", "other", "another"})
CHANGE_VERBS = frozenset({"rose", "rise", "rises", "risen", "grew", "grow", "grows", "grown", "increased", "increase",
                          "increases", "decreased", "decrease", "decreases", "fell", "fall", "falls", "fallen",
                          "declined", "decline", "declines", "dropped", "drop", "drops", "climbed", "climb", "climbs",
                          "jumped", "jump", "jumps", "gained", "gain", "gains", "shrank", "shrink", "shrinks"})
_NOT_VERBS = frozenset({"its", "his", "this", "as", "us", "yes", "news", "series", "less", "across", "plus", "thus",
                        "always", "perhaps", "whereas", "sales", "earnings", "means", "bus", "gas", "status", "analysis",
                        "basis", "process", "success", "business", "address", "class", "mass", "towns", "times", "items",
                        "terms", "units", "points", "goods", "parts", "products", "shares", "costs", "years", "months",
                        "days", "hours", "weeks", "sometimes", "various", "previous", "customers", "members", "people"})
IRREGULAR_PAST = {
    "spent": "spend", "ran": "run", "made": "make", "sold": "sell", "took": "take", "grew": "grow", "rose": "rise",
    "fell": "fall", "bought": "buy", "built": "build", "kept": "keep", "paid": "pay", "won": "win", "led": "lead",
    "became": "become", "began": "begin", "brought": "bring", "gave": "give", "got": "get", "held": "hold",
    "left": "leave", "lost": "lose", "met": "meet", "said": "say", "saw": "see", "sent": "send", "stood": "stand",
    "told": "tell", "thought": "think", "went": "go", "wrote": "write", "came": "come", "drew": "draw",
    "drove": "drive", "fed": "feed", "found": "find", "chose": "choose", "shrank": "shrink", "sank": "sink",
    "hired": "hire", "raised": "raise", "used": "use", "served": "serve", "produced": "produce",
    "increased": "increase", "decreased": "decrease", "reduced": "reduce", "opened": "open", "closed": "close",
    "acquired": "acquire", "moved": "move", "received": "receive", "achieved": "achieve", "released": "release",
    "introduced": "introduce", "operated": "operate", "created": "create", "declined": "decline", "priced": "price",
    "employed": "employ", "measured": "measure", "shipped": "ship", "planned": "plan", "stopped": "stop",
}
# Plural subjects take the base form: "Service plans include ...". After a noun in -s, one of these is the verb.
BASE_VERBS = frozenset({"include", "provide", "cover", "offer", "use", "need", "require", "allow", "make", "run", "take",
                        "give", "show", "contain", "support", "cost", "come", "work", "help", "reach", "serve", "keep",
                        "last", "stay", "remain", "get", "have", "say", "buy", "sell", "pay", "receive", "account"})
PARTICIPLES = frozenset({"been", "grown", "risen", "fallen", "sold", "made", "taken", "built", "kept", "paid", "won",
                         "led", "become", "begun", "brought", "given", "gotten", "held", "left", "lost", "met", "said",
                         "seen", "sent", "told", "thought", "gone", "written", "come", "drawn", "driven", "fed", "found",
                         "spent", "run", "bought", "chosen", "called", "named", "known", "shrunk"})


def verb_index(words: list[str]) -> int | None:
    """Index of the finite verb of a clause given as words (never the first word: that is the subject). A past
    participle followed by a preposition with an auxiliary later ("A dashboard hosted in Frankfurt is optional")
    modifies the subject: the auxiliary is the verb."""
    for i in range(1, len(words)):
        raw = words[i]
        w = raw.strip(",").lower()
        prev = words[i - 1].strip(",").lower()
        if w in COPULA or w in HAVE or w in MODALS:
            return i
        if raw[:1].isupper() or prev in DETERMINERS or prev in PREPOSITIONS or not w.isalpha():
            continue
        if is_verb_form(w):
            if i + 1 < len(words) and words[i + 1].strip(",").lower() in BASE_VERBS and w.endswith("s"):
                return i + 1  # "plans include": a plural noun, then its verb
            later = _later_auxiliary(words, i)
            return later if later is not None and (w.endswith("ed") or w in PARTICIPLES) and _next_is_preposition(words, i) else i
    return None


def _next_is_preposition(words: list[str], i: int) -> bool:
    return i + 1 < len(words) and words[i + 1].strip(",").lower() in PREPOSITIONS


def _later_auxiliary(words: list[str], i: int) -> int | None:
    for j in range(i + 2, len(words)):
        if words[j].strip(",").lower() in COPULA | MODALS or words[j].strip(",").lower() in HAVE:
            return j
    return None


def is_verb_form(w: str) -> bool:
    """A past form, or a present form in -s, of a word that is not a known noun in -s."""
    if w in IRREGULAR_PAST or (w.endswith("ed") and len(w) > 4):
        return True
    return w.endswith("s") and len(w) > 3 and w not in _NOT_VERBS and not w.endswith(("ss", "ous", "ics"))


def do_support(verb: str, rest: str) -> tuple[str, str] | None:
    """("did", "spend") when the verb needs do-support; None when it inverts itself (be, modals, perfect have)."""
    low = verb.lower()
    if low in COPULA or low in MODALS:
        return None
    if low in HAVE:
        nxt = rest.split()[0].lower() if rest.split() else ""
        if nxt in PARTICIPLES or nxt.endswith("ed"):
            return None  # an auxiliary: invert it
        return ("did" if low == "had" else "does" if low == "has" else "do"), "have"
    if low in IRREGULAR_PAST:
        return "did", IRREGULAR_PAST[low]
    if low.endswith("ed"):
        return "did", past_base(low)
    if low.endswith("s"):
        return "does", present_base(low)
    return "do", low


def present_base(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if re.search(r"(?:ss|sh|ch|x|z|o)es$", word):
        return word[:-2]
    return word[:-1]


def past_base(word: str) -> str:
    stem = word[:-2]
    if word.endswith("ied"):
        return word[:-3] + "y"
    if len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "lsfz":
        return stem[:-1]
    if re.search(r"(?:[^aeiou][aeiou][cgsvz]|[aeiou]{2}[cgsvz]|at|ir|ur|[^aeiou]l|dg|uc)$", stem):
        return stem + "e"
    return stem
