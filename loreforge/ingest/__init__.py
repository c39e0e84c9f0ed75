"""The ingest stage: uploaded files (txt, md, html, docx, pdf, epub) → LoadedDocument (Markdown + facts).

The service layer stages an upload under `safe_filename(name)` in a private folder (`storage`: unique
temporary files, hashing while copying, publishing by atomic rename), and calls
`load(path, filename=original_name, limits=project.ingest)`; the chunk stage takes it from there. One module per
format (text, html, docx, pdf, epub) plus shared helpers (textdecode, tables, zipguard, document, storage).
"""

from loreforge.ingest.loader import SUPPORTED_EXTENSIONS, check_size, format_for, load
from loreforge.ingest.names import content_hash, safe_filename

__all__ = ["SUPPORTED_EXTENSIONS", "check_size", "content_hash", "format_for", "load", "safe_filename"]
