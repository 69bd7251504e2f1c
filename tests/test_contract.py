"""The request bodies the applier sends, against the vendor SDK's own types (smallestai 5.14.0).

conftest's autouse ``_sdk_contract`` already checks every Atoms write of every test that
uses the sandbox; here the checker itself is proven (it must catch each kind of violation),
the sandbox's enums are held to the SDK's ``Literal``s, and the scenarios that exercise each
write endpoint and form are run explicitly, with the bodies they must send.
"""

from __future__ import annotations

import copy
import json
import typing

import conftest
import httpx
import pytest
import sdk_contract
from conftest import EXAMPLE, make_source

from atoms_migrate.apply.applier import Applier, ApplyOptions, locate
from atoms_migrate.plan.planner import plan_agent
from atoms_migrate.platforms.retry import RetryPolicy
from atoms_migrate.platforms.smallest import AtomsClient
from atoms_migrate.sandbox import atoms as fake
from atoms_migrate.sandbox.server import ATOMS_KEY, Sandbox

DRAFT = "/atoms/v1/agent/a1/branches/b1/draft"
CONFIG = "/atoms/v1/agent/a1/drafts/d1/config"


@pytest.mark.parametrize(
    ("method", "path", "body", "fragment"),
    [
        ("PUT", DRAFT, {"workflowType": "single_prompt"}, "workflowType: not a parameter"),
        ("PUT", DRAFT, {"slmModel": "gpt-9"}, "'gpt-9' is not one of the SDK's values"),
        ("PUT", DRAFT, {"timezone": 180}, "timezone: expected a string"),
        ("PUT", DRAFT, {"firstMessage": None}, "firstMessage: null"),
        (
            "PUT",
            DRAFT,
            {"singlePromptConfig": {"tools": [{"type": "end_call", "name": "x"}]}},
            "tools[0].description: required",
        ),
        (
            "PUT",
            DRAFT,
            {"singlePromptConfig": {"tools": [{"type": "end_call", "name": "x", "description": "d", "colour": 1}]}},
            "tools[0].colour: not a field",
        ),
        ("PUT", DRAFT, {"language": {"default": "xx", "supported": ["xx"]}}, "language.default: 'xx'"),
        ("PUT", DRAFT, {"pronunciationDicts": {"word": "a"}}, "pronunciationDicts: expected an array"),
        ("PATCH", CONFIG, {"singlePromptConfig": {"tools": []}}, "singlePromptConfig.prompt: required"),
        ("POST", "/atoms/v1/agent/a1/branches/b1/live", {}, "sends no body"),
        ("POST", "/atoms/v1/agent", {"description": "no name"}, "name: required by the SDK"),
        ("POST", "/atoms/v1/agent/a1/frobnicate", {}, "no method of the vendor SDK"),
    ],
)
def test_the_checker_catches_each_kind_of_violation(method, path, body, fragment) -> None:
    problems = sdk_contract.check(method, path, body)
    assert any(fragment in p for p in problems), problems


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        (
            "PUT",
            DRAFT,
            {
                "expectedRevision": 0,
                "firstMessage": "Hi",
                "timezone": "Europe/Istanbul",
                "singlePromptConfig": {"tools": []},
                "postCallAnalyticsConfig": {"dispositionMetrics": []},
            },
        ),
        ("PUT", DRAFT, {"pronunciationDicts": [{"word": "SQL", "pronunciation": "sequel"}], "speechFormatting": True}),
        (
            "PATCH",
            CONFIG,
            {"singlePromptConfig": {"prompt": "P", "tools": []}, "timezone": {"label": "UTC", "offset": 0}},
        ),
        ("POST", "/atoms/v1/agent/a1/branches/b1/live", None),
        ("POST", "/atoms/v1/agent/a1/branches/b1/draft/publish", {"label": "atoms-migrate x"}),
    ],
)
def test_the_checker_accepts_what_the_sdk_and_the_allow_list_take(method, path, body) -> None:
    assert sdk_contract.check(method, path, body) == []


