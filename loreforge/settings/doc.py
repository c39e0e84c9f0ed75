"""Render docs/settings.md from the settings model, so the documentation cannot drift from the defaults.

    python -m loreforge.settings.doc > docs/settings.md
"""

from __future__ import annotations

import json

from loreforge.settings import describe

HEADER = """# Settings

Per-project task settings. A project stores only the keys it changes; everything else takes the default
below. `loreforge settings show PROJECT` prints the effective value of each key and where it comes from
(`default` or `project`); `loreforge settings set PROJECT KEY VALUE` changes one (lists as JSON, `none` for
an empty optional value), and `loreforge settings reset PROJECT KEY` drops the project's value. A bad value
is refused with an error naming the key and the allowed values, and nothing is stored. The defaults live in
one place, `loreforge/settings/` (generated from it: `python -m loreforge.settings.doc > docs/settings.md`).

| key | default | allowed | meaning |
|---|---|---|---|
"""

FOOTER = """
Environment (not per project):

| variable | default | meaning |
|---|---|---|
| `LOREFORGE_HOME` | `~/.loreforge` | where the database and project files live (`--home` on the CLI) |
| `LOREFORGE_DATABASE_URL` | `sqlite:///$LOREFORGE_HOME/loreforge.db` | SQLAlchemy URL; `postgresql+psycopg://...` for PostgreSQL (`pip install 'loreforge[postgres]'`) |
| `LOREFORGE_SECRET_KEY` | a key generated into `$LOREFORGE_HOME/secret.key` | Fernet key that encrypts stored API keys |
"""


SERVER_HEADER = """
Server (`loreforge serve`; a flag of the same name wins, see [security.md](security.md)):

| variable | default | meaning |
|---|---|---|
"""


def _server_rows() -> list[str]:
    from loreforge.settings.server import ENV, ServerSettings

    rows = []
    for field, (var, _split) in ENV.items():
        info = ServerSettings.model_fields[field]
        default = info.default
        shown = "none" if default in (None, ()) else ", ".join(map(str, default)) if isinstance(default, tuple) else str(default)
        rows.append(f"| `{var}` | `{shown}` | {info.description} |")
    return rows


def settings_markdown() -> str:
    rows = []
    for r in describe({}):
        default = json.dumps(r.default, ensure_ascii=False)
        rows.append(f"| `{r.key}` | `{default}` | {r.allowed.replace('|', '/')} | {r.description} |")
    return HEADER + "\n".join(rows) + "\n" + FOOTER + SERVER_HEADER + "\n".join(_server_rows()) + "\n"


if __name__ == "__main__":
    print(settings_markdown(), end="")
