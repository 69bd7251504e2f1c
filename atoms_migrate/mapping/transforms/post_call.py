"""After the call: data collection and evaluation criteria (-> disposition metrics, Atoms §B.8),
transcript redaction, and the post-call webhook (Atoms §K.3).
"""

from __future__ import annotations

import re
from typing import Any

from atoms_migrate import paths
from atoms_migrate.mapping.context import MapContext
from atoms_migrate.mapping.schema import Concept
from atoms_migrate.mapping.transforms.common import (
    optional_text,
    source_list,
    source_value,
    wrong_type,
)
from atoms_migrate.model import ChangeStatus, Step


def _identifier(ctx: MapContext, raw: str, taken: set[str]) -> str:
    """Atoms disposition identifiers match ^[a-z0-9_]+$ (Atoms §B.8) and must be unique."""
    base = re.sub(r"[^a-z0-9_]+", "_", raw.lower()).strip("_") or "metric"
    ident, n = base, 2
    while ident in taken:
        ident, n = f"{base}_{n}", n + 1
    taken.add(ident)
    return ident


def data_collection(ctx: MapContext, concept: Concept) -> None:
    found = source_value(ctx, concept)
    if found is None:
        return
    path, value = found
    if not isinstance(value, dict):
        wrong_type(ctx, concept, path, "an object keyed by item id", value)
        return
    if not value:
        ctx.empty(concept, path, "No data-collection items")
    taken = ctx.metric_ids
    metrics = ctx.tables.concepts.metrics
    for item_id, item in value.items():
        item_path = paths.join(path, item_id)
        if not isinstance(item, dict):
            wrong_type(ctx, concept, item_path, "a data-collection item", item)
            continue
        kind = item.get("type")
        metric_type = metrics.types.get(kind) if isinstance(kind, str) else None
        if metric_type is None:
            ctx.finding(
                item_path,
                "unmapped",
                "warning",
                f"Data-collection item {item_id!r} has unknown type {kind!r}.",
                concept=concept,
            )
            continue
        described = optional_text(ctx, concept, paths.join(item_path, "description"), item.get("description"))
        prompt_text = described or f"Extract {item_id} from the conversation."
        metric: dict[str, Any] = {
            "identifier": _identifier(ctx, str(item_id), taken),
            "dispositionMetricPrompt": prompt_text,
            "dispositionMetricType": metric_type,
        }
        status: ChangeStatus
        status, note = "mapped", ""
        if isinstance(item.get("enum"), list) and item["enum"] and kind == "string":
            metric["dispositionMetricType"] = "ENUM"
            metric["choices"] = [str(c) for c in item["enum"]]
        if kind in metrics.lossy_types:
            status, note = "lossy", metrics.lossy_types[kind]
        if not described:
            status, note = "lossy", "No description in the source; a generic prompt was written."
        ctx.append(concept, concept.target[0], metric, item_path, status, note)


def evaluation(ctx: MapContext, concept: Concept) -> None:
    found = source_list(ctx, concept, "a list of criteria", "No evaluation criteria")
    if found is None:
        return
    path, value = found
    choices = ctx.tables.concepts.metrics.evaluation_choices
    taken = ctx.metric_ids
    for i, criterion in enumerate(value):
        item_path = paths.join(path, i)
        goal = criterion.get("conversation_goal_prompt") if isinstance(criterion, dict) else None
        # Hand-written exports put the goal under `description`; accept it and say so.
        from_description = not (isinstance(goal, str) and goal.strip()) and isinstance(criterion, dict)
        if from_description:
            goal = criterion.get("description")
        if not isinstance(goal, str) or not goal.strip():
            ctx.finding(
                item_path,
                "unmapped",
                "warning",
                "Evaluation criterion without a goal prompt; not migrated.",
                concept=concept,
            )
            continue
        ident = _identifier(ctx, str(criterion.get("name") or criterion.get("id") or f"criterion_{i}"), taken)
        metric: dict[str, Any] = {
            "identifier": ident,
            "dispositionMetricPrompt": goal.strip(),
            "dispositionMetricType": "ENUM",
            "choices": list(choices),
        }
        status: ChangeStatus
        status, note = "mapped", f"Success criterion -> ENUM {' / '.join(choices)}, like ElevenLabs' result."
        if from_description:
            status, note = "lossy", "Goal read from `description` (no conversation_goal_prompt)."
        if criterion.get("scoring_mode") == "numeric_uniform":
            metric = {k: v for k, v in metric.items() if k != "choices"} | {"dispositionMetricType": "INTEGER"}
            status, note = "lossy", "Numeric score; the score scale and instructions are not carried over."
        ctx.append(concept, concept.target[0], metric, item_path, status, note)


