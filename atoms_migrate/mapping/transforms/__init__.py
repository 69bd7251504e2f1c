"""The named transforms the concept table refers to (``transform:`` in mappings/concepts.yaml), by concern.

Each transform reads its concept's source path through the ``MapContext``, assigns Atoms fields and
records findings; none does I/O. Vendor rules are cited by reference section (smallest-atoms-api.md =
"Atoms §", elevenlabs-convai-api.md = "EL §").

``values`` (text, name, numbers, booleans) · ``prompt`` (system prompt, first message, audio tags) ·
``language`` · ``llm`` · ``voice`` (voice, TTS model, background sound) · ``conversation`` (timezone,
silence, interruptions) · ``variables`` (dynamic variables, initiation webhook) · ``system_tools`` and
``tools`` · ``knowledge_base`` · ``post_call`` (metrics, redaction, post-call webhook) · ``workflow``;
``common`` holds what they share. A new transform is a function here and one entry in ``TRANSFORMS``:
the table loader refuses a concept naming a transform that is not in it.
"""

from __future__ import annotations

from atoms_migrate.mapping.transforms import (
    conversation,
    knowledge_base,
    language,
    llm,
    post_call,
    prompt,
    system_tools,
    tools,
    values,
    variables,
    voice,
    workflow,
)
from atoms_migrate.mapping.transforms.common import Transform

TRANSFORMS: dict[str, Transform] = {
    "text": values.text,
    "name": values.name,
    "number": values.number,
    "boolean": values.boolean,
    "prompt": prompt.prompt,
    "first_message": prompt.first_message,
    "language": language.language,
    "llm": llm.llm,
    "voice": voice.voice,
    "tts_model": voice.tts_model,
    "background_sound": voice.background_sound,
    "timezone": conversation.timezone,
    "silence_end_call": conversation.silence_end_call,
    "interruptions": conversation.interruptions,
    "dynamic_variables": variables.dynamic_variables,
    "initiation_webhook": variables.initiation_webhook,
    "system_tools": system_tools.system_tools,
    "inline_tools": tools.inline_tools,
    "tool_ids": tools.tool_ids,
    "knowledge_base": knowledge_base.knowledge_base,
    "data_collection": post_call.data_collection,
    "evaluation": post_call.evaluation,
    "redaction": post_call.redaction,
    "post_call_webhook": post_call.post_call_webhook,
    "workflow": workflow.workflow,
}

__all__ = ["TRANSFORMS", "Transform"]
