"""Three-way sync (sync.py) and the post-call webhook rule, as pure functions: table-driven."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from conftest import agent_config, make_source

from atoms_migrate import paths
from atoms_migrate.apply.state import AgentState
from atoms_migrate.apply.sync import Choices, classify, resolve, restrict, target_edits, unit_hashes, unit_of, units
from atoms_migrate.model import AgentPlan, Assignment, SourceRef
from atoms_migrate.plan.planner import _diff, plan_agent

BASE = {
    "name": "A",
    "firstMessage": "Hi.",
    "synthesizer": {"speed": 1.0, "voiceConfig": {"voiceId": "nyah"}},
    "singlePromptConfig": {"prompt": "Be helpful.", "tools": [{"type": "end_call", "name": "end_call"}]},
}


def _plan(config: dict[str, Any], live: dict[str, Any]) -> AgentPlan:
    """A plan of ``config`` against ``live``, diffed by the planner's own rule (one assignment per unit)."""
    assignments = tuple(Assignment(unit, value, "src", "rule", "mapped") for unit, value in units(config).items())
    return AgentPlan(
        SourceRef("k", None, "A", None), "update", "atoms1", copy.deepcopy(config), tuple(_diff(assignments, live)), ()
    )


def _prior(planned: dict[str, Any], published: dict[str, Any]) -> AgentState:
    return AgentState(
        smallest_agent_id="atoms1",
        revision_id="rev1",
        source_hash="sha256:x",
        planned_fields=unit_hashes(planned),
        published_fields=unit_hashes(published),
    )


