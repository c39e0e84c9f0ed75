"""The store: SQLAlchemy models, migrations and sessions."""

from loreforge.store.db import Database

__all__ = ["Database"]
