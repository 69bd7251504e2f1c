"""Hostile and broken inputs fail fast with one clean line and a documented exit code (1), never a traceback.

Each case is what a careless or hostile user could hand the CLI: nesting beyond any real
config, YAML alias bombs, giant integers, lone surrogates, FIFOs and devices, ids that are
not ids, mapping tables that are not UTF-8, damaged saved plans.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from conftest import EXAMPLE
from typer.testing import CliRunner

from atoms_migrate.cli import app
from atoms_migrate.source import bounds

runner = CliRunner()


def run(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env)


def _example() -> dict:
    raw = json.loads(EXAMPLE.read_text())
    raw.pop("agent_id", None)
    return raw


def _clean_failure(result, *needles: str) -> None:
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
    assert result.stderr.startswith("error: "), result.stderr
    assert "unexpected" not in result.stderr and "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


BOMB = """a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


@pytest.mark.parametrize(
    "name, text, needle",
    [
        ("deep.json", "[" * 10_000 + "]" * 10_000, "nested deeper than"),
        ("deep.yaml", "a: " + "[" * 5_000 + "]" * 5_000 + "\n", "nested deeper than"),
        ("deep-block.yaml", "".join("  " * i + "- \n" for i in range(150)), "nested deeper than"),
        ("bomb.yaml", BOMB, "alias bomb"),
        ("self.yaml", "a: &a [1, *a]\n", "contains itself"),
        ("bigint.json", '{"n": ' + "9" * 5_000 + "}", "n is an integer of 5000 digits"),
        ("bigint.yaml", "n: " + "9" * 5_000 + "\n", "not a usable YAML value"),
        ("surrogate.json", '{"name": "x\\ud800y", "conversation_config": {}}', "lone surrogate"),
    ],
)
def test_unbounded_or_invalid_source_values_are_refused_fast(tmp_path, name, text, needle) -> None:
    path = tmp_path / name
    path.write_text(text)
    _clean_failure(run("agent", str(path), "--dry-run"), needle, str(path))


def test_a_lone_surrogate_is_named_by_its_path(tmp_path) -> None:
    raw = _example()
    raw["conversation_config"]["agent"]["first_message"] = "Hi \ud83d there"
    path = tmp_path / "a.json"
    path.write_text(json.dumps(raw))  # json.dumps escapes it as \\ud83d: valid JSON, invalid Unicode
    _clean_failure(run("agent", str(path), "--dry-run"), "conversation_config.agent.first_message")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_is_refused_before_it_is_opened(tmp_path) -> None:
    fifo = tmp_path / "agent.json"
    os.mkfifo(fifo)
    result = run("agent", str(fifo), "--dry-run")  # opening a FIFO with no writer would block forever
    _clean_failure(result, "is a FIFO, not a regular file")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_a_link_to_dev_zero_is_refused(tmp_path) -> None:
    link = tmp_path / "agent.json"
    link.symlink_to("/dev/zero")
    _clean_failure(run("agent", str(link), "--dry-run"), "is a character device")


def test_an_oversized_source_is_refused_before_reading(tmp_path, monkeypatch) -> None:
    path = tmp_path / "big.json"
    path.write_text(json.dumps(_example()) + " " * 5_000)
    monkeypatch.setattr(bounds, "MAX_SOURCE_BYTES", 1_000)
    monkeypatch.setattr(bounds.check_file, "__defaults__", (1_000,))
    _clean_failure(run("agent", str(path), "--dry-run"), "the limit is 1,000 (refused before reading)")


@pytest.mark.parametrize(
    "agent_id, needle", [("a" * 5_000, "5,000 characters"), ("../../etc/x", "characters ids never have")]
)
def test_an_agent_id_that_is_not_an_id_is_refused(tmp_path, agent_id, needle) -> None:
    raw = _example()
    raw["agent_id"] = agent_id
    path = tmp_path / "a.json"
    path.write_text(json.dumps(raw))
    result = run("agent", str(path), "--dry-run")
    _clean_failure(result, needle)
    assert agent_id not in result.stderr or len(agent_id) < 20


