"""The one small base every action group stands on: the configuration, the database and the secrets box.

Action groups (`ProjectActions`, `QuestionActions`, ...) derive from `ServiceBase` and nothing else; what they
share lives in named helper modules — `lookups` (finding rows), `llm` (one LLM call through the runner, logged),
`stages` (launching a stage as a job), `model_configs.provider_config`, `prompts.load_prompt`. `Service`
(in `__init__`) puts the groups side by side.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loreforge.secrets import SecretBox
from loreforge.settings import AppConfig
from loreforge.store import Database

if TYPE_CHECKING:
    from loreforge.service import Service


class ServiceBase:
    """Holds the configuration and the database (opened, and migrated, on first use)."""

    def __init__(self, config: AppConfig | None = None) -> None:
        self.config = config or AppConfig.from_env()
        self._db: Database | None = None

    @property
    def db(self) -> Database:
        if self._db is None:
            self.config.home.mkdir(parents=True, exist_ok=True)
            self._db = Database(self.config.database_url)
        return self._db

    @property
    def secrets(self) -> SecretBox:
        return SecretBox(self.config.home)

    @property
    def app(self) -> Service:
        """The whole service, for the few actions that run other actions (the demo, training from a project)."""
        return self  # type: ignore[return-value]

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()
            self._db = None
