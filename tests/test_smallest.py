"""The Atoms client against respx routes that match method, path, auth and request body."""

from __future__ import annotations

import httpx
import pytest
import respx

from atoms_migrate.errors import ApiError, ConfigError
from atoms_migrate.platforms.retry import RetryPolicy
from atoms_migrate.platforms.smallest import (
    AmbiguousWriteError,
    AtomsClient,
    VersioningUnavailable,
    atoms_base_urls,
    parse_error,
    strip_nulls,
)

HOST = "https://api.india.smallest.ai"
KEY = "sk_test_0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
def atoms():
    slept: list[float] = []
    with respx.mock(base_url=HOST + "/atoms/v1", assert_all_called=True) as mock:
        http = httpx.Client(base_url=HOST, headers=AUTH)
        yield AtomsClient(http, RetryPolicy(attempts=3, initial_wait=0, max_wait=5, sleep=slept.append)), mock, slept


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, ("https://api.smallest.ai", "https://api.smallest.ai/atoms/v1", "https://api.smallest.ai/waves/v1")),
        (
            "https://api.india.smallest.ai/",
            (
                "https://api.india.smallest.ai",
                "https://api.india.smallest.ai/atoms/v1",
                "https://api.india.smallest.ai/waves/v1",
            ),
        ),
        (
            "http://127.0.0.1:8080/atoms/v1",
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080/atoms/v1", "http://127.0.0.1:8080/waves/v1"),
        ),
    ],
)
def test_base_url_is_a_host_root_and_accepts_the_atoms_suffix(value, expected) -> None:
    assert atoms_base_urls(value) == expected


def test_base_url_must_be_http() -> None:
    with pytest.raises(ConfigError, match="not an http"):
        atoms_base_urls("api.smallest.ai")


def test_nulls_are_stripped_at_every_depth() -> None:
    assert strip_nulls({"a": None, "b": {"c": None, "d": 1}, "e": [None, {"f": None}]}) == {"b": {"d": 1}, "e": [{}]}


def test_create_sends_the_body_without_nulls_and_reads_a_bare_id(atoms) -> None:
    client, mock, _ = atoms
    route = mock.post("/agent", headers=AUTH, json={"name": "A", "language": {"default": "en"}})
    route.respond(201, json={"status": True, "data": "0123456789abcdef01234567"})
    assert (
        client.create_agent({"name": "A", "description": None, "language": {"default": "en", "x": None}})
        == "0123456789abcdef01234567"
    )


def test_create_accepts_the_dict_form_of_the_id(atoms) -> None:
    client, mock, _ = atoms
    mock.post("/agent").respond(201, json={"status": True, "data": {"_id": "abc123"}})
    assert client.create_agent({"name": "A"}) == "abc123"


def test_create_is_not_retried_after_a_500(atoms) -> None:
    client, mock, _ = atoms
    route = mock.post("/agent").respond(500, json={"status": False, "errors": ["boom"]})
    with pytest.raises(AmbiguousWriteError, match="may or may not"):
        client.create_agent({"name": "A"})
    assert route.call_count == 1


def test_create_is_not_retried_after_a_dropped_connection(atoms) -> None:
    client, mock, _ = atoms
    route = mock.post("/agent").mock(side_effect=httpx.RemoteProtocolError("dropped"))
    with pytest.raises(AmbiguousWriteError):
        client.create_agent({"name": "A"})
    assert route.call_count == 1


def test_create_is_retried_after_429_honouring_retry_after(atoms) -> None:
    client, mock, slept = atoms
    route = mock.post("/agent")
    route.side_effect = [
        httpx.Response(429, headers={"Retry-After": "2"}, json={"message": "Rate limit exceeded"}),
        httpx.Response(201, json={"status": True, "data": "id1"}),
    ]
    assert client.create_agent({"name": "A"}) == "id1"
    assert slept == [2.0]


