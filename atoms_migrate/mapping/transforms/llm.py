"""The LLM: a row of mappings/llms.yaml per ElevenLabs model; a custom LLM endpoint is an error finding."""

from __future__ import annotations

from atoms_migrate import paths
from atoms_migrate.mapping.context import MapContext
from atoms_migrate.mapping.schema import Concept
from atoms_migrate.mapping.transforms.common import (
    LLMS_FILE,
    source_text,
)


def llm(ctx: MapContext, concept: Concept) -> None:
    found = source_text(ctx, concept, "an LLM name")
    if found is None:
        return
    path, value = found
    custom = _custom_llm(ctx, concept, path, value.strip())
    if custom is not None:
        path, value = custom
    rule = ctx.tables.llms.lookup(value.strip())
    if rule is None:  # a table without a catch-all rule
        ctx.finding(
            path,
            "unmapped",
            "warning",
            f"No rule in {LLMS_FILE} for LLM {value!r}; Atoms' default model is used.",
            f"Add a rule for it to {LLMS_FILE}.",
            concept,
        )
        return
    table_rule = f"{LLMS_FILE}#{rule.match}"
    if rule.status == "unmapped":
        ctx.assign(concept, concept.target[0], rule.target, path, "defaulted", rule.note, rule=table_rule)
        ctx.finding(
            path,
            "unmapped",
            "warning",
            f"LLM {value!r}: {rule.note}",
            "Choose slmModel by hand if electron does not fit.",
            concept,
        )
    else:
        ctx.assign(
            concept,
            concept.target[0],
            rule.target,
            path,
            rule.status,
            f"{value} -> {rule.target}: {rule.note}",
            rule=table_rule,
        )
    if rule.target in ctx.tables.llms.gated:
        ctx.finding(
            path,
            "lossy",
            "warning",
            f"slmModel {rule.target!r} needs org-level access on Atoms (403 otherwise).",
            "Ask Smallest to enable it, or change the rule in mappings/llms.yaml.",
            concept,
        )


def _custom_llm(ctx: MapContext, concept: Concept, path: str, value: str) -> tuple[str, str] | None:
    """``custom-llm`` with ``custom_llm.model_id``: (model id path, model id) to look up in llms.yaml (EL §A.8.4).

    The endpoint may add its own logic (retrieval, guardrails, routing) around the model: that
    is lost whatever Atoms model is chosen, so it is an error finding either way.
    """
    if value != "custom-llm":
        return None
    base = str(concept.params.get("custom_llm") or "conversation_config.agent.prompt.custom_llm")
    model_path = paths.join(base, "model_id")
    model_id = ctx.get(model_path)
    url = ctx.get(paths.join(base, "url"))
    where = f" at {url}" if isinstance(url, str) and url.strip() else ""
    ctx.finding(
        path,
        "unmapped",
        "error",
        (
            f"Custom LLM endpoint{where}: whatever it does around the model (retrieval, guardrails, routing) is lost "
            "on Atoms."
        ),
        "Configure the endpoint on Atoms as customLLMWebSocketUrl (WebSocket) by hand, or accept the planned model; "
        "--allow-errors applies the plan without it.",
        concept,
    )
    rule = ctx.tables.llms.lookup(model_id.strip()) if isinstance(model_id, str) and model_id.strip() else None
    if rule is not None and rule.match not in ("*", "custom-llm"):  # a model the table knows, not the catch-all
        return model_path, model_id.strip()
    return None
