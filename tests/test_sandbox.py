"""The sandbox keeps the reference's traps (smallest-atoms-api.md §B, §C, §H), so tests that
pass against it would not pass by accident against a kinder fake."""

from __future__ import annotations

import httpx
import pytest

from atoms_migrate.sandbox.server import ATOMS_KEY, ELEVENLABS_KEY, Sandbox

LANG = {"default": "en", "supported": ["en"], "switching": {"isEnabled": False}}


def _client(versioning: str = "v2") -> tuple[Sandbox, httpx.Client]:
    box = Sandbox(versioning=versioning)
    http = httpx.Client(
        base_url="http://sandbox/atoms/v1", transport=box.transport(), headers={"Authorization": f"Bearer {ATOMS_KEY}"}
    )
    return box, http


def _create(http: httpx.Client, **fields) -> str:
    response = http.post("/agent", json={"name": "A", **fields})
    assert response.status_code == 201, response.text
    return response.json()["data"]


@pytest.mark.off_contract  # proves the fake refuses or ignores what the SDK does not take
def test_create_ignores_prompt_and_analytics_and_overwrites_background_sound() -> None:
    box, http = _client()
    agent_id = _create(
        http,
        singlePromptConfig={"prompt": "P", "tools": []},
        backgroundSound="office",
        postCallAnalyticsConfig={"dispositionMetrics": []},
        firstMessage="Hi",
    )
    live = box.atoms.summary()[0]["live_config"]
    assert live["singlePromptConfig"]["prompt"] == "" and live["backgroundSound"] == ""
    assert "postCallAnalyticsConfig" not in live and live["firstMessage"] == "Hi"
    assert http.get(f"/agent/{agent_id}").json()["data"].get("_resolvedConfig") is None  # v2: read revisions


@pytest.mark.off_contract  # invalid bodies on purpose: the fake must refuse them
@pytest.mark.parametrize(
    "body, status, fragment",
    [
        ({"name": "A", "description": None}, 400, "received null"),
        ({"name": "A", "language": {"default": "en", "supported": ["en"]}}, 400, "switching: Required"),
        ({"name": "A", "language": {**LANG, "supported": ["ta", "en"], "default": "ta"}}, 400, "Tamil"),
        ({"name": "A", "language": {**LANG, "default": "fr", "supported": ["fr"]}}, 400, "Invalid enum value"),
        ({"name": "A", "slmModel": "gpt-5.2"}, 403, "not available for your organization"),
        ({"name": "A", "synthesizer": {"voiceConfig": {"voiceId": "21m00Tcm4TlvDq8ikWAM"}}}, 400, "not found"),
        ({"name": "A", "firstMessage": "x" * 501}, 400, "at most 500"),
    ],
)
def test_create_validation(body, status, fragment) -> None:
    _, http = _client()
    response = http.post("/agent", json=body)
    assert response.status_code == status and fragment in response.text


@pytest.mark.off_contract  # proves the fake refuses or ignores what the SDK does not take
def test_config_patch_is_rejected_and_metadata_patch_accepted() -> None:
    _, http = _client()
    agent_id = _create(http)
    refused = http.patch(f"/agent/{agent_id}", json={"firstMessage": "x"})
    assert refused.status_code == 400 and "Config changes must be made through" in refused.text
    assert http.patch(f"/agent/{agent_id}", json={"name": "B"}).status_code == 200


