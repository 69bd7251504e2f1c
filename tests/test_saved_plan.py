"""Saved plans in-process: what ``--out`` writes loads back, older files still load, and a damaged or
edited file is refused by the one ``SavedPlan`` model with the path of the bad field and a hint."""

from __future__ import annotations

import copy
import json
import os
import re
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

# What ``SavedSettings.from_config`` writes for a run (a saved plan must be applied with the same options).
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
    return saved.saved_plan([entry], "sha256:tables", saved.SavedSettings.model_validate(SETTINGS)).document()


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
    saved.write(path, saved.SavedPlan.model_validate(doc))
    assert saved.load(path, project).document() == json.loads(json.dumps(doc))
    assert doc["format_version"] == "1" and doc["kind"] == "atoms-migrate-saved-plan"


# A plan that settled a drift: it has the keys of the three-way sync, which older plans lack.
DRIFTED: dict[str, Any] = {
    "sync": "drifted",
    "resolution": "keep",
    "target_edits": (TargetEdit("firstMessage", "Hi", "Hey"),),
    "pending_changes": (Change("firstMessage", "Hi", "Hello", "agent.first_message", "first_message", "mapped"),),
}


def test_a_plan_that_settled_a_drift_loads_back(tables, project) -> None:
    doc = _doc(tables, **DRIFTED)
    assert {"sync", "resolution", "target_edits", "pending_changes"} <= set(doc["agents"][0]["plan"])
    assert saved.load(_write(project, doc), project).agents[0].plan.sync == "drifted"


def test_an_older_plan_without_later_keys_still_loads(tables, project) -> None:
    doc = _doc(tables)
    for key in ("created_by", "created_at"):
        doc.pop(key)
    for key in ("direct", "on_drift", "on_conflict", "merge"):
        doc["settings"].pop(key)
    doc["agents"][0]["plan"].pop("tool_parity")
    loaded = saved.load(_write(project, doc), project)
    assert loaded.document()["settings"] == doc["settings"]
    assert (loaded.settings.direct, loaded.settings.on_drift, loaded.settings.on_conflict) == (False, "keep", "fail")


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
        saved.write(tmp_path / "missing-folder" / "plan.json", saved.SavedPlan.model_validate(_doc(tables)))


# Not in tests/golden/: that folder holds the public plan JSON, checked against its schema.
GOLDEN = Path(__file__).parent / "fixtures" / "saved" / "plan-golden.json"


def _golden_entries(tables) -> list[tuple[dict[str, str], Planned]]:
    """Two agents: a file planned as a create, and an id planned as a drifted update of a live agent."""
    from atoms_migrate.apply.applier import Target

    drifted = _planned(tables, **DRIFTED)
    drifted.target = Target("a" * 24, "v2", {}, revision_id="rev_7")
    return [
        ({"kind": "file", "ref": "agents/support.json"}, _planned(tables)),
        ({"kind": "id", "ref": "agent_01", "agent_id": "agent_01"}, drifted),
    ]


def _written(tables, path: Path) -> str:
    settings = saved.SavedSettings.model_validate(SETTINGS)
    saved.write(path, saved.saved_plan(_golden_entries(tables), "sha256:tables", settings))
    # The two fields that differ from run to run and release to release.
    text = re.sub(r'"created_at": "[^"]*"', '"created_at": "<now>"', path.read_text(encoding="utf-8"))
    return re.sub(r'"created_by": "[^"]*"', '"created_by": "<version>"', text)


def test_the_file_out_writes_is_byte_for_byte_the_golden(tables, tmp_path) -> None:
    """The golden was written by the hand-built writer the models replaced: the same plan, the same bytes."""
    written = _written(tables, tmp_path / "plan.json")
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(written, encoding="utf-8")
    assert written == GOLDEN.read_text(encoding="utf-8")