def redaction(ctx: MapContext, concept: Concept) -> None:
    """Atoms redacts transcripts by default (Atoms §H.10): always state the choice."""
    found = source_value(ctx, concept)
    if found is None or not isinstance(found[1], dict):
        ctx.assign(
            concept,
            "redactionConfig.isEnabled",
            False,
            concept.source,
            "defaulted",
            "ElevenLabs does not redact unless asked; Atoms redacts by default, so redaction is turned off.",
        )
        return
    path, value = found
    enabled = bool(value.get("enabled"))
    entities = value.get("entities")
    status: ChangeStatus
    status, note = "mapped", ""
    if enabled and isinstance(entities, list) and entities:
        status, note = "lossy", "Atoms redaction is on/off; the entity list is not carried over."
    ctx.assign(concept, "redactionConfig.isEnabled", enabled, path, status, note)


def post_call_webhook(ctx: MapContext, concept: Concept) -> None:
    """EL §A.9 ``workspace_overrides.webhooks`` -> an Atoms webhook and a subscription (Atoms §K.3).

    The agent names a workspace webhook by id; its URL comes from the workspace (read by
    gather.py). Without an override, the workspace's own post-call webhook (convai settings)
    applies to the agent on ElevenLabs, so it is migrated the same way. The step is carried
    out after the agent exists (postcall.py). The receiving endpoint must change whatever
    happens: payload and signature differ, so that is a finding.
    """
    found = source_value(ctx, concept)
    inherited = ""
    if found is None:
        if not ctx.source.inherited_post_call.get("post_call_webhook_id"):
            return
        found, inherited = (
            (concept.source, dict(ctx.source.inherited_post_call)),
            "The workspace's post-call webhook (the agent has no override): ",
        )
    path, value = found
    if not isinstance(value, dict):
        wrong_type(ctx, concept, path, "an object {post_call_webhook_id, events, ...}", value)
        return
    hook_id = value.get("post_call_webhook_id")
    if not hook_id:
        ctx.finding(
            path, "ignored", "info", "No post-call webhook is set (post_call_webhook_id is empty).", "", concept
        )
        return
    record = ctx.source.webhooks.get(str(hook_id))
    url = (record or {}).get("webhook_url")
    if not isinstance(url, str) or not url:
        ctx.finding(
            path,
            "unmapped",
            "warning",
            (
                f"{inherited}Post-call webhook {hook_id}: its URL is kept in the ElevenLabs workspace and was not "
                "read, so it is not migrated."
            ),
            "Migrate with ELEVENLABS_API_KEY set (the URL is read from GET /v1/workspace/webhooks), "
            "or add the webhook in the Atoms dashboard.",
            concept,
        )
        return
    if (record or {}).get("is_disabled") or (record or {}).get("is_auto_disabled"):
        ctx.finding(
            path,
            "unmapped",
            "info",
            f"{inherited}Post-call webhook {url} is disabled on ElevenLabs, so it is not migrated.",
            "Enable it on ElevenLabs and migrate again, or add it in the Atoms dashboard.",
            concept,
        )
        return
    analysis = any(ctx.get(p) for p in concept.params.get("analysis_sources", []))
    event_types = ["post-conversation", *(["analytics-completed"] if analysis else [])]
    extra = _what_differs(value, set(concept.params.get("carried_events", [])))
    ctx.resources.append(
        Step(
            "webhook",
            f"subscribe the agent to the Atoms webhook for {url} ({', '.join(event_types)}); "
            "the webhook is reused when Atoms has one with this URL, else created",
            {
                "url": url,
                "event_types": event_types,
                "elevenlabs_webhook_id": str(hook_id),
                "description": (
                    "Post-call webhook migrated by atoms-migrate from ElevenLabs webhook "
                    f"{(record or {}).get('name') or hook_id}"
                ),
            },
        )
    )
    ctx.finding(
        path,
        "lossy",
        "warning",
        f"{inherited}Post-call webhook {url} -> Atoms webhook ({', '.join(event_types)}). The receiving endpoint "
        "must change: "
        "Atoms posts its own payload shape and signs it with X-Signature (HMAC-SHA256 of the body, keyed by the "
        "Atoms webhook's signing secret) instead of ElevenLabs' signature header." + extra,
        "Update the endpoint before switching calls to Atoms: parse the Atoms payload and verify X-Signature with the "
        "signing secret atoms-migrate shows once when it creates the webhook (also in the Atoms dashboard).",
        concept,
    )


def _what_differs(settings: dict[str, Any], carried: set[str]) -> str:
    """Sentences on what ElevenLabs' post-call settings asked for that the Atoms event does not do ("" when none)."""
    extra = ""
    lost = [str(e) for e in settings.get("events") or [] if str(e) not in carried]
    if lost:
        extra += f" ElevenLabs also sent {', '.join(lost)}: Atoms' post-conversation event has no such part."
    if settings.get("transcript_format") == "opentelemetry":
        extra += " The OpenTelemetry transcript format has no Atoms equivalent (Atoms sends JSON)."
    if settings.get("exclude_transcript"):
        extra += " ElevenLabs left the transcript out; Atoms' post-conversation payload includes it."
    return extra
