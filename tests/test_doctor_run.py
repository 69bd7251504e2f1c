"""``doctor`` in-process (apply/doctor.py ``run_doctor``) against the sandbox's Atoms fake: diagnose, the confirmed
probe, the kept write forms recorded in the state file under its lock. No CLI, no subprocess."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from atoms_migrate.apply import doctor
from atoms_migrate.apply.state import load_state, save_state
from atoms_migrate.apply.statelock import StateLock, StateLocked
from atoms_migrate.errors import Cancelled
from atoms_migrate.platforms.retry import RetryPolicy
from atoms_migrate.platforms.smallest import AtomsClient
from atoms_migrate.sandbox.server import ATOMS_KEY, Sandbox

QUESTION = "Create a throw-away agent on Smallest Atoms to probe the write forms (it is archived afterwards)?"


def _client(box: Sandbox, key: str = ATOMS_KEY) -> AtomsClient:
    http = httpx.Client(
        base_url="http://sandbox", transport=box.transport(), headers={"Authorization": f"Bearer {key}"}
    )
    return AtomsClient(http, RetryPolicy(attempts=2, initial_wait=0, max_wait=0, sleep=lambda s: None))


def _quick_probe(atoms: AtomsClient, report: doctor.Report, progress: Callable[[str], None]) -> None:
    doctor.probe(atoms, report, sleep=lambda s: None, progress=progress)


class Asked:
    def __init__(self, answer: bool) -> None:
        self.answer, self.questions = answer, list[str]()

    def __call__(self, question: str) -> bool:
        self.questions.append(question)
        return self.answer


def _probing(box: Sandbox, state: Path, asked: Asked) -> doctor.Report:
    return doctor.run_doctor(
        _client(box), None, "http://sandbox", state, doctor.DoctorOptions(probe=True), asked, prober=_quick_probe
    )


def test_without_probe_nothing_is_written_and_nothing_asked(tmp_path: Path) -> None:
    box, asked, state = Sandbox(), Asked(True), tmp_path / "state.json"
    report = doctor.run_doctor(_client(box), None, "http://sandbox", state, doctor.DoctorOptions(), asked)
    status = {c.name: c.status for c in report.checks}
    assert status["Atoms key"] == "ok" and status["Voice catalog"] == "ok" and not report.failed
    assert list(status)[-1] == "Rate-limit headers"  # the rate check comes last, after every answer was seen
    assert box.writes() == [] and asked.questions == [] and not state.exists() and report.capabilities == []


def test_the_probe_records_the_kept_forms_keeping_what_the_state_had(tmp_path: Path) -> None:
    box, asked, state = Sandbox(), Asked(True), tmp_path / "state.json"
    before = load_state(state)
    before.write_forms["unrelated"] = "kept as it was"
    save_state(state, before)
    said: list[str] = []
    report = doctor.run_doctor(
        _client(box), None, "http://sandbox", state, doctor.DoctorOptions(probe=True), asked, said.append, _quick_probe
    )
    assert asked.questions == [QUESTION] and said
    assert report.forms["prompt"] == "singlePromptConfig.prompt"
    assert load_state(state).write_forms == {"unrelated": "kept as it was", **report.forms}
    assert not [a for a in box.atoms.summary() if not a["archived"]]  # the probe agent is archived
    with StateLock(state):  # and the lock was released
        pass


def test_a_declined_probe_writes_nothing(tmp_path: Path) -> None:
    box, state = Sandbox(), tmp_path / "state.json"
    with pytest.raises(Cancelled):
        _probing(box, state, Asked(False))
    assert box.writes() == [] and not state.exists()


def test_a_failed_check_skips_the_probe(tmp_path: Path) -> None:
    box, asked = Sandbox(), Asked(True)
    report = doctor.run_doctor(
        _client(box, "sk_wrong"), None, "http://sandbox", tmp_path / "s.json", doctor.DoctorOptions(probe=True), asked
    )
    assert report.failed and asked.questions == [] and box.writes() == []


def test_the_forms_are_written_only_under_the_state_lock(tmp_path: Path) -> None:
    box, state = Sandbox(), tmp_path / "state.json"
    with StateLock(state), pytest.raises(StateLocked):
        _probing(box, state, Asked(True))
    assert load_state(state).write_forms == {}


def test_sigterm_during_the_probe_interrupts_it_and_the_handler_is_restored(tmp_path: Path) -> None:
    previous = signal.getsignal(signal.SIGTERM)

    def killed(atoms: AtomsClient, report: doctor.Report, progress: Callable[[str], None]) -> None:
        os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(KeyboardInterrupt):
        doctor.run_doctor(
            _client(Sandbox()),
            None,
            "h",
            tmp_path / "s.json",
            doctor.DoctorOptions(probe=True),
            Asked(True),
            prober=killed,
        )
    assert signal.getsignal(signal.SIGTERM) is previous
