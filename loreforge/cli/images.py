"""CLI: `loreforge images add|list|show|delete|qa` — image QA datasets: images stored like documents, and a vision
model's questions and answers about each."""

from __future__ import annotations

import click

from loreforge.cli import render
from loreforge.cli.base import cli, json_option, service


@cli.group()
def images() -> None:
    """Images for image QA: add (files, folders, zips, the pages of PDFs), list, show, delete; `qa` has a vision model
    (`models add --type vision`) write questions and answers about each."""


@images.command("add")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("sources", nargs=-1, required=True, type=click.Path())
@json_option
def images_add(project_ref: str, sources: tuple[str, ...], as_json: bool) -> None:
    """Add images: image files (.png .jpg .webp .gif .bmp), folders, .zip archives, .pdf files (pages rendered)."""
    report = service().add_images(project_ref, list(sources))
    if as_json:
        return render.as_json(report)
    for item in report.items:
        if item.status == "failed":
            click.echo(f"failed  {item.error}", err=True)
    click.echo(f"{report.added} added, {report.duplicates} already there, {report.failed} failed")
    if report.failed:
        raise SystemExit(1)


@images.command("list")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--page", type=int, default=1, show_default=True)
@json_option
def images_list(project_ref: str, page: int, as_json: bool) -> None:
    """List the project's images."""
    result = service().list_images(project_ref, page=page)
    if as_json:
        return render.as_json(result)
    render.table(["id", "name", "format", "size", "origin", "questions", "items"],
                 [(i.id, render.clip(i.filename, 40), i.format, f"{i.width}×{i.height}", i.origin, i.questions, i.dataset_items)
                  for i in result.items])
    click.echo(f"{result.total} images")


@images.command("show")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("image_id", type=int)
@json_option
def images_show(project_ref: str, image_id: int, as_json: bool) -> None:
    """Show one image (its stored file's path: open it beside `dataset list --image ID`)."""
    i = service().get_image(project_ref, image_id)
    render.as_json(i) if as_json else render.kv([(k, getattr(i, k)) for k in ("id", "filename", "format", "width", "height",
                                                                             "size_bytes", "origin", "page", "path", "questions", "dataset_items")])


@images.command("delete")
@click.argument("project_ref", metavar="PROJECT")
@click.argument("image_ids", nargs=-1, type=int, required=True)
def images_delete(project_ref: str, image_ids: tuple[int, ...]) -> None:
    """Delete images and their files (their QA items stay)."""
    click.echo(f"Deleted {service().delete_images(project_ref, list(image_ids)).deleted} image(s).")


@images.command("qa")
@click.argument("project_ref", metavar="PROJECT")
@click.option("--images", "image_ids", help="Image ids; default: every image without QA (and every image's new template questions).")
@click.option("--questions-per-image", type=int, help="Questions per image (default: images.questions_per_image, 3).")
@click.option("--force", is_flag=True, help="Ask images that have QA again.")
@click.option("--model", "model", metavar="CONFIG", help="The vision model config (default: the active vision config).")
@json_option
def images_qa(project_ref: str, image_ids: str | None, questions_per_image: int | None, force: bool, model: str | None, as_json: bool) -> None:
    """A vision model writes questions and answers about each image, one call per image (a job)."""
    ids = [int(x) for x in image_ids.replace(",", " ").split()] if image_ids else None
    bar = render.ProgressLine("image qa")
    job = service().generate_image_qa(project_ref, image_ids=ids, questions_per_image=questions_per_image, model=model, force=force,
                                      on_progress=bar)
    bar.close()
    render.job_outcome(job, as_json)
