"""Shared fixtures: isolation from the developer's environment, tables, source builders."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from atoms_migrate.mapping.tables import MappingTables, load_tables
from atoms_migrate.source.shapes import SourceAgent, normalise

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXAMPLE = ROOT / "examples" / "support-agent.json"
CORPUS = ROOT.parent / "shared" / "corpus" / "elevenlabs-agents"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (
        "ELEVENLABS_API_KEY",
        "ELEVENLABS_BASE_URL",
        "SMALLEST_API_KEY",
        "SMALLEST_BASE_URL",
        "GITHUB_STEP_SUMMARY",
        "GITHUB_ACTIONS",
        "NO_COLOR",
        "FORCE_COLOR",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("TERM", "dumb")


@pytest.fixture(autouse=True)
def _repository_untouched() -> Iterator[None]:
    """No test leaves run state in the checkout: parallel workers would share (and fight over) its lock."""
    state = ROOT / ".atoms-migrate"
    existed = state.exists()
    yield
    assert existed or not state.exists(), f"the test wrote {state}: run the CLI in tmp_path (monkeypatch.chdir)"


@pytest.fixture(scope="session")
def tables() -> MappingTables:
    return load_tables()


def agent_config(**agent_fields: Any) -> dict[str, Any]:
    """A minimal valid agent config in the API shape, with ``agent`` fields overridden."""
    agent: dict[str, Any] = {"first_message": "Hi.", "prompt": {"prompt": "Be helpful."}}
    agent.update(agent_fields)
    return {"name": "T", "conversation_config": {"agent": agent}}


def make_source(config: dict[str, Any], tools: dict[str, Any] | None = None) -> SourceAgent:
    src = normalise(copy.deepcopy(config), "test", path="test.json")
    if tools:
        from dataclasses import replace

        src = replace(src, tools=tools)
    return src


# -- tiers: the fast tier (-m "not e2e") runs in process; a test that starts the CLI must say it is e2e ---------

_TIER = {"e2e": False}  # whether the test being set up or run carries the e2e marker


def pytest_runtest_setup(item: pytest.Item) -> None:
    _TIER["e2e"] = item.get_closest_marker("e2e") is not None  # before its fixtures: a fixture may start the CLI


# The console script installed beside this interpreter (a venv's bin/), else one on PATH.
_BESIDE = Path(sys.executable).with_name("atoms-migrate")
EXE = str(_BESIDE) if _BESIDE.exists() else shutil.which("atoms-migrate")


def run_installed(
    *args: str, cwd: str | Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the installed CLI as a subprocess with a clean vendor environment plus ``env`` (e2e tests only)."""
    if not _TIER["e2e"]:
        pytest.fail("this test runs the installed CLI in a subprocess: mark it @pytest.mark.e2e", pytrace=False)
    cmd = [EXE, *args] if EXE else [sys.executable, "-m", "atoms_migrate", *args]
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ELEVENLABS_", "SMALLEST_", "GITHUB_"))}
    return subprocess.run(
        cmd,
        cwd=str(cwd),
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**base, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


# -- the vendor SDK's contract, checked on every request any test sends to the sandbox ---------

SDK_VIOLATIONS: list[str] = []
SDK_CHECKED: list[str] = []  # "METHOD path" of every body checked (a test can prove the check ran)


@pytest.fixture(autouse=True)
def _sdk_contract(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """Every Atoms write a test makes through the sandbox must conform to smallestai 5.14.0 (sdk_contract.py).

    Tests that send off-contract bodies on purpose (to prove the fake rejects them) carry
    ``@pytest.mark.off_contract``.
    """
    import sdk_contract

    from atoms_migrate.sandbox.server import Sandbox

    if request.node.get_closest_marker("off_contract"):
        yield
        return
    original = Sandbox.handle
    SDK_VIOLATIONS.clear()
    SDK_CHECKED.clear()

    def handle(self, req):  # type: ignore[no-untyped-def]
        if (
            req.path.startswith("/atoms/v1/")
            and req.method != "GET"
            and "multipart" not in req.headers.get("content-type", "")
        ):
            try:
                body = req.json()
            except ValueError:
                body = "<not JSON>"
            SDK_CHECKED.append(f"{req.method} {req.path}")
            SDK_VIOLATIONS.extend(
                f"{req.method} {req.path}: {v}" for v in sdk_contract.check(req.method, req.path, body)
            )
        return original(self, req)

    monkeypatch.setattr(Sandbox, "handle", handle)
    yield
    violations = list(SDK_VIOLATIONS)
    SDK_VIOLATIONS.clear()
    assert not violations, "requests off the vendor SDK's contract:\n" + "\n".join(violations)


# -- every fault or behaviour a test injects into a sandbox must fire ------------------------------

_SANDBOXES: weakref.WeakSet[Any] = weakref.WeakSet()  # every Sandbox built in this process, alive
_BUILT: list[Any] = []  # the ones built since the last test's teardown, held until its check has seen them


@pytest.fixture(scope="session", autouse=True)
def _register_sandboxes() -> Iterator[None]:
    """Keep a weak list of every Sandbox built (module-scoped ones too), so teardown can ask each what fired."""
    from atoms_migrate.sandbox.server import Sandbox

    original = Sandbox.__init__

    def init(self: Sandbox, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        _SANDBOXES.add(self)
        _BUILT.append(self)  # a test's local sandbox would otherwise be collected before the teardown check

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Sandbox, "__init__", init)
        yield


def all_injections() -> list[Any]:
    """Every fault and behaviour injected so far into any sandbox still alive in this process."""
    return [injection for sandbox in list(_SANDBOXES) for injection in sandbox.injections()]


def unfired_since(before: list[Any]) -> list[str]:
    """What was injected after ``before`` was taken and has not changed a single answer yet."""
    seen = {id(injection) for injection in before}  # ``before`` keeps them alive: ids stay unique
    return [i.what for i in all_injections() if i.fired == 0 and id(i) not in seen]


@pytest.fixture(autouse=True)
def _injections_fired(_register_sandboxes: None) -> Iterator[None]:
    """A test whose injected fault never fired proves nothing: fail it in teardown.

    Counts every fault (``Sandbox.add_fault``, ``/_sandbox/faults``), account behaviour, ignored draft field and
    realtime fault the test switched on in any sandbox, and asserts each changed at least one answer
    (``Sandbox.injections()``).
    """
    before = all_injections()
    yield
    unfired = unfired_since(before)
    _BUILT.clear()
    assert not unfired, "injected but never fired (the test proves nothing about them):\n" + "\n".join(unfired)
