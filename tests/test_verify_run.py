"""In-process tests of the ``verify`` core (``verify.run``): fake connectors and clients, no subprocess, no socket."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from atoms_migrate.errors import ConfigError
from atoms_migrate.platforms.realtime import Turn
from atoms_migrate.verify.run import AtomsTarget, Connectors, ElevenLabsTarget, Limits, run_verify
from atoms_migrate.verify.script import Expect, Script, ScriptTurn

LIVE = {
    "firstMessage": "Hi {{customer_name}}, this is Acme.",
    "defaultVariables": {"customer_name": "there"},
    "singlePromptConfig": {"tools": [{"type": "end_call"}]},
}
EL_CONFIG = {
    "conversation_config": {
        "agent": {
            "first_message": "Hello {{customer_name}} from ElevenLabs.",
            "prompt": {"built_in_tools": {"end_call": {"name": "end_call"}}},
        }
    }
}


class FakeSession:
    """Answers like the sandbox's fake agent: the first message, then "You asked: …"; goodbye ends the call."""

    name = "fake"

    def __init__(self, log: list[str], platform: str, opening: str, **given: Any) -> None:
        self.log, self.platform, self.first, self.given = log, platform, opening, given

    def open(self) -> dict[str, Any]:
        self.log.append(f"{self.platform}: open")
        return {}

    def opening(self, wait: float | None = None) -> Turn:
        return Turn(user=None, reply=self.first, events=["transcript"], seconds=0.25)

    def say(self, text: str) -> Turn:
        return Turn(user=text, reply=f"You asked: {text}", ended="Goodbye" in text, seconds=0.5)

    def close(self) -> None:
        self.log.append(f"{self.platform}: close")


class Fakes:
    """Records every session made and every ElevenLabs read, in order."""

    def __init__(self, el_config: dict[str, Any] | None = None) -> None:
        self.log: list[str] = []
        self.sessions: list[FakeSession] = []
        self.el_config = el_config or EL_CONFIG

    def atoms(self, url: str, api_key: str, agent_id: str, variables: dict[str, Any], *, turn_timeout: float) -> Any:
        opening = "Hi Ada, this is Acme." if variables.get("customer_name") == "Ada" else "Hi there, this is Acme."
        session = FakeSession(
            self.log, "atoms", opening, url=url, api_key=api_key, agent_id=agent_id, variables=variables,
            turn_timeout=turn_timeout,
        )  # fmt: skip
        self.sessions.append(session)
        return session

    def elevenlabs(
        self, url: str, agent_id: str, variables: dict[str, Any], *, signed_url: str | None, turn_timeout: float
    ) -> Any:
        session = FakeSession(
            self.log, "elevenlabs", "Hello Ada from ElevenLabs.", url=url, agent_id=agent_id, variables=variables,
            signed_url=signed_url, turn_timeout=turn_timeout,
        )  # fmt: skip
        self.sessions.append(session)
        return session

    def connectors(self) -> Connectors:
        return Connectors(atoms=self.atoms, elevenlabs=self.elevenlabs)

    # the ElevenLabs client for --both
    def get_agent(self, agent_id: str) -> dict[str, Any]:
        self.log.append(f"read {agent_id}")
        return self.el_config

    def get_signed_url(self, agent_id: str) -> str:
        self.log.append(f"sign {agent_id}")
        return f"wss://signed.example/{agent_id}"

    @contextmanager
    def client(self) -> Iterator[Fakes]:
        self.log.append("client open")
        yield self
        self.log.append("client closed")


def _atoms(**changes: Any) -> AtomsTarget:
    return AtomsTarget(
        **{"agent_id": "atoms-1", "live": LIVE, "api_key": "sk-test", "host": "http://127.0.0.1:9"} | changes
    )


def _elevenlabs(fakes: Fakes, **changes: Any) -> ElevenLabsTarget:
    given = {"source": "agent.json", "agent_id": "agent_1", "client": fakes.client, "base_url": "https://api.el.test"}
    return ElevenLabsTarget(**given | changes)


def _clock(step: float = 1.0) -> Any:
    now = [0.0]

    def clock() -> float:
        now[0] += step
        return now[0]

    return clock


