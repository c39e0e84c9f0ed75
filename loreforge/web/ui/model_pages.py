"""The pages of web UI part 2 (issue 14), the model half: Training, runs and one run live, Evaluation (probe sets,
runs, the report, two runs compared), Blind test, Chat, Serve, Environment and pipeline runs. `install` adds them
beside part 1's pages; each module is one page group over the same `Service` calls as the JSON API."""

from __future__ import annotations

from loreforge.web.ui import (
    pages_arena, pages_chat, pages_env, pages_eval, pages_pipelines, pages_runs, pages_serve, pages_train,
)

MODULES = (pages_train, pages_runs, pages_eval, pages_arena, pages_chat, pages_serve, pages_env, pages_pipelines)