def test_a_100000_character_name_is_refused_without_printing_it(tmp_path) -> None:
    raw = _example()
    raw["name"] = "N" * 100_000
    path = tmp_path / "a.json"
    path.write_text(json.dumps(raw))
    result = run("agent", str(path), "--dry-run")
    _clean_failure(result, "the agent name is 100,000 characters; at most 1,000")
    assert len(result.stderr) < 1_000


def test_a_mapping_table_that_is_not_utf8_is_named(tmp_path) -> None:
    tables = tmp_path / "tables"
    tables.mkdir()
    (tables / "voices.yaml").write_bytes(b"voices:\n  - name: \xff\xfe caf\xe9\n")
    result = run("agent", str(EXAMPLE), "--dry-run", "--mappings", str(tables))
    _clean_failure(result, "voices.yaml: not UTF-8 text")


def _saved_plan(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.json").write_text(json.dumps(_example()))
    assert run("all", ".", "--dry-run", "--out", "plan.json").exit_code == 0
    return tmp_path / "plan.json"


@pytest.mark.parametrize(
    "damage, needle",
    [
        (lambda a: a.pop("source"), "agents[0].source is missing"),
        (lambda a: a["source"].pop("hash"), "agents[0].source.hash is missing"),
        (lambda a: a.pop("plan"), "agents[0].plan is missing"),
        (lambda a: a["source"].__setitem__("kind", "url"), "agents[0].source.kind must be id or file"),
    ],
)
def test_a_saved_plan_with_missing_keys_is_refused(tmp_path, monkeypatch, damage, needle) -> None:
    plan = _saved_plan(tmp_path, monkeypatch)
    doc = json.loads(plan.read_text())
    damage(doc["agents"][0])
    plan.write_text(json.dumps(doc))
    _clean_failure(run("apply", "plan.json", "--yes", env={"SMALLEST_API_KEY": "sk_test"}), needle)


def test_a_saved_plan_reading_a_source_outside_the_project_is_refused(tmp_path, monkeypatch) -> None:
    plan = _saved_plan(tmp_path, monkeypatch)
    doc = json.loads(plan.read_text())
    doc["agents"][0]["source"]["ref"] = "../../../etc/passwd"
    plan.write_text(json.dumps(doc))
    _clean_failure(run("apply", "plan.json", "--yes", env={"SMALLEST_API_KEY": "sk_test"}), "outside the project")


def test_scan_skips_devices_fifos_and_links_out_of_the_tree(tmp_path) -> None:
    from atoms_migrate.scan.scanner import iter_files

    tree = tmp_path / "src"
    tree.mkdir()
    (tree / "ok.js").write_text("const x = 1;\n")
    (tree / "inside.js").symlink_to(tree / "ok.js")
    outside = tmp_path / "secret.js"
    outside.write_text("const key = 'x';\n")
    (tree / "outside.js").symlink_to(outside)
    if Path("/dev/zero").exists():
        (tree / "zero.js").symlink_to("/dev/zero")
    if hasattr(os, "mkfifo"):
        os.mkfifo(tree / "pipe.js")
    assert sorted(p.name for p in iter_files([tree])) == ["inside.js", "ok.js"]


# -- network ------------------------------------------------------------------------------------


@pytest.fixture
def hostile_server():
    """A local HTTP server: /drip answers one byte at a time, /loop redirects to itself forever."""
    import socket
    import threading

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    stop = threading.Event()

    def answer(conn: socket.socket) -> None:
        try:
            request = conn.recv(65536).decode("latin-1")
            if " /loop" in request.split("\r\n", 1)[0]:
                conn.sendall(b"HTTP/1.1 302 Found\r\nlocation: /loop\r\ncontent-length: 0\r\n\r\n")
                answer(conn)
                return
            for byte in (
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n" + b" " * 200
            ):
                if stop.is_set():
                    return
                conn.send(bytes([byte]))
                time.sleep(0.05)
        except OSError:
            pass
        finally:
            conn.close()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{srv.getsockname()[1]}"
    stop.set()
    srv.close()


def test_a_dripping_server_hits_the_total_request_deadline(hostile_server, monkeypatch) -> None:
    from atoms_migrate.cli import clients
    from atoms_migrate.errors import ApiError
    from atoms_migrate.platforms.retry import RetryPolicy
    from atoms_migrate.settings import Settings

    monkeypatch.setattr(clients, "REQUEST_DEADLINE", 0.5)
    settings = Settings.from_env({"SMALLEST_API_KEY": "sk_test"})
    client = clients.required_atoms_client(hostile_server + "/drip", settings=settings)
    client.retry = RetryPolicy(attempts=2, initial_wait=0.01, max_wait=0.01)
    started = time.monotonic()
    with pytest.raises(ApiError, match="did not answer in time"):
        client.get_agent("a")
    assert time.monotonic() - started < 5  # two attempts of 0.5 s, not 200 bytes at 20 per second each


def test_a_redirect_loop_stops_at_a_small_limit_with_a_clear_message(hostile_server, monkeypatch) -> None:
    from atoms_migrate.cli import clients
    from atoms_migrate.errors import ApiError
    from atoms_migrate.settings import Settings

    client = clients.elevenlabs_client(hostile_server, settings=Settings.from_env({"ELEVENLABS_API_KEY": "xi_test"}))
    with pytest.raises(ApiError, match=r"redirected more than 5 times .*\(GET /loop\); a redirect loop"):
        client._get("/loop", "the loop")


@pytest.mark.parametrize(
    "call, endpoint",
    [
        (lambda c: c.get_agent("a1"), "GET /agent/{id}"),
        (lambda c: c.list_revisions("a1", "b1"), "GET /agent/{id}/branches/{branchId}/revisions"),
        (lambda c: c.get_knowledge_base("k1"), "GET /knowledgebase/{id}"),
    ],
)
def test_a_200_of_the_wrong_shape_is_an_error_naming_the_endpoint(call, endpoint) -> None:
    import httpx

    from atoms_migrate.errors import ApiError
    from atoms_migrate.platforms.smallest import AtomsClient

    def wrong(request: httpx.Request) -> httpx.Response:
        body = [1, 2] if "revisions" in request.url.path else []
        return httpx.Response(200, json={"status": True, "data": body})

    client = AtomsClient(httpx.Client(base_url="http://atoms", transport=httpx.MockTransport(wrong)))
    with pytest.raises(ApiError) as caught:
        call(client)
    assert endpoint in caught.value.message and "where an" in caught.value.message


def test_an_elevenlabs_200_of_the_wrong_shape_names_the_endpoint() -> None:
    import httpx

    from atoms_migrate.errors import ApiError
    from atoms_migrate.platforms.elevenlabs import ElevenLabsClient

    client = ElevenLabsClient(
        httpx.Client(base_url="http://el", transport=httpx.MockTransport(lambda r: httpx.Response(200, json=[])))
    )
    with pytest.raises(ApiError, match=r"\(GET /v1/convai/agents/agent_x\) with an array where an object is due"):
        client.get_agent("agent_x")


@pytest.mark.parametrize(
    "var, value, needle",
    [
        ("SMALLEST_API_KEY", "sk_live_part1\nsk_live_part2", "SMALLEST_API_KEY contains a newline"),
        ("SMALLEST_API_KEY", "sk_lïve_secretvalue", "SMALLEST_API_KEY contains a character"),
        ("ELEVENLABS_API_KEY", "xi_secret\r\nX-Evil: 1", "ELEVENLABS_API_KEY contains a newline"),
    ],
)
def test_a_key_with_a_newline_or_non_ascii_is_refused_up_front_and_never_echoed(var, value, needle) -> None:
    result = run(
        "agent", "agent_abcdefghijkl" if var.startswith("ELEVEN") else str(EXAMPLE), "--dry-run", env={var: value}
    )
    _clean_failure(result, needle)
    for part in value.split():
        assert part[:8] not in result.stderr + result.stdout


@pytest.mark.parametrize(
    "url, masked",
    [
        ("https://u:p4ss@h.example/x?api_key=K1&a=1", "https://u:<secret>@h.example/x?api_key=<secret>&a=1"),
        ("https://tok3n@h.example/x", "https://<secret>@h.example/x"),
        ("https://h.example/x?token={{call_token}}&q=1", "https://h.example/x?token={{call_token}}&q=1"),
        ("https://h.example/x?q=1", "https://h.example/x?q=1"),
    ],
)
def test_mask_url_hides_userinfo_and_credential_query_values(url, masked) -> None:
    from atoms_migrate.mapping.refs import mask_url

    assert mask_url(url) == masked


# -- the state lock -----------------------------------------------------------------------------


def test_a_second_holder_is_refused_naming_the_first_and_may_wait_for_it(tmp_path, monkeypatch) -> None:
    import threading

    from atoms_migrate.apply.statelock import StateLock, StateLocked

    monkeypatch.setattr("sys.argv", ["atoms-migrate", "all", "agents", "--secret", "TOKEN=do-not-write-me"])
    state = tmp_path / ".atoms-migrate" / "state.json"
    first = StateLock(state)
    first.acquire()
    holder = first.path.read_text()
    assert f'"pid": {os.getpid()}' in holder and "atoms-migrate all" in holder and "do-not-write-me" not in holder
    with pytest.raises(StateLocked) as refused:
        StateLock(state).acquire()
    assert refused.value.exit_code == 4 and f"in use by process {os.getpid()}" in refused.value.message
    threading.Timer(0.3, first.release).start()
    started = time.monotonic()
    with StateLock(state, wait=10, poll=0.05):
        assert 0.2 < time.monotonic() - started < 5
    with pytest.raises(StateLocked, match="after waiting 0.2 s"):
        with StateLock(state):
            StateLock(state, wait=0.2, poll=0.05).acquire()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
@pytest.mark.parametrize("what", ["plan", "table", "state"])
def test_a_fifo_as_saved_plan_mapping_table_or_state_is_refused_not_opened(tmp_path, monkeypatch, what) -> None:
    monkeypatch.chdir(tmp_path)
    if what == "plan":
        os.mkfifo(tmp_path / "plan.json")
        result = run("apply", "plan.json", "--yes", env={"SMALLEST_API_KEY": "sk_test"})
    elif what == "table":
        (tmp_path / "tables").mkdir()
        os.mkfifo(tmp_path / "tables" / "voices.yaml")
        result = run("agent", str(EXAMPLE), "--dry-run", "--mappings", "tables")
    else:
        (tmp_path / ".atoms-migrate").mkdir()
        os.mkfifo(tmp_path / ".atoms-migrate" / "state.json")
        result = run("agent", str(EXAMPLE), "--dry-run")
    _clean_failure(result, "is a FIFO, not a regular file")


def test_userinfo_in_a_webhook_url_becomes_a_basic_auth_secret_with_parity(tmp_path) -> None:
    raw = _example()
    raw["conversation_config"]["agent"]["prompt"].pop("tool_ids", None)
    raw["conversation_config"]["agent"]["prompt"]["tools"] = [
        {
            "type": "webhook",
            "name": "ping",
            "description": "Ping the service.",
            "api_schema": {
                "url": "https://bot:hunter2-S3CRET@hooks.example.com/ping?token=T0K-S3CRET",
                "method": "GET",
            },
        }
    ]
    path = tmp_path / "a.json"
    path.write_text(json.dumps(raw))
    result = run("agent", str(path), "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    assert "S3CRET" not in result.stdout + result.stderr
    [agent] = json.loads(result.stdout)["agents"]
    [tool] = [t for t in agent["target"]["config"]["singlePromptConfig"]["tools"] if t["type"] == "api_call"]
    assert tool["url"] == "https://hooks.example.com/ping"
    assert tool["headers"] == {"Authorization": "<secret:ping.Authorization>"}
    assert tool["queryParams"] == [{"key": "token", "value": "<secret:ping.token>"}]
    assert not [f for f in agent["findings"] if f["severity"] == "error"], agent["findings"]
