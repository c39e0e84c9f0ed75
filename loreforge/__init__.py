"""LoreForge: teach an open LLM the knowledge in your documents, and prove that it learned it.

The public Python API::

    from loreforge import Service
    svc = Service()                       # LOREFORGE_HOME / LOREFORGE_DATABASE_URL, or Service(AppConfig(...))
    svc.create_project("finance")
    svc.ingest("finance", ["report.pdf", "notes.md"])
    svc.list_chunks("finance", page_size=20)

Names are imported lazily so that `import loreforge` (and the CLI's start-up) stays light.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Service": "loreforge.service",
    "Source": "loreforge.service",
    "open_service": "loreforge.service",
    "AppConfig": "loreforge.settings",
    "ProjectSettings": "loreforge.settings",
    "LoreForgeError": "loreforge.errors",
    "UserError": "loreforge.errors",
    "NotFound": "loreforge.errors",
    "ConfigError": "loreforge.errors",
    "IngestError": "loreforge.errors",
    "split_text": "loreforge.chunk",
    "extract_toc": "loreforge.chunk",
    "load_document": "loreforge.ingest",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'loreforge' has no attribute {name!r}")
    import importlib

    attr = "load" if name == "load_document" else name
    return getattr(importlib.import_module(module), attr)