@pytest.mark.off_contract  # sends a body the SDK refuses, to prove the fake refuses it too
def test_v2_publish_is_202_scanning_and_the_revision_commits_later() -> None:
    _, http = _client()
    agent_id = _create(http, firstMessage="Hi")
    (summary,) = http.get(f"/agent/{agent_id}/branches").json()["data"]["branches"]
    branch = summary["branch"]["_id"]
    assert summary["isLive"] and "isLive" not in summary["branch"]
    assert http.put(f"/agent/{agent_id}/branches/{branch}/draft", json={"Main": {}}).status_code == 400
    assert (
        http.put(f"/agent/{agent_id}/branches/{branch}/draft", json={"singlePromptConfig": {"prompt": "P"}}).status_code
        == 200
    )
    publish = http.post(f"/agent/{agent_id}/branches/{branch}/draft/publish", json={"label": "x"})
    assert publish.status_code == 202 and publish.json()["data"] == {"state": "scanning"}
    again = http.post(f"/agent/{agent_id}/branches/{branch}/draft/publish", json={"label": "x"})
    assert again.status_code == 409 and again.json()["error_type"] == "publish_in_progress"
    newest = http.get(f"/agent/{agent_id}/branches/{branch}/revisions", params={"limit": 1}).json()["data"][
        "revisions"
    ][0]
    detail = http.get(f"/agent/{agent_id}/branches/{branch}/revisions/{newest['_id']}").json()["data"]
    assert detail["revision"]["status"] == "published"
    assert detail["resolvedConfig"]["workflow_prompt"]["prompt"] == "P"


def test_publish_refuses_an_empty_first_message() -> None:
    _, http = _client()
    agent_id = _create(http)
    branch = http.get(f"/agent/{agent_id}/branches").json()["data"]["branches"][0]["branch"]["_id"]
    http.put(f"/agent/{agent_id}/branches/{branch}/draft", json={"waitForUserToSpeakFirst": True})
    response = http.post(f"/agent/{agent_id}/branches/{branch}/draft/publish", json={})
    assert response.status_code == 400 and "first message is required" in response.text


@pytest.mark.off_contract  # proves the fake refuses or ignores what the SDK does not take
def test_v1_endpoints_answer_409_on_v2_and_branches_are_html_on_v1() -> None:
    _, http = _client("v2")
    agent_id = _create(http)
    response = http.post(f"/agent/{agent_id}/drafts", json={"sourceVersionId": "x"})
    assert response.status_code == 409 and response.headers["Deprecation"] == "true"
    assert response.json()["error_type"] == "versioning_v2_migration_required"
    _, http1 = _client("v1")
    agent_id = _create(http1)
    html = http1.get(f"/agent/{agent_id}/branches")
    assert html.status_code == 404 and html.headers["content-type"].startswith("text/html")


@pytest.mark.off_contract  # sends a body the SDK refuses, to prove the fake refuses it too
def test_v1_activate_waits_for_the_security_check() -> None:
    _, http = _client("v1")
    agent_id = _create(http, firstMessage="Hi")
    active = http.get(f"/agent/{agent_id}").json()["data"]["activeVersionId"]
    draft = http.post(f"/agent/{agent_id}/drafts", json={"sourceVersionId": active}).json()["data"]["draftId"]
    assert (
        http.patch(f"/agent/{agent_id}/drafts/{draft}/config", json={"singlePromptConfig": {"tools": []}}).status_code
        == 400
    )
    http.patch(f"/agent/{agent_id}/drafts/{draft}/config", json={"singlePromptConfig": {"prompt": "P"}})
    version = http.post(f"/agent/{agent_id}/drafts/{draft}/publish", json={"activate": True}).json()["data"]["_id"]
    assert http.get(f"/agent/{agent_id}").json()["data"]["activeVersionId"] == active  # `activate` ignored
    early = http.patch(f"/agent/{agent_id}/versions/{version}/activate")
    assert early.status_code == 400 and "security check pending" in early.text


@pytest.mark.off_contract  # proves the fake refuses or ignores what the SDK does not take
def test_unknown_agent_is_400_and_bad_keys_are_401() -> None:
    box, http = _client()
    assert http.get("/agent/0123").status_code == 400
    assert http.get("/agent", headers={"Authorization": "Bearer nope"}).status_code == 401
    el = httpx.Client(base_url="http://sandbox", transport=box.transport())
    assert el.get("/v1/convai/agents/x", headers={"xi-api-key": "bad"}).status_code == 401
    assert (
        el.get("/v1/convai/agents/x", headers={"xi-api-key": ELEVENLABS_KEY}).json()["detail"]["code"]
        == "agent_not_found"
    )