def test_smoke_run_against_atoms_prints_the_published_json() -> None:
    fakes, said = Fakes(), []
    result = run_verify(
        _atoms(),
        None,
        {"customer_name": "Ada"},
        limits=Limits(turn_timeout=7, session_timeout=60),
        connectors=fakes.connectors(),
        clock=_clock(),
        progress=said.append,
    )
    assert said == ["Talking to Atoms agent atoms-1 (smoke script, 2 turn(s))…"]
    [session] = fakes.sessions
    assert session.given == {
        "url": "ws://127.0.0.1:9/atoms/v1/agent/connect",  # the host's ws:// twin
        "api_key": "sk-test",
        "agent_id": "atoms-1",
        "variables": {"customer_name": "Ada"},
        "turn_timeout": 7,
    }
    assert fakes.log == ["atoms: open", "atoms: close"]
    assert result.passed and (result.turns, result.failed) == (3, 0)

    def turn(user: str | None, reply: str, ended: bool, seconds: float, events: list[str]) -> dict[str, Any]:
        return {
            "user": user, "reply": reply, "events": events, "ended": ended, "error": None, "seconds": seconds,
            "failures": [], "passed": True,
        }  # fmt: skip

    assert result.to_json() == {
        "format_version": "1",
        "script": "smoke",
        "runs": [
            {
                "agent_id": "atoms-1",
                "platform": "atoms",
                "opening": "Hi Ada, this is Acme.",
                "turns": [
                    turn(None, "Hi Ada, this is Acme.", False, 0.25, ["transcript"]),
                    turn("Hi! What can you help me with?", "You asked: Hi! What can you help me with?", False, 0.5, []),
                    turn(
                        "That's all, thank you. Goodbye!", "You asked: That's all, thank you. Goodbye!", True, 0.5, []
                    ),
                ],
            }
        ],
        "passed": True,
    }


def test_the_smoke_opening_is_compared_with_the_migrated_first_message() -> None:
    fakes = Fakes()
    result = run_verify(_atoms(), None, {}, connectors=fakes.connectors(), clock=_clock())
    # no --var: the smoke script expects the default variable ("there"), and the fake greets "there" too
    assert result.passed
    fakes = Fakes()
    live = {**LIVE, "firstMessage": "Welcome to the Globex returns desk."}
    result = run_verify(_atoms(live=live), None, {}, connectors=fakes.connectors(), clock=_clock())
    [opening_failures] = [f for t, f in result.runs[0].results if t.user is None]
    assert not result.passed and result.failed == 1
    assert opening_failures[0].startswith("opening differs from the migrated first message")


def test_a_script_runs_as_written_with_var_overriding_its_variables() -> None:
    fakes = Fakes()
    script = Script(
        name="refunds",
        variables={"customer_name": "Bob", "tier": "gold"},
        opening=Expect(contains=["Acme"]),
        turns=[ScriptTurn(user="Can I get a refund?", expect=Expect(contains=["refund", "30 days"]))],
    )
    result = run_verify(
        _atoms(realtime_url="ws://override.test/connect"),
        script,
        {"customer_name": "Ada"},
        connectors=fakes.connectors(),
        clock=_clock(),
    )
    [session] = fakes.sessions
    assert session.given["url"] == "ws://override.test/connect"  # SMALLEST_REALTIME_URL wins over the host
    assert session.given["variables"] == {"customer_name": "Ada", "tier": "gold"}
    doc = result.to_json()
    assert doc["script"] == "refunds" and doc["passed"] is False
    [opening, turn] = doc["runs"][0]["turns"]
    assert opening["passed"] and turn["failures"] == ["reply lacks '30 days'"] and not turn["passed"]
    assert (result.turns, result.failed) == (2, 1)


def test_turns_past_the_session_time_limit_fail_without_being_sent() -> None:
    fakes = Fakes()
    script = Script(turns=[ScriptTurn(user="one"), ScriptTurn(user="two")])
    result = run_verify(
        _atoms(),
        script,
        {},
        limits=Limits(session_timeout=1.5),
        connectors=fakes.connectors(),
        clock=_clock(1.0),  # started at 1, first turn at 2 (1 s in), second at 3 (2 s in: past 1.5 s)
    )
    turns = result.to_json()["runs"][0]["turns"]
    assert [t["reply"] for t in turns] == ["You asked: one", ""]
    assert (
        turns[1]["failures"] == ["not sent: the session passed 2 s"]
        and turns[1]["error"] == "session time limit reached"
    )


