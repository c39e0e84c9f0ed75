"""Pages: documents — multi-file upload (the page sends each file to POST /api/projects/{p}/documents and shows
its progress and result), the document list, splitting, one document's Markdown with its table of contents; and
the domain tag tree (build / revise / keep, edit labels in place, question counts). JSON twins:
/api/projects/{p}/documents, .../documents/{id}/text, .../toc, .../tags."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from loreforge.views import TocNode
from loreforge.web.deps import svc
from loreforge.web.ui.common import done, number, page, text, tr
from loreforge.web.ui.render import project_url

router = APIRouter()
STRATEGIES = ("markdown", "recursive", "fixed", "token", "custom")
TAG_MODES = ("rebuild", "revise", "keep")


@router.get("/p/{project}")
@router.get("/p/{project}/documents")
def documents(project: str, request: Request) -> Response:
    s = svc(request)
    return page(request, "documents.html", project, nav="documents", twin="/api/projects/{id}/documents",
                documents=s.list_documents(project), tags=s.show_tags(project), strategies=STRATEGIES, tag_modes=TAG_MODES)


@router.get("/p/{project}/documents/{document_id}")
def document(project: str, document_id: int, request: Request) -> Response:
    s = svc(request)
    doc = s.get_document(project, document_id)
    markdown = s.document_text(project, document_id)
    toc = s.toc(project, document_id=document_id).documents
    nodes = toc[0].toc if toc else []
    return page(request, "document.html", project, nav="documents", twin=f"/api/projects/{doc.project_id}/documents/{document_id}/text",
                document=doc, toc=nodes, sections=sections(markdown, nodes))


def sections(markdown: str, toc: list[TocNode]) -> list[tuple[int, str]]:
    """The Markdown cut at each heading of the table of contents: (offset, text) pieces, so the page can anchor
    every heading (#at-OFFSET) while showing the text as it is."""
    starts: list[int] = []

    def walk(nodes: list[TocNode]) -> None:
        for node in nodes:
            starts.append(node.start)
            walk(node.children)

    walk(toc)
    cuts = sorted({0, *(s for s in starts if 0 < s < len(markdown))})
    return [(a, markdown[a:b]) for a, b in zip(cuts, cuts[1:] + [len(markdown)])]


@router.post("/p/{project}/documents/{document_id}/delete")
def delete_document(project: str, document_id: int, request: Request) -> Response:
    result = svc(request).delete_document(project, document_id)
    return done(request, tr(request)("documents.deleted", n=result.detail.get("chunks", 0)), project_url(project, "documents"))


@router.post("/p/{project}/split")
async def split(project: str, request: Request) -> Response:
    form = await request.form()
    overrides: dict[str, Any] = {}
    for key in ("min_length", "max_length"):
        if (value := number(form, key)) is not None:
            overrides[f"split.{key}"] = value
    report = svc(request).split(project, document_id=number(form, "document_id"), strategy=text(form, "strategy"),
                                overrides=overrides, force=form.get("force") == "on")
    st = report.stats
    return done(request, tr(request)("documents.split_done", n=st.count, min=st.min, max=st.max, mean=round(st.mean)),
                project_url(project, "documents"))


# -- the domain tag tree ---------------------------------------------------------------------------------

@router.post("/p/{project}/tags/build")
async def build_tags(project: str, request: Request) -> Response:
    form = await request.form()
    tree = svc(request).build_tags(project, mode=text(form, "mode"))
    return done(request, tr(request)("tags.built", n=len(tree)), project_url(project, "documents"))


@router.post("/p/{project}/tags")
async def add_tag(project: str, request: Request) -> Response:
    form = await request.form()
    tag = svc(request).add_tag(project, text(form, "label") or "", text(form, "parent"))
    return done(request, tr(request)("tags.added", label=tag.label), project_url(project, "documents"))


@router.post("/p/{project}/tags/{tag_id}/rename")
async def rename_tag(project: str, tag_id: int, request: Request) -> Response:
    form = await request.form()
    tag = svc(request).rename_tag(project, tag_id, text(form, "label") or "")
    return done(request, tr(request)("tags.renamed", label=tag.label), project_url(project, "documents"))


@router.post("/p/{project}/tags/{tag_id}/delete")
def delete_tag(project: str, tag_id: int, request: Request) -> Response:
    result = svc(request).delete_tag(project, tag_id)
    return done(request, tr(request)("tags.deleted", n=result.deleted), project_url(project, "documents"))
