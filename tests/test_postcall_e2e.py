"""End to end: post-call webhooks (Atoms §K.3) with the installed CLI against the sandbox.

Two ElevenLabs agents posting to one workspace webhook share one Atoms webhook, each agent is
subscribed once (analytics-completed only for the one with analysis), the state records both,
a re-run makes no webhook request, the signing secret is shown once on stderr and nowhere
else, and rollback removes only our subscription.
"""

from __future__ import annotations

import json

import httpx
import pytest
from conftest import EXAMPLE
from test_e2e import Box, box  # noqa: F401  (the fixture)

# Runs the installed CLI in a subprocess against the sandbox over HTTP: the slow tier.
pytestmark = pytest.mark.e2e

HOOK_URL = "https://hooks.example.com/elevenlabs/post-call"


def _seed(box: Box) -> tuple[str, str]:  # noqa: F811
    hook = box.sandbox.elevenlabs.add_webhook(HOOK_URL, "CRM call log")
    ids = []
    for n, analysis in ((1, False), (2, True)):
        raw = json.loads(EXAMPLE.read_text())
        raw["agent_id"], raw["name"] = f"agent_hook{n}", f"Hooked agent {n}"
        raw.setdefault("platform_settings", {})["workspace_overrides"] = {
            "webhooks": {"post_call_webhook_id": hook, "events": ["transcript", "audio"], "transcript_format": "json"}
        }
        if analysis:
            raw["platform_settings"]["data_collection"] = {
                "reason": {"type": "string", "description": "Why they called"}
            }
        else:
            raw["platform_settings"].pop("data_collection", None)
            raw["platform_settings"].pop("evaluation", None)
        ids.append(box.sandbox.elevenlabs.add_agent(raw, raw["agent_id"]))
    return ids[0], ids[1]


def _atoms_get(box: Box, path: str) -> object:  # noqa: F811
    answer = httpx.get(f"{box.url}/atoms/v1{path}", headers={"Authorization": f"Bearer {box.env['SMALLEST_API_KEY']}"})
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def test_two_agents_share_one_webhook_each_subscribed_once_and_a_rerun_writes_nothing(box: Box) -> None:  # noqa: F811
    first_id, second_id = _seed(box)
    report = box.cwd / "report.md"
    result = box.cli("all", "--yes", "--json", "--report", str(report), "--concurrency", "2")
    assert result.returncode == 0, result.stderr + result.stdout
    (hook,) = _atoms_get(box, "/webhook")
    assert hook["url"] == HOOK_URL
    secret = hook["decryptedSecretKey"]
    state_text = (box.cwd / ".atoms-migrate" / "state.json").read_text()
    state = json.loads(state_text)
    subs = dict(state["webhook_subscriptions"])
    assert set(subs) == {first_id, second_id}
    assert {s["webhook_id"] for s in subs.values()} == {hook["_id"]} and list(state["webhooks"].values()) == [
        hook["_id"]
    ]
    by_agent: dict[str, list[str]] = {}
    for key, sub in subs.items():
        live = _atoms_get(box, f"/agent/{sub['agent_id']}/webhook-subscriptions")
        by_agent[key] = sorted(x["eventType"] for x in live)
        assert {x["webhookId"] for x in live} == {hook["_id"]}
    assert by_agent == {first_id: ["post-conversation"], second_id: ["analytics-completed", "post-conversation"]}
    # The secret: shown once on stderr, in no report, no JSON, no state.
    assert result.stderr.count(secret) == 1 and "X-Signature" in result.stderr
    assert secret not in result.stdout and secret not in report.read_text() and secret not in state_text
    assert HOOK_URL not in state_text  # the state keeps a hash of the URL (it may carry a token)
    plans = json.loads(result.stdout)["agents"]
    finding = next(
        f for f in plans[0]["findings"] if f["source_path"] == "platform_settings.workspace_overrides.webhooks"
    )
    assert finding["status"] == "lossy" and "receiving endpoint must change" in finding["message"]
    assert "X-Signature" in finding["message"] and "audio" in finding["message"]
    assert sum(1 for e in box.sandbox.log if e["method"] == "POST" and e["path"].endswith("/webhook")) == 1

    writes = box.writes()
    requests = len(box.sandbox.log)
    again = box.cli("all", "--yes", "--json")
    assert again.returncode == 0, again.stderr
    assert box.writes() == writes
    assert not [e for e in box.sandbox.log[requests:] if e["api"] == "atoms" and "webhook" in e["path"]]
    assert all(not [s for s in p["steps"] if s["kind"] == "webhook"] for p in json.loads(again.stdout)["agents"])