def test_both_reads_elevenlabs_after_the_atoms_run_and_runs_its_own_smoke_script() -> None:
    fakes, said = Fakes(), []
    result = run_verify(
        _atoms(),
        None,
        {"customer_name": "Ada"},
        elevenlabs=_elevenlabs(fakes),
        connectors=fakes.connectors(),
        clock=_clock(),
        progress=said.append,
    )
    assert fakes.log == [
        "atoms: open",
        "atoms: close",
        "client open",
        "read agent_1",  # a public agent: no signed URL asked for
        "client closed",  # closed before the conversation, which needs no API client
        "elevenlabs: open",
        "elevenlabs: close",
    ]
    assert said[1] == "Talking to ElevenLabs agent agent_1…"
    el = fakes.sessions[1]
    assert el.given["url"] == "wss://api.el.test/v1/convai/conversation" and el.given["signed_url"] is None
    assert el.given["variables"] == {"customer_name": "Ada"}
    doc = result.to_json()
    assert [r["platform"] for r in doc["runs"]] == ["atoms", "elevenlabs"]
    assert doc["runs"][1]["opening"] == "Hello Ada from ElevenLabs." and doc["passed"] is True


def test_both_uses_a_signed_url_for_a_private_agent() -> None:
    fakes, said = Fakes({**EL_CONFIG, "platform_settings": {"auth": {"enable_auth": True}}}), []
    run_verify(
        _atoms(),
        None,
        {},
        elevenlabs=_elevenlabs(fakes, realtime_url="ws://127.0.0.1:8/v1/convai/conversation"),
        connectors=fakes.connectors(),
        clock=_clock(),
        progress=said.append,
    )
    assert "sign agent_1" in fakes.log and said[1] == "Talking to ElevenLabs agent agent_1 (signed URL)…"
    assert fakes.sessions[1].given["signed_url"] == "wss://signed.example/agent_1"
    assert fakes.sessions[1].given["url"] == "ws://127.0.0.1:8/v1/convai/conversation"


def test_both_without_an_elevenlabs_id_fails_after_the_atoms_run_without_opening_a_client() -> None:
    fakes = Fakes()
    with pytest.raises(ConfigError, match="agent.json does not say its ElevenLabs agent id") as caught:
        run_verify(
            _atoms(),
            None,
            {},
            elevenlabs=_elevenlabs(fakes, agent_id=None),
            connectors=fakes.connectors(),
            clock=_clock(),
        )
    assert caught.value.hint == "Pass the ElevenLabs agent id as SOURCE."
    assert fakes.log == ["atoms: open", "atoms: close"]


def test_one_failing_side_fails_the_whole_result() -> None:
    fakes = Fakes()
    script = Script(turns=[ScriptTurn(user="Hello", expect=Expect(not_contains=["ElevenLabs"]))])
    result = run_verify(
        _atoms(), script, {}, elevenlabs=_elevenlabs(fakes), connectors=fakes.connectors(), clock=_clock()
    )
    assert [run.passed for run in result.runs] == [True, True]  # the turn's reply is "You asked: Hello" on both
    script = Script(opening=Expect(not_contains=["ElevenLabs"]), turns=[])
    fakes = Fakes()
    result = run_verify(
        _atoms(), script, {}, elevenlabs=_elevenlabs(fakes), connectors=fakes.connectors(), clock=_clock()
    )
    assert [run.passed for run in result.runs] == [True, False] and not result.passed
    assert result.to_json()["passed"] is False and result.failed == 1


# -- the command's environment wiring (in process, typer's runner) ------------------------------------------------


def _cli(*args: str, env: dict[str, str]) -> Any:
    from typer.testing import CliRunner

    from atoms_migrate.cli import app

    return CliRunner().invoke(app, ["verify", *args], env=env)


def test_verify_help_names_the_environment_variables() -> None:
    help_text = " ".join(_cli("--help", env={}).stdout.split())  # unwrapped
    assert "[env var: SMALLEST_BASE_URL]" in help_text and "[env var: ELEVENLABS_BASE_URL]" in help_text
    assert "$SMALLEST_REALTIME_URL" in help_text and "$ELEVENLABS_REALTIME_URL" in help_text
    assert "SMALLEST_API_KEY" in help_text and "--smallest-api-key" not in help_text  # the key stays env-only


@pytest.mark.parametrize(
    "env, args, says",
    [
        ({"SMALLEST_BASE_URL": "ftp://nowhere"}, [], "SMALLEST_BASE_URL 'ftp://nowhere' is not an http(s) URL"),
        ({"SMALLEST_BASE_URL": "ftp://nowhere"}, ["--smallest-base-url", "gopher://x"], "'gopher://x'"),  # flag wins
    ],
)
def test_the_base_url_variable_feeds_the_option(env: dict[str, str], args: list[str], says: str) -> None:
    result = _cli("agent_1", "--target", "atoms-1", *args, env={"SMALLEST_API_KEY": "sk-test", **env})
    assert result.exit_code == 1 and says in result.stderr
