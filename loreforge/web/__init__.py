"""The web shell: FastAPI routes (JSON under /api, OpenAPI docs at /docs) over the service layer."""

from loreforge.web.app import create_app

__all__ = ["create_app"]