def test_an_existing_atoms_webhook_with_the_url_is_reused_and_rollback_removes_only_our_subscription(box: Box) -> None:  # noqa: F811
    first_id, second_id = _seed(box)
    made = httpx.post(
        f"{box.url}/atoms/v1/webhook",
        headers={"Authorization": f"Bearer {box.env['SMALLEST_API_KEY']}"},
        json={"endpoint": HOOK_URL, "description": "made in the dashboard", "events": []},
    )
    assert made.status_code == 201
    hook_id = made.json()["data"]
    result = box.cli("agent", first_id, "--yes")
    assert result.returncode == 0, result.stderr
    assert f"reusing Atoms webhook {hook_id}" in result.stderr
    assert "Signing secret" not in result.stderr  # not made here: nothing to show
    assert not [e for e in box.sandbox.log if e["method"] == "POST" and e["path"].endswith("/webhook")][1:]
    assert box.cli("agent", second_id, "--yes").returncode == 0
    state = json.loads((box.cwd / ".atoms-migrate" / "state.json").read_text())
    first_agent = state["agents"][first_id]["smallest_agent_id"]
    second_agent = state["agents"][second_id]["smallest_agent_id"]

    # A source change, then rollback of that update: our subscription goes, the other agent's stays.
    raw = box.sandbox.elevenlabs.agents[first_id]
    raw["conversation_config"]["agent"]["first_message"] = "Hello again."
    assert box.cli("agent", first_id, "--yes").returncode == 0
    rolled = box.cli("rollback", first_id, "--yes")
    assert rolled.returncode == 0, rolled.stderr
    assert "removed the agent's subscription" in rolled.stderr
    assert _atoms_get(box, f"/agent/{first_agent}/webhook-subscriptions") == []
    assert len(_atoms_get(box, f"/agent/{second_agent}/webhook-subscriptions")) == 2
    assert first_id not in json.loads((box.cwd / ".atoms-migrate" / "state.json").read_text())["webhook_subscriptions"]


def test_an_agent_subscribed_to_another_webhook_is_left_alone_and_reported(box: Box) -> None:  # noqa: F811
    first_id, _ = _seed(box)
    assert box.cli("agent", first_id, "--yes").returncode == 0
    state = json.loads((box.cwd / ".atoms-migrate" / "state.json").read_text())
    agent_id = state["agents"][first_id]["smallest_agent_id"]
    headers = {"Authorization": f"Bearer {box.env['SMALLEST_API_KEY']}"}
    other = httpx.post(
        f"{box.url}/atoms/v1/webhook",
        headers=headers,
        json={"endpoint": "https://other.example.com/hook", "description": "theirs", "events": []},
    ).json()["data"]
    assert (
        httpx.post(
            f"{box.url}/atoms/v1/agent/{agent_id}/webhook-subscriptions",
            headers=headers,
            json={"webhookId": other, "eventTypes": ["pre-conversation"]},
        ).status_code
        == 201
    )
    state["webhook_subscriptions"].pop(first_id)  # as if the subscription had never been made
    (box.cwd / ".atoms-migrate" / "state.json").write_text(json.dumps(state))
    result = box.cli("agent", first_id, "--yes")
    assert "already subscribed to another webhook" in result.stderr
    assert [s["webhookId"] for s in _atoms_get(box, f"/agent/{agent_id}/webhook-subscriptions")] == [other]


def test_an_agent_without_an_override_gets_the_workspace_post_call_webhook(box: Box) -> None:  # noqa: F811
    box.sandbox.elevenlabs.add_webhook(
        "https://hooks.example.com/workspace", "Workspace default", workspace_default=True
    )
    raw = json.loads(EXAMPLE.read_text())
    raw.get("platform_settings", {}).pop("workspace_overrides", None)
    raw["agent_id"] = "agent_inherits"
    agent = box.sandbox.elevenlabs.add_agent(raw, "agent_inherits")
    result = box.cli("agent", agent, "--yes", "--json")
    assert result.returncode == 0, result.stderr
    (plan,) = json.loads(result.stdout)["agents"]
    finding = next(f for f in plan["findings"] if f["source_path"] == "platform_settings.workspace_overrides.webhooks")
    assert finding["message"].startswith("The workspace's post-call webhook (the agent has no override)")
    (hook,) = _atoms_get(box, "/webhook")
    assert hook["url"] == "https://hooks.example.com/workspace"
    state = json.loads((box.cwd / ".atoms-migrate" / "state.json").read_text())
    atoms_agent = state["agents"][agent]["smallest_agent_id"]
    subs = _atoms_get(box, f"/agent/{atoms_agent}/webhook-subscriptions")
    assert {s["webhookId"] for s in subs} == {hook["_id"]}
    assert sorted(s["eventType"] for s in subs) == [
        "analytics-completed",
        "post-conversation",
    ]  # the example collects data
