"""LoreForge: teach an open LLM the knowledge in your documents, and prove that it learned it."""

__version__ = "0.1.0"
