"""Conversation scripts, the smoke script, and per-turn expectations for ``atoms-migrate verify``.

A script (YAML or JSON, our own format, strict) lists user turns with expectations; the
opening turn can have expectations too. Without one, ``smoke_script`` builds three turns
from the migrated agent: its opening (when it speaks first, compared with the migrated first
message), one question, and a goodbye, which must end the call when the agent has an
``end_call`` tool. ``check`` turns a ``realtime.Turn`` and its expectation into failure
messages; ``run_script`` drives any session with ``open``/``opening``/``say``/``close``.
Pure except for reading the script file and the session it is given.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, Protocol

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

from atoms_migrate.errors import ConfigError
from atoms_migrate.platforms.realtime import Turn
from atoms_migrate.source.shapes import parse_config_text

FIRST_MESSAGE_SIMILARITY = 0.85  # chat transcripts are exact; leave room for normalised punctuation
_VAR = re.compile(r"\{\{\s*([A-Za-z_][\w.\-]*)\s*\}\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Expect(_Strict):
    reply: bool = Field(True, description="a non-empty reply must arrive in time")
    # The format as first published takes `contains: "welcome"` (one string): a string or a list.
    contains: list[str] = []
    not_contains: list[str] = []
    regex: str | None = Field(
        None, validation_alias=AliasChoices("regex", "matches"), description="`matches` is an alias"
    )

    @field_validator("contains", "not_contains", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    first_message: str | None = Field(None, description="the reply must match this opening (variables filled)")
    ends_call: bool | None = Field(None, description="true: the agent must end the session after this turn")


class ScriptTurn(_Strict):
    user: str
    expect: Expect = Expect()


class Script(_Strict):
    name: str = "script"
    variables: dict[str, str | int | float | bool] = {}
    opening: Expect | None = None
    turns: list[ScriptTurn] = []


def load_script(path: Path) -> Script:
    try:
        data = parse_config_text(path.read_text(encoding="utf-8"), str(path), path.suffix)
    except OSError as exc:
        raise ConfigError(f"cannot read the script {path}: {exc.strerror}") from exc
    try:
        return Script.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(
            f"{path}: {where}: {first['msg']}", "A script has `turns: [{user: ..., expect: {...}}]`."
        ) from None


def fill(text: str, variables: dict[str, Any]) -> str:
    return _VAR.sub(lambda m: str(variables.get(m.group(1), m.group(0))), text)


def smoke_script(live: dict[str, Any], variables: dict[str, Any]) -> Script:
    """Opening (when the agent speaks first), one question, goodbye (end of call when configured)."""
    tools = (live.get("singlePromptConfig") or {}).get("tools") or []
    has_end_call = any(isinstance(t, dict) and t.get("type") == "end_call" for t in tools)
    speaks_first = not live.get("waitForUserToSpeakFirst") and bool(live.get("firstMessage"))
    merged = {**(live.get("defaultVariables") or {}), **variables}
    opening = Expect(first_message=fill(str(live["firstMessage"]), merged)) if speaks_first else None
    return Script(
        name="smoke",
        variables=variables,
        opening=opening,
        turns=[
            ScriptTurn(user="Hi! What can you help me with?", expect=Expect()),
            ScriptTurn(user="That's all, thank you. Goodbye!", expect=Expect(ends_call=True if has_end_call else None)),
        ],
    )


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def check(expect: Expect, turn: Turn) -> list[str]:
    failures: list[str] = []
    if turn.error and expect.reply:
        failures.append(turn.error)
    elif expect.reply and not turn.reply.strip():
        failures.append("no reply")
    lowered = turn.reply.lower()
    failures += [f"reply lacks {w!r}" for w in expect.contains if w.lower() not in lowered]
    failures += [f"reply contains {w!r}" for w in expect.not_contains if w.lower() in lowered]
    if expect.regex and not re.search(expect.regex, turn.reply):
        failures.append(f"reply does not match /{expect.regex}/")
    if expect.first_message is not None:
        ratio = difflib.SequenceMatcher(None, _normal(expect.first_message), _normal(turn.reply)).ratio()
        if ratio < FIRST_MESSAGE_SIMILARITY:
            failures.append(
                f"opening differs from the migrated first message ({ratio:.0%} alike): "
                f"expected {expect.first_message!r}"
            )
    if expect.ends_call is True and not turn.ended:
        failures.append("the agent did not end the call")
    if expect.ends_call is False and turn.ended:
        failures.append("the agent ended the call")
    return failures


class Session(Protocol):
    name: str

    def open(self) -> dict[str, Any]: ...
    def opening(self, wait: float | None = None) -> Turn: ...
    def say(self, text: str) -> Turn: ...
    def close(self) -> None: ...


def run_script(session: Session, script: Script, session_timeout: float, clock: Any) -> list[tuple[Turn, list[str]]]:
    """Every turn with its failures; turns past the session timeout fail without being sent."""
    results: list[tuple[Turn, list[str]]] = []
    started = clock()
    session.open()
    try:
        if script.opening is not None:
            turn = session.opening()
            results.append((turn, check(script.opening, turn)))
        for item in script.turns:
            if clock() - started > session_timeout:
                results.append(
                    (
                        Turn(user=item.user, error="session time limit reached"),
                        [f"not sent: the session passed {session_timeout:.0f} s"],
                    )
                )
                continue
            turn = session.say(item.user)
            results.append((turn, check(item.expect, turn)))
    finally:
        session.close()
    return results


def smoke_script_elevenlabs(config: dict[str, Any], variables: dict[str, Any]) -> Script:
    """The smoke script for the ElevenLabs side of ``--both``: the same turns, its own opening and end of call."""
    agent = (config.get("conversation_config") or {}).get("agent") or {}
    prompt = agent.get("prompt") or {}
    built_in = prompt.get("built_in_tools") if isinstance(prompt.get("built_in_tools"), dict) else {}
    placeholders = ((agent.get("dynamic_variables") or {}).get("dynamic_variable_placeholders")) or {}
    first = agent.get("first_message")
    live = {
        "firstMessage": first,
        "waitForUserToSpeakFirst": not first,
        "defaultVariables": placeholders,
        "singlePromptConfig": {"tools": [{"type": "end_call"}] if (built_in or {}).get("end_call") else []},
    }
    return smoke_script(live, variables)
