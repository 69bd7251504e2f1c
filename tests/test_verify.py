"""verify: script checks (pure), both realtime protocols against the fake server, and the installed CLI."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import EXAMPLE
from test_e2e import Box

from atoms_migrate.platforms.realtime import AtomsSession, ElevenLabsSession, RealtimeError, Turn, realtime_url
from atoms_migrate.sandbox.server import ATOMS_KEY, Sandbox
from atoms_migrate.verify.script import Expect, check, smoke_script


@pytest.mark.parametrize(
    "base, expected",
    [
        ("http://127.0.0.1:8080", "ws://127.0.0.1:8080/atoms/v1/agent/connect"),
        ("https://api.smallest.ai", "wss://api.smallest.ai/atoms/v1/agent/connect"),
        ("https://api.smallest.ai/atoms/v1", "wss://api.smallest.ai/atoms/v1/agent/connect"),
        ("ws://127.0.0.1:9/custom/path", "ws://127.0.0.1:9/custom/path"),
    ],
)
def test_realtime_url(base: str, expected: str) -> None:
    assert realtime_url(base, "/atoms/v1/agent/connect") == expected


@pytest.mark.parametrize(
    "expect, turn, failures",
    [
        (Expect(), Turn("hi", reply="Hello"), []),
        (Expect(), Turn("hi", reply=""), ["no reply"]),
        (Expect(), Turn("hi", error="no reply within 20 s"), ["no reply within 20 s"]),
        (
            Expect(contains=["refund"], not_contains=["sorry"]),
            Turn("hi", reply="Sorry, no."),
            ["reply lacks 'refund'", "reply contains 'sorry'"],
        ),
        (Expect(regex=r"\d+ days"), Turn("hi", reply="within 30 days"), []),
        (Expect(first_message="Hi Ada! How can I help?"), Turn(None, reply="Hi Ada, how can I help?"), []),
        (
            Expect(first_message="Hi Ada! How can I help?"),
            Turn(None, reply="Welcome to the bank."),
            ["opening differs"],
        ),
        (Expect(ends_call=True), Turn("bye", reply="Bye", ended=False), ["the agent did not end the call"]),
        (Expect(ends_call=True), Turn("bye", reply="Bye", ended=True), []),
    ],
)
def test_check(expect: Expect, turn: Turn, failures: list[str]) -> None:
    got = check(expect, turn)
    assert len(got) == len(failures) and all(g.startswith(f) for g, f in zip(got, failures, strict=True)), got


def test_smoke_script_follows_the_agent() -> None:
    speaks = smoke_script(
        {
            "firstMessage": "Hi {{name}}!",
            "defaultVariables": {"name": "there"},
            "singlePromptConfig": {"tools": [{"type": "end_call"}]},
        },
        {"name": "Ada"},
    )
    assert speaks.opening.first_message == "Hi Ada!" and speaks.turns[-1].expect.ends_call is True
    waits = smoke_script({"firstMessage": "Hello?", "waitForUserToSpeakFirst": True}, {})
    assert waits.opening is None and waits.turns[-1].expect.ends_call is None


@pytest.fixture
def live(tmp_path):
    """A sandbox with the example migrated, plus the fake realtime server."""
    sandbox = Sandbox()
    server = sandbox.serve()
    box = Box(sandbox, f"http://127.0.0.1:{server.server_address[1]}", tmp_path)
    realtime = sandbox.serve_realtime()
    box.env |= {
        "SMALLEST_REALTIME_URL": realtime + "/atoms/v1/agent/connect",
        "ELEVENLABS_REALTIME_URL": realtime + "/v1/convai/conversation",
    }
    raw = json.loads(EXAMPLE.read_text())
    agent_id = sandbox.elevenlabs.add_agent(raw)
    assert box.cli("agent", agent_id, "--yes").returncode == 0
    box.atoms_id = sandbox.atoms.summary()[0]["id"]  # type: ignore[attr-defined]
    box.el_id = agent_id  # type: ignore[attr-defined]
    box.realtime = realtime  # type: ignore[attr-defined]
    yield box
    sandbox.realtime.shutdown()
    server.shutdown()


def _atoms(box, **kwargs) -> AtomsSession:
    return AtomsSession(
        box.realtime + "/atoms/v1/agent/connect",
        ATOMS_KEY,
        box.atoms_id,
        {"customer_name": "Ada"},
        turn_timeout=5,
        **kwargs,
    )


@pytest.mark.e2e
def test_atoms_session_speaks_the_protocol(live) -> None:
    session = _atoms(live)
    created = session.open()
    assert {"session_id", "call_id", "sample_rate", "channels"} <= set(created)
    opening = session.opening()
    assert opening.reply.startswith("Hi Ada!") and "transcript.delta" in opening.events
    first, second = session.say("Where is my order?"), session.say("And my refund?")
    assert (
        first.reply == "You asked: Where is my order?" and second.reply == "You asked: And my refund?"
    )  # roles agent, assistant
    session.close()
    [record] = live.sandbox.realtime.sessions
    assert record["query"]["mode"] == "chat" and json.loads(record["query"]["variables"]) == {"customer_name": "Ada"}
    assert "token" not in record["query"] and record["received"][-1] == {"type": "session.close"}


@pytest.mark.e2e
def test_atoms_session_falls_back_to_the_token_query_and_retries_draining(live) -> None:
    live.sandbox.realtime.accept_header = False
    live.sandbox.realtime.draining = 2
    slept: list[float] = []
    session = _atoms(live, sleep=slept.append)
    session.open()
    session.close()
    assert slept == [0.5, 1.0] and live.sandbox.realtime.sessions[-1]["query"]["token"] == ATOMS_KEY


@pytest.mark.e2e
def test_atoms_session_gives_up_on_a_server_that_stays_draining(live) -> None:
    live.sandbox.realtime.draining = 10
    with pytest.raises(RealtimeError):
        _atoms(live, sleep=lambda s: None).open()


@pytest.mark.e2e
def test_elevenlabs_session_answers_pings_and_uses_signed_urls(live) -> None:
    raw = json.loads(EXAMPLE.read_text())
    raw["platform_settings"] = {"auth": {"enable_auth": True}}
    private = live.sandbox.elevenlabs.add_agent(raw, "agent_private00000000000001")
    url = live.realtime + "/v1/convai/conversation"
    with pytest.raises(RealtimeError):
        ElevenLabsSession(url, private, turn_timeout=5).open()
    from atoms_migrate.sandbox.wire import FakeRequest

    response = live.sandbox.elevenlabs.handle(
        FakeRequest(
            "GET",
            "/v1/convai/conversation/get-signed-url",
            {"agent_id": private},
            {"xi-api-key": live.sandbox.elevenlabs.api_key},
        )
    )
    session = ElevenLabsSession(
        url, private, {"customer_name": "Ada"}, signed_url=json.loads(response.body)["signed_url"], turn_timeout=5
    )
    session.open()
    assert session.opening().reply.startswith("Hi Ada!")
    assert session.say("Hello?").reply == "You asked: Hello?" and session.pongs == 1
    session.close()


@pytest.mark.e2e
def test_cli_verify_both_side_by_side_with_junit(live) -> None:
    run = live.cli("verify", live.el_id, "--both", "--junit", "verify.xml", "--var", "customer_name=Ada")
    assert run.returncode == 0, run.stderr + run.stdout
    assert "PASSED: 0 of 6 turn(s) failed." in run.stdout and "[ended the call]" in run.stdout
    cases = list(ET.parse(live.cwd / "verify.xml").getroot().iter("testcase"))
    assert len(cases) == 6 and {c.get("classname") for c in cases} == {
        "atoms-migrate.verify.atoms",
        "atoms-migrate.verify.elevenlabs",
    }
    assert ATOMS_KEY not in run.stdout + run.stderr


@pytest.mark.e2e
def test_cli_verify_script_failure_exits_1(live, tmp_path: Path) -> None:
    script = tmp_path / "script.yaml"
    script.write_text(
        "name: refunds\nvariables: {customer_name: Ada}\nopening: {contains: [Acme]}\n"
        "turns:\n  - user: Can I get a refund?\n    expect: {contains: [refund, '30 days']}\n"
    )
    run = live.cli("verify", live.el_id, "--script", str(script), "--json")
    assert run.returncode == 1
    doc = json.loads(run.stdout)
    [opening, turn] = doc["runs"][0]["turns"]
    assert opening["passed"] and turn["failures"] == ["reply lacks '30 days'"]


# (id, script expectation as written, the expectation it means)
SCRIPT_ROWS = [
    ("contains as one string", {"contains": "welcome"}, Expect(contains=["welcome"])),
    ("contains as a list", {"contains": ["a", "b"]}, Expect(contains=["a", "b"])),
    ("not_contains as one string", {"not_contains": "sorry"}, Expect(not_contains=["sorry"])),
    ("matches is an alias of regex", {"matches": r"\d+ days"}, Expect(regex=r"\d+ days")),
    ("regex still works", {"regex": "^Hi"}, Expect(regex="^Hi")),
]


@pytest.mark.parametrize("written, meant", [r[1:] for r in SCRIPT_ROWS], ids=[r[0] for r in SCRIPT_ROWS])
def test_script_contract_accepts_the_published_forms(tmp_path: Path, written, meant) -> None:
    from atoms_migrate.verify.script import load_script

    file = tmp_path / "s.json"
    file.write_text(json.dumps({"turns": [{"user": "hi", "expect": written}], "opening": written}))
    script = load_script(file)
    assert script.turns[0].expect == meant and script.opening == meant


def test_script_still_refuses_unknown_keys(tmp_path: Path) -> None:
    from atoms_migrate.errors import ConfigError
    from atoms_migrate.verify.script import load_script

    file = tmp_path / "s.json"
    file.write_text(json.dumps({"turns": [{"user": "hi", "expect": {"contain": "x"}}]}))
    with pytest.raises(ConfigError, match="contain"):
        load_script(file)


@pytest.mark.e2e
def test_cli_verify_json_has_the_opening(live, tmp_path: Path) -> None:
    script = tmp_path / "script.yaml"
    script.write_text(
        "opening: {contains: Acme}\nturns:\n"
        "  - user: Can I get a refund?\n    expect: {contains: refund, matches: 'refund'}\n"
    )
    run = live.cli("verify", live.el_id, "--script", str(script), "--json", "--var", "customer_name=Ada")
    assert run.returncode == 0, run.stderr + run.stdout
    [atoms] = json.loads(run.stdout)["runs"]
    assert "Acme" in atoms["opening"] and atoms["opening"] == atoms["turns"][0]["reply"]
    no_opening = tmp_path / "plain.yaml"
    no_opening.write_text("turns:\n  - user: Hello\n")
    doc = json.loads(live.cli("verify", live.el_id, "--script", str(no_opening), "--json").stdout)
    assert doc["runs"][0]["opening"] is None


@pytest.mark.e2e
def test_cli_verify_without_a_migration_says_what_to_do(tmp_path: Path) -> None:
    from conftest import run_installed

    run = run_installed("verify", str(EXAMPLE), cwd=tmp_path, env={"SMALLEST_API_KEY": ATOMS_KEY})
    assert run.returncode == 1 and "no migrated Atoms agent in the state file" in run.stderr