def test_every_allow_list_entry_cites_the_reference() -> None:
    assert sdk_contract.ALLOWED and all("§" in why for why in sdk_contract.ALLOWED.values())
    assert sdk_contract.ALLOWED_VALUES and all("§" in why for _, why in sdk_contract.ALLOWED_VALUES.values())


def test_an_alternative_form_is_allowed_only_in_its_documented_shape() -> None:
    assert sdk_contract.check("PUT", DRAFT, {"timezone": {"label": "UTC", "offset": 0}}) == []
    assert sdk_contract.check("PUT", DRAFT, {"timezone": {"label": "UTC"}})
    assert (
        sdk_contract.check("PUT", DRAFT, {"synthesizer": {"voiceConfig": {"model": "waves_lightning_v3_1_pro"}}}) == []
    )
    assert sdk_contract.check("PUT", DRAFT, {"synthesizer": {"voiceConfig": {"model": "waves_lightning_v9"}}})


def _literal(ann: typing.Any) -> set[str]:
    return {v for arg in typing.get_args(ann) if typing.get_origin(arg) is typing.Literal for v in typing.get_args(arg)}


def test_the_sandbox_enums_are_the_sdks_literals() -> None:
    from smallestai.atoms.agent_versioning_branches.types.update_branch_draft_request_background_sound import (
        UpdateBranchDraftRequestBackgroundSound,
    )
    from smallestai.atoms.agent_versioning_branches.types.update_branch_draft_request_slm_model import (
        UpdateBranchDraftRequestSlmModel,
    )
    from smallestai.atoms.agents.types.create_agent_request_language_default import CreateAgentRequestLanguageDefault
    from smallestai.atoms.types.tool_type import ToolType

    assert fake.MODELS == _literal(UpdateBranchDraftRequestSlmModel)
    assert fake.BACKGROUND_SOUNDS == _literal(UpdateBranchDraftRequestBackgroundSound)
    assert fake.LANGUAGES == _literal(CreateAgentRequestLanguageDefault)
    assert fake.TOOL_TYPES == _literal(ToolType)


@pytest.mark.off_contract  # sends what the SDK refuses, to prove the fake refuses it too
def test_the_sandbox_refuses_what_the_sdk_refuses() -> None:
    box = Sandbox()
    http = httpx.Client(
        base_url="http://sandbox/atoms/v1", transport=box.transport(), headers={"Authorization": f"Bearer {ATOMS_KEY}"}
    )
    agent = http.post("/agent", json={"name": "A", "firstMessage": "Hi"}).json()["data"]
    branch = http.get(f"/agent/{agent}/branches").json()["data"]["branches"][0]["branch"]["_id"]
    refused = http.put(f"/agent/{agent}/branches/{branch}/draft", json={"workflowType": "single_prompt"})
    assert refused.status_code == 400 and "set when the agent is created" in refused.text
    stale = http.put(f"/agent/{agent}/branches/{branch}/draft", json={"firstMessage": "A", "expectedRevision": 3})
    assert stale.status_code == 409 and stale.json()["errors"] == ["base_revision_unavailable"]


# -- the applier's bodies, scenario by scenario ---------------------------------------------


