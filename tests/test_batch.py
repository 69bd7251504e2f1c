"""Batch building blocks: enumeration, filters, shards, the pool, the request gate, CI outputs."""

from __future__ import annotations

import json
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest

from atoms_migrate.errors import ConfigError
from atoms_migrate.model import AgentPlan, Finding, SourceRef
from atoms_migrate.platforms.ratelimit import RequestGate
from atoms_migrate.report.ci import AgentResult, github_annotations, junit_xml
from atoms_migrate.source.select import SourceSpec, enumerate_directory, parse_shard, run_pool, select, shard

SPECS = [
    SourceSpec("agent_a", "id", "Support EN", ("support",)),
    SourceSpec("agent_b", "id", "Sales", ("sales",)),
    SourceSpec("agents/c.json", "file", "c"),
    SourceSpec("agents/d.json", "file", "d", agent_id="agent_d"),
]


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({}, ["agent_a", "agent_b", "file:agents/c.json", "agent_d"]),
        ({"only": ["agent_b", "c.json"]}, ["agent_b", "file:agents/c.json"]),
        ({"exclude": ["agent_a", "agent_d"]}, ["agent_b", "file:agents/c.json"]),
        ({"tags": ["support", "vip"]}, ["agent_a"]),
        ({"search": "sales"}, ["agent_b"]),
    ],
)
def test_select(kwargs, expected) -> None:
    assert [s.key for s in select(SPECS, **kwargs)] == expected


def test_shards_are_disjoint_complete_and_stable() -> None:
    specs = [SourceSpec(f"agent_{i}", "id") for i in range(200)]
    parts = [shard(specs, i, 4) for i in range(1, 5)]
    assert sorted(s.key for p in parts for s in p) == sorted(s.key for s in specs)
    assert all(len(p) > 20 for p in parts)
    # Adding an agent does not move the others.
    assert set(parts[1]) <= set(shard(specs + [SourceSpec("agent_new", "id")], 2, 4))