def _with(config: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(config)
    paths.set_value(out, path, value)
    return out


@pytest.mark.parametrize(
    ("source_edit", "target_edit", "kind", "source_units", "target_units"),
    [
        (None, None, "in-sync", set(), set()),
        (("singlePromptConfig.prompt", "New."), None, "update", {"singlePromptConfig.prompt"}, set()),
        (None, ("synthesizer.speed", 0.8), "drifted", set(), {"synthesizer"}),
        (
            ("singlePromptConfig.prompt", "New."),
            ("synthesizer.speed", 0.8),
            "conflict",
            {"singlePromptConfig.prompt"},
            {"synthesizer"},
        ),
        (None, ("singlePromptConfig.tools", []), "drifted", set(), {"singlePromptConfig.tools"}),
        (None, ("name", "Renamed in the dashboard"), "drifted", set(), {"name"}),
    ],
)
def test_classify_three_ways(source_edit, target_edit, kind, source_units, target_units) -> None:
    planned = _with(BASE, *source_edit) if source_edit else BASE
    live = _with(BASE, *target_edit) if target_edit else BASE
    sync = classify(
        _prior(BASE, BASE), True, _plan(planned, live), live, "rev2" if target_edit else "rev1", "sha256:y", ""
    )
    assert (sync.kind, set(sync.source_units), set(sync.target_units), sync.tracked) == (
        kind,
        source_units,
        target_units,
        True,
    )


def test_no_target_is_new_and_an_untracked_entry_falls_back_to_the_plan() -> None:
    plan = _plan(BASE, BASE)
    assert classify(None, False, plan, None, None, "h", "t").kind == "new"
    old = AgentState(smallest_agent_id="atoms1", revision_id="rev1", source_hash="h")
    changed = _with(BASE, "firstMessage", "Hello.")
    sync = classify(old, True, _plan(changed, BASE), BASE, "rev1", "h2", "t")
    assert (sync.kind, sync.tracked) == ("update", False)
    moved = classify(
        old,
        True,
        _plan(BASE, _with(BASE, "synthesizer.speed", 0.5)),
        _with(BASE, "synthesizer.speed", 0.5),
        "rev2",
        "h",
        "",
        published=BASE,
    )
    assert moved.kind == "drifted" and moved.target_units == {"synthesizer"}
    unreadable = classify(
        old,
        True,
        _plan(BASE, _with(BASE, "synthesizer.speed", 0.5)),
        _with(BASE, "synthesizer.speed", 0.5),
        "rev2",
        "h",
        "",
    )  # our revision could not be read: the differences may be theirs
    assert unreadable.kind == "drifted" and unreadable.target_units == {"synthesizer"}


def test_target_edits_go_down_to_the_leaf_both_ways() -> None:
    live = _with(_with(BASE, "synthesizer.speed", 0.8), "synthesizer.extra", True)
    sync = classify(_prior(BASE, BASE), True, _plan(BASE, live), live, "rev2", "h", "")
    edits = {e.path: (e.published, e.live) for e in target_edits(sync, BASE, live)}
    assert edits == {"synthesizer.speed": (1.0, 0.8), "synthesizer.extra": (None, True)}
    assert [(e.path, e.published) for e in target_edits(sync, None, live)] == [("synthesizer", None)]


@pytest.mark.parametrize(
    ("choices", "resolution", "written"),
    [
        (Choices(), "fail", []),
        (Choices(merge=True), "merge", ["singlePromptConfig.prompt"]),
        (Choices(on_conflict="source"), "source", ["singlePromptConfig.prompt", "synthesizer"]),
        (Choices(on_conflict="target"), "target", []),
    ],
)
def test_a_conflict_is_settled_by_the_flags(choices, resolution, written) -> None:
    planned = _with(BASE, "singlePromptConfig.prompt", "New.")
    live = _with(BASE, "synthesizer.speed", 0.8)
    plan = _plan(planned, live)
    sync = classify(_prior(BASE, BASE), True, plan, live, "rev2", "h", "")
    out, how = resolve(plan, sync, choices, live)
    assert how == resolution == out.resolution and out.sync == "conflict"
    assert sorted(c.path for c in out.changes) == written
    assert out.blocked is (resolution == "fail")
    assert [c.path for c in out.pending_changes] == (
        ["singlePromptConfig.prompt"] if resolution in ("fail", "target") else []
    )


def test_overlapping_fields_stay_a_conflict_under_merge() -> None:
    planned, live = _with(BASE, "firstMessage", "Source."), _with(BASE, "firstMessage", "Dashboard.")
    plan = _plan(planned, live)
    sync = classify(_prior(BASE, BASE), True, plan, live, "rev2", "h", "")
    out, how = resolve(plan, sync, Choices(merge=True), live)
    assert (how, out.blocked, out.steps) == ("fail", True, ())


def test_restrict_sends_only_the_allowed_units_and_never_live_tools() -> None:
    live = copy.deepcopy(BASE)
    live["singlePromptConfig"]["tools"] = [
        {"type": "api_call", "name": "crm", "headers": {"Authorization": "<secret>"}}
    ]
    planned = _with(BASE, "singlePromptConfig.prompt", "New.")
    out = restrict(_plan(planned, live), live, {"singlePromptConfig.prompt"})
    (draft,) = [s for s in out.steps if s.kind == "draft"]
    assert draft.body == {"singlePromptConfig": {"prompt": "New."}}
    assert out.target_config["singlePromptConfig"] == {"prompt": "New.", "tools": live["singlePromptConfig"]["tools"]}
    tools_only = restrict(_plan(BASE, live), live, {"singlePromptConfig.tools"})
    (draft,) = [s for s in tools_only.steps if s.kind == "draft"]
    assert draft.body["singlePromptConfig"]["prompt"] == "Be helpful."  # v1 needs it with the tools (Atoms §K.2)
    assert restrict(_plan(planned, live), live, ()).steps == ()


def test_units_split_the_single_prompt_config_only() -> None:
    assert set(units(BASE)) == {
        "name",
        "firstMessage",
        "synthesizer",
        "singlePromptConfig.prompt",
        "singlePromptConfig.tools",
    }
    assert unit_of("singlePromptConfig.tools[2].name") == "singlePromptConfig.tools"
    assert unit_of("synthesizer.voiceConfig.voiceId") == "synthesizer"


# --- the post-call webhook rule ------------------------------------------------------------------

HOOK = {"webhook_id": "wh1", "webhook_url": "https://hooks.example.com/x", "name": "CRM", "is_disabled": False}


def _hooked(tables, webhooks: dict[str, Any] | None, read: dict[str, Any] | None = None, **platform: Any):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    config = agent_config()
    config["platform_settings"] = (
        {"workspace_overrides": {"webhooks": webhooks}, **platform} if webhooks is not None else platform
    )
    source = replace(make_source(config), webhooks={"wh1": read} if read else {})
    plan = plan_agent(source, tables)
    findings = [f for f in plan.findings if f.source_path == "platform_settings.workspace_overrides.webhooks"]
    return [s.body for s in plan.steps if s.kind == "webhook"], findings


@pytest.mark.parametrize(
    ("webhooks", "read", "platform", "types", "finding"),
    [
        (
            {"post_call_webhook_id": "wh1"},
            HOOK,
            {},
            ["post-conversation"],
            ("lossy", "warning", "receiving endpoint must change"),
        ),
        (
            {"post_call_webhook_id": "wh1"},
            HOOK,
            {"data_collection": {"x": {"type": "string", "description": "d"}}},
            ["post-conversation", "analytics-completed"],
            ("lossy", "warning", "X-Signature"),
        ),
        (
            {"post_call_webhook_id": "wh1", "events": ["transcript", "audio"], "transcript_format": "opentelemetry"},
            HOOK,
            {},
            ["post-conversation"],
            ("lossy", "warning", "OpenTelemetry"),
        ),
        ({"post_call_webhook_id": "wh1"}, None, {}, None, ("unmapped", "warning", "was not read")),
        ({"post_call_webhook_id": "wh1"}, {**HOOK, "is_disabled": True}, {}, None, ("unmapped", "info", "disabled")),
        (
            {"post_call_webhook_id": None, "events": ["transcript"]},
            None,
            {},
            None,
            ("ignored", "info", "No post-call webhook"),
        ),
    ],
)
def test_post_call_webhook_rule(tables, webhooks, read, platform, types, finding) -> None:
    steps, findings = _hooked(tables, webhooks, read, **platform)
    assert [s["event_types"] for s in steps] == ([types] if types else [])
    if types:
        assert steps[0]["url"] == HOOK["webhook_url"]
    (found,) = findings
    assert (found.status, found.severity) == finding[:2] and finding[2] in found.message
    if "audio" in str(webhooks.get("events")):
        assert "audio" in found.message