class Capture:
    """The sandbox in process, keeping every Atoms write body the applier sends."""

    def __init__(self, tables, versioning: str = "v2", behaviours: tuple[str, ...] = ()) -> None:
        self.box = Sandbox(versioning=versioning)
        self.box.atoms.set_behaviours(set(behaviours))
        self.bodies: list[tuple[str, str, typing.Any]] = []
        inner = self.box.transport()

        def handler(request: httpx.Request) -> httpx.Response:
            if request.method != "GET":
                body = json.loads(request.content) if request.content else None
                self.bodies.append((request.method, request.url.path, body))
            return inner.handle_request(request)

        http = httpx.Client(
            base_url="http://sandbox",
            transport=httpx.MockTransport(handler),
            headers={"Authorization": f"Bearer {ATOMS_KEY}"},
        )
        self.client = AtomsClient(http, RetryPolicy(attempts=2, initial_wait=0, max_wait=0, sleep=lambda s: None))
        self.tables = tables
        self.forms: dict[str, str] = {}

    def run(self, source, state_agent_id=None, **options):
        opts = ApplyOptions(poll_interval=0, **options)
        target = locate(self.client, source.key, state_agent_id, opts, [], forms=self.forms)
        plan = plan_agent(source, self.tables, target.config if target else None, target.agent_id if target else None)
        applier = Applier(
            self.client,
            opts,
            sleep=lambda s: None,
            forms=self.forms,
            remember_form=lambda f, v: self.forms.__setitem__(f, v),
        )
        return plan, (applier.apply(plan, target) if plan.action != "no-op" else None)

    def sent(self, method: str, suffix: str) -> list[typing.Any]:
        return [b for m, p, b in self.bodies if m == method and p.endswith(suffix)]


@pytest.fixture
def example():
    return make_source(json.loads(EXAMPLE.read_text()))


def _changed(example, **agent_fields):
    raw = copy.deepcopy(example.raw)
    raw["conversation_config"]["agent"].update(agent_fields)
    return make_source(raw)


def test_v2_create_then_staged_update_send_only_sdk_fields(tables, example) -> None:
    cap = Capture(tables)
    plan, first = cap.run(example)
    (create,) = cap.sent("POST", "/agent")
    assert "workflowType" in create  # set at create (§K.1) ...
    draft = cap.sent("PUT", "/draft")[0]
    assert "workflowType" not in draft and draft["expectedRevision"] == 0  # ... never in a draft
    assert draft["singlePromptConfig"]["prompt"] == plan.target_config["singlePromptConfig"]["prompt"]
    cap.bodies.clear()
    _, second = cap.run(_changed(example, first_message="Changed."), state_agent_id=first.agent_id)
    assert second.staged and second.live and not second.differences
    assert [m + " " + p.rsplit("/", 1)[-1] for m, p, _ in cap.bodies] == [
        "POST branches",
        "PUT draft",
        "POST publish",
        "POST live",
    ]
    assert cap.sent("POST", "/live") == [None]  # make-live sends no body at all (§K.1)
    assert cap.sent("PUT", "/draft") == [{"firstMessage": "Changed.", "expectedRevision": 0}]
    assert conftest.SDK_CHECKED and not conftest.SDK_VIOLATIONS


def test_v1_tools_update_carries_the_prompt(tables, example) -> None:
    cap = Capture(tables, "v1")
    _, first = cap.run(example)
    raw = copy.deepcopy(example.raw)
    raw["conversation_config"]["agent"]["prompt"]["built_in_tools"]["transfer_to_number"] = None  # one tool fewer
    cap.bodies.clear()
    plan, result = cap.run(make_source(raw), state_agent_id=first.agent_id)
    (patch,) = cap.sent("PATCH", "/config")
    assert len(patch["singlePromptConfig"]["tools"]) == 1
    assert patch["singlePromptConfig"]["prompt"] == plan.target_config["singlePromptConfig"]["prompt"]  # §K.2
    assert result.staged and result.live and not result.differences


def test_prompt_kept_only_in_global_prompt_is_learnt_and_reported(tables, example) -> None:
    cap = Capture(tables, behaviours=("prompt-in-global-prompt",))
    plan, result = cap.run(example)
    assert not result.differences and cap.forms == {"prompt": "globalPrompt"}
    assert any(
        "prompt written via globalPrompt on this account: singlePromptConfig.prompt was not kept" in w
        for w in result.warnings
    )
    retry = cap.sent("PUT", "/draft")[-1]
    assert retry["globalPrompt"] == plan.target_config["singlePromptConfig"]["prompt"]
    assert set(retry["singlePromptConfig"]) == {"tools"}  # tools alone, as the SDK's AgentTools writes them (§C.7)
    cap.bodies.clear()
    again, _ = cap.run(example, state_agent_id=result.agent_id)
    assert again.action == "no-op" and cap.bodies == []  # planned against the prompt where it lives