@pytest.mark.parametrize("text", ["0/2", "3/2", "a/b", "2"])
def test_bad_shard_is_refused(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_shard(text)


def test_directory_and_cli_project_enumeration(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("{}")
    (tmp_path / "tools.json").write_text("{}")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deep.json").write_text("{}")
    specs, notes = enumerate_directory(tmp_path)
    assert [Path(s.ref).name for s in specs] == ["a.json"] and "tools.json" in notes[0]
    project = tmp_path / "project"
    (project / "agent_configs").mkdir(parents=True)
    (project / "agent_configs" / "Bot.json").write_text("{}")
    (project / "agents.json").write_text(
        json.dumps(
            {
                "agents": [
                    {"config": "agent_configs/Bot.json", "id": "agent_9"},
                    {"config": "agent_configs/Missing.json"},
                ]
            }
        )
    )
    specs, notes = enumerate_directory(project)
    assert [(s.key, Path(s.ref).name) for s in specs] == [("agent_9", "Bot.json")] and "Missing.json" in notes[0]


def test_pool_isolates_failures_and_keeps_order() -> None:
    seen = []
    lock = threading.Lock()

    def work(n: int) -> int:
        if n == 3:
            raise ValueError("boom")
        return n * 10

    def done(result) -> None:
        with lock:
            seen.append(result.item)

    results = run_pool(list(range(6)), work, 3, on_done=done)
    assert [r.value for r in results] == [0, 10, 20, None, 40, 50]
    assert isinstance(results[3].error, ValueError) and sorted(seen) == list(range(6))


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.mark.parametrize("rps", [5, 10, 2.5, 0.5])
def test_gate_never_lets_more_than_the_rate_into_any_sliding_second(rps) -> None:
    t = FakeTime()
    gate = RequestGate(max_rps=rps, clock=t.clock, sleep=t.sleep)
    sent = []
    for _ in range(40):
        gate.wait_turn()
        sent.append(t.now)
    worst = max(sum(1 for s in sent if now - 1.0 < s <= now) for now in sent)
    assert worst <= max(1, int(rps))  # what a server counting (now - 1 s, now] sees: no 429 at the account's limit
    usable = min(rps, max(1, int(rps)))  # a fractional limit above 1 is used as its whole part
    assert sent[-1] <= 39 / usable * 1.06  # and the rate is still used: at most a few per cent below it


def test_a_429_pauses_every_caller_for_its_retry_after() -> None:
    t = FakeTime()
    gate = RequestGate(clock=t.clock, sleep=t.sleep)
    gate.saw_response(httpx.Response(429, headers={"Retry-After": "3"}, request=httpx.Request("GET", "https://x")))
    gate.wait_turn()
    assert t.now == pytest.approx(3.0) and gate.pauses == 1
    gate.saw_response(httpx.Response(200, request=httpx.Request("GET", "https://x")))
    before = t.now
    gate.wait_turn()
    assert t.now == before


def _plan(key: str, findings: tuple[Finding, ...] = ()) -> AgentPlan:
    return AgentPlan(
        source=SourceRef(key=key, agent_id=None, name=f"Agent {key}", path=f"agents/{key}.json", shape="api-response"),
        action="create",
        target_agent_id=None,
        target_config={},
        changes=(),
        findings=findings,
    )


def test_junit_has_one_case_per_agent_with_failures_for_errors_and_failed_applies() -> None:
    error = Finding("conversation_config.agent.language", "unmapped", "error", "French cannot be served.", "Pick en.")
    warning = Finding("x", "lossy", "warning", "Approximated.")
    plans = [_plan("a"), _plan("b", (error,)), _plan("c", (warning,))]
    xml = junit_xml(plans, {"a": AgentResult("created", seconds=1.5), "c": AgentResult("failed", "scan rejected it")})
    root = ET.fromstring(xml)
    assert root.get("tests") == "3" and root.get("failures") == "2"
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert cases["Agent a [a]"].find("failure") is None and cases["Agent a [a]"].get("time") == "1.500"
    assert "French cannot be served" in cases["Agent b [b]"].find("failure").text
    assert cases["Agent c [c]"].find("failure").get("message") == "apply failed: scan rejected it"
    assert "Approximated." in cases["Agent c [c]"].find("system-out").text


def test_annotations_show_ten_per_level_the_last_counting_the_rest() -> None:
    plans = [_plan(str(i), (Finding("p", "unmapped", "error", f"bad {i}\nsecond line"),)) for i in range(14)]
    lines = github_annotations(plans, {})
    assert len(lines) == 10 and lines[-1].startswith("::error title=atoms-migrate::5 more error(s)")
    assert "%0A" in lines[0] and "file=agents/0.json" in lines[0]
    assert len(github_annotations(plans[:10], {})) == 10


# (id, [(key, source name, recorded Atoms name)], expected {key: Atoms name})
NAME_ROWS = [
    ("distinct names kept", [("a", "Sales", None), ("b", "Support", None)], {"a": "Sales", "b": "Support"}),
    (
        "same name: the second by key gets Atoms' suffix",
        [("file:b.json", "Support", None), ("file:a.json", "Support", None)],
        {"file:a.json": "Support", "file:b.json": "Support (2)"},
    ),
    ("three copies", [("a", "X", None), ("b", "X", None), ("c", "X", None)], {"a": "X", "b": "X (2)", "c": "X (3)"}),
    ("a recorded name is kept and reserved", [("a", "X", None), ("b", "X", "X")], {"a": "X (2)", "b": "X"}),
    ("a recorded server suffix is kept", [("a", "X", None), ("b", "X", "X (2)")], {"a": "X", "b": "X (2)"}),
]


@pytest.mark.parametrize("sources, expected", [r[1:] for r in NAME_ROWS], ids=[r[0] for r in NAME_ROWS])
def test_plan_names_keeps_same_named_sources_apart(sources, expected) -> None:
    from atoms_migrate.source.select import plan_names

    assert plan_names(sources) == expected


@pytest.mark.parametrize(
    "live, planned, expected",
    [
        ("Support (2)", "Support", True),
        ("Support (12)", "Support", True),
        ("Support", "Support", False),
        ("Support (copy)", "Support", False),
        ("Other (2)", "Support", False),
    ],
)
def test_is_suffixed(live, planned, expected) -> None:
    from atoms_migrate.source.select import is_suffixed

    assert is_suffixed(live, planned) is expected
