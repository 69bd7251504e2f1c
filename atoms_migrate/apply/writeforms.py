"""How a planned draft body is put on the wire, per versioning model and per account.

The planner writes one shape (the v1 draft-config names, smallest-atoms-api.md §B.8). The
vendor SDK 5.14.0 is explicit about what each draft endpoint takes (§K.1, §K.2), and where
it is not, ``mappings/write_forms.yaml`` lists the alternatives (``WriteForms``):

- ``wire_body`` turns a planned draft body into the body sent: on v2 only the SDK's
  ``update_draft`` fields plus the documented extras (``singlePromptConfig``,
  ``postCallAnalyticsConfig``, ``transcriberType``) and never ``workflowType`` (set at
  create, §K.1); each uncertain field in the form chosen for the account. On v1 a
  ``singlePromptConfig`` always carries its ``prompt`` (§K.2) and ``timezone`` is the
  ``{label, offset}`` object (§B.8).
- ``project`` reads a live config back into the planner's shape under the same forms, so
  the planner and the verifier compare like with like (a prompt kept in ``globalPrompt``
  is the planned ``singlePromptConfig.prompt``).
- ``next_form`` says what to try when a read-back shows a field did not stick.
Pure functions over data; the table is our own YAML, validated with ``extra="forbid"``.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from atoms_migrate import paths
from atoms_migrate.errors import MigrationError
from atoms_migrate.mapping.tables import builtin_dir

FILE = "write_forms.yaml"
PRO_MODEL_ID = "lightning-v3.1-pro"  # §K.4
# §K.1: fields the v2 draft must not carry.
V2_NEVER = frozenset({"workflowType"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Form(_Strict):
    name: str
    write: str | None  # the wire path written; None: not written, the field is reported instead
    max_length: int | None = None
    shape: str | None = None  # timezone: iana | label_offset
    value: str | None = None  # a fixed value written at ``write`` (the Pro voice model)


class UncertainField(_Strict):
    field: str
    path: str  # the planner path it carries
    reference: str
    forms: list[Form]
    only_pro_voices: bool = False  # the row concerns Pro-pool voices only (§K.4)

    def form(self, name: str | None) -> Form:
        return next((f for f in self.forms if f.name == name), self.forms[0])


class WriteForms(_Strict):
    fields: list[UncertainField]

    def get(self, field: str) -> UncertainField:
        return next(f for f in self.fields if f.field == field)

    def for_path(self, path: str) -> UncertainField | None:
        """The uncertain field whose planner path is ``path`` or contains it."""
        for f in self.fields:
            if path == f.path or path.startswith(f.path + ".") or path.startswith(f.path + "["):
                return f
        return None


@functools.cache
def load_write_forms(directory: Path | None = None) -> WriteForms:
    path = (directory or builtin_dir()) / FILE
    return WriteForms.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def chosen(table: WriteForms, choices: dict[str, str] | None, field: str) -> Form:
    """The form in use for ``field`` on this account: the remembered one, else the first."""
    return table.get(field).form((choices or {}).get(field))


def next_form(table: WriteForms, field: str, current: str | None) -> Form | None:
    """The form after ``current`` in the table, or None when every form was tried."""
    forms = table.get(field).forms
    names = [f.name for f in forms]
    index = names.index(current) if current in names else 0
    return forms[index + 1] if index + 1 < len(forms) else None


def pro_voice_ids(catalog: Any) -> frozenset[str]:
    """Voices the catalog lists with the Pro model (§K.4): only these take the Pro model field."""
    items = catalog.get("voices") if isinstance(catalog, dict) else catalog
    return frozenset(
        str(v["voiceId"])
        for v in items or []
        if isinstance(v, dict) and v.get("voiceId") and PRO_MODEL_ID in (v.get("models") or [])
    )


def is_pro(config: dict[str, Any], pro_voices: frozenset[str]) -> bool:
    return paths.get(config, "synthesizer.voiceConfig.voiceId") in pro_voices


def _timezone(value: Any, shape: str) -> Any:
    """The planned timezone in the requested wire shape (§C.3: IANA string on v2, object on v1/create)."""
    if shape == "iana":
        return value.get("label") if isinstance(value, dict) else value
    if isinstance(value, str):
        return {"label": value, "offset": _offset_minutes(value)}
    return value


def _offset_minutes(zone: str) -> int:
    """The zone's standard offset from UTC in minutes, as the mapper computes it (the smaller of
    1 January and 1 July, so the plan does not depend on the day); 0 for an unknown zone."""
    from datetime import datetime
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return 0
    offsets = [datetime(2026, month, 1, tzinfo=tz).utcoffset() for month in (1, 7)]
    return min(int(o.total_seconds() // 60) if o else 0 for o in offsets)


def wire_body(
    versioning: str,
    body: dict[str, Any],
    target: dict[str, Any],
    table: WriteForms,
    choices: dict[str, str] | None = None,
    pro_voices: frozenset[str] = frozenset(),
) -> tuple[dict[str, Any], list[str]]:
    """(the draft body as sent, notes on fields reported instead of written).

    ``body`` is the planned draft step body; ``target`` the plan's whole target config (the
    prompt a v1 ``singlePromptConfig`` must repeat comes from it).
    """
    out = copy.deepcopy(body)
    notes: list[str] = []
    if versioning == "v1":
        spc = out.get("singlePromptConfig")
        if isinstance(spc, dict) and "prompt" not in spc:  # §K.2: tools alone are rejected
            spc["prompt"] = str(paths.get(target, "singlePromptConfig.prompt") or "")
        if "timezone" in out:
            out["timezone"] = _timezone(out["timezone"], "label_offset")
        return out, notes
    for key in V2_NEVER:
        out.pop(key, None)
    spc = out.get("singlePromptConfig")
    if isinstance(spc, dict) and "prompt" in spc:
        form = chosen(table, choices, "prompt")
        if form.write == "globalPrompt":
            prompt = spc.pop("prompt")
            if form.max_length and len(str(prompt)) > form.max_length:
                raise MigrationError(
                    f"the prompt has {len(str(prompt))} characters, and on this account it can only be written through "
                    f"globalPrompt, which takes at most {form.max_length} (§B.1)",
                    "Shorten the prompt, or move detail into a knowledge base, and re-run.",
                )
            out["globalPrompt"] = prompt
            if not spc:
                out.pop("singlePromptConfig")
    if "postCallAnalyticsConfig" in out:
        form = chosen(table, choices, "post-call analytics")
        if form.write is None:
            out.pop("postCallAnalyticsConfig")
            notes.append(
                "post-call analytics (disposition metrics) were not written: this account's v2 drafts do not "
                "keep postCallAnalyticsConfig (§J.3); set them in the Atoms dashboard"
            )
    if "timezone" in out:
        out["timezone"] = _timezone(out["timezone"], chosen(table, choices, "timezone").shape or "iana")
    pro = chosen(table, choices, "pro voice model")
    if pro.value and pro.write and is_pro(out, pro_voices):
        paths.set_value(out, pro.write, pro.value)
    return out, notes


def unwritten_paths(versioning: str, table: WriteForms, choices: dict[str, str] | None) -> list[str]:
    """Planner paths that are reported instead of written on this account (not verified)."""
    if versioning != "v2":
        return []
    return [f.path for f in table.fields if chosen(table, choices, f.field).write is None]


def project(
    config: dict[str, Any],
    target: dict[str, Any] | None,
    versioning: str,
    table: WriteForms,
    choices: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A live config in the planner's shape under the account's forms (for planning and verifying)."""
    out = copy.deepcopy(config)
    pro = chosen(table, choices, "pro voice model")
    if pro.write == "synthesizer.voiceConfig.model" and paths.get(out, pro.write) == pro.value:
        # The Pro model written in place of the planned one: the plan's model, as far as planning goes.
        paths.set_value(out, pro.write, paths.get(target or {}, pro.write) or "waves_lightning_v3_1")
    if versioning == "v2" and chosen(table, choices, "prompt").write == "globalPrompt" and out.get("globalPrompt"):
        paths.set_value(out, "singlePromptConfig.prompt", out["globalPrompt"])
        if target is None or "globalPrompt" not in target:
            # The prompt's carrier here, not a field the plan sets: dropped in planning too, so the
            # config read back after publishing and the one read when planning again are alike (sync.py).
            out.pop("globalPrompt")
    planned_tz, live_tz = (target or {}).get("timezone"), out.get("timezone")
    if target is None and isinstance(live_tz, str):
        # Planning: the planner writes {label, offset} (§B.1); the v2 draft keeps the IANA string (§C.3).
        out["timezone"] = {"label": live_tz, "offset": _offset_minutes(live_tz)}
    if isinstance(planned_tz, dict) and isinstance(live_tz, str) and planned_tz.get("label") == live_tz:
        out["timezone"] = copy.deepcopy(planned_tz)  # the string form carries the same zone
    if isinstance(planned_tz, str) and isinstance(live_tz, dict) and live_tz.get("label") == planned_tz:
        out["timezone"] = planned_tz
    return out
