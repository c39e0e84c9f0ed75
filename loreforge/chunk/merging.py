"""Finishing the packer's raw chunks: join short chunks with a neighbour, then set heading paths.

Fed by `packer.py`; the result is what `split_text` returns. After `merge_short`, a chunk shorter than
min_length is one that cannot be joined with the chunk before it nor the chunk after it without exceeding
max_length (or the only chunk of a short document). Joining only removes cuts, so every other property of the
chunks (offsets, carried headers, overlap with the chunk before) is kept.
"""

from __future__ import annotations

from dataclasses import replace

from loreforge.chunk.layout import Layout
from loreforge.chunk.toc import HeadingTrail
from loreforge.records import ChunkSpan


def _joined_len(first: ChunkSpan, second: ChunkSpan) -> int:
    return len(first.carried) + second.end - first.start


def _join(first: ChunkSpan, second: ChunkSpan, text: str) -> ChunkSpan:
    body = text[first.start : second.end]
    return ChunkSpan(first.carried + body, first.start, second.end, first.heading_path, first.overlap, first.carried)


def merge_short(chunks: list[ChunkSpan], text: str, min_len: int, max_len: int) -> list[ChunkSpan]:
    """Join every chunk shorter than `min_len` with a neighbour when the result fits in `max_len`."""
    out: list[ChunkSpan] = []
    for chunk in chunks:
        current = chunk
        while out and (len(out[-1].text) < min_len or len(current.text) < min_len):
            if _joined_len(out[-1], current) > max_len:
                break
            current = _join(out.pop(), current, text)
        out.append(current)
    return out


def with_heading_paths(chunks: list[ChunkSpan], layout: Layout) -> list[ChunkSpan]:
    """Give each chunk the path of headings in force at its start (a heading starting there included)."""
    trail = HeadingTrail(layout)
    return [replace(chunk, heading_path=trail.path_at(chunk.start)) for chunk in chunks]
