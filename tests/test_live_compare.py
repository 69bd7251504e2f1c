"""Comparing planned and live configs, and folding Atoms read layouts into planner shape."""

from __future__ import annotations

import pytest

from atoms_migrate.plan.compare import differences, matches
from atoms_migrate.plan.live import live_config


@pytest.mark.parametrize(
    "expected, actual, same",
    [
        ({"a": 1}, {"a": 1.0}, True),
        ({"a": 1}, {"a": 1, "server_default": True}, True),
        ({"a": {"b": "x"}}, {"a": {"b": "x", "c": 2}}, True),
        ([{"name": "t"}], [{"name": "t", "enabled": True}], True),
        ({"a": 1}, {}, False),
        ({"a": True}, {"a": 1}, False),
        ({"a": 0.5}, {"a": 0.6}, False),
        ([1, 2], [1, 2, 3], False),
        ({"a": "x"}, {"a": ["x"]}, False),
        ({"a": []}, {"a": []}, True),
    ],
)
def test_matches_compares_values_the_plan_sets(expected, actual, same) -> None:
    assert matches(expected, actual) is same


def test_differences_name_each_leaf() -> None:
    planned = {"synthesizer": {"voiceConfig": {"voiceId": "rachel"}, "speed": 1.0}, "firstMessage": "Hi"}
    live = {"synthesizer": {"voiceConfig": {"voiceId": "nyah"}, "speed": 1.0}}
    assert differences(planned, live) == [
        ("synthesizer.voiceConfig.voiceId", "rachel", "nyah"),
        ("firstMessage", "Hi", None),
    ]


def test_live_config_folds_mirrors_resolved_and_revision_sections() -> None:
    agent = {
        "_id": "a1",
        "name": "A",
        "description": "d",
        "slmModel": "electron",
        "firstMessage": "old",
        "language": {"default": "en", "supported": ["en"]},
        "_resolvedConfig": {
            "prompt": "P",
            "tools": [{"name": "end_call"}],
            "modelName": "gpt-4o",
            "languageSwitching": {"isEnabled": False},
            "workflowGraph": None,
        },
    }
    revision = {
        "workflow_prompt": {"prompt": "P2"},
        "workflow_tools": {"tools": [{"name": "end_call", "enabled": True}]},
        "call_handling": {"firstMessage": "new"},
        "language": {"defaultLanguage": "hi", "supportedLanguages": ["hi", "en"]},
        "voice": {"synthesizerSampleRate": 24000},
    }
    live = live_config(agent, revision)
    assert live["name"] == "A" and live["description"] == "d"
    assert live["singlePromptConfig"] == {"prompt": "P2", "tools": [{"name": "end_call", "enabled": True}]}
    assert live["slmModel"] == "gpt-4o"
    assert live["firstMessage"] == "new"
    assert live["language"] == {"default": "hi", "supported": ["hi", "en"], "switching": {"isEnabled": False}}
    assert live["synthesizer"] == {"sampleRate": 24000}
    assert "workflowGraph" not in live


def test_live_config_treats_nulls_as_absent() -> None:
    assert live_config({"firstMessage": None, "name": "A"}) == {"name": "A"}
