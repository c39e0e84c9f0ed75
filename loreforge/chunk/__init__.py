"""Chunk stage: pure splitters (markdown/TOC-aware, recursive, fixed, token, custom) and TOC extraction.

Fed by ingest (a document's Markdown); feeds generate (chunks with offsets and heading paths).
"""

from loreforge.chunk.split import SplitResult, split_text
from loreforge.chunk.toc import extract_toc

__all__ = ["SplitResult", "extract_toc", "split_text"]