def test_a_prompt_too_long_for_global_prompt_fails_and_nothing_goes_live_without_it(tables, example) -> None:
    from atoms_migrate.errors import MigrationError

    cap = Capture(tables, behaviours=("prompt-in-global-prompt",))
    raw = copy.deepcopy(example.raw)
    raw["conversation_config"]["agent"]["prompt"]["prompt"] = "x" * 4500
    with pytest.raises(MigrationError, match="at most 4000"):
        cap.run(make_source(raw))


def test_post_call_analytics_not_kept_on_v2_is_reported_not_failed(tables, example) -> None:
    cap = Capture(tables, behaviours=("ignore-post-call-analytics",))
    _, result = cap.run(example)
    assert not result.differences and cap.forms == {"post-call analytics": "not accepted"}
    assert any("postCallAnalyticsConfig" in w for w in result.warnings)


# -- writeforms: the wire body per versioning and form ------------------------------------


def test_wire_body_per_versioning_and_form() -> None:
    from atoms_migrate.apply.writeforms import load_write_forms, project, wire_body

    table = load_write_forms()
    target = {"singlePromptConfig": {"prompt": "P", "tools": []}, "workflowType": "single_prompt"}
    tools_only = {
        "singlePromptConfig": {"tools": []},
        "workflowType": "single_prompt",
        "timezone": {"label": "Europe/Istanbul", "offset": 180},
    }
    v1, _ = wire_body("v1", tools_only, target, table)
    assert v1["singlePromptConfig"] == {"tools": [], "prompt": "P"} and v1["workflowType"] == "single_prompt"
    assert v1["timezone"] == {"label": "Europe/Istanbul", "offset": 180}
    v2, _ = wire_body("v2", {**tools_only, "singlePromptConfig": {"prompt": "P", "tools": []}}, target, table)
    assert (
        "workflowType" not in v2 and v2["timezone"] == "Europe/Istanbul" and v2["singlePromptConfig"]["prompt"] == "P"
    )
    chosen = {"prompt": "globalPrompt", "timezone": "{label, offset}", "post-call analytics": "not accepted"}
    v2b, notes = wire_body(
        "v2",
        {**target, "postCallAnalyticsConfig": {"dispositionMetrics": []}, "timezone": "Europe/Istanbul"},
        target,
        table,
        chosen,
    )
    assert v2b["globalPrompt"] == "P" and v2b["singlePromptConfig"] == {"tools": []}
    assert v2b["timezone"] == {"label": "Europe/Istanbul", "offset": 180}
    assert "postCallAnalyticsConfig" not in v2b and "not written" in notes[0]
    live = {"globalPrompt": "P", "singlePromptConfig": {"prompt": "", "tools": []}, "timezone": "Europe/Istanbul"}
    seen = project(
        live,
        {"singlePromptConfig": {"prompt": "P"}, "timezone": {"label": "Europe/Istanbul", "offset": 180}},
        "v2",
        table,
        {"prompt": "globalPrompt"},
    )
    assert seen["singlePromptConfig"]["prompt"] == "P" and seen["timezone"]["offset"] == 180


def test_every_uncertain_field_cites_the_reference_and_has_an_alternative() -> None:
    from atoms_migrate.apply.writeforms import load_write_forms

    table = load_write_forms()
    assert {f.field for f in table.fields} == {"prompt", "post-call analytics", "timezone", "pro voice model"}
    assert all("§" in f.reference and len(f.forms) >= 2 for f in table.fields)


def test_a_v2_timezone_string_reads_back_in_the_planners_shape() -> None:
    from atoms_migrate.apply.writeforms import load_write_forms, project

    seen = project({"timezone": "Pacific/Auckland"}, None, "v2", load_write_forms())
    assert seen["timezone"] == {"label": "Pacific/Auckland", "offset": 720}  # standard time, as the mapper plans it