def test_the_saved_settings_give_back_the_options_of_the_run_that_made_them(tables, tmp_path) -> None:
    from atoms_migrate.cli.context import run_config
    from atoms_migrate.settings import Settings

    settings = Settings(secret_env={"ATOMS_MIGRATE_SECRET_CRM_TOKEN": "s3cret"})
    made = run_config(
        tables, tmp_path / "state.json", ["region=eu"], [], True, "staging", True, "v2", 30.0,
        True, "overwrite", "target", True, settings=settings,
    )  # fmt: skip
    written = saved.SavedSettings.from_config(made)
    assert written.model_dump() == {
        "set": {"region": "eu"},
        "secret_names": ["CRM_TOKEN"],
        "clone_voices": True,
        "branch": "staging",
        "force": True,
        "versioning": "v2",
        "publish_timeout": 30.0,
        "direct": True,
        "on_drift": "overwrite",
        "on_conflict": "target",
        "merge": True,
    }
    again = run_config(tables, tmp_path / "state.json", secrets=[], settings=settings, **written.run_options())
    assert saved.SavedSettings.from_config(again) == written
    assert (again.secret_values, again.sync, again.versioning) == ({"CRM_TOKEN": "s3cret"}, made.sync, "v2")


def test_a_secret_the_plan_was_made_with_must_be_given_again() -> None:
    from atoms_migrate.mapping.webhooks import ToolOptions

    settings = saved.SavedSettings(secret_names=["CRM_TOKEN", "API_KEY"])
    settings.check_secrets(ToolOptions(secret_names=frozenset({"CRM_TOKEN", "API_KEY"})))
    with pytest.raises(ConfigError) as info:
        settings.check_secrets(ToolOptions(secret_names=frozenset({"CRM_TOKEN"})))
    assert info.value.message == "the plan was made with secrets that are not given now: API_KEY"
    assert info.value.hint == "Pass each again with --secret NAME=VALUE (or ATOMS_MIGRATE_SECRET_<NAME>)."


def _entry(tables, planned: Planned) -> saved.SavedAgent:
    return saved.SavedAgent.of({"kind": "file", "ref": "agents/support.json"}, planned)


def test_a_plan_made_again_stands_in_for_the_saved_one_only_when_nothing_changed(tables) -> None:
    from atoms_migrate.apply.applier import Target

    live = Target("a" * 24, "v2", {}, revision_id="rev_1")
    then = _planned(tables)
    then.target = live
    entry = _entry(tables, then)
    now = _planned(tables)

    def refused(**changes: Any) -> str | None:
        planned = replace(now, **{"target": live, **changes})
        return saved.refusal(entry, planned, "h", "h")

    assert refused() is None
    source = make_source({**then.source.raw, "name": "Renamed"})
    assert refused(source=source) == "its source changed since planning"
    assert refused(target=None) == f"its Atoms agent {live.agent_id} is gone since planning"
    assert refused(target=replace(live, agent_id="b" * 24)) == (
        f"its target is now Atoms agent {'b' * 24}, not {live.agent_id}"
    )
    assert refused(target=replace(live, revision_id="rev_2")) == (
        "the target's live revision changed since planning (rev_1 -> rev_2)"
    )
    assert saved.refusal(entry, replace(now, target=live), "other", "h") == "the mapping tables changed since planning"
    assert refused(plan=replace(now.plan, steps=now.plan.steps[:-1])) == (
        "planning again gives different write steps (options or state changed since planning)"
    )
    # The summaries are words for people: a new wording is not a different plan.
    steps = tuple(replace(s, summary=s.summary + "!") for s in now.plan.steps)
    assert refused(plan=replace(now.plan, steps=steps)) is None
    created = _entry(tables, _planned(tables))
    assert saved.refusal(created, replace(now, target=live), "h", "h") == (
        f"an Atoms agent for it appeared since planning ({live.agent_id})"
    )


def test_a_plan_that_could_not_be_loaded_back_is_not_saved(tables) -> None:
    entry = ({"kind": "id", "ref": "agent_1", "agent_id": "x/../../agent"}, _planned(tables))
    with pytest.raises(ConfigError) as info:
        saved.saved_plan([entry], "sha256:tables", saved.SavedSettings())
    assert info.value.message == (
        "the plan cannot be saved: agent_id: 'x/../../agent' is not an agent id (letters, digits, '_' and '-' only);"
        " nothing was written"
    )
