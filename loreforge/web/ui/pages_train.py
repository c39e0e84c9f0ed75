"""Page: Training — a form pre-filled with the reference recipe (the chosen LLaMA Factory bundle's `train_lora.yaml`
of the project's confirmed dataset), each field's help from the config model; "preview YAML" (exactly what
`loreforge train` runs: `preview_train`, downloadable); load a LLaMA Factory / LLaMA Board YAML into the form;
export the confirmed dataset as a new bundle; start — a background worker runs it (`train`), so closing the tab or
reloading changes nothing — then the Run page follows it. JSON twin: GET /api/runs?project=P; the API's own
routes: POST /api/train/preview, POST /api/train."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from loreforge.errors import LoreForgeError, UserError
from loreforge.store.models import utcnow
from loreforge.web.deps import RUNS_DIR, project_dir, svc, write_path
from loreforge.web.routes_training import _guarded as guarded_config
from loreforge.web.ui import train_form
from loreforge.web.ui.common import go, number, page, tr
from loreforge.web.ui.render import html, project_url

router = APIRouter()
TRAIN_YAML = "train_lora.yaml"
MAX_YAML_BYTES = 1 << 20


def bundles(folder: Path) -> list[dict[str, Any]]:
    """The project's LLaMA Factory bundles (exports holding train_lora.yaml), newest first, with their counts."""
    out = []
    for path in (folder / "exports").glob(f"*/{TRAIN_YAML}"):
        try:
            manifest = json.loads((path.parent / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            manifest = {}
        out.append({"name": path.parent.name, "path": str(path.parent), "created": str(manifest.get("created_at", "")),
                    "counts": manifest.get("counts") or {}})
    return sorted(out, key=lambda b: (b["created"], b["name"]), reverse=True)


def _bundle_config(folder: Path, name: str | None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The chosen bundle's train_lora.yaml (the newest bundle's when none is named), or the reference recipe."""
    found = bundles(folder)
    chosen = next((b for b in found if b["name"] == name), found[0] if found and name is None else None)
    if chosen is None:
        return train_form.reference_recipe(), None
    config = train_form.read_yaml_text((Path(chosen["path"]) / TRAIN_YAML).read_text(encoding="utf-8"), TRAIN_YAML)
    config["model_name_or_path"] = ""  # the bundle's placeholder: the user names the base model
    return config, chosen


def _defaults(request: Request, project: str, config: dict[str, Any]) -> dict[str, Any]:
    """A new run's own folder under the project's runs, and the token count for tokens/s."""
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    out = dict(config)
    out["output_dir"] = str(project_dir(request, project, RUNS_DIR, stamp))
    out.setdefault(train_form.TOKENS_KEY, train_form.TOKENS_VALUE)
    return out


def _known_models(request: Request, project: str) -> list[str]:
    """Base models this store has trained from, newest first, for the model field's suggestions."""
    seen: dict[str, None] = {}
    for run in svc(request).list_runs(project):
        seen.setdefault(run.base_model, None)
    return list(seen)[:20]


def _deepspeed_files() -> list[str]:
    examples = Path(__file__).resolve().parents[3] / "examples" / "deepspeed"
    return sorted(str(p) for p in examples.glob("*.json")) if examples.is_dir() else []


def _form(request: Request, project: str, config: dict[str, Any], bundle: dict[str, Any] | None, **context: Any) -> dict[str, Any]:
    values, other = train_form.form_values(config)
    return dict(values=values, other=other, bundle=bundle,
                bundles=bundles(Path(svc(request).get_project(project).path)), fields=train_form.FIELDS,
                groups=train_form.GROUPS, help=train_form.help_text, models=_known_models(request, project),
                deepspeed_files=_deepspeed_files(), **context)


@router.get("/p/{project}/train")
def train_page(project: str, request: Request, bundle: str | None = None, run: int | None = None) -> Response:
    """The form: from a bundle's recipe, or (`run`) from an earlier run's settings."""
    folder = Path(svc(request).get_project(project).path)
    if run is not None:
        config, chosen = dict(svc(request).get_run(run).config), None
        config = {k: v for k, v in config.items() if v is not None}
    else:
        config, chosen = _bundle_config(folder, bundle)
    return page(request, "train.html", project, nav="train", twin="/api/runs?project={id}",
                **_form(request, project, _defaults(request, project, config), chosen))




@router.post("/p/{project}/train/preview")
async def preview(project: str, request: Request) -> Response:
    """The YAML `loreforge train` runs for this form (checked: an error is the CLI's text, here)."""
    form = await request.form()
    config = train_form.config_from_form(form)
    view = svc(request).preview_train(_served(request, project, config))
    return html(request, "_train_preview.html", preview=view)


def _served(request: Request, project: str, config: dict[str, Any]) -> dict[str, Any]:
    """The config with the folders it writes confined and trust_remote_code refused, on a served UI (as the API)."""
    return guarded_config(request, config, lambda: project_dir(request, project, RUNS_DIR), full=True)


@router.post("/p/{project}/train/start")
async def start(project: str, request: Request) -> Response:
    """Record the run and start its worker; the Run page follows it (it runs whether or not a page watches)."""
    from loreforge.train.launch import Launch

    form = await request.form()
    config = _served(request, project, train_form.config_from_form(form))
    processes = number(form, "nproc_per_node") or 1
    run = svc(request).train(config, project=project, background=True, launch=Launch(nproc_per_node=processes))
    return go(request, f"/ui/runs/{run.id}")


@router.post("/p/{project}/train/load")
async def load_yaml(project: str, request: Request) -> Response:
    """A LLaMA Factory / LLaMA Board YAML (uploaded or pasted) into the form; its keys without an input go to the
    other keys."""
    form = await request.form()
    upload = form.get("file")
    if upload is not None and not isinstance(upload, str):
        data = await upload.read(MAX_YAML_BYTES + 1)
        if len(data) > MAX_YAML_BYTES:
            raise UserError("That YAML file is too large", expected="a training config (a few KB)")
        source, name = data.decode("utf-8", "replace"), upload.filename or "the YAML"
    else:
        source, name = str(form.get("yaml") or ""), "the YAML"
    try:
        loaded = train_form.read_yaml_text(source, name)
        if not loaded:
            raise UserError("The YAML is empty", hint="Choose a LLaMA Factory or LLaMA Board training YAML")
    except LoreForgeError as exc:  # said beside the load form; the form stays as it was
        return html(request, "_message.html", status=400, headers={"HX-Retarget": "#load-slot", "HX-Reswap": "innerHTML"},
                    message=str(exc), kind="error")
    config = dict(loaded)
    config.setdefault("output_dir", _defaults(request, project, {})["output_dir"])
    t = tr(request)
    return html(request, "_train_form.html", project=svc(request).get_project(project),
                loaded=t("train.loaded", name=name, n=len(loaded)), **_form(request, project, config, None))


@router.post("/p/{project}/train/export")
async def export_bundle(project: str, request: Request) -> Response:
    """Export the confirmed dataset as a new LLaMA Factory bundle for training (the export page's defaults)."""
    form = await request.form()
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    out = write_path(request, str(project_dir(request, project, "exports", f"train-{stamp}")),
                     lambda: project_dir(request, project, "exports"), "export folder")
    val = number(form, "val_size", float)
    report = svc(request).export(project, out, format="llamafactory", **({"val_size": val} if val is not None else {}))
    return go(request, project_url(project, "train") + f"?bundle={Path(report.folder).name}")