def test_draft_put_is_retried_on_423_and_503(atoms) -> None:
    client, mock, slept = atoms
    route = mock.put("/agent/a1/branches/b1/draft", json={"firstMessage": "Hi"})
    route.side_effect = [
        httpx.Response(
            423,
            json={"status": False, "error_type": "config_freeze_active", "errors": ["freeze"]},
            headers={"retry-after-ms": "1500"},
        ),
        httpx.Response(503, json={"message": "x", "rateLimit": {"retryAfterSec": 1}}),
        httpx.Response(200, json={"status": True, "data": {"draftId": "d1"}}),
    ]
    assert client.put_draft("a1", "b1", {"firstMessage": "Hi"})["draftId"] == "d1"
    assert slept == [1.5, 1.0]


def test_reads_retry_dropped_connections(atoms) -> None:
    client, mock, _ = atoms
    route = mock.get("/agent/a1")
    route.side_effect = [
        httpx.RemoteProtocolError("dropped"),
        httpx.Response(200, json={"status": True, "data": {"_id": "a1"}}),
    ]
    assert client.get_agent("a1") == {"_id": "a1"}


def test_unknown_agent_is_a_400_and_reads_as_none(atoms) -> None:
    client, mock, _ = atoms
    mock.get("/agent/nope").respond(400, json={"status": False, "errors": ["No agent found"]})
    assert client.get_agent("nope") is None


def test_branch_probe_on_a_v1_account_is_versioning_unavailable(atoms) -> None:
    client, mock, _ = atoms
    mock.get("/agent/a1/branches").respond(
        404, text="<pre>Cannot GET /atoms/v1/agent/a1/branches</pre>", headers={"content-type": "text/html"}
    )
    with pytest.raises(VersioningUnavailable):
        client.list_branches("a1")


def test_typed_409_keeps_the_error_type(atoms) -> None:
    client, mock, _ = atoms
    mock.post("/agent/a1/drafts", json={"sourceVersionId": "v1", "draftName": "atoms-migrate"}).respond(
        409,
        json={"status": False, "error_type": "versioning_v2_migration_required", "errors": ["deprecated"]},
        headers={"Deprecation": "true"},
    )
    with pytest.raises(ApiError) as info:
        client.create_draft("a1", "v1")
    assert info.value.code == "versioning_v2_migration_required" and info.value.status == 409


@pytest.mark.parametrize(
    "data, expected_more",
    [
        ({"agents": [{"_id": "a"}], "hasMore": True, "totalCount": 300, "totalPages": 3}, True),
        ({"agents": [{"_id": "a"}], "total": 1}, False),
        ({"agents": [{"_id": "a"}], "total": 250}, True),
        ([{"_id": "a"}], False),
    ],
)
def test_list_reads_both_documented_page_shapes(atoms, data, expected_more) -> None:
    client, mock, _ = atoms
    mock.get("/agent", params={"page": "1", "offset": "100"}).respond(200, json={"status": True, "data": data})
    agents, more = client.list_agents()
    assert [a["_id"] for a in agents] == ["a"] and more is expected_more


@pytest.mark.parametrize(
    "status, body, fragment",
    [
        (401, {"status": False, "errors": ["Unauthorized: User not found"]}, "rejected the API key"),
        (500, {"status": False, "errors": ["Error in verifying token"]}, "rejected the API key"),
        (403, {"status": True, "data": "not available for your organization"}, "refused"),
        (423, {"status": False, "error_type": "config_freeze_active", "errors": ["freeze"]}, "config freeze"),
    ],
)
def test_errors_name_the_cause(atoms, status, body, fragment) -> None:
    client, mock, _ = atoms
    mock.get("/agent/a1/branches").respond(status, json=body)
    with pytest.raises(ApiError, match=fragment):
        client.list_branches("a1")


def test_parse_error_reads_html_and_control_characters() -> None:
    html = httpx.Response(404, text="<!DOCTYPE html><pre>Cannot GET /x</pre>")
    assert parse_error(html) == (None, "an HTML page (the route does not exist on this host)")
    raw = httpx.Response(400, content=b'{"status": false, "errors": ["bad\tvalue"]}')
    assert parse_error(raw) == (None, "bad\tvalue")
