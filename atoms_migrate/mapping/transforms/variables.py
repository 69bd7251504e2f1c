"""Dynamic variables and the conversation-initiation webhook (-> Atoms preCallAPI, EL addendum)."""

from __future__ import annotations

import re
from typing import Any

from atoms_migrate import paths
from atoms_migrate.mapping.context import MapContext
from atoms_migrate.mapping.schema import Concept
from atoms_migrate.mapping.transforms.common import (
    source_value,
    wrong_type,
)

INITIATION_WEBHOOK = "platform_settings.workspace_overrides.conversation_initiation_client_data_webhook"
INITIATION_ENABLED = "platform_settings.overrides.enable_conversation_initiation_client_data_from_webhook"


def _initiation_webhook(ctx: MapContext) -> dict[str, Any] | None:
    """The agent's conversation-initiation webhook when ElevenLabs calls it (EL addendum), else None."""
    webhook = ctx.get(INITIATION_WEBHOOK)
    enabled = ctx.get(INITIATION_ENABLED) is True
    return (
        webhook
        if enabled and isinstance(webhook, dict) and isinstance(webhook.get("url"), str) and webhook["url"].strip()
        else None
    )


def dynamic_variables(ctx: MapContext, concept: Concept) -> None:
    found = source_value(ctx, concept)
    if found is None:
        return
    path, value = found
    if not isinstance(value, dict):
        wrong_type(ctx, concept, path, "an object", value)
        return
    placeholders_path = paths.join(path, "dynamic_variable_placeholders")
    placeholders = value.get("dynamic_variable_placeholders")
    if isinstance(placeholders, dict) and not placeholders:
        ctx.empty(concept, placeholders_path, "No dynamic variables")
    # With an initiation webhook, the placeholders are test values: a caller would hear them when
    # the pre-call API does not answer, so they are planned as defaults, lossy, and named.
    webhook = _initiation_webhook(ctx)
    test_values: list[str] = []
    for key, default in (placeholders or {}).items() if isinstance(placeholders, dict) else []:
        if (
            webhook is not None
            and default is not None
            and isinstance(default, (str, int, float, bool))
            and not key.startswith(("secret__", "system__"))
        ):
            test_values.append(key)
            ctx.assign(
                concept,
                paths.join(concept.target[0], key),
                default,
                paths.join(placeholders_path, key),
                "lossy",
                "A test value of an agent whose variables come from its initiation webhook.",
            )
            continue
        var_path = paths.join(placeholders_path, key)
        if default is None:
            continue
        if key.startswith("secret__"):
            ctx.finding(
                var_path,
                "lossy",
                "warning",
                f"Secret variable {key} is not copied into the agent config.",
                "Supply it per call; Atoms variables are visible to the model, so prefer a pre-call API.",
                concept,
            )
        elif key.startswith("system__"):
            ctx.finding(
                var_path,
                "ignored",
                "info",
                f"{key} is filled by the platform at call time; its test value is not copied.",
                concept=concept,
            )
        elif isinstance(default, (str, int, float, bool)):
            ctx.assign(concept, paths.join(concept.target[0], key), default, var_path)
        else:
            wrong_type(ctx, concept, var_path, "a string, number or boolean default", default)
    if test_values:
        ctx.finding(
            placeholders_path,
            "lossy",
            "warning",
            f"Dynamic-variable placeholders are test values (the agent's variables come from its initiation webhook): "
            f"{', '.join(test_values)} become defaults a caller would hear when the pre-call API gives no value.",
            "Clear or replace these defaults on Atoms once the pre-call API answers with real values.",
            concept,
        )
    ctx.sweep(concept, path, "Not carried over")


def initiation_webhook(ctx: MapContext, concept: Concept) -> None:
    """EL conversation-initiation webhook -> Atoms preCallAPI (Atoms §F.4; EL addendum).

    ElevenLabs posts {caller_id, agent_id, called_number, call_sid} and reads
    ``dynamic_variables`` from the answer; Atoms calls ``preCallAPI`` and reads
    ``responseVariables`` by JSON path. Payload and signature differ, so the plan says the
    endpoint must change too; secret headers cannot be read and are left out, named.
    """
    found = source_value(ctx, concept)
    if found is None or not isinstance(found[1], dict):
        return
    path, webhook = found
    if _initiation_webhook(ctx) is None:
        ctx.finding(
            path,
            "ignored",
            "info",
            "Conversation-initiation webhook configured but not enabled: ElevenLabs does not call it.",
            concept=concept,
        )
        return
    headers, left_out = _static_headers(webhook)
    names = _response_variable_names(ctx)
    api: dict[str, Any] = {"isEnabled": True, "url": webhook["url"].strip(), "method": "POST"}
    if headers:
        api["headers"] = headers
    if concept.params.get("body"):
        api["body"] = dict(concept.params["body"])
    if names:
        api["responseVariables"] = [{"variableName": n, "jsonPath": f"$.dynamic_variables.{n}"} for n in names]
    note = (
        "The endpoint must change: Atoms sends its own request (body with {{user_number}}, {{agent_number}}, "
        "{{call_id}}) without ElevenLabs' signature, and reads each variable from $.dynamic_variables.<name>"
    )
    ctx.assign(concept, concept.target[0], api, path, "lossy", note)
    ctx.finding(
        path,
        "lossy",
        "warning",
        "The conversation-initiation webhook becomes preCallAPI: Atoms calls it with a different payload and no "
        "ElevenLabs signature, and conversation_config_override in its answer has no Atoms equivalent."
        + (f" Secret headers left out: {', '.join(left_out)}." if left_out else ""),
        'Change the endpoint to accept Atoms\' request and answer {"dynamic_variables": {...}}'
        + (", and add the secret headers on Atoms by hand." if left_out else "."),
        concept,
    )


def _static_headers(webhook: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """(headers with a literal value, names of secret headers): a secret's value cannot be read, so it is named."""
    headers: dict[str, str] = {}
    left_out: list[str] = []
    raw_headers = webhook.get("request_headers")
    for name, value in raw_headers.items() if isinstance(raw_headers, dict) else []:
        if isinstance(value, str):
            headers[str(name)] = value
        else:
            left_out.append(str(name))
    return headers, left_out


def _response_variable_names(ctx: MapContext) -> list[str]:
    """Variables the pre-call API answers: the placeholders, then those the prompt and greeting use without one."""
    placeholders = ctx.get("conversation_config.agent.dynamic_variables.dynamic_variable_placeholders")
    names = (
        [k for k in placeholders if not str(k).startswith(("system__", "secret__"))]
        if isinstance(placeholders, dict)
        else []
    )
    for a in ctx.assignments:
        if a.path in ("singlePromptConfig.prompt", "firstMessage") and isinstance(a.value, str):
            names += [
                v
                for v in re.findall(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}", a.value)
                if v not in names
                and not v.startswith(("system__", "secret__"))
                and v not in ctx.tables.concepts.system_variables.values()
            ]
    return list(dict.fromkeys(names))
