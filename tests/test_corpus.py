"""Every real agent in ../shared/corpus plans, and nothing in it is dropped silently.

The corpus is third-party text: it is read where it lies and never copied into the
project. Where the folder is absent (a clone without ../shared) the test skips.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CORPUS

from atoms_migrate.errors import NotAnAgentConfig
from atoms_migrate.mapping.engine import map_agent, uncovered_file_leaves, uncovered_leaves
from atoms_migrate.plan.planner import plan_agent
from atoms_migrate.source.shapes import load_tools_dir, normalise, read_config_file

# Files in the corpus that are not agent configs (its INDEX.md says so): a custom
# declarative format consumed by the author's own build script, and a workflow-only graph.
NOT_AGENTS = {
    "1forworkonly16__scg-voice-anna__scg-anna-declarative.json": "not an ElevenLabs agent config",
    "Djordje050182__virgin-velocity-voice__guest-care-workflow.json": "workflow graph",
}

FILES = sorted(p for p in CORPUS.glob("*.json") if p.name != "index.json") if CORPUS.is_dir() else []
needs_corpus = pytest.mark.skipif(not FILES, reason=f"corpus not found at {CORPUS} (clone with ../shared beside it)")


@needs_corpus
@pytest.mark.parametrize("file", FILES, ids=[f.name for f in FILES])
def test_corpus_agent_plans_with_every_field_accounted_for(tables, file: Path) -> None:
    raw = read_config_file(file)
    if file.name in NOT_AGENTS:
        with pytest.raises(NotAnAgentConfig, match=NOT_AGENTS[file.name]):
            normalise(raw, file.name)
        return
    source = normalise(raw, file.name, path=str(file))
    result = map_agent(source, tables)
    assert uncovered_leaves(source, result) == []
    assert uncovered_file_leaves(source, result) == []  # in the file's own paths, too
    plan = plan_agent(source, tables)
    assert plan.action == "create"
    config = plan.target_config
    assert config["name"] and config["workflowType"] == "single_prompt"
    assert "switching" in config["language"] and config["language"]["default"] in config["language"]["supported"]
    assert config["synthesizer"]["voiceConfig"]["voiceId"]
    assert all(" " not in t["name"] for t in config.get("singlePromptConfig", {}).get("tools", []))
    assert len(config.get("firstMessage", "")) <= 500
    assert not _has_null(config), "Atoms rejects nulls: the plan must omit instead"


@needs_corpus
def test_corpus_tool_files_read_but_cannot_resolve_tool_ids() -> None:
    # Every file parses; none carries an id or is named after one, so --tools-dir on this
    # folder resolves nothing and the plan reports each tool_id as not fetched.
    for file in (CORPUS / "tools").glob("*.json"):
        assert isinstance(read_config_file(file), dict)
    assert load_tools_dir(CORPUS / "tools") == {}


def _has_null(value) -> bool:
    if isinstance(value, dict):
        return any(v is None or _has_null(v) for v in value.values())
    if isinstance(value, list):
        return any(v is None or _has_null(v) for v in value)
    return False
