"""The state file (apply/state.py), in process: round trip, refusal of newer formats, atomic writes, entries."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from atoms_migrate.apply.state import (
    FORMAT_VERSION,
    AgentState,
    KnowledgeBaseState,
    LastOperation,
    StateFile,
    StateTooNew,
    WebhookSubscriptionState,
    canonical_hash,
    entry_after,
    load_state,
    record,
    save_state,
    tables_hash,
    update_state,
)
from atoms_migrate.errors import ConfigError


def _full_state() -> StateFile:
    """A state that uses every part of the format."""
    return StateFile(
        agents={
            "agent_1": AgentState(
                smallest_agent_id="atoms-1",
                name="Support (2)",
                source_name="Support",
                versioning="v1",
                branch_id="br-1",
                branch_name="main",
                live=False,
                revision_id="rev-9",
                source_hash="sha256:aa",
                tables_hash="sha256:bb",
                created_by_atoms_migrate=True,
                applied_at="2026-12-01T10:00:00+00:00",
                last_operation=LastOperation(kind="update", previous_branch_id="br-0", previous_revision_id="rev-8"),
                planned_fields={"prompt": "sha256:p"},
                published_fields={"prompt": "sha256:q"},
                open_draft={"draft_id": "d-1"},
            ),
            "file:agents/sales.json": AgentState(smallest_agent_id="atoms-2"),
        },
        voice_clones={"el-voice": "voice_123"},
        knowledge_bases={"agent_1": KnowledgeBaseState(kb_id="kb-1", documents={"doc-1": "pdf:faq.pdf"})},
        webhooks={"sha256:url": "wh-1"},
        webhook_subscriptions={
            "agent_1": WebhookSubscriptionState(
                webhook_id="wh-1", agent_id="atoms-1", url_hash="sha256:url", event_types=["post-conversation"]
            )
        },
        write_forms={"prompt": "globalPrompt"},
    )


def test_a_saved_state_reads_back_equal_as_sorted_json(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "state.json"  # folders are made
    state = _full_state()
    save_state(path, state)
    assert load_state(path) == state
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n") and json.loads(text)["format_version"] == FORMAT_VERSION
    assert list(json.loads(text)) == sorted(json.loads(text))  # stable order: diffs of the file stay small
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]  # no temporary file left behind


def test_a_missing_state_file_is_an_empty_state(tmp_path: Path) -> None:
    state = load_state(tmp_path / "nowhere.json")
    assert state == StateFile() and state.agents == {} and state.format_version == FORMAT_VERSION


def test_an_older_file_without_the_later_fields_reads_with_their_defaults(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"agents": {"a": {"smallest_agent_id": "atoms-1", "retired_field": 1}}}))
    state = load_state(path)
    entry = state.agents["a"]
    assert entry.smallest_agent_id == "atoms-1" and entry.planned_fields == {} and entry.open_draft is None
    assert state.webhooks == {} and state.write_forms == {} and state.format_version == FORMAT_VERSION


@pytest.mark.parametrize("version", [FORMAT_VERSION + 1, str(FORMAT_VERSION + 1), 99])
def test_a_state_file_from_a_newer_build_is_refused_and_left_as_it_is(tmp_path: Path, version: Any) -> None:
    path = tmp_path / "state.json"
    original = json.dumps({"format_version": version, "agents": {}, "future_thing": {"x": 1}})
    path.write_text(original)
    with pytest.raises(StateTooNew, match="newer atoms-migrate") as caught:
        load_state(path)
    assert "Upgrade atoms-migrate" in (caught.value.hint or "")
    with pytest.raises(StateTooNew):
        update_state(path, lambda state: state.voice_clones.__setitem__("v", "c"))
    with pytest.raises(StateTooNew):
        record(path, "agent_1", AgentState(smallest_agent_id="atoms-1"))
    assert path.read_text() == original  # never rewritten as version 1, so nothing it holds is lost


@pytest.mark.parametrize("version", [FORMAT_VERSION, str(FORMAT_VERSION), f" {FORMAT_VERSION} ", 0])
def test_this_builds_format_and_older_ones_are_read(tmp_path: Path, version: Any) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"format_version": version, "voice_clones": {"v": "c"}}))
    assert load_state(path).voice_clones == {"v": "c"}


@pytest.mark.parametrize(
    "text, says",
    [
        ('{"format_version": true}', "not a version number"),
        ('{"format_version": "one"}', "not a version number"),
        ('{"format_version": -1}', "not a version number"),
        ('{"format_version": [1]}', "not a version number"),
        ("{not json", "cannot be read"),
        ("[1, 2]", "cannot be read"),
        ('{"agents": {"a": {"name": "no id"}}}', "cannot be read"),  # (the message does not name the field)
    ],
)
def test_a_damaged_state_file_is_one_clear_error(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=says) as caught:
        load_state(path)
    assert not isinstance(caught.value, StateTooNew)
    assert str(path) in caught.value.message and "marker" in (caught.value.hint or "")


def test_a_state_path_that_is_a_folder_is_refused_on_read_and_on_write(tmp_path: Path) -> None:
    folder = tmp_path / "state.json"
    folder.mkdir()
    with pytest.raises(ConfigError, match="cannot be read"):
        load_state(folder)
    with pytest.raises(ConfigError, match="cannot write state file"):
        save_state(folder, StateFile())
    assert list(tmp_path.iterdir()) == [folder] and list(folder.iterdir()) == []  # the temporary file is removed


def test_record_sets_and_removes_one_entry_and_keeps_the_others(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    save_state(path, _full_state())
    record(path, "agent_3", AgentState(smallest_agent_id="atoms-3"))
    assert sorted(load_state(path).agents) == ["agent_1", "agent_3", "file:agents/sales.json"]
    record(path, "agent_1", None)
    state = load_state(path)
    assert sorted(state.agents) == ["agent_3", "file:agents/sales.json"]
    assert state.voice_clones == {"el-voice": "voice_123"} and state.knowledge_bases["agent_1"].kb_id == "kb-1"
    record(path, "never-there", None)  # removing what is not there is no error
    assert sorted(load_state(path).agents) == ["agent_3", "file:agents/sales.json"]


def test_update_state_rereads_the_file_so_a_concurrent_change_survives(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    save_state(path, StateFile(voice_clones={"a": "1"}))
    stale = load_state(path)
    record(path, "agent_9", AgentState(smallest_agent_id="atoms-9"))  # another writer, after our read
    update_state(path, lambda state: state.voice_clones.__setitem__("b", "2"))
    state = load_state(path)
    assert state.voice_clones == {"a": "1", "b": "2"} and "agent_9" in state.agents and stale.agents == {}


def test_canonical_hash_ignores_key_order_and_whitespace_but_not_values() -> None:
    assert canonical_hash({"a": 1, "b": [1, 2]}) == canonical_hash({"b": [1, 2], "a": 1})
    assert canonical_hash({"a": 1}) != canonical_hash({"a": 2}) != canonical_hash({"a": "1"})
    assert canonical_hash({"name": "Zoë"}).startswith("sha256:") and len(canonical_hash({})) == len("sha256:") + 64


def _result(**fields: Any) -> SimpleNamespace:
    """An ``apply.ApplyResult``-shaped value (entry_after reads it by attribute)."""
    base = {
        "agent_id": "atoms-1",
        "versioning": "v2",
        "branch_id": "br-2",
        "branch_name": "main",
        "live": True,
        "revision_id": None,
        "created": False,
        "previous_branch_id": None,
        "previous_revision_id": None,
        "open_draft": None,
    }
    return SimpleNamespace(**base | fields)


def test_entry_after_a_create_records_what_rollback_needs(tables: Any) -> None:
    entry = entry_after(_result(created=True, revision_id="rev-1"), "Support", {"name": "Support"}, tables, None, "S")
    assert entry.created_by_atoms_migrate and entry.revision_id == "rev-1" and entry.source_name == "S"
    assert entry.last_operation == LastOperation(kind="create")
    assert entry.source_hash == canonical_hash({"name": "Support"}) and entry.tables_hash == tables_hash(tables)
    assert entry.applied_at.endswith("+00:00")


def test_entry_after_an_update_and_after_a_no_op(tables: Any) -> None:
    prior = AgentState(
        smallest_agent_id="atoms-1",
        source_name="Support",
        revision_id="rev-1",
        created_by_atoms_migrate=True,
        last_operation=LastOperation(kind="create"),
    )
    updated = entry_after(
        _result(revision_id="rev-2", previous_branch_id="br-2", previous_revision_id="rev-1"), "N", {}, tables, prior
    )
    assert updated.last_operation == LastOperation(
        kind="update", previous_branch_id="br-2", previous_revision_id="rev-1"
    )
    assert updated.created_by_atoms_migrate  # made by us once: still ours after an update (rollback may archive it)
    assert updated.source_name == "Support"  # kept from the prior entry when the caller gives none
    unchanged = entry_after(_result(open_draft={"draft_id": "d"}), "N", {}, tables, updated)
    assert unchanged.revision_id == "rev-2" and unchanged.last_operation == updated.last_operation
    assert unchanged.open_draft == {"draft_id": "d"}
    fresh = entry_after(_result(), "N", {}, tables, None)
    assert fresh.last_operation is None and not fresh.created_by_atoms_migrate and fresh.revision_id is None
