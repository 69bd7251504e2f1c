"""The knowledge base (EL §D -> Atoms §F.6): one per agent, documents sent as PDF or URL."""

from __future__ import annotations

from typing import Any

from atoms_migrate import paths
from atoms_migrate.mapping.context import MapContext
from atoms_migrate.mapping.refs import late_ref
from atoms_migrate.mapping.schema import Concept
from atoms_migrate.mapping.transforms.common import (
    source_list,
    wrong_type,
)
from atoms_migrate.model import Step


def kb_name(agent_name: str, limit: int) -> str:
    """The Atoms knowledge base's name: the agent's, cut to the Atoms limit (Atoms §F.6)."""
    return agent_name.strip()[:limit].strip() or "atoms-migrate"


def _document_action(locator: dict[str, Any], record: dict[str, Any]) -> tuple[str, str, str]:
    """(how it is sent, what, why lossy or ""): url -> scrape, PDF file -> upload, text/other file -> render to PDF."""
    kind = record.get("type") or locator.get("type")
    name = str(record.get("name") or locator.get("name") or record.get("id"))
    if kind == "url" and isinstance(record.get("url"), str):
        return "url", record["url"], ""
    filename = str(record.get("filename") or name)
    if kind == "file" and filename.lower().endswith(".pdf"):
        return "pdf", filename, ""
    pdf_name = (filename.rsplit(".", 1)[0] if "." in filename else filename) + ".pdf"
    if kind == "file" and not filename.lower().endswith((".txt", ".md", ".html", ".htm")):
        return (
            "render",
            pdf_name,
            f"{filename}: its extracted text is rendered to PDF; layout, images and tables are not kept",
        )
    return "render", pdf_name, ""


def knowledge_base(ctx: MapContext, concept: Concept) -> None:
    """EL §D -> Atoms §F.6: one knowledge base per agent, documents sent as PDF or URL."""
    found = source_list(ctx, concept, "a list of documents", "No knowledge-base documents")
    if found is None:
        return
    path, value = found
    options = ctx.options
    documents, lossy = _documents_to_send(ctx, concept, path, value)
    if not documents and not options.kb_documents:
        return
    kb_ref = options.kb_id or late_ref("kb", ctx.source.key)
    kept = len(options.kb_documents)
    note = (
        f"{len(documents)} document(s) to send"
        + (f", {kept} sent earlier" if kept else "")
        + (("; " + "; ".join(lossy)) if lossy else "")
    )
    ctx.assign(concept, "globalKnowledgeBaseId", kb_ref, path, "lossy" if lossy else "mapped", note)
    if ctx.get("conversation_config.agent.prompt.rag.enabled") is True:
        _search_tool(ctx, concept, kb_ref)
    if documents or options.kb_id is None:
        kb_label = kb_name(ctx.source.name or ctx.source.label, ctx.tables.concepts.defaults.knowledge_base_name_max)
        ctx.resources.append(
            Step(
                "knowledge_base",
                f"{'create' if options.kb_id is None else 'add to'} knowledge base {kb_label!r}: "
                f"{len(documents)} document(s) (PDF upload, URL scrape), then wait for processing",
                {
                    "key": ctx.source.key,
                    "kb_id": options.kb_id,
                    "ref": kb_ref,
                    "name": kb_label,
                    "documents": documents,
                },
            )
        )


def _documents_to_send(
    ctx: MapContext, concept: Concept, path: str, value: list[Any]
) -> tuple[list[dict[str, Any]], list[str]]:
    """(documents not sent by an earlier run, why some lose meaning); folders and unread documents are findings."""
    documents: list[dict[str, Any]] = []
    lossy: list[str] = []
    for i, locator in enumerate(value):
        item_path = paths.join(path, i)
        if not isinstance(locator, dict) or not isinstance(locator.get("id"), str):
            wrong_type(ctx, concept, item_path, "a document reference {type, name, id}", locator)
            continue
        name = str(locator.get("name") or locator["id"])
        record = ctx.source.documents.get(locator["id"])
        if locator.get("type") == "folder" or (record or {}).get("type") == "folder":
            ctx.finding(
                item_path,
                "unmapped",
                "warning",
                f"Knowledge-base folder {name!r}: its documents are not migrated.",
                "Attach the folder's documents to the agent one by one in ElevenLabs, then migrate again.",
                concept,
            )
            continue
        if record is None:
            ctx.finding(
                item_path,
                "unmapped",
                "warning",
                f"Knowledge-base document {name!r} was not read, so it is not migrated.",
                "Migrate with ELEVENLABS_API_KEY set: the documents are read from ElevenLabs.",
                concept,
            )
            continue
        how, what, why = _document_action(locator, record)
        if why:
            lossy.append(why)
        if locator.get("usage_mode") == "prompt":
            lossy.append(
                f"{name}: ElevenLabs put it in the prompt on every turn; on Atoms it is retrieved when relevant"
            )
        if locator["id"] not in ctx.options.kb_documents:
            documents.append({"id": locator["id"], "name": name, "send": how, "as": what})
    return documents, lossy


def _search_tool(ctx: MapContext, concept: Concept, kb_ref: str) -> None:
    """ElevenLabs RAG on: the Atoms agent searches its knowledge base with a knowledge_base_search tool."""
    tool = {
        "type": "knowledge_base_search",
        "name": ctx.unique_tool_name("knowledge_base_search"),
        "description": concept.params.get("search_tool_description", "Search the knowledge base."),
        "knowledgeBaseId": kb_ref,
        "fillerPhrases": list(concept.params.get("filler_phrases", [])),
    }
    ctx.append(
        concept,
        "singlePromptConfig.tools",
        tool,
        "conversation_config.agent.prompt.rag.enabled",
        "mapped",
        "ElevenLabs RAG is on: the agent searches the knowledge base with a tool.",
    )
