"""Turn what Atoms answers on a read into the config shape the planner writes.

The planner's target config uses the camelCase names of ``POST /agent`` and the draft
bodies (``singlePromptConfig.prompt``, ``language.default`` ...). Reads answer in three
other layouts (smallest-atoms-api.md §B.2, §C.2, §H.18): the agent document's top-level
mirrors, its flattened ``_resolvedConfig`` (``prompt``, ``modelName``, ``defaultLanguage``
...; reliable on v1 only) and a v2 revision's ``resolvedConfig`` keyed by section
(``workflow_tools.tools`` ...). ``live_config`` folds them together, most specific last, so
the planner and the verifier compare like with like. Nulls count as absent. Values of
credential-like api_call headers and query parameters are masked as ``<secret>`` on the way
in, so a live secret never reaches a diff or a report (the plan holds references to them,
which match any non-empty value). Pure.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from atoms_migrate import paths
from atoms_migrate.mapping.refs import MASK, is_sensitive_name, mask_url
from atoms_migrate.mapping.webhooks import is_template_only

# Metadata and config mirrors on GET /agent/{id} (§B.2), plus the draft-only fields.
MIRROR_FIELDS = (
    "name",
    "description",
    "workflowType",
    "allowInboundCall",
    "backgroundSound",
    "globalKnowledgeBaseId",
    "language",
    "synthesizer",
    "slmModel",
    "defaultVariables",
    "preCallAPI",
    "firstMessage",
    "allowInterruptions",
    "waitForUserToSpeakFirst",
    "transcriberType",
    "globalPrompt",
    "speechFormatting",
    "muteUserUntilFirstBotResponse",
    "interruptionBackoffTimer",
    "enableStyleGuide",
    "callDispositionConfig",
    "voiceMailDetectionConfig",
    "smartTurnConfig",
    "voiceDetectionConfig",
    "denoisingConfig",
    "redactionConfig",
    "pronunciationDicts",
    "llmIdleTimeoutConfig",
    "sessionTimeoutConfig",
    "timezone",
    "postCallAnalyticsConfig",
    "singlePromptConfig",
)
# Flattened read-back names -> planner paths (§B.2 `_resolvedConfig`, §F.1, §C.3).
RENAMED = {
    "prompt": "singlePromptConfig.prompt",
    "tools": "singlePromptConfig.tools",
    "modelName": "slmModel",
    "defaultLanguage": "language.default",
    "supportedLanguages": "language.supported",
    "languageSwitching": "language.switching",
    "synthesizerSampleRate": "synthesizer.sampleRate",
}
_IGNORED_RESOLVED = frozenset({"workflowGraph", "playbooks"})


def _overlay(out: dict[str, Any], key: str, value: Any) -> None:
    if value is None or key in _IGNORED_RESOLVED:
        return
    target = RENAMED.get(key, key)
    if isinstance(value, dict) and isinstance(paths.get(out, target), dict):
        merged = dict(paths.get(out, target))
        merged.update({k: v for k, v in value.items() if v is not None})
        value = merged
    paths.set_value(out, target, copy.deepcopy(value))


def _flat_resolved(resolved: Any) -> dict[str, Any]:
    """A v2 ``resolvedConfig`` (section -> field -> value) as one flat field map.

    Sections are recognised by shape: a dict holding at least one known field name. That
    tells the ``language`` section (``defaultLanguage`` ...) from the ``language`` field
    (``default``, ``supported``); any other top-level key is kept as a field.
    """
    known = set(MIRROR_FIELDS) | set(RENAMED)
    flat: dict[str, Any] = {}
    if not isinstance(resolved, dict):
        return flat
    for key, value in resolved.items():
        if isinstance(value, dict) and any(k in known for k in value):
            flat.update(value)
        elif key in known:
            flat[key] = value
    return flat


def live_config(agent: dict[str, Any] | None, revision_resolved: Any = None) -> dict[str, Any]:
    """The live config of an agent in planner shape: mirrors < ``_resolvedConfig`` < revision."""
    out: dict[str, Any] = {}
    agent = agent or {}
    for key in MIRROR_FIELDS:
        _overlay(out, key, agent.get(key))
    resolved = agent.get("_resolvedConfig")
    if isinstance(resolved, dict):
        for key, value in resolved.items():
            _overlay(out, key, value)
    for key, value in _flat_resolved(revision_resolved).items():
        _overlay(out, key, value)
    _mask_credentials(out)
    return out


def _is_template(value: Any) -> bool:
    """``{{token}}``, ``Bearer {{token}}``: filled from variables, not a credential (webhooks.is_template_only)."""
    return isinstance(value, str) and is_template_only(value)


def _masked(value: Any) -> str:
    """``<secret>``, keeping a leading auth scheme word.

    So a planned ``Bearer <secret:x>`` still matches on read-back.
    """
    scheme = re.match(r"(?i)^(?:bearer|basic|token)\s+", value) if isinstance(value, str) else None
    return (scheme.group(0) if scheme else "") + MASK


def _mask_credentials(config: dict[str, Any]) -> None:
    tools = paths.get(config, "singlePromptConfig.tools")
    for tool in tools if isinstance(tools, list) else []:
        if not isinstance(tool, dict):
            continue
        if isinstance(tool.get("url"), str):
            tool["url"] = mask_url(tool["url"])  # a credential in the URL, as Atoms stores it
        headers = tool.get("headers")
        if isinstance(headers, dict):
            for name, value in headers.items():
                if is_sensitive_name(name) and value and not _is_template(value):
                    headers[name] = _masked(value)
        for key in ("queryParams", "headersArray"):
            for item in tool.get(key) or [] if isinstance(tool.get(key), list) else []:
                if (
                    isinstance(item, dict)
                    and is_sensitive_name(str(item.get("key", "")))
                    and item.get("value")
                    and not _is_template(item.get("value"))
                ):
                    item["value"] = _masked(item["value"])
