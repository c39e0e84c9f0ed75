"""The retrieval baseline of an evaluation run (`loreforge eval --rag`): the project's chunks indexed with BM25
(Okapi, `rank_bm25`), the top-k chunks for each probe put in the base model's prompt. It answers the question a
user must ask before fine-tuning: would putting the documents in the prompt already do? Fed by the chunk stage
(the chunks' text) and the probes; used by `loreforge.evaluate.answering`.

Tokens: Latin letters and digits as lower-case words; Chinese text cut by jieba (search mode, so that a long
word also yields its parts). A probe's lettered options are not part of the query (the question is).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from loreforge.errors import MissingDependency, UserError

_WORD = re.compile(r"[0-9a-z]+(?:[.,][0-9]+)*")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def tokens(text: str) -> list[str]:
    """BM25 tokens of `text`: lower-case Latin words and numbers, jieba's words for runs of Chinese."""
    import jieba  # type: ignore[import-untyped]

    jieba.setLogLevel(logging.WARNING)
    lowered = text.lower()
    out = _WORD.findall(_HAN.sub(" ", lowered))
    for run in _HAN.findall(lowered):
        out += [w for w in jieba.lcut_for_search(run) if w.strip()]
    return out


@dataclass(frozen=True)
class Passage:
    """A chunk as retrieval sees it."""

    chunk_id: int
    document: str
    text: str


class ChunkIndex:
    """BM25 over a project's chunks; `top(query, k)` gives the k best passages, best first."""

    def __init__(self, passages: Sequence[Passage]) -> None:
        if not passages:
            raise UserError("The retrieval baseline needs the project's chunks", got="a project without chunks",
                            hint="Split the documents first (`loreforge split PROJECT`), or leave --rag out")
        try:
            from rank_bm25 import BM25Okapi  # type: ignore[import-untyped]
        except ImportError:
            raise MissingDependency("rank-bm25", purpose="the retrieval baseline (--rag)") from None
        self.passages = list(passages)
        corpus = [tokens(p.text) or ["\0"] for p in self.passages]  # rank_bm25 divides by the average length
        self._bm25: Any = BM25Okapi(corpus)

    def top(self, query: str, k: int) -> list[Passage]:
        if k < 1:
            raise UserError("The retrieval baseline needs at least one chunk per probe", expected="k >= 1", got=str(k))
        words = tokens(query)
        if not words:
            return self.passages[:k]
        scores = self._bm25.get_scores(words)
        order = sorted(range(len(self.passages)), key=lambda i: (-float(scores[i]), i))
        return [self.passages[i] for i in order[:k]]


def context_text(passages: Sequence[Passage]) -> str:
    """The passages as the RAG prompt shows them: numbered, each with its document's name."""
    return "\n\n".join(f"[{i}] ({p.document})\n{p.text.strip()}" for i, p in enumerate(passages, 1))
