"""The sandbox counts what each injected fault and behaviour changed, and the suite fails a test whose never fired."""

from __future__ import annotations

import httpx
import pytest
from conftest import all_injections, unfired_since

from atoms_migrate.sandbox.server import ATOMS_KEY, Sandbox

AUTH = {"Authorization": f"Bearer {ATOMS_KEY}"}


def _client(sandbox: Sandbox) -> httpx.Client:
    return httpx.Client(base_url="http://sandbox", transport=sandbox.transport(), headers=AUTH)


def _create(client: httpx.Client, name: str = "A") -> httpx.Response:
    return client.post("/atoms/v1/agent", json={"name": name, "firstMessage": "Hi."})


def test_a_fault_counts_the_requests_it_answered() -> None:
    sandbox = Sandbox()
    sandbox.add_fault(method="POST", path=r"/agent$", status=503, times=2)
    (fault,) = sandbox.injections()
    assert fault.fired == 0 and "503" in fault.what
    with _client(sandbox) as client:
        assert [_create(client).status_code for _ in range(3)] == [503, 503, 201]
    assert fault.fired == 2


def test_a_fault_on_another_path_does_not_fire() -> None:
    sandbox = Sandbox()
    sandbox.add_fault(method="GET", path=r"/agent$", status=500)
    with _client(sandbox) as client:
        assert _create(client).status_code == 201
    (fault,) = sandbox.injections()
    assert fault.fired == 0
    with _client(sandbox) as client:  # fire it, or the suite's teardown check fails this test
        assert client.get("/atoms/v1/agent").status_code == 500
    assert fault.fired == 1


def test_a_behaviour_fires_only_when_it_changes_an_answer() -> None:
    sandbox = Sandbox()
    sandbox.atoms.set_behaviours({"ignore-post-call-analytics"})
    sandbox.atoms.ignored_draft_fields = {"firstMessage"}
    by_what = {i.what: i for i in sandbox.injections()}
    assert set(by_what) == {"behaviour ignore-post-call-analytics", "ignored draft field firstMessage"}
    with _client(sandbox) as client:
        agent_id = _create(client).json()["data"]
        branches = client.get(f"/atoms/v1/agent/{agent_id}/branches").json()["data"]["branches"]
        main = next(b["branch"]["_id"] for b in branches if b["branch"]["isDefault"])
        draft = f"/atoms/v1/agent/{agent_id}/branches/{main}/draft"
        assert client.put(draft, json={"globalPrompt": "x"}).status_code == 200
        assert [i.fired for i in by_what.values()] == [0, 0]
        assert client.put(draft, json={"firstMessage": "Hello.", "postCallAnalyticsConfig": {}}).status_code == 200
    assert [i.fired for i in by_what.values()] == [1, 1]


def test_the_teardown_check_names_what_never_fired() -> None:
    before = all_injections()
    sandbox = Sandbox()
    sandbox.add_fault(method="POST", path=r"/agent$", action="drop")
    assert unfired_since(before) == ["fault POST '/agent$': drop x1"]
    with _client(sandbox) as client, pytest.raises(httpx.RemoteProtocolError):
        _create(client)
    assert unfired_since(before) == []
