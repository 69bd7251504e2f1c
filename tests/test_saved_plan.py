"""Saved plans in-process: what ``--out`` writes loads back, older files still load, and a damaged or
edited file is refused by the one ``SavedPlan`` model with the path of the bad field and a hint."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLE, make_source

from atoms_migrate.apply import saved
from atoms_migrate.apply.run import Planned
from atoms_migrate.errors import ConfigError
from atoms_migrate.model import Change, TargetEdit
from atoms_migrate.plan.planner import plan_agent

# What cli._settings writes today (a saved plan must be applied with the same options).
SETTINGS = {
    "set": {"region": "eu"},
    "secret_names": ["CRM_TOKEN"],
    "clone_voices": False,
    "branch": None,
    "force": False,
    "versioning": "auto",
    "publish_timeout": 120.0,
    "direct": False,
    "on_drift": "keep",
    "on_conflict": "fail",
    "merge": False,
}


def _planned(tables, **plan_changes: Any) -> Planned:
    source = make_source(json.loads(EXAMPLE.read_text()))
    plan = plan_agent(source, tables)
    return Planned(replace(plan, **plan_changes), source, None, None)


def _doc(tables, **plan_changes: Any) -> dict[str, Any]:
    entry = ({"kind": "file", "ref": "agents/support.json"}, _planned(tables, **plan_changes))
    return saved.saved_plan([entry], "sha256:tables", SETTINGS)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _write(project: Path, doc: Any) -> Path:
    path = project / "plan.json"
    path.write_text(json.dumps(doc))
    return path


def test_what_out_writes_loads_back_unchanged(tables, project) -> None:
    doc = _doc(tables)
    path = project / "plan.json"
    saved.write(path, doc)
    assert saved.load(path, project) == json.loads(json.dumps(doc))
    assert doc["format_version"] == "1" and doc["kind"] == "atoms-migrate-saved-plan"


def test_a_plan_that_settled_a_drift_loads_back(tables, project) -> None:
    change = Change("firstMessage", "Hi", "Hello", "agent.first_message", "first_message", "mapped")
    doc = _doc(
        tables,
        sync="drifted",
        resolution="keep",
        target_edits=(TargetEdit("firstMessage", "Hi", "Hey"),),
        pending_changes=(change,),
    )
    assert {"sync", "resolution", "target_edits", "pending_changes"} <= set(doc["agents"][0]["plan"])
    assert saved.load(_write(project, doc), project)["agents"][0]["plan"]["sync"] == "drifted"


def test_an_older_plan_without_later_keys_still_loads(tables, project) -> None:
    doc = _doc(tables)
    for key in ("created_by", "created_at"):
        doc.pop(key)
    for key in ("direct", "on_drift", "on_conflict", "merge"):
        doc["settings"].pop(key)
    doc["agents"][0]["plan"].pop("tool_parity")
    assert saved.load(_write(project, doc), project)["settings"] == doc["settings"]


def _damage(tables, change) -> dict[str, Any]:
    doc = copy.deepcopy(_doc(tables))
    change(doc)
    return doc


@pytest.mark.parametrize(
    "change, needle",
    [
        (lambda d: d["agents"][0].pop("source"), "agents[0].source is missing"),
        (lambda d: d["agents"][0]["source"].pop("hash"), "agents[0].source.hash is missing"),
        (lambda d: d["agents"][0].pop("plan"), "agents[0].plan is missing"),
        (lambda d: d["agents"][0]["plan"]["source"].pop("key"), "agents[0].plan.source.key is missing"),
        (lambda d: d["agents"][0]["source"].__setitem__("kind", "url"), "agents[0].source.kind must be id or file"),
        (lambda d: d["agents"][0]["source"].__setitem__("ref", 7), "agents[0].source.ref must be a string"),
        (lambda d: d.__setitem__("agents", {}), "agents must be an array"),
        (lambda d: d.pop("agents"), "agents is missing"),
        (lambda d: d.__setitem__("tables_hsah", "x"), "tables_hsah is not a field of a saved plan"),
        (lambda d: d["settings"].__setitem__("dry_run", True), "settings.dry_run is not a field of a saved plan"),
        (lambda d: d["settings"].__setitem__("publish_timeout", -1), "settings.publish_timeout: must be a positive"),
        (lambda d: d["settings"].__setitem__("on_drift", "merge"), "settings.on_drift must be keep or overwrite"),
        (lambda d: d["agents"][0]["plan"]["steps"][0].__setitem__("kind", "delete"), "agents[0].plan.steps[0].kind"),
        (
            lambda d: d["agents"][0]["target"].__setitem__("agent_id", "x/../../agent"),
            "agents[0].target.agent_id: 'x/../../agent' is not an agent id",
        ),
    ],
)
def test_a_damaged_plan_is_refused_naming_the_field(tables, project, change, needle) -> None:
    path = _write(project, _damage(tables, change))
    with pytest.raises(ConfigError) as info:
        saved.load(path, project)
    assert info.value.message.startswith(f"{path} is not a valid saved plan: {needle}"), info.value.message
    assert info.value.message.endswith("nothing was sent")
    assert info.value.hint == saved.REPLAN_HINT


def test_several_problems_are_counted_after_the_first(tables, project) -> None:
    doc = _damage(tables, lambda d: d["agents"][0]["source"].pop("hash"))
    doc["settings"]["colour"] = "red"
    doc["settings"]["weather"] = "fine"
    # Fields are checked in the file's order: settings come before agents.
    with pytest.raises(ConfigError, match=r"settings\.colour is not a field of a saved plan \(format 1\) \(and 2 more"):
        saved.load(_write(project, doc), project)


@pytest.mark.parametrize(
    "doc, needle, hint",
    [
        ([1, 2], "is not a saved atoms-migrate plan", "Make one with --dry-run --out plan.json."),
        ({"kind": "terraform"}, "is not a saved atoms-migrate plan", "Make one with --dry-run --out plan.json."),
        (
            {"kind": saved.KIND, "format_version": "2", "whatever": 1},
            "has plan format '2'; this version reads 1",
            "Plan again with this version of atoms-migrate.",
        ),
        (
            {"kind": saved.KIND, "format_version": "1", "tables_hash": "h", "agents": []},
            "holds no agents",
            "Plan again with --dry-run --out.",
        ),
    ],
)
def test_what_is_not_a_plan_of_this_format_is_refused_first(project, doc, needle, hint) -> None:
    with pytest.raises(ConfigError, match=needle) as info:
        saved.load(_write(project, doc), project)
    assert info.value.hint == hint


def test_a_source_file_outside_the_project_is_refused(tables, project) -> None:
    doc = _damage(tables, lambda d: d["agents"][0]["source"].__setitem__("ref", "../../etc/passwd.json"))
    with pytest.raises(ConfigError, match="is not an agent file inside the project"):
        saved.load(_write(project, doc), project)


def test_an_id_source_must_be_one_path_segment_and_match_its_agent_id(tables, project) -> None:
    doc = _damage(tables, lambda d: d["agents"][0]["source"].update(kind="id", ref="../../v1/user"))
    with pytest.raises(ConfigError, match="is not an ElevenLabs agent id"):
        saved.load(_write(project, doc), project)
    doc = _damage(tables, lambda d: d["agents"][0]["source"].update(kind="id", ref="agent_1", agent_id="agent_2"))
    with pytest.raises(ConfigError, match="agent_id 'agent_2' does not match ref 'agent_1'"):
        saved.load(_write(project, doc), project)


def test_a_plan_that_cannot_be_written_is_a_config_error(tables, tmp_path) -> None:
    with pytest.raises(ConfigError, match="cannot write the plan to"):
        saved.write(tmp_path / "missing-folder" / "plan.json", _doc(tables))
